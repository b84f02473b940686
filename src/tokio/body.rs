//! A response body as a `Stream` of `Bytes`, with backpressure: past
//! [`STREAM_BUFFER_MAX`] bytes not yet taken by the stream's reader, the transfer pauses
//! receiving (the data of the refused write comes again whole after the unpause) and resumes
//! once the reader has taken half of it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_core::Stream;

use super::reactor::{lock, Shared};
use crate::{Ctx, Direction, Error, Flow, Handler, TransferId};

/// Most body bytes held for a [`BodyStream`] before its transfer pauses receiving.
pub const STREAM_BUFFER_MAX: usize = 1 << 20;

/// What the transfer's handler and the stream share.
#[derive(Default)]
pub(super) struct StreamSlot {
    chunks: VecDeque<Bytes>,
    held: usize,
    paused: bool,
    status: Option<u16>,
    done: Option<Result<(), Error>>,
    waker: Option<Waker>,
}

impl StreamSlot {
    /// The transfer finished.
    pub(super) fn finish(&mut self, r: Result<(), Error>) {
        self.done = Some(r);
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// The handler of a streamed transfer.
pub(super) struct StreamHandler(pub(super) Arc<Mutex<StreamSlot>>);

impl Handler for StreamHandler {
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        if let Some(rest) = line.strip_prefix(b"HTTP/") {
            let code = rest.split(|&b| b == b' ').nth(1);
            let code = code.and_then(|c| std::str::from_utf8(c).ok()?.trim().parse().ok());
            lock(&self.0).status = code;
        }
        Flow::Continue
    }

    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let mut s = lock(&self.0);
        if s.held >= STREAM_BUFFER_MAX {
            s.paused = true;
            return Flow::Pause;
        }
        s.held += data.len();
        s.chunks.push_back(Bytes::copy_from_slice(data));
        if let Some(w) = s.waker.take() {
            w.wake();
        }
        Flow::Continue
    }
}

/// A transfer's response body, piece by piece, as it arrives
/// ([`Client::stream`](super::Client::stream)); ends with the transfer (an error item if it
/// failed). Dropping it cancels the transfer.
pub struct BodyStream {
    pub(super) shared: Arc<Shared>,
    pub(super) id: Option<TransferId>,
    pub(super) slot: Arc<Mutex<StreamSlot>>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    /// The status of the last response head received so far (`None` before one).
    pub fn status(&self) -> Option<u16> {
        lock(&self.slot).status
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(id) = self.id else {
            return Poll::Ready(None);
        };
        let mut s = lock(&self.slot);
        if let Some(b) = s.chunks.pop_front() {
            s.held -= b.len();
            let resume = s.paused && s.held <= STREAM_BUFFER_MAX / 2;
            s.paused &= !resume;
            drop(s);
            if resume {
                self.shared.with(|i| i.multi.unpause(id, Direction::Recv));
            }
            return Poll::Ready(Some(Ok(b)));
        }
        match s.done.take() {
            Some(r) => {
                drop(s);
                self.id = None;
                self.shared.with(|i| i.forget(id));
                Poll::Ready(r.err().map(Err))
            }
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.shared.with(|i| i.forget(id));
        }
    }
}
