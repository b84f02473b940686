//! The cookie engine (RFC 6265 and the parts of RFC 6265bis curl follows): one [`CookieJar`]
//! per [`Multi`](crate::Multi), shared by the transfers that turn cookies on (like a libcurl
//! share with `CURL_LOCK_DATA_COOKIE`).
//!
//! What it does, as curl does it:
//! - `Set-Cookie` from every response head is stored before a redirect is followed, so the
//!   next hop sends it.
//! - Domain and path matching (§5.1.3, §5.1.4); host-only cookies; `Domain` on a public suffix
//!   is refused unless it is the host itself (the list comes from the `psl` crate).
//! - `Secure` is set and sent only from and to a secure origin (https, wss, or the loopback
//!   names curl counts as secure); a plain-HTTP response cannot shadow a secure cookie;
//!   the `__Secure-` and `__Host-` prefixes are enforced.
//! - `Expires` and `Max-Age` (which wins), capped at 400 days; `HttpOnly` and `SameSite` kept.
//! - Netscape cookie files as curl reads and writes them ([`netscape`]).
//!
//! Every limit is in [`CookieLimits`]: a line's length, a cookie's size, cookies per domain and
//! in all, cookies and bytes sent per request, `Set-Cookie` lines taken per response.
//! Expiry is judged against the wall clock, passed in as seconds since the Unix epoch.

pub mod netscape;
mod parse;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub(crate) use parse::Reject;

/// Longest `Set-Cookie` value or cookie-file line taken (curl's `MAX_COOKIE_LINE`).
pub const MAX_COOKIE_LINE: usize = 5000;
/// Largest name plus value of one cookie (curl's `MAX_NAME`).
pub const MAX_COOKIE_NAME_VALUE: usize = 4096;
/// Most cookies kept for one domain; a new one evicts the oldest (browsers keep 150-180).
pub const MAX_COOKIES_PER_DOMAIN: usize = 180;
/// Most cookies in a jar; past it new cookies are dropped after the expired ones are purged.
pub const MAX_COOKIES: usize = 10_000;
/// Most cookies sent in one request (curl's `MAX_COOKIE_SEND_AMOUNT`).
pub const MAX_COOKIES_SENT: usize = 150;
/// Longest `Cookie` header value sent (curl's `MAX_COOKIE_HEADER_LEN`).
pub const MAX_COOKIE_HEADER: usize = 8190;
/// Most `Set-Cookie` lines taken from one response (curl's `MAX_SET_COOKIE_AMOUNT`).
pub const MAX_SET_COOKIES_PER_RESPONSE: usize = 50;
/// Largest cookie file read.
pub const MAX_COOKIE_FILE: u64 = 64 << 20;
/// Longest lifetime a cookie is given, in seconds (RFC 6265bis §5.5: 400 days; curl too).
pub const COOKIE_MAX_AGE_CAP: u64 = 400 * 86_400;

/// The jar's limits; [`Default`] is the constants above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieLimits {
    /// [`MAX_COOKIE_LINE`].
    pub line: usize,
    /// [`MAX_COOKIE_NAME_VALUE`].
    pub name_value: usize,
    /// [`MAX_COOKIES_PER_DOMAIN`].
    pub per_domain: usize,
    /// [`MAX_COOKIES`].
    pub total: usize,
    /// [`MAX_COOKIES_SENT`].
    pub sent: usize,
    /// [`MAX_COOKIE_HEADER`].
    pub header: usize,
    /// [`MAX_SET_COOKIES_PER_RESPONSE`].
    pub per_response: usize,
    /// [`MAX_COOKIE_FILE`].
    pub file_bytes: u64,
}

impl Default for CookieLimits {
    fn default() -> Self {
        CookieLimits {
            line: MAX_COOKIE_LINE,
            name_value: MAX_COOKIE_NAME_VALUE,
            per_domain: MAX_COOKIES_PER_DOMAIN,
            total: MAX_COOKIES,
            sent: MAX_COOKIES_SENT,
            header: MAX_COOKIE_HEADER,
            per_response: MAX_SET_COOKIES_PER_RESPONSE,
            file_bytes: MAX_COOKIE_FILE,
        }
    }
}

/// A cookie's `SameSite` attribute (kept and listed; a client that is not a browser has no
/// site to compare, so it changes nothing that is sent, as in curl).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None`.
    None,
}

impl SameSite {
    fn parse(v: &str) -> Option<SameSite> {
        [
            ("strict", SameSite::Strict),
            ("lax", SameSite::Lax),
            ("none", SameSite::None),
        ]
        .into_iter()
        .find(|(n, _)| v.eq_ignore_ascii_case(n))
        .map(|(_, s)| s)
    }
}

/// One stored cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cookie {
    /// The name.
    pub name: String,
    /// The value, as the server sent it (quotes kept).
    pub value: String,
    /// The domain, lowercase, without a leading dot.
    pub domain: String,
    /// Sent to subdomains too (a `Domain` attribute was given); `false` is a host-only cookie.
    pub include_subdomains: bool,
    /// The path.
    pub path: String,
    /// Sent only over a secure origin.
    pub secure: bool,
    /// `HttpOnly` (kept, written as `#HttpOnly_` in a cookie file).
    pub http_only: bool,
    /// When it expires, in seconds since the Unix epoch; `None` for a session cookie.
    pub expires: Option<u64>,
    /// `SameSite`, if given.
    pub same_site: Option<SameSite>,
    /// Order of creation (a replaced cookie keeps its place, RFC 6265 §5.3 step 11.3).
    created: u64,
}

impl Cookie {
    fn expired(&self, now: u64) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    fn same_key(&self, other: &Cookie) -> bool {
        self.name == other.name
            && self.domain == other.domain
            && self.include_subdomains == other.include_subdomains
            && self.path == other.path
    }

    /// Sent with a request to `host` and `path` (§5.4 step 1).
    fn matches(&self, host: &str, path: &str, secure: bool) -> bool {
        (secure || !self.secure)
            && (self.include_subdomains || host == self.domain)
            && path_match(path, &self.path)
    }
}

/// Where a response came from, as the engine judges it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'a> {
    /// The host, lowercase (an IPv6 address without brackets).
    pub(crate) host: &'a str,
    /// The request's path, without the query.
    pub(crate) path: &'a str,
    /// A secure origin: https or wss, or a loopback name (curl's `Curl_secure_context`).
    pub(crate) secure: bool,
}

impl<'a> Origin<'a> {
    /// The origin of `url` (`None` for a URL without a host).
    pub(crate) fn of(url: &'a url::Url) -> Option<Origin<'a>> {
        let host = url.host_str()?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let secure = matches!(url.scheme(), "https" | "wss")
            || matches!(host, "localhost" | "127.0.0.1" | "::1");
        Some(Origin {
            host,
            path: url.path(),
            secure,
        })
    }
}

/// Why a cookie was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieError {
    /// Not a cookie: no `=`, an empty name, or a control character.
    Malformed,
    /// Longer than [`CookieLimits::line`] or [`CookieLimits::name_value`].
    TooLong,
    /// `Domain` does not cover the host, or is a public suffix.
    Domain,
    /// `Secure` (or a `__Secure-`/`__Host-` name) from an origin that is not secure, a
    /// `__Host-` cookie with a `Domain` or a path other than `/`, or a plain-HTTP cookie
    /// that would shadow a secure one.
    Insecure,
    /// The jar holds [`CookieLimits::total`] cookies, none expired.
    Full,
}

impl std::fmt::Display for CookieError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CookieError::Malformed => "malformed cookie",
            CookieError::TooLong => "cookie too long",
            CookieError::Domain => "cookie domain not allowed for this host",
            CookieError::Insecure => "secure cookie rules not met",
            CookieError::Full => "cookie jar full",
        })
    }
}

impl std::error::Error for CookieError {}

impl From<Reject> for CookieError {
    fn from(_: Reject) -> Self {
        CookieError::Malformed
    }
}

/// The cookie engine; see the [module docs](self).
#[derive(Debug, Default)]
pub struct CookieJar {
    by_domain: HashMap<String, Vec<Cookie>>,
    count: usize,
    seq: u64,
    limits: CookieLimits,
    /// Cookie files already read into this jar (each is read once, at its first transfer).
    loaded: HashSet<PathBuf>,
}

/// Seconds since the Unix epoch, from the system clock.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl CookieJar {
    /// An empty jar with the default limits.
    pub fn new() -> CookieJar {
        CookieJar::default()
    }

    /// The limits in force.
    pub fn limits(&self) -> CookieLimits {
        self.limits
    }

    /// Change the limits; cookies already stored stay.
    pub fn set_limits(&mut self, limits: CookieLimits) {
        self.limits = limits;
    }

    /// How many cookies are stored (expired ones included until they are purged).
    pub fn len(&self) -> usize {
        self.count
    }

    /// No cookie stored.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every stored cookie, in order of creation.
    pub fn cookies(&self) -> Vec<&Cookie> {
        let mut v: Vec<&Cookie> = self.by_domain.values().flatten().collect();
        v.sort_by_key(|c| c.created);
        v
    }

    /// Forget every cookie (curl's `CURLOPT_COOKIELIST` `"ALL"`).
    pub fn clear(&mut self) {
        self.by_domain.clear();
        self.count = 0;
    }

    /// Forget the session cookies (`"SESS"`).
    pub fn clear_session(&mut self) {
        self.retain(|c| c.expires.is_some());
    }

    /// Drop the cookies expired at `now` (seconds since the Unix epoch).
    pub fn purge_expired(&mut self, now: u64) {
        self.retain(|c| !c.expired(now));
    }

    fn retain(&mut self, keep: impl Fn(&Cookie) -> bool) {
        self.by_domain.retain(|_, v| {
            v.retain(&keep);
            !v.is_empty()
        });
        self.count = self.by_domain.values().map(Vec::len).sum();
    }

    /// Store a `Set-Cookie` value received from `url` now, by the rules of the
    /// [module docs](self).
    pub fn set_cookie(&mut self, url: &str, line: &str) -> Result<(), CookieError> {
        let url = url::Url::parse(url).map_err(|_| CookieError::Domain)?;
        let origin = Origin::of(&url).ok_or(CookieError::Domain)?;
        self.store(&origin, line, unix_now())
    }

    /// The `Cookie` header value for a request to `url` now, if any cookie matches.
    pub fn cookie_header(&mut self, url: &str) -> Option<String> {
        let url = url::Url::parse(url).ok()?;
        let origin = Origin::of(&url)?;
        let mut out = String::new();
        self.header(&origin, unix_now(), &mut out);
        (!out.is_empty()).then_some(out)
    }

    /// Store one `Set-Cookie` value from `o` at `now`.
    pub(crate) fn store(
        &mut self,
        o: &Origin<'_>,
        line: &str,
        now: u64,
    ) -> Result<(), CookieError> {
        if line.len() > self.limits.line {
            return Err(CookieError::TooLong);
        }
        let sc = parse::set_cookie(line)?;
        if sc.name.len() + sc.value.len() > self.limits.name_value {
            return Err(CookieError::TooLong);
        }
        let (domain, include_subdomains) = cookie_domain(o.host, sc.domain.as_deref())?;
        check_secure(o, &sc)?;
        let path = match sc.path {
            Some(p) => p.to_string(),
            None => default_path(o.path).to_string(),
        };
        let cookie = Cookie {
            name: sc.name.to_string(),
            value: sc.value.to_string(),
            domain,
            include_subdomains,
            path,
            secure: sc.secure,
            http_only: sc.http_only,
            expires: expiry(sc.max_age, sc.expires, now),
            same_site: sc.same_site,
            created: 0,
        };
        if !o.secure && self.shadows_secure(&cookie) {
            return Err(CookieError::Insecure);
        }
        self.insert_at(cookie, now)
    }

    /// A plain-HTTP cookie whose name is that of a secure cookie it could be confused with
    /// (RFC 6265bis §5.7 step 16).
    fn shadows_secure(&self, new: &Cookie) -> bool {
        self.by_domain.values().flatten().any(|c| {
            c.secure
                && c.name == new.name
                && (domain_match(&new.domain, &c.domain) || domain_match(&c.domain, &new.domain))
                && path_match(&new.path, &c.path)
        })
    }

    /// Add `cookie` (a replacement keeps the old one's place; an expired one deletes it).
    pub fn insert(&mut self, cookie: Cookie) -> Result<(), CookieError> {
        self.insert_at(cookie, unix_now())
    }

    fn insert_at(&mut self, mut cookie: Cookie, now: u64) -> Result<(), CookieError> {
        let expired = cookie.expired(now);
        let list = self.by_domain.entry(cookie.domain.clone()).or_default();
        if let Some(i) = list.iter().position(|c| c.same_key(&cookie)) {
            if expired {
                list.remove(i);
                self.count -= 1;
            } else {
                cookie.created = list[i].created;
                list[i] = cookie;
            }
            return Ok(());
        }
        if expired {
            return Ok(());
        }
        if list.len() >= self.limits.per_domain {
            // The oldest of the domain makes room (lists are in order of creation).
            list.remove(0);
            self.count -= 1;
        }
        if self.count >= self.limits.total {
            self.purge_expired(now);
            if self.count >= self.limits.total {
                return Err(CookieError::Full);
            }
        }
        self.seq += 1;
        cookie.created = self.seq;
        self.by_domain
            .entry(cookie.domain.clone())
            .or_default()
            .push(cookie);
        self.count += 1;
        Ok(())
    }

    /// The `Cookie` header value for a request from `o` at `now` into `out` (empty when
    /// nothing matches): longer paths first, then older cookies (§5.4 step 2), at most
    /// [`CookieLimits::sent`] cookies and [`CookieLimits::header`] bytes.
    pub(crate) fn header(&mut self, o: &Origin<'_>, now: u64, out: &mut String) {
        let mut found: Vec<&Cookie> = Vec::new();
        let mut expired = false;
        let ip = o.host.parse::<IpAddr>().is_ok();
        for domain in host_domains(o.host, ip) {
            for c in self.by_domain.get(domain).into_iter().flatten() {
                if c.expired(now) {
                    expired = true;
                } else if c.matches(o.host, o.path, o.secure) {
                    found.push(c);
                }
            }
        }
        found.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
        });
        for c in found.into_iter().take(self.limits.sent) {
            let extra = c.name.len() + c.value.len() + if out.is_empty() { 1 } else { 3 };
            if out.len() + extra > self.limits.header {
                break;
            }
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(&c.name);
            out.push('=');
            out.push_str(&c.value);
        }
        if expired {
            self.purge_expired(now);
        }
    }

    /// Read a cookie file into the jar unless this jar has read it already; `"-"` is stdin
    /// (read every time). A missing file is no cookies, as in curl.
    pub(crate) fn load_once(&mut self, path: &Path, keep_session: bool) -> std::io::Result<()> {
        if path.as_os_str().is_empty()
            || (path != Path::new("-") && !self.loaded.insert(path.into()))
        {
            return Ok(());
        }
        match self.load_file(path, keep_session) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r.map(drop),
        }
    }
}

/// The domain a cookie is stored under and whether it covers subdomains (§5.3 steps 4-6).
fn cookie_domain(host: &str, attr: Option<&str>) -> Result<(String, bool), CookieError> {
    let Some(d) = attr else {
        return Ok((host.to_string(), false));
    };
    if d == host {
        // An IP address or a public suffix may name itself: a host-only cookie then.
        let host_only = host.parse::<IpAddr>().is_ok() || is_public_suffix(d);
        return Ok((host.to_string(), !host_only));
    }
    if host.parse::<IpAddr>().is_ok() || is_public_suffix(d) || !domain_match(host, d) {
        return Err(CookieError::Domain);
    }
    Ok((d.to_string(), true))
}

/// The rules of `Secure` and the name prefixes (RFC 6265bis §5.7 steps 13-15, 20-21).
fn check_secure(o: &Origin<'_>, sc: &parse::SetCookie<'_>) -> Result<(), CookieError> {
    let prefixed = sc.name.starts_with("__Secure-") || sc.name.starts_with("__Host-");
    if (sc.secure || prefixed) && !(o.secure && sc.secure) {
        return Err(CookieError::Insecure);
    }
    if sc.name.starts_with("__Host-") && (sc.domain.is_some() || sc.path != Some("/")) {
        return Err(CookieError::Insecure);
    }
    Ok(())
}

/// A known public suffix (from the list; an unknown TLD is not one, as libpsl's cookie check).
fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes() == domain.as_bytes())
}

/// When a cookie expires: `Max-Age` wins over `Expires` (§5.3 step 3); both capped at
/// [`COOKIE_MAX_AGE_CAP`]; a time at or before `now` is "expired" (0).
fn expiry(max_age: Option<i64>, expires: Option<i64>, now: u64) -> Option<u64> {
    let cap = now.saturating_add(COOKIE_MAX_AGE_CAP);
    match (max_age, expires) {
        (Some(a), _) if a <= 0 => Some(0),
        (Some(a), _) => Some(now.saturating_add(a as u64).min(cap)),
        (None, Some(t)) if t <= now as i64 => Some(0),
        (None, Some(t)) => Some((t as u64).min(cap)),
        (None, None) => None,
    }
}

/// `host` domain-matches `domain` (§5.1.3).
fn domain_match(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host.parse::<IpAddr>().is_err())
}

/// `host` and each of its parent domains (only `host` itself for an IP address).
fn host_domains(host: &str, ip: bool) -> impl Iterator<Item = &str> {
    let parents = host
        .match_indices('.')
        .map(move |(i, _)| &host[i + 1..])
        .filter(move |_| !ip);
    std::iter::once(host).chain(parents)
}

/// The default path of a cookie from a request to `path` (§5.1.4).
fn default_path(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// `request` path-matches `cookie` (§5.1.4).
fn path_match(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request.as_bytes()[cookie.len()] == b'/'))
}

#[cfg(test)]
mod tests;
