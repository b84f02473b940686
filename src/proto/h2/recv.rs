//! The receiving side of [`Connection`]: frames in, state changes, events
//! and the frames we owe (ACKs, resets, GOAWAY) out.

use bytes::Bytes;

use super::conn::{Connection, Event, Pending, MAX_CONTINUATIONS, MAX_HEADER_BLOCK};
use super::error::{ConnError, ErrorCode, H2Error};
use super::frame::{self, Frame, FrameHeader, FRAME_HEADER_LEN};
use super::hpack::{HeaderList, HpackError};
use super::stream::Phase;

fn protocol(reason: &'static str) -> H2Error {
    H2Error::conn(ErrorCode::PROTOCOL_ERROR, reason)
}

fn stream_protocol(stream: u32, reason: &'static str) -> H2Error {
    H2Error::stream(stream, ErrorCode::PROTOCOL_ERROR, reason)
}

impl Connection {
    /// Handles received bytes: every whole frame at the front of `buf` is
    /// processed; returns how many bytes were consumed (keep the rest and
    /// call again with more). After a connection error everything is
    /// consumed and ignored.
    pub fn handle_input(&mut self, buf: &[u8]) -> usize {
        // An address, not a pointer: `on_data` subtracts it from the payload's to report
        // where the payload is (`Event::DataAt`).
        self.input_base = buf.as_ptr() as usize;
        let mut pos = 0;
        while self.error.is_none() {
            let rest = &buf[pos..];
            match frame::decode(rest, self.cfg.max_frame_size) {
                Ok(None) => break,
                Ok(Some((f, n))) => {
                    pos += n;
                    if let Err(e) = self.on_frame(f) {
                        self.on_error(e);
                    }
                }
                Err(e) => {
                    // A stream error from the decoder concerns a whole frame.
                    pos +=
                        FrameHeader::parse(rest).map_or(0, |h| h.len as usize) + FRAME_HEADER_LEN;
                    self.on_decode_error(e);
                }
            }
            self.check_control_queue();
        }
        if self.error.is_some() {
            return buf.len();
        }
        pos
    }

    /// A frame the decoder rejected. Its stream error stays one only where
    /// the frame would otherwise be acceptable: after the server's SETTINGS,
    /// outside a header block (§6.10) and on a stream we opened: resetting an
    /// idle stream is itself a protocol error (§5.1).
    fn on_decode_error(&mut self, e: H2Error) {
        let e = match e {
            H2Error::Stream(_) if !self.got_settings => protocol("server preface is not SETTINGS"),
            H2Error::Stream(_) if self.pending.is_some() => protocol("expected CONTINUATION"),
            H2Error::Stream(s) if self.is_idle(s.stream) => H2Error::conn(s.code, s.reason),
            e => e,
        };
        self.on_error(e);
    }

    fn on_frame(&mut self, f: Frame<'_>) -> Result<(), H2Error> {
        if !self.got_settings && !matches!(f, Frame::Settings { ack: false, .. }) {
            return Err(protocol("server preface is not SETTINGS"));
        }
        if let Some(p) = &self.pending {
            let ok = matches!(f, Frame::Continuation { stream, .. } if stream == p.stream);
            if !ok {
                return Err(protocol("expected CONTINUATION"));
            }
        }
        match f {
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            } => self.on_data(stream, data, end_stream, flow_len),
            Frame::Headers {
                stream,
                fragment,
                end_stream,
                end_headers,
            } => self.on_headers(stream, fragment, end_stream, end_headers),
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => self.on_continuation(fragment, end_headers),
            Frame::RstStream { stream, code } => self.on_rst(stream, code),
            Frame::Settings { ack, params } => self.on_settings(ack, params),
            Frame::PushPromise { .. } => Err(protocol("PUSH_PROMISE with push disabled")),
            Frame::Ping { ack, payload } => self.on_ping(ack, payload),
            Frame::GoAway {
                last_stream, code, ..
            } => self.on_goaway(last_stream, code),
            Frame::WindowUpdate { stream, increment } => self.on_window_update(stream, increment),
            Frame::Priority { .. } | Frame::Unknown { .. } => Ok(()),
        }
    }

    /// A stream id we never opened: even (push is off) or not yet used.
    fn is_idle(&self, stream: u32) -> bool {
        stream % 2 == 0 || stream >= self.next_id
    }

    /// `Ok(false)` for a stream that is closed (frames for it are dropped),
    /// an error for one that was never opened.
    fn known(&self, stream: u32) -> Result<bool, H2Error> {
        if self.streams.contains_key(&stream) {
            Ok(true)
        } else if self.is_idle(stream) {
            Err(protocol("frame on an idle stream"))
        } else {
            Ok(false)
        }
    }

    fn on_data(&mut self, id: u32, data: &[u8], end: bool, flow_len: u32) -> Result<(), H2Error> {
        if !self.recv_window.receive(flow_len) {
            return Err(H2Error::conn(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window",
            ));
        }
        let padding = flow_len - data.len() as u32;
        if !self.known(id)? {
            // Closed: give the connection window back at once.
            self.release_conn(flow_len);
            return Ok(());
        }
        let s = self.streams.get_mut(&id).expect("known stream");
        if !s.can_receive() {
            return Err(H2Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "DATA after END_STREAM",
            ));
        }
        if s.phase != Phase::Body {
            return Err(stream_protocol(id, "DATA before the response head"));
        }
        if !s.recv.receive(flow_len) {
            return Err(H2Error::stream(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the stream window",
            ));
        }
        if padding > 0 {
            self.release_data(id, padding as usize);
        }
        let ev = match self.cfg.data_in_place {
            true => Event::DataAt {
                stream: id,
                offset: data.as_ptr() as usize - self.input_base,
                len: data.len(),
                end_stream: end,
            },
            false => Event::Data {
                stream: id,
                bytes: Bytes::copy_from_slice(data),
                end_stream: end,
            },
        };
        self.push_event(ev);
        if end {
            self.close_remote(id);
        }
        Ok(())
    }

    fn release_conn(&mut self, n: u32) {
        if let Some(inc) = self.recv_window.release(n) {
            frame::encode_window_update(&mut self.out, 0, inc);
        }
    }

    fn close_remote(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if s.close_remote() {
                self.streams.remove(&id);
            }
        }
    }

    fn on_headers(&mut self, id: u32, frag: &[u8], end: bool, end_h: bool) -> Result<(), H2Error> {
        if frag.len() > MAX_HEADER_BLOCK {
            return Err(H2Error::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "header block too large",
            ));
        }
        let mut block = std::mem::take(&mut self.block_buf);
        block.clear();
        block.extend_from_slice(frag);
        self.pending = Some(Pending {
            stream: id,
            end_stream: end,
            block,
            frames: 0,
        });
        if end_h {
            return self.finish_block();
        }
        Ok(())
    }

    fn on_continuation(&mut self, frag: &[u8], end_headers: bool) -> Result<(), H2Error> {
        let p = self
            .pending
            .as_mut()
            .ok_or(protocol("CONTINUATION without HEADERS"))?;
        p.frames += 1;
        if p.block.len() + frag.len() > MAX_HEADER_BLOCK || p.frames > MAX_CONTINUATIONS {
            return Err(H2Error::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "header block too large",
            ));
        }
        p.block.extend_from_slice(frag);
        if end_headers {
            return self.finish_block();
        }
        Ok(())
    }

    /// Decodes the gathered block (always: the HPACK context must stay in
    /// step) and delivers it to its stream.
    fn finish_block(&mut self) -> Result<(), H2Error> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let mut head = self.spare_heads.pop().unwrap_or_default();
        let r = self.dec.decode(&p.block, &mut head);
        self.block_buf = p.block;
        match r {
            Ok(()) => {}
            Err(HpackError::ListTooLarge) => {
                self.known(p.stream)?;
                return Err(stream_protocol(p.stream, "response head too large"));
            }
            Err(_) => {
                return Err(H2Error::conn(
                    ErrorCode::COMPRESSION_ERROR,
                    "bad header block",
                ));
            }
        }
        if !self.known(p.stream)? {
            return Ok(());
        }
        self.deliver_head(p.stream, head, p.end_stream)
    }

    fn deliver_head(&mut self, id: u32, head: HeaderList, end: bool) -> Result<(), H2Error> {
        let s = self.streams.get_mut(&id).expect("known stream");
        if !s.can_receive() {
            return Err(H2Error::stream(
                id,
                ErrorCode::STREAM_CLOSED,
                "HEADERS after END_STREAM",
            ));
        }
        let trailers = s.phase == Phase::Body;
        let status = check_fields(&head, trailers).ok_or(stream_protocol(id, "malformed head"))?;
        if trailers {
            if !end {
                return Err(stream_protocol(id, "trailers without END_STREAM"));
            }
            self.push_event(Event::Trailers { stream: id, head });
        } else {
            let informational = (100..200).contains(&status);
            if informational && end {
                return Err(stream_protocol(id, "1xx head with END_STREAM"));
            }
            if !informational {
                s.phase = Phase::Body;
            }
            self.push_event(Event::Headers {
                stream: id,
                head,
                end_stream: end,
            });
        }
        if end {
            self.close_remote(id);
        }
        Ok(())
    }

    fn on_rst(&mut self, id: u32, code: ErrorCode) -> Result<(), H2Error> {
        if self.known(id)? {
            self.streams.remove(&id);
            self.push_event(Event::Reset {
                stream: id,
                code,
                retryable: code == ErrorCode::REFUSED_STREAM,
            });
        }
        Ok(())
    }

    fn on_settings(&mut self, ack: bool, params: &[u8]) -> Result<(), H2Error> {
        if ack {
            if self.settings_deadline.take().is_some() {
                self.push_event(Event::SettingsAcked);
            }
            return Ok(());
        }
        let changed = self.remote.apply_from_server(params)?;
        if let Some(delta) = changed.window_delta {
            for s in self.streams.values_mut() {
                if !s.send.adjust(delta) {
                    return Err(H2Error::conn(
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "INITIAL_WINDOW_SIZE overflows a stream window",
                    ));
                }
            }
        }
        if changed.header_table_size {
            self.enc.set_peer_table_size(self.remote.header_table_size);
        }
        self.got_settings = true;
        frame::encode_settings_ack(&mut self.out);
        self.push_event(Event::RemoteSettings(self.remote));
        self.wake_writable(None);
        Ok(())
    }

    fn on_ping(&mut self, ack: bool, payload: [u8; 8]) -> Result<(), H2Error> {
        if !ack {
            frame::encode_ping(&mut self.out, true, payload);
        } else if self.ping.is_some_and(|(p, _)| p == payload) {
            self.ping = None;
            self.push_event(Event::PingAcked);
        }
        Ok(())
    }

    fn on_goaway(&mut self, last: u32, code: ErrorCode) -> Result<(), H2Error> {
        let last = self.goaway.map_or(last, |l| l.min(last));
        self.goaway = Some(last);
        let refused: Vec<u32> = self.streams.range(last + 1..).map(|(&id, _)| id).collect();
        for stream in refused {
            self.streams.remove(&stream);
            self.push_event(Event::Reset {
                stream,
                code: ErrorCode::REFUSED_STREAM,
                retryable: true,
            });
        }
        self.push_event(Event::GoAway {
            last_stream: last,
            code,
        });
        Ok(())
    }

    fn on_window_update(&mut self, id: u32, inc: u32) -> Result<(), H2Error> {
        if id == 0 {
            if !self.send_window.adjust(i64::from(inc)) {
                return Err(ConnError {
                    code: ErrorCode::FLOW_CONTROL_ERROR,
                    reason: "connection window above 2^31-1",
                }
                .into());
            }
            self.wake_writable(None);
            return Ok(());
        }
        if !self.known(id)? {
            return Ok(());
        }
        let s = self.streams.get_mut(&id).expect("known stream");
        if !s.send.adjust(i64::from(inc)) {
            return Err(H2Error::stream(
                id,
                ErrorCode::FLOW_CONTROL_ERROR,
                "stream window above 2^31-1",
            ));
        }
        self.wake_writable(Some(id));
        Ok(())
    }
}

/// Checks a response head or trailers (RFC 9113 §8.2, §8.3.2): lowercase
/// names, pseudo-headers first and only `:status` (once, three digits, in a
/// head; none in trailers), no connection-specific fields. Returns the
/// status (0 for trailers), `None` when malformed.
fn check_fields(head: &HeaderList, trailers: bool) -> Option<u16> {
    let mut status = None;
    let mut regular = false;
    for (name, value) in head.iter() {
        if name.iter().any(|b| b.is_ascii_uppercase()) || name.is_empty() {
            return None;
        }
        if name[0] == b':' {
            if regular || trailers || name != b":status" || status.is_some() {
                return None;
            }
            status = parse_status(value);
            status?;
        } else {
            regular = true;
            if matches!(
                name,
                b"connection" | b"keep-alive" | b"transfer-encoding" | b"upgrade"
            ) {
                return None;
            }
        }
    }
    if trailers {
        return Some(0);
    }
    status
}

fn parse_status(v: &[u8]) -> Option<u16> {
    match v {
        [a @ b'1'..=b'9', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}
