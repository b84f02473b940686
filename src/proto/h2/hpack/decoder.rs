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
        let value_len = read_string(block, pos, out)?;
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
        &self,
        block: &[u8],
        pos: &mut usize,
        prefix: u8,
        out: &mut HeaderList,
    ) -> Result<usize, HpackError> {
        let index = decode_int(block, pos, prefix)?;
        if index == 0 {
            return read_string(block, pos, out);
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
fn read_string(block: &[u8], pos: &mut usize, out: &mut HeaderList) -> Result<usize, HpackError> {
    let huff = *block.get(*pos).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = decode_int(block, pos, 7)?;
    let end = pos.checked_add(len).ok_or(HpackError::Truncated)?;
    let raw = block.get(*pos..end).ok_or(HpackError::Truncated)?;
    *pos = end;
    let buf = out.buf_mut();
    let before = buf.len();
    if huff {
        huffman::decode(raw, buf)?;
    } else {
        buf.extend_from_slice(raw);
    }
    Ok(buf.len() - before)
}
