//! Users of the officer workspace and their tokens: a token is `hvn_<id>_<secret>`, stored
//! only as an Argon2 hash, valid until it expires ([`DEFAULT_TOKEN_DAYS`] unless told) or is
//! rotated. The HTTP layer checks a token in two steps: [`lookup`] reads the user's row (a
//! quick read), [`Candidate::check`] runs Argon2 (slow on purpose, so the caller runs it off
//! any connection and lock, a bounded number at a time). The command line and the admin API
//! manage users with the rest.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;

use crate::Error;

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Officer,
    Admin,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role, Error> {
        match s {
            "officer" => Ok(Role::Officer),
            "admin" => Ok(Role::Admin),
            other => Err(Error::Invalid(format!(
                "role '{other}' is neither officer nor admin"
            ))),
        }
    }
}

/// A user as listed (never the hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub created_at: String,
    /// When the token stops working (UTC); `None`: never.
    pub expires_at: Option<String>,
    /// The municipality (tenant) the user belongs to; `None`: the whole database.
    pub municipality: Option<String>,
}

/// Days a new or rotated token works unless told otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

fn db(e: duckdb::Error) -> Error {
    Error::from(e)
}

fn valid_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "user name '{name}' must be 1 to 64 of a-z, 0-9, . _ - @"
        )))
    }
}

/// Creates a user whose token works for `days` (0: no expiry) and returns the token, which is
/// stored only as a hash: show it once.
pub fn add_user(store: &ingest::Store, name: &str, role: Role, days: u32) -> Result<String, Error> {
    add_user_of(store, name, role, days, None)
}

/// [`add_user`], for one municipality (a tenant of a region's Haven) when `municipality` is
/// given: such a user reaches only the region's routes, and there only that municipality.
pub fn add_user_of(
    store: &ingest::Store,
    name: &str,
    role: Role,
    days: u32,
    municipality: Option<&str>,
) -> Result<String, Error> {
    valid_name(name)?;
    if let Some(code) = municipality {
        lake::check_municipality(code)?;
    }
    crate::migrate(store)?;
    let conn = store.conn();
    let exists: i64 = conn
        .query_row("SELECT count(*) FROM users WHERE name = ?", [name], |r| {
            r.get(0)
        })
        .map_err(db)?;
    if exists > 0 {
        return Err(Error::Invalid(format!("user '{name}' exists")));
    }
    let id: i64 = conn
        .query_row("SELECT coalesce(max(id), 0) + 1 FROM users", [], |r| {
            r.get(0)
        })
        .map_err(db)?;
    let (secret, hash) = new_secret()?;
    conn.execute(
        &format!(
            "INSERT INTO users (id, name, role, token_hash, created_at, expires_at, municipality)
             VALUES (?, ?, ?, ?, now(), {}, ?)",
            expiry(days)
        ),
        duckdb::params![id, name, role.as_str(), hash, municipality],
    )
    .map_err(db)?;
    Ok(format!("hvn_{id}_{secret}"))
}

/// Gives a user a new token that works for `days` (0: no expiry); the old one stops working
/// (at once on this server, within the cache time on another process's). The new token is
/// returned, to be shown once.
pub fn rotate_token(store: &ingest::Store, name: &str, days: u32) -> Result<String, Error> {
    crate::migrate(store)?;
    let (secret, hash) = new_secret()?;
    let id: Option<i64> = store
        .conn()
        .query_row(
            &format!(
                "UPDATE users SET token_hash = ?, rotated_at = now(), expires_at = {}
                 WHERE name = ? RETURNING id",
                expiry(days)
            ),
            duckdb::params![hash, name],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            duckdb::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(db)?;
    let id = id.ok_or_else(|| Error::NotFound(format!("there is no user '{name}'")))?;
    Ok(format!("hvn_{id}_{secret}"))
}

/// The SQL of an expiry `days` from now (0: none).
fn expiry(days: u32) -> String {
    if days == 0 {
        "NULL".into()
    } else {
        format!("now() + INTERVAL {days} DAY")
    }
}

/// A new secret and its Argon2 hash.
fn new_secret() -> Result<(String, String), Error> {
    let secret = random_hex(32);
    let salt_bytes = hex_bytes(&random_hex(16));
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("argon2: {e}")))?
        .to_string();
    Ok((secret, hash))
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

pub fn list_users(store: &ingest::Store) -> Result<Vec<UserInfo>, Error> {
    crate::migrate(store)?;
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT name, role, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
                    strftime(expires_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), municipality
             FROM users ORDER BY name",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ))
        })
        .map_err(db)?;
    rows.map(|r| {
        let (name, role, created_at, expires_at, municipality) = r.map_err(db)?;
        Ok(UserInfo {
            name,
            role: role.parse()?,
            created_at,
            expires_at,
            municipality,
        })
    })
    .collect()
}

/// Removes a user; its token stops working (at once on this server, within the cache time on
/// another process's).
pub fn remove_user(store: &ingest::Store, name: &str) -> Result<(), Error> {
    crate::migrate(store)?;
    let n = store
        .conn()
        .execute("DELETE FROM users WHERE name = ?", [name])
        .map_err(db)?;
    if n == 0 {
        return Err(Error::NotFound(format!("there is no user '{name}'")));
    }
    Ok(())
}

/// What a token's user row says, before the Argon2 check.
#[derive(Debug)]
pub enum Lookup {
    /// Not a Haven token, or no user has its id.
    Unknown,
    /// A user whose token this may be: [`Candidate::check`] says.
    Candidate(Candidate),
}

/// A user row and the secret presented for it.
#[derive(Debug)]
pub struct Candidate {
    pub name: String,
    pub role: Role,
    /// The user's municipality (tenant); `None`: the whole database.
    pub municipality: Option<String>,
    /// The user's token has expired (said only to whoever holds it: check first).
    pub expired: bool,
    hash: String,
    secret: String,
}

impl Candidate {
    /// Whether the secret is the user's (Argon2: tens of milliseconds of one core, on purpose;
    /// constant-time in the hash comparison).
    pub fn check(&self) -> Result<bool, Error> {
        let parsed = PasswordHash::new(&self.hash)
            .map_err(|e| Error::Internal(format!("stored hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(self.secret.as_bytes(), &parsed)
            .is_ok())
    }
}

/// A user's row as a token check needs it.
#[derive(Debug, Clone)]
pub struct UserRow {
    name: String,
    role: Role,
    municipality: Option<String>,
    hash: String,
    /// Microseconds since 1970 when the token stops working; `None`: never.
    expires_us: Option<i64>,
}

/// Every user's row by id: a server keeps them in memory (the table is small and changes only
/// through the server), so a refused token costs no database read.
pub fn rows(store: &ingest::Store) -> Result<std::collections::HashMap<i64, UserRow>, Error> {
    crate::migrate(store)?;
    let mut stmt = store
        .conn()
        .prepare("SELECT id, name, role, token_hash, epoch_us(expires_at), municipality FROM users")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
            ))
        })
        .map_err(db)?;
    rows.map(|r| {
        let (id, name, role, hash, expires_us, municipality) = r.map_err(db)?;
        Ok((
            id,
            UserRow {
                name,
                role: role.parse()?,
                municipality,
                hash,
                expires_us,
            },
        ))
    })
    .collect()
}

/// What the rows say of a token, before the Argon2 check.
pub fn lookup_in(rows: &std::collections::HashMap<i64, UserRow>, token: &str) -> Lookup {
    let Some((id, secret)) = token
        .strip_prefix("hvn_")
        .and_then(|t| t.split_once('_'))
        .and_then(|(id, s)| Some((id.parse::<i64>().ok()?, s)))
    else {
        return Lookup::Unknown;
    };
    let Some(row) = rows.get(&id) else {
        return Lookup::Unknown;
    };
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Lookup::Candidate(Candidate {
        name: row.name.clone(),
        role: row.role,
        municipality: row.municipality.clone(),
        expired: row.expires_us.is_some_and(|e| e <= now_us),
        hash: row.hash.clone(),
        secret: secret.to_string(),
    })
}

/// Reads the row of the user a token names: no Argon2.
pub fn lookup(store: &ingest::Store, token: &str) -> Result<Lookup, Error> {
    Ok(lookup_in(&rows(store)?, token))
}

/// The user a token belongs to, if it is valid now (both steps on this thread).
pub fn verify(store: &ingest::Store, token: &str) -> Result<Option<(String, Role)>, Error> {
    match lookup(store, token)? {
        Lookup::Candidate(c) if !c.expired && c.check()? => Ok(Some((c.name, c.role))),
        _ => Ok(None),
    }
}

/// Random hex from the OS (/dev/urandom; elsewhere the std hasher's per-process random keys).
pub fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::io::Read;
    let mut buf = vec![0u8; bytes];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        for (i, chunk) in buf.chunks_mut(8).enumerate() {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_usize(i);
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
