//! HTTP/2 on the simulated network and clock: streams on one connection, flow control in
//! both directions, a paused transfer holding only its own stream, GOAWAY and resets, and the
//! connection's own timers (SETTINGS ACK, upkeep PING) to the millisecond.
//!
//! tests/h2.rs runs the same paths against nginx, hypercorn, Node and a hostile server over
//! real sockets; these scripts pin down what the driver sends, frame by frame.

use std::time::Duration;

use crate::ctx::Direction;
use crate::error::ErrorKind;
use crate::info::HttpVersion;
use crate::proto::h2::conn::{DEFAULT_PING_TIMEOUT, DEFAULT_SETTINGS_TIMEOUT};
use crate::proto::h2::ErrorCode;
use crate::sim::h2::{opened, Got, H2Peer, SERVER_SETTINGS};
use crate::sim::Sim;
use crate::{Ctx, Easy, Flow, Handler, HttpVersionOption, TransferId};

fn h2c(path: &str) -> Easy {
    let mut e = Easy::new(&format!("http://127.0.0.1:80{path}")).unwrap();
    e.http_version(HttpVersionOption::Http2PriorKnowledge);
    e
}

/// Pauses on its first write, then takes everything.
#[derive(Default)]
struct PauseFirst {
    writes: usize,
    body: Vec<u8>,
}

impl Handler for PauseFirst {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.writes += 1;
        if self.writes == 1 {
            return Flow::Pause;
        }
        self.body.extend_from_slice(data);
        Flow::Continue
    }
}

/// A sim with `n` prior-knowledge transfers added and the server's side of the one
/// connection they open, past the SETTINGS exchange; the streams their HEADERS opened.
fn started(
    sim: &mut Sim,
    easies: Vec<Easy>,
    settings: &[(u16, u32)],
) -> (Vec<TransferId>, H2Peer, Vec<Got>) {
    sim.listen(80);
    let ids = easies.into_iter().map(|e| sim.add(e)).collect();
    sim.run();
    let mut srv = H2Peer::new(sim.accept(), settings);
    let mut got = srv.handshake();
    sim.run();
    got.extend(srv.frames());
    (ids, srv, got)
}

fn stream_updates(got: &[Got], stream: u32) -> u32 {
    got.iter()
        .map(|g| match g {
            Got::WindowUpdate {
                stream: s,
                increment,
            } if *s == stream => *increment,
            _ => 0,
        })
        .sum()
}

#[test]
fn transfers_to_one_origin_are_streams_on_one_connection() {
    let mut sim = Sim::new();
    let (ids, mut srv, got) = started(&mut sim, vec![h2c("/a"), h2c("/b")], SERVER_SETTINGS);
    assert_eq!(opened(&got), [1, 3]);
    let heads: Vec<_> = got.iter().filter(|g| g.field(":path").is_some()).collect();
    assert_eq!(heads[0].field(":path"), Some("/a"));
    assert_eq!(heads[0].field(":method"), Some("GET"));
    assert_eq!(heads[0].field(":scheme"), Some("http"));
    assert_eq!(heads[1].field(":path"), Some("/b"));
    assert!(matches!(
        heads[0],
        Got::Headers {
            end_stream: true,
            ..
        }
    ));
    srv.respond(3, b"bee");
    srv.respond(1, b"ay");
    sim.run();
    for (id, want) in ids.into_iter().zip([&b"ay"[..], b"bee"]) {
        let (r, easy) = sim.finish(id);
        r.unwrap();
        assert_eq!(easy.collected().unwrap().body, want);
        assert_eq!(easy.info().http_version, Some(HttpVersion::Http2));
    }
    assert_eq!(sim.net.connects(), 1);
    assert!(!srv.peer.client_closed(), "kept for reuse");
}

/// DATA bytes in `got` and whether END_STREAM came.
fn data_sent(got: &[Got]) -> (usize, bool) {
    got.iter().fold((0, false), |(n, end), g| match g {
        Got::Data {
            data, end_stream, ..
        } => (n + data.len(), end || *end_stream),
        _ => (n, end),
    })
}

#[test]
fn an_upload_sends_no_more_than_the_stream_and_connection_windows() {
    // RFC 9113's initial windows (65,535 each): prior knowledge sends the request before the
    // server's SETTINGS, so these are the ones in force.
    let mut sim = Sim::new();
    let mut e = h2c("/up");
    e.body(vec![7u8; 150_000]);
    let (ids, mut srv, got) = started(&mut sim, vec![e], SERVER_SETTINGS);
    assert_eq!(opened(&got), [1]);
    assert_eq!(data_sent(&got), (65_535, false), "both windows' worth");
    sim.advance(Duration::from_secs(1));
    assert!(srv.frames().is_empty(), "waits for WINDOW_UPDATEs");
    srv.window_update(1, 50_000);
    sim.run();
    assert!(
        srv.frames().is_empty(),
        "the connection's window is still shut"
    );
    srv.window_update(0, 10_000);
    sim.run();
    assert_eq!(
        data_sent(&srv.frames()),
        (10_000, false),
        "the connection's"
    );
    srv.window_update(0, 100_000);
    sim.run();
    assert_eq!(
        data_sent(&srv.frames()),
        (40_000, false),
        "the stream's rest"
    );
    srv.window_update(1, 100_000);
    sim.run();
    assert_eq!(
        data_sent(&srv.frames()),
        (34_465, true),
        "the rest, END_STREAM"
    );
    srv.respond(1, b"stored");
    sim.run();
    let (r, easy) = sim.finish(ids[0]);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"stored");
}

#[test]
fn a_paused_transfer_holds_its_own_stream_window_and_not_the_connections() {
    const W: u32 = 65_535;
    let mut sim = Sim::new();
    sim.multi.set_http2_windows(W, 1 << 20);
    let mut paused = Easy::with_handler("http://127.0.0.1:80/p", PauseFirst::default()).unwrap();
    paused.http_version(HttpVersionOption::Http2PriorKnowledge);
    let (ids, mut srv, got) = started(&mut sim, vec![paused, h2c("/q")], SERVER_SETTINGS);
    assert_eq!(opened(&got), [1, 3]);
    let whole = vec![b'x'; 2 * W as usize];
    let body_len = whole.len().to_string();
    for s in [1, 3] {
        srv.head(s, 200, &[("content-length", &body_len)], false);
        srv.data(s, &whole[..W as usize], false);
    }
    sim.run();
    let got = srv.frames();
    assert_eq!(
        stream_updates(&got, 1),
        0,
        "the paused stream's window stays shut"
    );
    assert_eq!(
        stream_updates(&got, 3),
        W,
        "its neighbour's reopens in full"
    );
    srv.data(3, &whole[W as usize..], true);
    sim.run();
    let (r, easy) = sim.finish(ids[1]);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body.len(), whole.len());
    assert!(sim.result(ids[0]).is_none());
    assert!(sim.multi.unpause(ids[0], Direction::Recv));
    sim.run();
    assert_eq!(
        stream_updates(&srv.frames(), 1),
        W,
        "reopened after the unpause"
    );
    srv.data(1, &whole[W as usize..], true);
    sim.run();
    let (r, easy) = sim.finish(ids[0]);
    r.unwrap();
    let h = easy.handler::<PauseFirst>().unwrap();
    assert_eq!(
        h.body.len(),
        whole.len(),
        "the held data again, then the rest"
    );
    assert_eq!(sim.net.connects(), 1);
}

#[test]
fn goaway_sends_the_streams_it_did_not_take_on_a_new_connection() {
    let mut sim = Sim::new();
    let easies = vec![h2c("/1"), h2c("/2"), h2c("/3")];
    let (ids, mut srv, got) = started(&mut sim, easies, SERVER_SETTINGS);
    assert_eq!(opened(&got), [1, 3, 5]);
    srv.respond(1, b"one");
    srv.goaway(1, ErrorCode::NO_ERROR);
    sim.run();
    let mut second = H2Peer::new(sim.accept(), SERVER_SETTINGS);
    let got = second.handshake();
    let paths: Vec<_> = got.iter().filter_map(|g| g.field(":path")).collect();
    assert_eq!(paths, ["/2", "/3"], "only the streams above last-stream-id");
    assert_eq!(opened(&got), [1, 3]);
    second.respond(1, b"two");
    second.respond(3, b"three");
    sim.run();
    for (id, want) in ids.into_iter().zip([&b"one"[..], b"two", b"three"]) {
        let (r, easy) = sim.finish(id);
        r.unwrap();
        assert_eq!(easy.collected().unwrap().body, want);
    }
    assert_eq!(sim.net.connects(), 2);
    assert!(srv.peer.client_closed(), "the first connection is let go");
}

#[test]
fn a_refused_stream_is_sent_again_and_another_reset_fails_only_its_transfer() {
    let mut sim = Sim::new();
    let (ids, mut srv, got) = started(&mut sim, vec![h2c("/r"), h2c("/c")], SERVER_SETTINGS);
    assert_eq!(opened(&got), [1, 3]);
    srv.reset(1, ErrorCode::REFUSED_STREAM);
    srv.reset(3, ErrorCode::CANCEL);
    sim.run();
    let got = srv.frames();
    assert_eq!(
        opened(&got),
        [5],
        "the refused request again, on the same connection"
    );
    assert_eq!(got[0].field(":path"), Some("/r"));
    let (r, _) = sim.finish(ids[1]);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Http2Stream);
    srv.respond(5, b"second try");
    sim.run();
    let (r, easy) = sim.finish(ids[0]);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"second try");
    assert_eq!(sim.net.connects(), 1);
}

#[test]
fn settings_never_acknowledged_fail_the_connection_at_the_deadline() {
    let mut sim = Sim::new();
    sim.listen(80);
    let id = sim.add(h2c("/"));
    sim.run();
    let mut srv = H2Peer::new(sim.accept(), SERVER_SETTINGS);
    sim.run();
    assert_eq!(
        opened(&srv.frames()),
        [1],
        "the request goes before the ACK"
    );
    sim.advance(DEFAULT_SETTINGS_TIMEOUT - Duration::from_millis(1));
    assert!(sim.result(id).is_none(), "not before the deadline");
    sim.advance(Duration::from_millis(1));
    let (r, _) = sim.finish(id);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Http2);
    let got = srv.frames();
    assert!(
        got.contains(&Got::GoAway {
            last_stream: 0,
            code: ErrorCode::SETTINGS_TIMEOUT
        }),
        "{got:?}"
    );
    assert!(srv.peer.client_closed());
}

#[test]
fn an_idle_connection_pings_at_the_upkeep_interval_and_an_unanswered_ping_closes_it() {
    const EVERY: Duration = Duration::from_secs(30);
    let mut sim = Sim::new();
    sim.multi.set_upkeep_interval(Some(EVERY));
    let (ids, mut srv, _) = started(&mut sim, vec![h2c("/")], SERVER_SETTINGS);
    srv.respond(1, b"ok");
    sim.run();
    sim.finish(ids[0]).0.unwrap();
    srv.frames();
    sim.advance(EVERY - Duration::from_millis(1));
    assert!(srv.frames().is_empty(), "quiet before the interval");
    sim.advance(Duration::from_millis(1));
    let got = srv.frames();
    let Some(Got::Ping {
        ack: false,
        payload,
    }) = got.first().cloned()
    else {
        panic!("a PING at the interval: {got:?}");
    };
    srv.ping(true, payload);
    sim.run();
    sim.advance(EVERY);
    let got = srv.frames();
    assert!(matches!(got[..], [Got::Ping { ack: false, .. }]), "{got:?}");
    sim.advance(DEFAULT_PING_TIMEOUT - Duration::from_millis(1));
    assert!(!srv.peer.client_closed());
    sim.advance(Duration::from_millis(1));
    assert!(srv.peer.client_closed(), "unanswered: closed");
    assert_eq!(sim.multi.connection_counts(), (0, 0));
}
