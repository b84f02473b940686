//! Readiness of connect-only WebSockets (`Multi::ws_ready`): only the transfers with news
//! are listed, each once per batch of news; the upgrade lists each as writable; the end of a
//! transfer lists it with `error`; `Multi::poll(None)` waits while only connect-only
//! transfers are open instead of returning at once.

mod support;

use std::time::{Duration, Instant};

use curlew::multi::Ready;
use curlew::ws::{MessageRef, WsError};
use curlew::{Easy, Multi, TransferId};
use support::ws_peer::WsPeer;

const N: usize = 40;

fn open_all(m: &mut Multi, url: &str, n: usize) -> Vec<TransferId> {
    let ids: Vec<TransferId> = (0..n)
        .map(|_| {
            let mut e = Easy::new(url).unwrap();
            e.connect_only(true);
            m.add(e)
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut up = 0;
    while up < n {
        assert!(Instant::now() < deadline, "upgrades: {up}/{n}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        while let Some(msg) = m.info_read() {
            msg.result.unwrap();
            up += 1;
        }
    }
    ids
}

#[test]
fn only_transfers_with_news_are_listed() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let ids = open_all(&mut m, &peer.url("/"), N);
    let mut ready = Vec::new();
    m.ws_ready(&mut ready);
    // Each upgrade listed its transfer once, writable.
    assert_eq!(ready.len(), N);
    assert!(ready.iter().all(|(_, r)| r.writable && !r.error));
    let mut listed: Vec<TransferId> = ready.iter().map(|(id, _)| *id).collect();
    listed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(listed, want);
    ready.clear();
    // One transfer sends; only it comes back readable.
    let k = ids[N / 2];
    m.ws(k)
        .unwrap()
        .send_msg(MessageRef::Text("only me"))
        .unwrap();
    let mut polls_without_news = 0;
    while ready.is_empty() {
        // Blocks until the echo (no transfer is "running": all are connect-only).
        m.poll(None).unwrap();
        m.ws_ready(&mut ready);
        polls_without_news += usize::from(ready.is_empty());
        assert!(polls_without_news < 10, "poll(None) did not wait for news");
    }
    assert_eq!(ready, vec![(k, Ready::IN)]);
    let mut buf = Vec::new();
    let msg = m.ws(k).unwrap().recv_msg(&mut buf).unwrap().to_message();
    assert_eq!(msg, curlew::ws::Message::text("only me"));
    buf.clear();
    assert!(matches!(
        m.ws(k).unwrap().recv_msg(&mut buf),
        Err(WsError::WouldBlock)
    ));
    // The peer's answer to our close is news; once it is read the transfer ends, which is
    // news too (`error`), and `recv` says how. News is edge-triggered and may come for bytes
    // already read: each readable entry is read until WouldBlock.
    m.ws(k).unwrap().close(1000, "done").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let msg = loop {
        assert!(Instant::now() < deadline, "no close from the peer");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        m.ws_ready(&mut ready);
        assert!(ready.iter().all(|(id, _)| *id == k), "{ready:?}");
        if ready.drain(..).any(|(_, r)| r.readable) {
            match m.ws(k).unwrap().recv_msg(&mut buf) {
                Ok(msg) => break msg.to_message(),
                Err(WsError::WouldBlock) => {}
                Err(e) => panic!("{e}"),
            }
        }
    };
    assert_eq!(
        msg,
        curlew::ws::Message::close(curlew::ws::CloseCode::Normal, "done")
    );
    let ended = Ready {
        readable: true,
        writable: false,
        error: true,
    };
    while !ready.iter().any(|(id, r)| *id == k && *r == ended) {
        assert!(Instant::now() < deadline, "{ready:?}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        m.ws_ready(&mut ready);
    }
    buf.clear();
    assert!(matches!(
        m.ws(k).unwrap().recv_msg(&mut buf),
        Err(WsError::Closed)
    ));
}

#[test]
fn a_full_send_queue_lists_the_transfer_writable_when_it_drains() {
    // A peer that reads nothing until it has been told to: our queue fills, then drains.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = std::sync::Mutex::new(rx);
    let peer = WsPeer::start(move |ws| {
        rx.lock().unwrap().recv().unwrap();
        support::ws_peer::echo_loop(ws);
    });
    let mut m = Multi::new();
    let id = open_all(&mut m, &peer.url("/"), 1)[0];
    let mut ready = Vec::new();
    m.ws_ready(&mut ready);
    ready.clear();
    let chunk = vec![7u8; 64 * 1024];
    let mut refused = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !refused {
        assert!(Instant::now() < deadline, "the queue never filled");
        match m.ws(id).unwrap().send_msg(MessageRef::Binary(&chunk)) {
            Ok(_) => {
                m.perform().unwrap();
            }
            Err(WsError::WouldBlock) => refused = true,
            Err(e) => panic!("{e}"),
        }
    }
    m.ws_ready(&mut ready);
    assert!(ready.iter().all(|(_, r)| !r.writable), "{ready:?}");
    tx.send(()).unwrap();
    while !ready.iter().any(|(i, r)| *i == id && r.writable) {
        assert!(Instant::now() < deadline, "{ready:?}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        m.ws_ready(&mut ready);
    }
}

#[test]
fn a_poll_whose_first_run_drains_the_queue_returns_with_news_not_yet_taken() {
    // The upgrade's news is left on the list; a send cut short by a small queue is then
    // flushed whole by the poll's first run, and its "writable" merges into that entry. The
    // poll must still return at once: no socket event will follow, since nothing is left to
    // write and the peer (which reads everything) waits for the rest of the message.
    let peer = WsPeer::start(|mut ws| while ws.read().is_ok() {});
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.connect_only(true).ws_max_send_queue(16 * 1024);
    let id = m.add(e);
    let deadline = Instant::now() + Duration::from_secs(20);
    while m.info_read().is_none() {
        assert!(Instant::now() < deadline, "no upgrade");
        m.poll(Some(Duration::from_millis(100))).unwrap();
    }
    let msg = vec![3u8; 256 * 1024];
    let mut sent = 0;
    let mut ready = Vec::new();
    while sent < msg.len() {
        assert!(
            Instant::now() < deadline,
            "{sent} of {} bytes sent",
            msg.len()
        );
        match m.ws(id).unwrap().send(&msg[sent..], curlew::ws::BINARY) {
            Ok(n) => sent += n,
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("{e}"),
        }
        if sent == msg.len() {
            break;
        }
        // Longer than the test's deadline: a poll that waits for an event never coming fails.
        m.poll(Some(Duration::from_secs(30))).unwrap();
        // Only every other batch is taken, so news keeps merging into untaken entries.
        if sent % 2 == 0 {
            m.ws_ready(&mut ready);
            ready.clear();
        }
    }
}
