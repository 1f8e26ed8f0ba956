//! DuckDB transactions on a worker catalog: `catalog_transaction_begin` on the first call that
//! needs the worker's transaction token, then exactly one `catalog_transaction_commit` or
//! `_rollback` when DuckDB ends the transaction (auto-commit statements included).
use std::sync::{Arc, Mutex};

use worker_client::methods::TransactionScope;
use worker_client::wire::Blob;
use worker_client::Pool;

use crate::catalog::AttachedCatalog;
use crate::error::{Error, ErrorKind, Result};

/// One DuckDB transaction on one attached catalog.
pub struct WorkerTransaction {
    catalog: Arc<AttachedCatalog>,
    state: Mutex<State>,
}

enum State {
    /// Nothing has asked the worker for a token yet (most read-only statements on a catalog
    /// without transactions never do).
    NotBegun,
    /// `catalog_transaction_begin` answered with this token (a worker may answer none).
    Active(Option<Blob>),
    /// Committed or rolled back; a later call is a bug in the caller, not a new transaction.
    Ended,
}

impl WorkerTransaction {
    pub fn new(catalog: Arc<AttachedCatalog>) -> Self {
        WorkerTransaction { catalog, state: Mutex::new(State::NotBegun) }
    }

    /// The worker's token for this transaction, beginning it on first use; `None` when the
    /// worker does not support transactions.
    pub fn token(&self) -> Result<Option<Blob>> {
        if !self.catalog.attach.supports_transactions {
            return Ok(None);
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match &*state {
            State::Active(token) => Ok(token.clone()),
            State::Ended => Err(Error::new(ErrorKind::InvalidInput, "vgi: this transaction has already ended")),
            State::NotBegun => {
                let attach = self.catalog.attach_data();
                let token = self.catalog.with_client(|c| c.transaction_begin(&attach))?;
                *state = State::Active(token.clone());
                Ok(token)
            }
        }
    }

    /// Ends the transaction at the worker (if it was begun there). Called once by DuckDB's
    /// commit or rollback; a failed commit is the user's error, a failed rollback is reported
    /// but leaves nothing more to do.
    pub fn end(&self, commit: bool) -> Result<()> {
        let previous = std::mem::replace(&mut *self.state.lock().unwrap_or_else(|p| p.into_inner()), State::Ended);
        let State::Active(Some(token)) = previous else {
            return Ok(());
        };
        let scope = TransactionScope { attach_opaque_data: self.catalog.attach_data(), transaction_opaque_data: token };
        let (location, connect) = (&self.catalog.location, &self.catalog.connect);
        if commit || Pool::global().has_idle(location, connect) {
            return self.catalog.with_client(|c| c.transaction_end(commit, &scope));
        }
        // A rollback with no idle connection: the query was interrupted or its worker died,
        // which dropped the connection. Starting a worker takes about a second and DuckDB needs
        // no answer, so the interrupted query returns now and the rollback follows on a loan
        // (the next call waits for that connection rather than start yet another worker).
        let catalog = self.catalog.clone();
        let spawned = std::thread::Builder::new().name("vgi-rollback".into()).spawn(move || {
            if let Ok(mut client) = Pool::global().lend(&catalog.location, &catalog.connect) {
                let _ = client.transaction_end(false, &scope);
            }
        });
        spawned.map(drop).map_err(|e| Error::new(ErrorKind::Io, format!("vgi: cannot start the rollback: {e}")))
    }
}

impl Drop for WorkerTransaction {
    /// A transaction DuckDB dropped without ending it (e.g. the database closed mid-way) is
    /// rolled back, so the worker never keeps an orphan open.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if matches!(state, State::Active(Some(_))) {
            let _ = self.end(false);
        }
    }
}
