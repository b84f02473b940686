//! What happens after a response or a failure: following a redirect (RFC 9110 §15.4) and
//! the one retry of a request on a reused connection that the server had closed.

use std::time::Instant;

use super::services::Services;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::options::Body;
use crate::proto::http1::ResponseHead;
use crate::url::Target;

use super::{Next, State, Transfer};

impl Transfer {
    /// What the final head means for the transfer's policy: a redirect to follow (or to
    /// report), `fail_on_error`, and a Content-Length over the maximum file size.
    pub(super) fn check_final_head(
        &mut self,
        h: &mut dyn Handler,
        head: &ResponseHead,
        length: Option<u64>,
    ) -> Result<()> {
        let status = head.status();
        if status == 401 && self.rx.redirect.is_none() {
            self.on_unauthorized(h, head);
        }
        if status == 407
            && self.rx.redirect.is_none()
            && self.absolute_form()
            && self.proxy_challenged(h, head.header_all("proxy-authenticate"))
        {
            // The same request again to the proxy, with the answer (like a 401's).
            self.rx.redirect = Some((401, Box::new(target!(self).clone())));
            self.rx.discard = true;
        }
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            if let Some(loc) = head.header("location") {
                let loc = String::from_utf8_lossy(loc);
                self.on_redirect(h, status, loc.trim())?;
            }
        }
        if self.opts.fail_on_error && status >= 400 && self.rx.redirect.is_none() {
            return Err(Error::new(
                ErrorKind::HttpReturnedError,
                format!("the requested URL returned error: {status}"),
            ));
        }
        if let (Some(max), Some(len)) = (self.opts.max_filesize, length) {
            if len > max && self.rx.redirect.is_none() {
                return Err(Error::new(
                    ErrorKind::FileSizeExceeded,
                    format!("Content-Length {len} exceeds the maximum file size {max}"),
                ));
            }
        }
        Ok(())
    }

    /// A resumed GET got a 200 (the whole document) instead of a 206: complete already when
    /// the document is as long as the offset (`true`), else `CURLE_RANGE_ERROR`, as curl.
    pub(super) fn resumed_but_complete(
        &mut self,
        h: &mut dyn Handler,
        head: &ResponseHead,
        length: Option<u64>,
    ) -> Result<bool> {
        let from = self.opts.resume_from;
        if from == 0
            || self.opts.range.is_some()
            || head.status() != 200
            || self.method != "GET"
            || self.rx.redirect.is_some()
        {
            return Ok(false);
        }
        if length == Some(from) {
            self.text(h, || "The entire document is already downloaded".into());
            return Ok(true);
        }
        Err(Error::new(
            ErrorKind::RangeError,
            "HTTP server doesn't seem to support byte ranges. Cannot resume.",
        ))
    }

    /// A `401`: with Digest or Any asked for and credentials to give, the request goes again
    /// (once) with the answer to the server's challenge, on the same connection if it stays
    /// open (like a redirect to the same URL that keeps the method and body).
    fn on_unauthorized(&mut self, h: &mut dyn Handler, head: &ResponseHead) {
        use crate::auth::{digest::Challenge, HttpAuth};
        let method = self.opts.auth.method;
        if self.auth_tried || method == HttpAuth::Basic || self.opts.auth.bearer.is_some() {
            return;
        }
        let (url_creds, cross_origin) = self.hop_credentials();
        let has_creds = url_creds.is_some()
            || (!cross_origin
                && crate::auth::credentials(&self.opts.auth, &target!(self).host, None).is_some());
        if !has_creds {
            return;
        }
        let retry = match Challenge::find(head.header_all("www-authenticate")) {
            Some(ch) => super::request::AuthRetry::Digest(ch),
            None if method == HttpAuth::Any
                && head
                    .header_all("www-authenticate")
                    .any(|v| v.get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"basic"))) =>
            {
                super::request::AuthRetry::Basic
            }
            None => return,
        };
        self.text(h, || {
            "Server auth using the challenge of its 401, sending the request again".into()
        });
        self.auth_tried = true;
        self.auth_retry = Some(Box::new(retry));
        self.rx.redirect = Some((401, Box::new(target!(self).clone())));
        self.rx.discard = true;
    }

    /// A redirect to `location`: followed after this response (its body is read and
    /// dropped), or only reported in the info (`CURLINFO_REDIRECT_URL`).
    fn on_redirect(&mut self, h: &mut dyn Handler, status: u16, location: &str) -> Result<()> {
        match target!(self).join(location) {
            Ok(next) if self.opts.follow => {
                if self.redirects >= self.opts.max_redirects {
                    return Err(Error::new(
                        ErrorKind::TooManyRedirects,
                        format!("maximum ({}) redirects followed", self.opts.max_redirects),
                    ));
                }
                if next.scheme.is_ws() != target!(self).scheme.is_ws() {
                    return Err(Error::new(
                        ErrorKind::UnsupportedProtocol,
                        format!("redirect to {} changes the protocol", next.url),
                    ));
                }
                self.text(h, || {
                    format!("Issue another request to this URL: '{}'", next.url)
                });
                self.rx.redirect = Some((status, Box::new(next)));
                self.rx.discard = true;
            }
            Ok(next) => self.info.redirect_url = Some(next.url.to_string()),
            Err(e) if self.opts.follow => return Err(e),
            Err(_) => {}
        }
        Ok(())
    }

    /// Set up the next request of a redirect chain (RFC 9110 §15.4).
    pub(super) fn follow(
        &mut self,
        h: &mut dyn Handler,
        status: u16,
        next: Box<Target>,
        now: Instant,
    ) -> Result<()> {
        if status == 401 {
            // The same request again with the credentials (see `on_unauthorized`).
            if let Body::Read(_) = self.body {
                if self.up.body_sent > 0 && !h.rewind() {
                    return Err(Error::new(
                        ErrorKind::SendFailRewind,
                        "cannot resend the upload with the credentials",
                    ));
                }
            }
            self.redirected = Some(next);
            self.retried = false;
            self.state = State::Init;
            return Ok(());
        }
        let post_to_get = match status {
            303 => self.method != "HEAD",
            301 | 302 => self.method == "POST",
            _ => false,
        };
        if post_to_get {
            self.method = "GET".into();
            self.opts.method = None;
            self.body = Body::None;
            self.body_dropped = true;
        } else if let Body::Read(_) = self.body {
            if self.up.body_sent > 0 && !h.rewind() {
                return Err(Error::new(
                    ErrorKind::SendFailRewind,
                    "cannot resend the upload for the redirect",
                ));
            }
        }
        self.redirects += 1;
        self.info.redirect_count = self.redirects;
        self.info.redirect_time = now.saturating_duration_since(self.started.unwrap_or(now));
        self.info.effective_url = next.url.to_string();
        self.redirected = Some(next);
        self.retried = false;
        self.fresh = self.opts.fresh_connect;
        self.timers.connect = None;
        self.state = State::Init;
        Ok(())
    }

    /// A request on a reused connection may be retried once when the server closed that
    /// connection before answering (a keep-alive race), and the body can be sent again.
    pub(super) fn can_retry(&mut self, h: &mut dyn Handler) -> bool {
        if !self.info.reused || self.retried || self.rx.got_bytes {
            return false;
        }
        match self.body {
            // A form is encoded again from its start for the next request.
            Body::None | Body::Bytes(_) | Body::Mime(_) => true,
            Body::Read(_) => self.up.body_sent == 0 || h.rewind(),
        }
    }

    pub(super) fn retry<S: Services>(
        &mut self,
        core: &mut S,
        h: &mut dyn Handler,
        why: Error,
    ) -> Result<Next> {
        self.text(h, || {
            format!("Connection died ({why}), retrying with a fresh connection")
        });
        if let Some(conn) = self.conn.take() {
            core.release(conn, false);
        }
        self.slot_key = None;
        self.retried = true;
        self.fresh = true;
        self.info.reused = false;
        self.timers.connect = None;
        self.state = State::Init;
        Ok(Next::Again)
    }
}

pub(super) fn is_conn_failure(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::SendError | ErrorKind::RecvError)
}
