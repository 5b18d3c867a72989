//! The server's connections: one writer, and a pool of readers on the same database.
//!
//! DuckDB gives every connection its own transactions over one database (MVCC): a reader sees
//! the last committed state, never part of a write in progress, and does not wait for it. So
//! every write (uploads, user changes, the audit log, releases) goes through the one writer
//! connection behind a mutex, and every read takes a connection of its own from the pool
//! (martin keeps its DuckDB tiles the same way: a pooled connection inside `spawn_blocking`).

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crate::Error;

/// The database as a long-running process holds it: the one writer and the readers beside it.
pub struct Database {
    writer: Mutex<ingest::Store>,
    readers: Readers,
    path: PathBuf,
}

impl Database {
    /// Takes `store` as the writer and opens readers to the same database on demand.
    /// Brings the tables up to date to the core first ([`crate::migrate`]).
    pub fn new(store: ingest::Store) -> Result<Database, Error> {
        crate::migrate(&store)?;
        Ok(Database {
            readers: Readers::new(&store, MAX_READERS)?,
            path: store.path().to_path_buf(),
            writer: Mutex::new(store),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer; writes wait for each other, never readers for them. Blocks:
    /// call it off an async runtime.
    pub fn write<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&ingest::Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let guard = self
            .writer
            .lock()
            .map_err(|_| Error::Internal("writer lock poisoned".into()))?;
        f(&guard)
    }

    /// Runs `f` on a reader: it sees the last committed state and never waits for a write.
    /// Blocks: call it off an async runtime.
    pub fn read<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&ingest::Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let reader = self.readers.get()?;
        f(&reader)
    }

    /// A connection of its own to the same database (a scheduled job's).
    pub fn connect(&self) -> Result<ingest::Store, Error> {
        Ok(self
            .readers
            .template
            .lock()
            .map_err(|_| Error::Internal("reader template lock poisoned".into()))?
            .try_clone()?)
    }
}

/// Readers opened at most; a request beyond waits for one to come back.
pub const MAX_READERS: usize = 8;

struct Readers {
    /// A connection that is only cloned, never queried (so cloning never waits for a query).
    template: Mutex<ingest::Store>,
    state: Mutex<State>,
    returned: Condvar,
    max: usize,
}

struct State {
    idle: Vec<ingest::Store>,
    opened: usize,
}

/// A reader lent out; it goes back to the pool when dropped.
struct Lease<'a> {
    pool: &'a Readers,
    store: Option<ingest::Store>,
}

impl std::ops::Deref for Lease<'_> {
    type Target = ingest::Store;
    fn deref(&self) -> &ingest::Store {
        self.store.as_ref().expect("a leased reader")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.store.take() {
            let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
            st.idle.push(s);
            drop(st);
            self.pool.returned.notify_one();
        }
    }
}

impl Readers {
    /// Readers beside `store`'s connection, to the same database.
    fn new(store: &ingest::Store, max: usize) -> Result<Readers, Error> {
        Ok(Readers {
            template: Mutex::new(store.try_clone()?),
            state: Mutex::new(State {
                idle: Vec::new(),
                opened: 0,
            }),
            returned: Condvar::new(),
            max: max.max(1),
        })
    }

    /// An idle reader, a new one while fewer than the maximum are open, else the next one
    /// returned. Blocks: call it off the async runtime.
    fn get(&self) -> Result<Lease<'_>, Error> {
        let poisoned = |_| Error::Internal("reader pool lock poisoned".into());
        let mut st = self.state.lock().map_err(poisoned)?;
        loop {
            if let Some(s) = st.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    store: Some(s),
                });
            }
            if st.opened < self.max {
                st.opened += 1;
                drop(st);
                let opened = self
                    .template
                    .lock()
                    .map_err(|_| Error::Internal("reader template lock poisoned".into()))
                    .and_then(|t| Ok(t.try_clone()?));
                return match opened {
                    Ok(s) => Ok(Lease {
                        pool: self,
                        store: Some(s),
                    }),
                    Err(e) => {
                        self.state.lock().map_err(poisoned)?.opened -= 1;
                        Err(e)
                    }
                };
            }
            st = self.returned.wait(st).map_err(poisoned)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_the_last_commit_while_a_write_is_open() {
        let writer = ingest::Store::open_in_memory().unwrap();
        writer
            .conn()
            .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
            .unwrap();
        let pool = Readers::new(&writer, 2).unwrap();
        writer
            .conn()
            .execute_batch("BEGIN; INSERT INTO t VALUES (2), (3)")
            .unwrap();
        let count = |pool: &Readers| -> i64 {
            pool.get()
                .unwrap()
                .conn()
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap()
        };
        // The open write is not seen, and the reader did not wait for it.
        assert_eq!(count(&pool), 1);
        writer.conn().execute_batch("COMMIT").unwrap();
        assert_eq!(count(&pool), 3);
    }

    #[test]
    fn readers_are_reused_and_bounded() {
        let writer = ingest::Store::open_in_memory().unwrap();
        let pool = Readers::new(&writer, 2).unwrap();
        let a = pool.get().unwrap();
        let b = pool.get().unwrap();
        assert_eq!(pool.state.lock().unwrap().opened, 2);
        std::thread::scope(|s| {
            let waiting = s.spawn(|| pool.get().map(|_| ()).is_ok());
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(a);
            assert!(waiting.join().unwrap());
        });
        drop(b);
        let st = pool.state.lock().unwrap();
        assert_eq!((st.opened, st.idle.len()), (2, 2));
    }
}
