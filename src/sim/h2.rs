//! HTTP/2 for the test's side of a simulated connection (prior knowledge, no TLS): read the
//! client's preface and frames, answer with frames built by hand. The frame codec and HPACK
//! are the library's (their own tests check them against the RFCs); what is under test here
//! is the driver's use of them: streams, windows, GOAWAY, timers.

use super::net::Peer;
use crate::proto::h2::conn::PREFACE;
use crate::proto::h2::frame::{self, Frame};
use crate::proto::h2::hpack::{Decoder, Encoder, HeaderList};
use crate::proto::h2::settings::id;
use crate::proto::h2::ErrorCode;

/// Largest frame the simulated server reads (the client may send up to our default).
const MAX_FRAME: u32 = frame::DEFAULT_MAX_FRAME_SIZE;

/// A frame the client sent, owned; HEADERS with its CONTINUATIONs as one decoded list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Got {
    /// SETTINGS: an ACK, or the parameters.
    Settings { ack: bool, params: Vec<(u16, u32)> },
    /// A whole header block.
    Headers {
        stream: u32,
        fields: Vec<(String, String)>,
        end_stream: bool,
    },
    /// DATA.
    Data {
        stream: u32,
        data: Vec<u8>,
        end_stream: bool,
    },
    /// WINDOW_UPDATE (stream 0: the connection).
    WindowUpdate { stream: u32, increment: u32 },
    /// PING.
    Ping { ack: bool, payload: [u8; 8] },
    /// RST_STREAM.
    Reset { stream: u32, code: ErrorCode },
    /// GOAWAY.
    GoAway { last_stream: u32, code: ErrorCode },
}

impl Got {
    /// The value of pseudo-header or field `name` in a HEADERS frame.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        match self {
            Got::Headers { fields, .. } => fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// The server's side of an HTTP/2 connection on a [`Peer`].
pub(crate) struct H2Peer {
    /// The simulated connection.
    pub(crate) peer: Peer,
    dec: Decoder,
    enc: Encoder,
    preface_seen: bool,
    /// A header block waiting for its CONTINUATIONs: stream, bytes, END_STREAM.
    partial: Option<(u32, Vec<u8>, bool)>,
}

impl H2Peer {
    /// Take the server's side of `peer`, sending our SETTINGS with `settings`.
    pub(crate) fn new(peer: Peer, settings: &[(u16, u32)]) -> H2Peer {
        let mut p = H2Peer {
            peer,
            dec: Decoder::new(4096, 1 << 20),
            enc: Encoder::new(),
            preface_seen: false,
            partial: None,
        };
        p.send(|out| frame::encode_settings(out, settings));
        p
    }

    /// Read the client's preface and SETTINGS and acknowledge them; return whatever other
    /// frames came with them.
    #[track_caller]
    pub(crate) fn handshake(&mut self) -> Vec<Got> {
        let mut got = self.frames();
        let at = got
            .iter()
            .position(|g| matches!(g, Got::Settings { ack: false, .. }))
            .expect("the client's SETTINGS after its preface");
        got.remove(at);
        self.send(frame::encode_settings_ack);
        got
    }

    /// Every whole frame the client wrote since the last call, taken from the connection.
    #[track_caller]
    pub(crate) fn frames(&mut self) -> Vec<Got> {
        let mut buf = self.peer.unread();
        let mut at = 0;
        if !self.preface_seen {
            if buf.len() < PREFACE.len() {
                return Vec::new();
            }
            assert_eq!(&buf[..PREFACE.len()], PREFACE, "the client's preface");
            self.preface_seen = true;
            at = PREFACE.len();
        }
        let mut out = Vec::new();
        while let Some((f, n)) = frame::decode(&buf[at..], MAX_FRAME).expect("a valid frame") {
            if let Some(g) = self.convert(f) {
                out.push(g);
            }
            at += n;
        }
        buf.clear();
        self.peer.consume(at);
        out
    }

    fn convert(&mut self, f: Frame<'_>) -> Option<Got> {
        Some(match f {
            Frame::Settings { ack, params } => Got::Settings {
                ack,
                params: frame::settings_params(params).collect(),
            },
            Frame::Headers {
                stream,
                fragment,
                end_stream,
                end_headers,
            } => {
                self.partial = Some((stream, fragment.to_vec(), end_stream));
                return end_headers.then(|| self.block());
            }
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => {
                let p = self.partial.as_mut().expect("CONTINUATION after HEADERS");
                p.1.extend_from_slice(fragment);
                return end_headers.then(|| self.block());
            }
            Frame::Data {
                stream,
                data,
                end_stream,
                ..
            } => Got::Data {
                stream,
                data: data.to_vec(),
                end_stream,
            },
            Frame::WindowUpdate { stream, increment } => Got::WindowUpdate { stream, increment },
            Frame::Ping { ack, payload } => Got::Ping { ack, payload },
            Frame::RstStream { stream, code } => Got::Reset { stream, code },
            Frame::GoAway {
                last_stream, code, ..
            } => Got::GoAway { last_stream, code },
            other => panic!("a client does not send {other:?}"),
        })
    }

    fn block(&mut self) -> Got {
        let (stream, bytes, end_stream) = self.partial.take().expect("a header block");
        let mut list = HeaderList::new();
        self.dec.decode(&bytes, &mut list).expect("valid HPACK");
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("UTF-8 fields");
        Got::Headers {
            stream,
            fields: list.iter().map(|(n, v)| (text(n), text(v))).collect(),
            end_stream,
        }
    }

    fn send(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut out = Vec::new();
        f(&mut out);
        self.peer.write(&out);
    }

    /// A response head on `stream`: `:status` and the given fields.
    pub(crate) fn head(&mut self, stream: u32, status: u16, fields: &[(&str, &str)], end: bool) {
        let status = status.to_string();
        let mut all = vec![(":status", status.as_str())];
        all.extend_from_slice(fields);
        let mut block = Vec::new();
        self.enc.encode(
            all.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            &mut block,
        );
        self.send(|out| frame::encode_header_block(out, stream, &block, end, MAX_FRAME));
    }

    /// DATA on `stream`, split into frames of at most the default frame size.
    pub(crate) fn data(&mut self, stream: u32, data: &[u8], end: bool) {
        let mut chunks = data.chunks(MAX_FRAME as usize).peekable();
        if chunks.peek().is_none() {
            self.send(|out| frame::encode_data(out, stream, &[], end));
        }
        while let Some(c) = chunks.next() {
            let last = end && chunks.peek().is_none();
            self.send(|out| frame::encode_data(out, stream, c, last));
        }
    }

    /// A whole response: `200`, `content-length`, the body, END_STREAM.
    pub(crate) fn respond(&mut self, stream: u32, body: &[u8]) {
        let len = body.len().to_string();
        self.head(stream, 200, &[("content-length", &len)], false);
        self.data(stream, body, true);
    }

    /// WINDOW_UPDATE (`stream` 0: the connection).
    pub(crate) fn window_update(&mut self, stream: u32, increment: u32) {
        self.send(|out| frame::encode_window_update(out, stream, increment));
    }

    /// GOAWAY.
    pub(crate) fn goaway(&mut self, last_stream: u32, code: ErrorCode) {
        self.send(|out| frame::encode_goaway(out, last_stream, code, b""));
    }

    /// RST_STREAM.
    pub(crate) fn reset(&mut self, stream: u32, code: ErrorCode) {
        self.send(|out| frame::encode_rst_stream(out, stream, code));
    }

    /// PING (an answer when `ack`).
    pub(crate) fn ping(&mut self, ack: bool, payload: [u8; 8]) {
        self.send(|out| frame::encode_ping(out, ack, payload));
    }
}

/// SETTINGS a simulated server announces by default: 100 streams.
pub(crate) const SERVER_SETTINGS: &[(u16, u32)] = &[(id::MAX_CONCURRENT_STREAMS, 100)];

/// The streams opened by the HEADERS in `got`, in order.
pub(crate) fn opened(got: &[Got]) -> Vec<u32> {
    got.iter()
        .filter_map(|g| match g {
            Got::Headers { stream, .. } => Some(*stream),
            _ => None,
        })
        .collect()
}
