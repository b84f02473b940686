//! WebSocket sessions, like nc: stdin to the server, the server to stdout.
//!
//! Connect-only model: the Multi does the upgrade, then this loop sends with `Multi::ws(id)`
//! and receives with `recv`. A thread reads stdin in pieces ([`stdin`](crate::stdin)) and
//! hands them over a bounded channel, waking the Multi with its waker. The loop takes the
//! next piece only once the previous one is wholly in the library's send queue, so a server
//! that stops reading stops the tool reading stdin (backpressure, as nc does): the tool holds
//! at most the send queue (`Easy::ws_max_send_queue`, 4 MiB) and
//! [`CHANNEL_PIECES`] + 2 pieces of at most [`CHUNK`](crate::stdin::CHUNK) bytes.
//!
//! The end: at the end of stdin the tool sends CLOSE 1000 and lets the library run the
//! closing handshake, bounded by its close timeout (`Easy::ws_close_timeout`, 5 s): exit 0
//! when the server answered, 28 when it did not (said on stderr). A CLOSE from the server is
//! answered, once the frame in flight is finished (RFC 6455 §5.5.1), and ends the session the
//! same way. After `--ws-count` messages the tool sends CLOSE 1000 and exits 0 without
//! waiting for the answer. `--ws-ping` is the library's keepalive (`Easy::ws_keepalive`).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use curlew::ws::{WsError, BINARY, CONT, TEXT};
use curlew::{Easy, ErrorKind, Multi, TransferId};

use crate::stdin::{spawn_reader, Input, Piece, CHANNEL_PIECES};
use crate::{common_options, exit_code, secs, Args, Fail};

/// Longest wait for the multi to flush our CLOSE (or the one a protocol error queued)
/// before the process ends.
const SETTLE_MAX: Duration = Duration::from_millis(500);
/// Shortest wait for the answer to a `--ws-ping` ping (otherwise as long as the interval).
const PONG_WAIT_MIN: Duration = Duration::from_secs(1);

/// A piece to send and its message type (`TEXT` or `BINARY`).
struct Out {
    piece: Piece,
    ty: u32,
}

/// Whether stdin may still bring pieces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stdin {
    Open,
    Done,
}

/// Pieces waiting to be sent: the `--ws-send` messages, then at most one stdin piece at a
/// time. The front one may be partly sent.
struct Outbox {
    queue: VecDeque<Out>,
    /// Bytes of the front piece already accepted.
    sent: usize,
}

impl Outbox {
    /// Send what the queue accepts now; a partial send keeps the rest for later (same frame).
    fn flush(&mut self, multi: &mut Multi, id: TransferId) -> Result<(), Fail> {
        while let Some(out) = self.queue.front() {
            let flags = if out.piece.last {
                out.ty
            } else {
                out.ty | CONT
            };
            let mut ws = multi.ws(id).map_err(ws_fail)?;
            match ws.send(&out.piece.data[self.sent..], flags) {
                Ok(n) => {
                    self.sent += n;
                    if self.sent >= out.piece.data.len() {
                        self.queue.pop_front();
                        self.sent = 0;
                    } else if n == 0 {
                        return Ok(());
                    }
                }
                Err(WsError::WouldBlock) => return Ok(()),
                Err(e) => return Err(ws_fail(e)),
            }
        }
        Ok(())
    }

    /// Send what the library's queue accepts, taking the next stdin piece only once the
    /// previous one was accepted whole (so a full queue stops the reading of stdin).
    fn pump(
        &mut self,
        stdin: &mpsc::Receiver<Input>,
        ty: u32,
        multi: &mut Multi,
        id: TransferId,
    ) -> Result<Stdin, Fail> {
        loop {
            self.flush(multi, id)?;
            if !self.queue.is_empty() {
                return Ok(Stdin::Open);
            }
            match stdin.try_recv() {
                Ok(Input::Piece(piece)) => self.queue.push_back(Out { piece, ty }),
                Ok(Input::Eof) | Err(mpsc::TryRecvError::Disconnected) => return Ok(Stdin::Done),
                Err(mpsc::TryRecvError::Empty) => return Ok(Stdin::Open),
            }
        }
    }

    /// Closing: finish the frame in flight, if any (RFC 6455 §5.5.1); drop everything else.
    /// The library refuses what would start a new frame.
    fn finish_frame(&mut self, multi: &mut Multi, id: TransferId) -> Result<(), Fail> {
        if self.sent == 0 {
            self.queue.clear();
            return Ok(());
        }
        self.queue.truncate(1);
        match self.flush(multi, id) {
            Err(_) => {
                // No frame was left open (a compressed piece ends its frame at each send).
                self.queue.clear();
                self.sent = 0;
                Ok(())
            }
            ok => ok,
        }
    }
}

fn ws_fail(e: WsError) -> Fail {
    match e {
        WsError::Protocol(p) => Fail::new(56, format!("WebSocket protocol error: {p}")),
        WsError::Closed => Fail::new(56, "WebSocket closed"),
        // The library ended the transfer: its error kind gives the exit code (28 when the
        // closing handshake timed out).
        WsError::Failed(e) => Fail::from(e),
        e => Fail::new(56, e.to_string()),
    }
}

/// Print the close code on stderr (always with -v; otherwise for codes other than 1000/1001).
fn report_close(args: &Args, payload: &[u8]) {
    let (code, reason) = if payload.len() >= 2 {
        (
            Some(u16::from_be_bytes([payload[0], payload[1]])),
            String::from_utf8_lossy(&payload[2..]).into_owned(),
        )
    } else {
        (None, String::new())
    };
    let normal = matches!(code, Some(1000 | 1001));
    if args.verbose || !normal {
        let code = code.map_or_else(|| "1005".to_string(), |c| c.to_string());
        eprintln!("closed: {code} {reason}");
    }
}

/// What happened while draining received frames.
enum Event {
    /// Nothing more for now.
    Idle,
    /// The server's CLOSE arrived: the library answers it (after the frame in flight).
    PeerClosed,
    /// `--ws-count` messages arrived.
    CountReached,
    /// The transfer is over: the closing handshake completed (or the server ended the
    /// connection after its CLOSE), or the library ended it with an error.
    Ended(Result<(), Fail>),
}

struct Receiver {
    count: u64,
    /// The server's CLOSE payload (at most 125 bytes).
    close_payload: Vec<u8>,
}

impl Receiver {
    fn drain(&mut self, args: &Args, multi: &mut Multi, id: TransferId) -> Result<Event, Fail> {
        let mut out = io::stdout().lock();
        loop {
            let mut ws = multi.ws(id).map_err(ws_fail)?;
            match ws.recv() {
                Ok((frame, data)) => {
                    if frame.is_close() {
                        self.close_payload.extend_from_slice(data);
                        if frame.bytesleft == 0 {
                            let _ = out.flush();
                            report_close(args, &self.close_payload);
                            return Ok(Event::PeerClosed);
                        }
                    } else if frame.is_text() || frame.is_binary() {
                        let w = out.write_all(data).and_then(|()| {
                            if frame.is_message_end() {
                                if frame.is_text() {
                                    out.write_all(b"\n")?;
                                }
                                out.flush()?;
                            }
                            Ok(())
                        });
                        if let Err(e) = w {
                            return Err(Fail::new(23, format!("writing stdout: {e}")));
                        }
                        if frame.is_message_end() {
                            self.count += 1;
                            if args.ws_count.is_some_and(|n| self.count >= n) {
                                return Ok(Event::CountReached);
                            }
                        }
                    }
                }
                Err(WsError::WouldBlock) => return Ok(Event::Idle),
                Err(WsError::Closed) => {
                    let _ = out.flush();
                    if args.verbose {
                        eprintln!("closed: connection ended");
                    }
                    return Ok(Event::Ended(Ok(())));
                }
                Err(e @ WsError::Failed(_)) => return Ok(Event::Ended(Err(ws_fail(e)))),
                Err(e) => return Err(ws_fail(e)),
            }
        }
    }
}

/// Let the multi flush what is queued (a CLOSE after a protocol error, say), bounded.
fn settle(multi: &mut Multi, id: TransferId) {
    let deadline = Instant::now() + SETTLE_MAX;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if multi.ws(id).map_or(true, |ws| ws.queued() == 0) {
            break;
        }
        let _ = multi.poll(Some(left));
    }
}

/// Start our closing handshake (CLOSE 1000). Failure means the transfer is already closing or
/// over, which the receive side reports.
fn send_close(multi: &mut Multi, id: TransferId) {
    if let Ok(mut ws) = multi.ws(id) {
        let _ = ws.close(1000, "");
    }
}

/// The upgrade: poll until the transfer reports it done (connect-only), bounded by `-m`.
fn upgrade(
    args: &Args,
    multi: &mut Multi,
    id: TransferId,
    deadline: Option<Instant>,
) -> Result<(), Fail> {
    loop {
        // Woken by the connection's events and the transfer's own timers; `-m` bounds it.
        let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        multi
            .poll(wait)
            .map_err(|e| Fail::new(2, format!("poll: {e}")))?;
        if let Some(msg) = multi.info_read() {
            if let Err(e) = msg.result {
                let mut f = Fail::from(e);
                if f.code == exit_code(ErrorKind::HttpReturnedError) {
                    let status = multi.info(id).map_or(0, |i| i.response_code);
                    f.msg = format!("WebSocket upgrade refused: HTTP {status}");
                }
                return Err(f);
            }
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Fail::new(28, "operation timed out during the upgrade"));
        }
    }
    if args.verbose {
        if let Some(p) = multi.info(id).and_then(|i| i.ws_protocol.clone()) {
            eprintln!("* WebSocket subprotocol: {p}");
        }
    }
    Ok(())
}

/// Run one WebSocket session.
pub fn run(args: &Args) -> Result<(), Fail> {
    let url = &args.urls[0];
    let mut easy = Easy::new(url)?;
    common_options(args, &mut easy)?;
    easy.connect_only(true);
    if args.ws_compress {
        // Offer permessage-deflate with client_max_window_bits (no value: the server may pick
        // the window); context takeover as the server accepts.
        easy.ws_compress(Some(curlew::ws::DeflateConfig::default()))?;
    }
    if !args.ws_subprotocol.is_empty() {
        easy.ws_protocols(&args.ws_subprotocol)?;
    }
    let start = Instant::now();
    // -m 0 means no limit, as in curl.
    let deadline = match args.max_time {
        Some(t) if t != 0.0 => Some(start + secs("--max-time", t)?),
        _ => None,
    };
    if let Some(t) = args.ws_ping.filter(|t| *t > 0.0) {
        let every = secs("--ws-ping", t)?;
        easy.ws_keepalive(Some((every, every.max(PONG_WAIT_MIN))));
    }
    // -m is enforced by the loops below (upgrade and session), not by the transfer's own
    // timeout, which would end the connect-only transfer under our feet.
    let mut multi = Multi::new();
    let id = multi.add(easy);
    upgrade(args, &mut multi, id, deadline)?;
    let result = session(args, &mut multi, id, deadline);
    let _ = io::stdout().flush();
    // Our CLOSE (or the one a protocol error queued) goes out before the process ends.
    settle(&mut multi, id);
    crate::save_cookies(args, &mut multi);
    result
}

/// The session after the upgrade, until the transfer ends.
fn session(
    args: &Args,
    multi: &mut Multi,
    id: TransferId,
    deadline: Option<Instant>,
) -> Result<(), Fail> {
    let mut outbox = Outbox {
        queue: args
            .ws_send
            .iter()
            .map(|s| Out {
                piece: Piece {
                    data: s.as_bytes().to_vec(),
                    last: true,
                },
                ty: TEXT,
            })
            .collect(),
        sent: 0,
    };
    let (tx, rx) = mpsc::sync_channel(CHANNEL_PIECES);
    spawn_reader(args.ws_binary, tx, multi.waker());
    let ty = if args.ws_binary { BINARY } else { TEXT };
    let mut stdin = Stdin::Open;
    // Our CLOSE is sent or the server's arrived: no new message starts.
    let mut closing = false;
    let mut rx_state = Receiver {
        count: 0,
        close_payload: Vec::new(),
    };
    // What the multi says has news; the first round reads what came with the upgrade.
    let mut ready = vec![(id, curlew::multi::Ready::INOUT)];
    loop {
        if closing {
            outbox.finish_frame(multi, id)?;
        } else if stdin == Stdin::Open {
            stdin = outbox.pump(&rx, ty, multi, id)?;
        } else {
            outbox.flush(multi, id)?;
        }
        if !closing && stdin == Stdin::Done && outbox.queue.is_empty() {
            send_close(multi, id);
            closing = true;
        }
        // Received frames, when the multi says some arrived (or the transfer ended).
        let news = ready.drain(..).any(|(i, r)| i == id && r.readable);
        let event = match news {
            true => rx_state.drain(args, multi, id)?,
            false => Event::Idle,
        };
        match event {
            Event::Idle => {}
            Event::PeerClosed => closing = true,
            Event::CountReached => {
                // The count is the goal: CLOSE 1000 goes out (see `settle`), without waiting
                // for the server's answer.
                if !closing {
                    send_close(multi, id);
                }
                return Ok(());
            }
            Event::Ended(r) => return r,
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(Fail::new(28, "operation timed out"));
        }
        // No tick: the socket's events, the keepalive's timers and stdin's wakeups end the
        // wait; `-m` bounds it.
        let wait = deadline.map(|d| d.saturating_duration_since(now));
        multi
            .poll(wait)
            .map_err(|e| Fail::new(2, format!("poll: {e}")))?;
        multi.ws_ready(&mut ready);
    }
}
