//! The multi driven by an external event loop (`socket_action`, libcurl's
//! `curl_multi_socket_action` model), and commands from other threads.
//!
//! The external loop here is a separate `mio::Poll` of the test's own, fed with raw descriptors
//! (`SourceFd`, edge-triggered epoll): it knows nothing of the multi but what the socket and
//! timer callbacks tell it.

mod support;

use std::collections::HashMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{BINARY, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, Multi, Ready, SocketWhat, TransferId, SOCKET_TIMEOUT};
use mio::unix::SourceFd;
use mio::{Interest, Token};
use support::http_server::{keep_alive_responder, Server};
use support::ws_peer::WsPeer;

/// What the callbacks saw, and the checks of libcurl's delta semantics.
#[derive(Default)]
struct Watch {
    /// Sockets being watched and what for.
    what: HashMap<RawFd, SocketWhat>,
    /// Tokens we assigned, by socket (cleared on Remove).
    tokens: HashMap<RawFd, u64>,
    next_token: u64,
    reports: usize,
    removes: usize,
    /// Sockets ever reported (a descriptor number reused later counts again).
    lifetimes: usize,
    /// Violations of the delta rules, as text (asserted empty at the end).
    errors: Vec<String>,
    deadline: Option<Instant>,
    timer_calls: usize,
}

/// Whether `fd` is an open socket of this process (always true where we cannot tell).
fn fd_is_open_socket(fd: RawFd) -> bool {
    if cfg!(target_os = "linux") {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .is_ok_and(|p| p.to_string_lossy().starts_with("socket:"))
    } else {
        true
    }
}

struct Loop {
    poll: mio::Poll,
    watch: Arc<Mutex<Watch>>,
}

impl Loop {
    /// A multi in socket_action mode whose callbacks (un)register descriptors with our poll.
    fn new() -> (Loop, Multi) {
        let poll = mio::Poll::new().unwrap();
        let registry = poll.registry().try_clone().unwrap();
        let watch = Arc::new(Mutex::new(Watch::default()));
        let (w1, w2) = (watch.clone(), watch.clone());
        let multi = Multi::with_socket_callbacks(
            Box::new(move |fd, what, token| {
                let mut w = w1.lock().unwrap();
                w.reports += 1;
                let mut src = SourceFd(&fd);
                match what {
                    SocketWhat::Remove => {
                        if w.what.remove(&fd).is_none() {
                            w.errors
                                .push(format!("REMOVE of {fd}, which is not watched"));
                        }
                        if token.is_none() || w.tokens.remove(&fd) != *token {
                            w.errors.push(format!("REMOVE of {fd} without its token"));
                        }
                        // As in curl (Curl_multi_closed runs before the close): the socket is
                        // still open, so the application can still deregister it.
                        if !fd_is_open_socket(fd) {
                            w.errors.push(format!("REMOVE of {fd} after it was closed"));
                        }
                        w.removes += 1;
                        let _ = registry.deregister(&mut src);
                    }
                    _ => {
                        let interest = match what {
                            SocketWhat::In => Interest::READABLE,
                            SocketWhat::Out => Interest::WRITABLE,
                            _ => Interest::READABLE | Interest::WRITABLE,
                        };
                        match w.what.insert(fd, what) {
                            Some(old) if old == what => {
                                w.errors.push(format!("{fd}: {what:?} reported twice"));
                            }
                            Some(_) => {
                                if token.is_none() || w.tokens.get(&fd).copied() != *token {
                                    w.errors.push(format!("{fd}: token lost"));
                                }
                                registry
                                    .reregister(&mut src, Token(fd as usize), interest)
                                    .unwrap();
                            }
                            None => {
                                if token.is_some() {
                                    w.errors.push(format!("{fd}: new socket with a token"));
                                }
                                w.next_token += 1;
                                let t = w.next_token;
                                *token = Some(t);
                                w.tokens.insert(fd, t);
                                w.lifetimes += 1;
                                registry
                                    .register(&mut src, Token(fd as usize), interest)
                                    .unwrap();
                            }
                        }
                    }
                }
            }),
            Box::new(move |t| {
                let mut w = w2.lock().unwrap();
                w.timer_calls += 1;
                let next = t.map(|t| Instant::now() + t);
                w.deadline = next;
            }),
        )
        .unwrap();
        (Loop { poll, watch }, multi)
    }

    /// One turn of the application's loop: wait for our descriptors or the timer, then tell
    /// the multi. Returns how many socket events were dispatched.
    fn turn(&mut self, m: &mut Multi, events: &mut mio::Events) -> usize {
        self.turn_with(m, events, true)
    }

    /// A turn that tells the multi of its timer only, never of socket readiness (an
    /// application that reads a connect-only WebSocket on its own).
    fn turn_timer_only(&mut self, m: &mut Multi, events: &mut mio::Events) {
        self.turn_with(m, events, false);
    }

    fn turn_with(&mut self, m: &mut Multi, events: &mut mio::Events, dispatch: bool) -> usize {
        let deadline = self.watch.lock().unwrap().deadline;
        let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // Bounded: never wait more than a second (the test has an overall deadline).
        let wait = Some(
            wait.unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1)),
        );
        self.poll.poll(events, wait).unwrap();
        let mut n = 0;
        for ev in events.iter().filter(|_| dispatch) {
            let fd = ev.token().0 as RawFd;
            let ready = Ready {
                readable: ev.is_readable() || ev.is_read_closed(),
                writable: ev.is_writable(),
                error: ev.is_error(),
            };
            m.socket_action(fd, ready).unwrap();
            n += 1;
        }
        let due = self
            .watch
            .lock()
            .unwrap()
            .deadline
            .is_some_and(|d| d <= Instant::now());
        if due {
            self.watch.lock().unwrap().deadline = None;
            m.socket_action(SOCKET_TIMEOUT, Ready::NONE).unwrap();
        }
        n
    }
}

/// Echoes `rounds` messages from inside its write callback (reentrant sends), then closes.
/// The first message comes from another thread through the command channel.
struct Echo {
    rounds: usize,
    got: usize,
    opened: Arc<AtomicUsize>,
}

impl Handler for Echo {
    fn ws_open(&mut self, _ctx: &mut Ctx<'_>) -> Flow {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().expect("WebSocket chunk");
        if meta.is_close() {
            return Flow::Continue;
        }
        assert_eq!(data, b"ping-pong");
        self.got += 1;
        let mut ws = ctx.ws().unwrap();
        if self.got < self.rounds {
            ws.send(b"ping-pong", TEXT).unwrap();
        } else {
            ws.close(1000, "done").unwrap();
        }
        Flow::Continue
    }
}

#[test]
fn thousand_transfers_through_socket_action_with_delta_reports() {
    const HTTP: usize = 800;
    const WS: usize = 200;
    const ROUNDS: usize = 5;
    let srv = Server::start(keep_alive_responder(vec![b'x'; 5000]));
    let peer = WsPeer::echo();
    let (mut lp, mut m) = Loop::new();
    // Enough for every WebSocket at once (they stay open until their conversation ends).
    m.set_max_host_connections(256);
    // Adding transfers asks for a turn at once (curl: timer callback with 0).
    let first = m.add(Easy::new(&srv.url("/first")).unwrap());
    assert!(lp.watch.lock().unwrap().deadline.is_some());
    let mut http = vec![first];
    for i in 1..HTTP {
        // A few through localhost: the resolver path.
        let url = if i % 100 == 0 {
            srv.url(&format!("/h{i}")).replace("127.0.0.1", "localhost")
        } else {
            srv.url(&format!("/h{i}"))
        };
        http.push(m.add(Easy::new(&url).unwrap()));
    }
    let opened = Arc::new(AtomicUsize::new(0));
    let mut ws = Vec::new();
    for _ in 0..WS {
        let e = Easy::with_handler(
            &peer.url("/"),
            Echo {
                rounds: ROUNDS,
                got: 0,
                opened: opened.clone(),
            },
        )
        .unwrap();
        ws.push(m.add(e));
    }
    // Another thread starts every WebSocket conversation through the command channel once
    // the connections are open; the multi learns of it through its internal socket.
    let sender = m.command_sender();
    let ids = ws.clone();
    let op = opened.clone();
    let starter = std::thread::spawn(move || {
        support::wait_until("WebSockets open", Duration::from_secs(30), || {
            op.load(Ordering::SeqCst) == WS
        });
        for id in ids {
            sender.send_ws(id, b"ping-pong".to_vec(), TEXT).unwrap();
        }
    });
    let mut events = mio::Events::with_capacity(256);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = HashMap::new();
    while done.len() < HTTP + WS {
        assert!(Instant::now() < deadline, "timed out: {m:?}");
        lp.turn(&mut m, &mut events);
        while let Some(msg) = m.info_read() {
            done.insert(msg.id, msg.result);
        }
    }
    starter.join().unwrap();
    assert_eq!(m.running(), 0);
    for id in &http {
        done[id].as_ref().unwrap();
        let easy = m.remove(*id).unwrap();
        assert_eq!(easy.collected().unwrap().body.len(), 5000);
    }
    for id in &ws {
        done[id].as_ref().unwrap();
        let easy = m.remove(*id).unwrap();
        assert_eq!(easy.handler::<Echo>().unwrap().got, ROUNDS);
    }
    assert_eq!(m.dropped_commands(), 0);
    let (open, idle) = m.connection_counts();
    let w = lp.watch.lock().unwrap();
    assert!(
        w.errors.is_empty(),
        "{:?}",
        &w.errors[..w.errors.len().min(10)]
    );
    // Still watched: the internal socket and the idle pooled connections; every other socket
    // was removed exactly once (a second REMOVE is an error above).
    assert_eq!(open, idle);
    assert_eq!(w.what.len(), 1 + idle, "{:?}", w.what);
    assert_eq!(w.lifetimes, w.removes + w.what.len());
    // The internal socket, every WebSocket and at least one HTTP connection.
    assert!(w.lifetimes > 1 + WS, "{}", w.lifetimes);
    assert!(w.timer_calls > 0);
}

#[test]
fn poll_and_socket_action_do_not_mix() {
    let mut plain = Multi::new();
    let e = plain
        .socket_action(SOCKET_TIMEOUT, Ready::NONE)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
    let (_lp, mut ext) = Loop::new();
    let e = ext.poll(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::Unsupported);
    // An unknown socket is ignored (it may have been removed a moment ago).
    assert_eq!(ext.socket_action(12345, Ready::IN).unwrap(), 0);
}

#[test]
fn paused_transfer_is_removed_then_watched_again() {
    // A paused transfer waits for nothing: its socket is reported REMOVE, and watched again
    // after unpause (curl does the same).
    let srv = Server::start(|c: &mut support::http_server::Conn| {
        if c.read_request().is_none() {
            return;
        }
        let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab");
        let _ = c.flush();
        // The rest once the client has paused and resumed.
        std::thread::sleep(Duration::from_millis(50));
        let _ = c.write_all(b"cdef");
    });
    struct PauseOnce {
        paused: Arc<AtomicUsize>,
        body: Vec<u8>,
    }
    impl Handler for PauseOnce {
        fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            if self.paused.fetch_add(1, Ordering::SeqCst) == 0 {
                return Flow::Pause;
            }
            self.body.extend_from_slice(data);
            Flow::Continue
        }
    }
    let (mut lp, mut m) = Loop::new();
    let paused = Arc::new(AtomicUsize::new(0));
    let id = m.add(
        Easy::with_handler(
            &srv.url("/"),
            PauseOnce {
                paused: paused.clone(),
                body: Vec::new(),
            },
        )
        .unwrap(),
    );
    let mut events = mio::Events::with_capacity(16);
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until the transfer paused and its socket was reported removed.
    loop {
        assert!(Instant::now() < deadline);
        lp.turn(&mut m, &mut events);
        if paused.load(Ordering::SeqCst) == 1 && lp.watch.lock().unwrap().removes == 1 {
            break;
        }
    }
    assert_eq!(
        lp.watch.lock().unwrap().what.len(),
        1,
        "only the internal socket"
    );
    m.unpause(id, curlew::Direction::Recv);
    assert_eq!(lp.watch.lock().unwrap().what.len(), 2, "watched again");
    while m.running() > 0 {
        assert!(Instant::now() < deadline);
        lp.turn(&mut m, &mut events);
    }
    let msg = m.info_read().unwrap();
    msg.result.unwrap();
    let easy = m.remove(id).unwrap();
    assert_eq!(easy.handler::<PauseOnce>().unwrap().body, b"abcdef");
    let errors = &lp.watch.lock().unwrap().errors;
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn remove_is_reported_before_the_socket_is_closed() {
    // The server reads the request and never answers; removing the transfer closes its
    // connection. The REMOVE report must come while the descriptor is still open (curl's
    // Curl_multi_closed), so the application can take it out of its poller: a poller that
    // is not epoll (poll(2), IOCP-like tables) keeps the descriptor, and a number that was
    // closed may already belong to another socket.
    let srv = Server::start(|c: &mut support::http_server::Conn| {
        if c.read_request().is_none() {
            return;
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let (mut lp, mut m) = Loop::new();
    let id = m.add(Easy::new(&srv.url("/silent")).unwrap());
    let mut events = mio::Events::with_capacity(16);
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until the request went out (the socket then waits for IN only).
    while srv.requests() == 0 {
        assert!(Instant::now() < deadline);
        lp.turn(&mut m, &mut events);
    }
    assert_eq!(lp.watch.lock().unwrap().what.len(), 2);
    assert!(m.remove(id).is_some());
    let w = lp.watch.lock().unwrap();
    assert_eq!(w.removes, 1);
    assert_eq!(w.what.len(), 1, "only the internal socket");
    assert!(w.errors.is_empty(), "{:?}", w.errors);
}

/// Counts the echoes of messages another thread sends.
struct Count {
    got: Arc<AtomicUsize>,
    opened: Arc<AtomicUsize>,
}

impl Handler for Count {
    fn ws_open(&mut self, _ctx: &mut Ctx<'_>) -> Flow {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().unwrap();
        if !meta.is_close() && meta.bytesleft == 0 {
            assert!(data.starts_with(b"from-thread"));
            self.got.fetch_add(1, Ordering::SeqCst);
        }
        Flow::Continue
    }
}

#[test]
fn another_thread_sends_on_100_websockets_while_the_loop_blocks_in_poll() {
    const N: usize = 100;
    const MSGS: usize = 20;
    let peer = WsPeer::echo();
    let http = Server::start(keep_alive_responder(b"added".to_vec()));
    let mut m = Multi::new();
    let got = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let ids: Vec<TransferId> = (0..N)
        .map(|_| {
            m.add(
                Easy::with_handler(
                    &peer.url("/"),
                    Count {
                        got: got.clone(),
                        opened: opened.clone(),
                    },
                )
                .unwrap(),
            )
        })
        .collect();
    let sender = m.command_sender();
    let (o, ids2, url) = (opened.clone(), ids.clone(), http.url("/added"));
    let thread = std::thread::spawn(move || {
        support::wait_until("WebSockets open", Duration::from_secs(30), || {
            o.load(Ordering::SeqCst) == N
        });
        for i in 0..MSGS {
            for &id in &ids2 {
                let flags = if i % 2 == 0 { TEXT } else { BINARY };
                sender
                    .send_ws(id, format!("from-thread {i}").into_bytes(), flags)
                    .unwrap();
            }
        }
        // A transfer added from this thread.
        sender.add(Easy::new(&url).unwrap()).unwrap();
        for &id in &ids2 {
            sender.close_ws(id, 1000, "bye").unwrap();
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut done = Vec::new();
    // The loop blocks in poll with no timeout of its own: only socket events, the
    // transfers' timers and the command channel's wakeups end each wait.
    while done.len() < N + 1 {
        assert!(Instant::now() < deadline, "timed out: {m:?}");
        let t = Instant::now();
        m.poll(Some(Duration::from_secs(30))).unwrap();
        assert!(t.elapsed() < Duration::from_secs(30), "a wakeup was lost");
        while let Some(msg) = m.info_read() {
            done.push((msg.id, msg.result));
        }
    }
    thread.join().unwrap();
    assert_eq!(got.load(Ordering::SeqCst), N * MSGS);
    assert_eq!(m.dropped_commands(), 0);
    for (id, r) in done {
        r.unwrap();
        let easy = m.remove(id).unwrap();
        if !ids.contains(&id) {
            assert_eq!(easy.collected().unwrap().body, b"added");
        }
    }
}

#[test]
fn commands_for_unknown_or_non_websocket_transfers_are_dropped_and_counted() {
    let http = Server::start(keep_alive_responder(b"x".to_vec()));
    let mut m = Multi::new();
    let id = m.add(Easy::new(&http.url("/")).unwrap());
    m.run().unwrap();
    let msg = m.info_read().unwrap();
    msg.result.unwrap();
    let sender = m.command_sender();
    sender
        .send_ws(id, b"not a websocket".to_vec(), TEXT)
        .unwrap();
    m.remove(id).unwrap();
    sender.send_ws(id, b"gone".to_vec(), TEXT).unwrap();
    m.perform().unwrap();
    assert_eq!(m.dropped_commands(), 2);
    drop(m);
    let e = sender
        .send_ws(id, b"multi gone".to_vec(), TEXT)
        .unwrap_err();
    assert!(matches!(e, curlew::CommandError::Disconnected(d) if d == b"multi gone"));
}

#[test]
fn connect_only_websocket_through_socket_action() {
    let peer = WsPeer::echo();
    let (mut lp, mut m) = Loop::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.connect_only(true);
    let id = m.add(e);
    let mut events = mio::Events::with_capacity(16);
    let deadline = Instant::now() + Duration::from_secs(20);
    // The upgrade is done when the transfer reports completion.
    loop {
        assert!(Instant::now() < deadline);
        lp.turn(&mut m, &mut events);
        if let Some(msg) = m.info_read() {
            assert_eq!(msg.id, id);
            msg.result.unwrap();
            break;
        }
    }
    const N: usize = 50;
    for i in 0..N {
        let text = format!("message {i}");
        assert_eq!(
            m.ws(id).unwrap().send(text.as_bytes(), TEXT).unwrap(),
            text.len()
        );
    }
    // Echoes come back as the socket turns readable: recv until WouldBlock after each turn.
    let mut got = Vec::new();
    while got.len() < N {
        assert!(Instant::now() < deadline, "{} of {N} echoes", got.len());
        lp.turn(&mut m, &mut events);
        loop {
            match m.ws(id).unwrap().recv() {
                Ok((frame, data)) => {
                    assert!(frame.is_message_end());
                    got.push(String::from_utf8(data.to_vec()).unwrap());
                }
                Err(curlew::ws::WsError::WouldBlock) => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g, &format!("message {i}"));
    }
    assert!(lp
        .watch
        .lock()
        .unwrap()
        .what
        .values()
        .any(|w| *w != SocketWhat::Remove));
    m.ws(id).unwrap().close(1000, "bye").unwrap();
    let easy = m.remove(id).unwrap();
    drop(easy);
    // Removing the connect-only transfer closed its connection and freed its place.
    assert_eq!(m.connection_counts(), (0, 0));
    let w = lp.watch.lock().unwrap();
    assert!(w.errors.is_empty(), "{:?}", w.errors);
    assert_eq!(
        w.what.len(),
        1,
        "only the internal socket is left: {:?}",
        w.what
    );
}

#[test]
fn connect_only_keepalive_learns_from_the_applications_reads() {
    // After the upgrade the loop reports no socket readiness at all: the application reads on
    // its own, so the pongs its `recv` reads are the only signs of life the keepalive can see.
    // Without them the second ping never goes (the first one's answer is never seen).
    let peer = support::ping_counter::PingCounter::start(true);
    let (mut lp, mut m) = Loop::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.connect_only(true)
        .ws_keepalive(Some((Duration::from_millis(50), Duration::from_secs(5))));
    let id = m.add(e);
    let mut events = mio::Events::with_capacity(16);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no upgrade");
        lp.turn(&mut m, &mut events);
        if let Some(msg) = m.info_read() {
            msg.result.unwrap();
            break;
        }
    }
    const PINGS: usize = 3;
    let mut pongs = 0;
    while pongs < PINGS {
        assert!(
            Instant::now() < deadline,
            "{} pings, {pongs} pongs",
            peer.pings()
        );
        lp.turn_timer_only(&mut m, &mut events);
        match m.ws(id).unwrap().recv() {
            Ok((frame, _)) => {
                assert_eq!(frame.flags, curlew::ws::PONG);
                pongs += 1;
            }
            Err(curlew::ws::WsError::WouldBlock) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    assert!(peer.pings() >= PINGS);
    assert!(peer.close().is_none());
    m.remove(id).unwrap();
}

#[test]
fn many_http2_transfers_ride_one_reported_socket() {
    use support::h2_servers::{pattern, H2Fixture, Nginx};
    let Some(ngx) = Nginx::start() else { return };
    let (mut lp, mut m) = Loop::new();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let mut e = Easy::new(&ngx.h2c_url("/100k")).unwrap();
        e.http_version(curlew::HttpVersionOption::Http2PriorKnowledge);
        ids.push(m.add(e));
    }
    let mut events = mio::Events::with_capacity(64);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut done = HashMap::new();
    while done.len() < ids.len() {
        assert!(Instant::now() < deadline, "timed out: {m:?}");
        lp.turn(&mut m, &mut events);
        while let Some(msg) = m.info_read() {
            done.insert(msg.id, msg.result);
        }
    }
    for id in &ids {
        done[id].as_ref().unwrap();
        let easy = m.remove(*id).unwrap();
        assert_eq!(easy.collected().unwrap().body, pattern(100 << 10));
        assert_eq!(easy.info().http_version, Some(curlew::HttpVersion::Http2));
    }
    let w = lp.watch.lock().unwrap();
    assert!(w.errors.is_empty(), "{:?}", w.errors);
    // The internal socket and the one HTTP/2 connection all 50 transfers shared.
    assert_eq!(w.lifetimes, 2, "{:?}", w.what);
}
