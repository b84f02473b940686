//! HPACK encoder (RFC 7541 §6), for request heads.
//!
//! Each field becomes, in order of preference: an indexed field (static or
//! dynamic match of name and value); a literal with incremental indexing for
//! fields worth remembering (the usual request headers, repeated on every
//! request of a connection); a literal without indexing for fields that
//! change per request (`:path`, `content-length`, long values); a literal
//! never indexed for credentials (§7.1.3). Names come from the tables when
//! they can. Strings are Huffman-coded when that is shorter.
//!
//! The table never grows beyond [`MAX_ENCODER_TABLE`] whatever the peer
//! allows, and a change of the peer's SETTINGS_HEADER_TABLE_SIZE is announced
//! at the start of the next block (§4.2, §6.3).

use super::huffman;
use super::table::{find_static, DynamicTable};

/// Largest dynamic table the encoder keeps, whatever the peer allows: the
/// usual request headers fit many times over, and a bigger table would only
/// cost lookups.
pub const MAX_ENCODER_TABLE: usize = 4096;
/// Values longer than this are not indexed: they would push out many small,
/// often repeated entries.
pub const MAX_INDEXED_VALUE: usize = 512;

/// The encoding side of one HPACK context.
#[derive(Debug)]
pub struct Encoder {
    table: DynamicTable,
    /// A size update to emit at the start of the next block (§4.2): the
    /// smallest size since the last block, then the final one.
    pending: Option<(usize, usize)>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

/// Appends an integer with an `n`-bit prefix and the high bits `flags` (§5.1).
pub fn encode_int(out: &mut Vec<u8>, flags: u8, n: u8, v: usize) {
    let mask = (1usize << n) - 1;
    if v < mask {
        out.push(flags | v as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut rest = v - mask;
    while rest >= 0x80 {
        out.push((rest as u8 & 0x7f) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Appends a string literal, Huffman-coded when shorter (§5.2).
pub fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    let hlen = huffman::encoded_len(s);
    if hlen < s.len() {
        encode_int(out, 0x80, 7, hlen);
        huffman::encode(s, out);
    } else {
        encode_int(out, 0, 7, s.len());
        out.extend_from_slice(s);
    }
}

/// How a literal is represented (§6.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Literal {
    Incremental,
    WithoutIndexing,
    NeverIndexed,
}

fn classify(name: &[u8], value: &[u8]) -> Literal {
    match name {
        b"authorization" | b"proxy-authorization" | b"cookie" | b"set-cookie" => {
            Literal::NeverIndexed
        }
        b":path" | b"content-length" | b"if-modified-since" | b"if-none-match" | b"range" => {
            Literal::WithoutIndexing
        }
        _ if value.len() > MAX_INDEXED_VALUE => Literal::WithoutIndexing,
        _ => Literal::Incremental,
    }
}

impl Encoder {
    /// An encoder with the default table size (4096, §6.5.2).
    pub fn new() -> Encoder {
        Encoder {
            table: DynamicTable::new(MAX_ENCODER_TABLE),
            pending: None,
        }
    }

    /// The dynamic table, for inspection.
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: use at most that much.
    pub fn set_peer_table_size(&mut self, size: u32) {
        let size = (size as usize).min(MAX_ENCODER_TABLE);
        if size == self.table.max_size() && self.pending.is_none() {
            return;
        }
        let low = self.pending.map_or(size, |(low, _)| low.min(size));
        self.pending = Some((low, size));
        self.table.set_max_size(size);
    }

    /// Appends the header block of `fields` to `out`.
    pub fn encode<'a, I>(&mut self, fields: I, out: &mut Vec<u8>)
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        if let Some((low, last)) = self.pending.take() {
            if low != last {
                encode_int(out, 0x20, 5, low);
            }
            encode_int(out, 0x20, 5, last);
        }
        for (name, value) in fields {
            self.field(name, value, out);
        }
    }

    fn field(&mut self, name: &[u8], value: &[u8], out: &mut Vec<u8>) {
        let kind = classify(name, value);
        let (s_name, s_full) = find_static(name, value);
        if let Some(i) = s_full {
            return encode_int(out, 0x80, 7, i);
        }
        let (d_name, d_full) = if kind == Literal::NeverIndexed {
            (None, None)
        } else {
            self.table.find(name, value)
        };
        if let Some(i) = d_full {
            return encode_int(out, 0x80, 7, i);
        }
        let name_index = s_name.or(d_name).unwrap_or(0);
        match kind {
            Literal::Incremental => encode_int(out, 0x40, 6, name_index),
            Literal::WithoutIndexing => encode_int(out, 0x00, 4, name_index),
            Literal::NeverIndexed => encode_int(out, 0x10, 4, name_index),
        }
        if name_index == 0 {
            encode_string(out, name);
        }
        encode_string(out, value);
        if kind == Literal::Incremental {
            self.table.insert(name, value);
        }
    }
}
