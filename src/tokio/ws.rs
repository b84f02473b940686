//! A connect-only WebSocket as a `Stream` of [`Message`]s and a `Sink` of them, woken by the
//! multi's readiness news ([`Multi::ws_ready`](crate::Multi::ws_ready)).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use super::reactor::{Inner, Shared};
use crate::ws::{Message, WsError};
use crate::TransferId;

/// A WebSocket on a [`Client`](super::Client)'s multi: `Stream<Item = Result<Message,
/// WsError>>` and `Sink<Message>`. The stream ends after the peer's close (which it yields)
/// once the connection is over; a failure is one error item, then the end. A message larger
/// than the send queue goes in pieces as the queue drains; `poll_flush` waits until all is
/// written to the connection; `poll_close` sends a close 1000 unless a
/// [`Message::Close`] was sent. Dropping it removes the transfer (closing the connection).
pub struct WebSocket {
    pub(super) shared: Arc<Shared>,
    pub(super) id: TransferId,
    pub(super) buf: Vec<u8>,
    /// A message being sent, and how much of it the queue took.
    pub(super) out: Option<(Message, usize)>,
    pub(super) ended: bool,
    pub(super) close_sent: bool,
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    /// The transfer's id in the client's multi.
    pub fn id(&self) -> TransferId {
        self.id
    }

    /// Queue what is left of the message being sent; `Pending` (woken when the queue has
    /// room) while some of it waits.
    fn push(&mut self, inner: &mut Inner, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let Some((msg, sent)) = self.out.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let id = self.id;
        let mut scratch = Vec::new();
        let r = {
            let mut ws = inner.multi.ws(id)?;
            let m = msg.as_ref();
            if m.is_data() {
                let (flags, data) = m.wire(&mut scratch);
                send_rest(&mut ws, data, flags, sent)
            } else {
                ws.send_msg(m)
            }
        };
        match r {
            Ok(()) => {
                if matches!(msg, Message::Close(_)) {
                    self.close_sent = true;
                }
                self.out = None;
                Poll::Ready(Ok(()))
            }
            Err(WsError::WouldBlock) => {
                inner.ws_write.insert(id, cx.waker().clone());
                Poll::Pending
            }
            Err(e) => {
                self.out = None;
                Poll::Ready(Err(e))
            }
        }
    }
}

/// Queue `data[*sent..]` as the rest of one frame of type `flags`: `Ok` once all of it is
/// queued, `WouldBlock` while the queue is full (`sent` says how far it got).
fn send_rest(
    ws: &mut crate::ws::WsHandle<'_>,
    data: &[u8],
    flags: u32,
    sent: &mut usize,
) -> Result<(), WsError> {
    loop {
        let n = ws.send(&data[*sent..], flags)?;
        *sent += n;
        if *sent >= data.len() {
            return Ok(());
        }
        if n == 0 {
            return Err(WsError::WouldBlock);
        }
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let shared = this.shared.clone();
        shared.with(|inner| {
            let r = inner
                .multi
                .ws(this.id)
                .and_then(|mut ws| ws.recv_msg(&mut this.buf).map(|m| m.to_message()));
            match r {
                Ok(m) => {
                    this.buf.clear();
                    Poll::Ready(Some(Ok(m)))
                }
                Err(WsError::WouldBlock) => {
                    inner.ws_read.insert(this.id, cx.waker().clone());
                    Poll::Pending
                }
                Err(WsError::Closed) => {
                    this.ended = true;
                    Poll::Ready(None)
                }
                Err(e) => {
                    this.ended = true;
                    Poll::Ready(Some(Err(e)))
                }
            }
        })
    }
}

impl Sink<Message> for WebSocket {
    type Error = WsError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let shared = self.shared.clone();
        shared.with(|inner| self.push(inner, cx))
    }

    fn start_send(mut self: Pin<&mut Self>, msg: Message) -> Result<(), WsError> {
        if self.out.is_some() {
            return Err(WsError::FrameInProgress);
        }
        self.out = Some((msg, 0));
        Ok(())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let shared = self.shared.clone();
        shared.with(|inner| {
            if self.push(inner, cx)?.is_pending() {
                return Poll::Pending;
            }
            let id = self.id;
            let mut ws = match inner.multi.ws(id) {
                Ok(ws) => ws,
                // Over: nothing is left to write.
                Err(WsError::Closed) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            };
            if ws.queued() == 0 {
                return Poll::Ready(Ok(()));
            }
            ws.notify_when_drained();
            inner.ws_write.insert(id, cx.waker().clone());
            Poll::Pending
        })
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        if !self.close_sent && self.out.is_none() {
            self.out = Some((Message::close(crate::ws::CloseCode::Normal, ""), 0));
        }
        match self.as_mut().poll_flush(cx) {
            Poll::Ready(Err(WsError::Closed)) => Poll::Ready(Ok(())),
            r => r,
        }
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.with(|i| i.forget(id));
    }
}
