//! [`WsClient`]: a blocking WebSocket client for scripts and tests, on a private
//! [`Multi`](crate::Multi) with one connect-only transfer.

use std::time::{Duration, Instant};

use super::{CloseCode, Message, MessageRef, WsError};
use crate::{Easy, Error, Multi, TransferId};

/// How long dropping an open [`WsClient`] waits for the close handshake (then the connection
/// is closed anyway).
pub const WS_CLIENT_DROP_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A blocking WebSocket client: connect, send, receive with a timeout, close. Each call runs
/// a private [`Multi`](crate::Multi) until it can answer, so everything the engine does for
/// connect-only transfers applies (TLS, proxies, HTTP/2 by RFC 8441, permessage-deflate,
/// keepalive, the limits): set it on the [`Easy`] given to [`WsClient::connect_with`].
///
/// ```no_run
/// use curlew::ws::{Message, WsClient, CloseCode};
/// use std::time::Duration;
///
/// let mut ws = WsClient::connect("wss://echo.example/")?;
/// ws.send(Message::text("hello"))?;
/// match ws.recv_timeout(Duration::from_secs(5))? {
///     Message::Text(t) => println!("got {t}"),
///     other => println!("got {other:?}"),
/// }
/// ws.close(CloseCode::Normal, "bye")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WsClient {
    multi: Multi,
    id: TransferId,
    buf: Vec<u8>,
    closed: bool,
    /// The multi's readiness list, taken after each wait so that news of this run (room in
    /// the send queue) ends the next wait at once.
    ready: Vec<(TransferId, crate::multi::Ready)>,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("id", &self.id)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl WsClient {
    /// Connect to a `ws://` or `wss://` URL with the default options.
    pub fn connect(url: &str) -> Result<WsClient, Error> {
        WsClient::connect_with(Easy::new(url)?)
    }

    /// Connect with the options of `easy` (its URL, TLS, proxy, `ws_*` options, timeouts:
    /// the connect timeout bounds this call); connect-only mode is turned on.
    pub fn connect_with(mut easy: Easy) -> Result<WsClient, Error> {
        easy.connect_only(true);
        let mut multi = Multi::new();
        let id = multi.add(easy);
        loop {
            multi.poll(None).map_err(|e| {
                Error::new(crate::ErrorKind::Internal, format!("poll: {e}")).with_source(e)
            })?;
            if let Some(msg) = multi.info_read() {
                msg.result?;
                return Ok(WsClient {
                    multi,
                    id,
                    buf: Vec::new(),
                    closed: false,
                    ready: Vec::new(),
                });
            }
        }
    }

    /// Send a whole message, waiting while the send queue is full (a message larger than the
    /// queue goes in pieces as it drains). Returns once all of it is queued; the connection
    /// flushes it on later calls ([`flush`](Self::flush) waits for that).
    pub fn send(&mut self, msg: Message) -> Result<(), WsError> {
        self.send_ref(msg.as_ref())
    }

    /// [`send`](Self::send) without giving up the message.
    pub fn send_ref(&mut self, msg: MessageRef<'_>) -> Result<(), WsError> {
        let mut scratch = Vec::new();
        let (flags, data) = msg.wire(&mut scratch);
        if !msg.is_data() {
            return self.until(None, |c| c.multi.ws(c.id)?.send_msg(msg));
        }
        let mut sent = 0;
        loop {
            match self.multi.ws(self.id)?.send(&data[sent..], flags) {
                Ok(n) => sent += n,
                Err(WsError::WouldBlock) => {}
                Err(e) => return Err(e),
            }
            if sent == data.len() {
                self.multi.perform().map_err(io_error)?;
                return Ok(());
            }
            self.turn(None)?;
        }
    }

    /// Receive the next message, waiting as long as it takes.
    pub fn recv(&mut self) -> Result<Message, WsError> {
        self.recv_until(None)
    }

    /// Receive the next message, waiting at most `timeout` ([`WsError::TimedOut`] then; the
    /// part of a message received so far is kept for the next call).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Message, WsError> {
        self.recv_until(Instant::now().checked_add(timeout))
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Message, WsError> {
        let msg = self.until(deadline, |c| {
            let buf = &mut c.buf;
            c.multi.ws(c.id)?.recv_msg(buf).map(|m| m.to_message())
        })?;
        self.buf.clear();
        Ok(msg)
    }

    /// Wait until everything queued has been written to the connection.
    pub fn flush(&mut self) -> Result<(), WsError> {
        self.until(None, |c| match c.multi.ws(c.id)?.queued() {
            0 => Ok(()),
            _ => Err(WsError::WouldBlock),
        })
    }

    /// Close: send a close frame with `code` and `reason`, then read (and drop) what comes
    /// until the peer's close ends the connection, within the transfer's close timeout
    /// ([`Easy::ws_close_timeout`](crate::Easy::ws_close_timeout)).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), WsError> {
        if !self.closed {
            self.closed = true;
            self.multi.ws(self.id)?.close(code.into(), reason)?;
        }
        loop {
            match self.recv() {
                Ok(_) => continue,
                Err(WsError::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// The transfer's info (the upgrade's response code, timings, ...).
    pub fn info(&self) -> Option<&crate::TransferInfo> {
        self.multi.info(self.id)
    }

    /// Run `f` until it answers something other than `WouldBlock`, waiting for the multi in
    /// between, until `deadline`.
    fn until<T>(
        &mut self,
        deadline: Option<Instant>,
        mut f: impl FnMut(&mut WsClient) -> Result<T, WsError>,
    ) -> Result<T, WsError> {
        loop {
            match f(self) {
                Err(WsError::WouldBlock) => self.turn(deadline)?,
                r => return r,
            }
        }
    }

    /// One wait of the multi, bounded by `deadline`.
    fn turn(&mut self, deadline: Option<Instant>) -> Result<(), WsError> {
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Err(WsError::TimedOut),
            },
            None => None,
        };
        self.multi.poll(left).map_err(io_error)?;
        self.multi.ws_ready(&mut self.ready);
        self.ready.clear();
        Ok(())
    }
}

fn io_error(e: std::io::Error) -> WsError {
    WsError::Io(e)
}

impl Drop for WsClient {
    /// An open client closes with 1000 and waits at most [`WS_CLIENT_DROP_CLOSE_WAIT`] for
    /// the peer's close.
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let Ok(mut ws) = self.multi.ws(self.id) else {
            return;
        };
        if ws.close(1000, "").is_err() {
            return;
        }
        let deadline = Instant::now() + WS_CLIENT_DROP_CLOSE_WAIT;
        while self.recv_until(Some(deadline)).is_ok() {}
    }
}
