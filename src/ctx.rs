//! [`Ctx`]: the view of the multi handed to callbacks.

use crate::easy::Easy;
use crate::info::TransferInfo;
use crate::multi::core::{Control, Core, Deferred};
use crate::multi::TransferId;
use crate::proto::ws::session::WsSession;
use crate::ws::{WsError, WsFrame, WsHandle};

/// A transfer direction, for pause and unpause (`CURLPAUSE_RECV`, `CURLPAUSE_SEND`,
/// `CURLPAUSE_ALL`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Receiving (the write callback).
    Recv,
    /// Sending (the read callback).
    Send,
    /// Both.
    Both,
}

impl Direction {
    pub(crate) fn recv(self) -> bool {
        matches!(self, Direction::Recv | Direction::Both)
    }
    pub(crate) fn send(self) -> bool {
        matches!(self, Direction::Send | Direction::Both)
    }
}

/// What a callback may do to the multi it runs in.
///
/// Every operation here is legal from inside a callback, on the current transfer or any other
/// one in the same multi. Structural changes (adding and removing transfers) are queued and
/// applied when the current callback and step return, which is curl's notify-callback rule.
/// Operations that are not legal from a callback (`Multi::perform`, `Multi::poll`, dropping
/// the multi) are not reachable from here at all.
pub struct Ctx<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) id: TransferId,
    pub(crate) me: &'a mut Control,
    pub(crate) info: &'a TransferInfo,
    /// The current transfer's WebSocket session, when it is an open WebSocket.
    pub(crate) ws: Option<&'a mut WsSession>,
    /// Metadata of the chunk being delivered to the write callback.
    pub(crate) ws_meta: Option<WsFrame>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<'a> Ctx<'a> {
    /// The transfer this callback runs for.
    pub fn id(&self) -> TransferId {
        self.id
    }

    /// What the current transfer has reported so far.
    pub fn info(&self) -> &TransferInfo {
        self.info
    }

    /// What another transfer has reported so far; `None` for an unknown id. For the current
    /// transfer use [`Ctx::info`].
    pub fn info_of(&self, id: TransferId) -> Option<&TransferInfo> {
        if id == self.id {
            return Some(self.info);
        }
        self.core.transfer(id).map(|x| &*x.info)
    }

    /// Pause a direction of the current transfer (`curl_easy_pause`). Returning
    /// [`Flow::Pause`](crate::Flow::Pause) from a write callback does the same for receiving.
    pub fn pause(&mut self, dir: Direction) {
        self.me.pause(dir);
    }

    /// Pause a direction of any transfer of this multi. Returns `false` for an unknown id.
    pub fn pause_transfer(&mut self, id: TransferId, dir: Direction) -> bool {
        if id == self.id {
            self.me.pause(dir);
            return true;
        }
        self.core.pause(id, dir)
    }

    /// Resume a direction of any transfer of this multi (the current one included). Paused
    /// data is delivered again after the current callback returns. Returns `false` for an
    /// unknown id.
    pub fn unpause(&mut self, id: TransferId, dir: Direction) -> bool {
        if id == self.id {
            self.me.unpause(dir);
            return true;
        }
        self.core.unpause(id, dir)
    }

    /// The metadata of the WebSocket chunk this write callback is delivering (`curl_ws_meta`);
    /// `None` outside a WebSocket write callback.
    pub fn ws_meta(&self) -> Option<WsFrame> {
        self.ws_meta
    }

    /// The current transfer's WebSocket, to send from inside a callback (`curl_ws_send` from a
    /// write callback). Sends are queued and never block.
    pub fn ws(&mut self) -> Result<WsHandle<'_>, WsError> {
        let meta = self.ws_meta;
        match self.ws.as_deref_mut() {
            Some(session) => {
                crate::multi::core::lend_send_buffer(&mut self.core.bufs, session);
                Ok(WsHandle {
                    session,
                    conn: None,
                    meta,
                    ended: None,
                })
            }
            None => Err(WsError::NotWebSocket),
        }
    }

    /// Another transfer's WebSocket (or the current one's), to send on it from this callback:
    /// a broadcast from one connection's callback to many others. The target is flushed by the
    /// multi after this step.
    pub fn ws_of(&mut self, id: TransferId) -> Result<WsHandle<'_>, WsError> {
        if id == self.id {
            return self.ws();
        }
        // A connect-only transfer can be read from here too (non-blocking); a callback-model
        // transfer's data goes to its own write callback.
        self.core.ws_handle(id)
    }

    /// Add a transfer to this multi. It starts after the current step; its id is valid now.
    pub fn add(&mut self, easy: Easy) -> TransferId {
        self.core.reserve_and_defer_add(easy)
    }

    /// Remove a transfer from this multi (the current one included) after the current step.
    /// A transfer that had not finished ends with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled); its [`Easy`] is dropped. To get
    /// the `Easy` back, remove it from outside callbacks with
    /// [`Multi::remove`](crate::Multi::remove).
    pub fn remove(&mut self, id: TransferId) {
        if id == self.id {
            self.me.removed = true;
        }
        self.core.deferred.push(Deferred::Remove(id));
    }
}
