//! HPACK header compression (RFC 7541), both directions, our own
//! implementation.
//!
//! | file | RFC 7541 | what |
//! | --- | --- | --- |
//! | [`table`] | §2.3, §4, Appendix A | static table, dynamic table with eviction |
//! | [`huffman`] | §5.2, Appendix B | Huffman code, padding checks |
//! | [`decoder`] | §3, §5.1, §6 | header block to [`HeaderList`], limits |
//! | [`encoder`] | §6, §7.1.3 | header list to header block |
//! | [`list`] | | [`HeaderList`], the decoded fields in one buffer |
//!
//! Why not a crate: `hpack` is unmaintained (last release 2016) and returns
//! a `Vec<(Vec<u8>, Vec<u8>)>` per block (two allocations per field);
//! `fluke-hpack` is its fork with the same API; `httlib-hpack` decodes
//! field by field into fresh vectors too; the `h2` crate's is internal. Ours
//! decodes into a reusable [`HeaderList`] (no allocation per block once warm,
//! see `benches/hpack.rs`) and enforces the limits the connection needs.

use std::fmt;

pub mod decoder;
pub mod encoder;
pub mod huffman;
pub mod list;
pub mod table;

pub use decoder::Decoder;
pub use encoder::Encoder;
pub use list::HeaderList;

/// Why a header block could not be decoded.
///
/// Every variant but [`ListTooLarge`](HpackError::ListTooLarge) leaves the
/// compression context unusable: a connection error `COMPRESSION_ERROR`
/// (RFC 9113 §4.3). `ListTooLarge` keeps the context in step and only
/// concerns the stream whose head it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpackError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer above [`decoder::MAX_INTEGER`].
    IntegerOverflow,
    /// Index 0 or beyond the tables.
    BadIndex,
    /// Invalid Huffman data (EOS, bad or long padding).
    Huffman,
    /// A dynamic table size update after the first field of a block.
    LateSizeUpdate,
    /// A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE.
    TableSizeTooLarge,
    /// The decoded list exceeds the configured limit.
    ListTooLarge,
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            HpackError::Truncated => "truncated header block",
            HpackError::IntegerOverflow => "integer too large",
            HpackError::BadIndex => "invalid table index",
            HpackError::Huffman => "invalid Huffman string",
            HpackError::LateSizeUpdate => "table size update after a field",
            HpackError::TableSizeTooLarge => "table size update above the limit",
            HpackError::ListTooLarge => "header list too large",
        };
        f.write_str(s)
    }
}

impl std::error::Error for HpackError {}

#[cfg(test)]
mod tests;
