//! Ranges and resume (`CURLOPT_RANGE`, `CURLOPT_RESUME_FROM_LARGE`; the tool's `-r` and
//! `-C -`): what the server was asked, what reached the write callback and the file, byte
//! for byte; a server that ignores ranges fails a resume with curl's 33.

mod support;

use curlew::ErrorKind;
use support::client::{rec_easy, run_one};
use support::http_server::{routes, Response, Server};

const LEN: usize = 100_000;

fn doc() -> Vec<u8> {
    (0..LEN).map(|i| (i * 7 % 251) as u8).collect()
}

/// Serves `doc()`, honouring a single `bytes=A-B`, `A-` or `-N` range with a 206.
fn ranged() -> Server {
    Server::start(routes(|req| {
        let d = doc();
        let Some(spec) = req.header("range").and_then(|r| r.strip_prefix("bytes=")) else {
            return Response::ok(d);
        };
        let (a, b) = spec.split_once('-').unwrap();
        let (start, end) = match (a.parse::<usize>(), b.parse::<usize>()) {
            (Ok(a), Ok(b)) => (a, b.min(LEN - 1)),
            (Ok(a), Err(_)) => (a, LEN - 1),
            (Err(_), Ok(n)) => (LEN - n, LEN - 1),
            _ => return Response::new(400),
        };
        if start >= LEN {
            return Response::new(416).header("Content-Range", &format!("bytes */{LEN}"));
        }
        Response::new(206)
            .header("Content-Range", &format!("bytes {start}-{end}/{LEN}"))
            .body(d[start..=end].to_vec())
    }))
}

/// Serves `doc()` whole, whatever the request asks.
fn whole() -> Server {
    Server::start(routes(|_| Response::ok(doc())))
}

#[test]
fn a_range_and_a_resume_ask_for_bytes_and_get_them() {
    let srv = ranged();
    let mut e = rec_easy(&srv.url("/doc"));
    e.range(Some("100-199")).unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.easy.info().response_code, 206);
    assert_eq!(f.body(), &doc()[100..200]);
    assert_eq!(
        srv.last_request().unwrap().header("range"),
        Some("bytes=100-199")
    );
    let mut e = rec_easy(&srv.url("/doc"));
    e.resume_from(60_000);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), &doc()[60_000..]);
    assert_eq!(
        srv.last_request().unwrap().header("range"),
        Some("bytes=60000-")
    );
    // A range the server ignores is not an error: the whole document comes.
    let w = whole();
    let mut e = rec_easy(&w.url("/doc"));
    e.range(Some("0-9")).unwrap();
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body().len(), LEN);
    assert!(rec_easy("http://h/").range(Some("1-2; x")).is_err());
}

#[test]
fn a_resume_the_server_ignores_is_33_unless_the_document_is_complete() {
    let w = whole();
    let mut e = rec_easy(&w.url("/doc"));
    e.resume_from(500);
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::RangeError));
    assert_eq!(ErrorKind::RangeError.curl_code(), 33);
    assert!(
        f.body().is_empty(),
        "nothing of the whole document is written"
    );
    let mut e = rec_easy(&w.url("/doc"));
    e.resume_from(LEN as u64);
    let f = run_one(e);
    f.unwrap();
    assert!(f.body().is_empty(), "already complete: nothing written");
}

fn tool(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_tool_resumes_a_partial_file_byte_for_byte() {
    let srv = ranged();
    let dir = std::env::temp_dir().join(format!("curlew-ranges-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.bin");
    std::fs::write(&file, &doc()[..30_000]).unwrap();
    let path = file.to_str().unwrap();
    let o = tool(&["-s", "-C", "-", "-o", path, &srv.url("/doc")]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), doc(), "the file is whole");
    assert_eq!(
        srv.last_request().unwrap().header("range"),
        Some("bytes=30000-")
    );
    // -r to stdout.
    let o = tool(&["-s", "-r", "-10", &srv.url("/doc")]);
    assert_eq!(o.stdout, &doc()[LEN - 10..]);
    // A server that ignores ranges: 33, and the partial file is left as it was.
    let w = whole();
    std::fs::write(&file, &doc()[..30_000]).unwrap();
    let o = tool(&["-s", "-C", "-", "-o", path, &w.url("/doc")]);
    assert_eq!(o.status.code(), Some(33));
    assert_eq!(std::fs::read(&file).unwrap(), &doc()[..30_000]);
    let _ = std::fs::remove_dir_all(&dir);
}
