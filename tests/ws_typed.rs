//! Typed messages ([`Message`], [`MessageRef`], [`CloseCode`]) in both WebSocket models
//! against tungstenite: text as `&str`, binary, pings with auto-pong off, the close with its
//! parsed code and reason; a typed send that does not fit the send queue is refused whole.

mod support;

use std::time::{Duration, Instant};

use curlew::ws::{CloseCode, Message, MessageRef, WsError};
use curlew::{Ctx, Easy, Flow, Handler, Multi};
use support::ws_peer::WsPeer;

/// Echoes data messages, answers a ping with "pong" text, closes with 4001 "peer says bye"
/// when it gets "bye".
fn scripted_peer() -> WsPeer {
    WsPeer::start(|mut ws| loop {
        let reply = match ws.read() {
            Ok(tungstenite::Message::Text(t)) if t.as_str() == "bye" => {
                let frame = tungstenite::protocol::CloseFrame {
                    code: 4001.into(),
                    reason: "peer says bye".into(),
                };
                let _ = ws.close(Some(frame));
                let _ = ws.flush();
                continue;
            }
            Ok(m @ (tungstenite::Message::Text(_) | tungstenite::Message::Binary(_))) => m,
            Ok(tungstenite::Message::Ping(_)) => tungstenite::Message::text("got ping"),
            Ok(_) => continue,
            Err(_) => return,
        };
        if ws.send(reply).is_err() {
            return;
        }
    })
}

#[derive(Default)]
struct Typed {
    got: Vec<Message>,
}

impl Handler for Typed {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        ws.send_msg(MessageRef::Text("héllo")).unwrap();
        ws.send_msg(Message::binary(vec![0u8, 255, 7]).as_ref())
            .unwrap();
        ws.send_msg(MessageRef::Ping(b"are you there")).unwrap();
        Flow::Continue
    }

    fn ws_msg(&mut self, ctx: &mut Ctx<'_>, msg: MessageRef<'_>) -> Flow {
        self.got.push(msg.to_message());
        if self.got.len() == 3 {
            ctx.ws().unwrap().send_msg(MessageRef::Text("bye")).unwrap();
        }
        Flow::Continue
    }
}

#[test]
fn callback_model_gets_typed_messages_and_the_peers_close_code() {
    let peer = scripted_peer();
    let mut e = Easy::with_handler(&peer.url("/"), Typed::default()).unwrap();
    e.ws_message_mode(true);
    e.perform().unwrap();
    let got = &e.handler::<Typed>().unwrap().got;
    assert_eq!(got.len(), 5, "{got:?}");
    // The peer's close comes last, its code parsed.
    assert_eq!(
        got[4],
        Message::close(CloseCode::Private(4001), "peer says bye")
    );
    // The pong to our ping may come before or after the echoes; the reply to it is text.
    assert!(got.contains(&Message::text("héllo")));
    assert!(got.contains(&Message::binary(vec![0u8, 255, 7])));
    assert!(
        got.contains(&Message::Pong(b"are you there".to_vec())),
        "{got:?}"
    );
    assert!(got.contains(&Message::text("got ping")));
    assert_eq!(e.info().response_code, 101);
}

/// Poll `m` until `f` gives something other than `WouldBlock`.
#[track_caller]
fn until<T>(m: &mut Multi, mut f: impl FnMut(&mut Multi) -> Result<T, WsError>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match f(m) {
            Err(WsError::WouldBlock) => {
                assert!(Instant::now() < deadline, "nothing in time");
                m.poll(Some(Duration::from_millis(20))).unwrap();
            }
            r => return r.unwrap(),
        }
    }
}

#[test]
fn connect_only_sends_and_receives_typed_messages() {
    let peer = scripted_peer();
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.connect_only(true).ws_auto_pong(false);
    let id = m.add(e);
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.info_read().is_none() {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        assert!(Instant::now() < deadline);
    }
    let mut buf = Vec::new();
    let text = "ünïcode ✓";
    until(&mut m, |m| m.ws(id)?.send_msg(MessageRef::Text(text)));
    let got = until(&mut m, |m| {
        m.ws(id)?.recv_msg(&mut buf).map(|r| r.to_message())
    });
    assert_eq!(got, Message::text(text));
    buf.clear();
    until(&mut m, |m| m.ws(id)?.send_msg(MessageRef::Text("bye")));
    let got = until(&mut m, |m| {
        m.ws(id)?.recv_msg(&mut buf).map(|r| r.to_message())
    });
    assert_eq!(
        got,
        Message::close(CloseCode::Private(4001), "peer says bye")
    );
}

#[test]
fn a_typed_send_is_refused_whole_when_it_does_not_fit() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.connect_only(true).ws_max_send_queue(4096);
    let id = m.add(e);
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.info_read().is_none() {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        assert!(Instant::now() < deadline);
    }
    let mut ws = m.ws(id).unwrap();
    // Larger than the queue can ever hold: refused, nothing queued.
    let big = vec![1u8; 8192];
    assert!(matches!(
        ws.send_msg(MessageRef::Binary(&big)),
        Err(WsError::TooLarge)
    ));
    assert_eq!(ws.queued(), 0);
    // Fits an empty queue but not beside what is queued: WouldBlock, nothing more queued.
    ws.send_msg(MessageRef::Binary(&big[..3000])).unwrap();
    let queued = ws.queued();
    assert!(queued > 3000, "{queued}");
    assert!(matches!(
        ws.send_msg(MessageRef::Binary(&big[..3000])),
        Err(WsError::WouldBlock)
    ));
    assert_eq!(ws.queued(), queued);
    assert!(matches!(
        ws.send_msg(MessageRef::Ping(&big[..126])),
        Err(WsError::TooLarge)
    ));
}
