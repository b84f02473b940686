//! A multipart/form-data body (RFC 7578), built like libcurl's `curl_mime`: parts from memory,
//! from files and from readers, each with a name, a filename, a content type and headers of its
//! own. [`Easy::mime_post`](crate::Easy::mime_post) sends it (`CURLOPT_MIMEPOST`).
//!
//! ```
//! use curlew::mime::Mime;
//!
//! let mut form = Mime::new()?;
//! form.part("comment").data("looks good");
//! form.part("upload").file("Cargo.toml"); // filename "Cargo.toml", streamed
//! form.part("log").reader(None, || Ok(Box::new(std::io::empty()) as _));
//! let mut easy = curlew::Easy::new("http://127.0.0.1/upload")?;
//! easy.mime_post(form);
//! # Ok::<(), curlew::Error>(())
//! ```
//!
//! The body is made as it is sent, in pieces the size of the caller's buffer ([`MimeReader`]):
//! a file or a reader is never read whole. Every part's size known (memory, a regular file, a
//! reader given a size) makes the body's size known ([`Mime::size`]): it goes with
//! `Content-Length`; otherwise chunked on HTTP/1.1. A redirect that keeps the body (307, 308)
//! or a retry with credentials sends it again from the start: files are opened again and
//! readers made again by their factory, as curl rewinds them.
//!
//! What goes on the wire is curl's (8.x) form, byte for byte apart from the random boundary:
//! each part starts with `--BOUNDARY`, its `Content-Disposition: form-data; name="..."` (with
//! `; filename="..."` when it has one), a `Content-Type` when one is set or guessed (see
//! [`MimePart::content_type`]), its own headers, an empty line and its content; the body ends
//! with `--BOUNDARY--`. In names and filenames `"`, CR and LF are sent as `%22`, `%0D` and
//! `%0A` (curl 7.81 and later, as browsers do); nothing else is escaped. curl's transfer
//! encoders (`curl_mime_encoder`) and nested multiparts (`curl_mime_subparts`) are not built.

mod encode;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::rng::SecureRng;

pub use encode::MimeReader;

/// Dashes a boundary starts with (curl's `MIME_BOUNDARY_DASHES`).
pub const BOUNDARY_DASHES: usize = 24;
/// Random letters and digits after the dashes (curl's `MIME_RAND_BOUNDARY_CHARS`): 62^22,
/// about 2^131 boundaries, none of which a part's content can be expected to hold.
pub const BOUNDARY_RANDOM: usize = 22;
/// The type of a file part whose filename says nothing (curl's `FILE_CONTENTTYPE_DEFAULT`).
pub const FILE_CONTENT_TYPE: &str = "application/octet-stream";

/// Makes the reader of a part's content, once per send of the body (see [`MimePart::reader`]).
pub type ReaderFactory = Arc<dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// A multipart body: its boundary and its parts, in order (`curl_mime`).
#[derive(Clone, Debug)]
pub struct Mime {
    boundary: String,
    parts: Vec<MimePart>,
}

impl Mime {
    /// An empty form with a fresh boundary: 24 dashes and 22 random letters and digits from a
    /// [`SecureRng`] (`curl_mime_init`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Internal`] (`CURLE_FAILED_INIT`) when the operating system gives no random
    /// bytes.
    pub fn new() -> Result<Mime> {
        let mut rng = SecureRng::new().map_err(|e| {
            Error::new(ErrorKind::Internal, "no random bytes for a MIME boundary").with_source(e)
        })?;
        Ok(Mime::with_boundary(random_boundary(&mut rng)))
    }

    /// A form with this boundary (tests compare exact bytes).
    pub(crate) fn with_boundary(boundary: String) -> Mime {
        Mime {
            boundary,
            parts: Vec::new(),
        }
    }

    /// A new part named `name`, added after the others (`curl_mime_addpart` +
    /// `curl_mime_name`); an empty name sends none. Set its content and more on the part.
    pub fn part(&mut self, name: &str) -> &mut MimePart {
        self.parts.push(MimePart {
            name: (!name.is_empty()).then(|| name.to_owned()),
            ..MimePart::default()
        });
        let last = self.parts.len() - 1;
        &mut self.parts[last]
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[MimePart] {
        &self.parts
    }

    /// The boundary between the parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` value of the body as a form:
    /// `multipart/form-data; boundary=...`.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// The length of the encoded body as a form, when every part's size is known; `None`
    /// when a part is a reader of unknown size or a file that is not a regular file (or whose
    /// size could not be read).
    pub fn size(&self) -> Option<u64> {
        self.encoded_size(Disposition::FormData)
    }

    /// The encoded length with this disposition (see [`Disposition`]).
    pub(crate) fn encoded_size(&self, disposition: Disposition) -> Option<u64> {
        let mut total = encode::closing(self).len() as u64;
        let mut head = Vec::new();
        for (i, part) in self.parts.iter().enumerate() {
            head.clear();
            encode::part_head(self, i, disposition, &mut head);
            total += head.len() as u64 + part.size()?;
        }
        Some(total)
    }
}

/// A boundary: [`BOUNDARY_DASHES`] dashes and [`BOUNDARY_RANDOM`] letters and digits.
fn random_boundary(rng: &mut SecureRng) -> String {
    const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut s = "-".repeat(BOUNDARY_DASHES);
    let mut byte = [0u8; 1];
    while s.len() < BOUNDARY_DASHES + BOUNDARY_RANDOM {
        rng.fill(&mut byte);
        // 248 = 4 * 62: the bytes above would favour the first letters.
        if byte[0] < 248 {
            s.push(ALNUM[usize::from(byte[0]) % 62] as char);
        }
    }
    s
}

/// The disposition of the parts: `form-data` in a `multipart/form-data` body, `attachment`
/// in any other multipart type the caller's `Content-Type` header names (as curl).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Disposition {
    FormData,
    Attachment,
}

impl Disposition {
    /// The disposition for a body sent as `content_type`.
    pub(crate) fn for_type(content_type: &str) -> Disposition {
        let form = "multipart/form-data";
        match content_type.get(..form.len()) {
            Some(t) if t.eq_ignore_ascii_case(form) => Disposition::FormData,
            _ => Disposition::Attachment,
        }
    }
}

/// Where a part's content comes from.
#[derive(Clone, Default)]
enum Content {
    /// No content set: an empty part.
    #[default]
    Empty,
    Data(Bytes),
    /// A file, opened when its part is sent; `size` from its metadata when it is a regular
    /// file.
    File {
        path: PathBuf,
        size: Option<u64>,
    },
    Reader {
        size: Option<u64>,
        open: ReaderFactory,
    },
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Content::Empty => f.write_str("Empty"),
            Content::Data(b) => write!(f, "Data({} bytes)", b.len()),
            Content::File { path, size } => write!(f, "File({}, {size:?})", path.display()),
            Content::Reader { size, .. } => write!(f, "Reader({size:?})"),
        }
    }
}

/// One part of a [`Mime`] (`curl_mimepart`), from [`Mime::part`].
#[derive(Clone, Debug, Default)]
pub struct MimePart {
    name: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    content: Content,
}

impl MimePart {
    /// The content is these bytes (`curl_mime_data`).
    pub fn data(&mut self, data: impl Into<Bytes>) -> &mut Self {
        self.content = Content::Data(data.into());
        self
    }

    /// The content is the file at `path`, read in pieces as the body is sent and never whole
    /// (`curl_mime_filedata`). The filename becomes the path's last component, as in curl
    /// (change it with [`filename`](Self::filename)). The size is the file's when it is a
    /// regular file. A file that cannot be opened or read when its part is sent, or that is
    /// shorter by then than its size now, fails the transfer with [`ErrorKind::ReadError`]
    /// (`CURLE_READ_ERROR`, 26) naming the path; bytes past that size are not sent.
    pub fn file(&mut self, path: impl AsRef<Path>) -> &mut Self {
        let path = path.as_ref();
        let size = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        self.filename = path.file_name().map(|n| n.to_string_lossy().into_owned());
        self.content = Content::File {
            path: path.to_owned(),
            size,
        };
        self
    }

    /// The content comes from a reader that `open` makes each time the body is sent: once,
    /// and again for a redirect that keeps the body or a retry (`curl_mime_data_cb` with its
    /// seek callback). With `Some(size)` exactly that many bytes are sent (a reader that ends
    /// sooner fails the transfer with [`ErrorKind::ReadError`]; the rest of a longer one is
    /// not read); with `None` the reader is read to its end and the body goes chunked. The
    /// reader may block (it runs in the multi's thread, like a read callback) but must not
    /// return `WouldBlock`; its errors fail the transfer with [`ErrorKind::ReadError`].
    pub fn reader<F>(&mut self, size: Option<u64>, open: F) -> &mut Self
    where
        F: Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync + 'static,
    {
        self.content = Content::Reader {
            size,
            open: Arc::new(open),
        };
        self
    }

    /// The filename sent in the part's `Content-Disposition`; `None` sends none
    /// (`curl_mime_filename`). [`file`](Self::file) sets it to the file's name.
    pub fn filename(&mut self, filename: Option<&str>) -> &mut Self {
        self.filename = filename.map(str::to_owned);
        self
    }

    /// The part's `Content-Type` (`curl_mime_type`). Without one, as in curl: a file part
    /// gets the type its filename's (or else its path's) extension names in curl's short
    /// table (`.gif .jpg .jpeg .png .svg .txt .htm .html .pdf .xml`), or
    /// [`FILE_CONTENT_TYPE`] when it has a filename; another part with a filename gets the
    /// type of that filename's extension; `text/plain` is not sent for a part without a
    /// filename; the rest get none.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::BadFunctionArgument`] for a type with CR, LF or NUL in it.
    pub fn content_type(&mut self, content_type: &str) -> Result<&mut Self> {
        check_value("content type", content_type)?;
        self.content_type = Some(content_type.to_owned());
        Ok(self)
    }

    /// Add a header to the part (`curl_mime_headers`), after the ones curlew writes. A
    /// `Content-Type` header sets the type (as [`content_type`](Self::content_type) does,
    /// which wins); a `Content-Disposition` header replaces curlew's.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::BadFunctionArgument`] for an empty name, a name with a control
    /// character, space or colon, or a value with CR, LF or NUL.
    pub fn header(&mut self, name: &str, value: &str) -> Result<&mut Self> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(Error::new(
                ErrorKind::BadFunctionArgument,
                format!("bad part header name {name:?}"),
            ));
        }
        check_value("part header", value)?;
        self.headers.push((name.to_owned(), value.to_owned()));
        Ok(self)
    }

    /// The part's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The content's size, when known.
    pub fn size(&self) -> Option<u64> {
        match &self.content {
            Content::Empty => Some(0),
            Content::Data(b) => Some(b.len() as u64),
            Content::File { size, .. } | Content::Reader { size, .. } => *size,
        }
    }

    /// The last of the part's own headers called `name`.
    fn own_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Content-Type` the part is sent with (see [`content_type`](Self::content_type)).
    fn effective_type(&self) -> Option<&str> {
        if let Some(t) = self.content_type.as_deref() {
            return Some(t);
        }
        if let Some(t) = self.own_header("content-type") {
            return Some(t);
        }
        let from_filename = self.filename.as_deref().and_then(guess_type);
        let guessed = match &self.content {
            Content::File { path, .. } => from_filename
                .or_else(|| path.to_str().and_then(guess_type))
                .or(self.filename.as_ref().map(|_| FILE_CONTENT_TYPE)),
            _ => from_filename,
        };
        guessed.filter(|t| *t != "text/plain" || self.filename.is_some())
    }
}

/// A header value (or type) for a part: no CR, LF or NUL.
fn check_value(what: &str, value: &str) -> Result<()> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(Error::new(
            ErrorKind::BadFunctionArgument,
            format!("bad {what} {value:?}"),
        ));
    }
    Ok(())
}

/// The type curl's `Curl_mime_contenttype` gives a file name, by its extension.
fn guess_type(name: &str) -> Option<&'static str> {
    const TYPES: [(&str, &str); 10] = [
        (".gif", "image/gif"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".svg", "image/svg+xml"),
        (".txt", "text/plain"),
        (".htm", "text/html"),
        (".html", "text/html"),
        (".pdf", "application/pdf"),
        (".xml", "application/xml"),
    ];
    TYPES.iter().find_map(|(ext, ty)| {
        let tail = name
            .len()
            .checked_sub(ext.len())
            .and_then(|i| name.get(i..))?;
        tail.eq_ignore_ascii_case(ext).then_some(*ty)
    })
}

#[cfg(test)]
mod tests;
