//! The server's copy of the published indicators' read model
//! ([`haven_core::read::published::Model`]).
//!
//! It is built on a reader in a blocking task. When the data generation moves on (any write),
//! the first request checks the latest release on a connection kept for that (about a
//! millisecond; requests arriving meanwhile wait for this check, never for a write): the
//! published table changes only with a release, so while the release is the same the model
//! stays (an upload and its analysis leave it valid). After a new release, or before the first
//! model, the model is read again in the background and requests are answered by SQL until it
//! is ready: an answer is never older than the last write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use haven_core::read::published::{Model, release_version};

use crate::{ApiError, AppState};

/// The model of the current data generation, and whether one is being built.
#[derive(Default)]
pub(crate) struct Slot {
    current: Mutex<Option<(u64, Arc<Model>)>>,
    /// One check at a time; requests of the same generation wait for it.
    check: tokio::sync::Mutex<()>,
    /// The connection of the checks (opened at the first).
    checker: Arc<Mutex<Option<ingest::Store>>>,
    building: AtomicBool,
}

impl AppState {
    fn model_at(&self, generation: u64) -> Option<Arc<Model>> {
        let c = self.published.current.lock().ok()?;
        c.as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, m)| Arc::clone(m))
    }

    /// The model of the current data generation; `None` while it is being read (the request
    /// then takes the SQL path).
    pub(crate) async fn published_model(&self) -> Option<Arc<Model>> {
        let generation = self.generation();
        if let Some(m) = self.model_at(generation) {
            return Some(m);
        }
        let _one = self.published.check.lock().await;
        if let Some(m) = self.model_at(generation) {
            return Some(m);
        }
        let held = self
            .published
            .current
            .lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, m)| Arc::clone(m)));
        if let Some(m) = held {
            let (db, checker, release) =
                (self.database(), self.published.checker.clone(), m.release);
            let same = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
                let mut c = checker
                    .lock()
                    .map_err(|_| ApiError::Internal("checker lock poisoned".into()))?;
                if c.is_none() {
                    *c = Some(db.connect()?);
                }
                let store = c.as_ref().expect("opened above");
                Ok(release_version(store)? == release)
            })
            .await;
            match same {
                Ok(Ok(true)) => {
                    if let Ok(mut c) = self.published.current.lock() {
                        *c = Some((generation, Arc::clone(&m)));
                    }
                    return Some(m);
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::warn!(cause = %e.detail(), "checking the release failed"),
                Err(e) => tracing::warn!(cause = %e, "checking the release stopped"),
            }
        }
        if !self.published.building.swap(true, Ordering::SeqCst) {
            let s = self.clone();
            tokio::spawn(async move {
                match s.with_store(|store| Ok(Model::build(store)?)).await {
                    Ok(m) => {
                        if let Ok(mut c) = s.published.current.lock() {
                            *c = m.map(|m| (generation, Arc::new(m)));
                        }
                    }
                    Err(e) => tracing::warn!(
                        cause = %e.detail(),
                        "the published indicators could not be read into memory"
                    ),
                }
                s.published.building.store(false, Ordering::SeqCst);
            });
        }
        None
    }

    /// Reads the model of the data as it is now and installs it (after a release made here).
    pub(crate) async fn refresh_published(&self) -> Result<(), ApiError> {
        let generation = self.generation();
        let m = self.with_store(|store| Ok(Model::build(store)?)).await?;
        if let Ok(mut c) = self.published.current.lock() {
            *c = m.map(|m| (generation, Arc::new(m)));
        }
        Ok(())
    }
}
