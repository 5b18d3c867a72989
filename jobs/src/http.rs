//! A URL source as the jobs fetch it: redirects followed by hand, so the source's credential
//! header goes only to the origin it was configured for; and URLs as they may be shown or
//! stored, with their user info and query values left out (a signed URL or an `?apikey=` is a
//! secret).

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// `url` with its user info and the values of its query left out: `https://h/p?key=***`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (rest, fragment) = rest
        .split_once('#')
        .map_or((rest, None), |(r, f)| (r, Some(f)));
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, None), |(r, q)| (r, Some(q)));
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut out = if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    };
    if let Some(q) = query {
        let kept: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if !v.is_empty() => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if fragment.is_some() {
        out.push_str("#***");
    }
    out
}

/// The scheme, host and port of `url`, lower-cased, without user info: where a credential may
/// go.
pub fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    )
}

/// Where a redirect's `Location` points, from the URL that answered it.
pub fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let scheme = base.split_once("://").map_or("http", |(s, _)| s);
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    if location.starts_with('/') {
        return format!("{}{location}", origin(base));
    }
    let dir = base.split(['?', '#']).next().unwrap_or(base);
    let dir = match dir.rfind('/') {
        Some(i) if i > dir.find("://").map_or(0, |j| j + 2) => &dir[..=i],
        _ => return format!("{}/{location}", origin(base)),
    };
    format!("{dir}{location}")
}

/// GETs `url`, following redirects by hand: `headers` go with every request, `credential`
/// only to `url`'s own origin. An error says where, with the URL redacted.
pub fn get(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    credential: Option<(&str, &str)>,
) -> crate::Result<ureq::http::Response<ureq::Body>> {
    let home = origin(url);
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let mut req = agent.get(&current);
        for (h, v) in headers {
            req = req.header(*h, *v);
        }
        if let Some((h, v)) = credential
            && origin(&current) == home
        {
            req = req.header(h, v);
        }
        let res = req
            .call()
            .map_err(|e| crate::Error::Run(format!("{}: {e}", redact_url(&current))))?;
        if !matches!(res.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
            return Ok(res);
        }
        let Some(location) = res.headers().get("location").and_then(|v| v.to_str().ok()) else {
            return Ok(res);
        };
        current = resolve(&current, location);
        if !(current.starts_with("http://") || current.starts_with("https://")) {
            return Err(crate::Error::Run(format!(
                "{} redirects to {}, which is not http(s)",
                redact_url(url),
                redact_url(&current)
            )));
        }
    }
    Err(crate::Error::Run(format!(
        "{}: more than {MAX_REDIRECTS} redirects",
        redact_url(url)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_left_out_of_shown_urls() {
        assert_eq!(
            redact_url("https://user:pw@data.example.org/v1/export.csv?apikey=abc&format=csv&x"),
            "https://data.example.org/v1/export.csv?apikey=***&format=***&x"
        );
        assert_eq!(
            redact_url("http://example.org/a.csv"),
            "http://example.org/a.csv"
        );
        assert_eq!(
            redact_url("https://h/p?X-Amz-Signature=f00#t=1"),
            "https://h/p?X-Amz-Signature=***#***"
        );
    }

    #[test]
    fn redirects_resolve_and_origins_compare() {
        let base = "https://data.example.org/exports/today.csv?k=1";
        assert_eq!(
            resolve(base, "/v2/x.csv"),
            "https://data.example.org/v2/x.csv"
        );
        assert_eq!(
            resolve(base, "y.csv"),
            "https://data.example.org/exports/y.csv"
        );
        assert_eq!(
            resolve(base, "//cdn.example.net/z"),
            "https://cdn.example.net/z"
        );
        assert_eq!(resolve("http://h", "z"), "http://h/z");
        assert_eq!(origin(base), origin("https://DATA.example.org/other"));
        assert_ne!(origin(base), origin("http://data.example.org/exports"));
        assert_ne!(origin(base), origin("https://data.example.org:8443/"));
        assert_ne!(origin(base), origin("https://data.example.org.evil.net/"));
        assert_eq!(origin("https://u:p@h.org/x"), "https://h.org");
    }
}
