//! The blocking WebSocket client, for scripts and tests: connect, send, receive with a
//! timeout, close. Each call runs a private `Multi` until it can answer.
//!
//! ```text
//! cargo run --example ws_blocking [-- ws://host:port/path]
//! ```
//! Without a URL it starts its own loopback echo server (tungstenite).

use std::time::Duration;

use curlew::ws::{CloseCode, Message, WsClient};

#[path = "support/loopback.rs"]
mod loopback;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(u) => u,
        None => format!("ws://{}/echo", loopback::ws_echo_server()),
    };
    let mut ws = WsClient::connect(&url)?;
    for i in 1..=3 {
        ws.send(Message::text(format!("hello {i}")))?;
        let reply = ws.recv_timeout(Duration::from_secs(5))?;
        println!("recv {reply:?}");
    }
    ws.close(CloseCode::Normal, "bye")?;
    println!("closed");
    Ok(())
}
