//! The `http` crate's types (feature `http`): an `Easy` from an `http::Request` sends its
//! method, headers, body and version (checked on the server's side), and a finished transfer
//! reads back as an `http::Response` with the final head's status, version and headers.
#![cfg(feature = "http")]

mod support;

use curlew::{Easy, ErrorKind, Multi};
use support::client::finish;
use support::http_server::{routes, Response, Server};

fn run(e: Easy) -> Easy {
    let mut m = Multi::new();
    m.add(e);
    let (_, f) = finish(&mut m).into_iter().next().unwrap();
    f.unwrap();
    f.easy
}

#[test]
fn a_request_becomes_a_transfer_and_its_answer_a_response() {
    let srv = Server::start(routes(|req| match req.target.as_str() {
        "/moved" => Response::new(302).header("Location", "/echo"),
        _ => Response::new(201)
            .header("X-Method", &req.method)
            .header("X-Token", req.header("x-token").unwrap_or("-"))
            .header("Set-Cookie", "a=1")
            .header("Set-Cookie", "b=2")
            .body(req.body.clone()),
    }));
    let req = http::Request::builder()
        .method("PUT")
        .uri(srv.url("/echo"))
        .version(http::Version::HTTP_11)
        .header("X-Token", "t0k")
        .body(b"payload".to_vec())
        .unwrap();
    let mut e = run(Easy::from_request(req).unwrap());
    let resp = e.take_response().unwrap();
    assert_eq!(resp.status(), http::StatusCode::CREATED);
    assert_eq!(resp.version(), http::Version::HTTP_11);
    assert_eq!(resp.headers()["x-method"], "PUT");
    assert_eq!(resp.headers()["x-token"], "t0k");
    let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(resp.body(), b"payload");
    // After a redirect: the final head's fields only.
    let req = http::Request::get(srv.url("/moved"))
        .body(Vec::new())
        .unwrap();
    let mut e = Easy::from_request(req).unwrap();
    e.follow_location(true);
    let resp = run(e).take_response().unwrap();
    assert_eq!(resp.status(), 201);
    assert!(resp.headers().get("location").is_none());
    assert_eq!(resp.headers()["x-method"], "GET");
}

#[test]
fn what_cannot_be_converted_is_an_error() {
    let relative = http::Request::get("/no/host").body(Vec::new()).unwrap();
    let err = Easy::from_request(relative).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UrlMalformat);
    let mut e = Easy::with_handler("http://127.0.0.1:1/", curlew::Discard).unwrap();
    assert_eq!(
        e.take_response().unwrap_err().kind(),
        ErrorKind::BadFunctionArgument
    );
}
