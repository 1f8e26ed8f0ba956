//! A process-wide pool of idle worker connections, keyed by location and connection options.
//!
//! Starting a worker costs a process launch and an interpreter start (about 1.5 s for Python
//! workers), so connections that finished their calls cleanly are kept for reuse. A connection
//! that failed or was abandoned mid-stream is never returned. Idle connections expire after
//! [`Pool::idle_timeout`]; at most [`Pool::max_idle_per_key`] are kept per key.
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::Result;
use crate::transport::{ConnectOptions, Location};

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PoolKey {
    pub location: Location,
    pub options: ConnectOptions,
}

pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<(Instant, Client)>>>,
    pub idle_timeout: Duration,
    pub max_idle_per_key: usize,
}

impl Pool {
    pub fn new(idle_timeout: Duration, max_idle_per_key: usize) -> Self {
        Pool { idle: Mutex::new(HashMap::new()), idle_timeout, max_idle_per_key }
    }

    /// The process-wide pool (created on first use, with a reaper thread for idle expiry).
    pub fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| {
            std::thread::Builder::new()
                .name("vgi-pool-reaper".into())
                .spawn(|| loop {
                    std::thread::sleep(Duration::from_secs(5));
                    Pool::global().expire();
                })
                .expect("spawning the pool reaper");
            Pool::new(Duration::from_secs(60), 16)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Vec<(Instant, Client)>>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle healthy connection for `location`, or a new one.
    pub fn get(&self, location: &str, options: &ConnectOptions) -> Result<Client> {
        let key = PoolKey { location: Location::parse(location)?, options: options.clone() };
        loop {
            let candidate = self.lock().get_mut(&key).and_then(|idle| idle.pop());
            match candidate {
                Some((since, mut client)) => {
                    if since.elapsed() < self.idle_timeout && client.is_healthy() {
                        client.set_timeout(crate::call::call_timeout());
                        return Ok(client);
                    }
                    // Expired or dead: drop it (outside the lock) and look again.
                }
                None => return Client::connect(location, options),
            }
        }
    }

    /// Returns a connection after a clean call; unhealthy ones are dropped.
    pub fn put(&self, mut client: Client) {
        if !client.is_healthy() {
            return;
        }
        let key = PoolKey { location: client.location().clone(), options: client.options().clone() };
        let evicted = {
            let mut idle = self.lock();
            let list = idle.entry(key).or_default();
            list.push((Instant::now(), client));
            (list.len() > self.max_idle_per_key).then(|| list.remove(0))
        };
        drop(evicted);
    }

    /// Drops every idle connection for a location (DETACH).
    pub fn evict(&self, location: &str) {
        let Ok(location) = Location::parse(location) else { return };
        let removed: Vec<_> = {
            let mut idle = self.lock();
            let keys: Vec<_> = idle.keys().filter(|k| k.location == location).cloned().collect();
            keys.into_iter().filter_map(|k| idle.remove(&k)).collect()
        };
        drop(removed);
    }

    /// Drops connections idle for longer than the timeout.
    pub fn expire(&self) {
        let expired: Vec<_> = {
            let mut idle = self.lock();
            let mut out = Vec::new();
            for list in idle.values_mut() {
                let (keep, old): (Vec<_>, Vec<_>) = list.drain(..).partition(|(t, _)| t.elapsed() < self.idle_timeout);
                *list = keep;
                out.extend(old);
            }
            idle.retain(|_, l| !l.is_empty());
            out
        };
        drop(expired);
    }

    /// How many idle connections are pooled for a location (tests, diagnostics).
    pub fn idle_count(&self, location: &str) -> usize {
        let Ok(location) = Location::parse(location) else { return 0 };
        self.lock().iter().filter(|(k, _)| k.location == location).map(|(_, l)| l.len()).sum()
    }
}
