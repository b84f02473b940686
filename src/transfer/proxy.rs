//! A transfer through a proxy: the tunnel handshake its connection runs (HTTP `CONNECT`,
//! SOCKS) and curl's messages about it, or the absolute form of a plain HTTP request to an
//! HTTP proxy. Which proxy, if any, is chosen per request in [`crate::proxy`].

use std::net::IpAddr;

use super::request::{cnonce, AuthRetry};
use super::{internal, Transfer};
use crate::auth::digest::Challenge;
use crate::auth::HttpAuth;
use crate::error::Result;
use crate::handler::Handler;
use crate::proto::proxy::{ConnectRequest, HttpConnect, Socks4, Socks5, SocksTarget};
use crate::proxy::Proxy;
use crate::transport::connector::TlsPlan;
use crate::transport::tls::{self, TlsOptions};
use crate::transport::tunnel::{tunnel_error, Tunnel};
use crate::transport::Mux;

use super::services::Services;
use crate::ProxyKind;

impl Transfer {
    /// How this request may multiplex: never in absolute form through an HTTP proxy (it
    /// speaks HTTP/1.1 to the proxy), never once a WebSocket fell back to HTTP/1.1.
    pub(super) fn mux(&self) -> Mux {
        if self.ws_h1 || self.absolute_form() {
            return Mux::No;
        }
        self.opts.mux_for(target!(self))
    }

    /// For an HTTPS proxy: its TLS configuration's id and the plan for TLS to it (its own
    /// roots and checks, ALPN `http/1.1`, no client certificate).
    pub(super) fn proxy_tls<S: Services>(&self, core: &mut S) -> Result<Option<(u64, TlsPlan)>> {
        let Some(p) = self.proxy.as_deref().filter(|p| p.kind == ProxyKind::Https) else {
            return Ok(None);
        };
        let opts = TlsOptions {
            ca_file: self.opts.proxy.ca_file.clone(),
            insecure: self.opts.proxy.insecure,
            client_cert: None,
            alpn: vec![crate::options::ALPN_H1.to_vec()],
            versions: (None, None),
            ca_path: None,
            ca_blob: None,
            pins: None,
            custom: None,
        };
        let (id, cfg) = core.tls().get(&opts)?;
        Ok(Some((id, (cfg, tls::server_name(&p.host)?))))
    }

    /// The request goes to an HTTP proxy in absolute form (plain `http://`, no tunnel).
    pub(super) fn absolute_form(&self) -> bool {
        self.proxy
            .as_deref()
            .is_some_and(|p| !p.tunnels(target!(self).scheme))
    }

    /// The `Proxy-Authorization` value for `method uri` to the proxy: the answer to its `407`
    /// being retried, or Basic at once when that is the proxy's auth (the default).
    pub(super) fn proxy_authorization<S: Services>(
        &self,
        core: &mut S,
        method: &str,
        uri: &str,
    ) -> Result<Option<String>> {
        let Some(p) = self.proxy.as_deref() else {
            return Ok(None);
        };
        Ok(match self.proxy_retry.as_deref() {
            Some(AuthRetry::Digest(ch)) => match &p.creds {
                Some((u, pw)) => Some(ch.answer(u, pw, method, uri, &cnonce(core)?)),
                None => None,
            },
            Some(AuthRetry::Basic) => p.basic_auth(),
            None if self.opts.proxy.auth == HttpAuth::Basic => p.basic_auth(),
            None => None,
        })
    }

    /// A proxy's `407` with its `Proxy-Authenticate` values: with Digest or Any asked for
    /// and credentials for the proxy, the answer to its challenge goes with the next try
    /// (once). Whether to try again.
    pub(super) fn proxy_challenged<'a>(
        &mut self,
        h: &mut dyn Handler,
        challenges: impl Iterator<Item = &'a [u8]>,
    ) -> bool {
        let auth = self.opts.proxy.auth;
        let has_creds = self.proxy.as_deref().is_some_and(|p| p.creds.is_some());
        if self.proxy_auth_tried || auth == HttpAuth::Basic || !has_creds {
            return false;
        }
        let values: Vec<&[u8]> = challenges.collect();
        let basic = |v: &&[u8]| v.get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"basic"));
        let retry = match Challenge::find(values.iter().copied()) {
            Some(ch) => AuthRetry::Digest(ch),
            None if auth == HttpAuth::Any && values.iter().any(basic) => AuthRetry::Basic,
            None => return false,
        };
        self.text(h, || {
            "Proxy auth using the challenge of its 407, trying again".into()
        });
        self.proxy_auth_tried = true;
        self.proxy_retry = Some(Box::new(retry));
        true
    }

    /// The handshake a new connection runs after TCP, if it goes through a tunnel.
    pub(super) fn tunnel_for<S: Services>(&self, core: &mut S) -> Result<Option<Tunnel>> {
        let Some(p) = self.proxy.as_deref() else {
            return Ok(None);
        };
        let t = target!(self);
        if !p.tunnels(t.scheme) {
            return Ok(None);
        }
        let authority = Proxy::authority(&t.host, t.port);
        let tunnel = match p.kind {
            ProxyKind::Http | ProxyKind::Https => {
                let auth = self.proxy_authorization(core, "CONNECT", &authority)?;
                Tunnel::Http(HttpConnect::new(&ConnectRequest {
                    authority: &authority,
                    proxy_authorization: auth.as_deref(),
                    user_agent: self.opts.user_agent.as_deref(),
                }))
            }
            kind => {
                let target = self.socks_target(p, t.port)?;
                let user = p.creds.as_ref().map(|(u, p)| (u.as_str(), p.as_str()));
                match kind {
                    ProxyKind::Socks4 | ProxyKind::Socks4a => Tunnel::Socks4(
                        Socks4::new(&target, user.map_or("", |c| c.0)).map_err(tunnel_error)?,
                    ),
                    _ => Tunnel::Socks5(Socks5::new(&target, user).map_err(tunnel_error)?),
                }
            }
        };
        Ok(Some(tunnel))
    }

    /// What a SOCKS proxy is asked to connect to: the address resolved here (SOCKS4,
    /// SOCKS5), or the name (SOCKS4a, SOCKS5h; and any IP literal as an address).
    fn socks_target(&self, p: &Proxy, port: u16) -> Result<SocksTarget> {
        let host = &target!(self).host;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocksTarget::Addr(ip, port));
        }
        Ok(match p.kind {
            ProxyKind::Socks4 | ProxyKind::Socks5 => {
                let c = self.connector.as_deref().ok_or_else(internal)?;
                SocksTarget::Addr(c.socks_addr.ok_or_else(internal)?, port)
            }
            _ => SocksTarget::Name(host.clone(), port),
        })
    }

    /// TLS to an HTTPS proxy is up.
    pub(super) fn on_proxy_tls_done(&self, h: &mut dyn Handler) {
        if let Some(p) = self.proxy.as_deref().filter(|p| p.kind == ProxyKind::Https) {
            self.text(h, || {
                format!("TLS handshake with the proxy {} done", p.host)
            });
            self.announce_tunnel(h);
        }
    }

    /// TCP to the proxy is up: say what the tunnel handshake sends, as curl does.
    pub(super) fn announce_tunnel(&self, h: &mut dyn Handler) {
        if !self.opts.verbose {
            return;
        }
        let Some(t) = self.conn.as_deref().and_then(|c| c.tunnel.as_deref()) else {
            return;
        };
        let target = target!(self);
        let authority = Proxy::authority(&target.host, target.port);
        match t {
            Tunnel::Http(hs) => {
                self.text(h, || format!("Establish HTTP proxy tunnel to {authority}"));
                h.debug(crate::DebugKind::HeaderOut, hs.request());
            }
            _ => {
                let kind = self.proxy.as_deref().map_or("SOCKS", |p| p.kind.name());
                let how = match target.host.parse::<IpAddr>() {
                    Err(_) if matches!(kind, "SOCKS4a" | "SOCKS5h") => "remotely resolved",
                    _ => "locally resolved",
                };
                self.text(h, || format!("{kind} connect to {authority} ({how})"));
            }
        }
    }

    /// The tunnel is up: its status in the info, curl's words in the debug callback.
    pub(super) fn on_tunnel_done(&mut self, h: &mut dyn Handler) {
        let Some(t) = self.conn.as_deref().and_then(|c| c.tunnel.as_deref()) else {
            return;
        };
        match t {
            Tunnel::Http(hs) => {
                let code = hs.status().unwrap_or(0);
                self.info.http_connectcode = code;
                if self.opts.verbose {
                    h.debug(crate::DebugKind::HeaderIn, hs.response_head());
                }
                self.text(h, || format!("CONNECT tunnel established, response {code}"));
            }
            Tunnel::Socks4(_) => self.text(h, || "SOCKS4 request granted.".into()),
            Tunnel::Socks5(_) => self.text(h, || "SOCKS5 request granted.".into()),
        }
    }
}
