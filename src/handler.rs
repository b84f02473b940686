//! The callback surface: the [`Handler`] trait and its answers.
//!
//! One handler per transfer, like libcurl's set of `CURLOPT_*FUNCTION` callbacks. Every method
//! has a default, so a handler implements only what it needs. Every callback gets a
//! [`Ctx`](crate::Ctx): a view of the multi that is legal to use from inside a callback (pause,
//! unpause, info, add and remove transfers; the WebSocket calls come with the WebSocket
//! transfers). Calls that are illegal from a callback (`perform`, `poll`, dropping the multi)
//! are simply not reachable through it: the type is curl's reentrancy table.

use std::any::Any;

use crate::ctx::Ctx;
use crate::error::Error;

/// What a header or write callback wants next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// Pause receiving (`CURL_WRITEFUNC_PAUSE`). The data of this call is kept and delivered
    /// again, whole, after [`Ctx::unpause`](crate::Ctx::unpause) or
    /// [`Multi::unpause`](crate::Multi::unpause). From a header callback it is treated as
    /// `Continue`.
    Pause,
    /// Abort the transfer: [`ErrorKind::WriteError`](crate::ErrorKind::WriteError) from a write
    /// callback (curl's short write), `AbortedByCallback` from a header callback.
    Abort,
}

/// What a read (upload) callback produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadResult {
    /// `n` bytes were written to the buffer; `Data(0)` is the end of the body.
    Data(usize),
    /// Nothing now; pause sending until unpaused (`CURL_READFUNC_PAUSE`).
    Pause,
    /// Abort the transfer with [`ErrorKind::AbortedByCallback`](crate::ErrorKind) (`CURL_READFUNC_ABORT`).
    Abort,
}

/// Transfer progress, as handed to [`Handler::progress`] (curl's `XFERINFOFUNCTION`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes expected to be downloaded; 0 when unknown.
    pub dltotal: u64,
    /// Bytes downloaded so far (body bytes as received, before content decoding).
    pub dlnow: u64,
    /// Bytes expected to be uploaded; 0 when unknown.
    pub ultotal: u64,
    /// Bytes uploaded so far.
    pub ulnow: u64,
}

/// What a debug callback is shown (curl's `curl_infotype`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DebugKind {
    /// An informational text line (`CURLINFO_TEXT`).
    Text,
    /// A header line received (`CURLINFO_HEADER_IN`).
    HeaderIn,
    /// The request head sent (`CURLINFO_HEADER_OUT`).
    HeaderOut,
    /// Body bytes received (`CURLINFO_DATA_IN`).
    DataIn,
    /// Body bytes sent (`CURLINFO_DATA_OUT`).
    DataOut,
}

/// The callbacks of one transfer.
///
/// ```
/// use curlew::{Ctx, Flow, Handler};
///
/// struct Count(usize);
/// impl Handler for Count {
///     fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
///         self.0 += data.len();
///         Flow::Continue
///     }
/// }
///
/// let easy = curlew::Easy::with_handler("http://127.0.0.1:8080/", Count(0))?;
/// assert_eq!(easy.handler::<Count>().map(|c| c.0), Some(0));
/// # Ok::<(), curlew::Error>(())
/// ```
pub trait Handler: Any + Send {
    /// One call per response header line, status line first and the empty line last, line
    /// endings included (`CURLOPT_HEADERFUNCTION`). Headers of 1xx responses, of followed
    /// redirects and trailers come here too.
    fn header(&mut self, ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        let _ = (ctx, line);
        Flow::Continue
    }

    /// Whether [`header`](Handler::header) wants the header lines (and trailers) at all;
    /// `true` by default. A handler that never looks at them returns `false`, like a libcurl
    /// program that sets no `CURLOPT_HEADERFUNCTION`: the lines are then not walked and
    /// `header` is not called. The transfer still reads the head as always (status, info,
    /// framing, redirects), and the debug callback still sees the lines in verbose mode.
    /// Asked once per response head.
    fn wants_headers(&self) -> bool {
        true
    }

    /// Body bytes, decoded when content decoding is on (`CURLOPT_WRITEFUNCTION`); decoded
    /// bytes come in pieces of at most [`DECODE_PIECE_SIZE`](crate::DECODE_PIECE_SIZE).
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let _ = (ctx, data);
        Flow::Continue
    }

    /// Fill `buf` with request body bytes (`CURLOPT_READFUNCTION`); used when the body was
    /// set with [`Easy::upload`](crate::Easy::upload).
    fn read(&mut self, ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
        let _ = (ctx, buf);
        ReadResult::Data(0)
    }

    /// The WebSocket upgrade completed (after the 101's header lines went to
    /// [`Handler::header`]). Send the first messages from here with
    /// [`Ctx::ws`](crate::Ctx::ws). Return [`Flow::Abort`] to fail the transfer.
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let _ = ctx;
        Flow::Continue
    }

    /// Message mode ([`Easy::ws_message_mode`](crate::Easy::ws_message_mode)): one whole,
    /// reassembled message (or a control frame: pong, close, and ping when auto-pong is off),
    /// instead of chunks to [`Handler::write`]. `frame.flags` has the type, never `CONT`;
    /// `frame.len` is the message length. Messages are bounded by the max message size.
    /// [`Flow::Pause`] keeps the message and delivers it again after unpause.
    ///
    /// The default parses the message ([`MessageRef::parse`](crate::ws::MessageRef::parse))
    /// and hands it to [`Handler::ws_msg`]: implement that one for typed messages. (A text
    /// message that is not UTF-8 cannot reach it with UTF-8 checks on, the default; with them
    /// off it aborts the transfer.)
    fn ws_message(&mut self, ctx: &mut Ctx<'_>, msg: &[u8], frame: crate::ws::WsFrame) -> Flow {
        match crate::ws::MessageRef::parse(frame.flags, msg) {
            Ok(m) => self.ws_msg(ctx, m),
            Err(_) => Flow::Abort,
        }
    }

    /// Message mode, typed: one whole message or control frame as a
    /// [`MessageRef`](crate::ws::MessageRef) (text as `&str`, a close with its parsed
    /// [`CloseCode`](crate::ws::CloseCode)); called by the default [`Handler::ws_message`].
    fn ws_msg(&mut self, ctx: &mut Ctx<'_>, msg: crate::ws::MessageRef<'_>) -> Flow {
        let _ = (ctx, msg);
        Flow::Continue
    }

    /// The WebSocket send queue drained after a send was refused ([`WsError::WouldBlock`](crate::ws::WsError::WouldBlock))
    /// or accepted only in part: send the rest now with [`Ctx::ws`](crate::Ctx::ws). Called
    /// once per such episode, never on the hot path of sends that fit.
    fn ws_writable(&mut self, ctx: &mut Ctx<'_>) {
        let _ = ctx;
    }

    /// Restart the upload from its first byte, for a retry or a 307/308 redirect
    /// (`CURLOPT_SEEKFUNCTION` to 0). Return `false` if that is impossible; the transfer then
    /// fails with [`ErrorKind::SendFailRewind`](crate::ErrorKind::SendFailRewind).
    fn rewind(&mut self) -> bool {
        false
    }

    /// Progress, about once per second and whenever data moves, when progress is on
    /// ([`Easy::progress`](crate::Easy::progress)). Return `false` to abort the transfer
    /// (`CURLE_ABORTED_BY_CALLBACK`).
    fn progress(&mut self, ctx: &mut Ctx<'_>, progress: &Progress) -> bool {
        let _ = (ctx, progress);
        true
    }

    /// Trace output, when verbose is on ([`Easy::verbose`](crate::Easy::verbose)). The default
    /// prints like `curl -v` to stderr.
    fn debug(&mut self, kind: DebugKind, data: &[u8]) {
        default_debug(kind, data)
    }

    /// The transfer finished (successfully or not). Called once, before the completion
    /// message is queued for [`Multi::info_read`](crate::Multi::info_read).
    fn done(&mut self, ctx: &mut Ctx<'_>, result: &Result<(), Error>) {
        let _ = (ctx, result);
    }
}

/// What `curl -v` prints: `*` for text, `>` for headers out, `<` for headers in.
pub fn default_debug(kind: DebugKind, data: &[u8]) {
    use std::io::Write;
    let prefix: &[u8] = match kind {
        DebugKind::Text => b"* ",
        DebugKind::HeaderOut => b"> ",
        DebugKind::HeaderIn => b"< ",
        DebugKind::DataIn | DebugKind::DataOut => return,
    };
    let mut err = std::io::stderr().lock();
    for line in data.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() && kind == DebugKind::HeaderOut {
            continue;
        }
        let _ = err.write_all(prefix);
        let _ = err.write_all(line);
        let _ = err.write_all(b"\n");
    }
}

/// The default handler: keeps the headers and the body in memory.
///
/// ```no_run
/// let mut easy = curlew::Easy::new("http://127.0.0.1:8080/")?;
/// easy.perform()?;
/// let c = easy.collected().unwrap();
/// println!("{} bytes of body", c.body.len());
/// # Ok::<(), curlew::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Collector {
    /// Every header line received, in order, line endings included.
    pub headers: Vec<Vec<u8>>,
    /// The body.
    pub body: Vec<u8>,
}

impl Handler for Collector {
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        self.headers.push(line.to_vec());
        Flow::Continue
    }
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.body.extend_from_slice(data);
        Flow::Continue
    }
}

/// A handler that discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl Handler for Discard {}
