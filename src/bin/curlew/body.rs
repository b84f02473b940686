//! What an HTTP request sends, from curl's flags: `-d`, `--data-binary`, `--data-urlencode`
//! (joined with `&`), `--json` (concatenated, with JSON types), `-G` (the data into the URL's
//! query instead), `-T` (a file, streamed).

use std::io::{self, Read};
use std::path::Path;

use crate::{Args, Fail};

/// The request body the flags give.
pub struct Body {
    pub bytes: Vec<u8>,
    /// From `--json`: `Content-Type` and `Accept` are JSON.
    pub json: bool,
}

/// `@file` (or `@-` for stdin) read whole; anything else as is.
fn load(d: &str) -> Result<Vec<u8>, Fail> {
    match d.strip_prefix('@') {
        Some("-") => {
            let mut v = Vec::new();
            io::stdin()
                .read_to_end(&mut v)
                .map_err(|e| Fail::new(26, format!("reading stdin: {e}")))?;
            Ok(v)
        }
        Some(path) => {
            std::fs::read(path).map_err(|e| Fail::new(26, format!("reading {path}: {e}")))
        }
        None => Ok(d.as_bytes().to_vec()),
    }
}

/// Percent-encoding as `curl_easy_escape` does it: all but `A-Z a-z 0-9 - . _ ~`.
pub fn urlencode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    for &b in data {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One `--data-urlencode` item: `content`, `=content`, `name=content`, `@file`,
/// `name@file`.
fn urlencoded(item: &str) -> Result<Vec<u8>, Fail> {
    let at = item.find('@');
    let eq = item.find('=');
    let (name, content) = match (eq, at) {
        (Some(e), _) if at.is_none_or(|a| e < a) => (&item[..e], item.as_bytes()[e + 1..].to_vec()),
        (_, Some(a)) => (&item[..a], load(&item[a..])?),
        _ => ("", item.as_bytes().to_vec()),
    };
    let enc = urlencode(&content);
    Ok(match name {
        "" => enc.into_bytes(),
        n => format!("{n}={enc}").into_bytes(),
    })
}

/// The body of `-d`, `--data-binary`, `--data-urlencode` (joined with `&`) or `--json`.
pub fn request_body(args: &Args) -> Result<Option<Body>, Fail> {
    if !args.json.is_empty() {
        let mut bytes = Vec::new();
        for j in &args.json {
            bytes.extend_from_slice(&load(j)?);
        }
        return Ok(Some(Body { bytes, json: true }));
    }
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for d in &args.data {
        let mut bytes = load(d)?;
        if d.starts_with('@') {
            bytes.retain(|&b| b != b'\n' && b != b'\r');
        }
        parts.push(bytes);
    }
    for d in &args.data_binary {
        parts.push(load(d)?);
    }
    for d in &args.data_urlencode {
        parts.push(urlencoded(d)?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(Body {
        bytes: parts.join(&b'&'),
        json: false,
    }))
}

/// `-G`: `url` with the data as (more of) its query.
pub fn with_query(url: &str, data: &[u8]) -> String {
    let (base, frag) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}{}", String::from_utf8_lossy(data));
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// `-T FILE URL`: a URL ending in `/` (or with no path) gets the file's name appended, as
/// curl does.
pub fn upload_url(url: &str, file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    match after_scheme.find('/') {
        None => format!("{url}/{}", urlencode(name.as_bytes())),
        Some(_) if url.ends_with('/') => format!("{url}{}", urlencode(name.as_bytes())),
        Some(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencode_items_like_curl() {
        assert_eq!(urlencode(b"a b&c=d~"), "a%20b%26c%3Dd~");
        assert_eq!(urlencoded("hello world").unwrap(), b"hello%20world");
        assert_eq!(urlencoded("=a=b").unwrap(), b"a%3Db");
        assert_eq!(urlencoded("name=a b").unwrap(), b"name=a%20b");
        assert_eq!(with_query("http://h/p", b"a=1"), "http://h/p?a=1");
        assert_eq!(
            with_query("http://h/p?x=0#f", b"a=1"),
            "http://h/p?x=0&a=1#f"
        );
        let f = Path::new("/tmp/up load.txt");
        assert_eq!(upload_url("http://h/dir/", f), "http://h/dir/up%20load.txt");
        assert_eq!(upload_url("http://h", f), "http://h/up%20load.txt");
        assert_eq!(upload_url("http://h/x.bin", f), "http://h/x.bin");
    }
}
