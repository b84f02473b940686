//! Content decoding on the way to the write callback (`Easy::accept_encoding`): body bytes go
//! through the [`ContentDecoder`] one bounded piece of output at a time, and each piece reaches
//! the write callback before more input is decoded. Memory while decoding is the piece buffer
//! and the decoder's state, whatever the compression ratio: a 1 MB gzip bomb of 1 GiB costs what
//! any other gzip body does.
//!
//! A pause stops decoding at once. The piece the callback paused on is held (one piece, as for
//! an undecoded body), the body bytes not yet decoded are given back to the [`BodyDecoder`] and
//! stay in the receive buffer, and decoded output of input already consumed stays in the
//! decoder ([`ContentDecoder::output_pending`]) until the transfer resumes.
//!
//! [`BodyDecoder`]: crate::proto::http1::BodyDecoder

use super::services::Services;
use super::{Transfer, MAX_DECODED_BYTES};
use crate::ctx::Ctx;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{Flow, Handler};
use crate::id::TransferId;
use crate::proto::http1::{ContentCoding, ContentDecoder, ParseError};

/// Largest piece of decoded (gzip, deflate) body the write callback is given at once: the size
/// of the content decoder's output buffer, which bounds a decoding transfer's memory whatever
/// the compression ratio. [`Easy::buffer_size`](crate::Easy::buffer_size) lowers it (never
/// below its 16 KiB minimum).
pub const DECODE_PIECE_SIZE: usize = 64 * 1024;

/// Content-decodes `data` (body bytes; empty to drain output of earlier input only) and hands
/// the pieces to the write callback, each before decoding more, until `data` is used up and no
/// output is pending, or the callback paused (its piece is appended to `held`), aborted or
/// removed the transfer, or `budget` (decoded bytes this step may still hand over) ran out.
/// Returns the bytes of `data` used and the callback's last answer.
pub(super) fn write_decoded(
    cd: &mut ContentDecoder,
    piece: &mut [u8],
    data: &[u8],
    h: &mut dyn Handler,
    ctx: &mut Ctx<'_>,
    out: (&mut Vec<u8>, &mut usize),
) -> std::result::Result<(usize, Flow), ParseError> {
    let (held, budget) = out;
    let mut used = 0;
    loop {
        let (u, made) = cd.decode(data.get(used..).unwrap_or(&[]), piece)?;
        used += u;
        if let Some(out) = piece.get(..made).filter(|o| !o.is_empty()) {
            let flow = h.write(ctx, out);
            if flow == Flow::Pause {
                held.extend_from_slice(out);
            }
            *budget = budget.saturating_sub(made);
            if flow != Flow::Continue || ctx.me.recv_paused || ctx.me.removed || *budget == 0 {
                return Ok((used, flow));
            }
        }
        if used >= data.len() && !cd.output_pending() {
            return Ok((used, Flow::Continue));
        }
        if u == 0 && made == 0 {
            // The decoder always consumes or produces while it has input and room.
            return Err(ParseError::BadContentEncoding);
        }
    }
}

impl Transfer {
    /// Sets up content decoding of a response body in `coding`, with its piece buffer.
    pub(super) fn start_content_decoding(&mut self, coding: ContentCoding) {
        let max = self.opts.max_filesize.unwrap_or(MAX_DECODED_BYTES);
        self.rx.content = Some(ContentDecoder::new(coding, max));
        self.rx
            .decoded
            .resize(DECODE_PIECE_SIZE.min(self.opts.buffer_size), 0);
    }

    /// True while decoded output of body bytes already consumed waits in the content decoder
    /// (a pause cut its delivery short).
    pub(super) fn content_pending(&self) -> bool {
        self.rx
            .content
            .as_ref()
            .is_some_and(ContentDecoder::output_pending)
    }

    /// Delivers the decoded output pending in the content decoder. `Ok(false)` when the
    /// transfer paused or was removed on the way, or the step's decode budget ran out.
    pub(super) fn drain_content<S: Services>(
        &mut self,
        core: &mut S,
        id: TransferId,
        h: &mut dyn Handler,
    ) -> Result<bool> {
        let limited = self.opts.max_filesize.is_some();
        let Some(cd) = self.rx.content.as_mut() else {
            return Ok(true);
        };
        let mut ctx = Self::ctx(core, id, &mut self.ctl, &self.info);
        let out = (&mut self.rx.held, &mut self.decode_budget);
        let (_, flow) = write_decoded(cd, &mut self.rx.decoded, &[], h, &mut ctx, out)
            .map_err(|e| decode_error(e, limited))?;
        self.on_write_flow(flow)?;
        if self.decode_budget == 0 {
            self.budget_spent = true;
            return Ok(false);
        }
        Ok(!self.ctl.recv_paused && !self.ctl.removed)
    }

    /// The write callback's answer: a pause pauses receiving, an abort fails the transfer.
    pub(super) fn on_write_flow(&mut self, flow: Flow) -> Result<()> {
        match flow {
            Flow::Continue => Ok(()),
            Flow::Pause => {
                self.ctl.recv_paused = true;
                Ok(())
            }
            Flow::Abort => Err(Error::new(
                ErrorKind::WriteError,
                "write callback refused the data",
            )),
        }
    }
}

/// A content-decoder error: output over `max_filesize` (when `limited`, the decoder's cap is
/// that option) is that option's error (`CURLE_FILESIZE_EXCEEDED`), over the built-in cap
/// [`TooLarge`](ErrorKind::TooLarge).
pub(super) fn decode_error(e: ParseError, limited: bool) -> Error {
    if matches!(e, ParseError::DecodedTooLarge { .. }) && limited {
        return Error::new(ErrorKind::FileSizeExceeded, e.to_string()).with_source(e);
    }
    super::response::parse_error(e)
}
