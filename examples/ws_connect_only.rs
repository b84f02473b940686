//! The connect-only model (curl's `CONNECT_ONLY=2`): the Multi does the upgrade and reports
//! the transfer done; then the application sends and receives itself, non-blocking, with
//! `WouldBlock` as curl's `CURLE_AGAIN`.
//!
//! ```text
//! cargo run --example ws_connect_only [-- ws://host:port/path]
//! ```
//! Without a URL it starts its own loopback echo server (tungstenite).

use std::time::{Duration, Instant};

use curlew::ws::WsError;
use curlew::{Easy, Multi};

#[path = "support/loopback.rs"]
mod loopback;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(u) => u,
        None => format!("ws://{}/echo", loopback::ws_echo_server()),
    };
    let mut multi = Multi::new();
    let mut easy = Easy::new(&url)?;
    easy.connect_only(true);
    let id = multi.add(easy);

    // 1. Run the loop until the upgrade is done.
    loop {
        multi.poll(Some(Duration::from_millis(100)))?;
        if let Some(msg) = multi.info_read() {
            msg.result?;
            break;
        }
    }
    println!(
        "upgraded ({})",
        multi.info(id).map_or(0, |i| i.response_code)
    );

    // 2. Send, then receive until the echo is back. The transfer stays in the multi, which
    //    flushes what we queue and answers pings.
    for i in 1..=3 {
        multi.ws(id)?.send_text(&format!("hello {i}"))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            multi.poll(Some(Duration::from_millis(20)))?;
            match multi.ws(id)?.recv() {
                Ok((frame, data)) => {
                    println!(
                        "recv flags={:#x} len={}: {}",
                        frame.flags,
                        frame.len,
                        String::from_utf8_lossy(data)
                    );
                    break;
                }
                Err(WsError::WouldBlock) if Instant::now() < deadline => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
    multi.ws(id)?.close(1000, "bye")?;
    multi.poll(Some(Duration::from_millis(100)))?;
    Ok(())
}
