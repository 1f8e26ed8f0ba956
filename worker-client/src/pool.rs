//! A process-wide pool of idle worker connections, keyed by location and connection options.
//!
//! Starting a worker costs a process launch and an interpreter start (about 1.5 s for Python
//! workers), so connections that finished their calls cleanly are kept for reuse. A connection
//! that failed or was abandoned mid-stream is never returned. Idle connections expire after
//! [`Pool::idle_timeout`]; at most [`Pool::max_idle_per_key`] are kept per key.
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::error::Result;
use crate::stream::Stream;
use crate::transport::{ConnectOptions, Location};

/// How long a caller waits for a connection that is on its way back to the pool (a stream
/// being cancelled in the background, a background rollback) before starting a new worker:
/// a Python worker takes about a second to start, a cancelled stream a few milliseconds.
const RETURN_WAIT: Duration = Duration::from_secs(2);

/// How long a background cancel may take before the connection is given up (its worker is
/// then stopped like any broken connection).
const RECYCLE_DEADLINE: Duration = Duration::from_secs(10);

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PoolKey {
    pub location: Location,
    pub options: ConnectOptions,
}

#[derive(Default)]
struct Slots {
    idle: HashMap<PoolKey, Vec<(Instant, Client)>>,
    /// Connections in use by background work that will be put back (see [`Pool::recycle`]).
    returning: HashMap<PoolKey, usize>,
    /// Dedicated keys (`ConnectOptions::dedicated_to`) whose catalog is gone: a connection of
    /// theirs that comes back later (a background drain) is stopped, not pooled.
    retired: std::collections::HashSet<u64>,
}

pub struct Pool {
    slots: Mutex<Slots>,
    /// Signalled whenever a connection is put back or a returning one is given up.
    returned: Condvar,
    pub idle_timeout: Duration,
    pub max_idle_per_key: usize,
}

/// A pooled connection used by background work: while it lives, callers of [`Pool::get`]
/// wait for it rather than start a new worker; dropping it puts the connection back.
pub struct Loan {
    pool: &'static Pool,
    key: PoolKey,
    client: Option<Client>,
}

impl std::ops::Deref for Loan {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("loan holds its connection until dropped")
    }
}

impl std::ops::DerefMut for Loan {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("loan holds its connection until dropped")
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        self.pool.give_back(&self.key, self.client.take());
    }
}

impl Pool {
    pub fn new(idle_timeout: Duration, max_idle_per_key: usize) -> Self {
        Pool { slots: Mutex::default(), returned: Condvar::new(), idle_timeout, max_idle_per_key }
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

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A healthy idle connection, waiting (bounded) for one that is on its way back; `None`
    /// when the caller should connect.
    fn take_idle(&self, key: &PoolKey, reserve: bool) -> Option<Client> {
        let until = Instant::now() + RETURN_WAIT;
        let mut slots = self.lock();
        loop {
            let candidate = slots.idle.get_mut(key).and_then(|idle| idle.pop());
            match candidate {
                Some((since, mut client)) => {
                    if since.elapsed() < self.idle_timeout && client.is_healthy() {
                        if reserve {
                            *slots.returning.entry(key.clone()).or_default() += 1;
                        }
                        drop(slots);
                        client.set_timeout(crate::call::call_timeout());
                        return Some(client);
                    }
                    // Expired or dead: drop it (outside the lock) and look again.
                    drop(slots);
                    drop(client);
                    slots = self.lock();
                }
                None => {
                    let now = Instant::now();
                    if slots.returning.get(key).copied().unwrap_or(0) == 0 || now >= until {
                        if reserve {
                            *slots.returning.entry(key.clone()).or_default() += 1;
                        }
                        return None;
                    }
                    slots = self.returned.wait_timeout(slots, until - now).unwrap_or_else(|p| p.into_inner()).0;
                }
            }
        }
    }

    /// An idle healthy connection for `location`, or a new one.
    pub fn get(&self, location: &str, options: &ConnectOptions) -> Result<Client> {
        let key = PoolKey { location: Location::parse(location)?, options: options.clone() };
        match self.take_idle(&key, false) {
            Some(client) => Ok(client),
            None => Client::connect(location, options),
        }
    }

    /// Like [`Pool::get`], for background work whose connection comes back: until the loan is
    /// dropped, other callers wait for it instead of starting another worker.
    pub fn lend(&'static self, location: &str, options: &ConnectOptions) -> Result<Loan> {
        let key = PoolKey { location: Location::parse(location)?, options: options.clone() };
        let client = match self.take_idle(&key, true) {
            Some(client) => client,
            None => match Client::connect(location, options) {
                Ok(client) => client,
                Err(e) => {
                    self.give_back(&key, None);
                    return Err(e);
                }
            },
        };
        Ok(Loan { pool: self, key, client: Some(client) })
    }

    /// Whether an idle connection is ready now (no worker start, no wait).
    pub fn has_idle(&self, location: &str, options: &ConnectOptions) -> bool {
        let Ok(location) = Location::parse(location) else { return false };
        let key = PoolKey { location, options: options.clone() };
        self.lock().idle.get(&key).is_some_and(|l| !l.is_empty())
    }

    /// Ends a stream nobody reads any more (LIMIT, an error elsewhere, an interrupt) without
    /// making the caller wait: the worker is told to cancel and the output drained on a
    /// thread, and the connection comes back to the pool. A stream whose connection broke
    /// (a turn cut off mid-message) is dropped at once, which stops its worker: a half-read
    /// channel is never reused.
    pub fn recycle(&'static self, mut stream: Stream) {
        let Some(key) = stream.reusable_key() else {
            drop(stream);
            return;
        };
        *self.lock().returning.entry(key.clone()).or_default() += 1;
        let spawned = std::thread::Builder::new().name("vgi-stream-recycle".into()).spawn({
            let key = key.clone();
            move || {
                let client = stream.cancel_within(RECYCLE_DEADLINE).ok();
                self.give_back(&key, client);
            }
        });
        if spawned.is_err() {
            self.give_back(&key, None);
        }
    }

    /// The end of background work on a connection of `key`: pool it (if any and healthy),
    /// and wake whoever waits for it.
    fn give_back(&self, key: &PoolKey, client: Option<Client>) {
        {
            let mut slots = self.lock();
            if let Some(n) = slots.returning.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    slots.returning.remove(key);
                }
            }
        }
        match client {
            Some(client) => self.put(client),
            None => self.returned.notify_all(),
        }
    }

    /// Returns a connection after a clean call; unhealthy ones are dropped.
    pub fn put(&self, mut client: Client) {
        if !client.is_healthy() {
            self.returned.notify_all();
            return;
        }
        let key = PoolKey { location: client.location().clone(), options: client.options().clone() };
        let evicted = {
            let mut slots = self.lock();
            if key.options.dedicated_to.is_some_and(|id| slots.retired.contains(&id)) {
                drop(slots);
                self.returned.notify_all();
                drop(client);
                return;
            }
            let list = slots.idle.entry(key).or_default();
            list.push((Instant::now(), client));
            (list.len() > self.max_idle_per_key).then(|| list.remove(0))
        };
        self.returned.notify_all();
        drop(evicted);
    }

    /// Drops every idle shared connection for a location (DETACH); workers dedicated to
    /// other catalogs stay theirs.
    pub fn evict(&self, location: &str) {
        let Ok(location) = Location::parse(location) else { return };
        self.evict_where(|k| k.location == location && k.options.dedicated_to.is_none());
    }

    /// Drops the idle connections of exactly one key (DETACH of a catalog with dedicated
    /// workers); a dedicated key is retired, so its connections still in use are stopped when
    /// they come back.
    pub fn evict_key(&self, location: &str, options: &ConnectOptions) {
        let Ok(location) = Location::parse(location) else { return };
        if let Some(id) = options.dedicated_to {
            self.lock().retired.insert(id);
        }
        self.evict_where(|k| k.location == location && &k.options == options);
    }

    fn evict_where(&self, matches: impl Fn(&PoolKey) -> bool) {
        let removed: Vec<_> = {
            let mut slots = self.lock();
            let keys: Vec<_> = slots.idle.keys().filter(|k| matches(k)).cloned().collect();
            keys.into_iter().filter_map(|k| slots.idle.remove(&k)).collect()
        };
        // Dropping a connection stops its worker: done outside the lock.
        drop(removed);
    }

    /// Drops connections idle for longer than the timeout.
    pub fn expire(&self) {
        let expired: Vec<_> = {
            let mut slots = self.lock();
            let mut out = Vec::new();
            for list in slots.idle.values_mut() {
                let (keep, old): (Vec<_>, Vec<_>) = list.drain(..).partition(|(t, _)| t.elapsed() < self.idle_timeout);
                *list = keep;
                out.extend(old);
            }
            slots.idle.retain(|_, l| !l.is_empty());
            out
        };
        drop(expired);
    }

    /// How many idle connections are pooled for a location (tests, diagnostics).
    pub fn idle_count(&self, location: &str) -> usize {
        let Ok(location) = Location::parse(location) else { return 0 };
        self.lock().idle.iter().filter(|(k, _)| k.location == location).map(|(_, l)| l.len()).sum()
    }
}
