//! The main job on an embedded default: no network needed.
//!
//! Starts its own loopback servers (HTTP and HTTPS, with the test CA checked in under
//! `tests/support/data`), then drives thousands of transfers through ONE `Multi`: plain GETs,
//! HTTPS GETs, POST uploads, chunked gzip responses that are decoded on the fly, and redirects,
//! with a per-host connection limit so connections are reused, and WebSocket transfers beside
//! them in the same `Multi` (each echoes messages with a tungstenite server from inside its
//! write callback). It prints a short summary.
//!
//! ```text
//! cargo run --release --example demo [-- --transfers 2000 --conns 16 --websockets 200]
//! ```

use std::io::{BufReader, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use curlew::{Ctx, Easy, Flow, Handler, Multi};

#[path = "support/loopback.rs"]
mod loopback;

const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/data/ca.pem");
const CERT: &[u8] = include_bytes!("../tests/support/data/server.pem");
const KEY: &[u8] = include_bytes!("../tests/support/data/server.key");

fn main() {
    let mut transfers = 2000usize;
    let mut conns = 16usize;
    let mut websockets = 200usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1).and_then(|v| v.parse().ok())) {
            ("--transfers", Some(n)) => transfers = n,
            ("--conns", Some(n)) => conns = n,
            ("--websockets", Some(n)) => websockets = n,
            _ => {
                eprintln!("usage: demo [--transfers N] [--conns C] [--websockets W]");
                std::process::exit(2);
            }
        }
    }

    let accepted = Arc::new(AtomicUsize::new(0));
    let http = serve(None, accepted.clone());
    let https = serve(Some(tls_config()), accepted.clone());
    let ws = loopback::ws_echo_server();
    println!(
        "servers: http://{http}, https://{https} and ws://{ws} (loopback, started by the demo)"
    );

    let mut multi = Multi::new();
    multi.set_max_host_connections(conns);
    let start = Instant::now();
    // The WebSocket transfers join the same Multi and run beside the HTTP ones.
    let mut ws_ids = Vec::new();
    for _ in 0..websockets {
        let e = Easy::with_handler(&format!("ws://{ws}/echo"), WsEcho::default()).expect("URL");
        ws_ids.push(multi.add(e));
    }
    let mut ws_done = 0usize;
    let mut ws_msgs = 0usize;
    let mut added = 0usize;
    let mut done = 0usize;
    let mut failed = 0usize;
    let mut bytes = 0u64;
    let mut connects = 0u64;
    let mut kinds = [0usize; 5];
    // Keep a bounded number in flight, like a real crawler would.
    let in_flight = conns * 4;
    while done < transfers || ws_done < websockets {
        while added < transfers && added - done < in_flight {
            multi.add(make_transfer(added, &http.to_string(), &https.to_string()));
            kinds[added % 5] += 1;
            added += 1;
        }
        multi.poll(Some(Duration::from_secs(1))).expect("poll");
        while let Some(msg) = multi.info_read() {
            let easy = multi.remove(msg.id).expect("finished transfer");
            if let Some(w) = easy.handler::<WsEcho>() {
                ws_done += 1;
                ws_msgs += w.received;
                if msg.result.is_err() || w.received != WS_ROUNDS {
                    failed += 1;
                    eprintln!("websocket: {:?} after {} messages", msg.result, w.received);
                }
                continue;
            }
            done += 1;
            let info = easy.info();
            connects += u64::from(info.num_connects);
            let counted = easy.handler::<Check>().expect("our handler");
            match msg.result {
                Ok(()) if info.response_code == 200 && counted.ok() => bytes += counted.got,
                other => {
                    failed += 1;
                    eprintln!(
                        "{}: {other:?} status {}",
                        info.effective_url, info.response_code
                    );
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "transfers: {done} ({} GET, {} HTTPS GET, {} POST, {} gzip+chunked, {} redirected), failed: {failed}",
        kinds[0], kinds[1], kinds[2], kinds[3], kinds[4]
    );
    println!(
        "websockets: {ws_done} transfers, {ws_msgs} messages echoed from inside write callbacks"
    );
    println!(
        "HTTP connections made: {connects} (servers accepted {}), limit {conns} per host",
        accepted.load(Ordering::Relaxed)
    );
    println!("body bytes: {bytes}");
    println!(
        "time: {secs:.3} s for {} transfers, {:.0} transfers/s, one Multi, one thread",
        done + ws_done,
        (done + ws_done) as f64 / secs
    );
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Messages each WebSocket transfer exchanges before it closes.
const WS_ROUNDS: usize = 10;

/// Sends a message on open, then answers every echo from inside the write callback, closing
/// after `WS_ROUNDS` messages.
#[derive(Default)]
struct WsEcho {
    received: usize,
}

impl Handler for WsEcho {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let _ = ctx
            .ws()
            .and_then(|mut ws| ws.send_text("hello over websocket"));
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let Some(meta) = ctx.ws_meta() else {
            return Flow::Abort;
        };
        if meta.is_close() || !meta.is_message_end() {
            return Flow::Continue;
        }
        self.received += 1;
        let Ok(mut ws) = ctx.ws() else {
            return Flow::Abort;
        };
        let r = if self.received == WS_ROUNDS {
            ws.close(1000, "done").map(|_| 0)
        } else {
            ws.send(data, meta.flags)
        };
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
    fn ok(&self) -> bool {
        self.got == self.want && self.sum == expected_sum(self.want)
    }
}

impl Handler for Check {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.got += data.len() as u64;
        self.sum += data.iter().map(|&b| u64::from(b)).sum::<u64>();
        Flow::Continue
    }
}

fn body_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn expected_sum(len: u64) -> u64 {
    (0..len).map(|i| i % 251).sum()
}

fn make_transfer(i: usize, http: &str, https: &str) -> Easy {
    let len = 100 + (i * 37) % 4000;
    let check = Check {
        want: len as u64,
        got: 0,
        sum: 0,
    };
    let (url, kind) = match i % 5 {
        0 => (format!("http://{http}/get/{len}"), 0),
        1 => (format!("https://localhost:{}/get/{len}", port(https)), 1),
        2 => (format!("http://{http}/post/{len}"), 2),
        3 => (format!("http://{http}/gzip/{len}"), 3),
        _ => (format!("http://{http}/redirect/{len}"), 4),
    };
    let mut easy = Easy::with_handler(&url, check).expect("valid URL");
    match kind {
        1 => {
            easy.ca_file(CA);
        }
        2 => {
            easy.body(vec![b'x'; len]);
        }
        3 => {
            easy.accept_encoding(true);
        }
        4 => {
            easy.follow_location(true);
        }
        _ => {}
    }
    easy
}

fn port(addr: &str) -> &str {
    addr.rsplit(':').next().unwrap_or("0")
}

// ----- the loopback servers: thread per connection, keep-alive -------------------------

fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<_, _>>()
        .expect("demo certificate");
    let key = PrivateKeyDer::from_pem_slice(KEY).expect("demo key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    Arc::new(cfg)
}

fn serve(
    tls: Option<Arc<rustls::ServerConfig>>,
    accepted: Arc<AtomicUsize>,
) -> std::net::SocketAddr {
    loopback::serve_each(move |stream| {
        accepted.fetch_add(1, Ordering::Relaxed);
        match tls.clone() {
            None => handle(stream),
            Some(cfg) => {
                let conn = rustls::ServerConnection::new(cfg).expect("tls session");
                handle(rustls::StreamOwned::new(conn, stream));
            }
        }
    })
}

fn handle<S: Read + Write>(stream: S) {
    let mut r = BufReader::new(stream);
    while let Some((path, body)) = loopback::read_request(&mut r) {
        let mut parts = path.trim_start_matches('/').split('/');
        let kind = parts.next().unwrap_or("");
        let len: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let mut out = Vec::with_capacity(len + 200);
        match kind {
            "redirect" => {
                out.extend_from_slice(
                    format!(
                        "HTTP/1.1 302 Found\r\nLocation: /get/{len}\r\nContent-Length: 0\r\n\r\n"
                    )
                    .as_bytes(),
                );
            }
            "gzip" => {
                use flate2::write::GzEncoder;
                let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&body_of(len)).expect("gzip");
                let gz = enc.finish().expect("gzip");
                out.extend_from_slice(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
                );
                for c in gz.chunks(500) {
                    out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                    out.extend_from_slice(c);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\n\r\n");
            }
            "post" if body.len() != len => {
                out.extend_from_slice(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
            _ => {
                out.extend_from_slice(
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").as_bytes(),
                );
                out.extend_from_slice(&body_of(len));
            }
        }
        let s = r.get_mut();
        if s.write_all(&out).and_then(|_| s.flush()).is_err() {
            return;
        }
    }
}
