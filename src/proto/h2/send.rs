//! The sending side of [`Connection`]: opening streams, DATA within the
//! windows, trailers, resets, and window updates as the application consumes.

use super::conn::{Connection, Event, Request, SendError, MAX_SEND_QUEUE};
use super::error::ErrorCode;
use super::frame::{self, MAX_STREAM_ID};
use super::stream::Stream;

/// Fields a request must not carry in HTTP/2 (RFC 9113 §8.2.2).
const CONNECTION_SPECIFIC: [&[u8]; 5] = [
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];

fn bad_field(name: &[u8], value: &[u8]) -> bool {
    name.is_empty()
        || name.iter().any(|b| b.is_ascii_uppercase())
        || name.starts_with(b":")
        || CONNECTION_SPECIFIC.contains(&name)
        || (name == b"te" && value != b"trailers")
}

/// The most a field can take in a header block: HPACK's longest form is a literal with both
/// lengths as 5-byte integers and no Huffman (the encoder uses Huffman only when shorter).
const FIELD_OVERHEAD: usize = 11;

/// The most a header block of `fields` can take on the wire, frame headers included, when
/// frames carry at most `max_frame` bytes.
fn head_bound<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])>, max_frame: u32) -> usize {
    let block: usize = fields
        .map(|(n, v)| n.len() + v.len() + FIELD_OVERHEAD)
        .sum();
    block + frame::FRAME_HEADER_LEN * (block / (max_frame.max(1) as usize) + 1)
}

impl Connection {
    fn queue_room(&self) -> usize {
        MAX_SEND_QUEUE.saturating_sub(self.out.len() - self.out_pos)
    }

    /// Whether a header block of at most `bound` bytes may be queued now. Checked before
    /// encoding: the encoder's dynamic table changes as it encodes, so a block once encoded
    /// must be sent.
    fn room_for_head(&self, bound: usize) -> Result<(), SendError> {
        if bound > MAX_SEND_QUEUE {
            return Err(SendError::HeadTooLarge);
        }
        if bound > self.queue_room() {
            return Err(SendError::WouldBlock);
        }
        Ok(())
    }

    /// Opens a stream with `req`'s head (END_STREAM when `end_stream`).
    ///
    /// Refused when MAX_CONCURRENT_STREAMS streams are open, after a GOAWAY
    /// or failure, for extended CONNECT without the peer's
    /// ENABLE_CONNECT_PROTOCOL (RFC 8441 §4), and for malformed fields.
    pub fn open_stream(&mut self, req: &Request<'_>, end_stream: bool) -> Result<u32, SendError> {
        if self.error.is_some() || self.goaway.is_some() || self.next_id > MAX_STREAM_ID {
            return Err(SendError::Closed);
        }
        if !self.can_open() {
            return Err(SendError::TooManyStreams);
        }
        if req.protocol.is_some() && !self.remote.enable_connect_protocol {
            return Err(SendError::ConnectProtocolDisabled);
        }
        if req.headers.iter().any(|(n, v)| bad_field(n, v)) {
            return Err(SendError::BadHeader);
        }
        // The pseudo-headers counted with the longest of their names.
        let values = [req.method, req.scheme, req.authority, req.path];
        let pseudo = values.iter().chain(req.protocol.iter());
        let fields = pseudo.map(|v| (&b":authority"[..], *v));
        let fields = fields.chain(req.headers.iter().copied());
        self.room_for_head(head_bound(fields, self.remote.max_frame_size))?;
        let id = self.next_id;
        self.next_id += 2;
        let plain_connect = req.method == b"CONNECT" && req.protocol.is_none();
        let mut pseudo: [(&[u8], &[u8]); 5] = [(b":method", req.method); 5];
        let mut n = 1;
        for (name, v) in [
            (&b":scheme"[..], Some(req.scheme)),
            (b":authority", Some(req.authority)),
            (b":path", Some(req.path)),
            (b":protocol", req.protocol),
        ] {
            let skip = plain_connect && (name == b":scheme" || name == b":path");
            if let (Some(v), false) = (v, skip) {
                pseudo[n] = (name, v);
                n += 1;
            }
        }
        // The encoder's output storage is kept from one block to the next.
        let mut block = std::mem::take(&mut self.enc_buf);
        block.clear();
        let fields = pseudo[..n].iter().chain(req.headers.iter()).copied();
        self.enc.encode(fields, &mut block);
        frame::encode_header_block(
            &mut self.out,
            id,
            &block,
            end_stream,
            self.remote.max_frame_size,
        );
        self.enc_buf = block;
        let s = Stream::new(
            end_stream,
            self.remote.initial_window_size,
            self.cfg.stream_window,
        );
        self.streams.insert(id, s);
        Ok(id)
    }

    /// Sends what fits of `data` on `stream` (END_STREAM with the last byte
    /// when `end_stream` and all of it fits) and returns how much was taken.
    ///
    /// What fits is bounded by the connection and stream send windows and by
    /// [`MAX_SEND_QUEUE`]. When less than all was taken, an
    /// [`Event::StreamWritable`] follows once the stream's window opens.
    pub fn send_data(
        &mut self,
        stream: u32,
        data: &[u8],
        end_stream: bool,
    ) -> Result<usize, SendError> {
        if self.error.is_some() {
            return Err(SendError::Closed);
        }
        let room = self.queue_room();
        let conn = self.send_window.available();
        let max_frame = self.remote.max_frame_size as usize;
        let s = self.stream_for_send(stream)?;
        let n = data.len().min(conn).min(s.send.available()).min(room);
        s.send.consume(n);
        let done = end_stream && n == data.len();
        s.wants_writable = n < data.len();
        self.send_window.consume(n);
        let mut chunks = data[..n].chunks(max_frame).peekable();
        if n == 0 && done {
            frame::encode_data(&mut self.out, stream, &[], true);
        }
        while let Some(c) = chunks.next() {
            let last = done && chunks.peek().is_none();
            frame::encode_data(&mut self.out, stream, c, last);
        }
        if done {
            self.close_local(stream);
        }
        Ok(n)
    }

    fn stream_for_send(&mut self, stream: u32) -> Result<&mut Stream, SendError> {
        match self.streams.get_mut(&stream) {
            Some(s) if s.can_send() => Ok(s),
            _ => Err(SendError::StreamClosed),
        }
    }

    /// Sends trailing fields and ends our side of `stream`.
    pub fn send_trailers(
        &mut self,
        stream: u32,
        fields: &[(&[u8], &[u8])],
    ) -> Result<(), SendError> {
        if self.error.is_some() {
            return Err(SendError::Closed);
        }
        if fields.iter().any(|(n, v)| bad_field(n, v)) {
            return Err(SendError::BadHeader);
        }
        self.stream_for_send(stream)?;
        let max = self.remote.max_frame_size;
        self.room_for_head(head_bound(fields.iter().copied(), max))?;
        let mut block = Vec::new();
        self.enc.encode(fields.iter().copied(), &mut block);
        let max = self.remote.max_frame_size;
        frame::encode_header_block(&mut self.out, stream, &block, true, max);
        self.close_local(stream);
        Ok(())
    }

    fn close_local(&mut self, stream: u32) {
        if let Some(s) = self.streams.get_mut(&stream) {
            if s.close_local() {
                self.streams.remove(&stream);
            }
        }
    }

    /// Cancels `stream` (RST_STREAM with `code`); no event follows for it.
    pub fn reset(&mut self, stream: u32, code: ErrorCode) {
        if self.streams.remove(&stream).is_some() && self.error.is_none() {
            frame::encode_rst_stream(&mut self.out, stream, code);
        }
    }

    /// The application consumed `n` bytes of `stream`'s DATA: grants window
    /// updates for the connection and, while it is open, the stream. A
    /// stream whose data is not released stops its own window only.
    pub fn release_data(&mut self, stream: u32, n: usize) {
        if self.error.is_some() {
            return;
        }
        let n = n.min(u32::MAX as usize) as u32;
        if let Some(inc) = self.recv_window.release(n) {
            frame::encode_window_update(&mut self.out, 0, inc);
        }
        let inc = match self.streams.get_mut(&stream) {
            Some(s) if s.can_receive() => s.recv.release(n),
            _ => None,
        };
        if let Some(inc) = inc {
            frame::encode_window_update(&mut self.out, stream, inc);
        }
    }

    /// Reports streams whose window opened after a short send.
    pub(super) fn wake_writable(&mut self, only: Option<u32>) {
        let conn_open = self.send_window.available() > 0;
        let mut woken = Vec::new();
        for (&id, s) in self.streams.iter_mut() {
            let hit = only.is_none_or(|o| o == id);
            if hit && conn_open && s.wants_writable && s.send.available() > 0 {
                s.wants_writable = false;
                woken.push(id);
            }
        }
        for stream in woken {
            self.push_event(Event::StreamWritable { stream });
        }
    }
}
