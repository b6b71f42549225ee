//! The key cells of external issuers, kept across config generations.
//!
//! A reload builds a new verifier, but an issuer whose key source, algorithms
//! and cooldown are unchanged keeps its cell ([`IssuerKeys`]): its keys, and
//! the cooldown clock of kid-triggered refetches, survive the reload, so
//! reloading neither empties the key set nor refetches it. The fetcher
//! (`key_fetch.rs`) fills the cells and sleeps on [`RemoteKeys::wake`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::config::{Config, KeySource};
use crate::token::remote::{IssuerKeys, Issuers, RemoteIssuer};
use crate::token::Algorithm;

/// What makes two generations' cells for one issuer the same cell.
#[derive(PartialEq)]
struct CellIdentity {
    source: KeySource,
    algorithms: Vec<Algorithm>,
    cooldown: Duration,
}

/// The long-lived cells of every external issuer, by name.
#[derive(Default)]
pub struct RemoteKeys {
    cells: Mutex<HashMap<String, (CellIdentity, Arc<IssuerKeys>)>>,
    wake: Arc<Notify>,
}

impl RemoteKeys {
    /// The issuers of `config`, each with its cell: the existing one when its
    /// identity is unchanged, a new empty one otherwise. Cells of issuers no
    /// longer configured are dropped.
    pub fn issuers_for(&self, config: &Config) -> Issuers {
        let mut cells = self.cells.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cells.retain(|name, _| config.issuers.iter().any(|i| &i.verify.name == name));
        let issuers = config
            .issuers
            .iter()
            .map(|spec| {
                let identity = CellIdentity {
                    source: spec.keys.clone(),
                    algorithms: spec.verify.algorithms.clone(),
                    cooldown: spec.cooldown,
                };
                let cell = match cells.get(&spec.verify.name) {
                    Some((existing, cell)) if *existing == identity => Arc::clone(cell),
                    _ => {
                        let cell = Arc::new(IssuerKeys::new(spec.cooldown));
                        let wake = Arc::clone(&self.wake);
                        cell.set_waker(Box::new(move || wake.notify_one()));
                        cells.insert(spec.verify.name.clone(), (identity, Arc::clone(&cell)));
                        // A new cell is empty: the fetcher should fill it now.
                        self.wake.notify_one();
                        cell
                    }
                };
                RemoteIssuer::new(spec.verify.clone(), cell)
            })
            .collect();
        Issuers::new(issuers)
    }

    /// Notified when a cell wants a fetch (new, or a token named an unknown `kid`).
    pub fn wake(&self) -> &Notify {
        &self.wake
    }
}
