//! [`TransferId`]: the name of a transfer in its multi, shared by the multi, the transfers and
//! the callbacks' [`Ctx`](crate::Ctx) without any of them depending on another for it.

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
