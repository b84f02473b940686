//! WebSocket sessions, like nc: stdin to the server, the server to stdout.
//!
//! Connect-only model: the Multi does the upgrade, then this loop sends with `Multi::ws(id)`
//! and receives with `recv`. A thread reads stdin and hands lines (or chunks) over a channel,
//! waking the Multi with its waker. `--ws-ping` is the library's keepalive
//! (`Easy::ws_keepalive`).

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use curlew::ws::{WsError, BINARY, TEXT};
use curlew::{Easy, ErrorKind, Multi, MultiWaker, TransferId};

use crate::{common_options, exit_code, secs, Args, Fail};

/// Longest wait in one poll: connect-only receives are polled by this loop.
const TICK: Duration = Duration::from_millis(20);
/// How long to wait for the server's CLOSE after ours.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Shortest wait for the answer to a `--ws-ping` ping (otherwise as long as the interval).
const PONG_WAIT_MIN: Duration = Duration::from_secs(1);
/// Largest stdin chunk sent as one BINARY message.
const CHUNK: usize = 64 * 1024;

/// What the stdin thread hands over.
enum Input {
    Msg(Vec<u8>),
    Eof,
}

fn stdin_thread(binary: bool, tx: mpsc::Sender<Input>, waker: MultiWaker) {
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut stdin = stdin.lock();
        loop {
            let msg = if binary {
                let mut buf = vec![0u8; CHUNK];
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some(buf)
                    }
                }
            } else {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        Some(line)
                    }
                }
            };
            let done = msg.is_none();
            if tx.send(msg.map_or(Input::Eof, Input::Msg)).is_err() {
                return;
            }
            let _ = waker.wake();
            if done {
                return;
            }
        }
    });
}

/// Messages waiting to be sent; the front one may be partly sent.
struct Outbox {
    queue: VecDeque<(Vec<u8>, u32)>,
    /// Bytes of the front message already accepted.
    sent: usize,
}

impl Outbox {
    /// Send what the queue accepts now; a partial send keeps the rest for later (same frame).
    fn flush(&mut self, multi: &mut Multi, id: TransferId) -> Result<(), Fail> {
        while let Some((data, flags)) = self.queue.front() {
            let mut ws = multi.ws(id).map_err(ws_fail)?;
            match ws.send(&data[self.sent..], *flags) {
                Ok(n) => {
                    self.sent += n;
                    if self.sent >= data.len() {
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
}

fn ws_fail(e: WsError) -> Fail {
    match e {
        WsError::Protocol(p) => Fail::new(56, format!("WebSocket protocol error: {p}")),
        WsError::Closed => Fail::new(56, "WebSocket closed"),
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
    /// The server closed (its CLOSE was received, or the connection ended).
    Closed,
    /// `--ws-count` messages arrived.
    CountReached,
}

struct Receiver {
    count: u64,
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
                            return Ok(Event::Closed);
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
                    return Ok(Event::Closed);
                }
                Err(e) => return Err(ws_fail(e)),
            }
        }
    }
}

/// Let the multi flush what is queued (a CLOSE after a protocol error, say), bounded.
fn settle(multi: &mut Multi, id: TransferId) {
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        if multi.ws(id).map_or(true, |ws| ws.queued() == 0) {
            break;
        }
        let _ = multi.poll(Some(TICK));
    }
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

    // 1. The upgrade.
    loop {
        multi
            .poll(Some(Duration::from_millis(100)))
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

    // 2. The session.
    let mut outbox = Outbox {
        queue: args
            .ws_send
            .iter()
            .map(|s| (s.as_bytes().to_vec(), TEXT))
            .collect(),
        sent: 0,
    };
    let (tx, rx) = mpsc::channel();
    stdin_thread(args.ws_binary, tx, multi.waker());
    let flags = if args.ws_binary { BINARY } else { TEXT };
    let mut stdin_done = false;
    let mut closing: Option<Instant> = None;
    let mut rx_state = Receiver {
        count: 0,
        close_payload: Vec::new(),
    };
    let result = loop {
        // Input from stdin.
        if !stdin_done {
            loop {
                match rx.try_recv() {
                    Ok(Input::Msg(m)) => outbox.queue.push_back((m, flags)),
                    Ok(Input::Eof) | Err(mpsc::TryRecvError::Disconnected) => {
                        stdin_done = true;
                        break;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                }
            }
        }
        if closing.is_none() {
            if let Err(f) = outbox.flush(&mut multi, id) {
                break Err(f);
            }
            if stdin_done && outbox.queue.is_empty() {
                if let Ok(mut ws) = multi.ws(id) {
                    let _ = ws.close(1000, "");
                }
                closing = Some(Instant::now() + CLOSE_WAIT);
            }
        }
        // Received frames.
        match rx_state.drain(args, &mut multi, id) {
            Ok(Event::Idle) => {}
            Ok(Event::Closed) => break Ok(()),
            Ok(Event::CountReached) => {
                if closing.is_none() {
                    if let Ok(mut ws) = multi.ws(id) {
                        let _ = ws.close(1000, "");
                    }
                }
                break Ok(());
            }
            Err(f) => break Err(f),
        }
        let now = Instant::now();
        if closing.is_some_and(|d| now >= d) {
            break Ok(());
        }
        if deadline.is_some_and(|d| now >= d) {
            break Err(Fail::new(28, "operation timed out"));
        }
        let mut wait = TICK;
        for t in [deadline, closing].into_iter().flatten() {
            wait = wait.min(t.saturating_duration_since(now));
        }
        if let Err(e) = multi.poll(Some(wait)) {
            break Err(Fail::new(2, format!("poll: {e}")));
        }
        // A failure of the connection shows up as a completion message.
        while let Some(msg) = multi.info_read() {
            if let Err(e) = msg.result {
                return Err(Fail::from(e));
            }
        }
    };
    let _ = io::stdout().flush();
    // Our CLOSE (or the echo of the server's, or the one a protocol error queued) goes out
    // before the process ends.
    settle(&mut multi, id);
    result
}
