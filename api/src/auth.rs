//! Officer access. Users have a role (officer or admin) and a token that is shown once and
//! stored only as an argon2id hash. Each request's caller is worked out from its bearer token
//! (verified hashes are remembered for a few minutes by the token's SHA-256, never the token),
//! checked against the route's access, rate-limited per client, and every restricted read or
//! upload is written to the audit log.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use haven_core::users::{Role, verify};

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
    },
}

impl Caller {
    fn name(&self) -> &str {
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

/// Verified tokens, by their SHA-256, for a few minutes; and the request counts per client.
#[derive(Default)]
pub struct Gate {
    verified: Mutex<HashMap<[u8; 32], (String, Role, Instant)>>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

const VERIFIED_FOR: Duration = Duration::from_secs(300);

impl Gate {
    /// Forgets every verified token (after a user is removed).
    pub fn forget(&self) {
        if let Ok(mut v) = self.verified.lock() {
            v.clear();
        }
    }

    /// Takes one request from the client's bucket; false when it is empty. `limit` is the
    /// steady rate per second, the bucket holds ten seconds of it.
    fn admit(&self, client: &str, limit: f64) -> bool {
        if limit <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        if buckets.len() > 100_000 {
            buckets.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let capacity = limit * 10.0;
        let (tokens, at) = buckets.entry(client.to_string()).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * limit).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The caller of a request: anonymous without a token; a token that is not valid is refused.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(token) = bearer(headers) else {
        return Ok(Caller::Anonymous);
    };
    if token == state.local_token.as_str() {
        return Ok(Caller::Local);
    }
    let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if let Ok(v) = state.gate.verified.lock()
        && let Some((name, role, at)) = v.get(&key)
        && at.elapsed() < VERIFIED_FOR
    {
        return Ok(Caller::User {
            name: name.clone(),
            role: *role,
        });
    }
    let token = token.to_string();
    let found = state
        .with_store(move |store| Ok(verify(store, &token)?))
        .await?;
    match found {
        Some((name, role)) => {
            if let Ok(mut v) = state.gate.verified.lock() {
                v.insert(key, (name.clone(), role, Instant::now()));
            }
            Ok(Caller::User { name, role })
        }
        None => Err(ApiError::Unauthorized),
    }
}

/// The middleware of every route: rate limit, caller, access, audit.
pub async fn guard(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    // The client's bucket (only worked out when there is a limit).
    let limited = state.rate_limit > 0.0 && {
        let client = bearer(req.headers())
            .map(|t| format!("token:{:x}", Sha256::digest(t.as_bytes())))
            .or_else(|| {
                req.extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| format!("ip:{}", c.0.ip()))
            })
            .unwrap_or_else(|| "local".into());
        !state.gate.admit(&client, state.rate_limit)
    };
    if limited {
        let mut res = ApiError::TooManyRequests.into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return res;
    }
    let who = match caller(&state, req.headers()).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let allowed = match (access, &who) {
        (Access::Public, _) => Ok(()),
        (_, Caller::Anonymous) => Err(ApiError::Unauthorized),
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
            action,
            target,
            query,
            status: res.status().as_u16(),
        });
    }
    res
}
