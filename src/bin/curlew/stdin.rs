//! Standard input cut into message pieces for a WebSocket session, read on a thread of its
//! own and handed over a bounded channel.
//!
//! Text mode: each line is one message, its end of line (`\n` or `\r\n`) removed; a line
//! longer than [`CHUNK`] bytes comes in several pieces, sent as the fragments of one message.
//! Binary mode: each read of at most [`CHUNK`] bytes is one message. Memory stays bounded
//! whatever the input: one piece being read, [`CHANNEL_PIECES`] in the channel.

use std::io::{self, BufRead};
use std::sync::mpsc;

use curlew::MultiWaker;

/// Largest piece: a binary message, or a fragment of a long line.
pub const CHUNK: usize = 64 * 1024;
/// Pieces the reading thread may have handed over and the session not yet taken (at most
/// 4 MiB with [`CHUNK`]). The thread blocks (and stops reading stdin) while the channel is
/// full. Fewer make short lines slower (one thread handoff per line): with 1 KiB lines, 1 slot
/// halves the throughput, 16 cost about 10%, 64 are on par with an unbounded channel.
pub const CHANNEL_PIECES: usize = 64;

/// Part or all of one message.
pub struct Piece {
    pub data: Vec<u8>,
    /// The message ends with this piece.
    pub last: bool,
}

/// What the reading thread hands over.
pub enum Input {
    Piece(Piece),
    Eof,
}

/// Cuts a reader into pieces of at most `max` bytes (see the module docs).
pub struct Pieces<R> {
    r: R,
    binary: bool,
    max: usize,
    /// The last piece ended in the middle of a line.
    mid_line: bool,
    /// A `\r` that ended a full piece: it belongs to the next piece, unless a `\n` follows.
    held_cr: bool,
}

impl<R: BufRead> Pieces<R> {
    /// `max` is at least 2 (room for a held `\r` and one more byte).
    pub fn new(r: R, binary: bool, max: usize) -> Self {
        Pieces {
            r,
            binary,
            max: max.max(2),
            mid_line: false,
            held_cr: false,
        }
    }

    /// The next piece; `None` at the end of the input.
    pub fn next_piece(&mut self) -> io::Result<Option<Piece>> {
        if self.binary {
            return self.next_chunk();
        }
        let mut data = Vec::new();
        if std::mem::take(&mut self.held_cr) {
            data.push(b'\r');
        }
        loop {
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                // End of input: a line in progress ends here.
                let piece =
                    (self.mid_line || !data.is_empty()).then_some(Piece { data, last: true });
                self.mid_line = false;
                return Ok(piece);
            }
            let room = self.max - data.len();
            let take = &avail[..avail.len().min(room)];
            if let Some(i) = take.iter().position(|&b| b == b'\n') {
                data.extend_from_slice(&take[..i]);
                self.r.consume(i + 1);
                if data.last() == Some(&b'\r') {
                    data.pop();
                }
                self.mid_line = false;
                return Ok(Some(Piece { data, last: true }));
            }
            let n = take.len();
            data.extend_from_slice(take);
            self.r.consume(n);
            if data.len() == self.max {
                if data.last() == Some(&b'\r') {
                    data.pop();
                    self.held_cr = true;
                }
                self.mid_line = true;
                return Ok(Some(Piece { data, last: false }));
            }
        }
    }

    fn next_chunk(&mut self) -> io::Result<Option<Piece>> {
        loop {
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                return Ok(None);
            }
            let data = avail[..avail.len().min(self.max)].to_vec();
            self.r.consume(data.len());
            return Ok(Some(Piece { data, last: true }));
        }
    }
}

/// Start the thread that reads stdin into `tx` (a channel of [`CHANNEL_PIECES`]), waking the
/// multi after each piece. A read error ends the input like an end of file.
pub fn spawn_reader(binary: bool, tx: mpsc::SyncSender<Input>, waker: MultiWaker) {
    std::thread::spawn(move || {
        let mut pieces = Pieces::new(io::stdin().lock(), binary, CHUNK);
        loop {
            let input = match pieces.next_piece() {
                Ok(Some(p)) => Input::Piece(p),
                Ok(None) | Err(_) => Input::Eof,
            };
            let done = matches!(input, Input::Eof);
            if tx.send(input).is_err() {
                return;
            }
            let _ = waker.wake();
            if done {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All pieces of `input` read through a buffer of `buf` bytes: (data, last).
    fn pieces(input: &[u8], binary: bool, max: usize, buf: usize) -> Vec<(String, bool)> {
        let r = io::BufReader::with_capacity(buf, input);
        let mut p = Pieces::new(r, binary, max);
        let mut out = Vec::new();
        while let Some(piece) = p.next_piece().unwrap() {
            out.push((String::from_utf8(piece.data).unwrap(), piece.last));
        }
        out
    }

    fn owned(v: &[(&str, bool)]) -> Vec<(String, bool)> {
        v.iter().map(|(s, l)| (s.to_string(), *l)).collect()
    }

    #[test]
    fn lines_become_messages_without_their_end_of_line() {
        for buf in [1, 2, 3, 64] {
            assert_eq!(
                pieces(b"a\r\nbc\n\nlast", false, 100, buf),
                owned(&[("a", true), ("bc", true), ("", true), ("last", true)])
            );
            assert_eq!(pieces(b"x\n", false, 100, buf), owned(&[("x", true)]));
            assert_eq!(pieces(b"", false, 100, buf), owned(&[]));
        }
    }

    #[test]
    fn long_lines_come_in_bounded_pieces() {
        for buf in [1, 3, 64] {
            assert_eq!(
                pieces(b"abcdefg\nhi", false, 3, buf),
                owned(&[("abc", false), ("def", false), ("g", true), ("hi", true)])
            );
            // A line of exactly `max` bytes: an empty last piece ends the message.
            assert_eq!(
                pieces(b"abc", false, 3, buf),
                owned(&[("abc", false), ("", true)])
            );
            assert_eq!(
                pieces(b"abc\n", false, 3, buf),
                owned(&[("abc", false), ("", true)])
            );
        }
    }

    #[test]
    fn a_crlf_split_between_pieces_is_still_an_end_of_line() {
        for buf in [1, 2, 64] {
            assert_eq!(
                pieces(b"ab\r\ncd", false, 3, buf),
                owned(&[("ab", false), ("", true), ("cd", true)])
            );
            // A lone \r is data.
            assert_eq!(
                pieces(b"ab\rcd\n", false, 3, buf),
                owned(&[("ab", false), ("\rcd", false), ("", true)])
            );
            assert_eq!(
                pieces(b"ab\r", false, 3, buf),
                owned(&[("ab", false), ("\r", true)])
            );
        }
    }

    #[test]
    fn binary_chunks_are_bounded() {
        assert_eq!(
            pieces(b"abcdefg", true, 3, 64),
            owned(&[("abc", true), ("def", true), ("g", true)])
        );
        assert_eq!(pieces(b"", true, 3, 64), owned(&[]));
    }
}
