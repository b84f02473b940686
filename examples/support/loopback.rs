//! Loopback servers shared by the examples (each includes this file with `#[path]`), so
//! that they run with no network: a thread per connection on 127.0.0.1.

// Not every example uses every server.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// Listens on 127.0.0.1 (a free port) and runs `handle` on a thread of its own for each
/// connection (with `TCP_NODELAY` set).
pub fn serve_each(handle: impl Fn(TcpStream) + Clone + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                handle(stream);
            });
        }
    });
    addr
}

/// A tungstenite echo server (an independent implementation): text and binary messages come
/// back as they were sent.
pub fn ws_echo_server() -> SocketAddr {
    serve_each(|stream| {
        let Ok(mut ws) = tungstenite::accept(stream) else {
            return;
        };
        while let Ok(m) = ws.read() {
            if (m.is_text() || m.is_binary()) && ws.send(m).is_err() {
                return;
            }
        }
    })
}

/// Reads one HTTP/1.1 request: its target and its `Content-Length` body; `None` at EOF or on
/// a read error.
pub fn read_request<S: Read>(r: &mut BufReader<S>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut content_length = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 {
            return None;
        }
        if h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; content_length];
    r.read_exact(&mut body).ok()?;
    Some((path, body))
}
