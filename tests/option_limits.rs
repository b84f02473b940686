//! Every duration and size option at 0 and at its maximum, one table: 0 means what it means
//! in libcurl (no limit for `CURLOPT_TIMEOUT` and `CURLOPT_MAXFILESIZE`, the default for
//! `CURLOPT_CONNECTTIMEOUT` and `CURLOPT_BUFFERSIZE`, off for the low-speed pair, send at once
//! for `CURLOPT_EXPECT_100_TIMEOUT_MS`) or, for options libcurl does not have, the default;
//! the largest value is accepted and clamped, never an overflow or a panic. Each row runs a
//! real transfer that must succeed: a 0 taken literally (an immediate timeout, a zero-byte
//! limit) fails it.

mod support;

use std::time::Duration;

use curlew::ws::TEXT;
use curlew::{Easy, ErrorKind, Multi};
use support::client::*;
use support::http_server::*;
use support::ws_peer::WsPeer;

type Setter = fn(&mut Easy);

/// HTTP options: (name, set to 0, set to the maximum).
const HTTP_ROWS: &[(&str, Setter, Setter)] = &[
    (
        "connect_timeout (CURLOPT_CONNECTTIMEOUT: 0 = default 300 s)",
        |e| {
            e.connect_timeout(Duration::ZERO);
        },
        |e| {
            e.connect_timeout(Duration::MAX);
        },
    ),
    (
        "timeout (CURLOPT_TIMEOUT: 0 = no limit)",
        |e| {
            e.timeout(Some(Duration::ZERO));
        },
        |e| {
            e.timeout(Some(Duration::MAX));
        },
    ),
    (
        "low_speed (CURLOPT_LOW_SPEED_LIMIT/TIME: 0 = off)",
        |e| {
            e.low_speed(0, Duration::ZERO)
                .low_speed(1 << 40, Duration::ZERO);
        },
        |e| {
            e.low_speed(1, Duration::MAX);
        },
    ),
    (
        "expect_100_timeout (0 = send the body at once)",
        |e| {
            e.expect_100_timeout(Duration::ZERO).body(vec![b'x'; 100]);
        },
        |e| {
            // A server that never sends 100 Continue and answers after the body would wait
            // forever; this one reads the body at once (curl sends the body without waiting
            // only for small bodies, so the maximum matters only for large uploads).
            e.expect_100_timeout(Duration::MAX).body(vec![b'x'; 100]);
        },
    ),
    (
        "buffer_size (CURLOPT_BUFFERSIZE: 0 = default)",
        |e| {
            e.buffer_size(0);
        },
        |e| {
            e.buffer_size(usize::MAX);
        },
    ),
    (
        "max_filesize (CURLOPT_MAXFILESIZE_LARGE: 0 = no limit)",
        |e| {
            e.max_filesize(Some(0));
        },
        |e| {
            e.max_filesize(Some(u64::MAX));
        },
    ),
    (
        "max_redirects (CURLOPT_MAXREDIRS: 0 = refuse any redirect)",
        |e| {
            e.max_redirects(0);
        },
        |e| {
            e.follow_location(true).max_redirects(u32::MAX);
        },
    ),
    (
        "max_header_bytes (0 = default)",
        |e| {
            e.max_header_bytes(0);
        },
        |e| {
            e.max_header_bytes(usize::MAX);
        },
    ),
    (
        "max_response_heads_bytes (0 = default)",
        |e| {
            e.max_response_heads_bytes(0);
        },
        |e| {
            e.max_response_heads_bytes(usize::MAX);
        },
    ),
    (
        "max_headers (0 = default)",
        |e| {
            e.max_headers(0);
        },
        |e| {
            e.max_headers(usize::MAX);
        },
    ),
];

/// WebSocket options: (name, set to 0, set to the maximum).
const WS_ROWS: &[(&str, Setter, Setter)] = &[
    (
        "ws_max_frame_size (0 = default)",
        |e| {
            e.ws_max_frame_size(0);
        },
        |e| {
            e.ws_max_frame_size(u64::MAX);
        },
    ),
    (
        "ws_max_message_size (0 = default)",
        |e| {
            e.ws_max_message_size(0);
        },
        |e| {
            e.ws_max_message_size(u64::MAX);
        },
    ),
    (
        "ws_max_send_queue (0 = default)",
        |e| {
            e.ws_max_send_queue(0);
        },
        |e| {
            e.ws_max_send_queue(usize::MAX);
        },
    ),
    (
        "ws_max_close_finish (0 = default)",
        |e| {
            e.ws_max_close_finish(0);
        },
        |e| {
            e.ws_max_close_finish(u64::MAX);
        },
    ),
    (
        "ws_close_timeout (0 = default)",
        |e| {
            e.ws_close_timeout(Duration::ZERO);
        },
        |e| {
            e.ws_close_timeout(Duration::MAX);
        },
    ),
    (
        "ws_keepalive (interval 0 = off; timeout 0 = the interval)",
        |e| {
            e.ws_keepalive(Some((Duration::ZERO, Duration::ZERO)));
        },
        |e| {
            e.ws_keepalive(Some((Duration::MAX, Duration::MAX)));
        },
    ),
];

#[test]
fn http_options_at_zero_and_at_their_maximum() {
    // /r redirects once to /; the body of / is 1 KiB.
    let body = pattern(1024);
    let want = body.clone();
    let srv = Server::start(routes(move |req| {
        if req.target == "/r" {
            Response::redirect(302, "/")
        } else {
            Response::ok(body.clone())
        }
    }));
    for (name, zero, max) in HTTP_ROWS {
        for (which, set) in [("0", zero), ("max", max)] {
            let mut e = rec_easy(&srv.url("/r"));
            e.follow_location(true);
            set(&mut e);
            let f = run_one(e);
            if name.starts_with("max_redirects") && which == "0" {
                // libcurl: "Setting the limit to 0 makes libcurl refuse any redirect" (47).
                assert_eq!(f.kind(), Some(ErrorKind::TooManyRedirects), "{name} at 0");
                continue;
            }
            assert!(f.result.is_ok(), "{name} at {which}: {:?}", f.result);
            assert_eq!(f.easy.info().response_code, 200, "{name} at {which}");
            assert_same_bytes(f.body(), &want);
        }
    }
}

#[test]
fn websocket_options_at_zero_and_at_their_maximum() {
    let peer = WsPeer::echo();
    for (name, zero, max) in WS_ROWS {
        for (which, set) in [("0", zero), ("max", max)] {
            let mut e = Easy::new(&peer.url("/")).unwrap();
            e.connect_only(true);
            set(&mut e);
            let mut m = Multi::new();
            let id = m.add(e);
            let mut got = Vec::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let mut sent = false;
            loop {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{name} at {which}: no echo"
                );
                m.poll(Some(Duration::from_millis(50))).unwrap();
                if let Some(msg) = m.info_read() {
                    assert!(msg.result.is_ok(), "{name} at {which}: {:?}", msg.result);
                }
                let Ok(mut ws) = m.ws(id) else { continue };
                if !sent {
                    assert_eq!(ws.send(b"hello", TEXT).unwrap(), 5, "{name} at {which}");
                    sent = true;
                }
                match ws.recv_message(&mut got) {
                    Ok(flags) => {
                        assert_eq!(flags & TEXT, TEXT, "{name} at {which}");
                        break;
                    }
                    Err(curlew::ws::WsError::WouldBlock) => {}
                    Err(e) => panic!("{name} at {which}: {e}"),
                }
            }
            assert_eq!(got, b"hello", "{name} at {which}");
        }
    }
}
