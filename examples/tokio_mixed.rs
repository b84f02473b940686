//! 1,000 WebSockets and 2,000 HTTP requests in one tokio task set, on one curlew client (one
//! multi, driven by `socket_action` on tokio's reactor; no thread of curlew's own). Each
//! WebSocket task sends 20 messages and checks each echo; each HTTP task fetches a body and
//! checks it. Loopback servers are started here (a tungstenite echo and a keep-alive HTTP
//! server), so no network is needed.
//!
//! ```text
//! cargo run --release --features tokio --example tokio_mixed [-- --websockets 1000 --requests 2000]
//! ```

use std::io::{BufReader, Write};
use std::time::Instant;

use curlew::tokio::Client;
use curlew::ws::Message;
use curlew::Easy;
use futures_util::{SinkExt, StreamExt};

#[path = "support/loopback.rs"]
mod loopback;

const MSGS: usize = 20;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut websockets, mut requests) = (1000usize, 2000usize);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        match (pair[0].as_str(), pair.get(1).and_then(|v| v.parse().ok())) {
            ("--websockets", Some(n)) => websockets = n,
            ("--requests", Some(n)) => requests = n,
            _ => return Err("usage: tokio_mixed [--websockets N] [--requests N]".into()),
        }
    }
    let ws_addr = loopback::ws_echo_server();
    let http_addr = loopback::serve_each(|stream| {
        let mut r = BufReader::new(stream.try_clone().expect("clone"));
        let mut w = stream;
        while let Some((path, _)) = loopback::read_request(&mut r) {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", path.len());
            if w.write_all(head.as_bytes())
                .and_then(|_| w.write_all(path.as_bytes()))
                .is_err()
            {
                return;
            }
        }
    });
    let client = Client::with_multi(|m| {
        m.set_max_host_connections(32);
    })?;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..websockets {
        let (c, url) = (client.clone(), format!("ws://{ws_addr}/"));
        tasks.spawn(async move {
            let mut ws = c.websocket(Easy::new(&url)?).await?;
            for k in 0..MSGS {
                let text = format!("socket {i} message {k}");
                ws.send(Message::text(text.clone())).await?;
                match ws.next().await {
                    Some(Ok(m)) if m == Message::Text(text) => {}
                    other => return Err(format!("socket {i}: {other:?}").into()),
                }
            }
            ws.close().await?;
            while let Some(m) = ws.next().await {
                m?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    for i in 0..requests {
        let (c, url) = (client.clone(), format!("http://{http_addr}/item/{i}"));
        tasks.spawn(async move {
            let easy = c.request(Easy::new(&url)?).await?;
            let body = &easy.collected().expect("collector").body;
            if body != format!("/item/{i}").as_bytes() {
                return Err(format!("request {i}: wrong body").into());
            }
            Ok(())
        });
    }
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r? {
            failed += 1;
            eprintln!("{e}");
        }
    }
    let t = start.elapsed();
    println!(
        "{websockets} WebSockets x {MSGS} echoes and {requests} HTTP requests on one client: \
         {:.2} s, {failed} failed",
        t.as_secs_f64()
    );
    if failed > 0 {
        return Err(format!("{failed} tasks failed").into());
    }
    Ok(())
}
