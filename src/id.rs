//! [`TransferId`] and [`ConnId`]: the names of a transfer and of a connection in their multi,
//! shared by the multi, the transfers and the callbacks' [`Ctx`](crate::Ctx) without any of
//! them depending on another for it.

/// Identifies a transfer inside its [`Multi`](crate::Multi). Copyable; a stale id (of a
/// removed transfer) never reaches another transfer that reused the slot, because ids carry a
/// generation: a number the multi gives each transfer it is handed, never twice until 2^32
/// transfers later. Ids compare, hash and order by that number alone, so the id
/// [`CommandSender::add`](crate::CommandSender::add) returns on another thread (which cannot
/// know the transfer's slot yet) equals the one the multi reports.
#[derive(Copy, Clone, Debug)]
pub struct TransferId {
    pub(crate) index: u32,
    pub(crate) gen: u32,
}

impl PartialEq for TransferId {
    fn eq(&self, other: &Self) -> bool {
        self.gen == other.gen
    }
}

impl Eq for TransferId {}

impl std::hash::Hash for TransferId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.gen.hash(state)
    }
}

impl PartialOrd for TransferId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TransferId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.gen.cmp(&other.gen)
    }
}

/// The slot of a transfer added from another thread is not known to its id there.
pub(crate) const UNPLACED: u32 = u32::MAX;

/// Generations of transfer ids, shared by a multi and its command senders.
#[derive(Debug, Default)]
pub(crate) struct Generations(std::sync::atomic::AtomicU32);

impl Generations {
    /// The next generation (never 0).
    pub(crate) fn next(&self) -> u32 {
        loop {
            let g = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if g != 0 {
                return g;
            }
        }
    }
}

impl TransferId {
    /// The id of a transfer added from another thread, before the multi places it.
    pub(crate) fn unplaced(gen: u32) -> TransferId {
        TransferId {
            index: UNPLACED,
            gen,
        }
    }

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
