//! `NO_PROXY` / `CURLOPT_NOPROXY` matching, curl's rules (`lib/noproxy.c`): a list of names
//! separated by commas and blanks; `*` alone matches every host; a name matches itself and
//! its subdomains (a leading and a trailing dot are ignored, `example.com` does not match
//! `notexample.com`); for a host that is an IP address, an entry is an address or a CIDR
//! range (`192.168.0.0/16`, `::1/64`) and a name never matches. The port is not part of it:
//! `example.com` matches `example.com:8080` too.

use std::net::IpAddr;

/// Whether `host` (a name, an IPv4 address, or an IPv6 address with or without brackets) is
/// in `list`, so that no proxy is to be used for it.
pub fn noproxy_matches(host: &str, list: &str) -> bool {
    if host.is_empty() || list.is_empty() {
        return false;
    }
    if list == "*" {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip = bare.parse::<IpAddr>().ok();
    let name = bare.strip_suffix('.').unwrap_or(bare);
    list.split([',', ' ', '\t'])
        .filter(|t| !t.is_empty())
        .any(|token| match ip {
            Some(ip) => cidr_match(ip, token),
            None => name_match(name, token),
        })
}

/// A host name against one entry: equal, or a subdomain of it.
fn name_match(name: &str, token: &str) -> bool {
    let token = token.strip_suffix('.').unwrap_or(token);
    let token = token.strip_prefix('.').unwrap_or(token);
    if token.is_empty() || token.len() > name.len() {
        return false;
    }
    if token.len() == name.len() {
        return token.eq_ignore_ascii_case(name);
    }
    let cut = name.len() - token.len();
    name.as_bytes()[cut - 1] == b'.'
        && name
            .get(cut..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(token))
}

/// An address against an entry `addr` or `addr/bits` of the same family (bits 0 or absent:
/// the whole address).
fn cidr_match(ip: IpAddr, token: &str) -> bool {
    let (net, bits) = match token.split_once('/') {
        Some((n, b)) => match b.parse::<u32>() {
            Ok(b) => (n, b),
            Err(_) => return false,
        },
        None => (token, 0),
    };
    let net = net
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(net);
    match (ip, net.parse::<IpAddr>()) {
        (IpAddr::V4(a), Ok(IpAddr::V4(n))) => prefix_eq(&a.octets(), &n.octets(), bits),
        (IpAddr::V6(a), Ok(IpAddr::V6(n))) => prefix_eq(&a.octets(), &n.octets(), bits),
        _ => false,
    }
}

/// The first `bits` bits of `a` and `b` agree (0: all of them); more bits than the address
/// has never match.
fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let total = (a.len() * 8) as u32;
    let bits = match bits {
        0 => total,
        b if b > total => return false,
        b => b,
    };
    let whole = (bits / 8) as usize;
    let rest = bits % 8;
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) & (0xffu8 << (8 - rest)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// curl's own cases (tests/unit/unit1614.c), plus bracketless IPv6 and ports.
    #[test]
    fn curls_noproxy_cases() {
        let long = "localhost,127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.\
                    127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.1.127.0.0.";
        let cases: &[(&str, &str, bool)] = &[
            (
                "www.example.com",
                "localhost,.example.com,.example.de",
                true,
            ),
            (
                "www.example.com.",
                "localhost,.example.com,.example.de",
                true,
            ),
            ("example.com", "localhost,.example.com,.example.de", true),
            ("example.com.", "localhost,.example.com,.example.de", true),
            (
                "www.example.com",
                "localhost,.example.com.,.example.de",
                true,
            ),
            (
                "www.example.com",
                "localhost,www.example.com.,.example.de",
                true,
            ),
            ("example.com", "localhost,example.com,.example.de", true),
            ("example.com.", "localhost,example.com,.example.de", true),
            ("www.example.com", "localhost,example.com,.example.de", true),
            ("127.0.0.1", "127.0.0.1,localhost", true),
            ("127.0.0.1", "127.0.0.1,localhost,", true),
            ("127.0.0.1", "127.0.0.1/8,localhost,", true),
            ("127.0.0.1", "127.0.0.1/28,localhost,", true),
            ("127.0.0.1", "127.0.0.1/31,localhost,", true),
            ("127.0.0.1", "localhost,127.0.0.1", true),
            ("127.0.0.1", long, false),
            ("localhost", "localhost,127.0.0.1", true),
            ("localhost", "127.0.0.1,localhost", true),
            ("foobar", "barfoo", false),
            ("foobar", "foobar", true),
            ("192.168.0.1", "foobar", false),
            ("192.168.0.1", "192.168.0.0/16", true),
            ("192.168.0.1", "192.168.0.0/24", true),
            ("192.168.0.1", "192.168.0.0/32", false),
            ("192.168.0.1", "192.168.0.0", false),
            ("192.168.1.1", "192.168.0.0/24", false),
            ("192.168.1.1", "foo, bar, 192.168.0.0/24", false),
            ("192.168.1.1", "foo, bar, 192.168.0.0/16", true),
            ("[::1]", "foo, bar, 192.168.0.0/16", false),
            ("[::1]", "foo, bar, ::1/64", true),
            ("::1", "foo, bar, ::1/64", true),
            ("fe80::1", "fe80::/10", true),
            ("fec0::1", "fe80::/10", false),
            ("10.0.0.1", "10.0.0.1/33", false),
            ("bar", "foo, bar, ::1/64", true),
            ("BAr", "foo, bar, ::1/64", true),
            ("BAr", "foo,,,,,              bar, ::1/64", true),
            ("www.example.com", "foo, .example.com", true),
            ("www.example.com", "www2.example.com, .example.net", false),
            ("example.com", ".example.com, .example.net", true),
            ("nonexample.com", ".example.com, .example.net", false),
            ("anything.at.all", "*", true),
            ("example.com", "", false),
            ("example.com", ".", false),
        ];
        for (host, list, want) in cases {
            assert_eq!(noproxy_matches(host, list), *want, "{host} in {list:?}");
        }
    }
}
