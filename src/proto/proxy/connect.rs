//! HTTP `CONNECT` through a proxy (RFC 9110 §9.3.6), the way curl sends it: the request
//! line with `host:port`, `Host`, the proxy's credentials, `User-Agent`, and
//! `Proxy-Connection: Keep-Alive`; the answer's head read whole (bounded), interim 1xx heads
//! skipped, a 2xx opens the tunnel (a body is never read: RFC 9110 forbids one), anything else
//! is the proxy's refusal with its status.

use super::{Handshake, ProxyError, Status};

/// Largest answer head a proxy may send to `CONNECT` (curl's `CURL_MAX_HTTP_HEADER`).
pub const MAX_CONNECT_HEAD: usize = 100 * 1024;
/// Most interim (1xx) heads before the final one.
const MAX_INTERIM: usize = 16;
/// Most header fields parsed in the proxy's answer.
const MAX_FIELDS: usize = 100;

/// What goes into the `CONNECT` request.
#[derive(Clone, Debug, Default)]
pub struct ConnectRequest<'a> {
    /// `host:port` of the target (IPv6 literals in brackets).
    pub authority: &'a str,
    /// The `Proxy-Authorization` value, if any (`Basic ...`).
    pub proxy_authorization: Option<&'a str>,
    /// The `User-Agent` value, if any.
    pub user_agent: Option<&'a str>,
}

/// The `CONNECT` handshake.
#[derive(Debug)]
pub struct HttpConnect {
    out: Vec<u8>,
    sent: usize,
    head: Vec<u8>,
    interim: usize,
    status: Option<u16>,
    /// The final head's bytes, kept for the debug callback.
    shown: Vec<u8>,
}

impl HttpConnect {
    /// The handshake for `req`. Values must be free of CR and LF (the caller's options are
    /// checked when set).
    pub fn new(req: &ConnectRequest<'_>) -> HttpConnect {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"CONNECT ");
        out.extend_from_slice(req.authority.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(req.authority.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(a) = req.proxy_authorization {
            out.extend_from_slice(b"Proxy-Authorization: ");
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(ua) = req.user_agent {
            out.extend_from_slice(b"User-Agent: ");
            out.extend_from_slice(ua.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Proxy-Connection: Keep-Alive\r\n\r\n");
        HttpConnect {
            out,
            sent: 0,
            head: Vec::new(),
            interim: 0,
            status: None,
            shown: Vec::new(),
        }
    }

    /// The request as sent (for the debug callback).
    pub fn request(&self) -> &[u8] {
        &self.out
    }

    /// The proxy's final status, once its head arrived (`CURLINFO_HTTP_CONNECTCODE`).
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The proxy's final answer head (status line and fields), once it arrived.
    pub fn response_head(&self) -> &[u8] {
        &self.shown
    }

    /// The values of the final answer's fields called `name` (compared without regard to
    /// case), e.g. `Proxy-Authenticate` of a `407`.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.shown
            .split(|&b| b == b'\n')
            .skip(1)
            .filter_map(move |line| {
                let colon = line.iter().position(|&b| b == b':')?;
                let (n, v) = (&line[..colon], &line[colon + 1..]);
                n.eq_ignore_ascii_case(name.as_bytes())
                    .then(|| v.trim_ascii())
            })
    }

    /// Parse the buffered head: `Some(end)` once one is complete.
    fn parse(&mut self) -> Result<Option<(u16, usize)>, ProxyError> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut resp = httparse::Response::new(&mut fields);
        match resp.parse(&self.head) {
            Ok(httparse::Status::Complete(n)) => {
                let code = resp.code.ok_or(ProxyError::Malformed("no status"))?;
                Ok(Some((code, n)))
            }
            Ok(httparse::Status::Partial) => Ok(None),
            Err(httparse::Error::TooManyHeaders) => Err(ProxyError::TooLarge),
            Err(_) => Err(ProxyError::Malformed("invalid response head")),
        }
    }
}

impl Handshake for HttpConnect {
    fn output(&self) -> &[u8] {
        &self.out[self.sent..]
    }

    fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.out.len());
    }

    fn input(&mut self, input: &[u8]) -> Result<Status, ProxyError> {
        if input.is_empty() {
            return Err(ProxyError::Closed);
        }
        let mut taken = 0;
        loop {
            // Take at most what keeps the buffered head within the limit, plus one byte to
            // tell "just at the limit" from "over it".
            let room = (MAX_CONNECT_HEAD + 1).saturating_sub(self.head.len());
            let take = (input.len() - taken).min(room);
            self.head.extend_from_slice(&input[taken..taken + take]);
            let before = self.head.len() - take;
            let Some((code, end)) = self.parse()? else {
                if self.head.len() > MAX_CONNECT_HEAD {
                    return Err(ProxyError::TooLarge);
                }
                return Ok(Status::More(taken + take));
            };
            // Bytes of this input that belonged to the head.
            taken += end.saturating_sub(before);
            if (100..200).contains(&code) && code != 101 {
                self.interim += 1;
                if self.interim > MAX_INTERIM {
                    self.head.clear();
                    return Err(ProxyError::Malformed("too many interim responses"));
                }
                self.head.clear();
                if taken == input.len() {
                    return Ok(Status::More(taken));
                }
                continue;
            }
            self.status = Some(code);
            self.head.truncate(end);
            self.shown = std::mem::take(&mut self.head);
            if !(200..300).contains(&code) {
                return Err(ProxyError::Refused(code));
            }
            return Ok(Status::Done(taken));
        }
    }
}
