//! The tokio front (feature `tokio`): requests as futures, bodies as streams with
//! backpressure, WebSockets as `Stream` + `Sink` against tungstenite, many of each on one
//! client's multi at once, cancellation by dropping, and the multi-threaded runtime.
#![cfg(feature = "tokio")]

mod support;

use std::time::Duration;

use curlew::tokio::Client;
use curlew::ws::{CloseCode, Message};
use curlew::{Easy, ErrorKind};
use futures_util::{SinkExt, StreamExt};
use support::client::pattern;
use support::http_server::{routes, Response, Server};
use support::ws_peer::WsPeer;

/// `/size/N`: N bytes of the pattern; anything else: the request's path back.
fn server() -> Server {
    Server::start(routes(|req| {
        match req
            .target
            .strip_prefix("/size/")
            .and_then(|n| n.parse().ok())
        {
            Some(n) => Response::new(200).body(pattern(n)),
            None => Response::new(200).body(req.target.clone()),
        }
    }))
}

#[tokio::test]
async fn requests_are_futures_of_finished_transfers() {
    let srv = server();
    let client = Client::new().unwrap();
    let futures = (0..50).map(|i| client.request(Easy::new(&srv.url(&format!("/r{i}"))).unwrap()));
    let done = futures_util::future::join_all(futures).await;
    for (i, easy) in done.into_iter().enumerate() {
        let easy = easy.unwrap();
        assert_eq!(easy.info().response_code, 200);
        assert_eq!(
            easy.collected().unwrap().body,
            format!("/r{i}").into_bytes()
        );
    }
    // A failure is the transfer's error, with curl's kind.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = client
        .request(Easy::new(&format!("http://127.0.0.1:{port}/")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CouldntConnect);
}

#[tokio::test]
async fn a_streamed_body_arrives_whole_through_backpressure() {
    let srv = server();
    let client = Client::new().unwrap();
    let size = 8 << 20; // more than the stream's buffer: the transfer pauses and resumes
    let mut body = client.stream(Easy::new(&srv.url(&format!("/size/{size}"))).unwrap());
    let mut got = Vec::with_capacity(size);
    let mut pieces = 0;
    while let Some(piece) = body.next().await {
        got.extend_from_slice(&piece.unwrap());
        pieces += 1;
        if pieces % 8 == 0 {
            // A slow reader: let the transfer run ahead and fill the buffer.
            tokio::task::yield_now().await;
        }
    }
    assert_eq!(body.status(), Some(200));
    support::client::assert_same_bytes(&got, &pattern(size));
}

#[tokio::test]
async fn websockets_are_streams_and_sinks() {
    let peer = WsPeer::echo();
    let client = Client::new().unwrap();
    let mut ws = client
        .websocket(Easy::new(&peer.url("/")).unwrap())
        .await
        .unwrap();
    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::text("hello"));
    // Larger than the send queue: it goes in pieces as the queue drains.
    let big: Vec<u8> = (0..6 << 20).map(|i| (i % 253) as u8).collect();
    ws.send(Message::Binary(big.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::Binary(big));
    ws.send(Message::close(CloseCode::Normal, "done"))
        .await
        .unwrap();
    // The peer's close comes back, then the stream ends.
    let last = ws.next().await.unwrap().unwrap();
    assert_eq!(last, Message::close(CloseCode::Normal, "done"));
    assert!(ws.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_websockets_and_requests_share_one_multi() {
    let peer = WsPeer::echo();
    let srv = server();
    let client = Client::new().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let (c, url) = (client.clone(), peer.url("/"));
        tasks.spawn(async move {
            let mut ws = c.websocket(Easy::new(&url).unwrap()).await.unwrap();
            for k in 0..10 {
                let text = format!("ws {i} msg {k}");
                ws.send(Message::text(text.clone())).await.unwrap();
                assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
            }
            ws.close().await.unwrap();
            while let Some(m) = ws.next().await {
                m.unwrap();
            }
        });
        let (c, url) = (client.clone(), srv.url(&format!("/h{i}")));
        tasks.spawn(async move {
            let easy = c.request(Easy::new(&url).unwrap()).await.unwrap();
            assert_eq!(
                easy.collected().unwrap().body,
                format!("/h{i}").into_bytes()
            );
        });
    }
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
    });
    all.await.expect("every task in time");
}

#[tokio::test]
async fn a_dropped_request_cancels_its_transfer() {
    // A server that never answers: the request can only end by being dropped.
    let srv = Server::start(|c| {
        let _ = c.read_request();
        // Until the client goes away (the cancelled transfer closes its connection).
        let _ = c.read_request();
    });
    let client = Client::new().unwrap();
    let req = client.request(Easy::new(&srv.url("/")).unwrap());
    let id = req.id().unwrap();
    let r = tokio::time::timeout(Duration::from_millis(50), req).await;
    assert!(r.is_err(), "no answer, so the timeout won");
    assert!(
        client.with(|m| m.info(id).is_none()),
        "the transfer is gone from the multi"
    );
    assert_eq!(client.with(|m| m.running()), 0);
}

#[test]
fn a_client_needs_a_runtime() {
    assert!(Client::new().is_err());
}
