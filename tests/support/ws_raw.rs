//! Scripted WebSocket servers without a WebSocket library, on [`Conn`]: the 101 answer,
//! unmasked server frames, and the client's masked frames read back exactly as they are on the
//! wire (a frame cut short by the end of the connection is told apart from a clean end).

use super::http_server::Conn;

/// The 101 answer to `key`, with `extra` header lines (each ending in CRLF).
pub fn answer_101(key: &str, extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        super::ws_accept(key)
    )
}

/// Reads the upgrade request and answers 101 (no extension, no subprotocol); false if the
/// client went away first.
pub fn upgrade(c: &mut Conn) -> bool {
    let Some(req) = c.read_request() else {
        return false;
    };
    let key = req.header("sec-websocket-key").unwrap_or_default();
    c.write_all(answer_101(key, "").as_bytes()).is_ok()
}

/// An unmasked server frame (7-bit length only): `first` is FIN, RSV and opcode.
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut v = vec![first, payload.len() as u8];
    v.extend_from_slice(payload);
    v
}

/// A server CLOSE frame with `code`.
pub fn close_frame(code: u16) -> Vec<u8> {
    frame(0x88, &code.to_be_bytes())
}

/// One frame from the client, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// What [`read_frame`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFrame {
    Frame(ClientFrame),
    /// The connection ended (or the read timed out) at a frame boundary.
    End,
    /// The connection ended (or the read timed out) in the middle of a frame.
    Truncated,
}

/// The header of a client frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub fin: bool,
    pub opcode: u8,
    pub len: u64,
    pub key: [u8; 4],
}

/// Reads a client frame header: `Ok(None)` when the connection ended (or the read timed out)
/// at a frame boundary, `Err(())` in the middle of the header.
#[allow(clippy::result_unit_err)]
pub fn read_head(c: &mut Conn) -> Result<Option<Head>, ()> {
    let Ok(h) = c.read_exact_bytes(2) else {
        return Ok(None);
    };
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let len = match h[1] & 0x7f {
        126 => {
            let b = c.read_exact_bytes(2).map_err(drop)?;
            u64::from(u16::from_be_bytes([b[0], b[1]]))
        }
        127 => u64::from_be_bytes(c.read_exact_bytes(8).map_err(drop)?.try_into().unwrap()),
        n => u64::from(n),
    };
    let key = c.read_exact_bytes(4).map_err(drop)?;
    Ok(Some(Head {
        fin: h[0] & 0x80 != 0,
        opcode: h[0] & 0x0f,
        len,
        key: key.try_into().unwrap(),
    }))
}

/// Unmasks `payload`, which starts at `offset` in its frame.
pub fn unmask(payload: &mut [u8], key: [u8; 4], offset: u64) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[((offset + i as u64) % 4) as usize];
    }
}

/// Reads one masked client frame.
pub fn read_frame(c: &mut Conn) -> ReadFrame {
    let head = match read_head(c) {
        Ok(Some(h)) => h,
        Ok(None) => return ReadFrame::End,
        Err(()) => return ReadFrame::Truncated,
    };
    let Ok(mut payload) = c.read_exact_bytes(head.len as usize) else {
        return ReadFrame::Truncated;
    };
    unmask(&mut payload, head.key, 0);
    ReadFrame::Frame(ClientFrame {
        fin: head.fin,
        opcode: head.opcode,
        payload,
    })
}

/// Reads one masked client frame: (opcode, unmasked payload); `None` at the end.
pub fn read_client_frame(c: &mut Conn) -> Option<(u8, Vec<u8>)> {
    match read_frame(c) {
        ReadFrame::Frame(f) => Some((f.opcode, f.payload)),
        _ => None,
    }
}

/// The status code of a CLOSE payload (`None` for an empty one).
pub fn close_code(payload: &[u8]) -> Option<u16> {
    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
}
