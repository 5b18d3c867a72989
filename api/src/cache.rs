//! Answers of the public GET routes, kept in memory until the data changes. While `haven serve`
//! runs it is the only process that can write the database (DuckDB allows one writer), so every
//! change goes through [`AppState::with_store_mut`](crate::AppState::with_store_mut), which
//! moves the generation on; an answer of an older generation is never served.
//!
//! A region's stateless reader keeps its answers the same way, the lake snapshot it is pinned
//! to as the generation ([`crate::region`]).
//!
//! Concurrent requests for an answer not yet kept are answered by one computation: the first
//! computes, the others wait for it and take what it kept (a thousand visitors opening the map
//! at once build each tile once, not a thousand times).
//!
//! The bodies of small answers are kept one after another in chunks of [`CHUNK`] bytes, not
//! each in an allocation of its own: thousands of answers that live a minute, scattered among
//! the short-lived allocations of the requests, would keep pages of the allocator half used
//! (the server's resident memory creeping up for a quarter of an hour before it levels off).
//! The oldest answers go first, so a chunk is given back whole once its answers have gone.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body::Body as _;

use crate::AppState;
use crate::http::holds;

/// At most this much is kept, and no single answer above a sixteenth of it.
const MAX_BYTES: usize = 64 << 20;

/// What keeping an answer costs besides its body, key and headers: its slot in the map and in
/// the queue, the shared pointers, the header map's table. Most public answers are small (a
/// page of indicators, a funnel), so this is a large part of what many of them hold.
const ENTRY_OVERHEAD: usize = 256;

/// What one header costs in a header map besides its name and value.
const HEADER_OVERHEAD: usize = 48;

/// The size of the chunks small answers' bodies are kept in.
const CHUNK: usize = 1 << 20;

/// Bodies up to this size go in chunks; larger ones get an allocation of their own (the unused
/// end of a chunk, counted against the bound, is then at most this).
const CHUNKED_UP_TO: usize = 64 << 10;

#[derive(Clone)]
struct Entry {
    headers: HeaderMap,
    body: Bytes,
}

impl Entry {
    /// The memory an answer kept under `key` holds, all of it counted against the bound.
    fn footprint(&self, key: &str) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + HEADER_OVERHEAD)
            .sum();
        self.body.len() + key.len() + headers + ENTRY_OVERHEAD
    }
}

pub struct Cache {
    inner: RwLock<Inner>,
    /// The answers being computed, each behind the lock its computer holds.
    computing: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The bytes kept at most; no single answer above a sixteenth of it.
    bound: usize,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache::with_bound(MAX_BYTES)
    }
}

#[derive(Default)]
struct Inner {
    generation: u64,
    /// The bytes of every slot in `order`.
    bytes: usize,
    entries: HashMap<Arc<str>, Arc<Entry>>,
    /// What is kept, in the order it was kept: the oldest is let go first when room is needed.
    order: VecDeque<Slot>,
    /// The chunk being filled: its capacity is what is left of it.
    chunk: BytesMut,
}

/// A place in the order of keeping: an answer (its key; `None` once a newer copy of the answer
/// was kept, whose bytes stay in their chunk until the chunk goes), or the unused end of a
/// chunk; and the bytes it holds, counted against the bound until the slot is let go.
struct Slot {
    key: Option<Arc<str>>,
    bytes: usize,
}

impl Inner {
    /// `body` copied where the answers are kept: a small one after the last in the chunk being
    /// filled, a large one in an allocation of its own size (the response's may be up to twice
    /// as large, a buffer that grew while the answer was written).
    fn keep(&mut self, body: &[u8]) -> Bytes {
        if body.len() > CHUNKED_UP_TO {
            return Bytes::copy_from_slice(body);
        }
        if self.chunk.capacity() < body.len() {
            let rest = self.chunk.capacity();
            if rest > 0 {
                self.order.push_back(Slot {
                    key: None,
                    bytes: rest,
                });
                self.bytes += rest;
            }
            self.chunk = BytesMut::with_capacity(CHUNK);
        }
        self.chunk.extend_from_slice(body);
        self.chunk.split().freeze()
    }

    /// Lets the oldest slot go; false when there is none.
    fn let_go_oldest(&mut self) -> bool {
        let Some(slot) = self.order.pop_front() else {
            return false;
        };
        self.bytes -= slot.bytes;
        if let Some(key) = slot.key {
            self.entries.remove(&key);
        }
        true
    }
}

impl Cache {
    /// A cache keeping at most `bound` bytes.
    pub(crate) fn with_bound(bound: usize) -> Cache {
        Cache {
            inner: RwLock::default(),
            computing: std::sync::Mutex::default(),
            bound,
        }
    }

    fn get(&self, key: &str, generation: u64) -> Option<Arc<Entry>> {
        let inner = self.inner.read().ok()?;
        if inner.generation != generation {
            return None;
        }
        inner.entries.get(key).cloned()
    }

    /// The bytes the answers kept now hold (bodies, keys, headers and their slots).
    pub(crate) fn bytes(&self) -> usize {
        self.inner.read().map_or(0, |i| i.bytes)
    }

    /// How many answers are kept now.
    pub(crate) fn len(&self) -> usize {
        self.inner.read().map_or(0, |i| i.entries.len())
    }

    /// The lock of the computation of `key` (a new one when none is running).
    fn computing(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut c = self.computing.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(c.entry(key.to_string()).or_default())
    }

    /// The computation of `key` is over (what it kept, if anything, is in the cache).
    fn computed(&self, key: &str) {
        let mut c = self.computing.lock().unwrap_or_else(|e| e.into_inner());
        c.remove(key);
    }

    fn put(&self, key: String, generation: u64, entry: Entry) {
        let Ok(mut inner) = self.inner.write() else {
            return;
        };
        if generation < inner.generation {
            return; // computed from data that has changed since
        }
        if generation > inner.generation {
            *inner = Inner {
                generation,
                ..Inner::default()
            };
        }
        let size = entry.footprint(&key);
        let entry = Entry {
            body: inner.keep(&entry.body),
            headers: entry.headers,
        };
        // Room is made by letting the oldest answers go, so the cache stays near its bound
        // instead of filling and emptying (a saw-tooth in the server's memory).
        while inner.bytes + size > self.bound && inner.let_go_oldest() {}
        let key: Arc<str> = Arc::from(key);
        if inner
            .entries
            .insert(Arc::clone(&key), Arc::new(entry))
            .is_some()
        {
            // Kept twice (two computations of one generation): the older copy's slot no
            // longer names the answer.
            if let Some(old) = inner
                .order
                .iter_mut()
                .find(|s| s.key.as_ref() == Some(&key))
            {
                old.key = None;
            }
        }
        inner.bytes += size;
        inner.order.push_back(Slot {
            key: Some(key),
            bytes: size,
        });
    }
}

/// What the answer depends on besides the URI.
fn key(req: &Request) -> String {
    let h = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .unwrap_or("")
    };
    // No Accept header asks for anything, as `*/*` does (RFC 9110, 12.5.1): one answer for both.
    let accept = match h(header::ACCEPT).trim() {
        "" => "*/*",
        a => a,
    };
    format!("{}\u{1f}{accept}\u{1f}{}", req.uri(), h(header::HOST))
}

/// A kept answer, or 304 when the client holds it already.
fn kept(e: &Entry, req: &Request) -> Response {
    let tag = e
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !tag.is_empty() && holds(req.headers(), tag) {
        let mut h = HeaderMap::new();
        for name in [header::ETAG, header::CACHE_CONTROL, header::VARY] {
            if let Some(v) = e.headers.get(&name) {
                h.insert(name, v.clone());
            }
        }
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    (e.headers.clone(), Body::from(e.body.clone())).into_response()
}

/// The middleware of the cacheable routes.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let generation = state.generation();
    through(&state.cache, generation, req, next).await
}

/// The answer to `req` of `generation`: kept in `cache`, or computed by `next` (and kept).
pub(crate) async fn through(cache: &Cache, generation: u64, req: Request, next: Next) -> Response {
    let key = key(&req);
    if let Some(e) = cache.get(&key, generation) {
        return kept(&e, &req);
    }
    // One computation per answer: the first asker computes; the others wait for it and take
    // what it kept. When it kept nothing (an error, an answer too large to keep), they compute
    // their own side by side rather than one after another.
    let lock = cache.computing(&key);
    if let Ok(_computing) = lock.try_lock() {
        // Forgotten when done, or when the request is dropped midway (the client left).
        let _done = Computed(cache, &key);
        return compute(cache, &key, generation, req, next).await;
    }
    drop(lock.lock().await);
    if let Some(e) = cache.get(&key, generation) {
        return kept(&e, &req);
    }
    next.run(req).await
}

/// Ends a computation of an answer when dropped, however the computing request ends.
struct Computed<'a>(&'a Cache, &'a str);

impl Drop for Computed<'_> {
    fn drop(&mut self) {
        self.0.computed(self.1);
    }
}

/// Computes an answer and keeps it when it is a whole 200 of a reasonable size.
async fn compute(cache: &Cache, key: &str, generation: u64, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let small = res
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| (n as usize) <= cache.bound / 16);
    if res.status() != StatusCode::OK || !small {
        return res;
    }
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, cache.bound / 16).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    cache.put(
        key.to_string(),
        generation,
        Entry {
            headers: parts.headers.clone(),
            body: bytes.clone(),
        },
    );
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; n]),
        }
    }

    /// The count of bytes is what the slots hold, and the slots that name an answer are the
    /// answers kept, each counted as it holds.
    fn assert_counted(inner: &Inner) {
        assert_eq!(
            inner.order.iter().map(|s| s.bytes).sum::<usize>(),
            inner.bytes
        );
        let named: Vec<_> = inner.order.iter().filter(|s| s.key.is_some()).collect();
        assert_eq!(named.len(), inner.entries.len());
        for s in named {
            let key = s.key.as_ref().unwrap();
            assert_eq!(inner.entries[key].footprint(key), s.bytes, "{key}");
        }
    }

    #[test]
    fn a_computation_is_forgotten_however_it_ends() {
        let cache = Cache::default();
        let lock = cache.computing("k");
        {
            let _computing = lock.try_lock().unwrap();
            let _done = Computed(&cache, "k");
            assert_eq!(cache.computing.lock().unwrap().len(), 1);
            // The request is dropped here, before any answer (the client left).
        }
        assert!(cache.computing.lock().unwrap().is_empty());
        assert!(lock.try_lock().is_ok(), "and its lock is free");
    }

    #[test]
    fn the_oldest_answers_make_room_and_the_bound_holds() {
        let cache = Cache::default();
        let size = MAX_BYTES / 16;
        // Twenty answers of a sixteenth each: the first ones go, the last sixteen at most stay.
        for i in 0..20 {
            cache.put(format!("k{i:02}"), 1, entry(size - 3 - ENTRY_OVERHEAD));
        }
        let inner = cache.inner.read().unwrap();
        assert!(inner.bytes <= MAX_BYTES, "{} bytes kept", inner.bytes);
        assert_counted(&inner);
        drop(inner);
        assert!(cache.get("k00", 1).is_none(), "the oldest answer is let go");
        assert!(cache.get("k19", 1).is_some(), "the newest answer is kept");
        assert!(
            cache.get("k05", 1).is_some(),
            "sixteen answers fit: k04..k19"
        );
        assert!(cache.get("k03", 1).is_none());
        // The same key kept twice is served as the newer copy; the older one stays counted
        // until its slot goes.
        cache.put("k19".into(), 1, entry(10));
        assert_eq!(cache.get("k19", 1).unwrap().body.len(), 10);
        let inner = cache.inner.read().unwrap();
        assert_counted(&inner);
        assert!(inner.bytes <= MAX_BYTES);
        assert_eq!(inner.order.iter().filter(|s| s.key.is_none()).count(), 1);
        drop(inner);
        assert!(cache.get("k04", 1).is_none(), "room made for it");
        // A newer generation starts empty; an older one is not kept.
        cache.put("n".into(), 2, entry(1));
        assert!(cache.get("k19", 2).is_none());
        cache.put("old".into(), 1, entry(1));
        assert!(cache.get("old", 1).is_none() && cache.get("old", 2).is_none());
    }

    #[test]
    fn small_bodies_are_kept_side_by_side_in_chunks_and_the_unused_ends_are_counted() {
        let cache = Cache::default();
        // Answers of 60 KiB: 17 fill a chunk of 1 MiB, the 18th starts the next one.
        let n = 60 << 10;
        for i in 0..40 {
            cache.put(format!("k{i:02}"), 1, entry(n));
        }
        let at = |k: &str| cache.get(k, 1).unwrap().body.as_ptr() as usize;
        assert_eq!(at("k01"), at("k00") + n, "one after another");
        assert_eq!(at("k16"), at("k15") + n);
        assert_ne!(at("k17"), at("k16") + n, "a new chunk");
        assert_eq!(at("k18"), at("k17") + n);
        let inner = cache.inner.read().unwrap();
        assert_counted(&inner);
        let ends: Vec<usize> = inner
            .order
            .iter()
            .filter(|s| s.key.is_none())
            .map(|s| s.bytes)
            .collect();
        assert_eq!(
            ends,
            vec![CHUNK - 17 * n; 2],
            "two chunks filled, their ends counted"
        );
        drop(inner);
        // A large body has an allocation of its own, of its own size.
        cache.put("large".into(), 1, entry(CHUNKED_UP_TO + 1));
        let large = cache.get("large", 1).unwrap();
        assert_eq!(large.body.len(), CHUNKED_UP_TO + 1);
        assert_counted(&cache.inner.read().unwrap());
    }

    #[test]
    fn no_accept_header_and_any_type_share_one_answer() {
        let req = |accept: Option<&str>| {
            let mut r = axum::http::Request::builder().uri("/api/v1/region");
            if let Some(a) = accept {
                r = r.header(header::ACCEPT, a);
            }
            r.body(Body::empty()).unwrap()
        };
        assert_eq!(key(&req(None)), key(&req(Some("*/*"))));
        assert_ne!(key(&req(None)), key(&req(Some("text/turtle"))));
    }

    #[test]
    fn many_small_answers_are_bounded_by_what_they_hold() {
        // Small answers hold more in their slots than in their bodies: counted, they stay
        // within the bound (counting only bodies would keep hundreds of thousands).
        let cache = Cache::default();
        for i in 0..400_000 {
            let mut e = entry(20);
            e.headers
                .insert(header::ETAG, "\"0123456789abcdef\"".parse().unwrap());
            cache.put(format!("/api/v1/indicators?page={i}"), 1, e);
        }
        let inner = cache.inner.read().unwrap();
        assert!(inner.bytes <= MAX_BYTES);
        assert_counted(&inner);
        let per = inner.bytes / inner.entries.len();
        assert!(per > ENTRY_OVERHEAD + 20, "{per} bytes an answer");
        assert!(inner.entries.len() < MAX_BYTES / (ENTRY_OVERHEAD + 20));
    }
}
