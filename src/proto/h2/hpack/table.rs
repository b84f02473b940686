//! The HPACK static table (RFC 7541 Appendix A) and dynamic table (§2.3.2,
//! §4): one address space, static entries 1..=61 then dynamic entries from
//! the newest.
//!
//! A dynamic entry is one `Vec<u8>` holding name then value; an evicted
//! entry's buffer is reused by the next insertion when large enough, so a
//! table that has filled up inserts without allocating.

use std::collections::VecDeque;

/// Size overhead of an entry (§4.1): name length + value length + 32.
pub const ENTRY_OVERHEAD: usize = 32;

/// The static table (Appendix A); index `i` is `STATIC[i - 1]`.
pub const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Looks `name` (and `value`) up in the static table.
///
/// Returns `(name_index, full_index)`: the first index with that name, and
/// the index of an entry with that name and value, each if any.
pub fn find_static(name: &[u8], value: &[u8]) -> (Option<usize>, Option<usize>) {
    let (first, n) = static_range(name);
    if n == 0 {
        return (None, None);
    }
    let full = (first..first + n).find(|&i| STATIC[i - 1].1 == value);
    (Some(first), full)
}

/// First static index carrying `name` and how many entries carry it.
fn static_range(name: &[u8]) -> (usize, usize) {
    match name {
        b":authority" => (1, 1),
        b":method" => (2, 2),
        b":path" => (4, 2),
        b":scheme" => (6, 2),
        b":status" => (8, 7),
        _ => match STATIC[14..].iter().position(|e| e.0 == name) {
            Some(p) => (15 + p, 1),
            None => (0, 0),
        },
    }
}

/// The dynamic table of one HPACK context.
#[derive(Debug, Default)]
pub struct DynamicTable {
    /// Newest first; each holds name then value.
    entries: VecDeque<(Vec<u8>, usize)>,
    /// Sum of entry sizes (§4.1).
    size: usize,
    /// Current maximum size (§4.2).
    max_size: usize,
    /// An evicted buffer kept for the next insertion.
    spare: Option<Vec<u8>>,
}

impl DynamicTable {
    /// An empty table of at most `max_size` bytes.
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            max_size,
            ..DynamicTable::default()
        }
    }

    /// Current size (§4.1).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Current maximum size.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at 0-based position `i` (0 is the newest).
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let (buf, name_len) = self.entries.get(i)?;
        Some(buf.split_at(*name_len))
    }

    /// The entry at HPACK index `index` (1-based, static then dynamic).
    pub fn lookup(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match index {
            0 => None,
            1..=61 => Some(STATIC[index - 1]),
            _ => self.get(index - 62),
        }
    }

    /// Changes the maximum size, evicting as needed (§4.3).
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Inserts an entry, evicting older ones (§4.4). An entry larger than the
    /// maximum size empties the table and is not inserted.
    pub fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + ENTRY_OVERHEAD;
        if size > self.max_size {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - size);
        let mut buf = self.spare.take().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(name);
        buf.extend_from_slice(value);
        self.entries.push_front((buf, name.len()));
        self.size += size;
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some((buf, _)) = self.entries.pop_back() else {
                break;
            };
            self.size -= buf.len() + ENTRY_OVERHEAD;
            if self
                .spare
                .as_ref()
                .is_none_or(|s| s.capacity() < buf.capacity())
            {
                self.spare = Some(buf);
            }
        }
    }

    /// Finds `(name_index, full_index)` among the dynamic entries, as HPACK
    /// indices (62 and up).
    pub fn find(&self, name: &[u8], value: &[u8]) -> (Option<usize>, Option<usize>) {
        let mut name_idx = None;
        for (i, (buf, nl)) in self.entries.iter().enumerate() {
            let (n, v) = buf.split_at(*nl);
            if n == name {
                if v == value {
                    return (Some(62 + i), Some(62 + i));
                }
                name_idx.get_or_insert(62 + i);
            }
        }
        (name_idx, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_lookups() {
        assert_eq!(find_static(b":method", b"POST"), (Some(2), Some(3)));
        assert_eq!(find_static(b":status", b"404"), (Some(8), Some(13)));
        assert_eq!(find_static(b":status", b"201"), (Some(8), None));
        assert_eq!(find_static(b"user-agent", b"x"), (Some(58), None));
        assert_eq!(find_static(b"www-authenticate", b""), (Some(61), Some(61)));
        assert_eq!(find_static(b"x-custom", b""), (None, None));
        for (i, (n, v)) in STATIC.iter().enumerate() {
            let (ni, fi) = find_static(n, v);
            assert_eq!(STATIC[ni.unwrap() - 1].0, *n);
            assert_eq!(STATIC[fi.unwrap() - 1], STATIC[i]);
        }
    }

    #[test]
    fn insert_evict_and_resize() {
        let mut t = DynamicTable::new(100);
        t.insert(b"aaaa", b"1111"); // 40
        t.insert(b"bbbb", b"2222"); // 80
        assert_eq!((t.len(), t.size()), (2, 80));
        assert_eq!(t.lookup(62), Some((&b"bbbb"[..], &b"2222"[..])));
        assert_eq!(t.lookup(63), Some((&b"aaaa"[..], &b"1111"[..])));
        assert_eq!(t.lookup(64), None);
        assert_eq!(t.lookup(0), None);
        t.insert(b"cccc", b"3333"); // evicts aaaa
        assert_eq!((t.len(), t.size()), (2, 80));
        assert_eq!(t.find(b"bbbb", b"x"), (Some(63), None));
        assert_eq!(t.find(b"cccc", b"3333"), (Some(62), Some(62)));
        t.set_max_size(40);
        assert_eq!((t.len(), t.size()), (1, 40));
        t.insert(&[b'x'; 20], &[b'y'; 20]); // 72 > 40: empties the table
        assert!(t.is_empty());
        assert_eq!(t.size(), 0);
    }
}
