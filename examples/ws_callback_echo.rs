//! The callback model: frames arrive in the write callback with `curl_ws_meta`-style metadata,
//! and the callback answers from inside, without blocking.
//!
//! ```text
//! cargo run --example ws_callback_echo [-- ws://host:port/path]
//! ```
//! Without a URL it starts its own loopback echo server (tungstenite).

use curlew::{Ctx, Easy, Flow, Handler};

#[path = "support/loopback.rs"]
mod loopback;

struct Chat {
    sent: usize,
}

impl Handler for Chat {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        println!("upgraded: {}", ctx.info().response_code);
        let _ = ctx.ws().and_then(|mut ws| ws.send_text("message 1"));
        self.sent = 1;
        Flow::Continue
    }

    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let Some(meta) = ctx.ws_meta() else {
            return Flow::Abort;
        };
        println!(
            "got flags={:#x} offset={} bytesleft={} len={}: {:?}",
            meta.flags,
            meta.offset,
            meta.bytesleft,
            meta.len,
            String::from_utf8_lossy(data)
        );
        if meta.is_close() || !meta.is_message_end() {
            return Flow::Continue;
        }
        let Ok(mut ws) = ctx.ws() else {
            return Flow::Abort;
        };
        // Sends from inside the callback are queued (bounded) and flushed by the loop.
        let r = if self.sent < 5 {
            self.sent += 1;
            ws.send_text(&format!("message {}", self.sent)).map(|_| ())
        } else {
            ws.close(1000, "done")
        };
        if r.is_err() {
            return Flow::Abort;
        }
        Flow::Continue
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = match std::env::args().nth(1) {
        Some(u) => u,
        None => format!("ws://{}/echo", loopback::ws_echo_server()),
    };
    let mut easy = Easy::with_handler(&url, Chat { sent: 0 })?;
    easy.perform()?;
    println!("closed cleanly");
    Ok(())
}
