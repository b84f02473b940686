//! Request head encoding (RFC 9112 §3 request line, §5 field lines), with
//! the checks that keep caller-supplied strings from splitting the request
//! (request smuggling / header injection guard).

use std::fmt;

use super::is_tchar;

/// A request head to encode. The request line is always `HTTP/1.1`.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    /// The method, a token such as `GET` (RFC 9110 §9).
    pub method: &'a str,
    /// The request target as sent: origin form (`/path?q`), absolute form
    /// (to a proxy), authority form (`CONNECT`) or `*`.
    pub target: &'a str,
    /// The `Host` value, including the port when it is not the scheme's
    /// default. Not written when `headers` already holds a `Host` field.
    pub host: &'a str,
    /// Further header fields, written in order, verbatim.
    pub headers: &'a [(String, String)],
}

/// Why a request head could not be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The method is empty or not a token (e.g. contains a space).
    BadMethod,
    /// The target is empty or contains whitespace or control bytes.
    BadTarget,
    /// The host contains whitespace or control bytes.
    BadHost,
    /// A header name is empty or not a token (CR, LF, NUL, `:`, spaces...).
    BadHeaderName,
    /// A header value contains CR, LF or NUL.
    BadHeaderValue,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::BadMethod => "invalid request method",
            RequestError::BadTarget => "invalid request target",
            RequestError::BadHost => "invalid Host value",
            RequestError::BadHeaderName => "invalid request header name",
            RequestError::BadHeaderValue => "request header value contains CR, LF or NUL",
        })
    }
}

impl std::error::Error for RequestError {}

/// Whether `headers` holds a field called `name` (case-insensitive).
pub fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// No whitespace and no control bytes (SP, CTL, DEL).
pub(crate) fn is_visible(s: &str) -> bool {
    s.bytes().all(|b| b > 0x20 && b != 0x7f)
}

fn is_safe_value(s: &str) -> bool {
    !s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

impl RequestHead<'_> {
    /// Checks every part without writing anything.
    pub fn validate(&self) -> Result<(), RequestError> {
        if !is_token(self.method) {
            return Err(RequestError::BadMethod);
        }
        if self.target.is_empty() || !is_visible(self.target) {
            return Err(RequestError::BadTarget);
        }
        if !is_visible(self.host) {
            return Err(RequestError::BadHost);
        }
        for (name, value) in self.headers {
            if !is_token(name) {
                return Err(RequestError::BadHeaderName);
            }
            if !is_safe_value(value) {
                return Err(RequestError::BadHeaderValue);
            }
        }
        Ok(())
    }

    /// Appends `METHOD target HTTP/1.1`, `Host` (unless the headers hold
    /// one), the headers and the final empty line to `out`, each line ending
    /// in CRLF. On error nothing is written.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), RequestError> {
        self.encode_head(out, !has_header(self.headers, "host"))
    }

    /// Like [`RequestHead::encode`] but without the `Host` field built from
    /// [`RequestHead::host`], for a caller that removed it on purpose (curl's
    /// `Host:` with an empty value). A `Host` in `headers` is still written.
    pub fn encode_without_host(&self, out: &mut Vec<u8>) -> Result<(), RequestError> {
        self.encode_head(out, false)
    }

    fn encode_head(&self, out: &mut Vec<u8>, write_host: bool) -> Result<(), RequestError> {
        self.validate()?;
        let mut len = self.method.len() + self.target.len() + 13;
        if write_host {
            len += self.host.len() + 8;
        }
        len += self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
            + 2;
        out.reserve(len);

        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if write_host {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(self.host.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in self.headers {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            if !value.is_empty() {
                out.push(b' ');
                out.extend_from_slice(value.as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

/// Writes a request head field by field straight into a reused buffer, without building a
/// field list first (the engine's per-request path). The request line and `Host` are checked
/// like [`RequestHead::validate`]; fields added with [`HeadWriter::field`] are checked too,
/// [`HeadWriter::trusted`] ones (the engine's own constant names) are not.
pub(crate) struct HeadWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> HeadWriter<'a> {
    /// Clears `out` and writes `METHOD target HTTP/1.1` and, when `host` is not empty,
    /// `Host: host`.
    pub(crate) fn start(
        out: &'a mut Vec<u8>,
        method: &str,
        target: &str,
        host: &str,
    ) -> Result<Self, RequestError> {
        if !is_token(method) {
            return Err(RequestError::BadMethod);
        }
        if target.is_empty() || !is_visible(target) {
            return Err(RequestError::BadTarget);
        }
        if !is_visible(host) {
            return Err(RequestError::BadHost);
        }
        out.clear();
        out.reserve(method.len() + target.len() + host.len() + 96);
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !host.is_empty() {
            out.extend_from_slice(b"Host: ");
            out.extend_from_slice(host.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Ok(HeadWriter { out })
    }

    /// [`start`](Self::start) for parts known to be valid: a method from the built-in set and
    /// the request target and `Host` value of a parsed URL (checked when it was parsed).
    pub(crate) fn start_valid(
        out: &'a mut Vec<u8>,
        method: &str,
        target: &str,
        host: &str,
    ) -> Self {
        debug_assert!(
            is_token(method) && !target.is_empty() && is_visible(target) && is_visible(host)
        );
        out.clear();
        out.reserve(method.len() + target.len() + host.len() + 96);
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
        HeadWriter { out }
    }

    /// A whole field line, CRLF included, known to be valid.
    pub(crate) fn line(&mut self, line: &'static [u8]) {
        self.out.extend_from_slice(line);
    }

    /// A field whose name is known to be a token and whose value holds no CR, LF or NUL.
    pub(crate) fn trusted(&mut self, name: &str, value: &str) {
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b':');
        if !value.is_empty() {
            self.out.push(b' ');
            self.out.extend_from_slice(value.as_bytes());
        }
        self.out.extend_from_slice(b"\r\n");
    }

    /// A field with a decimal value, e.g. `Content-Length`.
    pub(crate) fn trusted_num(&mut self, name: &str, n: u64) {
        use std::io::Write as _;
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b": ");
        let _ = write!(self.out, "{n}");
        self.out.extend_from_slice(b"\r\n");
    }

    /// A caller-supplied field, checked first.
    pub(crate) fn field(&mut self, name: &str, value: &str) -> Result<(), RequestError> {
        if !is_token(name) {
            return Err(RequestError::BadHeaderName);
        }
        if !is_safe_value(value) {
            return Err(RequestError::BadHeaderValue);
        }
        self.trusted(name, value);
        Ok(())
    }

    /// Ends the head with the empty line.
    pub(crate) fn finish(self) {
        self.out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn encode(head: &RequestHead<'_>) -> Result<Vec<u8>, RequestError> {
        let mut out = b"prefix".to_vec();
        let r = head.encode(&mut out);
        if r.is_err() {
            assert_eq!(out, b"prefix");
        }
        r.map(|()| out.split_off(6))
    }

    #[test]
    fn encodes_get() {
        let headers = h(&[
            ("User-Agent", "curlew/0.1"),
            ("Accept", "*/*"),
            ("X-Empty", ""),
        ]);
        let head = RequestHead {
            method: "GET",
            target: "/index.html?q=1",
            host: "example.com:8080",
            headers: &headers,
        };
        assert_eq!(
            encode(&head).unwrap(),
            b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\
              User-Agent: curlew/0.1\r\nAccept: */*\r\nX-Empty:\r\n\r\n"
        );
    }

    #[test]
    fn user_host_wins() {
        let headers = h(&[("hOST", "other.example")]);
        let head = RequestHead {
            method: "CONNECT",
            target: "example.com:443",
            host: "example.com:443",
            headers: &headers,
        };
        assert_eq!(
            encode(&head).unwrap(),
            b"CONNECT example.com:443 HTTP/1.1\r\nhOST: other.example\r\n\r\n"
        );
        assert!(has_header(&headers, "Host"));
        assert!(!has_header(&headers, "Hos"));
    }

    #[test]
    fn rejects_injection() {
        let ok = h(&[("A", "b")]);
        let base = RequestHead {
            method: "GET",
            target: "/",
            host: "h",
            headers: &ok,
        };
        let with = |f: &dyn Fn(&mut RequestHead<'_>)| {
            let mut r = base;
            f(&mut r);
            encode(&r)
        };
        assert_eq!(with(&|r| r.method = "GET /x"), Err(RequestError::BadMethod));
        assert_eq!(with(&|r| r.method = ""), Err(RequestError::BadMethod));
        assert_eq!(
            with(&|r| r.method = "G\r\nET"),
            Err(RequestError::BadMethod)
        );
        assert_eq!(with(&|r| r.target = "/a b"), Err(RequestError::BadTarget));
        assert_eq!(
            with(&|r| r.target = "/a\r\nX: y"),
            Err(RequestError::BadTarget)
        );
        assert_eq!(with(&|r| r.target = ""), Err(RequestError::BadTarget));
        assert_eq!(with(&|r| r.host = "h\r\nX: y"), Err(RequestError::BadHost));
        assert_eq!(with(&|r| r.host = "h\0"), Err(RequestError::BadHost));
        for (name, value, err) in [
            ("X\r\nY", "v", RequestError::BadHeaderName),
            ("X:", "v", RequestError::BadHeaderName),
            ("X Y", "v", RequestError::BadHeaderName),
            ("", "v", RequestError::BadHeaderName),
            ("X", "a\r\nInjected: 1", RequestError::BadHeaderValue),
            ("X", "a\nb", RequestError::BadHeaderValue),
            ("X", "a\rb", RequestError::BadHeaderValue),
            ("X", "a\0b", RequestError::BadHeaderValue),
        ] {
            let headers = h(&[("Good", "1"), (name, value)]);
            let head = RequestHead {
                headers: &headers,
                ..base
            };
            assert_eq!(encode(&head), Err(err), "{name:?}: {value:?}");
        }
        // Tabs and non-ASCII are fine in values, and an empty host is allowed.
        let headers = h(&[("X", "a\tb é")]);
        let head = RequestHead {
            host: "",
            headers: &headers,
            ..base
        };
        assert_eq!(
            encode(&head).unwrap(),
            "GET / HTTP/1.1\r\nHost: \r\nX: a\tb é\r\n\r\n".as_bytes()
        );
    }
}
