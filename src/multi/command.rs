//! Commands from other threads: add a transfer (its id comes back at once), pause, unpause or
//! cancel one, send on a WebSocket, close one. They travel
//! through a bounded crossbeam channel and are applied on the loop's thread at its next turn;
//! queueing one wakes the loop (a blocked [`Multi::poll`](super::Multi::poll), or, with
//! `socket_action`, the multi's internal socket).

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};

use crate::ctx::Direction;
use crate::easy::Easy;
use crate::id::{Generations, TransferId};
use crate::multi::core::Core;
use crate::ws::{WsError, WsHandle};

/// Default capacity of the command channel (commands, not bytes); see
/// [`Multi::set_command_capacity`](super::Multi::set_command_capacity).
pub const COMMAND_CAPACITY: usize = 1024;

pub(crate) enum Command {
    /// A transfer and the generation of the id given out for it.
    Add(Box<Easy>, u32),
    /// Cancel a transfer that has not finished.
    Remove(TransferId),
    Pause(TransferId, Direction),
    Unpause(TransferId, Direction),
    WsSend {
        id: TransferId,
        data: Vec<u8>,
        flags: u32,
    },
    WsClose {
        id: TransferId,
        code: u16,
        reason: String,
    },
}

/// A command being applied: a send remembers how much of its message the queue took.
pub(crate) struct PendingCommand {
    cmd: Command,
    sent: usize,
}

impl PendingCommand {
    pub(crate) fn new(cmd: Command) -> Self {
        PendingCommand { cmd, sent: 0 }
    }

    /// Apply on the loop's thread; `Some(self)` when a send queue is full (retry later).
    pub(crate) fn apply(mut self, core: &mut Core) -> Option<PendingCommand> {
        match &self.cmd {
            Command::Add(..) => {
                let Command::Add(easy, gen) = self.cmd else {
                    unreachable!()
                };
                core.add_placed(*easy, gen);
                None
            }
            Command::Remove(id) => {
                let live = core.cancel(*id);
                core.count_if_dropped(live);
                None
            }
            Command::Pause(id, dir) => {
                let live = core.unfinished(*id) && core.pause(*id, *dir);
                core.count_if_dropped(live);
                None
            }
            Command::Unpause(id, dir) => {
                let live = core.unfinished(*id) && core.unpause(*id, *dir);
                core.count_if_dropped(live);
                None
            }
            Command::WsSend { id, data, flags } => {
                let r = match core.ws_handle(*id) {
                    Ok(mut h) => send_all(&mut h, data, *flags, &mut self.sent),
                    Err(_) => Err(()),
                };
                match r {
                    Ok(true) => None,
                    Ok(false) => Some(self),
                    Err(()) => {
                        core.dropped_commands += 1;
                        None
                    }
                }
            }
            Command::WsClose { id, code, reason } => {
                let r = core.ws_handle(*id).and_then(|mut h| h.close(*code, reason));
                match r {
                    Ok(()) => None,
                    Err(WsError::WouldBlock) => Some(self),
                    Err(_) => {
                        core.dropped_commands += 1;
                        None
                    }
                }
            }
        }
    }
}

/// Why a command could not be queued.
#[derive(Debug)]
pub enum CommandError<T> {
    /// The channel is full (only from the `try_` methods); the value is handed back.
    Full(T),
    /// The multi is gone; the value is handed back.
    Disconnected(T),
}

impl<T> fmt::Display for CommandError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Full(_) => f.write_str("the command channel is full"),
            CommandError::Disconnected(_) => f.write_str("the multi is gone"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for CommandError<T> {}

/// Queue work for a [`Multi`](super::Multi) from any thread (cloneable, `Send + Sync`).
///
/// Commands are applied on the loop's thread, in the order they were queued, at its next turn;
/// queueing one wakes the loop. A WebSocket send that does not fit the transfer's send queue
/// waits until the loop has flushed enough (the commands behind it wait too). A command for a
/// transfer that is gone or not an open WebSocket is dropped and counted
/// ([`Multi::dropped_commands`](super::Multi::dropped_commands)). The channel holds at most
/// [`COMMAND_CAPACITY`] commands (an option); the plain methods block the calling thread while
/// it is full, the `try_` ones return [`CommandError::Full`].
///
/// ```no_run
/// use curlew::{ws, Easy, Multi};
/// let mut multi = Multi::new();
/// let mut easy = Easy::new("ws://127.0.0.1:9001/")?;
/// easy.connect_only(true);
/// let id = multi.add(easy);
/// let sender = multi.command_sender();
/// std::thread::spawn(move || {
///     sender.send_ws(id, b"hello from another thread".to_vec(), ws::TEXT).unwrap();
/// });
/// loop {
///     multi.poll(None)?; // woken by the command
/// #   break;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CommandSender {
    pub(crate) tx: Sender<Command>,
    pub(crate) waker: Arc<mio::Waker>,
    pub(crate) gens: Arc<Generations>,
}

impl fmt::Debug for CommandSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandSender")
            .field("queued", &self.tx.len())
            .finish_non_exhaustive()
    }
}

impl CommandSender {
    fn put(&self, cmd: Command) -> Result<(), Command> {
        self.tx.send(cmd).map_err(|e| e.0)?;
        let _ = self.waker.wake();
        Ok(())
    }

    fn try_put(&self, cmd: Command) -> Result<(), CommandError<Command>> {
        match self.tx.try_send(cmd) {
            Ok(()) => {
                let _ = self.waker.wake();
                Ok(())
            }
            Err(TrySendError::Full(c)) => Err(CommandError::Full(c)),
            Err(TrySendError::Disconnected(c)) => Err(CommandError::Disconnected(c)),
        }
    }

    /// Add a transfer; returns its id at once (it equals [`Ctx::id`](crate::Ctx::id) in its
    /// callbacks and the id of its completion from
    /// [`Multi::info_read`](super::Multi::info_read)), usable in further commands before the
    /// loop has taken the transfer in: they are applied after it.
    pub fn add(&self, easy: Easy) -> Result<TransferId, CommandError<Box<Easy>>> {
        let gen = self.gens.next();
        self.put(Command::Add(Box::new(easy), gen))
            .map(|()| TransferId::unplaced(gen))
            .map_err(|c| match c {
                Command::Add(e, _) => CommandError::Disconnected(e),
                _ => unreachable!(),
            })
    }

    /// Cancel transfer `id` if it has not finished: its connection is closed (as
    /// [`Multi::remove`](super::Multi::remove) does for an unfinished transfer), it ends with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) and its completion message is
    /// queued; the [`Easy`] stays in the multi until the loop's thread takes it with
    /// `Multi::remove`. For a finished or unknown transfer the command is dropped and counted
    /// ([`Multi::dropped_commands`](super::Multi::dropped_commands)).
    pub fn remove(&self, id: TransferId) -> Result<(), CommandError<()>> {
        self.put(Command::Remove(id))
            .map_err(|_| CommandError::Disconnected(()))
    }

    /// Pause a direction of transfer `id` ([`Multi::pause`](super::Multi::pause)); dropped and
    /// counted for a finished or unknown transfer.
    pub fn pause(&self, id: TransferId, dir: Direction) -> Result<(), CommandError<()>> {
        self.put(Command::Pause(id, dir))
            .map_err(|_| CommandError::Disconnected(()))
    }

    /// Resume a direction of transfer `id` ([`Multi::unpause`](super::Multi::unpause));
    /// dropped and counted for a finished or unknown transfer.
    pub fn unpause(&self, id: TransferId, dir: Direction) -> Result<(), CommandError<()>> {
        self.put(Command::Unpause(id, dir))
            .map_err(|_| CommandError::Disconnected(()))
    }

    /// Send a whole WebSocket message (`flags`: [`TEXT`](crate::ws::TEXT) or
    /// [`BINARY`](crate::ws::BINARY), or a control frame type) on transfer `id`.
    pub fn send_ws(
        &self,
        id: TransferId,
        data: Vec<u8>,
        flags: u32,
    ) -> Result<(), CommandError<Vec<u8>>> {
        self.put(Command::WsSend { id, data, flags })
            .map_err(|c| CommandError::Disconnected(into_data(c)))
    }

    /// [`send_ws`](Self::send_ws) without blocking when the channel is full.
    pub fn try_send_ws(
        &self,
        id: TransferId,
        data: Vec<u8>,
        flags: u32,
    ) -> Result<(), CommandError<Vec<u8>>> {
        self.try_put(Command::WsSend { id, data, flags })
            .map_err(|e| match e {
                CommandError::Full(c) => CommandError::Full(into_data(c)),
                CommandError::Disconnected(c) => CommandError::Disconnected(into_data(c)),
            })
    }

    /// Start the close handshake of WebSocket transfer `id`.
    pub fn close_ws(
        &self,
        id: TransferId,
        code: u16,
        reason: &str,
    ) -> Result<(), CommandError<()>> {
        self.put(Command::WsClose {
            id,
            code,
            reason: reason.to_owned(),
        })
        .map_err(|_| CommandError::Disconnected(()))
    }

    /// Wake the loop without a command ([`MultiWaker::wake`](super::MultiWaker::wake)).
    pub fn wake(&self) -> std::io::Result<()> {
        self.waker.wake()
    }
}

fn into_data(c: Command) -> Vec<u8> {
    match c {
        Command::WsSend { data, .. } => data,
        _ => Vec::new(),
    }
}

/// Send the rest of a queued message from `sent` on: `Ok(true)` when all of it went,
/// `Ok(false)` when the send queue is full (try again later), `Err` when the transfer cannot
/// take it (the command is dropped).
fn send_all(h: &mut WsHandle<'_>, data: &[u8], flags: u32, sent: &mut usize) -> Result<bool, ()> {
    loop {
        match h.send(&data[*sent..], flags) {
            Ok(n) => {
                *sent += n;
                if *sent >= data.len() {
                    return Ok(true);
                }
                if n == 0 {
                    return Ok(false);
                }
            }
            Err(WsError::WouldBlock) => return Ok(false),
            Err(_) => return Err(()),
        }
    }
}
