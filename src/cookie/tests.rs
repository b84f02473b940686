use super::netscape::{format_line, parse_line};
use super::*;

const NOW: u64 = 1_800_000_000;

fn origin<'a>(host: &'a str, path: &'a str, secure: bool) -> Origin<'a> {
    Origin { host, path, secure }
}

fn header(jar: &mut CookieJar, host: &str, path: &str, secure: bool) -> String {
    let mut out = String::new();
    jar.header(&origin(host, path, secure), NOW, &mut out);
    out
}

fn set(jar: &mut CookieJar, host: &str, path: &str, line: &str) -> Result<(), CookieError> {
    jar.store(&origin(host, path, false), line, NOW)
}

#[test]
fn host_only_and_domain_cookies() {
    let mut jar = CookieJar::new();
    set(&mut jar, "www.example.com", "/", "host=1").unwrap();
    set(
        &mut jar,
        "www.example.com",
        "/",
        "dom=2; Domain=example.com",
    )
    .unwrap();
    assert_eq!(
        header(&mut jar, "www.example.com", "/", false),
        "host=1; dom=2"
    );
    assert_eq!(header(&mut jar, "example.com", "/", false), "dom=2");
    assert_eq!(header(&mut jar, "a.b.example.com", "/x", false), "dom=2");
    assert_eq!(header(&mut jar, "notexample.com", "/", false), "");
    assert_eq!(header(&mut jar, "other.org", "/", false), "");
}

#[test]
fn domains_the_host_may_not_set() {
    let mut jar = CookieJar::new();
    for line in [
        "a=1; Domain=other.com",
        "a=1; Domain=com",
        "a=1; Domain=co.uk",
        "a=1; Domain=ample.com",
        "a=1; Domain=sub.www.example.com",
    ] {
        let host = if line.contains("co.uk") {
            "www.example.co.uk"
        } else {
            "www.example.com"
        };
        assert_eq!(
            set(&mut jar, host, "/", line),
            Err(CookieError::Domain),
            "{line}"
        );
    }
    // A public suffix may set a cookie for itself, host-only.
    set(&mut jar, "co.uk", "/", "a=1; Domain=co.uk").unwrap();
    assert_eq!(header(&mut jar, "co.uk", "/", false), "a=1");
    assert_eq!(header(&mut jar, "x.co.uk", "/", false), "");
    // An IP address only for itself, never for a "parent".
    set(&mut jar, "10.0.0.1", "/", "ip=1; Domain=10.0.0.1").unwrap();
    assert_eq!(
        set(&mut jar, "10.0.0.1", "/", "ip=2; Domain=0.0.1"),
        Err(CookieError::Domain)
    );
    assert_eq!(header(&mut jar, "10.0.0.1", "/", false), "ip=1");
    assert!(jar.cookies().iter().all(|c| c.domain != "0.0.1"));
}

#[test]
fn paths_default_and_match() {
    let mut jar = CookieJar::new();
    set(&mut jar, "h.test", "/docs/web/page.html", "def=1").unwrap();
    set(&mut jar, "h.test", "/", "root=1; Path=/").unwrap();
    set(&mut jar, "h.test", "/", "deep=1; Path=/docs/web/").unwrap();
    assert_eq!(jar.cookies()[0].path, "/docs/web");
    // Longest path first, then oldest.
    assert_eq!(
        header(&mut jar, "h.test", "/docs/web/x", false),
        "deep=1; def=1; root=1"
    );
    assert_eq!(
        header(&mut jar, "h.test", "/docs/web", false),
        "def=1; root=1"
    );
    assert_eq!(header(&mut jar, "h.test", "/docs/webs", false), "root=1");
    assert_eq!(header(&mut jar, "h.test", "/", false), "root=1");
}

#[test]
fn secure_cookies_need_secure_origins() {
    let mut jar = CookieJar::new();
    let https = origin("s.test", "/", true);
    assert_eq!(
        set(&mut jar, "s.test", "/", "s=1; Secure"),
        Err(CookieError::Insecure)
    );
    jar.store(&https, "s=1; Secure", NOW).unwrap();
    assert_eq!(header(&mut jar, "s.test", "/", false), "");
    assert_eq!(header(&mut jar, "s.test", "/", true), "s=1");
    // Plain HTTP cannot shadow it, on the same or a covering path.
    assert_eq!(
        set(&mut jar, "s.test", "/", "s=evil"),
        Err(CookieError::Insecure)
    );
    assert_eq!(
        set(&mut jar, "s.test", "/", "s=evil; Path=/sub"),
        Err(CookieError::Insecure)
    );
    set(&mut jar, "s.test", "/", "other=1").unwrap();
}

#[test]
fn name_prefixes() {
    let mut jar = CookieJar::new();
    let https = origin("p.test", "/a/b", true);
    assert_eq!(
        jar.store(&https, "__Secure-a=1", NOW),
        Err(CookieError::Insecure)
    );
    jar.store(&https, "__Secure-a=1; Secure", NOW).unwrap();
    assert_eq!(
        jar.store(&https, "__Host-b=1; Secure", NOW),
        Err(CookieError::Insecure)
    );
    assert_eq!(
        jar.store(&https, "__Host-b=1; Secure; Path=/; Domain=p.test", NOW),
        Err(CookieError::Insecure)
    );
    jar.store(&https, "__Host-b=1; Secure; Path=/", NOW)
        .unwrap();
    assert_eq!(jar.len(), 2);
}

#[test]
fn expiry_max_age_and_deletion() {
    let mut jar = CookieJar::new();
    set(
        &mut jar,
        "e.test",
        "/",
        "a=1; Max-Age=100; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
    )
    .unwrap();
    assert_eq!(jar.cookies()[0].expires, Some(NOW + 100));
    set(
        &mut jar,
        "e.test",
        "/",
        "b=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
    )
    .unwrap();
    assert_eq!(jar.cookies()[1].expires, Some(NOW + COOKIE_MAX_AGE_CAP));
    set(&mut jar, "e.test", "/", "c=1").unwrap();
    assert_eq!(jar.cookies()[2].expires, None);
    // A cookie in the past deletes its namesake; one never seen is not stored.
    set(&mut jar, "e.test", "/", "a=gone; Max-Age=0").unwrap();
    set(
        &mut jar,
        "e.test",
        "/",
        "z=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    )
    .unwrap();
    assert_eq!(header(&mut jar, "e.test", "/", false), "b=1; c=1");
    // An expired cookie is not sent and is purged.
    let mut out = String::new();
    jar.header(
        &origin("e.test", "/", false),
        NOW + COOKIE_MAX_AGE_CAP,
        &mut out,
    );
    assert_eq!(out, "c=1");
    assert_eq!(jar.len(), 1);
}

#[test]
fn a_replacement_keeps_its_place() {
    let mut jar = CookieJar::new();
    set(&mut jar, "r.test", "/", "a=1").unwrap();
    set(&mut jar, "r.test", "/", "b=1").unwrap();
    set(&mut jar, "r.test", "/", "a=2; HttpOnly").unwrap();
    assert_eq!(header(&mut jar, "r.test", "/", false), "a=2; b=1");
    assert_eq!(jar.len(), 2);
    assert!(jar.cookies()[0].http_only);
}

#[test]
fn limits_bound_the_jar_and_the_header() {
    let mut jar = CookieJar::new();
    jar.set_limits(CookieLimits {
        per_domain: 3,
        total: 5,
        sent: 2,
        header: 12,
        line: 40,
        name_value: 10,
        ..CookieLimits::default()
    });
    for i in 0..4 {
        set(&mut jar, "one.test", "/", &format!("c{i}=v")).unwrap();
    }
    // The oldest of the domain made room.
    assert_eq!(jar.len(), 3);
    assert_eq!(header(&mut jar, "one.test", "/", false), "c1=v; c2=v");
    set(&mut jar, "two.test", "/", "a=1").unwrap();
    set(&mut jar, "two.test", "/", "b=1").unwrap();
    assert_eq!(
        set(&mut jar, "two.test", "/", "c=1"),
        Err(CookieError::Full)
    );
    assert_eq!(
        set(&mut jar, "x.test", "/", "n=0123456789"),
        Err(CookieError::TooLong)
    );
    let long = format!("n=1; Path=/{}", "p".repeat(40));
    assert_eq!(
        set(&mut jar, "x.test", "/", &long),
        Err(CookieError::TooLong)
    );
    // The header stops before it would pass its byte limit.
    let mut jar = CookieJar::new();
    jar.set_limits(CookieLimits {
        header: 12,
        ..CookieLimits::default()
    });
    for line in ["aa=1111", "b=2", "c=3"] {
        set(&mut jar, "h.test", "/", line).unwrap();
    }
    assert_eq!(header(&mut jar, "h.test", "/", false), "aa=1111; b=2");
}

#[test]
fn same_site_is_kept() {
    let mut jar = CookieJar::new();
    set(&mut jar, "s.test", "/", "a=1; SameSite=Lax").unwrap();
    assert_eq!(jar.cookies()[0].same_site, Some(SameSite::Lax));
}

#[test]
fn netscape_lines_as_curl_writes_them() {
    let text = "# Netscape HTTP Cookie File\n\
        # https://curl.se/docs/http-cookies.html\n\
        \n\
        .example.com\tTRUE\t/\tFALSE\t0\tsess\tv1\n\
        #HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t2000000000\tho\tv2\n\
        example.org\tFALSE\t/\tFALSE\t2000000000\tempty\n\
        old.test\tFALSE\t/\tFALSE\t1000\tgone\tx\n\
        bad line\n\
        Set-Cookie: hdr=1; Domain=h.test; Path=/; Max-Age=60\n";
    let mut jar = CookieJar::new();
    assert_eq!(jar.load_text(text, true, NOW), 4);
    let c = jar.cookies();
    assert_eq!(
        (c[0].domain.as_str(), c[0].include_subdomains, c[0].expires),
        ("example.com", true, None)
    );
    assert!(c[1].http_only && c[1].secure && c[1].path == "/app");
    assert_eq!((c[2].name.as_str(), c[2].value.as_str()), ("empty", ""));
    assert_eq!(c[3].domain, "h.test");
    assert_eq!(
        format_line(c[0]),
        ".example.com\tTRUE\t/\tFALSE\t0\tsess\tv1"
    );
    assert_eq!(
        format_line(c[1]),
        "#HttpOnly_www.example.com\tFALSE\t/app\tTRUE\t2000000000\tho\tv2"
    );
    // -j: session cookies are left out.
    let mut jar = CookieJar::new();
    assert_eq!(jar.load_text(text, false, NOW), 3);
    assert!(jar.cookies().iter().all(|c| c.expires.is_some()));
}

#[test]
fn a_jar_round_trips() {
    let mut jar = CookieJar::new();
    set(
        &mut jar,
        "www.a.test",
        "/x/y",
        "p=1; Domain=a.test; Max-Age=500; HttpOnly",
    )
    .unwrap();
    jar.store(&origin("www.a.test", "/", true), "s=2; Secure", NOW)
        .unwrap();
    set(&mut jar, "b.test", "/", "q=3").unwrap();
    let text = jar.to_text(NOW);
    assert!(text.starts_with("# Netscape HTTP Cookie File\n"));
    let mut back = CookieJar::new();
    assert_eq!(back.load_text(&text, true, NOW), 3);
    let strip = |j: &CookieJar| {
        j.cookies()
            .into_iter()
            .map(|c| Cookie {
                same_site: None,
                created: 0,
                ..c.clone()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&jar), strip(&back));
    assert!(parse_line("#just a comment").is_none());
    assert!(parse_line("a\tTRUE\t/\tFALSE\tnotanumber\tn\tv").is_none());
}
