//! [`TransferId`] and [`ConnId`]: the names of a transfer and of a connection in their multi,
//! shared by the multi, the transfers and the callbacks' [`Ctx`](crate::Ctx) without any of
//! them depending on another for it.

/// Identifies a transfer inside its [`Multi`](crate::Multi). Copyable; a stale id (of a
/// removed transfer) never reaches another transfer that reused the slot, because ids carry a
/// generation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

impl TransferId {
    pub(crate) fn as_u64(self) -> u64 {
        ((self.gen as u64) << 32) | self.index as u64
    }
    pub(crate) fn from_u64(v: u64) -> TransferId {
        TransferId {
            index: v as u32,
            gen: (v >> 32) as u32,
        }
    }
}

/// Identifies a connection in its multi's connection table. Like [`TransferId`] it carries a
/// generation, so an id kept after its connection closed never names the connection that
/// reused the slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ConnId {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

impl ConnId {
    /// The poller token of the connection's socket.
    #[inline]
    pub(crate) fn token(self) -> usize {
        self.index as usize
    }
}
