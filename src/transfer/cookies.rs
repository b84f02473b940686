//! The transfer's side of the cookie engine: its options, reading the cookie files when it
//! starts, the `Cookie` header of each request, and the `Set-Cookie` lines of each response
//! head into the multi's [`CookieJar`](crate::cookie::CookieJar).

use std::path::PathBuf;

use super::services::Services;
use super::Transfer;
use crate::cookie::Origin;
use crate::handler::{DebugKind, Handler};
use crate::proto::http1::ResponseHead;

/// A transfer's cookie options (`CURLOPT_COOKIE`, `COOKIEFILE`, `COOKIEJAR`, `COOKIESESSION`).
#[derive(Clone, Debug, Default)]
pub(crate) struct CookieOptions {
    /// Cookies sent as they are, after the engine's (`CURLOPT_COOKIE`).
    pub(crate) fixed: Option<String>,
    /// Files read into the jar when the transfer starts; setting any turns the engine on.
    pub(crate) files: Vec<PathBuf>,
    /// Where the jar is written when the transfer is done.
    pub(crate) jar: Option<PathBuf>,
    /// Session cookies in the files are skipped (`CURLOPT_COOKIESESSION`).
    pub(crate) new_session: bool,
    /// The engine: cookies received are stored, stored cookies are sent.
    pub(crate) engine: bool,
}

impl Transfer {
    /// Read the cookie files into the jar (each once per multi; a missing one is no cookies).
    pub(super) fn load_cookie_files<S: Services>(&self, core: &mut S, h: &mut dyn Handler) {
        let keep_session = !self.opts.cookies.new_session;
        for path in &self.opts.cookies.files {
            if let Err(e) = core.cookies().load_once(path, keep_session) {
                if self.opts.verbose {
                    let msg = format!("skipped cookie file {}: {e}\n", path.display());
                    h.debug(DebugKind::Text, msg.as_bytes());
                }
            }
        }
    }

    /// The `Cookie` header value for this hop into `out`: the engine's matching cookies,
    /// then `CURLOPT_COOKIE`'s (to the first origin only unless `unrestricted_auth`).
    pub(super) fn cookie_value<S: Services>(&self, core: &mut S, out: &mut String) {
        let c = &self.opts.cookies;
        if c.engine {
            if let Some(o) = Origin::of(&target!(self).url) {
                let now = core.unix_time();
                core.cookies().header(&o, now, out);
            }
        }
        let cross_origin = self.redirected.is_some()
            && !self.opts.unrestricted_auth
            && !self.opts.target.same_origin(target!(self));
        if let Some(fixed) = c.fixed.as_deref().filter(|_| !cross_origin) {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(fixed);
        }
    }

    /// The `Set-Cookie` lines of a response head into the jar, at most
    /// [`CookieLimits::per_response`](crate::cookie::CookieLimits) of them.
    pub(super) fn store_cookies<S: Services>(
        &self,
        core: &mut S,
        h: &mut dyn Handler,
        head: &ResponseHead,
    ) {
        if !self.opts.cookies.engine {
            return;
        }
        let Some(o) = Origin::of(&target!(self).url) else {
            return;
        };
        let now = core.unix_time();
        let jar = core.cookies();
        let most = jar.limits().per_response;
        for value in head.header_all("set-cookie").take(most) {
            let line = String::from_utf8_lossy(value);
            if let Err(e) = jar.store(&o, &line, now) {
                if self.opts.verbose {
                    h.debug(DebugKind::Text, format!("cookie ignored: {e}\n").as_bytes());
                }
            }
        }
    }
}
