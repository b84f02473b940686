//! Typed WebSocket messages: [`Message`] (owned) and [`MessageRef`] (borrowed, as a callback
//! or `recv` sees it), with the close frame's [`CloseCode`] parsed, beside the raw frame API
//! of curl's flags and bytes.

use std::fmt;

use super::{WsError, WsFrame, BINARY, CLOSE, CONT, PING, PONG, TEXT};

/// A WebSocket close code (RFC 6455 §7.4), as tungstenite names them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the purpose was fulfilled.
    Normal,
    /// 1001: going away (a server going down, a page navigated away).
    Away,
    /// 1002: a protocol error.
    Protocol,
    /// 1003: a type of data the endpoint cannot accept.
    Unsupported,
    /// 1005: no code was present (never sent on the wire).
    Status,
    /// 1006: the connection closed without a close frame (never sent on the wire).
    Abnormal,
    /// 1007: data not consistent with the message type (bad UTF-8 in a text message).
    Invalid,
    /// 1008: a policy was violated.
    Policy,
    /// 1009: a message too big to process.
    Size,
    /// 1010: the client expected an extension the server did not agree to.
    Extension,
    /// 1011: an unexpected condition on the server.
    Error,
    /// 1012: the service is restarting.
    Restart,
    /// 1013: try again later.
    Again,
    /// 1015: the TLS handshake failed (never sent on the wire).
    Tls,
    /// 3000-3999: registered with IANA for libraries, frameworks and applications.
    Iana(u16),
    /// 4000-4999: private use.
    Private(u16),
    /// Any other value (reserved or invalid on the wire).
    Other(u16),
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        use CloseCode::*;
        match code {
            1000 => Normal,
            1001 => Away,
            1002 => Protocol,
            1003 => Unsupported,
            1005 => Status,
            1006 => Abnormal,
            1007 => Invalid,
            1008 => Policy,
            1009 => Size,
            1010 => Extension,
            1011 => Error,
            1012 => Restart,
            1013 => Again,
            1015 => Tls,
            3000..=3999 => Iana(code),
            4000..=4999 => Private(code),
            _ => Other(code),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        use CloseCode::*;
        match code {
            Normal => 1000,
            Away => 1001,
            Protocol => 1002,
            Unsupported => 1003,
            Status => 1005,
            Abnormal => 1006,
            Invalid => 1007,
            Policy => 1008,
            Size => 1009,
            Extension => 1010,
            Error => 1011,
            Restart => 1012,
            Again => 1013,
            Tls => 1015,
            Iana(c) | Private(c) | Other(c) => c,
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u16::from(*self))
    }
}

/// The payload of a close frame: its code and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason (UTF-8, at most 123 bytes on the wire).
    pub reason: String,
}

/// A whole WebSocket message or control frame, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping (payload of at most 125 bytes). Received ones appear only with auto-pong off.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame: `None` when it had no payload (status 1005).
    Close(Option<CloseFrame>),
}

/// A whole WebSocket message or control frame, borrowed from the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
    /// A ping.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// A close frame: its code and reason, or `None` without a payload.
    Close(Option<(CloseCode, &'a str)>),
}

impl<'a> MessageRef<'a> {
    /// A whole message from its flags and bytes (message mode: the write callback's data
    /// with [`Ctx::ws_meta`](crate::Ctx::ws_meta), or what
    /// [`WsHandle::recv_message`](super::WsHandle::recv_message) collected). `None` for a
    /// chunk that does not end its message (`CONT`, or bytes left). Text that is not UTF-8
    /// and a close payload of one byte or with a reason that is not UTF-8 are
    /// [`WsError::Protocol`].
    pub fn parse(flags: u32, data: &'a [u8]) -> Result<MessageRef<'a>, WsError> {
        let utf8 = |b: &'a [u8]| {
            std::str::from_utf8(b)
                .map_err(|_| WsError::Protocol(crate::proto::ws::ProtocolError::InvalidUtf8))
        };
        Ok(if flags & TEXT != 0 {
            MessageRef::Text(utf8(data)?)
        } else if flags & BINARY != 0 {
            MessageRef::Binary(data)
        } else if flags & PING != 0 {
            MessageRef::Ping(data)
        } else if flags & PONG != 0 {
            MessageRef::Pong(data)
        } else if flags & CLOSE != 0 {
            MessageRef::Close(match data {
                [] => None,
                [a, b, reason @ ..] => Some((u16::from_be_bytes([*a, *b]).into(), utf8(reason)?)),
                [_] => {
                    return Err(WsError::Protocol(
                        crate::proto::ws::ProtocolError::InvalidClosePayload,
                    ))
                }
            })
        } else {
            return Err(WsError::InvalidArgument);
        })
    }

    /// The message of a write-callback chunk in message mode: `None` unless `frame` ends its
    /// message (see [`parse`](Self::parse)).
    pub fn of_chunk(frame: &WsFrame, data: &'a [u8]) -> Option<Result<MessageRef<'a>, WsError>> {
        let whole = frame.flags & CONT == 0 && frame.bytesleft == 0 && frame.offset == 0;
        whole.then(|| Self::parse(frame.flags, data))
    }

    /// A data message (text or binary), as opposed to a control frame.
    pub fn is_data(&self) -> bool {
        matches!(self, MessageRef::Text(_) | MessageRef::Binary(_))
    }

    /// An owned copy.
    pub fn to_message(&self) -> Message {
        match *self {
            MessageRef::Text(t) => Message::Text(t.to_owned()),
            MessageRef::Binary(b) => Message::Binary(b.to_vec()),
            MessageRef::Ping(b) => Message::Ping(b.to_vec()),
            MessageRef::Pong(b) => Message::Pong(b.to_vec()),
            MessageRef::Close(c) => Message::Close(c.map(|(code, reason)| CloseFrame {
                code,
                reason: reason.to_owned(),
            })),
        }
    }
}

impl Message {
    /// A text message.
    pub fn text(t: impl Into<String>) -> Message {
        Message::Text(t.into())
    }

    /// A binary message.
    pub fn binary(b: impl Into<Vec<u8>>) -> Message {
        Message::Binary(b.into())
    }

    /// A close frame with `code` and `reason`.
    pub fn close(code: CloseCode, reason: impl Into<String>) -> Message {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    }

    /// A borrowed view.
    pub fn as_ref(&self) -> MessageRef<'_> {
        match self {
            Message::Text(t) => MessageRef::Text(t),
            Message::Binary(b) => MessageRef::Binary(b),
            Message::Ping(b) => MessageRef::Ping(b),
            Message::Pong(b) => MessageRef::Pong(b),
            Message::Close(c) => MessageRef::Close(c.as_ref().map(|f| (f.code, f.reason.as_str()))),
        }
    }

    /// A data message (text or binary), as opposed to a control frame.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }
}

impl<'a> MessageRef<'a> {
    /// The curl flag of this message's type and its payload bytes (a close frame's code
    /// and reason are written into `scratch`).
    pub(crate) fn wire(&self, scratch: &'a mut Vec<u8>) -> (u32, &'a [u8]) {
        match *self {
            MessageRef::Text(t) => (TEXT, t.as_bytes()),
            MessageRef::Binary(b) => (BINARY, b),
            MessageRef::Ping(b) => (PING, b),
            MessageRef::Pong(b) => (PONG, b),
            MessageRef::Close(c) => {
                scratch.clear();
                if let Some((code, reason)) = c {
                    scratch.extend_from_slice(&u16::from(code).to_be_bytes());
                    scratch.extend_from_slice(reason.as_bytes());
                }
                (CLOSE, &scratch[..])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_round_trip() {
        for c in [
            1000u16, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012,
        ] {
            assert_eq!(u16::from(CloseCode::from(c)), c);
            assert!(!matches!(CloseCode::from(c), CloseCode::Other(_)), "{c}");
        }
        assert_eq!(CloseCode::from(3001), CloseCode::Iana(3001));
        assert_eq!(CloseCode::from(4999), CloseCode::Private(4999));
        assert_eq!(CloseCode::from(1004), CloseCode::Other(1004));
        assert_eq!(CloseCode::from(1000).to_string(), "1000");
    }

    #[test]
    fn messages_parse_from_flags_and_bytes() {
        assert_eq!(
            MessageRef::parse(TEXT, b"hi").unwrap(),
            MessageRef::Text("hi")
        );
        assert_eq!(
            MessageRef::parse(BINARY, b"\xff").unwrap(),
            MessageRef::Binary(b"\xff")
        );
        assert_eq!(
            MessageRef::parse(PING, b"p").unwrap(),
            MessageRef::Ping(b"p")
        );
        assert_eq!(MessageRef::parse(PONG, b"").unwrap(), MessageRef::Pong(b""));
        assert_eq!(
            MessageRef::parse(CLOSE, b"").unwrap(),
            MessageRef::Close(None)
        );
        assert_eq!(
            MessageRef::parse(CLOSE, b"\x03\xe9bye").unwrap(),
            MessageRef::Close(Some((CloseCode::Away, "bye")))
        );
        assert!(matches!(
            MessageRef::parse(TEXT, b"\xff"),
            Err(WsError::Protocol(_))
        ));
        assert!(matches!(
            MessageRef::parse(CLOSE, b"\x03"),
            Err(WsError::Protocol(_))
        ));
        assert!(matches!(
            MessageRef::parse(0, b""),
            Err(WsError::InvalidArgument)
        ));
        let m = Message::close(CloseCode::Normal, "done");
        let mut scratch = Vec::new();
        assert_eq!(m.as_ref().wire(&mut scratch), (CLOSE, &b"\x03\xe8done"[..]));
        assert_eq!(
            MessageRef::parse(CLOSE, b"\x03\xe8done")
                .unwrap()
                .to_message(),
            m
        );
    }

    #[test]
    fn only_whole_chunks_are_messages() {
        let whole = WsFrame {
            flags: TEXT,
            offset: 0,
            bytesleft: 0,
            len: 2,
        };
        assert!(MessageRef::of_chunk(&whole, b"hi").is_some());
        let part = WsFrame {
            flags: TEXT | CONT,
            ..whole
        };
        assert!(MessageRef::of_chunk(&part, b"hi").is_none());
        let left = WsFrame {
            bytesleft: 3,
            ..whole
        };
        assert!(MessageRef::of_chunk(&left, b"hi").is_none());
    }
}
