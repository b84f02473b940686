//! Getting a connection: pool checkout or a connection slot (`Init`), name resolution
//! (`Resolving`), and the address walk with TCP and TLS (`Connecting`), with curl's messages
//! when every address failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::services::{Checkout, Services};
use crate::dns::Answer;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::id::TransferId;
use crate::transport::{tls, Conn, Phase, Stream};

use super::{Next, State, Transfer, CONNECT_ATTEMPT_MAX};

impl Transfer {
    // ----- Init --------------------------------------------------------------------------

    pub(super) fn on_init<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        if self.started.is_none() {
            self.started = Some(now);
            self.deadline_total = self.opts.timeout.map(|t| now + t);
            if self.opts.progress {
                self.progress_next = Some(now + Duration::from_secs(1));
            }
            self.fresh = self.opts.fresh_connect;
        }
        let tls_id = if target!(self).scheme.is_tls() {
            core.tls().get(&self.opts.tls)?.0
        } else {
            0
        };
        let key = core.pool_key(
            target!(self).scheme.is_tls(),
            &target!(self).host,
            target!(self).port,
            tls_id,
        );
        match core.checkout(&key, self.fresh, id) {
            Checkout::Reused(conn) => {
                self.text(h, || {
                    format!(
                        "Re-using existing connection #{} with host {}",
                        conn.serial,
                        target!(self).host
                    )
                });
                self.slot_key = Some(key);
                self.info.reused = true;
                self.info.local_addr = conn.local;
                self.info.remote_addr = Some(conn.remote);
                self.conn = Some(conn);
                self.begin_request(core, h, now)?;
                Ok(Next::Again)
            }
            Checkout::New => {
                self.deadline_connect = Some(now + self.opts.connect_timeout);
                self.slot_key = Some(key);
                self.info.reused = false;
                match core.resolver().resolve(
                    &target!(self).host,
                    target!(self).port,
                    id.as_u64(),
                    now,
                ) {
                    Some(ans) => {
                        self.on_resolved(ans, now);
                        Ok(Next::Again)
                    }
                    None => {
                        self.text(h, || format!("Resolving {}", target!(self).host));
                        self.state = State::Resolving;
                        Ok(Next::Yield)
                    }
                }
            }
            Checkout::Wait => {
                self.text(h, || "No connection available, the transfer waits".into());
                self.state = State::Pending;
                Ok(Next::Yield)
            }
        }
    }

    /// The resolver answered.
    pub(crate) fn on_resolved(&mut self, answer: Answer, now: Instant) {
        self.info.namelookup_time = now.saturating_duration_since(self.started.unwrap_or(now));
        match answer {
            Ok(addrs) => {
                self.addrs = Some(addrs);
                self.next_addr = 0;
                self.last_connect_error = None;
                self.state = State::Connecting;
            }
            Err(msg) => {
                // Reported by the Connecting step so that the failure path is the same.
                self.addrs = Some(Arc::from([]));
                self.last_connect_error = Some(Error::new(
                    ErrorKind::CouldntResolveHost,
                    // Display reads "could not resolve host: HOST: why".
                    if msg.starts_with(target!(self).host.as_str()) {
                        msg
                    } else {
                        format!("{}: {msg}", target!(self).host)
                    },
                ));
                self.state = State::Connecting;
            }
        }
    }

    // ----- Connecting ----------------------------------------------------------------------

    pub(super) fn on_connecting<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
        now: Instant,
    ) -> Result<Next> {
        loop {
            if self.conn.is_none() {
                let addrs = self.addrs.clone().unwrap_or_else(|| Arc::from([]));
                let Some(&addr) = addrs.get(self.next_addr) else {
                    return Err(self.connect_failed(now));
                };
                self.next_addr += 1;
                self.text(h, || format!("Trying {addr}..."));
                let tcp = match core.connect_tcp(addr) {
                    Ok(t) => t,
                    Err(e) => {
                        self.last_connect_error = Some(
                            Error::new(ErrorKind::CouldntConnect, format!("{addr}: {e}"))
                                .with_source(e),
                        );
                        continue;
                    }
                };
                let stream = if target!(self).scheme.is_tls() {
                    let (_, cfg) = core.tls().get(&self.opts.tls)?;
                    Stream::new_tls(tcp, tls::connect(cfg, &target!(self).host)?)
                } else {
                    Stream::Tcp(tcp)
                };
                let key = self
                    .slot_key
                    .clone()
                    .ok_or_else(|| Error::from_kind(ErrorKind::Internal))?;
                let serial = core.next_serial();
                let mut conn = Box::new(Conn::new(stream, addr, key, serial));
                core.register(&mut conn, id)
                    .map_err(|e| Error::new(ErrorKind::CouldntConnect, e.to_string()))?;
                let left = addrs.len() - self.next_addr;
                let remaining = self
                    .deadline_connect
                    .map(|d| d.saturating_duration_since(now))
                    .unwrap_or(CONNECT_ATTEMPT_MAX);
                let per = if left > 0 {
                    (remaining / (left as u32 + 1)).min(CONNECT_ATTEMPT_MAX)
                } else {
                    remaining
                };
                self.deadline_attempt = Some(now + per);
                self.conn = Some(conn);
            }
            let conn = self.conn.as_mut().expect("set above");
            let before = conn.phase;
            match conn.connect_step() {
                Ok(ready) => {
                    if before == Phase::TcpConnecting && conn.phase != Phase::TcpConnecting {
                        self.info.connect_time =
                            now.saturating_duration_since(self.started.unwrap_or(now));
                        self.info.local_addr = conn.local;
                        self.info.remote_addr = Some(conn.remote);
                        self.info.num_connects += 1;
                        // The per-address deadline is for TCP only; the TLS handshake runs
                        // under the connect timeout (a slow handshake is not a bad address).
                        self.deadline_attempt = None;
                        let (serial, remote) = (conn.serial, conn.remote);
                        self.text(h, || {
                            format!("Connected to {} ({remote}) #{serial}", target!(self).host)
                        });
                    }
                    if !ready {
                        return Ok(Next::Yield);
                    }
                    if target!(self).scheme.is_tls() {
                        self.info.appconnect_time =
                            now.saturating_duration_since(self.started.unwrap_or(now));
                        self.text(h, || "TLS handshake done".into());
                    }
                    self.deadline_attempt = None;
                    self.begin_request(core, h, now)?;
                    return Ok(Next::Again);
                }
                Err(e) => {
                    let c = self.conn.take().expect("set above");
                    let tcp_phase = c.phase == Phase::TcpConnecting;
                    core.drop_attempt(c);
                    if tcp_phase && e.kind() == ErrorKind::CouldntConnect {
                        self.text(h, || format!("connect failed: {e}"));
                        self.last_connect_error = Some(e);
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Every address failed (or there was none): the last failure, said the way curl says
    /// it ("Failed to connect to HOST port PORT after N ms: why").
    pub(super) fn connect_failed(&mut self, now: Instant) -> Error {
        let last = self.last_connect_error.take();
        if let Some(e) = last
            .as_ref()
            .filter(|e| e.kind() == ErrorKind::CouldntResolveHost)
        {
            return Error::new(e.kind(), e.detail().unwrap_or_default().to_owned());
        }
        let kind = last.as_ref().map_or(ErrorKind::CouldntConnect, Error::kind);
        let why = last
            .as_ref()
            .and_then(Error::detail)
            .unwrap_or("no address to connect to");
        let msg = format!(
            "failed to connect to {} after {} ms: {why}",
            self.peer_text(),
            self.elapsed_ms(now)
        );
        match last.and_then(|e| e.into_source()) {
            Some(src) => Error::new(kind, msg).with_source(src),
            None => Error::new(kind, msg),
        }
    }

    /// `HOST port PORT` of the current target, for messages.
    pub(super) fn peer_text(&self) -> String {
        format!("{} port {}", target!(self).host, target!(self).port)
    }

    /// Milliseconds since the transfer started.
    pub(super) fn elapsed_ms(&self, now: Instant) -> u128 {
        now.saturating_duration_since(self.started.unwrap_or(now))
            .as_millis()
    }
}
