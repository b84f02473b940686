mod support;
use curlew::{Easy, Multi};
use support::http_server::*;

#[test]
fn get_and_reuse() {
    let srv = Server::start(keep_alive_responder(b"hello".to_vec()));
    let mut e = Easy::new(&srv.url("/a")).unwrap();
    e.perform().unwrap();
    assert_eq!(e.info().response_code, 200);
    assert_eq!(e.collected().unwrap().body, b"hello");
    let mut m = Multi::new();
    m.set_max_host_connections(2);
    for _ in 0..20 {
        m.add(Easy::new(&srv.url("/b")).unwrap());
    }
    m.run().unwrap();
    let mut n = 0;
    while let Some(msg) = m.info_read() {
        msg.result.unwrap();
        let e = m.remove(msg.id).unwrap();
        assert_eq!(e.collected().unwrap().body, b"hello");
        n += 1;
    }
    assert_eq!(n, 20);
    assert_eq!(srv.accepted(), 3);
}

#[test]
fn tls_get() {
    let cfg = support::tls::server_config("server.pem", "server.key");
    let srv = Server::start_tls(cfg, keep_alive_responder(vec![7u8; 100_000]));
    let mut e = Easy::new(&srv.url("/a")).unwrap();
    e.ca_file(support::tls::ca_path());
    e.perform().unwrap();
    assert_eq!(e.collected().unwrap().body.len(), 100_000);
}
