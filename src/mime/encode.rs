//! The encoder: a [`Mime`] as bytes, written into the caller's buffer in pieces of the
//! buffer's size. The framing (boundaries, part heads) is made one part at a time; contents
//! are copied from memory or read from their file or reader straight into the caller's
//! buffer, so memory stays bounded whatever the body's size.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use super::{Content, Disposition, Mime};

/// Reads a [`Mime`] as its encoded body, from the start (`std::io::Read`).
///
/// Each [`read`](Read::read) fills as much of the buffer as it can: the next boundary and
/// part head, then the part's content, then the next. A file part is opened, and a reader
/// part's reader made, when the part is reached. `Ok(0)` means the body ended (for an empty
/// buffer, nothing). An error names the part's file or reader; the reader is not usable after.
pub struct MimeReader {
    mime: Arc<Mime>,
    disposition: Disposition,
    /// The part being sent: its head, then its content; `parts.len()`: the closing boundary.
    part: usize,
    stage: Stage,
    /// Framing bytes made and not all handed out yet, from `framing_pos` on.
    framing: Vec<u8>,
    framing_pos: usize,
    /// The current part's open file or reader.
    source: Option<Box<dyn Read + Send>>,
    /// Content bytes of the current part handed out.
    done: u64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// `framing` holds the part's boundary and head (or the closing boundary).
    Framing,
    Content,
    End,
}

impl fmt::Debug for MimeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MimeReader")
            .field("part", &self.part)
            .field("stage", &self.stage)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl MimeReader {
    /// A reader of `mime` encoded as a form (`multipart/form-data`).
    pub fn new(mime: Arc<Mime>) -> MimeReader {
        MimeReader::with_disposition(mime, Disposition::FormData)
    }

    /// A reader of `mime` with the parts' disposition for the body's type.
    pub(crate) fn with_disposition(mime: Arc<Mime>, disposition: Disposition) -> MimeReader {
        let mut r = MimeReader {
            mime,
            disposition,
            part: 0,
            stage: Stage::Framing,
            framing: Vec::new(),
            framing_pos: 0,
            source: None,
            done: 0,
        };
        r.make_framing();
        r
    }

    /// The head of the current part, or the closing boundary after the last.
    fn make_framing(&mut self) {
        self.framing.clear();
        self.framing_pos = 0;
        if self.part < self.mime.parts.len() {
            part_head(&self.mime, self.part, self.disposition, &mut self.framing);
        } else {
            self.framing.extend_from_slice(&closing(&self.mime));
        }
    }

    /// Copy framing bytes; at their end, on to the content (or the end).
    fn read_framing(&mut self, buf: &mut [u8]) -> usize {
        let rest = &self.framing[self.framing_pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.framing_pos += n;
        if self.framing_pos == self.framing.len() {
            self.stage = match self.part < self.mime.parts.len() {
                true => Stage::Content,
                false => Stage::End,
            };
            self.done = 0;
        }
        n
    }

    /// Content of the current part; at its end, on to the next part's framing.
    fn read_content(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mime = Arc::clone(&self.mime);
        let part = &mime.parts[self.part];
        let n = match &part.content {
            Content::Empty => 0,
            Content::Data(b) => {
                let rest = &b[self.done as usize..];
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                n
            }
            Content::File { path, size } => self
                .read_source(buf, *size, || open_file(path))
                .map_err(|e| with_context(e, &path.display().to_string()))?,
            Content::Reader { size, open } => self
                .read_source(buf, *size, || open())
                .map_err(|e| with_context(e, &format!("the reader of part {:?}", part.name)))?,
        };
        self.done += n as u64;
        if n == 0 {
            self.source = None;
            self.part += 1;
            self.stage = Stage::Framing;
            self.make_framing();
        }
        Ok(n)
    }

    /// Read from the part's file or reader (opened first if need be), at most what is left
    /// of a known size; a source that ends before its size is an error.
    fn read_source(
        &mut self,
        buf: &mut [u8],
        size: Option<u64>,
        open: impl FnOnce() -> io::Result<Box<dyn Read + Send>>,
    ) -> io::Result<usize> {
        let want = match size {
            Some(total) if total == self.done => return Ok(0),
            Some(total) => buf
                .len()
                .min(usize::try_from(total - self.done).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        if self.source.is_none() {
            self.source = Some(open()?);
        }
        let src = self.source.as_mut().expect("just opened");
        let n = loop {
            match src.read(&mut buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        if let (0, Some(total)) = (n, size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("ended after {} of {total} bytes", self.done),
            ));
        }
        Ok(n)
    }
}

impl Read for MimeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut out = 0;
        while out < buf.len() {
            let n = match self.stage {
                Stage::Framing => self.read_framing(&mut buf[out..]),
                Stage::Content => self.read_content(&mut buf[out..])?,
                Stage::End => break,
            };
            out += n;
        }
        Ok(out)
    }
}

fn open_file(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    Ok(Box::new(File::open(path)?))
}

/// The error with what it was reading in front.
fn with_context(e: io::Error, what: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The closing boundary: `--BOUNDARY--` and CRLF, after a CRLF that ends the last part.
pub(super) fn closing(mime: &Mime) -> Vec<u8> {
    let lead = if mime.parts.is_empty() { "" } else { "\r\n" };
    format!("{lead}--{}--\r\n", mime.boundary).into_bytes()
}

/// Part `i`'s boundary line and head, up to and with the empty line, appended to `out`.
pub(super) fn part_head(mime: &Mime, i: usize, disposition: Disposition, out: &mut Vec<u8>) {
    let part = &mime.parts[i];
    if i > 0 {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(mime.boundary.as_bytes());
    out.extend_from_slice(b"\r\n");
    if part.own_header("content-disposition").is_none() {
        content_disposition(part, disposition, out);
    }
    if let Some(t) = part.effective_type() {
        header_line(out, "Content-Type", t);
    }
    for (n, v) in &part.headers {
        if !n.eq_ignore_ascii_case("content-type") {
            header_line(out, n, v);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// `Content-Disposition: form-data; name="..."; filename="..."` (curl leaves out an
/// `attachment` disposition with neither).
fn content_disposition(part: &super::MimePart, disposition: Disposition, out: &mut Vec<u8>) {
    let kind = match disposition {
        Disposition::FormData => "form-data",
        Disposition::Attachment if part.name.is_none() && part.filename.is_none() => return,
        Disposition::Attachment => "attachment",
    };
    out.extend_from_slice(b"Content-Disposition: ");
    out.extend_from_slice(kind.as_bytes());
    for (param, value) in [("name", &part.name), ("filename", &part.filename)] {
        if let Some(v) = value {
            out.extend_from_slice(format!("; {param}=\"").as_bytes());
            escape_into(v, out);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn header_line(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A name or filename inside quotes, as curl's form strategy writes it: `"`, CR and LF as
/// `%22`, `%0D` and `%0A`, everything else as is.
fn escape_into(s: &str, out: &mut Vec<u8>) {
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"%22"),
            b'\r' => out.extend_from_slice(b"%0D"),
            b'\n' => out.extend_from_slice(b"%0A"),
            _ => out.push(b),
        }
    }
}
