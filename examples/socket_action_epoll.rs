//! An external event loop on a plain poller (the `polling` crate: epoll on Linux, kqueue on the
//! BSDs and macOS, level-triggered) that drives HTTP and WebSocket transfers purely through
//! `Multi::socket_action` and the timer callback. No network needed: it starts its own
//! loopback HTTP server and WebSocket echo server (tungstenite) on threads.
//!
//! ```text
//! cargo run --release --example socket_action_epoll [-- --http N --ws W]
//! ```
//!
//! It runs N HTTP GETs (default 500), W WebSocket transfers of the callback model (default 50)
//! that echo messages from inside their write callback, half of them started by another
//! thread through a `CommandSender`, and one connect-only WebSocket whose messages are sent
//! with `multi.ws(id)` and received with `recv` when its socket is readable. It prints a
//! summary and exits with 1 on any failure.
//!
//! The mapping to libcurl's multi_socket API:
//!
//! | curl                                   | curlew                                             |
//! |----------------------------------------|----------------------------------------------------|
//! | `CURLMOPT_SOCKETFUNCTION`              | the socket callback of `Multi::with_socket_callbacks`: `(fd, SocketWhat, &mut Option<u64>)` |
//! | `CURL_POLL_IN/OUT/INOUT/REMOVE`        | `SocketWhat::{In, Out, InOut, Remove}`, reported on change only |
//! | `CURLMOPT_TIMERFUNCTION`               | the timer callback: `Some(duration)` (re)arms a one-shot timer, `None` cancels it |
//! | `curl_multi_socket_action(fd, ev_bitmask)` | `multi.socket_action(fd, Ready { readable, writable, error })` |
//! | `CURL_SOCKET_TIMEOUT`                  | `SOCKET_TIMEOUT` (with `Ready::NONE`) when the timer expires |
//! | `curl_multi_assign` / `socketp`        | the `&mut Option<u64>` token (here set inside the callback; `Multi::assign` also works) |
//! | `curl_multi_info_read`                 | `multi.info_read()`                                |
//!
//! As with curl, the callbacks cannot call back into the multi, and the multi's own wakeup
//! descriptor (DNS answers, commands from other threads) is reported like any other socket.
//! The token is used as the poller's key, so an event for a socket that an earlier
//! `socket_action` of the same batch removed (or whose number was reused) is recognized as
//! stale and skipped.

use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{WsError, CLOSE, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, Multi, Ready, SocketWhat, TransferId, SOCKET_TIMEOUT};
use polling::{Event, Events, PollMode, Poller};

#[path = "support/loopback.rs"]
mod loopback;

/// Messages each callback-model WebSocket exchanges before it closes.
const WS_ROUNDS: usize = 10;
/// Messages the connect-only WebSocket exchanges.
const CO_ROUNDS: usize = 20;
/// The whole run must finish within this.
const MAX_TIME: Duration = Duration::from_secs(60);

fn main() {
    let mut n_http = 500usize;
    let mut n_ws = 50usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1).and_then(|v| v.parse().ok())) {
            ("--http", Some(n)) => n_http = n,
            ("--ws", Some(n)) => n_ws = n,
            _ => {
                eprintln!("usage: socket_action_epoll [--http N] [--ws W]");
                std::process::exit(2);
            }
        }
    }
    match run(n_http, n_ws) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// The application's own view of the multi's sockets, fed only by the callbacks.
#[derive(Default)]
struct Table {
    /// Watched sockets: what for, and the token we gave each (also its poller key).
    by_fd: HashMap<RawFd, (SocketWhat, u64)>,
    /// Token (poller key) to socket.
    by_token: HashMap<u64, RawFd>,
    next_token: u64,
    /// The one-shot timer, as the timer callback last set it.
    deadline: Option<Instant>,
    reports: [u64; 4],
    lifetimes: u64,
    timer_calls: u64,
    /// Poller calls that failed; errors against the callback rules.
    errors: Vec<String>,
}

fn interest(key: u64, what: SocketWhat) -> Event {
    let key = key as usize;
    match what {
        SocketWhat::In => Event::readable(key),
        SocketWhat::Out => Event::writable(key),
        _ => Event::all(key),
    }
}

/// The socket callback (`CURLMOPT_SOCKETFUNCTION`): keep the table and the poller in step.
fn on_socket(t: &mut Table, poller: &Poller, fd: RawFd, what: SocketWhat, token: &mut Option<u64>) {
    t.reports[what as usize] += 1;
    if what == SocketWhat::Remove {
        let Some(key) = *token else {
            t.errors.push(format!("REMOVE of {fd} without a token"));
            return;
        };
        if t.by_fd.remove(&fd).map(|e| e.1) != Some(key) {
            t.errors
                .push(format!("REMOVE of {fd}, not watched with token {key}"));
        }
        t.by_token.remove(&key);
        // SAFETY: the multi reports REMOVE before it closes the socket, so `fd` is open for
        // the duration of this borrow.
        let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
        if let Err(e) = poller.delete(fd_ref) {
            t.errors.push(format!("poller delete {fd}: {e}"));
        }
        return;
    }
    match *token {
        None => {
            // A new socket: give it a token (curl_multi_assign from inside the callback).
            t.next_token += 1;
            let key = t.next_token;
            *token = Some(key);
            if t.by_fd.insert(fd, (what, key)).is_some() {
                t.errors.push(format!("{fd}: reported new while watched"));
            }
            t.by_token.insert(key, fd);
            t.lifetimes += 1;
            // SAFETY: polling requires the descriptor to be deleted from the poller before it
            // is closed. The multi keeps `fd` open from this first report until it reports
            // REMOVE, which it does before closing it, and we delete it then (above).
            if let Err(e) =
                unsafe { poller.add_with_mode(fd, interest(key, what), PollMode::Level) }
            {
                t.errors.push(format!("poller add {fd}: {e}"));
            }
        }
        Some(key) => {
            match t.by_fd.get_mut(&fd) {
                Some(e) if e.1 == key && e.0 != what => e.0 = what,
                Some(e) if e.1 == key => t.errors.push(format!("{fd}: {what:?} reported twice")),
                _ => t.errors.push(format!("{fd}: unknown token {key}")),
            }
            // SAFETY: the socket is between its first report and its REMOVE, so it is open.
            let fd_ref = unsafe { BorrowedFd::borrow_raw(fd) };
            if let Err(e) = poller.modify_with_mode(fd_ref, interest(key, what), PollMode::Level) {
                t.errors.push(format!("poller modify {fd}: {e}"));
            }
        }
    }
}

fn run(n_http: usize, n_ws: usize) -> Result<bool, Box<dyn std::error::Error>> {
    let http = serve_http();
    let ws = loopback::ws_echo_server();
    println!("servers: http://{http} and ws://{ws} (loopback, started by the example)");

    let poller = Arc::new(Poller::new()?);
    if !poller.supports_level() {
        return Err("this platform's poller has no level-triggered mode".into());
    }
    let table = Arc::new(Mutex::new(Table::default()));
    let (t1, t2, p1) = (table.clone(), table.clone(), poller.clone());
    let mut multi = Multi::with_socket_callbacks(
        Box::new(move |fd, what, token| on_socket(&mut t1.lock().unwrap(), &p1, fd, what, token)),
        Box::new(move |d| {
            // The timer callback (CURLMOPT_TIMERFUNCTION): a one-shot deadline, or none.
            let mut t = t2.lock().unwrap();
            t.timer_calls += 1;
            t.deadline = d.map(|d| Instant::now() + d);
        }),
    )?;
    multi.set_max_host_connections(32);
    // A first kick, as curl programs do: the multi reports its internal (wakeup) socket.
    multi.socket_action(SOCKET_TIMEOUT, Ready::NONE)?;
    let internal_fd = *table
        .lock()
        .unwrap()
        .by_fd
        .keys()
        .next()
        .expect("internal socket");

    let start = Instant::now();
    for i in 0..n_http {
        let len = 100 + (i * 37) % 4000;
        // A few by name: the resolver thread answers through the internal socket.
        let host = if i % 100 == 99 {
            format!("localhost:{}", http.port())
        } else {
            http.to_string()
        };
        let easy = Easy::with_handler(&format!("http://{host}/get/{len}"), Check::new(len))?;
        multi.add(easy);
    }
    // Half of the WebSockets are started by another thread: their ws_open hands the id over,
    // and the thread sends the first message through a CommandSender.
    let (open_tx, open_rx) = mpsc::channel::<TransferId>();
    let by_thread = n_ws / 2;
    for i in 0..n_ws {
        let tx = (i < by_thread).then(|| open_tx.clone());
        multi.add(Easy::with_handler(
            &format!("ws://{ws}/echo"),
            WsEcho::new(tx),
        )?);
    }
    drop(open_tx);
    let sender = multi.command_sender();
    let starter = std::thread::spawn(move || {
        let mut sent = 0;
        while sent < by_thread {
            let Ok(id) = open_rx.recv_timeout(MAX_TIME) else {
                break;
            };
            if sender
                .send_ws(id, b"from-thread hello".to_vec(), TEXT)
                .is_err()
            {
                break;
            }
            sent += 1;
        }
        sent
    });
    let mut co = ConnectOnly::new(multi.add({
        let mut e = Easy::new(&format!("ws://{ws}/echo"))?;
        e.connect_only(true);
        e
    }));

    let mut events = Events::new();
    let (mut fd_actions, mut internal_actions, mut timeouts, mut waits) = (0u64, 0u64, 0u64, 0u64);
    let (mut http_done, mut http_failed, mut http_bytes, mut connects) = (0, 0, 0u64, 0u64);
    let (mut ws_done, mut ws_failed, mut ws_msgs, mut ws_bytes, mut ws_thread) = (0, 0, 0, 0u64, 0);
    let mut timed_out = false;
    while http_done < n_http || ws_done < n_ws || !co.finished() {
        if start.elapsed() > MAX_TIME {
            timed_out = true;
            eprintln!("timed out: {multi:?}");
            break;
        }
        // Wait for our sockets, no longer than the multi's timer. Without a timer, block: only
        // socket events end the wait (commands from the other thread and DNS answers through
        // the internal socket), bounded only by the overall limit, so a lost wakeup fails.
        let deadline = table.lock().unwrap().deadline;
        let limit = MAX_TIME.saturating_sub(start.elapsed());
        let wait = deadline.map_or(limit, |d| {
            d.saturating_duration_since(Instant::now()).min(limit)
        });
        events.clear();
        poller.wait(&mut events, Some(wait))?;
        waits += 1;
        // Copied out first: socket_action calls the socket callback, which changes the poller.
        let ready: Vec<(u64, Ready)> = events
            .iter()
            .map(|ev| {
                let error = ev.is_err() == Some(true) || ev.is_interrupt();
                (
                    ev.key as u64,
                    Ready {
                        readable: ev.readable,
                        writable: ev.writable,
                        error,
                    },
                )
            })
            .collect();
        for (key, r) in ready {
            // Stale key: the socket was removed by an earlier socket_action of this batch.
            let Some(fd) = table.lock().unwrap().by_token.get(&key).copied() else {
                continue;
            };
            multi.socket_action(fd, r)?;
            fd_actions += 1;
            if fd == internal_fd {
                internal_actions += 1;
            }
            if co.fd == Some(fd) && r.readable && !co.closed {
                co.pump(&mut multi);
            }
        }
        let due = {
            let mut t = table.lock().unwrap();
            let due = t.deadline.is_some_and(|d| d <= Instant::now());
            if due {
                // One-shot: it is spent; the multi arms it again if it needs to.
                t.deadline = None;
            }
            due
        };
        if due {
            multi.socket_action(SOCKET_TIMEOUT, Ready::NONE)?;
            timeouts += 1;
        }
        while let Some(msg) = multi.info_read() {
            if msg.id == co.id {
                // Connect-only: "done" means upgraded; it stays in the multi.
                co.established(&mut multi, msg.result);
                continue;
            }
            let easy = multi.remove(msg.id).expect("finished transfer");
            if let Some(w) = easy.handler::<WsEcho>() {
                ws_done += 1;
                ws_msgs += w.received;
                ws_bytes += w.bytes;
                ws_thread += usize::from(w.first_from_thread);
                let thread_ok = w.started_by_thread == w.first_from_thread;
                if msg.result.is_err() || w.received != WS_ROUNDS || !thread_ok {
                    ws_failed += 1;
                    eprintln!(
                        "websocket: {:?} after {} messages (started by thread: {})",
                        msg.result, w.received, w.started_by_thread
                    );
                }
                continue;
            }
            http_done += 1;
            let info = easy.info();
            connects += u64::from(info.num_connects);
            let check = easy.handler::<Check>().expect("our handler");
            match msg.result {
                Ok(()) if info.response_code == 200 && check.ok() => http_bytes += check.got,
                other => {
                    http_failed += 1;
                    eprintln!(
                        "{}: {other:?} status {}",
                        info.effective_url, info.response_code
                    );
                }
            }
        }
        if co.closed && !co.removed {
            // Closed both ways: take it out; its socket is reported REMOVE.
            multi.remove(co.id);
            co.removed = true;
            // Forget the number: the next socket the multi opens may well reuse it.
            co.fd = None;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let started_by_thread = starter.join().unwrap_or(0);
    let (open, idle) = multi.connection_counts();
    let dropped = multi.dropped_commands();
    let t = table.lock().unwrap();
    let [r_in, r_out, r_inout, r_remove] = t.reports;

    println!(
        "HTTP: {http_done} GETs, {http_failed} failed, {http_bytes} body bytes, {connects} connections made (limit 32 per host; the ones by name are another host)"
    );
    println!(
        "WebSocket, callback model: {ws_done} transfers, {ws_failed} failed, {ws_msgs} messages ({ws_bytes} bytes) echoed from inside write callbacks; {ws_thread} conversations started by another thread through a CommandSender ({started_by_thread} sent, {dropped} dropped)"
    );
    println!(
        "WebSocket, connect-only: {} messages sent with multi.ws(id) and received with recv ({} bytes), closed: {}{}",
        co.received,
        co.bytes,
        co.closed,
        co.error.as_deref().map(|e| format!(", error: {e}")).unwrap_or_default()
    );
    println!(
        "socket callback: IN {r_in}, OUT {r_out}, INOUT {r_inout}, REMOVE {r_remove}; {} sockets watched in all, {} still watched (internal + {idle} idle of {open} open)",
        t.lifetimes,
        t.by_fd.len()
    );
    println!("timer callback: {} calls", t.timer_calls);
    println!(
        "socket_action: {} calls: {fd_actions} on sockets ({internal_actions} on the internal one), {timeouts} SOCKET_TIMEOUT; {waits} poller waits",
        fd_actions + timeouts
    );
    for e in t.errors.iter().take(10) {
        eprintln!("callback rule or poller error: {e}");
    }
    println!(
        "time: {secs:.3} s for {} transfers, {:.0} transfers/s, one Multi, one thread",
        http_done + ws_done + 1,
        (http_done + ws_done + 1) as f64 / secs
    );
    let ok = !timed_out
        && http_failed == 0
        && ws_failed == 0
        && co.error.is_none()
        && co.received == CO_ROUNDS
        && co.closed
        && t.errors.is_empty()
        && dropped == 0
        && started_by_thread == by_thread
        // Still watched: the internal socket and the idle pooled connections only.
        && t.by_fd.len() == 1 + idle;
    println!("{}", if ok { "OK" } else { "FAILED" });
    Ok(ok)
}

/// The connect-only WebSocket: upgraded by the multi, then driven by hand.
struct ConnectOnly {
    id: TransferId,
    fd: Option<RawFd>,
    received: usize,
    bytes: u64,
    buf: Vec<u8>,
    closed: bool,
    removed: bool,
    error: Option<String>,
}

impl ConnectOnly {
    fn new(id: TransferId) -> Self {
        ConnectOnly {
            id,
            fd: None,
            received: 0,
            bytes: 0,
            buf: Vec::new(),
            closed: false,
            removed: false,
            error: None,
        }
    }

    fn finished(&self) -> bool {
        self.removed || self.error.is_some()
    }

    fn fail(&mut self, e: impl std::fmt::Display) {
        eprintln!("connect-only: {e}");
        self.error = Some(e.to_string());
    }

    /// The upgrade is done: learn the socket, send the first message.
    fn established(&mut self, multi: &mut Multi, result: Result<(), curlew::Error>) {
        if let Err(e) = result {
            return self.fail(e);
        }
        let r = multi.ws(self.id).and_then(|mut ws| {
            self.fd = ws.socket();
            ws.send_text("connect-only 1")
        });
        if let Err(e) = r {
            self.fail(e);
        }
    }

    /// Its socket is readable: receive every whole message that is there, answer each one.
    fn pump(&mut self, multi: &mut Multi) {
        let mut ws = match multi.ws(self.id) {
            Ok(ws) => ws,
            Err(e) => return self.fail(e),
        };
        loop {
            match ws.recv_message(&mut self.buf) {
                Ok(flags) if flags & CLOSE != 0 => {
                    // The peer's answer to our close; the next recv reports Closed.
                    self.buf.clear();
                }
                Ok(_) => {
                    self.received += 1;
                    self.bytes += self.buf.len() as u64;
                    let want = format!("connect-only {}", self.received);
                    if self.buf != want.as_bytes() {
                        return self.fail(format!("unexpected echo {:?}", self.buf));
                    }
                    self.buf.clear();
                    let r = if self.received < CO_ROUNDS {
                        ws.send_text(&format!("connect-only {}", self.received + 1))
                            .map(|_| ())
                    } else {
                        ws.close(1000, "done")
                    };
                    if let Err(e) = r {
                        return self.fail(e);
                    }
                }
                Err(WsError::WouldBlock) => return,
                Err(WsError::Closed) => {
                    self.closed = true;
                    return;
                }
                Err(e) => return self.fail(e),
            }
        }
    }
}

/// A callback-model WebSocket: echoes every message back from inside its write callback
/// (reentrant sends), closes after `WS_ROUNDS`.
struct WsEcho {
    /// Set for conversations another thread starts: ws_open sends our id there.
    opened: Option<mpsc::Sender<TransferId>>,
    started_by_thread: bool,
    first_from_thread: bool,
    received: usize,
    bytes: u64,
    msg: Vec<u8>,
}

impl WsEcho {
    fn new(opened: Option<mpsc::Sender<TransferId>>) -> Self {
        WsEcho {
            started_by_thread: opened.is_some(),
            opened,
            first_from_thread: false,
            received: 0,
            bytes: 0,
            msg: Vec::new(),
        }
    }
}

impl Handler for WsEcho {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        match self.opened.take() {
            Some(tx) => {
                let _ = tx.send(ctx.id());
            }
            None => {
                if ctx.ws().and_then(|mut ws| ws.send_text("hello")).is_err() {
                    return Flow::Abort;
                }
            }
        }
        Flow::Continue
    }

    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let Some(meta) = ctx.ws_meta() else {
            return Flow::Abort;
        };
        if meta.is_close() {
            return Flow::Continue;
        }
        self.bytes += data.len() as u64;
        self.msg.extend_from_slice(data);
        if !meta.is_message_end() {
            return Flow::Continue;
        }
        self.received += 1;
        if self.received == 1 {
            self.first_from_thread = self.msg.starts_with(b"from-thread");
        }
        let Ok(mut ws) = ctx.ws() else {
            return Flow::Abort;
        };
        let r = if self.received == WS_ROUNDS {
            ws.close(1000, "done")
        } else {
            ws.send(&self.msg, meta.flags & !curlew::ws::CONT)
                .map(|_| ())
        };
        self.msg.clear();
        if r.is_err() {
            return Flow::Abort;
        }
        Flow::Continue
    }
}

/// Counts body bytes and checks them against what the server promised.
struct Check {
    want: u64,
    got: u64,
    sum: u64,
}

impl Check {
    fn new(len: usize) -> Self {
        Check {
            want: len as u64,
            got: 0,
            sum: 0,
        }
    }

    fn ok(&self) -> bool {
        self.got == self.want && self.sum == (0..self.want).map(|i| i % 251).sum::<u64>()
    }
}

impl Handler for Check {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.got += data.len() as u64;
        self.sum += data.iter().map(|&b| u64::from(b)).sum::<u64>();
        Flow::Continue
    }
}

// ----- the loopback servers: a thread per connection -----------------------------------

/// A keep-alive HTTP/1.1 server: `GET /get/LEN` answers LEN bytes of a known pattern.
fn serve_http() -> std::net::SocketAddr {
    loopback::serve_each(|stream| {
        let mut r = BufReader::new(stream);
        while let Some((path, _body)) = loopback::read_request(&mut r) {
            let len: usize = path
                .strip_prefix("/get/")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
            out.extend((0..len).map(|i| (i % 251) as u8));
            let s = r.get_mut();
            if s.write_all(&out).and_then(|_| s.flush()).is_err() {
                return;
            }
        }
    })
}
