// Shared helpers of the C++ adapter: turning Rust errors into DuckDB exceptions and owning
// Rust handles. No decisions are made here.
#pragma once

#include "duckdb.hpp"
#include "duckdb/common/arrow/arrow.hpp" // before vgi_bridge.h: it defines the ARROW_FLAG_* constants
#include "vgi_bridge.h"

#include <memory>

namespace vgi {

// Throws the DuckDB exception matching a Rust error (and frees it); no-op on success.
void ThrowIfError(VgiError *error);
// Refuses a worker LOCATION the database's sandbox forbids (enable_external_access,
// vgi_allowed_locations), before anything is started or dialled.
void CheckLocationAllowed(duckdb::ClientContext &context, const char *what, const std::string &location);
// The sandbox settings CheckLocationAllowed applies (for calls that check in Rust themselves).
void ReadLocationPolicy(duckdb::ClientContext &context, bool &external_access, std::string &allowed_locations);

// Owns a Rust handle and frees it with the matching Rust function.
template <class T, void (*FREE)(T *)>
struct RustDeleter {
	void operator()(T *p) const {
		if (p) {
			FREE(p);
		}
	}
};
using BindingPtr = std::shared_ptr<VgiBinding>;

BindingPtr AdoptBinding(VgiBinding *binding);

// The VgiInterruptCheck for a ClientContext: Rust polls it while it waits for a worker.
int32_t IsInterrupted(void *context);

} // namespace vgi
