//! Client-initiated stream states (RFC 9113 §5.1) and per-stream windows.
//!
//! Idle streams are those not yet in the connection's table; a stream enters
//! as [`State::Open`] (or [`State::HalfClosedLocal`] when its HEADERS carry
//! END_STREAM) and leaves the table when closed.

use super::flow::{RecvWindow, SendWindow};

/// The state of an open stream (§5.1); closed streams are not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Both sides may send.
    Open,
    /// We sent END_STREAM; the peer may still send.
    HalfClosedLocal,
    /// The peer sent END_STREAM; we may still send.
    HalfClosedRemote,
}

/// Where the response head stands (RFC 9113 §8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// No final (non-1xx) response head yet.
    AwaitingHead,
    /// The final head arrived; DATA or trailers may follow.
    Body,
}

/// One stream of the connection.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Its state.
    pub state: State,
    /// Where the response stands.
    pub phase: Phase,
    /// What we may send on it.
    pub send: SendWindow,
    /// What the peer may send on it.
    pub recv: RecvWindow,
    /// We asked to hear when the send window opens again.
    pub wants_writable: bool,
}

impl Stream {
    /// A new stream after its HEADERS were sent.
    pub fn new(end_stream: bool, send: u32, recv_initial: u32) -> Stream {
        Stream {
            state: if end_stream {
                State::HalfClosedLocal
            } else {
                State::Open
            },
            phase: Phase::AwaitingHead,
            send: SendWindow::new(send),
            recv: RecvWindow::new(recv_initial, recv_initial),
            wants_writable: false,
        }
    }

    /// We may still send on it.
    pub fn can_send(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosedRemote)
    }

    /// The peer may still send on it.
    pub fn can_receive(&self) -> bool {
        matches!(self.state, State::Open | State::HalfClosedLocal)
    }

    /// We sent END_STREAM; true when the stream is now closed.
    pub fn close_local(&mut self) -> bool {
        match self.state {
            State::Open => {
                self.state = State::HalfClosedLocal;
                false
            }
            _ => true,
        }
    }

    /// The peer sent END_STREAM; true when the stream is now closed.
    pub fn close_remote(&mut self) -> bool {
        match self.state {
            State::Open => {
                self.state = State::HalfClosedRemote;
                false
            }
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        let mut s = Stream::new(false, 10, 10);
        assert!(s.can_send() && s.can_receive());
        assert!(!s.close_remote());
        assert_eq!(s.state, State::HalfClosedRemote);
        assert!(s.can_send() && !s.can_receive());
        assert!(s.close_local());
        let mut s = Stream::new(true, 10, 10);
        assert_eq!(s.state, State::HalfClosedLocal);
        assert!(!s.can_send() && s.can_receive());
        assert!(s.close_remote());
    }
}
