use std::collections::HashMap;

use super::*;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let m: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| m.get(k).cloned()
}

fn from_env() -> ProxyOptions {
    ProxyOptions {
        from_env: true,
        ..Default::default()
    }
}

#[test]
fn proxy_urls_parse_with_curls_defaults() {
    let p = Proxy::parse("proxy.example", None, false).unwrap();
    assert_eq!(
        (p.kind, p.host.as_str(), p.port),
        (ProxyKind::Http, "proxy.example", 1080)
    );
    let p = Proxy::parse("https://p", None, false).unwrap();
    assert_eq!((p.kind, p.port), (ProxyKind::Https, 443));
    let p = Proxy::parse("http://p:80", None, false).unwrap();
    assert_eq!(p.port, 80, "an explicit :80 is kept");
    let p = Proxy::parse("SOCKS5H://u%40x:p%3Aw@[::1]:9050", None, false).unwrap();
    assert_eq!(
        (p.kind, p.host.as_str(), p.port),
        (ProxyKind::Socks5h, "::1", 9050)
    );
    assert_eq!(p.creds, Some(("u@x".into(), "p:w".into())));
    let over = ("a".to_string(), "b".to_string());
    let p = Proxy::parse("http://u:p@h:1", Some(&over), false).unwrap();
    assert_eq!(p.creds, Some(over), "the option wins over the URL");
    assert_eq!(p.basic_auth().unwrap(), "Basic YTpi");
    for (s, kind) in [
        ("socks4://h", ProxyKind::Socks4),
        ("socks4a://h", ProxyKind::Socks4a),
        ("socks5://h", ProxyKind::Socks5),
    ] {
        assert_eq!(Proxy::parse(s, None, false).unwrap().kind, kind);
    }
    let e = Proxy::parse("ftp://h", None, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedProtocol);
    assert_eq!(
        Proxy::parse("http://", None, false).unwrap_err().kind(),
        ErrorKind::UrlMalformat
    );
    let a = Proxy::parse("http://h:1", None, false).unwrap();
    let b = Proxy::parse("http://u:p@h:1", None, false).unwrap();
    let c = Proxy::parse("http://h:1", None, true).unwrap();
    assert!(
        a.id != b.id && a.id != c.id && a.id != 0,
        "credentials and tunnelling part the pools"
    );
}

#[test]
fn tunnels_for_all_but_plain_http_through_an_http_proxy() {
    let http = Proxy::parse("http://h", None, false).unwrap();
    assert!(!http.tunnels(Scheme::Http));
    for s in [Scheme::Https, Scheme::Ws, Scheme::Wss] {
        assert!(http.tunnels(s));
    }
    assert!(Proxy::parse("http://h", None, true)
        .unwrap()
        .tunnels(Scheme::Http));
    assert!(Proxy::parse("socks5://h", None, false)
        .unwrap()
        .tunnels(Scheme::Http));
}

#[test]
fn environment_rules_are_curls() {
    let o = from_env();
    let e = env(&[
        ("HTTP_PROXY", "http://upper"),
        ("https_proxy", "http://lower"),
    ]);
    assert_eq!(
        proxy_url_for(&o, Scheme::Http, "h", &e),
        None,
        "HTTP_PROXY is ignored"
    );
    assert_eq!(
        proxy_url_for(&o, Scheme::Https, "h", &e).as_deref(),
        Some("http://lower")
    );
    let e = env(&[("HTTPS_PROXY", "http://upper"), ("http_proxy", "http://p")]);
    assert_eq!(
        proxy_url_for(&o, Scheme::Https, "h", &e).as_deref(),
        Some("http://upper")
    );
    assert_eq!(
        proxy_url_for(&o, Scheme::Http, "h", &e).as_deref(),
        Some("http://p")
    );
    let e = env(&[("https_proxy", "http://l"), ("HTTPS_PROXY", "http://u")]);
    assert_eq!(
        proxy_url_for(&o, Scheme::Https, "h", &e).as_deref(),
        Some("http://l"),
        "lowercase first"
    );
    let e = env(&[("ALL_PROXY", "socks5h://all")]);
    assert_eq!(
        proxy_url_for(&o, Scheme::Wss, "h", &e).as_deref(),
        Some("socks5h://all")
    );
    let e = env(&[("wss_proxy", "http://w"), ("all_proxy", "http://a")]);
    assert_eq!(
        proxy_url_for(&o, Scheme::Wss, "h", &e).as_deref(),
        Some("http://w")
    );
    assert_eq!(
        proxy_url_for(&o, Scheme::Ws, "h", &e).as_deref(),
        Some("http://a")
    );
    let e = env(&[
        ("all_proxy", "http://a"),
        ("NO_PROXY", "example.com,10.0.0.0/8"),
    ]);
    assert_eq!(proxy_url_for(&o, Scheme::Http, "www.example.com", &e), None);
    assert_eq!(proxy_url_for(&o, Scheme::Http, "10.1.2.3", &e), None);
    assert!(proxy_url_for(&o, Scheme::Http, "example.org", &e).is_some());
    let e = env(&[("all_proxy", "http://a"), ("no_proxy", "*")]);
    assert_eq!(proxy_url_for(&o, Scheme::Http, "x", &e), None);
    // The options win over the environment.
    let o = ProxyOptions {
        url: Some("http://opt".into()),
        noproxy: Some(String::new()),
        from_env: true,
        ..Default::default()
    };
    assert_eq!(
        proxy_url_for(&o, Scheme::Http, "x", &e).as_deref(),
        Some("http://opt")
    );
    let o = ProxyOptions {
        noproxy: Some("x".into()),
        from_env: true,
        ..Default::default()
    };
    let e = env(&[("all_proxy", "http://a")]);
    assert_eq!(proxy_url_for(&o, Scheme::Http, "x", &e), None);
    // Not asked to read the environment: nothing from it.
    let o = ProxyOptions::default();
    assert_eq!(proxy_url_for(&o, Scheme::Http, "x", &e), None);
}
