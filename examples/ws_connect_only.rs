//! The connect-only model (curl's `CONNECT_ONLY=2`): the Multi does the upgrade and reports
//! the transfer done; then the application sends and receives itself, non-blocking, with
//! `WouldBlock` as curl's `CURLE_AGAIN`. No fixed-interval ticks: `Multi::poll(None)` waits
//! until something happens and `Multi::ws_ready` says which transfers have news.
//!
//! ```text
//! cargo run --example ws_connect_only [-- ws://host:port/path]
//! ```
//! Without a URL it starts its own loopback echo server (tungstenite).

use curlew::ws::{CloseCode, MessageRef, WsError};
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

    // 1. Run the loop until the upgrade is done (the transfer's timeouts bound the wait).
    loop {
        multi.poll(None)?;
        if let Some(msg) = multi.info_read() {
            msg.result?;
            break;
        }
    }
    println!(
        "upgraded ({})",
        multi.info(id).map_or(0, |i| i.response_code)
    );

    // 2. Send three messages, then read the echoes as the multi says they arrive. The
    //    transfer stays in the multi, which flushes what we queue and answers pings.
    for i in 1..=3 {
        multi
            .ws(id)?
            .send_msg(MessageRef::Text(&format!("hello {i}")))?;
    }
    let (mut ready, mut buf, mut echoes) = (Vec::new(), Vec::new(), 0);
    while echoes < 3 {
        multi.poll(None)?;
        multi.ws_ready(&mut ready);
        for (id, r) in ready.drain(..) {
            if !r.readable {
                continue;
            }
            // Read until WouldBlock: the news is edge-triggered.
            loop {
                match multi.ws(id)?.recv_msg(&mut buf) {
                    Ok(msg) => {
                        println!("recv {msg:?}");
                        echoes += 1;
                        buf.clear();
                    }
                    Err(WsError::WouldBlock) => break,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    // 3. Close, and read until the peer's close ends the transfer.
    multi.ws(id)?.close(CloseCode::Normal.into(), "bye")?;
    loop {
        multi.poll(None)?;
        match multi.ws(id)?.recv_msg(&mut buf) {
            Ok(msg) => println!("recv {msg:?}"),
            Err(WsError::WouldBlock) => {}
            Err(WsError::Closed) => break,
            Err(e) => return Err(e.into()),
        }
        buf.clear();
    }
    println!("closed");
    Ok(())
}
