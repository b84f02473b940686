#![allow(clippy::result_large_err)] // tungstenite's handshake callback signature

//! An independent WebSocket peer for interop tests: tungstenite in the server role, on
//! 127.0.0.1:0, one thread per connection. Not our own codec.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tungstenite::{Message, WebSocket};

/// A tungstenite server; dropping it stops accepting.
pub struct WsPeer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl WsPeer {
    /// Start a server whose `handler` runs once per accepted, upgraded connection.
    pub fn start<F>(handler: F) -> WsPeer
    where
        F: Fn(WebSocket<TcpStream>) + Send + Sync + 'static,
    {
        Self::start_with(|_req, resp| Ok(resp), handler)
    }

    /// Start a server with a custom handshake callback (to pick a subprotocol, say).
    pub fn start_with<C, F>(callback: C, handler: F) -> WsPeer
    where
        C: Fn(
                &tungstenite::handshake::server::Request,
                tungstenite::handshake::server::Response,
            ) -> Result<
                tungstenite::handshake::server::Response,
                tungstenite::handshake::server::ErrorResponse,
            > + Send
            + Sync
            + Clone
            + 'static,
        F: Fn(WebSocket<TcpStream>) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let (s, a) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                a.fetch_add(1, Ordering::SeqCst);
                let h = handler.clone();
                let cb = callback.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                    let _ = stream.set_nodelay(true);
                    if let Ok(ws) = tungstenite::accept_hdr(stream, cb) {
                        h(ws);
                    }
                });
            }
        });
        WsPeer {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// An echo server: text and binary messages come back as they were, pings are answered
    /// by tungstenite, a close is echoed.
    pub fn echo() -> WsPeer {
        Self::start(echo_loop)
    }

    /// `ws://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Echo every data message until the peer closes.
pub fn echo_loop(mut ws: WebSocket<TcpStream>) {
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(m).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) | Err(_) => {
                let _ = ws.flush();
                return;
            }
        }
    }
}

impl Drop for WsPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
