//! Multipart forms (`curlew::mime`, `Easy::mime_post`, the tool's `-F`) against a real
//! multipart parser: the hypercorn fixture's `/multipart` route parses each body with
//! python-multipart as it arrives and answers what it found, part by part (name, filename,
//! type, length, SHA-256 of the content, headers). Over HTTP/1.1 (the h2c port takes it
//! too) and HTTP/2. Without the fixture's venv the tests skip, unless
//! `CURLEW_REQUIRE_INTEROP=1`.

mod support;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use curlew::mime::Mime;
use curlew::{ErrorKind, HttpVersionOption};
use sha2::{Digest, Sha256};
use support::client::{rec_easy, run_one, Finished};
use support::h2_servers::{interop_dir, pattern, unavailable, H2Fixture, Hypercorn};
use support::tls::ca_path;

/// The hypercorn fixture, when its venv has python-multipart too (else SKIPPED, or a panic
/// under `CURLEW_REQUIRE_INTEROP=1`).
fn server() -> Option<Hypercorn> {
    let python = interop_dir().join("venv/bin/python");
    let has_parser = Command::new(&python)
        .args(["-c", "import python_multipart"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_parser {
        let why = format!("no Python `python_multipart` in {}", python.display());
        return unavailable("python-multipart (the form parser of /multipart)", &why);
    }
    Hypercorn::start()
}

/// A file with `content` in a directory of its own, removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(name: &str, content: &[u8]) -> TempFile {
        let dir = std::env::temp_dir().join(format!(
            "curlew-forms-{}-{}",
            std::process::id(),
            name.replace(['/', '"'], "_")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content)
            .unwrap();
        TempFile { path }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A string as Python's `json.dumps` writes it (the ASCII the tests use), or `null`.
fn json(s: Option<&str>) -> String {
    let Some(s) = s else {
        return "null".into();
    };
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The report line of a part as the server's parser saw it.
fn part_line(name: &str, filename: Option<&str>, ty: Option<&str>, content: &[u8]) -> String {
    format!(
        "part: name={} filename={} type={} length={} sha256={}",
        json(Some(name)),
        json(filename),
        json(ty),
        content.len(),
        sha256(content)
    )
}

/// The server's report: its `key: value` lines.
struct Report(String);

impl Report {
    fn of(f: &Finished) -> Report {
        assert!(f.result.is_ok(), "{:?}", f.result);
        let text = String::from_utf8_lossy(f.body()).into_owned();
        assert_eq!(f.easy.info().response_code, 200, "{text}");
        Report(text)
    }

    /// The value of the first line `key: ...`.
    fn get(&self, key: &str) -> &str {
        let prefix = format!("{key}: ");
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key} in {}", self.0))
    }

    /// The `part:` lines, in order.
    fn parts(&self) -> Vec<&str> {
        self.0.lines().filter(|l| l.starts_with("part: ")).collect()
    }

    /// A well-formed form: the parser saw the closing boundary.
    fn complete(&self) -> &Self {
        assert_eq!(self.get("complete"), "true", "{}", self.0);
        self
    }
}

/// POST `form` to `/multipart` over HTTP/1.1 (the h2c port serves it too).
fn post_h1(s: &Hypercorn, form: Mime) -> Finished {
    let mut e = rec_easy(&s.h2c_url("/multipart"));
    e.http_version(HttpVersionOption::Http11).mime_post(form);
    run_one(e)
}

/// Text fields, a part with a filename and a type, an empty part: the exact content-type,
/// length and parts the parser reports.
#[test]
fn memory_parts_over_http1() {
    let Some(s) = server() else {
        return;
    };
    let mut form = Mime::new().unwrap();
    form.part("greeting").data("hello world");
    form.part("notes")
        .data("line one\r\nline two\n")
        .filename(Some("notes.txt"));
    form.part("raw")
        .data(vec![0u8, 255, 13, 10, 45, 45])
        .content_type("application/x-raw")
        .unwrap()
        .header("X-Extra", "yes")
        .unwrap();
    form.part("empty");
    let ty = form.content_type();
    let size = form.size().expect("all in memory");
    let f = post_h1(&s, form);
    let r = Report::of(&f);
    r.complete();
    assert_eq!(r.get("method"), "POST");
    assert_eq!(r.get("content-type"), json(Some(&ty)));
    assert_eq!(r.get("content-length"), json(Some(&size.to_string())));
    assert_eq!(r.get("transfer-encoding"), "null");
    assert_eq!(r.get("expect"), "null", "small and of known size");
    assert_eq!(
        r.parts(),
        [
            part_line("greeting", None, None, b"hello world"),
            part_line(
                "notes",
                Some("notes.txt"),
                Some("text/plain"),
                b"line one\r\nline two\n"
            ),
            part_line(
                "raw",
                None,
                Some("application/x-raw"),
                &[0, 255, 13, 10, 45, 45]
            ),
            part_line("empty", None, None, b""),
        ]
    );
    assert!(r.0.contains(r#"  header: ["X-Extra", "yes"]"#), "{}", r.0);
    assert_eq!(f.easy.info().size_upload, size);
}

/// A file of a few MiB, streamed: byte for byte (by hash), with its base name and
/// `Content-Length` from its size; over 1 MiB, so `Expect: 100-continue` as for uploads.
#[test]
fn file_part_of_mebibytes() {
    let Some(s) = server() else {
        return;
    };
    let content = pattern(3 << 20 | 12345);
    let file = TempFile::new("big.bin", &content);
    let mut form = Mime::new().unwrap();
    form.part("title").data("a big one");
    form.part("upload").file(&file.path);
    let size = form.size().expect("a regular file's size");
    assert!(size > content.len() as u64);
    let f = post_h1(&s, form);
    let r = Report::of(&f);
    r.complete();
    assert_eq!(r.get("content-length"), json(Some(&size.to_string())));
    assert_eq!(r.get("expect"), json(Some("100-continue")));
    assert_eq!(
        r.parts(),
        [
            part_line("title", None, None, b"a big one"),
            part_line(
                "upload",
                Some("big.bin"),
                Some("application/octet-stream"),
                &content
            ),
        ]
    );
}

/// A reader that makes `len` pattern bytes, `piece` at a time (no size known in advance).
struct PatternReader {
    at: usize,
    len: usize,
    piece: usize,
}

impl Read for PatternReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.piece).min(self.len - self.at);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = (((self.at + i) * 7 + 3) % 251) as u8;
        }
        self.at += n;
        Ok(n)
    }
}

/// A reader part of unknown size: the body goes chunked, and arrives whole.
#[test]
fn reader_of_unknown_size_goes_chunked() {
    let Some(s) = server() else {
        return;
    };
    let len = 300 << 10;
    let mut form = Mime::new().unwrap();
    form.part("stream")
        .reader(None, move || {
            Ok(Box::new(PatternReader {
                at: 0,
                len,
                piece: 1000,
            }))
        })
        .filename(Some("stream.log"));
    assert_eq!(form.size(), None);
    let r = Report::of(&post_h1(&s, form));
    r.complete();
    assert_eq!(r.get("transfer-encoding"), json(Some("chunked")));
    assert_eq!(r.get("content-length"), "null");
    assert_eq!(
        r.parts(),
        [part_line("stream", Some("stream.log"), None, &pattern(len))]
    );
}

/// Quotes, CR and LF in names and filenames go as `%22`, `%0D`, `%0A` (curl's form
/// escaping, as browsers do): the parser reads the names whole, not cut at the quote.
#[test]
fn names_and_filenames_with_quotes() {
    let Some(s) = server() else {
        return;
    };
    let mut form = Mime::new().unwrap();
    form.part("say \"hi\"").data("1");
    form.part("f")
        .data("2")
        .filename(Some("a \"quoted\"\r\nname; x=y.png"));
    form.part("back\\slash").data("3");
    let r = Report::of(&post_h1(&s, form));
    r.complete();
    assert_eq!(
        r.parts(),
        [
            part_line("say %22hi%22", None, None, b"1"),
            part_line(
                "f",
                Some("a %22quoted%22%0D%0Aname; x=y.png"),
                Some("image/png"),
                b"2"
            ),
            part_line("back\\slash", None, None, b"3"),
        ]
    );
}

/// A 307 keeps the method and the body: the form is sent again from its start, the file
/// opened again and the reader made again by its factory (curl's rewind).
#[test]
fn redirect_307_sends_the_form_again() {
    let Some(s) = server() else {
        return;
    };
    let content = pattern(200 << 10);
    let file = TempFile::new("again.bin", &content);
    let made = Arc::new(AtomicUsize::new(0));
    let mut form = Mime::new().unwrap();
    form.part("file").file(&file.path);
    let counter = Arc::clone(&made);
    form.part("counted").reader(Some(5000), move || {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(PatternReader {
            at: 0,
            len: 5000,
            piece: 777,
        }))
    });
    let mut e = rec_easy(&s.h2c_url("/redirect307?to=/multipart"));
    e.http_version(HttpVersionOption::Http11)
        .follow_location(true)
        .mime_post(form);
    let f = run_one(e);
    let r = Report::of(&f);
    r.complete();
    assert_eq!(f.easy.info().redirect_count, 1);
    assert_eq!(made.load(Ordering::SeqCst), 2, "one reader per request");
    assert_eq!(r.get("method"), "POST");
    assert_eq!(
        r.parts(),
        [
            part_line(
                "file",
                Some("again.bin"),
                Some("application/octet-stream"),
                &content
            ),
            part_line("counted", None, None, &pattern(5000)),
        ]
    );
}

/// HTTP/2, over TLS (ALPN) and h2c: the form in DATA frames, of known and of unknown size.
#[test]
fn forms_over_http2() {
    let Some(s) = server() else {
        return;
    };
    let content = pattern(1 << 20);
    let file = TempFile::new("h2.bin", &content);
    for url in [s.tls_url("/multipart"), s.h2c_url("/multipart")] {
        for known in [true, false] {
            let mut form = Mime::new().unwrap();
            form.part("file").file(&file.path);
            form.part("tail").reader(known.then_some(70_000), move || {
                Ok(Box::new(PatternReader {
                    at: 0,
                    len: 70_000,
                    piece: 4096,
                }))
            });
            let size = form.size();
            let mut e = rec_easy(&url);
            e.ca_file(ca_path()).mime_post(form);
            if url.starts_with("http:") {
                e.http_version(HttpVersionOption::Http2PriorKnowledge);
            }
            let f = run_one(e);
            let r = Report::of(&f);
            r.complete();
            assert_eq!(
                f.easy.info().http_version,
                Some(curlew::HttpVersion::Http2),
                "{url}"
            );
            assert_eq!(r.get("transfer-encoding"), "null");
            if let Some(n) = size {
                assert_eq!(r.get("content-length"), json(Some(&n.to_string())));
            }
            assert_eq!(
                r.parts(),
                [
                    part_line(
                        "file",
                        Some("h2.bin"),
                        Some("application/octet-stream"),
                        &content
                    ),
                    part_line("tail", None, None, &pattern(70_000)),
                ],
                "{url} known={known}"
            );
        }
    }
}

/// The caller's `Content-Type` keeps its type and gets the boundary (curl); its parts are
/// `attachment`s then.
#[test]
fn caller_content_type_gets_the_boundary() {
    let Some(s) = server() else {
        return;
    };
    let mut form = Mime::new().unwrap();
    form.part("a").data("1");
    let boundary = form.boundary().to_owned();
    let mut e = rec_easy(&s.h2c_url("/multipart"));
    e.header("Content-Type", "multipart/mixed")
        .unwrap()
        .mime_post(form);
    let r = Report::of(&run_one(e));
    r.complete();
    assert_eq!(
        r.get("content-type"),
        json(Some(&format!("multipart/mixed; boundary={boundary}")))
    );
    assert_eq!(r.parts(), [part_line("a", None, None, b"1")]);
    assert!(
        r.0.contains(r#"["Content-Disposition", "attachment; name=\"a\""]"#),
        "{}",
        r.0
    );
}

/// A part's file that is not there fails the transfer with CURLE_READ_ERROR naming it.
#[test]
fn missing_file_is_a_read_error() {
    let Some(s) = server() else {
        return;
    };
    let missing = std::env::temp_dir().join("curlew-forms-no-such-file.bin");
    let mut form = Mime::new().unwrap();
    form.part("a").data("1");
    form.part("gone").file(&missing);
    let mut e = rec_easy(&s.h2c_url("/multipart"));
    e.timeout(Some(Duration::from_secs(20))).mime_post(form);
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::ReadError), "{:?}", f.result);
    let msg = f.result.unwrap_err().to_string();
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert_eq!(ErrorKind::ReadError.curl_code(), 26);
}

/// Run the tool with `args` and `stdin`.
fn curlew(args: &[&str], stdin: &[u8]) -> Output {
    support::tool::run_with_input(args, stdin)
}

fn tool_report(o: &Output) -> Report {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    Report(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// `-F`: text fields, `@file` with `;type=` and `;filename=`, `<file` as a text field,
/// `@-` from stdin, `--form-string` taken literally; all in one form.
#[test]
fn tool_form_fields() {
    let Some(s) = server() else {
        return;
    };
    let upload = TempFile::new("up.bin", &pattern(100_000));
    let text = TempFile::new("page.html", b"<p>hi</p>");
    let up = upload.path.display();
    let tx = text.path.display();
    let args = [
        "-sS".to_owned(),
        "-F".into(),
        "plain=some value".into(),
        "-F".into(),
        format!("file=@{up}"),
        "-F".into(),
        format!("typed=@{up};type=image/png;filename=\"re;named.png\""),
        "-F".into(),
        format!("content=<{tx}"),
        "-F".into(),
        "in=@-".into(),
        "--form-string".into(),
        "literal=@not;a=file".into(),
        s.h2c_url("/multipart"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = curlew(&args, b"from stdin");
    let r = tool_report(&o);
    r.complete();
    assert_eq!(r.get("method"), "POST");
    assert!(
        r.get("content-type")
            .starts_with("\"multipart/form-data; boundary=------------------------"),
        "{}",
        r.0
    );
    assert_eq!(
        r.parts(),
        [
            part_line("plain", None, None, b"some value"),
            part_line(
                "file",
                Some("up.bin"),
                Some("application/octet-stream"),
                &pattern(100_000)
            ),
            part_line(
                "typed",
                Some("re;named.png"),
                Some("image/png"),
                &pattern(100_000)
            ),
            part_line("content", None, Some("text/html"), b"<p>hi</p>"),
            part_line("in", Some("-"), None, b"from stdin"),
            part_line("literal", None, None, b"@not;a=file"),
        ]
    );
}

/// `-F` with `-d` asks for two methods: curl's usage error, exit 2, nothing sent.
#[test]
fn tool_form_with_data_is_an_error() {
    let o = curlew(&["-F", "a=1", "-d", "b=2", "http://127.0.0.1:9/never"], b"");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("You can only select one HTTP request method!"),
        "{err}"
    );
}

/// `-F name=@file` of a file that is not there: exit 26 naming it.
#[test]
fn tool_form_missing_file() {
    let Some(s) = server() else {
        return;
    };
    let missing = Path::new("/nonexistent/curlew-form.bin");
    let o = curlew(
        &[
            "-sS",
            "-F",
            &format!("f=@{}", missing.display()),
            &s.h2c_url("/multipart"),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(26));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/nonexistent/curlew-form.bin"), "{err}");
}
