//! URL handling on top of the `url` crate (URL confusion is a security class; we do not split
//! URLs by hand).

use crate::error::{Error, ErrorKind, Result};

/// The schemes curlew speaks.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
    /// `ws://` (WebSocket over plain TCP)
    Ws,
    /// `wss://` (WebSocket over TLS)
    Wss,
}

impl Scheme {
    /// True for `https` and `wss`.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Wss)
    }
    /// True for `ws` and `wss`.
    pub fn is_ws(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }
    /// The scheme's name in lowercase, as in URLs (`"https"`).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
        }
    }
    /// The default port of the scheme.
    pub fn default_port(self) -> u16 {
        if self.is_tls() {
            443
        } else {
            80
        }
    }
}

/// A parsed, validated target URL.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) url: url::Url,
    pub(crate) scheme: Scheme,
    /// Host as used for DNS and SNI (IPv6 literals without brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The value of the `Host` header (with port when non-default, brackets for IPv6).
    pub(crate) host_header: String,
    /// origin-form request target: path and query.
    pub(crate) request_target: String,
}

impl Target {
    pub(crate) fn parse(s: &str) -> Result<Target> {
        let url = url::Url::parse(s)
            .map_err(|e| Error::new(ErrorKind::UrlMalformat, format!("{s:?}: {e}")))?;
        Self::from_url(url)
    }

    pub(crate) fn from_url(url: url::Url) -> Result<Target> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "ws" => Scheme::Ws,
            "wss" => Scheme::Wss,
            other => {
                return Err(Error::new(
                    ErrorKind::UnsupportedProtocol,
                    format!("scheme {other:?} is not supported"),
                ))
            }
        };
        let (host, bracketed) = match url.host() {
            Some(url::Host::Domain(d)) => (d.to_string(), d.to_string()),
            Some(url::Host::Ipv4(a)) => (a.to_string(), a.to_string()),
            Some(url::Host::Ipv6(a)) => (a.to_string(), format!("[{a}]")),
            None => return Err(Error::new(ErrorKind::UrlMalformat, "URL has no host")),
        };
        if host.is_empty() {
            return Err(Error::new(ErrorKind::UrlMalformat, "URL has an empty host"));
        }
        let port = url.port().unwrap_or(scheme.default_port());
        let host_header = if port == scheme.default_port() {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let mut request_target = url.path().to_string();
        if request_target.is_empty() {
            request_target.push('/');
        }
        if let Some(q) = url.query() {
            request_target.push('?');
            request_target.push_str(q);
        }
        // The url crate percent-encodes what a request line cannot carry; checked once here so
        // that requests need not check again.
        let visible = crate::proto::http1::request::is_visible;
        if !visible(&request_target) || !visible(&host_header) || host_header.is_empty() {
            return Err(Error::new(
                ErrorKind::UrlMalformat,
                "URL with a space or control byte in its host or path",
            ));
        }
        Ok(Target {
            url,
            scheme,
            host,
            port,
            host_header,
            request_target,
        })
    }

    /// Resolve a `Location` value against this URL.
    pub(crate) fn join(&self, location: &str) -> Result<Target> {
        let next = self.url.join(location).map_err(|e| {
            Error::new(
                ErrorKind::WeirdServerReply,
                format!("bad Location {location:?}: {e}"),
            )
        })?;
        Self::from_url(next)
    }

    /// Same scheme, host and port: credentials may follow a redirect only then.
    pub(crate) fn same_origin(&self, other: &Target) -> bool {
        self.scheme.is_tls() == other.scheme.is_tls()
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_and_ports() {
        let t = Target::parse("http://Example.com/a?b=c").unwrap();
        assert_eq!(t.host, "example.com");
        assert_eq!(t.port, 80);
        assert_eq!(t.host_header, "example.com");
        assert_eq!(t.request_target, "/a?b=c");
        let t = Target::parse("wss://[::1]:8443").unwrap();
        assert_eq!(t.scheme, Scheme::Wss);
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header, "[::1]:8443");
        assert_eq!(t.request_target, "/");
        let e = Target::parse("ftp://x/").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedProtocol);
        let e = Target::parse("not a url").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UrlMalformat);
    }

    #[test]
    fn join_and_origin() {
        let t = Target::parse("http://a.test:8080/x/y").unwrap();
        let r = t.join("../z").unwrap();
        assert_eq!(r.url.as_str(), "http://a.test:8080/z");
        assert!(t.same_origin(&r));
        let o = t.join("http://b.test:8080/").unwrap();
        assert!(!t.same_origin(&o));
    }
}
