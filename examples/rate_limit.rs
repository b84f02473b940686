//! Speed limits measured (`CURLOPT_MAX_RECV_SPEED_LARGE`, `MAX_SEND_SPEED_LARGE`): the tests
//! only check that a limit is applied (by its timer-driven pauses); this example times it.
//!
//! A loopback server (started here) serves a body and swallows uploads. One `Multi` runs a
//! download held to `--rate` bytes per second, an upload held to the same, and an unlimited
//! download beside them; it prints each one's elapsed time and achieved rate, so a limit that
//! drifts, or a neighbour slowed by a limited transfer, shows.
//!
//! ```text
//! cargo run --release --example rate_limit [-- --rate 2000000 --bytes 6000000]
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use curlew::{Easy, Multi};

fn main() {
    let (mut rate, mut bytes) = (2_000_000u64, 6_000_000u64);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1).and_then(|v| v.parse().ok())) {
            ("--rate", Some(n)) => rate = n,
            ("--bytes", Some(n)) => bytes = n,
            _ => {
                eprintln!("usage: rate_limit [--rate BYTES_PER_SEC] [--bytes N]");
                std::process::exit(2);
            }
        }
    }
    let addr = serve(bytes);
    let url = format!("http://{addr}/");
    let mut multi = Multi::new();
    let mut down = Easy::new(&url).unwrap();
    down.max_recv_speed(rate);
    let mut up = Easy::new(&url).unwrap();
    up.body(vec![b'u'; bytes as usize]).max_send_speed(rate);
    let free = Easy::new(&url).unwrap();
    let start = Instant::now();
    let ids = [
        ("download, limited", multi.add(down)),
        ("upload, limited", multi.add(up)),
        ("download, unlimited", multi.add(free)),
    ];
    let mut done = Vec::new();
    while done.len() < ids.len() {
        multi.poll(Some(Duration::from_secs(1))).unwrap();
        while let Some(msg) = multi.info_read() {
            msg.result.expect("transfer failed");
            done.push((msg.id, start.elapsed()));
        }
    }
    println!("limit: {rate} bytes/s; {bytes} bytes each way");
    for (name, id) in ids {
        let t = done.iter().find(|(i, _)| *i == id).unwrap().1;
        let info = multi.info(id).unwrap();
        let n = info.size_download.max(info.size_upload);
        let achieved = n as f64 / t.as_secs_f64();
        println!(
            "{name:<20} {n:>10} bytes in {:>7.3} s = {:>12.0} bytes/s ({:.2} x the limit)",
            t.as_secs_f64(),
            achieved,
            achieved / rate as f64
        );
    }
}

/// A thread-per-connection HTTP/1.1 server: a GET gets `bytes` bytes, a POST's body is read
/// and answered with 204.
fn serve(bytes: u64) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || answer(s, bytes));
        }
    });
    addr
}

fn answer(s: TcpStream, bytes: u64) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let (mut line, mut length) = (String::new(), 0u64);
    r.read_line(&mut line).unwrap();
    let get = line.starts_with("GET");
    loop {
        let mut h = String::new();
        r.read_line(&mut h).unwrap();
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if h == "\r\n" || h.is_empty() {
            break;
        }
    }
    if get {
        write!(w, "HTTP/1.1 200 OK\r\nContent-Length: {bytes}\r\n\r\n").unwrap();
        let chunk = vec![b'd'; 64 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if w.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
    } else {
        std::io::copy(&mut r.by_ref().take(length), &mut std::io::sink()).unwrap();
        w.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    }
}
