//! The blocking client ([`WsClient`]) against tungstenite: connect, typed send and receive
//! (a message larger than the send queue included), pings, a receive that times out and
//! leaves the client usable, the close handshake with its code, a failed connect with curl's
//! code, and the close a dropped client sends.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use curlew::ws::{CloseCode, Message, WsClient, WsError};
use curlew::{Easy, ErrorKind};
use support::ws_peer::WsPeer;

#[test]
fn sends_and_receives_typed_messages_and_closes() {
    let peer = WsPeer::echo();
    let mut ws = WsClient::connect(&peer.url("/")).unwrap();
    assert_eq!(ws.info().unwrap().response_code, 101);
    ws.send(Message::text("hello")).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text("hello"));
    // 6 MiB: more than the 4 MiB send queue holds; it goes in pieces as the queue drains.
    let big: Vec<u8> = (0..6 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(Message::Binary(big.clone())).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Binary(big));
    ws.send(Message::Ping(b"tick".to_vec())).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Pong(b"tick".to_vec()));
    ws.close(CloseCode::Normal, "bye").unwrap();
    assert!(matches!(ws.recv(), Err(WsError::Closed)));
}

#[test]
fn a_receive_that_times_out_leaves_the_client_usable() {
    // Answers "late" only after being told, so the first receive has nothing to get.
    let peer = WsPeer::start(|mut ws| {
        while let Ok(m) = ws.read() {
            if m.is_text() && ws.send(tungstenite::Message::text("late")).is_err() {
                return;
            }
        }
    });
    let mut ws = WsClient::connect(&peer.url("/")).unwrap();
    assert!(matches!(
        ws.recv_timeout(Duration::from_millis(50)),
        Err(WsError::TimedOut)
    ));
    ws.send(Message::text("now")).unwrap();
    let got = ws.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(got, Message::text("late"));
}

#[test]
#[allow(clippy::result_large_err)] // tungstenite's handshake callback type
fn options_come_from_the_easy_and_failures_keep_curls_code() {
    let peer = WsPeer::start_with(
        |_req, mut resp| {
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat".parse().unwrap());
            Ok(resp)
        },
        support::ws_peer::echo_loop,
    );
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.ws_protocols(&["chat"]).unwrap();
    let mut ws = WsClient::connect_with(e).unwrap();
    ws.send(Message::text("x")).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::text("x"));
    // Nobody listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = WsClient::connect(&format!("ws://127.0.0.1:{port}/")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CouldntConnect);
}

#[test]
fn a_dropped_client_closes_with_1000() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let peer = WsPeer::start(move |mut ws| loop {
        match ws.read() {
            Ok(tungstenite::Message::Close(frame)) => {
                let code = frame.map(|f| u16::from(f.code));
                let _ = tx.lock().unwrap().send(code);
                let _ = ws.flush();
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    });
    let ws = WsClient::connect(&peer.url("/")).unwrap();
    drop(ws);
    let code = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(code, Some(1000));
}
