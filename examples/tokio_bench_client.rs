//! The tokio-flavoured bench client: the same contracts as `ws_bench_client` (shared/bench)
//! and `http_bench_client` (shared/bench-http), on [`curlew::tokio::Client`]: every
//! connection or request stream is a tokio task, as with tokio-tungstenite and reqwest.
//!
//! ```text
//! tokio_bench_client --url ws://127.0.0.1:P/ --conns C --msgs M --size S [--window K]
//! tokio_bench_client --url http://... --requests N --conns C [--cacert FILE] [--no-reuse]
//!                    [--http2 --streams M]
//! ```
//!
//! One current-thread runtime. WebSocket: all `C` connect, then each task keeps `K` binary
//! messages of `S` bytes in flight until `M` echoes came back (each checked for type and
//! length), then closes; it prints the harness's result line (`client=curlew-tokio ...`).
//! HTTP: `C` tasks (times `M` streams with `--http2`) each run requests in turn until `N`
//! are done, every one checked to be a 200 whose body length equals its Content-Length; it
//! prints `result requests=N bytes=B secs=S`.
//!
//! ```sh
//! cargo build --release --features tokio --example tokio_bench_client
//! CURLEW_CLIENT=$PWD/target/release/examples/tokio_bench_client shared/bench/run.sh
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use curlew::tokio::Client;
use curlew::ws::Message;
use curlew::{Ctx, Easy, Flow, Handler, HttpVersionOption};
use futures_util::{SinkExt, StreamExt};

#[path = "support/usage.rs"]
mod usage;
use usage::{current_rss_kb, rusage};

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Default)]
struct Args {
    url: String,
    conns: usize,
    msgs: usize,
    size: usize,
    window: usize,
    requests: u64,
    cacert: Option<String>,
    no_reuse: bool,
    http2: bool,
    streams: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        window: 1,
        streams: 1,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => a.url = val()?,
            "--conns" => a.conns = val()?.parse().map_err(|e| format!("--conns: {e}"))?,
            "--msgs" => a.msgs = val()?.parse().map_err(|e| format!("--msgs: {e}"))?,
            "--size" => a.size = val()?.parse().map_err(|e| format!("--size: {e}"))?,
            "--window" => a.window = val()?.parse().map_err(|e| format!("--window: {e}"))?,
            "--threads" => {
                val()?;
            }
            "--requests" => a.requests = val()?.parse().map_err(|e| format!("--requests: {e}"))?,
            "--cacert" => a.cacert = Some(val()?),
            "--no-reuse" => a.no_reuse = true,
            "--http2" => a.http2 = true,
            "--streams" => a.streams = val()?.parse().map_err(|e| format!("--streams: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.url.is_empty() || a.conns == 0 {
        return Err("--url and --conns are required".into());
    }
    Ok(a)
}

// ----- WebSocket --------------------------------------------------------------------------

async fn ws_run(a: Arc<Args>) -> Result<(), Failure> {
    let client = Client::new()?;
    let (t_start, ru_start) = (Instant::now(), rusage());
    let connects = (0..a.conns).map(|_| client.websocket(Easy::new(&a.url).expect("URL")));
    let mut sockets = Vec::with_capacity(a.conns);
    for ws in futures_util::future::join_all(connects).await {
        sockets.push(ws?);
    }
    let rss_idle_kb = current_rss_kb();
    let (t_connected, ru_connected) = (Instant::now(), rusage());
    let payload: Vec<u8> = (0..a.size).map(|i| (i % 251) as u8).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for mut ws in sockets {
        let (a, payload) = (a.clone(), payload.clone());
        tasks.spawn(async move {
            let (mut sent, mut got) = (0, 0);
            while sent < a.window.min(a.msgs) {
                ws.feed(Message::Binary(payload.clone())).await?;
                sent += 1;
            }
            ws.flush().await?;
            while got < a.msgs {
                match ws.next().await {
                    Some(Ok(Message::Binary(b))) if b.len() == a.size => got += 1,
                    other => return Err(format!("unexpected {other:?}").into()),
                }
                if sent < a.msgs {
                    ws.send(Message::Binary(payload.clone())).await?;
                    sent += 1;
                }
            }
            Ok::<_, Failure>(ws)
        });
    }
    let mut open = Vec::with_capacity(a.conns);
    while let Some(r) = tasks.join_next().await {
        open.push(r??);
    }
    let (t_done, ru_done) = (Instant::now(), rusage());
    let closes = open.into_iter().map(|mut ws| async move {
        ws.close().await?;
        while let Some(m) = ws.next().await {
            m?;
        }
        Ok::<_, Failure>(())
    });
    for r in futures_util::future::join_all(closes).await {
        r?;
    }
    let t_closed = Instant::now();
    let end = rusage();
    let total = (a.conns * a.msgs) as f64;
    let wall = (t_done - t_connected).as_secs_f64();
    let (mu, ms) = (
        ru_done.user_s - ru_connected.user_s,
        ru_done.sys_s - ru_connected.sys_s,
    );
    println!(
        "client=curlew-tokio conns={} msgs={} size={} window={} wall_s={wall:.6} msgs_per_s={:.1} \
         MB_per_s={:.3} user_s={:.6} sys_s={:.6} cpu_s_per_1M_msgs={:.4} max_rss_kb={} \
         connect_s={:.6} close_s={:.6} msg_user_s={mu:.6} msg_sys_s={ms:.6} rss_start_kb={} \
         rss_idle_kb={rss_idle_kb} threads=1 lib=curlew/{}+tokio",
        a.conns,
        a.msgs,
        a.size,
        a.window,
        total / wall,
        total * a.size as f64 / wall / 1e6,
        end.user_s,
        end.sys_s,
        (mu + ms) / total * 1e6,
        end.max_rss_kb,
        (t_connected - t_start).as_secs_f64(),
        (t_closed - t_done).as_secs_f64(),
        ru_start.max_rss_kb,
        env!("CARGO_PKG_VERSION"),
    );
    Ok(())
}

// ----- HTTP -------------------------------------------------------------------------------

/// Counts body bytes, keeps none.
#[derive(Default)]
struct Count(u64);

impl Handler for Count {
    fn wants_headers(&self) -> bool {
        false
    }

    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.0 += data.len() as u64;
        Flow::Continue
    }
}

fn new_easy(a: &Args) -> Result<Easy, Failure> {
    let mut e = Easy::with_handler(&a.url, Count::default())?;
    if let Some(ca) = &a.cacert {
        e.ca_file(ca);
    }
    e.forbid_reuse(a.no_reuse);
    e.http_version(match (a.http2, a.url.starts_with("https:")) {
        (false, _) => HttpVersionOption::Http11,
        (true, true) => HttpVersionOption::Http2Tls,
        (true, false) => HttpVersionOption::Http2PriorKnowledge,
    });
    Ok(e)
}

/// One finished request's body length, checked against its Content-Length.
fn check(easy: &mut Easy) -> Result<u64, Failure> {
    let (code, cl) = (
        easy.info().response_code,
        easy.info().content_length_download,
    );
    let n = std::mem::take(&mut easy.handler_mut::<Count>().ok_or("handler")?.0);
    match (code, cl) {
        (200, Some(len)) if len == n => Ok(n),
        _ => Err(format!("status {code}, {n} bytes, Content-Length {cl:?}").into()),
    }
}

async fn http_run(a: Arc<Args>) -> Result<(), Failure> {
    let client = Client::with_multi(|m| {
        m.set_max_host_connections(a.conns)
            .set_max_total_connections(a.conns)
            .set_max_idle_connections(a.conns)
            .set_max_concurrent_streams(a.streams);
    })?;
    let left = Arc::new(AtomicU64::new(a.requests));
    let bytes = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let workers = (a.conns * a.streams as usize).min(a.requests as usize);
    for _ in 0..workers {
        let (c, a, left, bytes) = (client.clone(), a.clone(), left.clone(), bytes.clone());
        tasks.spawn(async move {
            let mut easy = new_easy(&a)?;
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                easy = c.request(easy).await?;
                bytes.fetch_add(check(&mut easy)?, Ordering::Relaxed);
            }
            Ok::<_, Failure>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    println!(
        "result requests={} bytes={} secs={:.6}{}",
        a.requests,
        bytes.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
        if a.http2 { " http=2" } else { "" }
    );
    Ok(())
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("tokio_bench_client: {e}");
            return ExitCode::from(1);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let r = match a.url.starts_with("ws") {
        true => rt.block_on(ws_run(a)),
        false => rt.block_on(http_run(a)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("client=curlew-tokio error: {e}");
            ExitCode::from(1)
        }
    }
}
