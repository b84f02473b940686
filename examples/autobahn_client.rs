//! An [Autobahn|Testsuite](https://github.com/crossbario/autobahn-testsuite) client for the
//! `wstest -m fuzzingserver` protocol (`shared/autobahn/README.md` has the setup):
//!
//! ```text
//! autobahn_client [--url ws://127.0.0.1:9001] [--agent curlew] [--cases SPEC] [--parallel K]
//!                 [--send-queue BYTES] [--case-timeout SECS] [--compress] [--verbose]
//! ```
//!
//! `--compress` offers permessage-deflate (RFC 7692, `Easy::ws_compress`) on every case
//! connection: 12.* and 13.* need it, the other cases then run compressed where the server
//! accepts.
//!
//! 1. `/getCaseCount` answers one text message, the number of cases N.
//! 2. `/runCase?case=i&agent=NAME` for every selected i: every message received is echoed back
//!    whole, with the same type, until the server closes. All cases run on **one** [`Multi`],
//!    `K` at a time (default 4).
//! 3. `/updateReports?agent=NAME` makes the server write its report (`index.json`).
//!
//! The echo handler reassembles each message from the write-callback chunks
//! ([`Ctx::ws_meta`]: the type flag on every fragment, `CONT` on all but the last, `bytesleft`
//! per frame) and sends it back as one frame with [`WsHandle::send`]. When the send queue takes
//! only part of it, the rest waits in the case's outbox and the same frame is continued later:
//! from the next write callback, or from the main loop through [`Multi::ws`].
//!
//! `--cases SPEC` is a comma-separated list of case numbers (`7`), ranges of numbers (`1-16`)
//! and case ids or id patterns (`9.1.6`, `6.4.*`); ids are resolved with `/getCaseInfo`.
//! A failing case is not an error of this program: it exits 0 when every selected case ran and
//! the report was written, 1 otherwise (and 2 on bad arguments). `--verbose` prints one line
//! per case.
//!
//! ```sh
//! shared/autobahn/run-fuzzingserver.sh /tmp/ab-curlew
//! cargo run --release --example autobahn_client -- --url ws://127.0.0.1:9001 --agent curlew
//! python3 shared/autobahn/summarize.py /tmp/ab-curlew --agent curlew --strict-close
//! ```

use std::collections::{HashMap, VecDeque};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{WsError, WsHandle, BINARY, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, Multi, TransferId};

/// 9.* sends messages of up to 16 MiB.
const MAX_MESSAGE: u64 = 64 << 20;
/// Default send queue bound: a whole 16 MiB echo plus headroom, so sends rarely split.
const DEFAULT_SEND_QUEUE: usize = 32 << 20;
/// After a loop-driven send found the queue full, wait this long before the next try (a send
/// marks the transfer for a turn of the multi; retrying at once would spin).
const RETRY_PAUSE: Duration = Duration::from_millis(1);
/// The longest wait in `Multi::poll` when nothing is pending.
const POLL_WAIT: Duration = Duration::from_millis(50);

const USAGE: &str = "usage: autobahn_client [--url ws://127.0.0.1:9001] [--agent curlew] \
[--cases SPEC] [--parallel K] [--send-queue BYTES] [--case-timeout SECS] [--compress] [--verbose]";

struct Args {
    url: String,
    agent: String,
    cases: Option<String>,
    parallel: usize,
    send_queue: usize,
    case_timeout: Duration,
    verbose: bool,
    compress: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "ws://127.0.0.1:9001".into(),
        agent: "curlew".into(),
        cases: None,
        parallel: 4,
        send_queue: DEFAULT_SEND_QUEUE,
        case_timeout: Duration::from_secs(120),
        verbose: false,
        compress: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("missing value for {arg}"));
        fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("{flag}: not a number: {v}"))
        }
        match arg.as_str() {
            "--url" => a.url = value()?.trim_end_matches('/').to_string(),
            "--agent" => a.agent = value()?,
            "--cases" => a.cases = Some(value()?),
            "--parallel" => a.parallel = num::<usize>("--parallel", &value()?)?.max(1),
            "--send-queue" => a.send_queue = num("--send-queue", &value()?)?,
            "--case-timeout" => {
                a.case_timeout = Duration::from_secs(num("--case-timeout", &value()?)?)
            }
            "-v" | "--verbose" => a.verbose = true,
            "--compress" => a.compress = true,
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown argument {arg}\n{USAGE}")),
        }
    }
    if !a.url.starts_with("ws://") && !a.url.starts_with("wss://") {
        return Err(format!("not a ws(s) URL: {}", a.url));
    }
    if a.agent.is_empty()
        || !a
            .agent
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(format!(
            "--agent: use letters, digits, '-', '_' or '.': {:?}",
            a.agent
        ));
    }
    Ok(a)
}

/// Echoes not yet (completely) handed to the session, shared between the write callback and
/// the main loop.
#[derive(Default)]
struct Outbox {
    /// Whole messages and their type flag, oldest first.
    queue: VecDeque<(Vec<u8>, u32)>,
    /// Bytes of the front message already accepted by the session: its frame is open.
    sent: usize,
    /// Earliest time the main loop retries after the queue was full.
    retry_at: Option<Instant>,
    /// A send failed for another reason than a full queue (or the connection closed).
    error: Option<String>,
}

enum Pump {
    /// Everything was handed to the session.
    Empty,
    /// The send queue is full; the rest waits. `true` when some bytes were taken first.
    Full(bool),
    /// No more sends are possible.
    Stopped,
}

impl Outbox {
    /// Hands as much as the send queue takes to the session, continuing the open frame first.
    fn pump(&mut self, ws: &mut WsHandle<'_>) -> Pump {
        let mut took = false;
        while let Some((msg, ty)) = self.queue.front() {
            match ws.send(&msg[self.sent..], *ty) {
                Ok(n) => {
                    self.sent += n;
                    took = true;
                    if self.sent < msg.len() {
                        return Pump::Full(true);
                    }
                    self.queue.pop_front();
                    self.sent = 0;
                }
                Err(WsError::WouldBlock) => return Pump::Full(took),
                Err(e) => {
                    if !matches!(e, WsError::Closed) {
                        self.error.get_or_insert_with(|| format!("send: {e}"));
                    }
                    self.queue.clear();
                    self.sent = 0;
                    return Pump::Stopped;
                }
            }
        }
        Pump::Empty
    }
}

/// The write callback of a case: reassembles messages and echoes them.
struct Echo {
    outbox: Arc<Mutex<Outbox>>,
    /// The message being received.
    cur: Vec<u8>,
    echoed: u64,
}

impl Handler for Echo {
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let Some(meta) = ctx.ws_meta() else {
            return Flow::Continue;
        };
        let ty = meta.flags & (TEXT | BINARY);
        if ty == 0 {
            // Close (echoed by the session), pong, or a ping when auto-pong is off.
            return Flow::Continue;
        }
        if self.cur.is_empty() && meta.offset == 0 {
            self.cur.reserve(data.len() + meta.bytesleft as usize);
        }
        self.cur.extend_from_slice(data);
        if !meta.is_message_end() {
            return Flow::Continue;
        }
        let msg = std::mem::take(&mut self.cur);
        self.echoed += 1;
        let mut ob = self.outbox.lock().unwrap_or_else(|p| p.into_inner());
        ob.queue.push_back((msg, ty));
        if let Ok(mut ws) = ctx.ws() {
            ob.pump(&mut ws);
        }
        Flow::Continue
    }
}

/// Collects the text of a one-message answer (`getCaseCount`, `getCaseInfo`).
#[derive(Default)]
struct Text(Vec<u8>);

impl Handler for Text {
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        if ctx
            .ws_meta()
            .is_some_and(|m| m.flags & (TEXT | BINARY) != 0)
        {
            self.0.extend_from_slice(data);
        }
        Flow::Continue
    }
}

/// One connection to run: what it is for and its transfer.
struct Job {
    tag: usize,
    easy: Easy,
    outbox: Option<Arc<Mutex<Outbox>>>,
}

/// How a job ended.
struct Done {
    tag: usize,
    result: Result<(), String>,
    easy: Option<Easy>,
    outbox: Option<Arc<Mutex<Outbox>>>,
    secs: f64,
}

fn new_easy(args: &Args, path: &str, handler: impl Handler) -> Result<Easy, String> {
    let url = format!("{}{path}", args.url);
    let mut e = Easy::with_handler(&url, handler).map_err(|e| format!("{url}: {e}"))?;
    e.ws_max_message_size(MAX_MESSAGE)
        .ws_max_frame_size(MAX_MESSAGE)
        .ws_max_send_queue(args.send_queue)
        .connect_timeout(Duration::from_secs(10));
    if args.compress {
        e.ws_compress(Some(curlew::ws::DeflateConfig::default()))
            .map_err(|e| e.to_string())?;
    }
    Ok(e)
}

/// Runs `jobs` on `m`, `k` at a time; `on_done` sees each as it ends.
fn run_jobs(
    m: &mut Multi,
    jobs: Vec<Job>,
    k: usize,
    timeout: Duration,
    mut on_done: impl FnMut(Done),
) -> Result<(), String> {
    struct Active {
        tag: usize,
        outbox: Option<Arc<Mutex<Outbox>>>,
        started: Instant,
    }
    let mut pending: VecDeque<Job> = jobs.into();
    let mut active: HashMap<TransferId, Active> = HashMap::new();
    loop {
        while active.len() < k {
            let Some(job) = pending.pop_front() else {
                break;
            };
            let id = m.add(job.easy);
            let a = Active {
                tag: job.tag,
                outbox: job.outbox,
                started: Instant::now(),
            };
            active.insert(id, a);
        }
        if active.is_empty() {
            return Ok(());
        }
        // With echoes waiting for room, come back soon: the multi reports no event when the
        // socket drains, only the next turn shows the room.
        let waiting = active.values().any(|a| {
            a.outbox
                .as_ref()
                .is_some_and(|o| !o.lock().unwrap_or_else(|p| p.into_inner()).queue.is_empty())
        });
        let wait = if waiting { RETRY_PAUSE } else { POLL_WAIT };
        m.poll(Some(wait)).map_err(|e| format!("poll: {e}"))?;
        while let Some(msg) = m.info_read() {
            let Some(a) = active.remove(&msg.id) else {
                continue;
            };
            let easy = m.remove(msg.id);
            on_done(Done {
                tag: a.tag,
                result: msg.result.map_err(|e| e.to_string()),
                easy,
                outbox: a.outbox,
                secs: a.started.elapsed().as_secs_f64(),
            });
        }
        // Echoes the send queue could not take at once: continue them from here.
        let now = Instant::now();
        let mut expired = Vec::new();
        for (&id, a) in &active {
            if now.duration_since(a.started) > timeout {
                expired.push(id);
                continue;
            }
            let Some(ob) = &a.outbox else { continue };
            let mut ob = ob.lock().unwrap_or_else(|p| p.into_inner());
            if ob.queue.is_empty() || ob.retry_at.is_some_and(|t| now < t) {
                continue;
            }
            let Ok(mut ws) = m.ws(id) else { continue };
            ob.retry_at = match ob.pump(&mut ws) {
                Pump::Full(false) => Some(now + RETRY_PAUSE),
                Pump::Full(true) | Pump::Empty | Pump::Stopped => None,
            };
        }
        for id in expired {
            let a = active.remove(&id).expect("listed above");
            let easy = m.remove(id);
            on_done(Done {
                tag: a.tag,
                result: Err(format!("no end after {} s", timeout.as_secs())),
                easy,
                outbox: a.outbox,
                secs: a.started.elapsed().as_secs_f64(),
            });
        }
    }
}

/// Runs one request whose answer is a text message (or nothing, for `updateReports`).
fn fetch_text(m: &mut Multi, args: &Args, path: &str) -> Result<String, String> {
    let job = Job {
        tag: 0,
        easy: new_easy(args, path, Text::default())?,
        outbox: None,
    };
    let mut out = Err(format!("{path}: no result"));
    run_jobs(m, vec![job], 1, Duration::from_secs(60), |d| {
        out = match (d.result, d.easy) {
            (Err(e), _) => Err(format!("{path}: {e}")),
            (Ok(()), Some(e)) => {
                let t = e.handler::<Text>().map(|t| t.0.clone()).unwrap_or_default();
                Ok(String::from_utf8_lossy(&t).into_owned())
            }
            (Ok(()), None) => Err(format!("{path}: transfer lost")),
        }
    })?;
    out
}

/// The `"id"` of a `getCaseInfo` answer.
fn case_id_of(json: &str) -> Option<String> {
    let rest = &json[json.find("\"id\"")? + 4..];
    let rest = &rest[rest.find('"')? + 1..];
    Some(rest[..rest.find('"')?].to_string())
}

fn id_matches(pattern: &str, id: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => id.starts_with(prefix),
        None => id == pattern,
    }
}

/// The ids of cases `1..=n` (`getCaseInfo`, `k` at a time).
fn case_ids(m: &mut Multi, args: &Args, n: usize) -> Result<HashMap<usize, String>, String> {
    let mut jobs = Vec::with_capacity(n);
    for i in 1..=n {
        let path = format!("/getCaseInfo?case={i}");
        jobs.push(Job {
            tag: i,
            easy: new_easy(args, &path, Text::default())?,
            outbox: None,
        });
    }
    let mut ids = HashMap::new();
    let mut err = None;
    run_jobs(m, jobs, args.parallel, Duration::from_secs(60), |d| {
        let text = d
            .easy
            .as_ref()
            .and_then(|e| e.handler::<Text>())
            .map(|t| String::from_utf8_lossy(&t.0).into_owned());
        match (d.result, text.as_deref().and_then(case_id_of)) {
            (Ok(()), Some(id)) => {
                ids.insert(d.tag, id);
            }
            (r, _) => {
                err.get_or_insert(format!("getCaseInfo?case={}: {r:?} {text:?}", d.tag));
            }
        }
    })?;
    match err {
        Some(e) => Err(e),
        None => Ok(ids),
    }
}

/// The selected case numbers, in order.
fn select(spec: &str, n: usize, ids: &HashMap<usize, String>) -> Result<Vec<usize>, String> {
    let mut keep = vec![false; n + 1];
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let number = |s: &str| {
            s.parse::<usize>()
                .ok()
                .filter(|&i| (1..=n).contains(&i))
                .ok_or_else(|| format!("--cases: {s} is not a case number in 1..={n}"))
        };
        if item.contains('.') || item.contains('*') {
            let mut any = false;
            for (&i, id) in ids {
                if id_matches(item, id) {
                    keep[i] = true;
                    any = true;
                }
            }
            if !any {
                return Err(format!("--cases: no case id matches {item}"));
            }
        } else if let Some((a, b)) = item.split_once('-') {
            for k in &mut keep[number(a)?..=number(b)?] {
                *k = true;
            }
        } else {
            keep[number(item)?] = true;
        }
    }
    Ok((1..=n).filter(|&i| keep[i]).collect())
}

fn run(args: &Args) -> Result<(), String> {
    let mut m = Multi::new();
    let count = fetch_text(&mut m, args, "/getCaseCount")?;
    let n: usize = count
        .trim()
        .parse()
        .map_err(|_| format!("getCaseCount: not a number: {count:?}"))?;
    let needs_ids = args.verbose
        || args
            .cases
            .as_deref()
            .is_some_and(|s| s.contains('.') || s.contains('*'));
    let ids = if needs_ids {
        case_ids(&mut m, args, n)?
    } else {
        HashMap::new()
    };
    let selected = match &args.cases {
        Some(spec) => select(spec, n, &ids)?,
        None => (1..=n).collect(),
    };
    eprintln!(
        "autobahn_client: running {} of {n} cases, {} at a time, agent {}",
        selected.len(),
        args.parallel,
        args.agent
    );

    let start = Instant::now();
    let mut jobs = Vec::with_capacity(selected.len());
    for &i in &selected {
        let outbox = Arc::new(Mutex::new(Outbox::default()));
        let echo = Echo {
            outbox: outbox.clone(),
            cur: Vec::new(),
            echoed: 0,
        };
        let path = format!("/runCase?case={i}&agent={}", args.agent);
        jobs.push(Job {
            tag: i,
            easy: new_easy(args, &path, echo)?,
            outbox: Some(outbox),
        });
    }
    let (mut clean, mut other) = (0usize, 0usize);
    run_jobs(&mut m, jobs, args.parallel, args.case_timeout, |d| {
        let echoed = d
            .easy
            .as_ref()
            .and_then(|e| e.handler::<Echo>())
            .map_or(0, |h| h.echoed);
        let send_err = d
            .outbox
            .and_then(|o| o.lock().unwrap_or_else(|p| p.into_inner()).error.take());
        match &d.result {
            Ok(()) => clean += 1,
            Err(_) => other += 1,
        }
        if args.verbose {
            let id = ids.get(&d.tag).map_or("?", String::as_str);
            let how = match &d.result {
                Ok(()) => "closed cleanly".to_string(),
                Err(e) => format!("ended: {e}"),
            };
            let extra = send_err.map(|e| format!(" ({e})")).unwrap_or_default();
            println!(
                "case {:>3} {id:<8} {echoed:>6} echoed {:>7.3} s  {how}{extra}",
                d.tag, d.secs
            );
        }
    })?;
    eprintln!(
        "autobahn_client: {} cases in {:.1} s ({clean} closed cleanly, {other} ended otherwise)",
        selected.len(),
        start.elapsed().as_secs_f64()
    );

    fetch_text(
        &mut m,
        args,
        &format!("/updateReports?agent={}", args.agent),
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            ExitCode::from(1)
        }
    }
}
