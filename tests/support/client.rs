//! Client-side helpers for driving curlew in tests with bounded waits.
//!
//! * [`run_multi`]: poll a [`Multi`] until every transfer finished (panics
//!   after [`RUN_BOUND`]), returning the completion messages.
//! * [`finish`]: [`run_multi`] and take every `Easy` back, keyed by id.
//! * [`run_one`]: one transfer on its own multi.
//! * [`Rec`]: a handler recording every callback it sees.
//! * [`raw_server`]: a server answering each connection's first request
//!   with fixed raw bytes, then closing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use curlew::{Ctx, DebugKind, Easy, Error, ErrorKind, Flow, Handler, Multi, Progress, TransferId};

use super::http_server::{Conn, Server};

/// Longest any test waits for a multi to finish its transfers.
pub const RUN_BOUND: Duration = Duration::from_secs(30);

/// Polls `m` until no transfer runs; panics after [`RUN_BOUND`]. Returns the
/// completion messages by transfer id.
#[track_caller]
pub fn run_multi(m: &mut Multi) -> HashMap<TransferId, Result<(), Error>> {
    let deadline = Instant::now() + RUN_BOUND;
    let mut out = HashMap::new();
    loop {
        while let Some(msg) = m.info_read() {
            assert!(
                out.insert(msg.id, msg.result).is_none(),
                "two completion messages for {:?}",
                msg.id
            );
        }
        if m.running() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "transfers still running after {RUN_BOUND:?}: {m:?}"
        );
        m.poll(Some(Duration::from_millis(100))).expect("poll");
    }
    while let Some(msg) = m.info_read() {
        out.insert(msg.id, msg.result);
    }
    out
}

/// A finished transfer: its result and its `Easy` (handler and info).
pub struct Finished {
    pub result: Result<(), Error>,
    pub easy: Easy,
}

impl Finished {
    /// The error kind, or `None` on success.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.result.as_ref().err().map(Error::kind)
    }

    /// The body collected by a [`Rec`] or the default `Collector`.
    pub fn body(&self) -> &[u8] {
        if let Some(r) = self.easy.handler::<Rec>() {
            return &r.body;
        }
        &self
            .easy
            .collected()
            .expect("Collector or Rec handler")
            .body
    }

    /// The header lines collected by a [`Rec`] or the default `Collector`.
    pub fn headers(&self) -> Vec<String> {
        let lines = match self.easy.handler::<Rec>() {
            Some(r) => &r.headers,
            None => {
                &self
                    .easy
                    .collected()
                    .expect("Collector or Rec handler")
                    .headers
            }
        };
        lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    #[track_caller]
    pub fn unwrap(&self) -> &Self {
        if let Err(e) = &self.result {
            panic!(
                "transfer of {} failed: {e:?}",
                self.easy.info().effective_url
            );
        }
        self
    }
}

/// [`run_multi`], then removes every finished transfer from `m`.
#[track_caller]
pub fn finish(m: &mut Multi) -> HashMap<TransferId, Finished> {
    let results = run_multi(m);
    results
        .into_iter()
        .map(|(id, result)| {
            let easy = m
                .remove(id)
                .expect("finished transfer is still in the multi");
            (id, Finished { result, easy })
        })
        .collect()
}

/// Runs one transfer on a multi of its own.
#[track_caller]
pub fn run_one(easy: Easy) -> Finished {
    let mut m = Multi::new();
    let id = m.add(easy);
    let mut all = finish(&mut m);
    assert_eq!(all.len(), 1);
    all.remove(&id).expect("message for the transfer")
}

/// [`Easy::new`] with a [`Rec`] handler.
pub fn rec_easy(url: &str) -> Easy {
    Easy::with_handler(url, Rec::default()).expect("valid URL")
}

/// A handler recording everything.
#[derive(Debug, Default)]
pub struct Rec {
    pub headers: Vec<Vec<u8>>,
    pub body: Vec<u8>,
    /// Number of write calls.
    pub writes: usize,
    pub debug: Vec<(DebugKind, Vec<u8>)>,
    pub progress: Vec<Progress>,
    /// Results passed to `done` (kind, or `None` for success).
    pub done: Vec<Option<ErrorKind>>,
}

impl Rec {
    /// The debug data of one kind, concatenated.
    pub fn debug_text(&self, kind: DebugKind) -> String {
        let mut s = String::new();
        for (k, d) in &self.debug {
            if *k == kind {
                s.push_str(&String::from_utf8_lossy(d));
            }
        }
        s
    }
}

impl Handler for Rec {
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        self.headers.push(line.to_vec());
        Flow::Continue
    }
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.writes += 1;
        self.body.extend_from_slice(data);
        Flow::Continue
    }
    fn progress(&mut self, _ctx: &mut Ctx<'_>, p: &Progress) -> bool {
        self.progress.push(*p);
        true
    }
    fn debug(&mut self, kind: DebugKind, data: &[u8]) {
        self.debug.push((kind, data.to_vec()));
    }
    fn done(&mut self, _ctx: &mut Ctx<'_>, result: &Result<(), Error>) {
        self.done.push(result.as_ref().err().map(Error::kind));
    }
}

/// A server answering the first request of every connection with `raw`
/// (written as is), then closing gracefully.
pub fn raw_server(raw: impl Into<Vec<u8>>) -> Server {
    let raw = raw.into();
    Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(&raw);
        }
    })
}

/// A server that reads the request and then never answers, until the client
/// goes away (or the server's read timeout passes).
pub fn silent_server() -> Server {
    Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            c.peer_closed();
        }
    })
}

/// A body of `n` bytes in which every 4-byte group holds its own index, so
/// lost, duplicated or reordered pieces show up in comparisons.
pub fn pattern(n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n + 4);
    let mut i: u32 = 0;
    while v.len() < n {
        v.extend_from_slice(&i.to_le_bytes());
        i += 1;
    }
    v.truncate(n);
    v
}

/// Asserts `got == want` without dumping megabytes on failure.
#[track_caller]
pub fn assert_same_bytes(got: &[u8], want: &[u8]) {
    if got != want {
        let first = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        panic!(
            "bytes differ: got {} bytes, want {}; first difference at offset {first}",
            got.len(),
            want.len()
        );
    }
}

/// Runs the transfer for `bad_url` (configured by `setup`, total timeout 20 s)
/// in one [`Multi`] beside three healthy 200,000-byte downloads from a server of
/// their own, which must all finish intact; returns the bad transfer's outcome.
#[track_caller]
pub fn beside_healthy(bad_url: &str, setup: impl FnOnce(&mut Easy)) -> Finished {
    use super::http_server::{routes, Response};
    let good_body = pattern(200_000);
    let body = good_body.clone();
    let good = Server::start(routes(move |_| Response::ok(body.clone())));
    let mut m = Multi::new();
    let mut e = rec_easy(bad_url);
    e.timeout(Some(Duration::from_secs(20)));
    setup(&mut e);
    let bad_id = m.add(e);
    let good_ids: Vec<_> = (0..3)
        .map(|_| m.add(rec_easy(&good.url("/good"))))
        .collect();
    let mut r = finish(&mut m);
    for id in good_ids {
        assert_same_bytes(r[&id].unwrap().body(), &good_body);
    }
    r.remove(&bad_id).expect("message for the bad transfer")
}

/// Writes `chunk` over and over on `c` (at most 256 MiB) until a write makes no
/// progress for 500 ms or fails; returns the bytes written. Against a client that stopped reading,
/// that is what the socket buffers hold (a few MiB), not the whole stream.
pub fn pump_until_blocked(c: &mut Conn, chunk: &[u8]) -> usize {
    c.tcp()
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("write timeout");
    let mut n = 0;
    while n < 256 << 20 {
        if c.write_all(chunk).is_err() {
            break;
        }
        n += chunk.len();
    }
    n
}

/// Handler: pauses receiving at the first data it is given (write callback or, in
/// WebSocket message mode, the first message) and never unpauses.
#[derive(Debug, Default)]
pub struct PauseForever {
    pub calls: usize,
}

impl Handler for PauseForever {
    fn write(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
        self.calls += 1;
        Flow::Pause
    }
    fn ws_message(&mut self, _ctx: &mut Ctx<'_>, _msg: &[u8], _frame: curlew::ws::WsFrame) -> Flow {
        self.calls += 1;
        Flow::Pause
    }
}

/// Runs `paused` (a [`PauseForever`] transfer against a server that records what
/// [`pump_until_blocked`] wrote in `sent`) beside `healthy` transfers in one
/// [`Multi`] until the server gave up and the healthy ones finished; checks the
/// healthy ones with `check`, then removes the paused one. Returns the bytes the
/// server managed to write.
#[track_caller]
pub fn paused_beside_healthy(
    paused: Easy,
    sent: &std::sync::Mutex<Option<usize>>,
    healthy: Vec<Easy>,
    check: impl Fn(&Finished),
) -> usize {
    let mut m = Multi::new();
    let pid = m.add(paused);
    let ids: Vec<_> = healthy.into_iter().map(|e| m.add(e)).collect();
    let mut done = HashMap::new();
    let deadline = Instant::now() + RUN_BOUND;
    while sent.lock().unwrap().is_none() || done.len() < ids.len() {
        assert!(Instant::now() < deadline, "still running: {m:?}");
        m.poll(Some(Duration::from_millis(20))).expect("poll");
        while let Some(msg) = m.info_read() {
            assert_ne!(msg.id, pid, "the paused transfer ended: {:?}", msg.result);
            done.insert(msg.id, msg.result);
        }
    }
    for id in ids {
        let result = done.remove(&id).expect("finished");
        let easy = m.remove(id).expect("in the multi");
        check(&Finished { result, easy });
    }
    let easy = m.remove(pid).expect("paused transfer still in the multi");
    assert!(easy.handler::<PauseForever>().unwrap().calls >= 1);
    let n = sent.lock().unwrap().expect("set");
    n
}
