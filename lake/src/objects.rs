//! Releases as immutable objects beside the lake's tables: each file of a release folder at
//! `<data>/releases/<municipality>/v<version>/<file>`, written once and never replaced, for the
//! public readers (or a CDN in front of the bucket) to serve as they are.
//!
//! DuckDB writes only query results to object storage, and a release's files must stay byte
//! for byte what their manifest's checksums say; so the files go with plain S3 requests, signed
//! with AWS Signature Version 4 (path-style against an S3-compatible endpoint,
//! virtual-hosted against AWS). A folder lake gets a folder of files instead.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::{Error, Result, S3, Settings};

/// What writing one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Written,
    /// The object was there already, with the same bytes.
    Same,
}

/// The key of a release's file under the lake's data path.
pub fn release_key(municipality: &str, version: u32, file: &str) -> Result<String> {
    crate::check_municipality(municipality)?;
    check_file(file)?;
    Ok(format!("releases/{municipality}/v{version}/{file}"))
}

/// A release file's name: a plain name (letters, digits, `.`, `-`, `_`), never a path.
pub fn check_file(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{name:?} is not a release file's name"
        )))
    }
}

/// Writes `bytes` at `key` under the lake's data path unless an object is there: one with the
/// same bytes is left alone, one with other bytes is refused (releases are immutable).
pub fn put_immutable(settings: &Settings, key: &str, bytes: &[u8]) -> Result<Put> {
    match settings.data.strip_prefix("s3://") {
        Some(location) => S3Object::new(&settings.s3, location, key)?.put_immutable(bytes),
        None => put_file(&Path::new(&settings.data).join(key), bytes),
    }
}

/// Reads the object at `key` under the lake's data path; `None` when there is none.
pub fn get(settings: &Settings, key: &str) -> Result<Option<Vec<u8>>> {
    match settings.data.strip_prefix("s3://") {
        Some(location) => S3Object::new(&settings.s3, location, key)?.get(),
        None => match std::fs::read(Path::new(&settings.data).join(key)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Refused(format!("{key}: {e}"))),
        },
    }
}

fn put_file(path: &Path, bytes: &[u8]) -> Result<Put> {
    use std::io::Write;
    let io = |e: std::io::Error| Error::Refused(format!("{}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io)?;
            Ok(Put::Written)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => same_or_refused(
            &path.display().to_string(),
            &std::fs::read(path).map_err(io)?,
            bytes,
        ),
        Err(e) => Err(io(e)),
    }
}

fn same_or_refused(what: &str, there: &[u8], bytes: &[u8]) -> Result<Put> {
    if there == bytes {
        Ok(Put::Same)
    } else {
        Err(replaced(what))
    }
}

fn replaced(what: &str) -> Error {
    Error::Refused(format!(
        "{what} is there already with other bytes: a release's files are never replaced"
    ))
}

/// The user metadata header that keeps an object's SHA-256 as its writer computed it, so a
/// push tried again compares sums instead of downloading the release's files.
const META_SHA256: &str = "x-amz-meta-sha256";

/// The SHA-256 (hex) of an empty payload, as a request without a body (GET, HEAD) signs it.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One object of an S3-compatible server, and how to sign requests for it.
struct S3Object<'a> {
    s3: &'a S3,
    /// `http(s)://host[:port]`.
    origin: String,
    host: String,
    /// The path, URI-encoded (`/bucket/key` path-style, `/key` virtual-hosted).
    path: String,
    region: String,
}

impl<'a> S3Object<'a> {
    /// `location` is `bucket/prefix` (from `s3://bucket/prefix`).
    fn new(s3: &'a S3, location: &str, key: &str) -> Result<S3Object<'a>> {
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        let full = [prefix.trim_matches('/'), key]
            .iter()
            .filter(|p| !p.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        let region = s3.region.clone().unwrap_or_else(|| "us-east-1".into());
        let (origin, host, path) = match &s3.endpoint {
            Some(endpoint) => {
                let origin = endpoint.trim_end_matches('/').to_string();
                let host = origin
                    .split_once("://")
                    .map_or(origin.as_str(), |(_, h)| h)
                    .to_string();
                (
                    origin,
                    host,
                    format!("/{}/{}", encode(bucket), encode(&full)),
                )
            }
            None => {
                let host = format!("{bucket}.s3.{region}.amazonaws.com");
                (
                    format!("https://{host}"),
                    host,
                    format!("/{}", encode(&full)),
                )
            }
        };
        Ok(S3Object {
            s3,
            origin,
            host,
            path,
            region,
        })
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .new_agent()
    }

    fn url(&self) -> String {
        format!("{}{}", self.origin, self.path)
    }

    /// A signed request without a body (GET, HEAD): its answer, whatever its status.
    fn call(&self, method: &str) -> Result<ureq::http::Response<ureq::Body>> {
        let (date, auth) = self.sign(method, EMPTY_SHA256, false)?;
        let req = ureq::http::Request::builder()
            .method(method)
            .uri(self.url())
            .header("x-amz-date", &date)
            .header("x-amz-content-sha256", EMPTY_SHA256)
            .header("Authorization", &auth)
            .body(())
            .map_err(|e| self.failed("reading", &e.to_string()))?;
        Self::agent()
            .run(req)
            .map_err(|e| self.failed("reading", &e.to_string()))
    }

    fn get(&self) -> Result<Option<Vec<u8>>> {
        let mut res = self.call("GET")?;
        match res.status().as_u16() {
            200 => Ok(Some(
                res.body_mut()
                    .with_config()
                    .limit(u64::MAX)
                    .read_to_vec()
                    .map_err(|e| self.failed("reading", &e.to_string()))?,
            )),
            404 => Ok(None),
            s => {
                let text = res.body_mut().read_to_string().unwrap_or_default();
                Err(self.failed("reading", &format!("{s} {}", first_code(&text))))
            }
        }
    }

    /// Whether an object is there, and the SHA-256 of its bytes as its writer recorded it
    /// (`x-amz-meta-sha256`), asked with a HEAD: nothing is downloaded.
    fn head(&self) -> Result<Option<Option<String>>> {
        let res = self.call("HEAD")?;
        match res.status().as_u16() {
            200 => Ok(Some(
                res.headers()
                    .get(META_SHA256)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            )),
            404 => Ok(None),
            s => Err(self.failed("reading", &s.to_string())),
        }
    }

    /// What is there already, set against `bytes` (of SHA-256 `hash`): `None` when nothing is.
    /// The recorded sum is compared when there is one; otherwise the object is read whole.
    fn there_already(&self, hash: &str, bytes: &[u8]) -> Result<Option<Put>> {
        match self.head()? {
            None => Ok(None),
            Some(Some(sum)) if sum.eq_ignore_ascii_case(hash) => Ok(Some(Put::Same)),
            Some(Some(_)) => Err(replaced(&self.path)),
            Some(None) => match self.get()? {
                Some(there) => same_or_refused(&self.path, &there, bytes).map(Some),
                None => Ok(None),
            },
        }
    }

    fn put_immutable(&self, bytes: &[u8]) -> Result<Put> {
        // Asked first, so a file that is there is compared, whatever the server makes of a
        // conditional write; `If-None-Match: *` then keeps two writers from both writing.
        let sum = hex(&Sha256::digest(bytes));
        if let Some(put) = self.there_already(&sum, bytes)? {
            return Ok(put);
        }
        let (date, auth) = self.sign("PUT", &sum, true)?;
        let mut res = Self::agent()
            .put(self.url())
            .header("x-amz-date", &date)
            .header("x-amz-content-sha256", &sum)
            .header(META_SHA256, &sum)
            .header("Authorization", &auth)
            .header("If-None-Match", "*")
            .send(bytes)
            .map_err(|e| self.failed("writing", &e.to_string()))?;
        match res.status().as_u16() {
            200 | 201 | 204 => Ok(Put::Written),
            // Another writer wrote it in between: the same bytes, or refused.
            412 | 409 => self
                .there_already(&sum, bytes)?
                .ok_or_else(|| self.failed("writing", "412 and then nothing there")),
            s => {
                let text = res.body_mut().read_to_string().unwrap_or_default();
                Err(self.failed("writing", &format!("{s} {}", first_code(&text))))
            }
        }
    }

    fn failed(&self, doing: &str, why: &str) -> Error {
        Error::Refused(format!(
            "the object storage refused {doing} {}: {why}",
            self.path
        ))
    }

    /// `x-amz-date` and `Authorization` of a request whose payload has SHA-256 `hash` (hex),
    /// Signature V4; with `meta`, the request also carries the hash as `x-amz-meta-sha256`,
    /// signed too.
    fn sign(&self, method: &str, hash: &str, meta: bool) -> Result<(String, String)> {
        let (Some(key_id), Some(secret)) = (&self.s3.key_id, &self.s3.secret) else {
            return Err(Error::Settings(
                "the object storage needs keys: HAVEN_S3_KEY_ID and HAVEN_S3_SECRET".into(),
            ));
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let stamp = amz_date(now);
        let day = &stamp[..8];
        let (meta, signed) = if meta {
            (
                format!("{META_SHA256}:{hash}\n"),
                format!("host;x-amz-content-sha256;x-amz-date;{META_SHA256}"),
            )
        } else {
            (
                String::new(),
                "host;x-amz-content-sha256;x-amz-date".to_string(),
            )
        };
        let canonical = format!(
            "{method}\n{}\n\nhost:{}\nx-amz-content-sha256:{hash}\nx-amz-date:{stamp}\n{meta}\n{signed}\n{hash}",
            self.path, self.host
        );
        let scope = format!("{day}/{}/s3/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut k = hmac(format!("AWS4{}", secret.0).as_bytes(), day.as_bytes());
        for part in [self.region.as_str(), "s3", "aws4_request"] {
            k = hmac(&k, part.as_bytes());
        }
        let signature = hex(&hmac(&k, to_sign.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
        );
        Ok((stamp, auth))
    }
}

/// The first `<Code>` of an S3 error answer.
fn first_code(xml: &str) -> String {
    xml.split("<Code>")
        .nth(1)
        .and_then(|r| r.split("</Code>").next())
        .unwrap_or("")
        .to_string()
}

/// HMAC-SHA256 (RFC 2104).
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key's path segments URI-encoded as Signature V4 wants them (`/` kept).
fn encode(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `YYYYMMDDTHHMMSSZ` of seconds since 1970 (UTC).
fn amz_date(secs: u64) -> String {
    let (y, m, d) = ingest::validate::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_payload_hash_is_sha256_of_nothing() {
        assert_eq!(EMPTY_SHA256, hex(&Sha256::digest([])));
    }

    #[test]
    fn hmac_is_rfc_4231_s() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        // 2024-02-29 12:34:56 UTC.
        assert_eq!(amz_date(1_709_210_096), "20240229T123456Z");
    }

    #[test]
    fn the_signature_is_aws_s_own_example() {
        // AWS's documented example of a signed GET (Signature V4 for S3, "GET Object"): the
        // same key, date, region and object give the same signature.
        let s3 = S3 {
            endpoint: None,
            region: Some("us-east-1".into()),
            key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
            secret: Some(crate::Secret::new(
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )),
        };
        let o = S3Object::new(&s3, "examplebucket", "test.txt").unwrap();
        assert_eq!(o.host, "examplebucket.s3.us-east-1.amazonaws.com");
        let mut k = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", b"20130524");
        for part in ["us-east-1", "s3", "aws4_request"] {
            k = hmac(&k, part.as_bytes());
        }
        // The signing key of that example.
        assert_eq!(
            hex(&k),
            "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
        );
    }

    #[test]
    fn a_folder_lake_keeps_a_file_once() {
        let dir = std::env::temp_dir().join(format!("haven-objects-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let settings = Settings {
            catalog: dir.display().to_string(),
            data: dir.display().to_string(),
            s3: S3::default(),
            extensions: dir.clone(),
        };
        let key = release_key("BE1", 1, "manifest.json").unwrap();
        assert_eq!(put_immutable(&settings, &key, b"a").unwrap(), Put::Written);
        assert_eq!(put_immutable(&settings, &key, b"a").unwrap(), Put::Same);
        let e = put_immutable(&settings, &key, b"b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("never replaced"), "{e}");
        assert_eq!(get(&settings, &key).unwrap().unwrap(), b"a");
        assert!(release_key("BE1", 1, "../x").is_err());
        assert!(release_key("BE1", 1, ".hidden").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
