//! HTTP Digest authentication (RFC 7616): the server's challenge parsed, the answer
//! computed for MD5, SHA-256 and their `-sess` forms, with `qop=auth` when offered.

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// A `WWW-Authenticate: Digest ...` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: String,
    qop_auth: bool,
}

/// The `name=value` pairs of a challenge (values quoted or tokens).
fn params(mut rest: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some((name, after)) = rest.split_once('=') else {
            return out;
        };
        let after = after.trim_start();
        let (value, next) = match after.strip_prefix('"') {
            Some(q) => {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let mut end = q.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                v.push(e);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                (v, &q[end.min(q.len())..])
            }
            None => {
                let (v, n) = after.split_once(',').unwrap_or((after, ""));
                (v.trim().to_owned(), n)
            }
        };
        out.push((name.trim().to_ascii_lowercase(), value));
        rest = next;
    }
}

impl Challenge {
    /// The Digest challenge among `WWW-Authenticate` values, if one is there with a nonce
    /// and an algorithm we compute.
    pub(crate) fn find<'a>(values: impl Iterator<Item = &'a [u8]>) -> Option<Challenge> {
        values
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| {
                let v = v.trim();
                let rest = v
                    .get(..7)
                    .filter(|s| s.eq_ignore_ascii_case("digest "))
                    .map(|_| &v[7..])?;
                let p = params(rest);
                let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
                let algorithm = get("algorithm").unwrap_or_else(|| "MD5".into());
                let known = ["MD5", "MD5-SESS", "SHA-256", "SHA-256-SESS"];
                if !known.contains(&algorithm.to_ascii_uppercase().as_str()) {
                    return None;
                }
                Some(Challenge {
                    realm: get("realm").unwrap_or_default(),
                    nonce: get("nonce")?,
                    opaque: get("opaque"),
                    algorithm,
                    qop_auth: get("qop").is_some_and(|q| {
                        q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth"))
                    }),
                })
            })
    }

    /// The `Authorization` value for `method uri` as `user`/`password`, with client nonce
    /// `cnonce` (request count 1).
    pub(crate) fn answer(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        let alg = self.algorithm.to_ascii_uppercase();
        let h = |s: &str| match alg.starts_with("SHA-256") {
            true => hex(&Sha256::digest(s.as_bytes())),
            false => hex(&Md5::digest(s.as_bytes())),
        };
        let mut ha1 = h(&format!("{user}:{}:{password}", self.realm));
        if alg.ends_with("-SESS") {
            ha1 = h(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = h(&format!("{method}:{uri}"));
        let nc = "00000001";
        let response = match self.qop_auth {
            true => h(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce)),
            false => h(&format!("{ha1}:{}:{ha2}", self.nonce)),
        };
        let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}, response=\"{response}\"",
            q(user),
            q(&self.realm),
            q(&self.nonce),
            q(uri),
            self.algorithm
        );
        if self.qop_auth {
            out.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
        }
        if let Some(o) = &self.opaque {
            out.push_str(&format!(", opaque=\"{}\"", q(o)));
        }
        out
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 §3.9.1: the SHA-256 and MD5 examples.
    #[test]
    fn rfc_7616_examples() {
        let v = br#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let c = Challenge::find([&v[..]].into_iter()).unwrap();
        let a = c.answer(
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert!(
            a.contains(
                r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
            ),
            "{a}"
        );
        assert!(a.contains("qop=auth, nc=00000001"), "{a}");
        assert!(a.contains(r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#));
        let v = br#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
        let c = Challenge::find([&v[..]].into_iter()).unwrap();
        let a = c.answer(
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        );
        assert!(
            a.contains(r#"response="8ca523f5e9506fed4657c9700eebdbec""#),
            "{a}"
        );
    }

    #[test]
    fn only_digest_challenges_with_a_nonce_and_a_known_algorithm() {
        assert!(Challenge::find([&b"Basic realm=\"x\""[..]].into_iter()).is_none());
        assert!(Challenge::find([&b"Digest realm=\"x\""[..]].into_iter()).is_none());
        assert!(
            Challenge::find([&b"Digest nonce=\"n\", algorithm=SHA-512-256"[..]].into_iter())
                .is_none()
        );
        let c = Challenge::find(
            [
                &b"Basic realm=\"b\""[..],
                &br#"digest realm="a\"b", nonce=n1"#[..],
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!((c.realm.as_str(), c.nonce.as_str()), ("a\"b", "n1"));
        assert!(!c.qop_auth);
    }
}
