//! Name overrides, curl's `CURLOPT_RESOLVE` and `CURLOPT_CONNECT_TO`: where a connection goes
//! instead of where the URL's name resolves. The TLS name and the `Host` header stay the
//! URL's; only the addresses connected to change.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

/// One `CURLOPT_RESOLVE` entry: `host:port` resolves to these addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resolve {
    host: String,
    port: u16,
    addrs: Arc<[SocketAddr]>,
}

/// One `CURLOPT_CONNECT_TO` entry: a request for `host:port` (`None`: any) connects to
/// `to_host:to_port` (`None`: the request's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ConnectTo {
    host: Option<String>,
    port: Option<u16>,
    to_host: Option<String>,
    to_port: Option<u16>,
}

fn bad(entry: &str, why: &str) -> Error {
    Error::new(ErrorKind::BadFunctionArgument, format!("{entry:?}: {why}"))
}

/// Split `s` at its first `:` outside brackets: `[::1]:80` → (`[::1]`, `80`).
fn split_field(s: &str) -> Option<(&str, &str)> {
    let end = match s.starts_with('[') {
        true => s.find(']')? + 1,
        false => 0,
    };
    let colon = end + s[end..].find(':')?;
    Some((&s[..colon], &s[colon + 1..]))
}

fn host_of(field: &str) -> String {
    field
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(field)
        .to_ascii_lowercase()
}

fn port_of(entry: &str, field: &str) -> Result<u16> {
    field.parse().map_err(|_| bad(entry, "not a port number"))
}

/// Parse `CURLOPT_RESOLVE` entries: `host:port:addr[,addr]...` (a leading `+` is accepted
/// and ignored; `-host:port` removes the entries for that name given before it).
pub(crate) fn parse_resolve(entries: &[&str]) -> Result<Vec<Resolve>> {
    let mut out: Vec<Resolve> = Vec::new();
    for &entry in entries {
        if let Some(rest) = entry.strip_prefix('-') {
            let (h, p) = split_field(rest).ok_or_else(|| bad(entry, "expected -HOST:PORT"))?;
            let (host, port) = (host_of(h), port_of(entry, p)?);
            out.retain(|r| !(r.host == host && r.port == port));
            continue;
        }
        let e = entry.strip_prefix('+').unwrap_or(entry);
        let (h, rest) = split_field(e).ok_or_else(|| bad(entry, "expected HOST:PORT:ADDR"))?;
        let (p, list) = split_field(rest).ok_or_else(|| bad(entry, "expected HOST:PORT:ADDR"))?;
        let port = port_of(entry, p)?;
        let addrs = list
            .split(',')
            .map(|a| {
                host_of(a.trim())
                    .parse::<IpAddr>()
                    .map(|ip| SocketAddr::new(ip, port))
                    .map_err(|_| bad(entry, "not an IP address"))
            })
            .collect::<Result<Vec<_>>>()?;
        if h.is_empty() || addrs.is_empty() {
            return Err(bad(entry, "expected HOST:PORT:ADDR"));
        }
        out.push(Resolve {
            host: host_of(h),
            port,
            addrs: addrs.into(),
        });
    }
    Ok(out)
}

/// Parse `CURLOPT_CONNECT_TO` entries: `HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT`, any
/// field empty (an empty HOST or PORT matches any; an empty target field keeps the
/// request's).
pub(crate) fn parse_connect_to(entries: &[&str]) -> Result<Vec<ConnectTo>> {
    entries
        .iter()
        .map(|&entry| {
            let shape = || bad(entry, "expected HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT");
            let (h, rest) = split_field(entry).ok_or_else(shape)?;
            let (p, rest) = split_field(rest).ok_or_else(shape)?;
            let (th, tp) = split_field(rest).ok_or_else(shape)?;
            let port = |f: &str| match f {
                "" => Ok(None),
                f => port_of(entry, f).map(Some),
            };
            let host = |f: &str| (!f.is_empty()).then(|| host_of(f));
            Ok(ConnectTo {
                host: host(h),
                port: port(p)?,
                to_host: host(th),
                to_port: port(tp)?,
            })
        })
        .collect()
}

/// The addresses `host:port` resolves to by the first matching entry.
pub(crate) fn resolve_override(
    list: &[Resolve],
    host: &str,
    port: u16,
) -> Option<Arc<[SocketAddr]>> {
    list.iter()
        .find(|r| r.port == port && r.host.eq_ignore_ascii_case(host))
        .map(|r| r.addrs.clone())
}

/// Where a request for `host:port` connects, by the first matching entry (`None`: no entry
/// matches, connect to `host:port`).
pub(crate) fn connect_to(list: &[ConnectTo], host: &str, port: u16) -> Option<(String, u16)> {
    let e = list.iter().find(|c| {
        c.host
            .as_deref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host))
            && c.port.is_none_or(|p| p == port)
    })?;
    Some((
        e.to_host
            .clone()
            .unwrap_or_else(|| host.to_ascii_lowercase()),
        e.to_port.unwrap_or(port),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_parse_and_match() {
        let l = parse_resolve(&[
            "example.com:443:10.0.0.1,[::1]",
            "+Other.test:80:127.0.0.2",
            "gone.test:80:127.0.0.3",
            "-gone.test:80",
            "[::1]:8080:127.0.0.4",
        ])
        .unwrap();
        let a = resolve_override(&l, "EXAMPLE.com", 443).unwrap();
        assert_eq!(a[0], "10.0.0.1:443".parse().unwrap());
        assert_eq!(a[1], "[::1]:443".parse().unwrap());
        assert!(
            resolve_override(&l, "example.com", 80).is_none(),
            "the port counts"
        );
        assert!(resolve_override(&l, "other.test", 80).is_some());
        assert!(
            resolve_override(&l, "gone.test", 80).is_none(),
            "removed by -"
        );
        assert!(resolve_override(&l, "::1", 8080).is_some());
        for bad in [
            "nohost",
            "h:80",
            "h:x:1.2.3.4",
            "h:80:not-an-ip",
            ":80:1.2.3.4",
        ] {
            let e = parse_resolve(&[bad]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BadFunctionArgument, "{bad}");
        }
    }

    #[test]
    fn connect_to_entries_match_with_empty_fields_as_wildcards() {
        let l = parse_connect_to(&[
            "example.com:443:backend.test:8443",
            ":80:127.0.0.1:",
            "::[::1]:9000",
        ])
        .unwrap();
        assert_eq!(
            connect_to(&l, "Example.com", 443),
            Some(("backend.test".into(), 8443))
        );
        assert_eq!(
            connect_to(&l, "any.test", 80),
            Some(("127.0.0.1".into(), 80))
        );
        assert_eq!(connect_to(&l, "x.test", 81), Some(("::1".into(), 9000)));
        assert!(parse_connect_to(&["a:1:b"]).is_err());
        assert!(parse_connect_to(&["a:x:b:1"]).is_err());
        assert_eq!(connect_to(&[], "h", 1), None);
    }
}
