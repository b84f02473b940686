//! [`Ctx`]: the view of the multi handed to callbacks.

use crate::easy::Easy;
use crate::id::TransferId;
use crate::info::TransferInfo;
use crate::proto::ws::session::WsSession;
use crate::ws::{WsError, WsFrame, WsHandle};

/// What a callback may do to the multi it runs in, beyond its own transfer: the multi
/// implements it, and [`Ctx`] reaches the multi only through it.
pub(crate) trait Host {
    /// What another transfer has reported.
    fn info_of(&self, id: TransferId) -> Option<&TransferInfo>;
    /// Pause a direction of another transfer; `false` for an unknown id.
    fn pause(&mut self, id: TransferId, dir: Direction) -> bool;
    /// Resume a direction of another transfer; `false` for an unknown id.
    fn unpause(&mut self, id: TransferId, dir: Direction) -> bool;
    /// Give a WebSocket session send-queue storage from the multi's pool if it has none.
    fn lend_send_buffer(&mut self, session: &mut WsSession);
    /// A handle on another transfer's WebSocket.
    fn ws_handle(&mut self, id: TransferId) -> Result<WsHandle<'_>, WsError>;
    /// Add a transfer after the current step; its id is valid now.
    fn add(&mut self, easy: Easy) -> TransferId;
    /// Remove a transfer after the current step.
    fn remove(&mut self, id: TransferId);
}

/// Per-transfer flags a callback may change on its own transfer while it is being stepped.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Control {
    pub(crate) recv_paused: bool,
    pub(crate) send_paused: bool,
    /// `Ctx::remove` was called on the current transfer.
    pub(crate) removed: bool,
    /// Unpause happened: re-run the transfer.
    pub(crate) kick: bool,
    /// A command cancelled the transfer: it fails at its next step.
    pub(crate) cancel: bool,
}

impl Control {
    pub(crate) fn pause(&mut self, dir: Direction) {
        if dir.recv() {
            self.recv_paused = true;
        }
        if dir.send() {
            self.send_paused = true;
        }
    }
    pub(crate) fn unpause(&mut self, dir: Direction) {
        if dir.recv() {
            self.recv_paused = false;
        }
        if dir.send() {
            self.send_paused = false;
        }
        self.kick = true;
    }
}

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
    pub(crate) host: &'a mut dyn Host,
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
    /// The one way a `Ctx` is made: for the callback of transfer `id`, whose flags are `me`
    /// and info `info`, in the multi `host`; with its WebSocket session and the metadata of the
    /// chunk being delivered, when there are.
    pub(crate) fn new(
        host: &'a mut dyn Host,
        id: TransferId,
        me: &'a mut Control,
        info: &'a TransferInfo,
        ws: Option<&'a mut WsSession>,
        ws_meta: Option<WsFrame>,
    ) -> Self {
        Ctx {
            host,
            id,
            me,
            info,
            ws,
            ws_meta,
        }
    }

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
        self.host.info_of(id)
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
        self.host.pause(id, dir)
    }

    /// Resume a direction of any transfer of this multi (the current one included). Paused
    /// data is delivered again after the current callback returns. Returns `false` for an
    /// unknown id.
    pub fn unpause(&mut self, id: TransferId, dir: Direction) -> bool {
        if id == self.id {
            self.me.unpause(dir);
            return true;
        }
        self.host.unpause(id, dir)
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
                if !session.has_send_buffer() {
                    self.host.lend_send_buffer(session);
                }
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
        self.host.ws_handle(id)
    }

    /// Add a transfer to this multi. It starts after the current step; its id is valid now.
    pub fn add(&mut self, easy: Easy) -> TransferId {
        self.host.add(easy)
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
        self.host.remove(id);
    }
}
