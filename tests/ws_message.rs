//! Message mode (whole reassembled messages, callback and connect-only).

mod support;

use std::time::{Duration, Instant};

use curlew::ws::{WsError, WsFrame, BINARY, CONT, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, Multi};
use support::ws_peer::WsPeer;

#[derive(Default)]
struct Msgs {
    got: Vec<(u32, Vec<u8>)>,
    chunks_seen: usize,
}

impl Handler for Msgs {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        ws.send(b"frag-", TEXT | CONT).unwrap();
        ws.send(b"mented", TEXT).unwrap();
        ws.send(&vec![9u8; 300_000], BINARY).unwrap();
        Flow::Continue
    }
    fn write(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
        self.chunks_seen += 1;
        Flow::Continue
    }
    fn ws_message(&mut self, ctx: &mut Ctx<'_>, msg: &[u8], frame: WsFrame) -> Flow {
        assert_eq!(frame.len, msg.len());
        assert_eq!(frame.flags & CONT, 0);
        if frame.is_close() {
            return Flow::Continue;
        }
        self.got.push((frame.flags, msg.to_vec()));
        if self.got.len() == 2 {
            ctx.ws().unwrap().close(1000, "").unwrap();
        }
        Flow::Continue
    }
}

#[test]
fn callback_message_mode_reassembles() {
    // tungstenite echoes whole messages; send them back fragmented so reassembly is real.
    let peer = WsPeer::start(|mut ws| {
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        use tungstenite::protocol::frame::Frame;
        while let Ok(m) = ws.read() {
            let (op, data) = match m {
                tungstenite::Message::Text(t) => (Data::Text, t.as_bytes().to_vec()),
                tungstenite::Message::Binary(b) => (Data::Binary, b.to_vec()),
                _ => continue,
            };
            let half = data.len() / 2;
            let _ = ws.write(tungstenite::Message::Frame(Frame::message(
                data[..half].to_vec(),
                OpCode::Data(op),
                false,
            )));
            let _ = ws.write(tungstenite::Message::Frame(Frame::message(
                data[half..].to_vec(),
                OpCode::Data(Data::Continue),
                true,
            )));
            let _ = ws.flush();
        }
    });
    let mut e = Easy::with_handler(&peer.url("/"), Msgs::default()).unwrap();
    e.ws_message_mode(true);
    e.perform().unwrap();
    let h = e.handler::<Msgs>().unwrap();
    assert_eq!(h.chunks_seen, 0, "no chunks in message mode");
    assert_eq!(h.got.len(), 2);
    assert_eq!(h.got[0], (TEXT, b"frag-mented".to_vec()));
    assert_eq!(h.got[1].0, BINARY);
    assert_eq!(h.got[1].1, vec![9u8; 300_000]);
}

#[test]
fn connect_only_recv_message() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.connect_only(true);
    let id = m.add(e);
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.info_read().is_none() {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        assert!(Instant::now() < deadline);
    }
    let big = vec![b'x'; 200_000];
    let mut off = 0;
    while off < big.len() {
        let flags = if off == 0 { BINARY } else { 0 };
        match m.ws(id).unwrap().send(&big[off..], flags) {
            Ok(n) => off += n,
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
        m.poll(Some(Duration::from_millis(10))).unwrap();
    }
    let mut buf = Vec::new();
    let flags = loop {
        m.poll(Some(Duration::from_millis(20))).unwrap();
        match m.ws(id).unwrap().recv_message(&mut buf) {
            Ok(f) => break f,
            Err(WsError::WouldBlock) => assert!(Instant::now() < deadline, "no echo"),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(flags, BINARY);
    assert_eq!(buf, big);
}
