//! Which proxy a transfer goes through, if any: the `Easy`'s proxy options, or, when asked
//! for, the environment by curl's rules; the proxy URL parsed into what the connection needs.
//!
//! The environment (curl's `detect_proxy`): `NO_PROXY`/`no_proxy` first (see
//! [`noproxy_matches`]); then `SCHEME_proxy` in lowercase, and in uppercase too except for
//! `http` (`HTTP_PROXY` is left alone: CGI programs get it from a request's `Proxy:` header);
//! then `all_proxy` / `ALL_PROXY`. The options win over the environment: a proxy option
//! replaces the `*_proxy` variables, a no-proxy option replaces `NO_PROXY`.

mod noproxy;

use std::sync::Arc;

pub use noproxy::noproxy_matches;

use crate::error::{Error, ErrorKind, Result};
use crate::url::Scheme;

/// Port of a proxy URL that names none (curl's default, for every kind but HTTPS).
pub const DEFAULT_PROXY_PORT: u16 = 1080;
/// Port of an `https://` proxy URL that names none.
pub const DEFAULT_HTTPS_PROXY_PORT: u16 = 443;

/// The kind of a proxy, from its URL's scheme (`CURLOPT_PROXYTYPE`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProxyKind {
    /// `http://`: plain HTTP requests in absolute form, a `CONNECT` tunnel for the others.
    Http,
    /// `https://`: as `Http`, over TLS to the proxy.
    Https,
    /// `socks4://`: SOCKS4, the target's address resolved here (IPv4 only).
    Socks4,
    /// `socks4a://`: SOCKS4a, the proxy resolves the target's name.
    Socks4a,
    /// `socks5://`: SOCKS5, the target's address resolved here.
    Socks5,
    /// `socks5h://`: SOCKS5, the proxy resolves the target's name.
    Socks5h,
}

impl ProxyKind {
    fn from_scheme(s: &str) -> Option<ProxyKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks4" => ProxyKind::Socks4,
            "socks4a" => ProxyKind::Socks4a,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            _ => return None,
        })
    }

    /// A SOCKS proxy of any version.
    pub fn is_socks(self) -> bool {
        !matches!(self, ProxyKind::Http | ProxyKind::Https)
    }

    /// The name as curl's messages use it.
    pub fn name(self) -> &'static str {
        match self {
            ProxyKind::Http => "HTTP",
            ProxyKind::Https => "HTTPS",
            ProxyKind::Socks4 => "SOCKS4",
            ProxyKind::Socks4a => "SOCKS4a",
            ProxyKind::Socks5 => "SOCKS5",
            ProxyKind::Socks5h => "SOCKS5h",
        }
    }
}

/// The proxy options of an `Easy` (libcurl's names in the setters' docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct ProxyOptions {
    /// `CURLOPT_PROXY`: `None` unset, `Some("")` no proxy (not even from the environment).
    pub(crate) url: Option<String>,
    /// `CURLOPT_PROXYUSERPWD`: overrides credentials in the URL.
    pub(crate) userpwd: Option<(String, String)>,
    /// `CURLOPT_HTTPPROXYTUNNEL`: tunnel plain HTTP too.
    pub(crate) tunnel: bool,
    /// `CURLOPT_NOPROXY`: overrides `NO_PROXY`.
    pub(crate) noproxy: Option<String>,
    /// Read the `*_proxy` variables (libcurl always does; the library only when asked).
    pub(crate) from_env: bool,
    /// `CURLOPT_PROXY_CAINFO`: the roots an HTTPS proxy's certificate is checked against
    /// (`None`: the system's).
    pub(crate) ca_file: Option<std::path::PathBuf>,
    /// `CURLOPT_PROXY_SSL_VERIFYPEER = 0`.
    pub(crate) insecure: bool,
    /// `CURLOPT_PROXYAUTH`: Basic (sent at once), Digest or either (sent in answer to the
    /// proxy's `407`).
    pub(crate) auth: crate::auth::HttpAuth,
}

/// A proxy to go through, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) kind: ProxyKind,
    /// Host name (IPv6 literals without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// User and password (from the option, else the URL's user info).
    pub(crate) creds: Option<(String, String)>,
    /// A CONNECT tunnel even for plain HTTP.
    pub(crate) tunnel_http: bool,
    /// Names this proxy in pool keys: kind, host, port, credentials and the tunnel choice.
    pub(crate) id: u64,
}

impl Proxy {
    /// Parse a proxy URL (`[scheme://][user[:password]@]host[:port]`, scheme `http` when
    /// none is given), with `userpwd` taking the place of the URL's credentials.
    pub(crate) fn parse(
        s: &str,
        userpwd: Option<&(String, String)>,
        tunnel_http: bool,
    ) -> Result<Proxy> {
        let full = match s.contains("://") {
            true => s.to_owned(),
            false => format!("http://{s}"),
        };
        let bad = |why: &str| Error::new(ErrorKind::UrlMalformat, format!("proxy {s:?}: {why}"));
        let scheme = full.split("://").next().unwrap_or_default();
        let kind = ProxyKind::from_scheme(scheme).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedProtocol,
                format!("unsupported proxy scheme {scheme:?} in {s:?}"),
            )
        })?;
        // The url crate gives special schemes only their own default port; parse as http
        // with the scheme swapped so host, port and user info parse the same way for all.
        let rest = &full[scheme.len()..];
        let url = url::Url::parse(&format!("http{rest}")).map_err(|e| bad(&e.to_string()))?;
        let host = match url.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => return Err(bad("no host")),
        };
        let port = url.port().unwrap_or(match kind {
            ProxyKind::Https => DEFAULT_HTTPS_PROXY_PORT,
            _ => DEFAULT_PROXY_PORT,
        });
        let port = if url.port().is_none() && has_explicit_80(rest) {
            80
        } else {
            port
        };
        let decode = |p: &str| {
            percent_decode(p).ok_or_else(|| bad("user info is not valid percent-encoded UTF-8"))
        };
        let creds = match userpwd {
            Some(c) => Some(c.clone()),
            None if !url.username().is_empty() => Some((
                decode(url.username())?,
                decode(url.password().unwrap_or(""))?,
            )),
            None => None,
        };
        let mut p = Proxy {
            kind,
            host,
            port,
            creds,
            tunnel_http,
            id: 0,
        };
        p.id = p.hash();
        Ok(p)
    }

    fn hash(&self) -> u64 {
        use std::hash::{Hash as _, Hasher as _};
        let mut h = std::hash::DefaultHasher::new();
        (
            self.kind,
            &self.host,
            self.port,
            &self.creds,
            self.tunnel_http,
        )
            .hash(&mut h);
        // Never 0: that is "no proxy" in pool keys.
        h.finish() | 1
    }

    /// Whether a request for `scheme` goes through a tunnel (CONNECT or SOCKS) rather than
    /// to an HTTP proxy in absolute form.
    pub(crate) fn tunnels(&self, scheme: Scheme) -> bool {
        self.kind.is_socks() || self.tunnel_http || scheme != Scheme::Http
    }

    /// `host:port` for messages and the CONNECT line (IPv6 in brackets).
    pub(crate) fn authority(host: &str, port: u16) -> String {
        match host.contains(':') {
            true => format!("[{host}]:{port}"),
            false => format!("{host}:{port}"),
        }
    }

    /// The `Proxy-Authorization` value for Basic (RFC 7617), if credentials are set.
    pub(crate) fn basic_auth(&self) -> Option<String> {
        use base64::Engine as _;
        let (u, p) = self.creds.as_ref()?;
        let raw = format!("{u}:{p}");
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// `http://h:80` keeps its port as explicit in curl's eyes, but the url crate drops a port
/// equal to the scheme's default; tell them apart.
fn has_explicit_80(rest: &str) -> bool {
    let authority = rest
        .trim_start_matches("://")
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    hostport.ends_with(":80")
}

/// `%XX` escapes decoded; `None` if one is malformed or the result is not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The proxy URL for a request to `scheme://host`, from the options and, if they allow it,
/// the environment (`env` looks a variable up); `None`: go direct.
pub(crate) fn proxy_url_for(
    opts: &ProxyOptions,
    scheme: Scheme,
    host: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let noproxy = match &opts.noproxy {
        Some(list) => Some(list.clone()),
        None if opts.from_env => env("no_proxy").or_else(|| env("NO_PROXY")),
        None => None,
    };
    if noproxy.is_some_and(|list| noproxy_matches(host, &list)) {
        return None;
    }
    let url = match &opts.url {
        Some(u) => Some(u.clone()),
        None if opts.from_env => {
            let lower = format!("{}_proxy", scheme.name());
            env(&lower)
                .or_else(|| match scheme {
                    Scheme::Http => None,
                    _ => env(&lower.to_ascii_uppercase()),
                })
                .or_else(|| env("all_proxy"))
                .or_else(|| env("ALL_PROXY"))
        }
        None => None,
    };
    url.filter(|u| !u.is_empty())
}

/// The proxy for a request to `scheme://host` (see [`proxy_url_for`]), parsed.
pub(crate) fn proxy_for(
    opts: &ProxyOptions,
    scheme: Scheme,
    host: &str,
) -> Result<Option<Arc<Proxy>>> {
    if opts.url.as_deref() == Some("") || (opts.url.is_none() && !opts.from_env) {
        return Ok(None);
    }
    let Some(url) = proxy_url_for(opts, scheme, host, |k| std::env::var(k).ok()) else {
        return Ok(None);
    };
    Proxy::parse(&url, opts.userpwd.as_ref(), opts.tunnel).map(|p| Some(Arc::new(p)))
}

#[cfg(test)]
mod tests;
