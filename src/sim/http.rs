//! HTTP/1.1 for the test's side of a simulated connection: read a request (head and a
//! `Content-Length` body) from what the client wrote, write a response.

use super::net::Peer;

/// Most headers a simulated server parses in one request.
const MAX_HEADERS: usize = 64;

/// A request as the server read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The value of header `name` (any case), the first if repeated.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parse one request from the front of `buf`: the request and the bytes it took, or `None`
/// while incomplete. Panics on a malformed request: the client under test wrote it.
fn parse(buf: &[u8]) -> Option<(Request, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head = match req.parse(buf).expect("a well-formed request head") {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            let v = String::from_utf8(h.value.to_vec()).expect("a UTF-8 header value");
            (h.name.to_owned(), v)
        })
        .collect();
    let mut r = Request {
        method: req.method.expect("a method").to_owned(),
        target: req.path.expect("a target").to_owned(),
        headers,
        body: Vec::new(),
    };
    let len: usize = r
        .header("content-length")
        .map_or(0, |v| v.parse().expect("a numeric Content-Length"));
    assert!(
        r.header("transfer-encoding").is_none(),
        "chunked request bodies are not simulated"
    );
    let body = buf.get(head..head + len)?;
    r.body = body.to_vec();
    Some((r, head + len))
}

impl Peer {
    /// The next whole request the client wrote, taken from the connection; `None` while the
    /// client has not written all of it.
    pub(crate) fn read_request(&mut self) -> Option<Request> {
        let (req, n) = parse(&self.unread())?;
        self.consume(n);
        Some(req)
    }

    /// Like [`Peer::read_request`], for a request that must be there.
    #[track_caller]
    pub(crate) fn request(&mut self) -> Request {
        self.read_request()
            .expect("a whole request from the client")
    }

    /// Write a response with a `Content-Length` body and the given extra headers.
    pub(crate) fn respond(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.write(head.as_bytes());
        self.write(body);
    }
}
