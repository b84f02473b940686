//! Scale benchmark: does a crowd of idle WebSocket connections slow the active ones down?
//!
//! ```text
//! ws_idle_scale --url ws://127.0.0.1:P/ [--active 10] [--idle 10000] [--msgs 100000]
//!               [--size 16] [--reps 3]
//! ```
//!
//! One [`Multi`], the callback model, against any echo server (e.g. `shared/bench`'s
//! `echo-server`). `--active` connections play ping-pong (one message in flight each, the next
//! one sent from the write callback) until `--msgs` echoes have come back, first alone, then
//! with `--idle` more connections open and silent beside them in the same multi. It prints
//! messages per second for both phases (median of `--reps`), their ratio, and the process RSS
//! per idle connection. With per-turn work proportional to the ready transfers, the ratio stays
//! near 1 (the issue asks for at least 0.9 with 10,000 idle).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use curlew::ws::BINARY;
use curlew::{Ctx, Easy, Flow, Handler, Multi, TransferId};

struct Args {
    url: String,
    active: usize,
    idle: usize,
    msgs: usize,
    size: usize,
    reps: usize,
}

fn parse() -> Args {
    let mut a = Args {
        url: String::new(),
        active: 10,
        idle: 10_000,
        msgs: 100_000,
        size: 16,
        reps: 3,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: ws_idle_scale --url ws://127.0.0.1:P/ [--active 10] [--idle 10000] \
                 [--msgs 100000] [--size 16] [--reps 3]";
    let mut i = 0;
    while i < argv.len() {
        let k = argv[i].as_str();
        if k == "-h" || k == "--help" {
            println!("{usage}");
            std::process::exit(0);
        }
        let Some(v) = argv.get(i + 1) else {
            eprintln!("{usage}");
            std::process::exit(2);
        };
        let n = || {
            v.parse::<usize>().unwrap_or_else(|_| {
                eprintln!("{k}: not a number: {v}");
                std::process::exit(2)
            })
        };
        match k {
            "--url" => a.url = v.clone(),
            "--active" => a.active = n().max(1),
            "--idle" => a.idle = n(),
            "--msgs" => a.msgs = n().max(1),
            "--size" => a.size = n(),
            "--reps" => a.reps = n().max(1),
            _ => {
                eprintln!("{usage}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    if a.url.is_empty() {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    a
}

/// Shared by the active connections of one phase.
struct Phase {
    /// Echoes still to receive in this phase.
    left: AtomicUsize,
    opened: AtomicUsize,
}

struct Pinger {
    phase: Arc<Phase>,
    payload: Arc<Vec<u8>>,
    got: usize,
    /// Messages in flight per phase (one per active connection).
    inflight: usize,
}

impl Handler for Pinger {
    fn ws_open(&mut self, _ctx: &mut Ctx<'_>) -> Flow {
        self.phase.opened.fetch_add(1, Ordering::Relaxed);
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().expect("a WebSocket chunk");
        if meta.is_close() {
            return Flow::Continue;
        }
        self.got += data.len();
        if meta.bytesleft > 0 || self.got < self.payload.len() {
            return Flow::Continue;
        }
        self.got = 0;
        // One more echo is back; send the next one while the phase needs more than are
        // already in flight.
        let before = self.phase.left.fetch_sub(1, Ordering::Relaxed);
        if before > self.inflight {
            if let Ok(mut ws) = ctx.ws() {
                let _ = ws.send(&self.payload, BINARY);
            }
        }
        Flow::Continue
    }
}

/// Idle connections only count themselves in.
struct Idle(Arc<Phase>);

impl Handler for Idle {
    fn ws_open(&mut self, _ctx: &mut Ctx<'_>) -> Flow {
        self.0.opened.fetch_add(1, Ordering::Relaxed);
        Flow::Continue
    }
}

fn rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    s.split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4)
}

fn wait(m: &mut Multi, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !done() {
        if Instant::now() > deadline {
            eprintln!("ws_idle_scale: timed out waiting for {what}: {m:?}");
            std::process::exit(1);
        }
        m.poll(Some(Duration::from_millis(100)))
            .unwrap_or_else(|e| {
                eprintln!("ws_idle_scale: poll: {e}");
                std::process::exit(1)
            });
        if let Some(msg) = m.info_read() {
            eprintln!("ws_idle_scale: a transfer ended: {:?}", msg.result);
            std::process::exit(1);
        }
    }
}

/// One ping-pong phase on the active connections; returns messages per second.
fn run_phase(m: &mut Multi, ids: &[TransferId], phase: &Phase, payload: &[u8], msgs: usize) -> f64 {
    phase.left.store(msgs, Ordering::Relaxed);
    let start = Instant::now();
    for &id in ids.iter().take(msgs) {
        m.ws(id)
            .and_then(|mut ws| ws.send(payload, BINARY))
            .unwrap();
    }
    wait(m, "the echoes", || phase.left.load(Ordering::Relaxed) == 0);
    msgs as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let a = parse();
    let mut m = Multi::new();
    let payload = Arc::new(vec![0x5au8; a.size]);
    let phase = Arc::new(Phase {
        left: AtomicUsize::new(0),
        opened: AtomicUsize::new(0),
    });
    let ids: Vec<TransferId> = (0..a.active)
        .map(|_| {
            let mut e = Easy::with_handler(
                &a.url,
                Pinger {
                    phase: phase.clone(),
                    payload: payload.clone(),
                    got: 0,
                    inflight: a.active.min(a.msgs),
                },
            )
            .unwrap();
            e.ws_max_message_size(a.size.max(1 << 20) as u64);
            m.add(e)
        })
        .collect();
    wait(&mut m, "the active connections", || {
        phase.opened.load(Ordering::Relaxed) == a.active
    });
    let alone: Vec<f64> = (0..a.reps)
        .map(|_| run_phase(&mut m, &ids, &phase, &payload, a.msgs))
        .collect();
    let rss0 = rss_kb();
    let idle_phase = Arc::new(Phase {
        left: AtomicUsize::new(0),
        opened: AtomicUsize::new(0),
    });
    let t = Instant::now();
    for _ in 0..a.idle {
        m.add(Easy::with_handler(&a.url, Idle(idle_phase.clone())).unwrap());
    }
    wait(&mut m, "the idle connections", || {
        idle_phase.opened.load(Ordering::Relaxed) == a.idle
    });
    let connect_s = t.elapsed().as_secs_f64();
    let rss1 = rss_kb();
    let crowd: Vec<f64> = (0..a.reps)
        .map(|_| run_phase(&mut m, &ids, &phase, &payload, a.msgs))
        .collect();
    let (x, y) = (median(alone), median(crowd));
    println!(
        "active={} idle={} size={} msgs={} msgs_per_s_alone={:.0} msgs_per_s_with_idle={:.0} \
         ratio={:.3} idle_connect_s={:.3} rss_per_idle_kb={:.2}",
        a.active,
        a.idle,
        a.size,
        a.msgs,
        x,
        y,
        y / x,
        connect_s,
        (rss1.saturating_sub(rss0)) as f64 / a.idle.max(1) as f64
    );
}
