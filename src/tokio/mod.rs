//! curlew on tokio (feature `tokio`): a [`Client`] whose transfers are futures, bodies
//! [`BodyStream`]s of `Bytes`, and [`WebSocket`]s that are `Stream`s and `Sink`s of
//! [`Message`](crate::ws::Message)s, all on one [`Multi`] driven through
//! `socket_action`: its sockets are registered with tokio's reactor, its timer is a tokio
//! sleep, and one task acts on what is ready. No thread of its own.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use curlew::tokio::Client;
//! use curlew::ws::Message;
//! use curlew::Easy;
//! use futures_util::{SinkExt, StreamExt};
//!
//! let client = Client::new()?;
//! let done = client.request(Easy::new("https://example.com/")?).await?;
//! println!("{} bytes", done.collected().unwrap().body.len());
//!
//! let mut ws = client.websocket(Easy::new("wss://echo.example/")?).await?;
//! ws.send(Message::text("hello")).await?;
//! if let Some(reply) = ws.next().await {
//!     println!("{:?}", reply?);
//! }
//! # Ok(()) }
//! # let _ = demo;
//! ```
//!
//! Handles are cheap to clone and `Send`; many requests and WebSockets share the client's
//! multi (its connection pool, limits, HTTP/2 multiplexing). A future dropped before it
//! completes cancels its transfer. The client and its driver task end when the last handle
//! (client, future, stream or WebSocket) is dropped.

mod body;
mod reactor;
mod ws;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

pub use body::{BodyStream, STREAM_BUFFER_MAX};
pub use ws::WebSocket;

use reactor::Shared;

use crate::{Easy, Error, Multi, TransferId};

/// A multi on the current tokio runtime; see the [module docs](self).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client with a default multi. Call it inside a tokio runtime (it spawns the driver
    /// task there); an error outside one.
    pub fn new() -> std::io::Result<Client> {
        Client::with_multi(|_| {})
    }

    /// A client whose multi `configure` sets up first (connection limits, multiplexing, ...).
    pub fn with_multi(configure: impl FnOnce(&mut Multi)) -> std::io::Result<Client> {
        Ok(Client {
            shared: Shared::start(configure)?,
        })
    }

    /// Run `easy` to the end; the future gives it back (its info, and with the default
    /// [`Collector`](crate::Collector) handler its headers and body). Dropping the future
    /// cancels the transfer.
    pub fn request(&self, easy: Easy) -> Request {
        let id = self.shared.with(|i| i.multi.add(easy));
        Request {
            shared: self.shared.clone(),
            id: Some(id),
        }
    }

    /// Run `easy` with its body streamed: a [`BodyStream`] of the pieces as they arrive
    /// (`easy`'s handler is replaced).
    pub fn stream(&self, mut easy: Easy) -> BodyStream {
        let slot = Arc::new(Mutex::new(body::StreamSlot::default()));
        easy.set_handler(body::StreamHandler(slot.clone()));
        let id = self.shared.with(|i| {
            let id = i.multi.add(easy);
            i.streams.insert(id, slot.clone());
            id
        });
        BodyStream {
            shared: self.shared.clone(),
            id: Some(id),
            slot,
        }
    }

    /// Open a WebSocket (`easy`'s URL and options; connect-only mode is turned on), once the
    /// upgrade is done.
    pub async fn websocket(&self, mut easy: Easy) -> Result<WebSocket, Error> {
        easy.connect_only(true);
        let req = self.request(easy);
        let id = req.id.expect("a new request");
        let shared = req.shared.clone();
        req.await_upgrade().await?;
        Ok(WebSocket {
            shared,
            id,
            buf: Vec::new(),
            out: None,
            ended: false,
            close_sent: false,
        })
    }

    /// Run `f` on the client's multi (options, info, anything the multi offers), then hand
    /// out what that finished.
    pub fn with<T>(&self, f: impl FnOnce(&mut Multi) -> T) -> T {
        self.shared.with(|i| f(&mut i.multi))
    }
}

/// A transfer on a [`Client`]: a future of its finished [`Easy`].
#[must_use = "a request does nothing useful unless awaited; dropping it cancels the transfer"]
pub struct Request {
    shared: Arc<Shared>,
    id: Option<TransferId>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request").field("id", &self.id).finish()
    }
}

impl Request {
    /// The transfer's id in the client's multi.
    pub fn id(&self) -> Option<TransferId> {
        self.id
    }

    /// A connect-only transfer's completion (the upgrade), leaving it in the multi.
    async fn await_upgrade(mut self) -> Result<(), Error> {
        let r = std::future::poll_fn(|cx| self.poll_done(cx)).await;
        // The WebSocket owns the transfer from here (or it failed: forget it).
        let id = self.id.take();
        if r.is_err() {
            if let Some(id) = id {
                self.shared.with(|i| i.forget(id));
            }
        }
        r
    }

    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(id) = self.id else {
            return Poll::Ready(Ok(()));
        };
        self.shared.with(|i| match i.finished.remove(&id) {
            Some(r) => Poll::Ready(r),
            None => {
                i.waiting.insert(id, cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

impl Future for Request {
    type Output = Result<Easy, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let r = std::task::ready!(self.poll_done(cx));
        let id = self.id.take();
        let easy = id.and_then(|id| self.shared.with(|i| i.forget(id)));
        Poll::Ready(r.and_then(|()| {
            easy.ok_or_else(|| Error::new(crate::ErrorKind::Internal, "transfer polled again"))
        }))
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.shared.with(|i| i.forget(id));
        }
    }
}
