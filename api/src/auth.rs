//! Officer access. Users have a role (officer or admin) and a token that is shown once,
//! stored only as an argon2id hash, and expires. Each request's caller is worked out from its
//! bearer token, checked against the route's access, and every restricted request, and every
//! refused token on any route, is written to the audit log.
//!
//! Under attack:
//! - requests are rate-limited per client address (the peer, or the `X-Forwarded-For` entry
//!   that the trusted proxies vouch for), never per token, so rotating made-up tokens does not
//!   escape the limit;
//! - refused tokens are limited on their own per client ([`FAILURES_PER_MINUTE`]): past that,
//!   a client's tokens are not checked at all for a while (429);
//! - a token's user row is read on a reader and given back at once; the Argon2 check runs on
//!   threads of its own ([`argon_slots`] of them, at the lowest CPU priority, with a short
//!   queue) outside any connection or lock, so tokens cannot take the readers, and take only
//!   the CPU the public routes leave;
//! - verified tokens are remembered for a few minutes by their SHA-256 (never the token);
//! - the loopback hand-off token of `haven` commands is compared in constant time, and taken
//!   only from a loopback peer.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use haven_core::settings::Cidr;
use haven_core::users::{Lookup, Role, UserRow, lookup_in, rows};

use crate::{Access, ApiError, AppState};

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// `haven ingest` handing a load to this server (its own loopback token).
    Local,
    User {
        name: String,
        role: Role,
        /// The municipality (tenant) the user belongs to; `None`: the whole database.
        municipality: Option<String>,
    },
}

/// Who asked a restricted route, as records (erasures, case histories) name them: the user, or
/// the local `haven` command.
pub(crate) fn actor(caller: Option<&axum::Extension<Caller>>) -> String {
    caller.map_or_else(
        || Caller::Local.name().to_string(),
        |c| c.0.name().to_string(),
    )
}

impl Caller {
    /// The name the audit log gives the caller.
    pub fn name(&self) -> &str {
        match self {
            Caller::Anonymous => "anonymous",
            Caller::Local => "haven-cli",
            Caller::User { name, .. } => name,
        }
    }
    fn role(&self) -> &'static str {
        match self {
            Caller::Anonymous => "public",
            Caller::Local => "local",
            Caller::User { role, .. } => role.as_str(),
        }
    }
}

/// Verified tokens, by their SHA-256, for a few minutes; the request and refused-token
/// buckets per client address; and the Argon2 slots.
pub struct Gate {
    verified: Mutex<HashMap<[u8; 32], (Caller, Instant)>>,
    /// The users' rows, read once and again after any change to them.
    users: Mutex<Option<std::sync::Arc<HashMap<i64, UserRow>>>>,
    buckets: Buckets,
    failures: Buckets,
    argon: Argon,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            verified: Mutex::default(),
            users: Mutex::default(),
            buckets: Buckets::default(),
            failures: Buckets::default(),
            argon: Argon::start(argon_slots(), ARGON_QUEUE),
        }
    }
}

const VERIFIED_FOR: Duration = Duration::from_secs(300);

/// Refused tokens a client may present per minute (a burst of as many); past that its tokens
/// get 429 without being checked.
pub const FAILURES_PER_MINUTE: f64 = 10.0;

/// How long a token check waits for its Argon2 answer before it is answered 503.
const ARGON_WAIT: Duration = Duration::from_secs(5);

/// Token checks waiting for an Argon2 thread, at most; more are answered 503 at once.
const ARGON_QUEUE: usize = 64;

type ArgonJob = (
    haven_core::users::Candidate,
    tokio::sync::oneshot::Sender<(
        Result<bool, haven_core::Error>,
        haven_core::users::Candidate,
    )>,
);

/// The Argon2 threads: each lowers its own CPU priority to the least (nice 19) when it
/// starts, so a public request that wakes up takes the core from it.
struct Argon {
    queue: std::sync::mpsc::SyncSender<ArgonJob>,
}

impl Argon {
    fn start(threads: usize, queue: usize) -> Argon {
        let (tx, rx) = std::sync::mpsc::sync_channel::<ArgonJob>(queue);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = std::sync::Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let me = rustix::thread::gettid();
                    if let Err(e) = rustix::process::setpriority_process(Some(me), 19) {
                        tracing::warn!(cause = %e, "the Argon2 thread keeps its priority");
                    }
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        let Ok((candidate, answer)) = job else { return };
                        let good = candidate.check();
                        let _ = answer.send((good, candidate));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(cause = %e, "no Argon2 thread");
            }
        }
        Argon { queue: tx }
    }
}

/// Argon2 checks run at once: half the cores (at least one), so the other half always serve
/// the public.
pub fn argon_slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Token buckets per client address.
#[derive(Default)]
struct Buckets(Mutex<HashMap<IpAddr, (f64, Instant)>>);

impl Buckets {
    /// Takes `cost` from the client's bucket (`rate` per second, holding `capacity`); false
    /// when it holds less than one. A cost of 0 only looks.
    fn take(&self, client: IpAddr, rate: f64, capacity: f64, cost: f64) -> bool {
        let now = Instant::now();
        let Ok(mut buckets) = self.0.lock() else {
            return true;
        };
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(600));
        }
        let (tokens, at) = buckets.entry(client).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= cost;
            true
        } else {
            false
        }
    }
}

impl Gate {
    /// Forgets every verified token (after a user is removed).
    pub fn forget(&self) {
        if let Ok(mut v) = self.verified.lock() {
            v.clear();
        }
        if let Ok(mut u) = self.users.lock() {
            *u = None;
        }
    }

    /// Takes one request from the client's bucket; false when it is empty. `limit` is the
    /// steady rate per second, the bucket holds ten seconds of it.
    fn admit(&self, client: IpAddr, limit: f64) -> bool {
        limit <= 0.0 || self.buckets.take(client, limit, limit * 10.0, 1.0)
    }

    /// Whether the client may still present a token that is not known good.
    fn may_try(&self, client: IpAddr) -> bool {
        self.failures
            .take(client, FAILURES_PER_MINUTE / 60.0, FAILURES_PER_MINUTE, 0.0)
    }

    /// Counts a refused token against the client.
    fn refused(&self, client: IpAddr) {
        self.failures
            .take(client, FAILURES_PER_MINUTE / 60.0, FAILURES_PER_MINUTE, 1.0);
    }
}

/// The client of a request: the peer; when the peer is a trusted proxy, the address in
/// `X-Forwarded-For` nearest the server that is not a trusted proxy itself (entries further
/// left were written by the client and prove nothing).
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let Some(mut client) = peer else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // Not an address: the hop before it is as far as the chain can be believed.
            Err(_) => break,
        }
    }
    client
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Whether two secrets are equal, in time that does not depend on where they differ (or on
/// their lengths: their digests are compared).
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(a[..].ct_eq(&b[..]))
}

/// Why a token was refused, for the audit log.
enum Refusal {
    Unknown,
    Expired(String),
    Wrong(String),
    /// Past the client's refused tokens: not checked.
    Throttled,
}

/// The caller of a request: anonymous without a token; a token that is not valid is refused.
async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    client: IpAddr,
) -> Result<Caller, (ApiError, Refusal)> {
    let Some(token) = bearer(headers) else {
        return Ok(Caller::Anonymous);
    };
    if peer.is_some_and(|p| p.is_loopback()) && same_secret(token, &state.local_token) {
        return Ok(Caller::Local);
    }
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Ok(v) = state.gate.verified.lock()
        && let Some((who, at)) = v.get(&key)
        && at.elapsed() < VERIFIED_FOR
    {
        return Ok(who.clone());
    }
    if !state.gate.may_try(client) {
        return Err((ApiError::TooManyRequests, Refusal::Throttled));
    }
    let refuse = |why: Refusal| {
        state.gate.refused(client);
        (ApiError::Unauthorized, why)
    };
    // The users' rows, from memory (read on a reader the first time after a change).
    let cached = state.gate.users.lock().ok().and_then(|u| u.clone());
    let users = match cached {
        Some(u) => u,
        None => {
            let read = state
                .with_store(|store| Ok(rows(store)?))
                .await
                .map_err(|e| (e, Refusal::Unknown))?;
            let read = std::sync::Arc::new(read);
            if let Ok(mut u) = state.gate.users.lock() {
                *u = Some(std::sync::Arc::clone(&read));
            }
            read
        }
    };
    let candidate = match lookup_in(&users, token) {
        Lookup::Unknown => return Err(refuse(Refusal::Unknown)),
        Lookup::Candidate(c) => c,
    };
    // Argon2 on its own threads, holding nothing else; a full queue is answered at once.
    let busy = || {
        (
            ApiError::Unavailable("too many sign-ins at once; try again".into()),
            Refusal::Unknown,
        )
    };
    let (answer, answered) = tokio::sync::oneshot::channel();
    state
        .gate
        .argon
        .queue
        .try_send((candidate, answer))
        .map_err(|_| busy())?;
    let (good, candidate) = tokio::time::timeout(ARGON_WAIT, answered)
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(busy)?;
    match good {
        // Only the token's holder learns that it expired.
        Ok(true) if candidate.expired => {
            state.gate.refused(client);
            Err((ApiError::TokenExpired, Refusal::Expired(candidate.name)))
        }
        Ok(true) => {
            let who = Caller::User {
                name: candidate.name,
                role: candidate.role,
                municipality: candidate.municipality,
            };
            if let Ok(mut v) = state.gate.verified.lock() {
                v.insert(key, (who.clone(), Instant::now()));
            }
            Ok(who)
        }
        Ok(false) => Err(refuse(Refusal::Wrong(candidate.name))),
        Err(e) => Err((ApiError::from(e), Refusal::Unknown)),
    }
}

/// The middleware of every route: rate limit, caller, access, audit.
pub async fn guard(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client = client_address(peer, req.headers(), &state.settings.server.trusted_proxies);
    if state.rate_limit > 0.0 && !state.gate.admit(client, state.rate_limit) {
        return too_many();
    }
    let who = match caller(&state, req.headers(), peer, client).await {
        Ok(c) => c,
        Err((e, why)) => {
            // A refused token is recorded on every route, public ones too: who it claimed to
            // be (never the token), from where, and why.
            let actor = match &why {
                Refusal::Unknown => "unknown-token".to_string(),
                Refusal::Expired(name) => format!("{name} (expired token)"),
                Refusal::Wrong(name) => format!("{name} (wrong token)"),
                Refusal::Throttled => crate::audit::THROTTLED.to_string(),
            };
            let res = match e {
                ApiError::TooManyRequests => too_many(),
                e => e.into_response(),
            };
            state.audit(crate::audit::Entry {
                micros: 0,
                actor,
                role: "refused",
                client: client.to_string(),
                action: req.method().to_string(),
                target: req.uri().path().to_string(),
                query: req.uri().query().unwrap_or("").to_string(),
                status: res.status().as_u16(),
            });
            return res;
        }
    };
    let allowed = match (access, &who) {
        (Access::Public, _) => Ok(()),
        (_, Caller::Anonymous) => Err(ApiError::Unauthorized),
        // The region's routes check the municipality themselves.
        (Access::Tenant, _) => Ok(()),
        // A municipality's user on a region's Haven reaches only the region's routes.
        (
            _,
            Caller::User {
                municipality: Some(m),
                ..
            },
        ) => Err(ApiError::Forbidden(format!(
            "a user of {m} reaches only the region's routes for {m} (/api/v1/region/…)"
        ))),
        (Access::Officer, Caller::Local | Caller::User { .. }) => Ok(()),
        // The local operator (the `haven` command on the server's machine, holding the token of
        // its announcement file, readable only by the user who runs it and owns the database).
        (Access::Admin, Caller::Local) => Ok(()),
        (
            Access::Admin,
            Caller::User {
                role: Role::Admin, ..
            },
        ) => Ok(()),
        (Access::Admin, _) => Err(ApiError::Forbidden("this needs the admin role".into())),
    };
    let audit = (access != Access::Public).then(|| {
        (
            req.method().to_string(),
            req.uri().path().to_string(),
            req.uri().query().unwrap_or("").to_string(),
        )
    });
    let res = match allowed {
        Ok(()) => {
            // Restricted handlers may ask who called; public ones never do.
            if access != Access::Public {
                req.extensions_mut().insert(who.clone());
            }
            next.run(req).await
        }
        Err(e) => e.into_response(),
    };
    // Restricted reads and uploads are recorded, refused ones too.
    if let Some((action, target, query)) = audit {
        state.audit(crate::audit::Entry {
            micros: 0,
            actor: who.name().to_string(),
            role: who.role(),
            client: client.to_string(),
            action,
            target,
            query,
            status: res.status().as_u16(),
        });
    }
    res
}

/// 429 with the time to wait.
fn too_many() -> Response {
    let mut res = ApiError::TooManyRequests.into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_nearest_address_no_trusted_proxy_vouches_for() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted: Vec<Cidr> = vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7, 10.0.0.2".parse().unwrap(),
        );
        // Through two trusted hops: the address the first of them saw.
        assert_eq!(
            client_address(Some(ip("127.0.0.1")), &h, &trusted),
            ip("203.0.113.7")
        );
        // An untrusted peer's header is its own word: the peer is the client.
        assert_eq!(
            client_address(Some(ip("198.51.100.1")), &h, &[]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client_address(Some(ip("127.0.0.1")), &h, &[]),
            ip("127.0.0.1")
        );
        // A garbled hop: the chain is believed up to it.
        h.insert(
            "x-forwarded-for",
            "203.0.113.7, garbage, 10.0.0.2".parse().unwrap(),
        );
        assert_eq!(
            client_address(Some(ip("127.0.0.1")), &h, &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
