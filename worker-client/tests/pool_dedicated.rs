//! Dedicated pool keys (ATTACH ... `pool false`): connections of one dedicated key are never
//! handed to another key or to shared callers, DETACH (`evict_key`) stops them, and one still in
//! use when its key is retired is stopped when it comes back instead of being pooled.
mod common;

use std::time::Duration;

use worker_client::{ConnectOptions, Pool};

fn dedicated(id: u64) -> ConnectOptions {
    ConnectOptions { dedicated_to: Some(id), ..Default::default() }
}

#[test]
fn dedicated_keys_keep_their_connections_apart_and_retire_at_eviction() {
    let location = common::stdio_worker();
    let pool = Pool::new(Duration::from_secs(60), 16);

    let mut own = pool.get(&location, &dedicated(1)).expect("connect dedicated 1");
    assert!(own.catalogs().expect("catalogs").iter().any(|c| c.name == "example"));
    pool.put(own);
    assert!(pool.has_idle(&location, &dedicated(1)));
    // Neither another dedicated key nor shared callers see it.
    assert!(!pool.has_idle(&location, &dedicated(2)));
    assert!(!pool.has_idle(&location, &ConnectOptions::default()));

    let shared = pool.get(&location, &ConnectOptions::default()).expect("connect shared");
    pool.put(shared);
    assert_eq!(pool.idle_count(&location), 2);

    // DETACH of a shared catalog drops shared idle connections only.
    pool.evict(&location);
    assert_eq!(pool.idle_count(&location), 1);
    assert!(pool.has_idle(&location, &dedicated(1)));

    // DETACH of the dedicated catalog drops its own.
    pool.evict_key(&location, &dedicated(1));
    assert_eq!(pool.idle_count(&location), 0);

    // A connection in use while its key is retired is not pooled when it comes back.
    let mut busy = pool.get(&location, &dedicated(3)).expect("connect dedicated 3");
    pool.evict_key(&location, &dedicated(3));
    assert!(busy.catalogs().is_ok());
    pool.put(busy);
    assert_eq!(pool.idle_count(&location), 0);

    // Other keys are unaffected by a retirement.
    let other = pool.get(&location, &dedicated(4)).expect("connect dedicated 4");
    pool.put(other);
    assert!(pool.has_idle(&location, &dedicated(4)));
}
