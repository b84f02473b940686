//! `CURLOPT_RESOLVE` and `CURLOPT_CONNECT_TO` (and the tool's `--resolve`, `--connect-to`):
//! the connection goes to the given address while the `Host` header and the TLS name stay the
//! URL's, checked on what the test servers received.

mod support;

use std::sync::{Arc, Mutex};

use curlew::{ErrorKind, Multi};
use support::client::{finish, rec_easy, run_one};
use support::http_server::{keep_alive_responder, Conn, Server};
use support::tls::{ca_path, server_config};

#[test]
fn resolve_sends_a_name_that_resolves_nowhere_to_the_given_address() {
    let srv = Server::start(keep_alive_responder(b"resolved".to_vec()));
    let port = srv.port();
    let url = format!("http://curlew-test.invalid:{port}/r");
    let mut e = rec_easy(&url);
    e.resolve(&[format!("curlew-test.invalid:{port}:127.0.0.1")])
        .unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"resolved");
    let req = srv.last_request().unwrap();
    assert_eq!(
        req.header("host"),
        Some(format!("curlew-test.invalid:{port}").as_str())
    );
    // Without the entry the name does not resolve.
    let f = run_one(rec_easy(&url));
    assert_eq!(f.kind(), Some(ErrorKind::CouldntResolveHost));
    // A malformed entry is the caller's error.
    let e = rec_easy(&url)
        .resolve(&["no-port-or-address"])
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::BadFunctionArgument);
}

#[test]
fn connect_to_keeps_the_tls_name_and_host_and_pools_apart() {
    let names = Arc::new(Mutex::new(Vec::new()));
    let seen = names.clone();
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        move |c: &mut Conn| {
            c.handshake().ok();
            seen.lock().unwrap().push(c.server_name());
            keep_alive_responder(b"tls".to_vec())(c)
        },
    );
    // Port 1 is in the URL; the connection goes to the server's port.
    let url = "https://localhost:1/ct";
    let to = format!("localhost:1:127.0.0.1:{}", srv.port());
    let mut m = Multi::new();
    let mut e = rec_easy(url);
    e.ca_file(ca_path()).connect_to(&[to.as_str()]).unwrap();
    let a = m.add(e);
    let f = finish(&mut m).remove(&a).unwrap();
    f.unwrap();
    assert_eq!(f.body(), b"tls");
    assert_eq!(
        names.lock().unwrap()[0].as_deref(),
        Some("localhost"),
        "SNI is the URL's"
    );
    assert_eq!(
        srv.last_request().unwrap().header("host"),
        Some("localhost:1")
    );
    // The same URL with the same entry reuses the connection; a direct request for the
    // same URL may not (it would go to port 1).
    let mut e = rec_easy(url);
    e.ca_file(ca_path()).connect_to(&[to.as_str()]).unwrap();
    let b = m.add(e);
    let f = finish(&mut m).remove(&b).unwrap();
    f.unwrap();
    assert!(f.easy.info().reused);
    let mut e = rec_easy(url);
    e.ca_file(ca_path());
    let c = m.add(e);
    let f = finish(&mut m).remove(&c).unwrap();
    assert_eq!(f.kind(), Some(ErrorKind::CouldntConnect));
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn the_tool_takes_resolve_and_connect_to() {
    let srv = Server::start(keep_alive_responder(b"tool".to_vec()));
    let port = srv.port();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
            .args(args)
            .output()
            .unwrap()
    };
    let resolve = format!("curlew-test.invalid:{port}:127.0.0.1");
    let o = run(&[
        "-s",
        "--resolve",
        &resolve,
        &format!("http://curlew-test.invalid:{port}/a"),
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, b"tool");
    let to = format!("elsewhere.invalid:80:127.0.0.1:{port}");
    let o = run(&["-s", "--connect-to", &to, "http://elsewhere.invalid/b"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(o.stdout, b"tool");
    assert_eq!(
        srv.last_request().unwrap().header("host"),
        Some("elsewhere.invalid")
    );
    let o = run(&["-s", "--resolve", "bad", "http://x.invalid/"]);
    assert_eq!(o.status.code(), Some(43), "CURLE_BAD_FUNCTION_ARGUMENT");
}
