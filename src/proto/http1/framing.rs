//! Request body framing (RFC 9112 §6.2, §6.3, §7.1): whether a request carries
//! `Content-Length`, chunked coding or no body, decided in one place from the
//! body the engine will send and the framing headers the caller set.
//!
//! Callers may *ask* for a framing with a header (`Transfer-Encoding: chunked`,
//! `Content-Length: N`), but the engine writes the framing header itself, from
//! the [`Framing`] decided here, and never writes the caller's copy. A request
//! whose head and body could disagree (a length that is not the body's, a
//! length and chunked together, a coding other than `chunked`) is refused
//! before anything is sent: a head that says one thing and a body that says
//! another is how requests get smuggled past intermediaries.

use std::fmt;

/// The body the engine is about to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySource {
    /// No body.
    None,
    /// A body of exactly this many bytes.
    Known(u64),
    /// A body from a reader whose length is not known in advance.
    Unknown,
}

/// How the request's body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No framing header and no body.
    None,
    /// `Content-Length: N`, then exactly N bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`, then the body in chunks and the last chunk.
    Chunked,
}

/// Why a request's framing headers were refused.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// A `Transfer-Encoding` other than `chunked`: the engine applies no other coding.
    UnsupportedCoding(String),
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.2: a sender must not).
    LengthAndChunked,
    /// A `Content-Length` that is not a decimal number, or several that differ.
    BadLength(String),
    /// A `Content-Length` that is not the length of the body.
    LengthMismatch {
        /// What the header says.
        header: u64,
        /// What the body holds.
        body: u64,
    },
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::UnsupportedCoding(v) => {
                write!(
                    f,
                    "Transfer-Encoding {v:?}: only \"chunked\" can be asked for"
                )
            }
            FramingError::LengthAndChunked => {
                f.write_str("both Content-Length and Transfer-Encoding were set")
            }
            FramingError::BadLength(v) => write!(f, "invalid Content-Length {v:?}"),
            FramingError::LengthMismatch { header, body } => write!(
                f,
                "Content-Length {header} does not match the body's {body} bytes"
            ),
        }
    }
}

impl std::error::Error for FramingError {}

/// Whether a header name is one of the two framing headers this module decides.
pub fn is_framing_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding")
}

/// Decides the framing of a request with `body`, honouring the framing the
/// caller asked for in `headers` (fields with an empty value are removals and
/// ask for nothing). `wants_length` is for a method whose empty body is still
/// announced (`POST` and `PUT` send `Content-Length: 0`, as curl does).
pub fn decide(
    headers: &[(String, String)],
    body: BodySource,
    wants_length: bool,
) -> Result<Framing, FramingError> {
    let chunked = asked_chunked(headers)?;
    let length = asked_length(headers)?;
    match (chunked, length, body) {
        (true, Some(_), _) => Err(FramingError::LengthAndChunked),
        (true, None, _) => Ok(Framing::Chunked),
        (false, Some(n), BodySource::Known(b)) if n != b => {
            Err(FramingError::LengthMismatch { header: n, body: b })
        }
        (false, Some(n), BodySource::None) if n != 0 => {
            Err(FramingError::LengthMismatch { header: n, body: 0 })
        }
        // A reader of unknown length with a declared length: exactly that many bytes.
        (false, Some(n), _) => Ok(Framing::Length(n)),
        (false, None, BodySource::Known(b)) => Ok(Framing::Length(b)),
        (false, None, BodySource::Unknown) => Ok(Framing::Chunked),
        (false, None, BodySource::None) if wants_length => Ok(Framing::Length(0)),
        (false, None, BodySource::None) => Ok(Framing::None),
    }
}

/// `Transfer-Encoding` fields: `chunked` (any case, in one or several fields) asks for
/// chunked coding; any other coding is refused.
fn asked_chunked(headers: &[(String, String)]) -> Result<bool, FramingError> {
    let mut chunked = false;
    for (_, v) in framing_fields(headers, "transfer-encoding") {
        for coding in v.split(',').map(str::trim) {
            if coding.eq_ignore_ascii_case("chunked") && !chunked {
                chunked = true;
            } else {
                return Err(FramingError::UnsupportedCoding(v.to_string()));
            }
        }
    }
    Ok(chunked)
}

/// `Content-Length` fields: one decimal value (repeated fields must agree).
fn asked_length(headers: &[(String, String)]) -> Result<Option<u64>, FramingError> {
    let mut length = None;
    for (_, v) in framing_fields(headers, "content-length") {
        let v = v.trim();
        let n = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            v.parse::<u64>().ok()
        } else {
            None
        };
        match (n, length) {
            (None, _) => return Err(FramingError::BadLength(v.to_string())),
            (Some(n), Some(prev)) if n != prev => {
                return Err(FramingError::BadLength(format!("{prev}, {n}")))
            }
            (Some(n), _) => length = Some(n),
        }
    }
    Ok(length)
}

fn framing_fields<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a (String, String)> + 'a {
    headers
        .iter()
        .filter(move |(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use BodySource::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_engine_frames_a_body_by_itself() {
        assert_eq!(decide(&[], Known(5), false), Ok(Framing::Length(5)));
        assert_eq!(decide(&[], Known(0), true), Ok(Framing::Length(0)));
        assert_eq!(decide(&[], Unknown, false), Ok(Framing::Chunked));
        assert_eq!(decide(&[], None, true), Ok(Framing::Length(0)));
        assert_eq!(decide(&[], None, false), Ok(Framing::None));
        // Unrelated fields and removals ask for nothing.
        let hs = h(&[
            ("X", "1"),
            ("Content-Length", ""),
            ("Transfer-Encoding", " "),
        ]);
        assert_eq!(decide(&hs, Known(3), false), Ok(Framing::Length(3)));
    }

    #[test]
    fn chunked_can_be_asked_for_with_any_body() {
        for v in ["chunked", "Chunked", " CHUNKED "] {
            let hs = h(&[("transfer-encoding", v)]);
            for body in [None, Known(0), Known(10), Unknown] {
                assert_eq!(
                    decide(&hs, body, true),
                    Ok(Framing::Chunked),
                    "{v} {body:?}"
                );
            }
        }
    }

    #[test]
    fn a_length_must_be_the_body_length() {
        let hs = h(&[("Content-Length", "5")]);
        assert_eq!(decide(&hs, Known(5), false), Ok(Framing::Length(5)));
        assert_eq!(decide(&hs, Unknown, false), Ok(Framing::Length(5)));
        assert_eq!(
            decide(&hs, Known(40), false),
            Err(FramingError::LengthMismatch {
                header: 5,
                body: 40
            })
        );
        assert_eq!(
            decide(&hs, None, false),
            Err(FramingError::LengthMismatch { header: 5, body: 0 })
        );
        let zero = h(&[("Content-Length", "0")]);
        assert_eq!(decide(&zero, None, false), Ok(Framing::Length(0)));
        let twice = h(&[("Content-Length", "5"), ("content-length", "5")]);
        assert_eq!(decide(&twice, Known(5), false), Ok(Framing::Length(5)));
    }

    #[test]
    fn framing_that_could_desynchronise_is_refused() {
        for (hs, want) in [
            (
                h(&[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]),
                FramingError::LengthAndChunked,
            ),
            (
                h(&[("Transfer-Encoding", "gzip, chunked")]),
                FramingError::UnsupportedCoding("gzip, chunked".into()),
            ),
            (
                h(&[("Transfer-Encoding", "chunked, chunked")]),
                FramingError::UnsupportedCoding("chunked, chunked".into()),
            ),
            (
                h(&[
                    ("Transfer-Encoding", "chunked"),
                    ("Transfer-Encoding", "chunked"),
                ]),
                FramingError::UnsupportedCoding("chunked".into()),
            ),
            (
                h(&[("Transfer-Encoding", "identity")]),
                FramingError::UnsupportedCoding("identity".into()),
            ),
            (
                h(&[("Content-Length", "+5")]),
                FramingError::BadLength("+5".into()),
            ),
            (
                h(&[("Content-Length", "5, 5")]),
                FramingError::BadLength("5, 5".into()),
            ),
            (
                h(&[("Content-Length", "99999999999999999999999")]),
                FramingError::BadLength("99999999999999999999999".into()),
            ),
            (
                h(&[("Content-Length", "5"), ("Content-Length", "6")]),
                FramingError::BadLength("5, 6".into()),
            ),
        ] {
            assert_eq!(decide(&hs, Known(5), false), Err(want), "{hs:?}");
        }
    }
}
