//! Client opening handshake helpers (RFC 6455 §1.3, §4.1, §4.2.2, §11.3).
//!
//! The caller builds the HTTP/1.1 `GET` request with `Upgrade: websocket`,
//! `Connection: Upgrade`, `Sec-WebSocket-Version: 13` and
//! `Sec-WebSocket-Key: `[`generate_key`]`(rng)`, then passes
//! the parsed response to [`validate_response`], which applies the client
//! checks of §4.1 (status 101, `Upgrade`, `Connection`,
//! `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol`,
//! `Sec-WebSocket-Extensions`). Extension parameters (RFC 7692
//! permessage-deflate) are left to the extension layer.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::rng::SecureRng;

/// The GUID appended to the key to compute `Sec-WebSocket-Accept` (§1.3).
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version defined by RFC 6455 (§4.1, §11.6).
pub const WS_VERSION: &str = "13";

/// A fresh `Sec-WebSocket-Key` value: the base64 of 16 bytes of `rng` (§4.1: a
/// nonce randomly selected for each connection).
pub fn generate_key(rng: &mut SecureRng) -> String {
    let mut random16 = [0u8; 16];
    rng.fill(&mut random16);
    STANDARD.encode(random16)
}

/// The `Sec-WebSocket-Accept` value a server must answer for `key`:
/// base64(SHA-1(key + [`WS_GUID`])) (§1.3, §4.2.2).
pub fn expected_accept(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(WS_GUID.as_bytes());
    STANDARD.encode(h.finalize())
}

/// What the server agreed to in a valid handshake response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol the server selected, one of those offered.
    pub protocol: Option<String>,
    /// Raw, trimmed, non-empty `Sec-WebSocket-Extensions` values in order of
    /// appearance, for the extension layer to parse.
    pub extensions: Vec<String>,
}

/// Why a handshake response must fail the connection (§4.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The status code is not 101 Switching Protocols.
    NotSwitching(u16),
    /// `Upgrade` is missing or not `websocket` (case-insensitive).
    MissingUpgrade,
    /// `Connection` does not contain the token `upgrade` (case-insensitive).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Accept` is missing.
    MissingAccept,
    /// `Sec-WebSocket-Accept` does not match the key.
    BadAccept,
    /// A subprotocol was selected that was not offered, or more than one.
    UnexpectedProtocol,
    /// An extension was returned although none was offered.
    UnexpectedExtension,
    /// A header that must appear at most once appeared several times.
    DuplicateHeader(&'static str),
    /// A header value is not valid UTF-8.
    InvalidHeaderValue(&'static str),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSwitching(s) => write!(f, "server answered {s} instead of 101"),
            Self::MissingUpgrade => f.write_str("missing or wrong Upgrade: websocket header"),
            Self::MissingConnectionUpgrade => {
                f.write_str("Connection header lacks the upgrade token")
            }
            Self::MissingAccept => f.write_str("missing Sec-WebSocket-Accept header"),
            Self::BadAccept => f.write_str("Sec-WebSocket-Accept does not match the key"),
            Self::UnexpectedProtocol => {
                f.write_str("server selected a subprotocol that was not offered")
            }
            Self::UnexpectedExtension => {
                f.write_str("server returned an extension that was not offered")
            }
            Self::DuplicateHeader(h) => write!(f, "duplicate {h} header"),
            Self::InvalidHeaderValue(h) => write!(f, "invalid {h} header value"),
        }
    }
}

impl std::error::Error for HandshakeError {}

const UPGRADE: &str = "Upgrade";
const CONNECTION: &str = "Connection";
const ACCEPT: &str = "Sec-WebSocket-Accept";
const PROTOCOL: &str = "Sec-WebSocket-Protocol";
const EXTENSIONS: &str = "Sec-WebSocket-Extensions";

fn values<'h>(
    headers: &'h [(&str, &'h [u8])],
    name: &'static str,
) -> impl Iterator<Item = &'h [u8]> + 'h {
    headers
        .iter()
        .filter(move |(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_ascii())
}

fn single<'h>(
    headers: &'h [(&str, &'h [u8])],
    name: &'static str,
) -> Result<Option<&'h [u8]>, HandshakeError> {
    let mut it = values(headers, name);
    let first = it.next();
    if it.next().is_some() {
        return Err(HandshakeError::DuplicateHeader(name));
    }
    Ok(first)
}

fn utf8(v: &[u8], name: &'static str) -> Result<String, HandshakeError> {
    std::str::from_utf8(v)
        .map(str::to_owned)
        .map_err(|_| HandshakeError::InvalidHeaderValue(name))
}

/// Validates the server's opening-handshake response (§4.1, client steps
/// 1-6 of "the client MUST validate the server's response").
///
/// `headers` are `(name, value)` pairs as received (names compared
/// case-insensitively, values trimmed); `key` is the `Sec-WebSocket-Key` that
/// was sent; `offered_protocols` the subprotocols offered (exact,
/// case-sensitive match); `offered_extensions` whether any
/// `Sec-WebSocket-Extensions` was offered.
pub fn validate_response(
    status: u16,
    headers: &[(&str, &[u8])],
    key: &str,
    offered_protocols: &[String],
    offered_extensions: bool,
) -> Result<Accepted, HandshakeError> {
    if status != 101 {
        return Err(HandshakeError::NotSwitching(status));
    }

    let mut upgrade = values(headers, UPGRADE).peekable();
    if upgrade.peek().is_none() || !upgrade.all(|v| v.eq_ignore_ascii_case(b"websocket")) {
        return Err(HandshakeError::MissingUpgrade);
    }

    let has_upgrade_token = values(headers, CONNECTION)
        .flat_map(|v| v.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
    if !has_upgrade_token {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }

    let accept = single(headers, ACCEPT)?.ok_or(HandshakeError::MissingAccept)?;
    if accept != expected_accept(key.trim()).as_bytes() {
        return Err(HandshakeError::BadAccept);
    }

    negotiated(headers, offered_protocols, offered_extensions)
}

/// Validates the answer to an extended CONNECT over HTTP/2 (RFC 8441 §5): a 2xx status (no
/// `Upgrade`, `Connection` or `Sec-WebSocket-Accept`: the stream itself is the proof), then
/// the subprotocol and extensions as over HTTP/1.1.
pub fn validate_h2_response(
    status: u16,
    headers: &[(&str, &[u8])],
    offered_protocols: &[String],
    offered_extensions: bool,
) -> Result<Accepted, HandshakeError> {
    if !(200..300).contains(&status) {
        return Err(HandshakeError::NotSwitching(status));
    }
    negotiated(headers, offered_protocols, offered_extensions)
}

/// The subprotocol and extensions the server chose, each one the client offered.
fn negotiated(
    headers: &[(&str, &[u8])],
    offered_protocols: &[String],
    offered_extensions: bool,
) -> Result<Accepted, HandshakeError> {
    let protocol = match single(headers, PROTOCOL)? {
        None => None,
        Some(v) => {
            let p = utf8(v, PROTOCOL)?;
            if !offered_protocols.contains(&p) {
                return Err(HandshakeError::UnexpectedProtocol);
            }
            Some(p)
        }
    };

    let mut extensions = Vec::new();
    for v in values(headers, EXTENSIONS).filter(|v| !v.is_empty()) {
        if !offered_extensions {
            return Err(HandshakeError::UnexpectedExtension);
        }
        extensions.push(utf8(v, EXTENSIONS)?);
    }

    Ok(Accepted {
        protocol,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
    const ACCEPT_V: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    #[test]
    fn rfc_1_3_vector() {
        // RFC 6455 §1.3 (and §1.2): the accept value for the sample nonce.
        assert_eq!(expected_accept(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn keys_are_fresh_16_byte_nonces() {
        let mut rng = SecureRng::new().unwrap();
        let (a, b) = (generate_key(&mut rng), generate_key(&mut rng));
        assert_ne!(a, b);
        for k in [a, b] {
            assert_eq!(STANDARD.decode(&k).unwrap().len(), 16, "{k}");
        }
    }

    fn base() -> Vec<(&'static str, &'static [u8])> {
        vec![
            ("upgrade", b"WebSocket"),
            ("Connection", b"keep-alive, Upgrade"),
            ("sec-websocket-accept", ACCEPT_V),
        ]
    }

    fn check(
        headers: &[(&str, &[u8])],
        protos: &[&str],
        ext: bool,
    ) -> Result<Accepted, HandshakeError> {
        let protos: Vec<String> = protos.iter().map(|s| s.to_string()).collect();
        validate_response(101, headers, KEY, &protos, ext)
    }

    #[test]
    fn accepts_minimal() {
        assert_eq!(check(&base(), &[], false), Ok(Accepted::default()));
        let mut h = base();
        h[2] = ("Sec-WebSocket-Accept", b"  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= ");
        assert!(check(&h, &["chat"], true).is_ok());
    }

    #[test]
    fn status_upgrade_connection() {
        let protos: Vec<String> = Vec::new();
        assert_eq!(
            validate_response(200, &base(), KEY, &protos, false),
            Err(HandshakeError::NotSwitching(200))
        );
        let mut h = base();
        h.remove(0);
        assert_eq!(check(&h, &[], false), Err(HandshakeError::MissingUpgrade));
        let mut h = base();
        h[0].1 = b"h2c";
        assert_eq!(check(&h, &[], false), Err(HandshakeError::MissingUpgrade));
        let mut h = base();
        h[1].1 = b"keep-alive";
        assert_eq!(
            check(&h, &[], false),
            Err(HandshakeError::MissingConnectionUpgrade)
        );
        let mut h = base();
        h[1].1 = b"keep-alive";
        h.push(("connection", b"UPGRADE"));
        assert!(check(&h, &[], false).is_ok());
    }

    #[test]
    fn accept_checks() {
        let mut h = base();
        h.remove(2);
        assert_eq!(check(&h, &[], false), Err(HandshakeError::MissingAccept));
        let mut h = base();
        h[2].1 = b"S3pPLMBiTxaGbo9JZMs7ZBzi/j8=";
        assert_eq!(check(&h, &[], false), Err(HandshakeError::BadAccept));
        let mut h = base();
        h.push(("Sec-WebSocket-Accept", ACCEPT_V));
        assert_eq!(
            check(&h, &[], false),
            Err(HandshakeError::DuplicateHeader(ACCEPT))
        );
    }

    #[test]
    fn protocols() {
        let mut h = base();
        h.push(("Sec-WebSocket-Protocol", b"chat"));
        assert_eq!(
            check(&h, &[], false),
            Err(HandshakeError::UnexpectedProtocol)
        );
        assert_eq!(
            check(&h, &["superchat"], false),
            Err(HandshakeError::UnexpectedProtocol)
        );
        assert_eq!(
            check(&h, &["Chat"], false),
            Err(HandshakeError::UnexpectedProtocol)
        );
        let ok = check(&h, &["superchat", "chat"], false).unwrap();
        assert_eq!(ok.protocol.as_deref(), Some("chat"));
        let mut h2 = h.clone();
        h2.push(("Sec-WebSocket-Protocol", b"chat"));
        assert_eq!(
            check(&h2, &["chat"], false),
            Err(HandshakeError::DuplicateHeader(PROTOCOL))
        );
        let mut h3 = base();
        h3.push(("Sec-WebSocket-Protocol", b"chat, superchat"));
        assert_eq!(
            check(&h3, &["chat", "superchat"], false),
            Err(HandshakeError::UnexpectedProtocol)
        );
        let mut h4 = base();
        h4.push(("Sec-WebSocket-Protocol", b"\xff"));
        assert_eq!(
            check(&h4, &["chat"], false),
            Err(HandshakeError::InvalidHeaderValue(PROTOCOL))
        );
        // Offered but not selected: fine.
        assert_eq!(check(&base(), &["chat"], false).unwrap().protocol, None);
    }

    #[test]
    fn extensions() {
        let mut h = base();
        h.push((
            "Sec-WebSocket-Extensions",
            b" permessage-deflate; server_no_context_takeover ",
        ));
        assert_eq!(
            check(&h, &[], false),
            Err(HandshakeError::UnexpectedExtension)
        );
        h.push(("sec-websocket-extensions", b"x-other"));
        h.push(("sec-websocket-extensions", b""));
        let ok = check(&h, &[], true).unwrap();
        assert_eq!(
            ok.extensions,
            vec![
                "permessage-deflate; server_no_context_takeover".to_string(),
                "x-other".into()
            ]
        );
        let mut h = base();
        h.push(("Sec-WebSocket-Extensions", b""));
        assert_eq!(check(&h, &[], false), Ok(Accepted::default()));
    }
}

#[cfg(test)]
mod h2_tests {
    use super::*;

    #[test]
    fn extended_connect_answers() {
        let offered = vec!["chat".to_string()];
        let ok = validate_h2_response(200, &[("sec-websocket-protocol", b"chat")], &offered, false)
            .unwrap();
        assert_eq!(ok.protocol.as_deref(), Some("chat"));
        assert_eq!(
            validate_h2_response(101, &[], &offered, false),
            Err(HandshakeError::NotSwitching(101))
        );
        assert_eq!(
            validate_h2_response(200, &[("sec-websocket-protocol", b"x")], &offered, false),
            Err(HandshakeError::UnexpectedProtocol)
        );
        assert_eq!(
            validate_h2_response(200, &[("sec-websocket-extensions", b"x")], &[], false),
            Err(HandshakeError::UnexpectedExtension)
        );
    }
}
