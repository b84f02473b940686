//! [`Ready`]: what is ready on a socket (what an event loop tells
//! [`Multi::socket_action`](crate::Multi::socket_action)) or on a connect-only WebSocket
//! (what [`Multi::ws_ready`](crate::Multi::ws_ready) tells the application); shared by the
//! multi and the transfers without either depending on the other for it.

/// What your event loop saw on a socket (`CURL_CSELECT_IN`, `_OUT`, `_ERR`); from
/// [`Multi::ws_ready`](crate::Multi::ws_ready), what a connect-only WebSocket has for you
/// (data or its end, room, the end being `error`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ready {
    /// The socket is readable (or at EOF).
    pub readable: bool,
    /// The socket is writable.
    pub writable: bool,
    /// An error or hang-up condition.
    pub error: bool,
}

impl Ready {
    /// Nothing seen: for `SOCKET_TIMEOUT`, or when your loop does not tell (the multi then
    /// tries both directions).
    pub const NONE: Ready = Ready {
        readable: false,
        writable: false,
        error: false,
    };
    /// Readable.
    pub const IN: Ready = Ready {
        readable: true,
        writable: false,
        error: false,
    };
    /// Writable.
    pub const OUT: Ready = Ready {
        readable: false,
        writable: true,
        error: false,
    };
    /// Readable and writable.
    pub const INOUT: Ready = Ready {
        readable: true,
        writable: true,
        error: false,
    };
}
