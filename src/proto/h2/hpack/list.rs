//! [`HeaderList`]: a decoded header list in one byte buffer, reusable from
//! one header block to the next without allocating.

use std::fmt;

/// A list of header fields stored back to back in one buffer.
///
/// Names and values are bytes as they came off the wire; checking them (no
/// uppercase names, pseudo-headers first, no connection-specific fields) is
/// the connection's job (RFC 9113 §8.2).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    buf: Vec<u8>,
    /// `(start, name_len, value_len)` into `buf`.
    fields: Vec<(u32, u32, u32)>,
    /// Sum of `name + value + 32` over the fields (RFC 9113 §6.5.2).
    size: usize,
}

impl HeaderList {
    /// An empty list.
    pub fn new() -> HeaderList {
        HeaderList::default()
    }

    /// Removes every field, keeping the storage.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.fields.clear();
        self.size = 0;
    }

    /// Appends a field.
    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(value);
        self.commit(start, name.len(), value.len());
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Bytes of storage the list holds (its capacity), for reuse decisions.
    pub fn storage(&self) -> usize {
        self.buf.capacity() + self.fields.capacity() * std::mem::size_of::<(u32, u32, u32)>()
    }

    /// The list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The field at `i`.
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let &(s, n, v) = self.fields.get(i)?;
        let (s, n, v) = (s as usize, n as usize, v as usize);
        Some((&self.buf[s..s + n], &self.buf[s + n..s + n + v]))
    }

    /// Iterates over `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The value of the first field called `name`.
    pub fn value(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    // The decoder writes strings straight into the buffer: these three let it
    // mark where a field starts, record it, or drop what it wrote.
    pub(super) fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    pub(super) fn commit(&mut self, start: usize, name_len: usize, value_len: usize) {
        self.fields
            .push((start as u32, name_len as u32, value_len as u32));
        self.size += name_len + value_len + super::table::ENTRY_OVERHEAD;
    }

    pub(super) fn truncate_buf(&mut self, len: usize) {
        self.buf.truncate(len);
    }
}

impl fmt::Debug for HeaderList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}
