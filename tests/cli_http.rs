//! End-to-end tests of the `curlew` tool in HTTP(S) mode: the built binary against loopback
//! servers, flag group by flag group, and each exit code of the contract.

mod support;

use std::process::Output;

use support::client::{raw_server, silent_server};
use support::http_server::{keep_alive_responder, routes, Conn, Response, Server};
use support::tls::{ca_path, server_config};

/// Run the tool with `args` (stdin empty), killing it after a generous bound.
fn curlew(args: &[&str]) -> Output {
    support::tool::run(args)
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `/hello`, `/echo` (method + body back), `/404`, `/r/N` (N redirects then /hello),
/// `/headers` (the request's X-Test header back), `/ua` (its User-Agent back), `/gzip`.
fn app() -> Server {
    Server::start(routes(|req| match req.path() {
        "/hello" => Response::ok("hello world"),
        "/echo" => Response::ok(
            [
                req.method.as_bytes(),
                b" ",
                req.header("content-type").unwrap_or("-").as_bytes(),
                b" ",
                &req.body,
            ]
            .concat(),
        ),
        "/404" => Response::new(404).body("not here"),
        "/headers" => Response::ok(format!(
            "x-test={} accept-encoding={}",
            req.header("x-test").unwrap_or("-"),
            req.header("accept-encoding").unwrap_or("-")
        )),
        "/ua" => Response::ok(req.header("user-agent").unwrap_or("-").to_string()),
        "/target" => Response::ok(format!(
            "{} {} accept={}",
            req.method,
            req.target,
            req.header("accept").unwrap_or("-")
        )),
        p if p.starts_with("/up/") => {
            Response::ok([req.method.as_bytes(), b" ", p.as_bytes(), b" ", &req.body].concat())
        }
        "/gzip" => {
            Response::ok(support::gzip(b"compressed body")).header("Content-Encoding", "gzip")
        }
        p if p.starts_with("/r/") => {
            let n: u32 = p[3..].parse().unwrap_or(0);
            if n == 0 {
                Response::redirect(302, "/hello")
            } else {
                Response::redirect(302, &format!("/r/{}", n - 1))
            }
        }
        _ => Response::new(404),
    }))
}

#[test]
fn download_to_stdout_and_file() {
    let srv = app();
    let o = curlew(&["-s", &srv.url("/hello")]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hello world");

    let dir = tempdir("download");
    let file = dir.join("out.txt");
    let o = curlew(&["-s", "-o", file.to_str().unwrap(), &srv.url("/hello")]);
    assert_eq!(code(&o), 0);
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), b"hello world");
}

#[test]
fn include_and_head() {
    let srv = app();
    let o = curlew(&["-s", "-i", &srv.url("/hello")]);
    let out = text(&o.stdout);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with("\r\n\r\nhello world"), "{out}");

    let o = curlew(&["-s", "-I", &srv.url("/hello")]);
    assert_eq!(code(&o), 0);
    let out = text(&o.stdout);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(!out.contains("hello world"), "{out}");
    assert_eq!(srv.last_request().unwrap().method, "HEAD");
}

#[test]
fn request_method_headers_and_data() {
    let srv = app();
    let o = curlew(&[
        "-s",
        "-X",
        "PUT",
        "-d",
        "a=1",
        "-d",
        "b=2",
        &srv.url("/echo"),
    ]);
    assert_eq!(
        text(&o.stdout),
        "PUT application/x-www-form-urlencoded a=1&b=2"
    );

    let o = curlew(&["-s", "-d", "x", &srv.url("/echo")]);
    assert_eq!(text(&o.stdout), "POST application/x-www-form-urlencoded x");

    let dir = tempdir("data");
    let f = dir.join("body.txt");
    std::fs::write(&f, "line1\nline2\n").unwrap();
    let at = format!("@{}", f.display());
    let o = curlew(&["-s", "-d", &at, &srv.url("/echo")]);
    assert!(
        text(&o.stdout).ends_with(" line1line2"),
        "{}",
        text(&o.stdout)
    );
    let o = curlew(&[
        "-s",
        "--data-binary",
        &at,
        "-H",
        "Content-Type: text/plain",
        &srv.url("/echo"),
    ]);
    assert_eq!(text(&o.stdout), "POST text/plain line1\nline2\n");

    let o = curlew(&["-s", "-H", "X-Test: yes", &srv.url("/headers")]);
    assert_eq!(text(&o.stdout), "x-test=yes accept-encoding=-");
}

#[test]
fn user_agent() {
    // The tool names itself (like curl's curl/VERSION); -A replaces it, -A "" drops it.
    let srv = app();
    let o = curlew(&["-s", &srv.url("/ua")]);
    assert_eq!(text(&o.stdout), curlew::DEFAULT_USER_AGENT);
    let o = curlew(&["-s", "-A", "probe/2", &srv.url("/ua")]);
    assert_eq!(text(&o.stdout), "probe/2");
    let o = curlew(&["-s", "--user-agent", "", &srv.url("/ua")]);
    assert_eq!(text(&o.stdout), "-");
}

#[test]
fn compressed() {
    let srv = app();
    let o = curlew(&["-s", "--compressed", &srv.url("/gzip")]);
    assert_eq!(code(&o), 0);
    assert_eq!(text(&o.stdout), "compressed body");
    let o = curlew(&["-s", "--compressed", &srv.url("/headers")]);
    assert!(text(&o.stdout).contains("gzip"), "{}", text(&o.stdout));
}

#[test]
fn location_and_too_many_redirects_47() {
    let srv = app();
    let o = curlew(&["-s", &srv.url("/r/2")]);
    assert_eq!(code(&o), 0);
    assert!(!text(&o.stdout).contains("hello world"));

    let o = curlew(&["-s", "-L", "-w", "%{url_effective}", &srv.url("/r/2")]);
    assert_eq!(code(&o), 0);
    assert_eq!(text(&o.stdout), format!("hello world{}", srv.url("/hello")));

    let o = curlew(&["-sS", "-L", "--max-redirs", "1", &srv.url("/r/3")]);
    assert_eq!(code(&o), 47, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("(47)"));
}

#[test]
fn fail_22_silent_and_show_error() {
    let srv = app();
    let o = curlew(&["-s", &srv.url("/404")]);
    assert_eq!(code(&o), 0);
    assert_eq!(text(&o.stdout), "not here");

    let o = curlew(&["-f", &srv.url("/404")]);
    assert_eq!(code(&o), 22);
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).contains("(22)"), "{}", text(&o.stderr));

    let o = curlew(&["-sf", &srv.url("/404")]);
    assert_eq!(code(&o), 22);
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));

    let o = curlew(&["-sSf", &srv.url("/404")]);
    assert_eq!(code(&o), 22);
    assert!(text(&o.stderr).contains("(22)"));
}

#[test]
fn verbose_goes_to_stderr() {
    let srv = app();
    let o = curlew(&["-s", "-v", &srv.url("/hello")]);
    assert_eq!(text(&o.stdout), "hello world");
    let err = text(&o.stderr);
    assert!(err.contains("> GET /hello HTTP/1.1"), "{err}");
    assert!(err.contains("< HTTP/1.1 200"), "{err}");
}

#[test]
fn write_out_variables() {
    let srv = app();
    let o = curlew(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{size_download} %{num_connects} %{url_effective} %{time_total}\\n",
        &srv.url("/hello"),
    ]);
    assert_eq!(code(&o), 0);
    let out = text(&o.stdout);
    let f: Vec<&str> = out.trim_end_matches('\n').split(' ').collect();
    assert!(out.ends_with('\n'));
    assert_eq!(&f[..4], &["200", "11", "1", &srv.url("/hello")]);
    assert!(f[4].parse::<f64>().is_ok(), "{out}");
}

#[test]
fn parallel_100_urls_reuse_connections() {
    let srv = Server::start(keep_alive_responder(b"item".to_vec()));
    let dir = tempdir("parallel");
    let urls: Vec<String> = (0..100).map(|i| srv.url(&format!("/f{i}"))).collect();
    let mut args = vec![
        "-s",
        "-Z",
        "--parallel-max",
        "4",
        "--output-dir",
        dir.to_str().unwrap(),
        "--remote-name-all",
    ];
    args.extend(urls.iter().map(String::as_str));
    let o = curlew(&args);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    for i in 0..100 {
        assert_eq!(std::fs::read(dir.join(format!("f{i}"))).unwrap(), b"item");
    }
    assert!(srv.accepted() <= 10, "accepted {}", srv.accepted());
}

#[test]
fn repeated_o_and_capital_o_apply_to_the_urls_in_order_as_in_curl() {
    let srv = Server::start(keep_alive_responder(b"item".to_vec()));
    let dir = tempdir("repeated-o");
    let d = dir.to_str().unwrap();
    let (u1, u2) = (srv.url("/one"), srv.url("/two"));
    let o = curlew(&["-s", "-Z", "--output-dir", d, "-O", &u1, "-O", &u2]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(std::fs::read(dir.join("one")).unwrap(), b"item");
    assert_eq!(std::fs::read(dir.join("two")).unwrap(), b"item");
    // -o for the first URL, -O for the second; a third URL with neither goes to stdout.
    let (u3, u4, u5) = (srv.url("/three"), srv.url("/four"), srv.url("/five"));
    let o = curlew(&["-s", "--output-dir", d, "-o", "named", &u3, "-O", &u4, &u5]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(std::fs::read(dir.join("named")).unwrap(), b"item");
    assert_eq!(std::fs::read(dir.join("four")).unwrap(), b"item");
    assert!(!dir.join("five").exists());
    assert_eq!(o.stdout, b"item");
}

#[test]
fn data_urlencode_json_get_dump_header_and_upload_file_as_in_curl() {
    let srv = app();
    let echo = srv.url("/echo");
    let o = curlew(&[
        "-s",
        "--data-urlencode",
        "a=b c&d",
        "--data-urlencode",
        "=é",
        &echo,
    ]);
    assert_eq!(
        text(&o.stdout),
        "POST application/x-www-form-urlencoded a=b%20c%26d&%C3%A9"
    );
    let o = curlew(&["-s", "--json", "{\"a\":", "--json", "1}", &echo]);
    assert_eq!(text(&o.stdout), "POST application/json {\"a\":1}");
    let o = curlew(&["-s", "--json", "{}", &srv.url("/target")]);
    assert_eq!(text(&o.stdout), "POST /target accept=application/json");
    let o = curlew(&[
        "-s",
        "-G",
        "-d",
        "a=1",
        "--data-urlencode",
        "b=x y",
        &srv.url("/target?z=0"),
    ]);
    assert_eq!(text(&o.stdout), "GET /target?z=0&a=1&b=x%20y accept=*/*");
    let dir = tempdir("dump-upload");
    let dump = dir.join("headers.txt");
    let o = curlew(&["-s", "-D", dump.to_str().unwrap(), &srv.url("/hello")]);
    assert_eq!(text(&o.stdout), "hello world");
    let headers = std::fs::read_to_string(&dump).unwrap();
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert!(headers.ends_with("\r\n\r\n"), "{headers:?}");
    let file = dir.join("payload.bin");
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &payload).unwrap();
    let o = curlew(&["-s", "-T", file.to_str().unwrap(), &srv.url("/up/")]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    let mut want = b"PUT /up/payload.bin ".to_vec();
    want.extend_from_slice(&payload);
    assert_eq!(o.stdout, want, "the file streamed, the name appended");
}

#[test]
fn retry_tries_transient_failures_again_as_curl_does() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    // 503 (Retry-After: 0) twice, then 200; /slow: always 503 with Retry-After: 100.
    let srv = Server::start(routes(move |req| match req.path() {
        "/flaky" if h.fetch_add(1, Ordering::SeqCst) < 2 => {
            Response::new(503).header("Retry-After", "0").body("busy")
        }
        "/flaky" => Response::ok("finally"),
        "/slow" => Response::new(503).header("Retry-After", "100").body("busy"),
        _ => Response::new(404),
    }));
    let o = curlew(&["-s", "--retry", "3", &srv.url("/flaky")]);
    assert_eq!(code(&o), 0);
    assert!(text(&o.stdout).ends_with("finally"), "{}", text(&o.stdout));
    assert_eq!(hits.load(Ordering::SeqCst), 3, "two retries");
    hits.store(0, Ordering::SeqCst);
    let o = curlew(&["-s", "-w", "%{http_code}", &srv.url("/flaky")]);
    assert_eq!(text(&o.stdout), "busy503", "no --retry: one try");
    // --retry-max-time: a Retry-After beyond it ends the retries at once.
    let o = curlew(&[
        "--retry",
        "5",
        "--retry-max-time",
        "5",
        "-o",
        "/dev/null",
        &srv.url("/slow"),
    ]);
    assert_eq!(code(&o), 0);
    assert!(
        !text(&o.stderr).contains("Will retry"),
        "{}",
        text(&o.stderr)
    );
    // A 404 is not transient.
    let o = curlew(&[
        "--retry",
        "3",
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &srv.url("/none"),
    ]);
    assert!(!text(&o.stderr).contains("Will retry"));
}

#[test]
fn limit_rate_takes_curls_suffixes() {
    // The limit itself is checked on the simulated clock (src/sim/tests/rate.rs); here only
    // that the flag is read as curl reads it.
    let srv = app();
    for ok in ["1m", "500K", "1000000", "2.5k"] {
        let o = curlew(&["-s", "--limit-rate", ok, &srv.url("/hello")]);
        assert_eq!(code(&o), 0, "{ok}");
        assert_eq!(text(&o.stdout), "hello world");
    }
    let o = curlew(&["-s", "--limit-rate", "fast", &srv.url("/hello")]);
    assert_eq!(code(&o), 2);
}

#[test]
fn parallel_with_per_url_output() {
    let srv = app();
    let dir = tempdir("per-url");
    let (a, b) = (dir.join("a"), dir.join("b"));
    let o = curlew(&[
        "-s",
        "-Z",
        "-o",
        a.to_str().unwrap(),
        "-o",
        b.to_str().unwrap(),
        &srv.url("/hello"),
        &srv.url("/echo"),
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(std::fs::read(&a).unwrap(), b"hello world");
    assert_eq!(std::fs::read(&b).unwrap(), b"GET - ");
}

#[test]
fn sequential_urls_reuse_one_connection() {
    let srv = Server::start(keep_alive_responder(b"x".to_vec()));
    let o = curlew(&["-s", &srv.url("/1"), &srv.url("/2"), &srv.url("/3")]);
    assert_eq!(text(&o.stdout), "xxx");
    assert_eq!(srv.accepted(), 1);
}

#[test]
fn https_with_cacert_and_insecure() {
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        keep_alive_responder(b"secure".to_vec()),
    );
    let ca = ca_path();
    let o = curlew(&["-s", "--cacert", ca.to_str().unwrap(), &srv.url("/")]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "secure");
    let o = curlew(&["-s", "-k", &srv.url("/")]);
    assert_eq!(code(&o), 0);
    // 60: the test CA is not in the system store.
    let o = curlew(&["-sS", &srv.url("/")]);
    assert_eq!(code(&o), 60, "{}", text(&o.stderr));
}

#[test]
fn exit_1_3_6_7() {
    assert_eq!(code(&curlew(&["-s", "gopher://127.0.0.1/"])), 1);
    assert_eq!(code(&curlew(&["-s", "http://"])), 3);
    assert_eq!(code(&curlew(&["-s", "http://nonexistent.invalid/"])), 6);
    let addr = support::refused_addr();
    assert_eq!(code(&curlew(&["-s", &format!("http://{addr}/")])), 7);
    // The message says where and after how long, as curl's does.
    let o = curlew(&["-sS", &format!("http://{addr}/")]);
    let err = text(&o.stderr);
    let want = format!(
        "curlew: (7) could not connect: failed to connect to 127.0.0.1 port {} after ",
        addr.port()
    );
    assert!(err.starts_with(&want), "{err:?}");
    assert!(err.contains(" ms: "), "{err:?}");
}

#[test]
fn exit_28_max_time_and_connect_timeout_accepts_fractions() {
    let srv = silent_server();
    let o = curlew(&[
        "-sS",
        "--connect-timeout",
        "2.5",
        "-m",
        "0.3",
        &srv.url("/"),
    ]);
    assert_eq!(code(&o), 28, "{}", text(&o.stderr));
}

#[test]
fn zero_timeouts_mean_no_limit_and_the_default() {
    // curl: -m 0 is no limit, --connect-timeout 0 the default (300 s); huge values are no limit.
    let srv = app();
    for args in [
        &["-sS", "-m", "0", "--connect-timeout", "0"][..],
        &["-sS", "-m", "1e30", "--connect-timeout", "1e30"][..],
    ] {
        let mut a = args.to_vec();
        let url = srv.url("/hello");
        a.push(&url);
        let o = curlew(&a);
        assert_eq!(code(&o), 0, "{args:?}: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "hello world", "{args:?}");
    }
}

#[test]
fn exit_35_tls_handshake() {
    let plain = Server::start(|c: &mut Conn| {
        use std::io::Read;
        let _ = c.read(&mut [0u8; 1]);
        let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let url = plain.url("/").replace("http:", "https:");
    assert_eq!(code(&curlew(&["-s", "-k", &url])), 35);
}

#[test]
fn exit_52_got_nothing_and_56_recv_error() {
    let srv = raw_server(Vec::new());
    assert_eq!(code(&curlew(&["-s", &srv.url("/")])), 52);
    let reset = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial");
            c.close_abruptly();
        }
    });
    let rc = code(&curlew(&["-s", &reset.url("/")]));
    // A reset reads as a receive error (56); a clean close mid-body as a partial file (18).
    assert!(rc == 56 || rc == 18, "{rc}");
}

/// A fresh empty directory in the system's temporary directory, removed with its contents
/// when the test is done with it (also when it fails).
fn tempdir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("curlew-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// See [`tempdir`].
struct TempDir(std::path::PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
