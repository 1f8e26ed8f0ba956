#!/usr/bin/env bash
# Long mutation-fuzzing pass over worker-client's decoders (see worker-client/tests/fuzz_decoder.rs):
#   scripts/fuzz_decoder.sh            # 1,000,000 iterations (FUZZ_ITERATIONS to change)
#   FUZZ_SEED=7 scripts/fuzz_decoder.sh
# Prints iterations/s and the count of each outcome; exits non-zero on any panic, unsound
# decode, huge allocation or hang. Failing inputs are saved under cargo's $CARGO_TARGET_TMPDIR
# (the failure message names each file) and replay with FUZZ_REPLAY=FILE. `cargo test` runs
# a 20,000-iteration pass of the same test.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_ITERATIONS="${FUZZ_ITERATIONS:-1000000}"
exec cargo test --release -p worker-client --test fuzz_decoder -- --ignored --nocapture --test-threads 1
