//! The request: method, framing (from [`framing`](crate::proto::http1::framing)) and the head,
//! written straight into the connection's reused head buffer under the rules of the manual's
//! table for the caller's headers.

use std::sync::Arc;
use std::time::Instant;

use super::services::Services;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{DebugKind, Handler};
use crate::id::TransferId;
use crate::mime::{Disposition, MimeReader};
use crate::options::{Body, HttpVersionOption, EXPECT_100_THRESHOLD};
use crate::proto::http1::{
    framing, BodySource, Exchange, Framing, HeadWriter, RequestShape, ResponseParser,
};

use super::{State, Transfer};

impl Transfer {
    pub(super) fn begin_request<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<()> {
        self.state = State::Active;
        if let Some((_, time)) = self.opts.low_speed {
            self.timers.lowspeed =
                Some((now + time, self.info.size_download + self.info.size_upload));
        }
        self.info.pretransfer_time = now.saturating_duration_since(self.started.unwrap_or(now));
        if self.info.effective_url != target!(self).url.as_str() {
            self.info.effective_url.clear();
            self.info.effective_url.push_str(target!(self).url.as_str());
        }
        let is_ws = target!(self).scheme.is_ws();
        self.set_method(is_ws);
        // This `Easy`'s own parser from its last run, else the storage the connection's last
        // transfer left behind.
        if self.rx.parser.is_none() {
            self.rx.parser = self
                .spare_parser
                .take()
                .filter(|p| p.has_limits(&self.opts.limits));
        }
        if let Some(c) = self.conn.as_mut() {
            if self.up.head_buf.capacity() == 0 {
                std::mem::swap(&mut self.up.head_buf, &mut c.head_buf);
            }
            if self.rx.parser.is_none() {
                self.rx.parser = c.parser.take().filter(|p| p.has_limits(&self.opts.limits));
            }
        }
        self.up.mime = match &self.body {
            // Each request sends the form from its start: curl's rewind.
            Body::Mime(m) if !is_ws => Some(Box::new(MimeReader::with_disposition(
                Arc::clone(m),
                self.mime_disposition(),
            ))),
            _ => None,
        };
        let framing = self.request_framing(is_ws)?;
        let expect_continue = self.write_request_head(core, is_ws, framing)?;
        self.exchange = Exchange::new(RequestShape {
            framing,
            no_response_body: self.method == "HEAD" || self.opts.nobody,
            expect_continue,
            upgrade: is_ws,
            close: sent_connection_close(&self.opts.headers),
        });
        if self.opts.verbose {
            h.debug(DebugKind::HeaderOut, &self.up.head_buf);
        }
        self.up.head_sent = 0;
        self.up.body_sent = 0;
        self.up.ubuf_pos = 0;
        self.up.ubuf.clear();
        self.up.eof = false;
        match &mut self.rx.parser {
            Some(p) => p.reset(),
            None => self.rx.parser = Some(Box::new(ResponseParser::new(&self.opts.limits))),
        }
        let h2 = self.conn.as_ref().is_some_and(|c| c.h2.is_some());
        if let Some(p) = self.rx.parser.as_mut() {
            p.set_http2(h2);
        }
        self.rx.head = None;
        self.rx.heads_bytes = 0;
        self.rx.decoder = None;
        self.rx.content = None;
        self.rx.discard = false;
        self.rx.redirect = None;
        self.rx.got_bytes = false;
        if self.conn.as_ref().is_some_and(|c| c.h2.is_some()) {
            self.open_h2_stream(core, id, h, now)?;
        }
        Ok(())
    }

    /// The request method: the engine's own choices are static names, set without a
    /// comparison; a caller's method is compared with the last run's, so that it is not
    /// allocated again.
    fn set_method(&mut self, is_ws: bool) {
        let own = match (&self.opts.method, &self.body) {
            (_, _) if is_ws => "GET",
            (Some(m), _) => {
                if self.method != *m {
                    self.method = match m.as_str() {
                        "GET" => "GET".into(),
                        "POST" => "POST".into(),
                        "PUT" => "PUT".into(),
                        "HEAD" => "HEAD".into(),
                        other => other.to_owned().into(),
                    };
                }
                return;
            }
            (None, Body::Bytes(_) | Body::Mime(_)) => "POST",
            (None, Body::Read(_)) => "PUT",
            (None, Body::None) => "GET",
        };
        self.method = std::borrow::Cow::Borrowed(own);
    }

    /// How the request's body is delimited: from the body and the framing the caller's
    /// headers ask for, in one place ([`framing::decide`]); a conflict is a caller error.
    pub(super) fn request_framing(&self, is_ws: bool) -> Result<Framing> {
        let user: &[(String, String)] = if self.body_dropped {
            &[]
        } else {
            &self.opts.headers
        };
        let source = match &self.body {
            _ if is_ws => BodySource::None,
            Body::None => BodySource::None,
            Body::Bytes(b) => BodySource::Known(b.len() as u64),
            Body::Read(Some(n)) => BodySource::Known(*n),
            Body::Read(None) => BodySource::Unknown,
            Body::Mime(m) => match m.encoded_size(self.mime_disposition()) {
                Some(n) => BodySource::Known(n),
                None => BodySource::Unknown,
            },
        };
        let wants_length = !is_ws && matches!(&*self.method, "POST" | "PUT");
        let framing = framing::decide(user, source, wants_length)
            .map_err(|e| Error::new(ErrorKind::BadFunctionArgument, e.to_string()))?;
        if is_ws && framing != Framing::None {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                "a WebSocket upgrade request has no body: no Content-Length or Transfer-Encoding",
            ));
        }
        Ok(framing)
    }

    /// Writes the request head straight into the reused head buffer (no field list, no owned
    /// pairs). The rules for the caller's headers are the manual's table ("Request headers
    /// the engine also sets"). Returns whether to wait for `100 Continue`.
    pub(super) fn write_request_head<S: Services>(
        &mut self,
        core: &mut S,
        is_ws: bool,
        framing: Framing,
    ) -> Result<bool> {
        let mut ws_extra: Vec<(String, String)> = Vec::new();
        if is_ws {
            self.ws_request_headers(core, &mut ws_extra)?;
        }
        let bad = |e: crate::proto::http1::RequestError| {
            Error::new(ErrorKind::BadFunctionArgument, e.to_string())
        };
        let user_headers = &self.opts.headers;
        let has = |n: &str| user_headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        // A user Host replaces ours in its place, first after the request line (RFC 9112
        // §3.2); an empty one removes it. After a redirect to another host it is that
        // host's own (curl: the custom Host only "if this is NOT a redirect" to elsewhere).
        let same_host = self.redirected.is_none()
            || self
                .opts
                .target
                .host
                .eq_ignore_ascii_case(&target!(self).host);
        let user_host = user_header(user_headers, "host").filter(|_| same_host);
        // To an HTTP proxy in absolute form: the whole URL (RFC 9112 §3.2.2), no fragment.
        let proxy = self.proxy.clone().filter(|_| self.absolute_form());
        let request_target = match proxy {
            Some(_) => &target!(self).url[..url::Position::AfterQuery],
            None => target!(self).request_target.as_str(),
        };
        let auth = match has("authorization") {
            true => None,
            false => self.authorization(core, request_target)?,
        };
        let proxy_auth = match proxy.is_some() {
            true => self.proxy_authorization(core, &self.method, request_target)?,
            false => None,
        };
        // The engine's cookies and CURLOPT_COOKIE's, unless the caller sent a Cookie header.
        let mut cookie = std::mem::take(&mut self.spare_cookie);
        cookie.clear();
        if !has("cookie") {
            self.cookie_value(core, &mut cookie);
        }
        let mut w = match (&self.method, user_host) {
            // A built-in method and the parsed URL's parts: valid by construction.
            (std::borrow::Cow::Borrowed(m), None) => HeadWriter::start_valid(
                &mut self.up.head_buf,
                m,
                request_target,
                &target!(self).host_header,
            ),
            _ => HeadWriter::start(
                &mut self.up.head_buf,
                &self.method,
                request_target,
                user_host.unwrap_or(&target!(self).host_header),
            )
            .map_err(bad)?,
        };
        if proxy.is_some() {
            if let Some(auth) = proxy_auth.filter(|_| !has("proxy-authorization")) {
                w.field("Proxy-Authorization", &auth).map_err(bad)?;
            }
            if !has("proxy-connection") {
                w.line(b"Proxy-Connection: Keep-Alive\r\n");
            }
        }
        for (n, v) in &ws_extra {
            w.field(n, v).map_err(bad)?;
        }
        if let Some(ua) = &self.opts.user_agent {
            if !has("user-agent") {
                w.field("User-Agent", ua).map_err(bad)?;
            }
        }
        if !has("accept") {
            w.line(b"Accept: */*\r\n");
        }
        if let Some(auth) = &auth {
            w.field("Authorization", auth).map_err(bad)?;
        }
        if !cookie.is_empty() {
            w.field("Cookie", &cookie).map_err(bad)?;
        }
        if matches!(&*self.method, "GET" | "HEAD") && !is_ws && !has("range") {
            match (&self.opts.range, self.opts.resume_from) {
                (Some(r), _) => w.trusted("Range", &format!("bytes={r}")),
                (None, 0) => {}
                (None, n) => w.trusted("Range", &format!("bytes={n}-")),
            }
        }
        if self.opts.accept_encoding && !has("accept-encoding") {
            w.line(b"Accept-Encoding: gzip, deflate, br, zstd\r\n");
        }
        match framing {
            Framing::None => {}
            Framing::Length(n) => w.trusted_num("Content-Length", n),
            Framing::Chunked => w.line(b"Transfer-Encoding: chunked\r\n"),
        }
        if self.method == "POST" && matches!(self.body, Body::Bytes(_)) && !has("content-type") {
            w.trusted("Content-Type", "application/x-www-form-urlencoded");
        }
        if let Body::Mime(m) = &self.body {
            mime_content_type(&mut w, user_headers, m.boundary()).map_err(bad)?;
        }
        let reader = matches!(self.body, Body::Read(_) | Body::Mime(_)) && !is_ws;
        let expect_continue = reader && expect_header(&mut w, user_headers, framing);
        // Credentials go to the first origin only, compared at every hop (curl's
        // `Curl_auth_allowed_to_host`), unless unrestricted_auth.
        let skip = Skip {
            cross_origin: self.redirected.is_some()
                && !self.opts.unrestricted_auth
                && !self.opts.target.same_origin(target!(self)),
            body_dropped: self.body_dropped,
            mime: matches!(self.body, Body::Mime(_)),
        };
        for (n, v) in user_headers {
            if !skip.skips(n, v) {
                w.field(n, v).map_err(bad)?;
            }
        }
        w.finish();
        self.spare_cookie = cookie;
        if self.opts.http_version == HttpVersionOption::Http10 {
            http10_request_line(&mut self.up.head_buf);
        }
        Ok(expect_continue)
    }
}

/// `Expect: 100-continue` for a body from the read callback: sent when the body is big or
/// of unknown size (curl's rule) unless the caller set an `Expect` of its own; whether the
/// request then waits for the 100.
fn expect_header(w: &mut HeadWriter<'_>, user_headers: &[(String, String)], f: Framing) -> bool {
    let big = match f {
        Framing::Length(n) => n > EXPECT_100_THRESHOLD,
        _ => true,
    };
    match user_header(user_headers, "expect") {
        None if big => {
            w.trusted("Expect", "100-continue");
            true
        }
        Some(v) => v.eq_ignore_ascii_case("100-continue"),
        None => false,
    }
}

/// A multipart body's `Content-Type`: the caller's type, or `multipart/form-data`, with
/// `; boundary=` appended (curl's rule: the caller's type is kept, its own parameters too); a
/// caller's empty `Content-Type` sends none.
fn mime_content_type(
    w: &mut HeadWriter<'_>,
    user_headers: &[(String, String)],
    boundary: &str,
) -> std::result::Result<(), crate::proto::http1::RequestError> {
    match user_header(user_headers, "content-type") {
        Some("") => Ok(()),
        ty => w.field(
            "Content-Type",
            &format!(
                "{}; boundary={boundary}",
                ty.unwrap_or("multipart/form-data")
            ),
        ),
    }
}

impl Transfer {
    /// The disposition of a multipart body's parts, from the type it is sent as.
    fn mime_disposition(&self) -> Disposition {
        match user_header(&self.opts.headers, "content-type") {
            Some(t) if !t.is_empty() => Disposition::for_type(t),
            _ => Disposition::FormData,
        }
    }
}

/// Which of the caller's headers a request leaves out (the manual's table "Request headers
/// the engine also sets").
struct Skip {
    /// A redirect left the first origin: no credentials.
    cross_origin: bool,
    /// A redirect dropped the body: no headers about it.
    body_dropped: bool,
    /// A multipart body: its Content-Type was written with the boundary.
    mime: bool,
}

impl Skip {
    fn skips(&self, n: &str, v: &str) -> bool {
        v.is_empty()
            || n.eq_ignore_ascii_case("host")
            || framing::is_framing_header(n)
            || ((self.body_dropped || self.mime) && n.eq_ignore_ascii_case("content-type"))
            || (self.cross_origin
                && (n.eq_ignore_ascii_case("authorization")
                    || n.eq_ignore_ascii_case("cookie")
                    || n.eq_ignore_ascii_case("proxy-authorization")))
    }
}

/// What a server's `401` asked for, to send with the request again.
#[derive(Debug)]
pub(crate) enum AuthRetry {
    /// Answer this Digest challenge (RFC 7616).
    Digest(crate::auth::digest::Challenge),
    /// Basic, which the first request did not send (`HttpAuth::Any`).
    Basic,
}

impl Transfer {
    /// The credentials for this hop: the options' (or `.netrc`'s) on the first origin, or on
    /// any with `unrestricted_auth`; the URL's own user info always.
    pub(super) fn hop_credentials(&self) -> (Option<(String, String)>, bool) {
        let t = target!(self);
        let url_creds = (!t.url.username().is_empty()).then(|| {
            let dec = |s: &str| crate::proxy::percent_decode(s).unwrap_or_else(|| s.to_owned());
            (dec(t.url.username()), dec(t.url.password().unwrap_or("")))
        });
        let cross_origin = self.redirected.is_some()
            && !self.opts.unrestricted_auth
            && !self.opts.target.same_origin(t);
        (url_creds, cross_origin)
    }

    /// The `Authorization` value for this request: an answer to a `401` being retried, or
    /// what the first request carries.
    fn authorization<S: Services>(&self, core: &mut S, uri: &str) -> Result<Option<String>> {
        let t = target!(self);
        let (url_creds, cross_origin) = self.hop_credentials();
        if let Some(retry) = &self.auth_retry {
            let creds = match cross_origin {
                false => crate::auth::credentials(&self.opts.auth, &t.host, url_creds),
                true => url_creds,
            };
            let Some((user, pw)) = creds else {
                return Ok(None);
            };
            return Ok(Some(match &**retry {
                AuthRetry::Basic => crate::auth::basic(&user, &pw),
                AuthRetry::Digest(ch) => ch.answer(&user, &pw, &self.method, uri, &cnonce(core)?),
            }));
        }
        Ok(match cross_origin {
            false => crate::auth::authorization(&self.opts.auth, &t.host, url_creds),
            true => url_creds.map(|(u, p)| crate::auth::basic(&u, &p)),
        })
    }
}

/// A client nonce for a Digest answer: 16 random bytes in hex.
pub(super) fn cnonce<S: Services>(core: &mut S) -> Result<String> {
    let mut nonce = [0u8; 16];
    core.rng()?.fill(&mut nonce);
    Ok(nonce.iter().map(|b| format!("{b:02x}")).collect())
}

/// The value of the last user header called `name`.
fn user_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Whether the request carried `Connection: close`: then the client must not send another
/// request on the connection (RFC 9112 §9.6), whatever the server answers.
fn sent_connection_close(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

/// `HTTP/1.0` in place of `HTTP/1.1` at the end of the request line (`CURL_HTTP_VERSION_1_0`).
fn http10_request_line(head: &mut [u8]) {
    let Some(end) = head.windows(2).position(|w| w == b"\r\n") else {
        return;
    };
    if end >= 8 && &head[end - 8..end] == b"HTTP/1.1" {
        head[end - 1] = b'0';
    }
}
