//! The `curlew` client of the HTTP/1.1 GET benchmark in `shared/bench-http` (its README has the
//! contract):
//!
//! ```text
//! http_bench_client --url URL --requests N --conns C [--cacert FILE] [--no-reuse]
//!                   [--http2 --streams M] [--proxy URL]
//! ```
//!
//! One [`Multi`], at most `C` transfers in flight and at most `C` connections (the multi's own
//! pool does the reuse), bodies counted and discarded by a [`Handler`]. Every response must be
//! a 200 whose body length equals its `Content-Length`, the same for all `N`. On success it
//! prints `result requests=N bytes=B secs=S` and exits 0; on a failed check, a failed transfer
//! or 10 s without a completed request it exits 1.
//!
//! A finished transfer's [`Easy`] is taken back with [`Multi::remove`], its counter reset, and
//! added again for the next request (cheaper than building a new `Easy`, which parses the URL
//! and allocates its options again). `CURLEW_BENCH_FRESH_EASY=1` builds a new `Easy` per
//! request instead, to compare the two.
//!
//! ```sh
//! cargo build --release --example http_bench_client
//! CURLEW_CLIENT=target/release/examples/http_bench_client shared/bench-http/run.sh
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use curlew::{Ctx, Easy, Flow, Handler, HttpVersion, HttpVersionOption, Multi};

/// Give up after this long without a completed request.
const STALL_LIMIT: Duration = Duration::from_secs(10);
/// The longest single wait in `poll`.
const STALL_POLL: Duration = Duration::from_secs(1);

/// The write callback: counts body bytes, keeps none.
#[derive(Debug, Default)]
struct Count {
    bytes: u64,
}

impl Handler for Count {
    /// Header lines are not needed (as the libcurl client sets no header function).
    fn wants_headers(&self) -> bool {
        false
    }

    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.bytes += data.len() as u64;
        Flow::Continue
    }
}

struct Args {
    url: String,
    requests: u64,
    conns: usize,
    cacert: Option<String>,
    no_reuse: bool,
    /// `--http2`: HTTP/2 only (ALPN `h2` for https, prior knowledge for http).
    http2: bool,
    /// `--streams M`: concurrent streams per connection.
    streams: u32,
    /// `--proxy URL`: every request through that proxy.
    proxy: Option<String>,
}

const USAGE: &str = "usage: http_bench_client --url URL --requests N --conns C [--cacert FILE] \
     [--no-reuse] [--http2 --streams M] [--proxy URL]";

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut requests = None;
    let mut conns = None;
    let mut cacert = None;
    let mut no_reuse = false;
    let mut http2 = false;
    let mut streams = 1u32;
    let mut proxy = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("missing value for {arg}"));
        match arg.as_str() {
            "--url" => url = Some(value()?),
            "--requests" => {
                let v = value()?;
                requests = Some(
                    v.parse::<u64>()
                        .map_err(|e| format!("--requests {v}: {e}"))?,
                );
            }
            "--conns" => {
                let v = value()?;
                conns = Some(
                    v.parse::<usize>()
                        .map_err(|e| format!("--conns {v}: {e}"))?,
                );
            }
            "--cacert" => cacert = Some(value()?),
            "--no-reuse" => no_reuse = true,
            "--proxy" => proxy = Some(value()?),
            "--http2" => http2 = true,
            "--streams" => {
                let v = value()?;
                streams = v
                    .parse::<u32>()
                    .map_err(|e| format!("--streams {v}: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            _ => return Err(format!("unknown argument {arg}\n{USAGE}")),
        }
    }
    match (url, requests, conns) {
        (Some(url), Some(requests), Some(conns)) if requests > 0 && conns > 0 => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("not an http(s) URL: {url}"));
            }
            Ok(Args {
                url,
                requests,
                conns,
                cacert,
                no_reuse,
                http2,
                streams: streams.max(1),
                proxy,
            })
        }
        _ => Err(USAGE.to_string()),
    }
}

fn new_easy(args: &Args) -> Result<Easy, String> {
    let mut easy = Easy::with_handler(&args.url, Count::default())
        .map_err(|e| format!("{}: {e}", args.url))?;
    if let Some(ca) = &args.cacert {
        easy.ca_file(ca);
    }
    easy.forbid_reuse(args.no_reuse);
    if let Some(p) = &args.proxy {
        easy.proxy(p).map_err(|e| format!("--proxy {p}: {e}"))?;
    }
    easy.http_version(match (args.http2, args.url.starts_with("https:")) {
        (false, _) => HttpVersionOption::Http11,
        (true, true) => HttpVersionOption::Http2Tls,
        (true, false) => HttpVersionOption::Http2PriorKnowledge,
    });
    Ok(easy)
}

/// Checks one finished transfer; returns its body length.
fn check(easy: &mut Easy, http2: bool) -> Result<u64, String> {
    let code = easy.info().response_code;
    let version = easy.info().http_version;
    if http2 && version != Some(HttpVersion::Http2) {
        return Err(format!("HTTP version {version:?}, expected HTTP/2"));
    }
    let cl = easy.info().content_length_download;
    let count = easy
        .handler_mut::<Count>()
        .ok_or("the transfer lost its handler")?;
    let bytes = std::mem::take(&mut count.bytes);
    if code != 200 {
        return Err(format!("status {code}, expected 200"));
    }
    match cl {
        Some(n) if n == bytes => Ok(bytes),
        Some(n) => Err(format!("body of {bytes} bytes, Content-Length {n}")),
        None => Err(format!("no Content-Length (body of {bytes} bytes)")),
    }
}

fn run(args: &Args) -> Result<(u64, u64, Duration), String> {
    let fresh_easy = std::env::var_os("CURLEW_BENCH_FRESH_EASY").is_some_and(|v| v == "1");
    let mut multi = Multi::new();
    multi
        .set_max_host_connections(args.conns)
        .set_max_total_connections(args.conns)
        .set_max_idle_connections(args.conns)
        .set_max_concurrent_streams(args.streams);

    let start = Instant::now();
    let first = (args.conns as u64 * u64::from(args.streams)).min(args.requests);
    for _ in 0..first {
        multi.add(new_easy(args)?);
    }
    let mut started = first;
    let mut done = 0u64;
    let mut total = 0u64;
    let mut body_len: Option<u64> = None;
    // When the first of the polls without a completion since the last one returned (None
    // while requests keep completing: no clock read per request). Polls wait at most
    // STALL_POLL, so a stall is reported within STALL_LIMIT + STALL_POLL.
    let mut quiet_since: Option<Instant> = None;
    while done < args.requests {
        multi
            .poll(Some(STALL_POLL))
            .map_err(|e| format!("poll: {e}"))?;
        let mut progressed = false;
        while let Some(msg) = multi.info_read() {
            let mut easy = multi.remove(msg.id).ok_or("a finished transfer vanished")?;
            if let Err(e) = msg.result {
                return Err(format!("transfer failed: {e}"));
            }
            let n = check(&mut easy, args.http2)?;
            match body_len {
                None => body_len = Some(n),
                Some(m) if m != n => return Err(format!("body of {n} bytes, earlier ones {m}")),
                Some(_) => {}
            }
            total += n;
            done += 1;
            progressed = true;
            if started < args.requests {
                started += 1;
                if fresh_easy {
                    drop(easy);
                    multi.add(new_easy(args)?);
                } else {
                    multi.add(easy);
                }
            }
        }
        if progressed {
            quiet_since = None;
        } else {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= STALL_LIMIT {
                return Err(format!(
                    "no progress for {} s ({done} of {} requests done)",
                    STALL_LIMIT.as_secs(),
                    args.requests
                ));
            }
        }
    }
    Ok((done, total, start.elapsed()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("http_bench_client: {e}");
            return ExitCode::from(1);
        }
    };
    match run(&args) {
        Ok((requests, bytes, secs)) => {
            // Every transfer was checked to be HTTP/2 when asked (see `check`).
            println!(
                "result requests={requests} bytes={bytes} secs={:.6}{}",
                secs.as_secs_f64(),
                if args.http2 { " http=2" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("http_bench_client error: {e}");
            ExitCode::from(1)
        }
    }
}
