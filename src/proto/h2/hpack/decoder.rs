//! HPACK decoder (RFC 7541 §3, §6): header block to [`HeaderList`].
//!
//! A block is decoded whole (the connection gathers HEADERS and its
//! CONTINUATION frames first). Dynamic table size updates are accepted only
//! before the first field of a block and never above the size we announced
//! in SETTINGS_HEADER_TABLE_SIZE (§4.2, §6.3). The decoded list is bounded
//! by `max_list_size`: past it, fields are still decoded (the dynamic table
//! must stay in step with the encoder's) but no longer stored, and the block
//! ends in [`HpackError::ListTooLarge`]; memory stays bounded by the block
//! size because every string is at most 8/5 of its encoded length.

use super::list::HeaderList;
use super::table::DynamicTable;
use super::{huffman, HpackError};

/// Largest integer accepted in a representation (§5.1): far above any valid
/// index, length or table size, low enough that the arithmetic cannot
/// overflow.
pub const MAX_INTEGER: usize = 1 << 28;

/// The decoding side of one HPACK context.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// SETTINGS_HEADER_TABLE_SIZE as we announced it.
    max_table_size: usize,
    /// Limit on the decoded list size (name + value + 32 per field).
    max_list_size: usize,
    /// Recently decoded Huffman strings ([`HuffCache`]).
    huff: HuffCache,
}

/// Huffman strings decoded lately, by their coded bytes. Servers that never index their
/// response fields (nginx) send the same coded `content-type`, `etag`, `last-modified` and
/// `server` in every response; a hit is a comparison and a copy instead of a decode (about
/// 2,500 instructions of a 1 KiB response from nginx). Decoding is a pure function of the
/// coded bytes, so a hit gives exactly what decoding would.
#[derive(Debug, Default)]
struct HuffCache {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    next: usize,
}

/// Most strings in the [`HuffCache`].
const HUFF_CACHE_ENTRIES: usize = 16;
/// Longest coded string the [`HuffCache`] keeps.
const HUFF_CACHE_MAX: usize = 96;

impl HuffCache {
    /// Decode `raw` onto `out`, from the cache when it was seen lately.
    fn decode(&mut self, raw: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
        if raw.len() > HUFF_CACHE_MAX {
            return huffman::decode(raw, out);
        }
        if let Some((_, d)) = self.entries.iter().find(|(r, _)| r.as_slice() == raw) {
            out.extend_from_slice(d);
            return Ok(());
        }
        let start = out.len();
        huffman::decode(raw, out)?;
        let decoded = &out[start..];
        if self.entries.len() < HUFF_CACHE_ENTRIES {
            self.entries.push((raw.to_vec(), decoded.to_vec()));
        } else {
            let (r, d) = &mut self.entries[self.next];
            r.clear();
            r.extend_from_slice(raw);
            d.clear();
            d.extend_from_slice(decoded);
            self.next = (self.next + 1) % HUFF_CACHE_ENTRIES;
        }
        Ok(())
    }
}

/// Decodes an integer with an `n`-bit prefix from `buf[*pos..]` (§5.1).
pub fn decode_int(buf: &[u8], pos: &mut usize, n: u8) -> Result<usize, HpackError> {
    let mask = (1usize << n) - 1;
    let first = *buf.get(*pos).ok_or(HpackError::Truncated)?;
    *pos += 1;
    let mut v = first as usize & mask;
    if v < mask {
        return Ok(v);
    }
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos).ok_or(HpackError::Truncated)?;
        *pos += 1;
        v += ((b & 0x7f) as usize) << shift;
        if v > MAX_INTEGER {
            return Err(HpackError::IntegerOverflow);
        }
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

impl Decoder {
    /// A decoder whose table may grow to `max_table_size` (what we announce
    /// as SETTINGS_HEADER_TABLE_SIZE) and whose lists stop at `max_list_size`.
    pub fn new(max_table_size: usize, max_list_size: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(max_table_size),
            max_table_size,
            max_list_size,
            huff: HuffCache::default(),
        }
    }

    /// The dynamic table, for inspection.
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes a whole header block, appending its fields to `out`.
    pub fn decode(&mut self, block: &[u8], out: &mut HeaderList) -> Result<(), HpackError> {
        let mut pos = 0;
        let mut fields_seen = false;
        let mut too_large = false;
        while pos < block.len() {
            let b = block[pos];
            if b & 0xe0 == 0x20 {
                if fields_seen {
                    return Err(HpackError::LateSizeUpdate);
                }
                self.size_update(block, &mut pos)?;
                continue;
            }
            fields_seen = true;
            let fits = self.field(block, &mut pos, out)?;
            too_large |= !fits;
        }
        if too_large {
            return Err(HpackError::ListTooLarge);
        }
        Ok(())
    }

    fn size_update(&mut self, block: &[u8], pos: &mut usize) -> Result<(), HpackError> {
        let size = decode_int(block, pos, 5)?;
        if size > self.max_table_size {
            return Err(HpackError::TableSizeTooLarge);
        }
        self.table.set_max_size(size);
        Ok(())
    }

    /// Decodes one field representation; false when it was over the list
    /// limit (and so not kept in `out`).
    fn field(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        out: &mut HeaderList,
    ) -> Result<bool, HpackError> {
        let b = block[*pos];
        if b & 0x80 != 0 {
            let index = decode_int(block, pos, 7)?;
            let (n, v) = self.table.lookup(index).ok_or(HpackError::BadIndex)?;
            return Ok(keep(out, self.max_list_size, n, v));
        }
        let (prefix, index_it) = if b & 0x40 != 0 { (6, true) } else { (4, false) };
        let start = out.buf_mut().len();
        let name_len = self.literal_name(block, pos, prefix, out)?;
        let value_len = read_string(block, pos, out, &mut self.huff)?;
        let (name, value) = out_split(out, start, name_len, value_len);
        if index_it {
            self.table.insert(name, value);
        }
        let fits =
            out.size() + name_len + value_len + super::table::ENTRY_OVERHEAD <= self.max_list_size;
        if fits {
            out.commit(start, name_len, value_len);
        } else {
            out.truncate_buf(start);
        }
        Ok(fits)
    }

    /// Writes the name of a literal (indexed or new) into `out`'s buffer.
    fn literal_name(
        &mut self,
        block: &[u8],
        pos: &mut usize,
        prefix: u8,
        out: &mut HeaderList,
    ) -> Result<usize, HpackError> {
        let index = decode_int(block, pos, prefix)?;
        if index == 0 {
            return read_string(block, pos, out, &mut self.huff);
        }
        let (n, _) = self.table.lookup(index).ok_or(HpackError::BadIndex)?;
        out.buf_mut().extend_from_slice(n);
        Ok(n.len())
    }
}

/// Stores an indexed field unless it overflows the list limit.
fn keep(out: &mut HeaderList, max: usize, name: &[u8], value: &[u8]) -> bool {
    let fits = out.size() + name.len() + value.len() + super::table::ENTRY_OVERHEAD <= max;
    if fits {
        out.push(name, value);
    }
    fits
}

fn out_split(out: &mut HeaderList, start: usize, n: usize, v: usize) -> (&[u8], &[u8]) {
    out.buf_mut()[start..start + n + v].split_at(n)
}

/// Reads a string literal (§5.2) and appends its bytes to `out`'s buffer.
fn read_string(
    block: &[u8],
    pos: &mut usize,
    out: &mut HeaderList,
    huff_cache: &mut HuffCache,
) -> Result<usize, HpackError> {
    let huff = *block.get(*pos).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = decode_int(block, pos, 7)?;
    let end = pos.checked_add(len).ok_or(HpackError::Truncated)?;
    let raw = block.get(*pos..end).ok_or(HpackError::Truncated)?;
    *pos = end;
    let buf = out.buf_mut();
    let before = buf.len();
    if huff {
        huff_cache.decode(raw, buf)?;
    } else {
        buf.extend_from_slice(raw);
    }
    Ok(buf.len() - before)
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    /// A hit gives what decoding gives: strings seen again, strings sharing a prefix, long
    /// ones (never cached), bad ones (an error every time), after the cache turned over.
    #[test]
    fn huffman_cache_hits_equal_fresh_decodes() {
        let mut cache = HuffCache::default();
        for round in 0..4 {
            for i in 0..(HUFF_CACHE_ENTRIES * 2) {
                let plain = format!("v{}{}", i % 23, "abc".repeat(i + round));
                let mut coded = Vec::new();
                huffman::encode(plain.as_bytes(), &mut coded);
                let mut out = b"keep".to_vec();
                cache.decode(&coded, &mut out).unwrap();
                assert_eq!(&out[4..], plain.as_bytes(), "{plain}");
                assert_eq!(&out[..4], b"keep");
            }
            // EOS inside a string: an error whether seen before or not.
            let bad = [0xff, 0xff, 0xff, 0xff];
            assert!(cache.decode(&bad, &mut Vec::new()).is_err());
        }
        assert!(cache.entries.len() <= HUFF_CACHE_ENTRIES);
    }
}
