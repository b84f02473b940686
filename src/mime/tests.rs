use std::io::{self, Cursor, Read, Write};
use std::sync::Arc;

use super::*;

const B: &str = "------------------------abcdefghijklmnopqrstuv";

/// Read the whole body with buffers of `step` bytes.
fn encode_in(mime: &Mime, disposition: Disposition, step: usize) -> io::Result<Vec<u8>> {
    let mut r = MimeReader::with_disposition(Arc::new(mime.clone()), disposition);
    let mut out = Vec::new();
    let mut buf = vec![0u8; step];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            // The end stays the end.
            assert_eq!(r.read(&mut buf)?, 0);
            return Ok(out);
        }
        assert!(n <= step);
        out.extend_from_slice(&buf[..n]);
    }
}

/// The body at every buffer size from 1 to past its length: always the same bytes, as long
/// as `size()` says when it knows.
fn encode(mime: &Mime) -> Vec<u8> {
    let whole = encode_in(mime, Disposition::FormData, 1 << 16).unwrap();
    for step in 1..whole.len() + 3 {
        let body = encode_in(mime, Disposition::FormData, step).unwrap();
        assert_eq!(body, whole, "buffers of {step} bytes");
    }
    if let Some(size) = mime.size() {
        assert_eq!(size, whole.len() as u64);
    }
    whole
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

#[test]
fn memory_parts_as_curl_sends_them() {
    let mut m = Mime::with_boundary(B.into());
    m.part("a").data("va").content_type("text/foo").unwrap();
    m.part("f").data("g;h");
    m.part("j").data("y").filename(Some("a.txt"));
    m.part("k").data("").filename(Some("x.bin"));
    let want = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/foo\r\n\r\nva\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\ng;h\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"j\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\ny\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"k\"; filename=\"x.bin\"\r\n\r\n\
         \r\n--{B}--\r\n"
    );
    assert_eq!(text(&encode(&m)), want);
}

#[test]
fn no_parts_is_the_closing_boundary() {
    let m = Mime::with_boundary(B.into());
    assert_eq!(text(&encode(&m)), format!("--{B}--\r\n"));
}

#[test]
fn names_and_filenames_escaped_as_curl() {
    let mut m = Mime::with_boundary(B.into());
    m.part("a\"b\r\nc\\").data("1").filename(Some("q\"x;y.bin"));
    m.part("").data("2");
    let want = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"a%22b%0D%0Ac\\\"; \
         filename=\"q%22x;y.bin\"\r\n\r\n1\
         \r\n--{B}\r\nContent-Disposition: form-data\r\n\r\n2\r\n--{B}--\r\n"
    );
    assert_eq!(text(&encode(&m)), want);
}

#[test]
fn headers_of_a_part() {
    let mut m = Mime::with_boundary(B.into());
    m.part("h")
        .data("x")
        .header("X-A", "1")
        .unwrap()
        .header("content-type", "image/png")
        .unwrap();
    m.part("d")
        .data("y")
        .header("Content-Disposition", "form-data; name=\"other\"")
        .unwrap();
    let want = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"h\"\r\nContent-Type: image/png\r\n\
         X-A: 1\r\n\r\nx\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\ny\r\n--{B}--\r\n"
    );
    assert_eq!(text(&encode(&m)), want);
    let mut m = Mime::with_boundary(B.into());
    assert!(m.part("x").header("X:", "1").is_err());
    assert!(m.part("x").header("X", "a\r\nb").is_err());
    assert!(m.part("x").content_type("a\nb").is_err());
}

#[test]
fn types_guessed_as_curl() {
    let dir = std::env::temp_dir().join(format!("curlew-mime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| {
        let p = dir.join(name);
        std::fs::write(&p, b"z").unwrap();
        p
    };
    let mut m = Mime::with_boundary(B.into());
    m.part("t").file(file("t.txt"));
    m.part("b").file(file("t.bin"));
    m.part("h").file(file("p.HTML")).filename(None);
    m.part("e").file(file("e.txt")).filename(None);
    m.part("c").file(file("c.bin")).filename(Some("c.png"));
    m.part("n").file(file("n.bin")).filename(None);
    let want = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"t\"; filename=\"t.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nz\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"b\"; filename=\"t.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\nz\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"h\"\r\nContent-Type: text/html\r\n\r\nz\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\nz\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"c\"; filename=\"c.png\"\r\n\
         Content-Type: image/png\r\n\r\nz\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nz\r\n--{B}--\r\n"
    );
    assert_eq!(text(&encode(&m)), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn attachment_disposition_for_other_multipart_types() {
    let mut m = Mime::with_boundary(B.into());
    m.part("a").data("1");
    m.part("").data("2");
    let body = encode_in(&m, Disposition::Attachment, 3).unwrap();
    let want = format!(
        "--{B}\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\n1\
         \r\n--{B}\r\n\r\n2\r\n--{B}--\r\n"
    );
    assert_eq!(text(&body), want);
    assert_eq!(
        m.encoded_size(Disposition::Attachment),
        Some(want.len() as u64)
    );
    assert_eq!(
        Disposition::for_type("Multipart/Form-Data; x=y"),
        Disposition::FormData
    );
    assert_eq!(
        Disposition::for_type("multipart/mixed"),
        Disposition::Attachment
    );
}

/// A file's content, streamed: every byte, at every split of a body with framing on both
/// sides, and the size known from the metadata.
#[test]
fn file_content_streamed() {
    let path = std::env::temp_dir().join(format!("curlew-mime-file-{}", std::process::id()));
    let content: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::File::create(&path)
        .unwrap()
        .write_all(&content)
        .unwrap();
    let mut m = Mime::with_boundary(B.into());
    m.part("before").data("x");
    m.part("f").file(&path);
    m.part("after").data("y");
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut want = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"before\"\r\n\r\nx\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    want.extend_from_slice(&content);
    want.extend_from_slice(
        format!(
            "\r\n--{B}\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\ny\r\n--{B}--\r\n"
        )
        .as_bytes(),
    );
    for step in [1, 2, 7, 100, 4096, 5001, 1 << 20] {
        assert_eq!(
            encode_in(&m, Disposition::FormData, step).unwrap(),
            want,
            "{step}"
        );
    }
    assert_eq!(m.size(), Some(want.len() as u64));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let mut m = Mime::with_boundary(B.into());
    m.part("f").file("/nonexistent/curlew-mime");
    assert_eq!(m.size(), None);
    let e = encode_in(&m, Disposition::FormData, 64).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    assert!(e.to_string().contains("/nonexistent/curlew-mime"), "{e}");
}

fn cursor(data: &'static [u8]) -> impl Fn() -> io::Result<Box<dyn Read + Send>> {
    move || Ok(Box::new(Cursor::new(data)) as Box<dyn Read + Send>)
}

#[test]
fn readers_of_known_and_unknown_size() {
    let mut m = Mime::with_boundary(B.into());
    m.part("u").reader(None, cursor(b"unknown"));
    m.part("k").reader(Some(3), cursor(b"known+more"));
    assert_eq!(m.size(), None);
    let want = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"u\"\r\n\r\nunknown\
         \r\n--{B}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nkno\r\n--{B}--\r\n"
    );
    assert_eq!(text(&encode(&m)), want);
}

#[test]
fn short_reader_is_an_error() {
    let mut m = Mime::with_boundary(B.into());
    m.part("k").reader(Some(10), cursor(b"short"));
    assert!(m.size().is_some());
    let e = encode_in(&m, Disposition::FormData, 4).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    assert!(e.to_string().contains("5 of 10"), "{e}");
    let mut m = Mime::with_boundary(B.into());
    m.part("k")
        .reader(None, || Err(io::Error::other("no such source")));
    let e = encode_in(&m, Disposition::FormData, 4).unwrap_err();
    assert!(e.to_string().contains("no such source"), "{e}");
}

#[test]
fn boundaries_are_random_alphanumerics() {
    let a = Mime::new().unwrap();
    let b = Mime::new().unwrap();
    assert_ne!(a.boundary(), b.boundary());
    for m in [&a, &b] {
        let (dashes, rest) = m.boundary().split_at(BOUNDARY_DASHES);
        assert!(dashes.bytes().all(|c| c == b'-'));
        assert_eq!(rest.len(), BOUNDARY_RANDOM);
        assert!(rest.bytes().all(|c| c.is_ascii_alphanumeric()), "{rest}");
    }
    assert_eq!(
        a.content_type(),
        format!("multipart/form-data; boundary={}", a.boundary())
    );
}
