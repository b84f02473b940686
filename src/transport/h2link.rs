//! An HTTP/2 connection as the multi drives it: the sans-IO [`Connection`] of
//! [`crate::proto::h2`], the bytes read from the socket and not yet framed, and one inbox per
//! stream, keyed by stream id, with the transfer that owns the stream.
//!
//! A stream's inbox holds its response the way the HTTP/1.1 code reads one: the head as text
//! (`HTTP/2 200`, then `name: value` lines, as curl shows them), then the body bytes as they
//! came in DATA frames. While its transfer is stepped the inbox is swapped into the
//! connection's receive buffer ([`Conn::enter_stream`]), so heads, bodies, decoding, pauses
//! and limits run through the same code as over HTTP/1.1; END_STREAM is the end of input.
//! Flow control follows consumption: window updates are granted for DATA bytes the transfer
//! took out of its inbox ([`Conn::leave_stream`]), so a paused transfer stops its own stream.
//!
//! Reading is done once for the whole connection ([`Conn::pump`]): by the multi when the
//! socket is ready, or by a transfer on it that waits for input. Events for other streams go
//! to their inboxes and their transfers are listed in [`H2Link::woken`] for the multi to run.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use crate::id::TransferId;
use crate::proto::h2::hpack::HeaderList;
use crate::proto::h2::{Config, ConnError, Connection, ErrorCode, Event};

use super::{Conn, Pull};

/// Most informational (1xx) heads one stream takes before it is reset.
pub const MAX_INTERIM_HEADS: usize = 16;
/// Socket bytes read per read call into the framing buffer.
const READ_CHUNK: usize = 64 * 1024;
/// Most socket bytes a transfer reads for the whole connection while it waits for its own
/// stream's input, per step.
const OWN_READ_MAX: usize = READ_CHUNK;
/// Bytes of drained inbox buffers an HTTP/2 connection keeps for the streams that get bytes
/// next: a fresh buffer per stream cost page faults on 100 KiB responses (30,000 in 5,000
/// responses over 100 streams with 1 MiB; 10,000 with 4 MiB, and 10% less client CPU) and
/// zeroing 4 KiB on 1 KiB ones (4,000 instructions a request). Never more than the bytes
/// the connection's streams held at once.
pub const SPARE_INBOX_BYTES: usize = 4 << 20;
/// Largest drained inbox buffer a stream keeps when the spares are full.
const INBOX_KEEP: usize = 64 * 1024;
/// Largest inbox buffer kept for reuse.
const SPARE_INBOX_MAX: usize = 256 * 1024;

/// Stream ids are the server's to choose only in the sense of which of ours it answers: a
/// multiplicative hash of the id is enough (SipHash was 3% of a small request's instructions).
type StreamIdHash = std::hash::BuildHasherDefault<StreamIdHasher>;

#[derive(Default)]
struct StreamIdHasher(u64);

impl std::hash::Hasher for StreamIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.0 = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// How a stream ended abnormally, as its transfer sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamEnd {
    /// The RST_STREAM or GOAWAY code (`NO_ERROR` for a connection that just closed).
    pub(crate) code: ErrorCode,
    /// The server did not process the request: it may be sent again.
    pub(crate) retryable: bool,
    /// The whole connection failed (not just this stream).
    pub(crate) conn: Option<ConnError>,
}

/// One stream's received input and its owner.
pub(crate) struct StreamIn {
    pub(crate) user: TransferId,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// END_STREAM arrived: no more input after what is buffered.
    pub(crate) ended: bool,
    /// The stream was reset or the connection failed.
    pub(crate) reset: Option<StreamEnd>,
    /// DATA bytes put in the inbox and not yet given back to flow control.
    unreleased: usize,
    /// Trailer lines (`name: value\r\n`), delivered after the body.
    pub(crate) trailers: Vec<u8>,
    interim: usize,
}

/// The HTTP/2 side of a connection.
pub(crate) struct H2Link {
    pub(crate) proto: Connection,
    streams: HashMap<u32, StreamIn, StreamIdHash>,
    /// Socket bytes not yet framed: `sock[sock_pos..sock_end]` (the buffer is zeroed once
    /// when it grows, never per read).
    sock: Vec<u8>,
    sock_pos: usize,
    sock_end: usize,
    /// Inbox buffers of ended streams, for the next streams (at most [`SPARE_INBOX_BYTES`]).
    spare: Vec<Vec<u8>>,
    spare_bytes: usize,
    /// The stream whose inbox is in the connection's receive buffer now.
    pub(crate) cur: Option<u32>,
    /// Transfers with new input (or a new end) since the multi last looked.
    pub(crate) woken: Vec<TransferId>,
    /// Transfers waiting for room to send (a full send queue or a closed window).
    pub(crate) blocked: Vec<TransferId>,
    /// Our limit on concurrent streams (the multi's `set_max_concurrent_streams`).
    pub(crate) max_streams: u32,
    /// The socket reached EOF or failed.
    pub(crate) dead: bool,
    /// The server's first SETTINGS arrived.
    pub(crate) settings_seen: bool,
    /// The protocol deadline the multi's timer is set for.
    pub(crate) armed: Option<Instant>,
    /// WebSocket transfers waiting for the server's SETTINGS (do they allow RFC 8441?).
    pub(crate) settings_waiters: Vec<TransferId>,
    /// Since when no stream is open (or since the last upkeep PING).
    pub(crate) idle_since: Option<Instant>,
}

impl H2Link {
    pub(crate) fn new(cfg: Config, max_streams: u32, now: Instant) -> H2Link {
        H2Link {
            proto: Connection::new(cfg, now),
            streams: HashMap::default(),
            sock: Vec::new(),
            sock_pos: 0,
            sock_end: 0,
            spare: Vec::new(),
            spare_bytes: 0,
            cur: None,
            woken: Vec::new(),
            blocked: Vec::new(),
            max_streams,
            dead: false,
            settings_seen: false,
            armed: None,
            settings_waiters: Vec::new(),
            idle_since: None,
        }
    }

    /// A new transfer could join: a stream is free (ours and the server's limits, no GOAWAY,
    /// no failure).
    pub(crate) fn has_room(&self) -> bool {
        let used = self.streams.len();
        let server = self
            .proto
            .remote_settings()
            .max_concurrent_streams
            .unwrap_or(u32::MAX);
        !self.dead && self.proto.can_open() && used < self.max_streams.min(server) as usize
    }

    /// When the next upkeep PING is due (idle connections only).
    pub(crate) fn upkeep_due(&self, upkeep: Option<Duration>) -> Option<Instant> {
        let since = self.idle_since.filter(|_| self.is_unused() && !self.dead)?;
        since.checked_add(upkeep?)
    }

    /// No stream is open or about to be.
    pub(crate) fn is_unused(&self) -> bool {
        self.streams.is_empty()
    }

    /// The connection can carry no new stream and none is open: close it.
    pub(crate) fn is_finished(&self) -> bool {
        self.is_unused() && (self.dead || !self.proto.can_open())
    }

    /// A stream was opened by `user`.
    pub(crate) fn add_stream(&mut self, id: u32, user: TransferId) {
        let buf = self.spare.pop().unwrap_or_default();
        self.spare_bytes -= buf.len();
        self.streams.insert(
            id,
            StreamIn {
                user,
                buf,
                pos: 0,
                end: 0,
                ended: false,
                reset: None,
                unreleased: 0,
                trailers: Vec::new(),
                interim: 0,
            },
        );
    }

    pub(crate) fn stream_mut(&mut self, id: u32) -> Option<&mut StreamIn> {
        self.streams.get_mut(&id)
    }
}

impl Conn {
    /// Speak HTTP/2 on this (connected) connection: the preface is queued.
    pub(crate) fn start_h2(&mut self, cfg: Config, max_streams: u32, now: Instant) {
        self.h2 = Some(Box::new(H2Link::new(cfg, max_streams, now)));
    }

    /// Put stream `id`'s inbox into the receive buffer (its transfer is about to run, or a
    /// connect-only WebSocket handle was asked for); another stream's is put back first.
    pub(crate) fn enter_stream(&mut self, id: u32) {
        let cur = self.h2.as_deref().and_then(|l| l.cur);
        if cur == Some(id) {
            return;
        }
        if cur.is_some() {
            self.leave_stream();
        }
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        if let Some(s) = link.streams.get_mut(&id) {
            std::mem::swap(&mut self.rbuf, &mut s.buf);
            self.rpos = s.pos;
            self.rend = s.end;
            link.cur = Some(id);
        }
    }

    /// Take the entered stream's inbox out of the receive buffer again, granting flow
    /// control for the DATA bytes its transfer consumed.
    pub(crate) fn leave_stream(&mut self) {
        self.leave_stream_as(true);
    }

    /// [`Conn::leave_stream`] for a transfer whose receiving is paused when `!release`: what
    /// it consumed is not granted back yet (it may be the piece its paused write callback
    /// holds), so the server stops after one window, as with libcurl, until the unpause.
    pub(crate) fn leave_stream_as(&mut self, release: bool) {
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        let Some(id) = link.cur.take() else {
            return;
        };
        let Some(s) = link.streams.get_mut(&id) else {
            return;
        };
        std::mem::swap(&mut self.rbuf, &mut s.buf);
        s.pos = self.rpos;
        s.end = self.rend;
        self.rpos = 0;
        self.rend = 0;
        if s.pos == s.end && !s.buf.is_empty() {
            // Drained, the buffer goes to the spares while they have room, and is freed
            // otherwise if a burst grew it: only streams with bytes waiting hold one, and a
            // buffer grown once is used again rather than freed and faulted in afresh.
            let buf = std::mem::take(&mut s.buf);
            let len = buf.len();
            if len <= SPARE_INBOX_MAX && link.spare_bytes + len <= SPARE_INBOX_BYTES {
                link.spare_bytes += len;
                link.spare.push(buf);
            } else if len <= INBOX_KEEP {
                s.buf = buf;
            }
        }
        // Unconsumed bytes in the inbox are at most that many DATA bytes not consumed yet.
        let left = s.end - s.pos;
        let consumed = s.unreleased.saturating_sub(left);
        if consumed > 0 && release {
            s.unreleased -= consumed;
            link.proto.release_data(id, consumed);
        }
    }

    /// The entered stream is done with (its transfer finished, failed or moves on): reset it
    /// if it is still open, give its window back, forget it.
    pub(crate) fn close_stream(&mut self) {
        let Some(id) = self.h2.as_deref().and_then(|l| l.cur) else {
            return;
        };
        self.leave_stream();
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        if let Some(mut s) = link.streams.remove(&id) {
            let len = s.buf.len();
            if len > 0 && len <= SPARE_INBOX_MAX && link.spare_bytes + len <= SPARE_INBOX_BYTES {
                link.spare_bytes += len;
                link.spare.push(std::mem::take(&mut s.buf));
            }
            if s.unreleased > 0 {
                link.proto.release_data(id, s.unreleased);
            }
            if s.reset.is_none() && !s.ended {
                link.proto.reset(id, ErrorCode::CANCEL);
            } else if s.reset.is_none() {
                // The server ended its side; end ours if it is still open (a WebSocket
                // stream, an upload the answer cut short), so the stream is closed.
                let _ = link.proto.send_data(id, &[], true);
            }
        }
    }

    /// The receive side for the transfer of the entered stream: the connection is read if it
    /// may have bytes, then the stream's state says what there is. `Data` only when bytes
    /// were added to the stream's inbox.
    #[inline(never)]
    pub(crate) fn pull_stream(&mut self, budget: &mut usize) -> Pull {
        let before = self.rend;
        if self.readable && *budget > 0 {
            // Read only until this stream has bytes, and at most one chunk: what else comes
            // waits in the other streams' inboxes until their transfers run, so reading on
            // would grow them (the connection stays readable and the multi's service reads
            // the rest, its woken transfers running between reads).
            let mut own = (*budget).min(OWN_READ_MAX);
            let granted = own;
            let r = self.pump_until(&mut own, Some(before));
            *budget -= granted - own;
            if let Err(e) = r {
                return Pull::Failed(e);
            }
        }
        if self.rend > before {
            return Pull::Data;
        }
        let Some(link) = self.h2.as_deref() else {
            return Pull::Idle;
        };
        let Some(s) = link.cur.and_then(|id| link.streams.get(&id)) else {
            return Pull::Eof;
        };
        if let Some(end) = s.reset {
            return Pull::Reset(end);
        }
        if s.ended {
            return Pull::Eof;
        }
        if self.readable && *budget == 0 {
            return Pull::Spent;
        }
        Pull::Idle
    }

    /// Read what the socket has (within `budget`), frame it and hand the events out. An
    /// error is the socket's; protocol failures show as stream resets.
    pub(crate) fn pump(&mut self, budget: &mut usize) -> io::Result<()> {
        self.pump_until(budget, None)
    }

    /// [`Conn::pump`], stopping early once the entered stream's input grew past `mine`.
    fn pump_until(&mut self, budget: &mut usize, mine: Option<usize>) -> io::Result<()> {
        while self.readable && *budget > 0 && mine.is_none_or(|m| self.rend == m) {
            let n = match self.read_raw() {
                Ok(0) => {
                    self.connection_lost(ConnError {
                        code: ErrorCode::NO_ERROR,
                        reason: "the server closed the connection",
                    });
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.connection_lost(ConnError {
                        code: ErrorCode::INTERNAL_ERROR,
                        reason: "the connection failed",
                    });
                    return Err(e);
                }
            };
            *budget = budget.saturating_sub(n);
            self.frame_input();
        }
        Ok(())
    }

    /// Read once from the socket into the link's framing buffer.
    fn read_raw(&mut self) -> io::Result<usize> {
        let Some(link) = self.h2.as_deref_mut() else {
            return Ok(0);
        };
        if link.sock_pos == link.sock_end {
            link.sock_pos = 0;
            link.sock_end = 0;
        }
        if link.sock.len() - link.sock_end < READ_CHUNK {
            // Move the partial frame to the front, or grow (a frame may be up to our
            // MAX_FRAME_SIZE, which the buffer must hold whole).
            link.sock.copy_within(link.sock_pos..link.sock_end, 0);
            link.sock_end -= link.sock_pos;
            link.sock_pos = 0;
            if link.sock.len() - link.sock_end < READ_CHUNK {
                link.sock.resize(link.sock_end + READ_CHUNK, 0);
            }
        }
        let end = link.sock_end;
        let asked = link.sock.len() - end;
        let r = self.stream.read(&mut link.sock[end..]);
        if let Ok(n) = r {
            link.sock_end += n;
            // The queue is empty now; edge-triggered epoll reports the next arrival.
            if !self.read_closed && self.short_read_ok && self.stream.drained(n, asked) {
                self.readable = false;
            }
        }
        match r {
            Err(e) => {
                if e.kind() == io::ErrorKind::WouldBlock {
                    self.readable = false;
                }
                Err(e)
            }
            Ok(n) => Ok(n),
        }
    }

    /// Frame the buffered socket bytes and route the events.
    fn frame_input(&mut self) {
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        // Out of the link while its events are routed: DATA events point into it.
        let sock = std::mem::take(&mut link.sock);
        let input = &sock[link.sock_pos..link.sock_end];
        let n = link.proto.handle_input(input);
        link.sock_pos += n;
        self.route_events(input);
        if let Some(link) = self.h2.as_deref_mut() {
            link.sock = sock;
        }
    }

    /// Hand the protocol's events to the streams; `input` is what the last `handle_input`
    /// took (DATA events point into it).
    fn route_events(&mut self, input: &[u8]) {
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        while let Some(ev) = link.proto.poll_event() {
            let cur = link.cur;
            let inbox = Inbox {
                cur,
                rbuf: &mut self.rbuf,
                rpos: &mut self.rpos,
                rend: &mut self.rend,
            };
            route(link, ev, inbox, input);
        }
    }

    /// The socket closed or failed: every stream ends with the connection's error.
    fn connection_lost(&mut self, e: ConnError) {
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        link.dead = true;
        link.woken.append(&mut link.settings_waiters);
        self.readable = false;
        let retry = link.proto.error().is_none() && link.settings_seen;
        for s in link.streams.values_mut() {
            if s.reset.is_none() && !s.ended {
                s.reset = Some(StreamEnd {
                    code: e.code,
                    retryable: retry && s.end == 0 && s.pos == 0,
                    conn: Some(link.proto.error().unwrap_or(e)),
                });
                link.woken.push(s.user);
            }
        }
    }

    /// Bytes for the entered stream (a WebSocket over extended CONNECT) as DATA, within the
    /// windows; `WouldBlock` when none fit (its transfer is woken when room opens). The
    /// multi writes the frames out with the connection's other output.
    #[inline(never)]
    pub(crate) fn write_stream(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let Some(link) = self.h2.as_deref_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let Some((sid, user)) = link
            .cur
            .and_then(|id| Some((id, link.streams.get(&id)?.user)))
        else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let data: &[u8] = bufs.iter().find(|b| !b.is_empty()).map_or(&[], |b| b);
        match link.proto.send_data(sid, data, false) {
            Ok(n) => {
                if n < data.len() {
                    link.blocked.push(user);
                }
                if n == 0 && !data.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            }
            Err(e) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("HTTP/2 stream: {e:?}"),
            )),
        }
    }

    /// Run the protocol's deadlines (SETTINGS ACK, PING answer) at `now`.
    /// `upkeep`: an idle connection sends a PING this often (its answer is due within the
    /// protocol's PING timeout, or the connection is closed).
    pub(crate) fn h2_timers(&mut self, now: Instant, upkeep: Option<Duration>) {
        let Some(link) = self.h2.as_deref_mut() else {
            return;
        };
        if link.upkeep_due(upkeep).is_some_and(|t| now >= t) {
            link.proto.ping(now);
            link.idle_since = Some(now);
        }
        if link.proto.next_timeout().is_some_and(|t| now >= t) {
            link.proto.handle_timeout(now);
            self.route_events(&[]);
            if let Some(e) = self.h2.as_deref().and_then(|l| l.proto.error()) {
                self.connection_lost(e);
            }
        }
    }

    /// Write what is queued; the transfers waiting for room run again once it all went out.
    /// A failed write ends every stream.
    pub(crate) fn flush_or_fail(&mut self) {
        match self.flush_h2() {
            Ok(true) => {
                if let Some(l) = self.h2.as_deref_mut() {
                    let blocked = std::mem::take(&mut l.blocked);
                    l.woken.extend(blocked);
                }
            }
            Ok(false) => {}
            Err(_) => self.connection_lost(ConnError {
                code: ErrorCode::INTERNAL_ERROR,
                reason: "writing to the connection failed",
            }),
        }
    }

    /// Write what the protocol has queued; `Ok(true)` when all of it went out.
    pub(crate) fn flush_h2(&mut self) -> io::Result<bool> {
        loop {
            let Some(link) = self.h2.as_deref_mut() else {
                return Ok(true);
            };
            let out = link.proto.poll_transmit();
            if out.is_empty() {
                return self.flush_tls();
            }
            let r = self.stream.write_vectored(&[io::IoSlice::new(out)]);
            match r {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    if let Some(l) = self.h2.as_deref_mut() {
                        l.proto.consume_transmit(n);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    return Ok(false);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Bytes the protocol has queued to write.
    pub(crate) fn h2_has_output(&self) -> bool {
        self.h2
            .as_deref()
            .is_some_and(|l| !l.proto.poll_transmit().is_empty())
            || self.wants_write()
    }
}

/// Where the entered stream's inbox is while its transfer runs.
struct Inbox<'a> {
    cur: Option<u32>,
    rbuf: &'a mut Vec<u8>,
    rpos: &'a mut usize,
    rend: &'a mut usize,
}

/// A stream's inbox without a buffer takes a spare one (grown before, its pages in place).
#[inline]
fn give_spare(spare: &mut Vec<Vec<u8>>, spare_bytes: &mut usize, buf: &mut Vec<u8>) {
    if buf.is_empty() {
        if let Some(b) = spare.pop() {
            *spare_bytes -= b.len();
            *buf = b;
        }
    }
}

/// Append `data` to an inbox kept as (buffer, start, end).
fn append(buf: &mut Vec<u8>, pos: &mut usize, end: &mut usize, data: &[u8]) {
    room(buf, pos, end, data.len()).copy_from_slice(data);
}

/// Make room for `n` more bytes in an inbox and claim them: the returned slice is the end
/// of the inbox's bytes, to fill.
fn room<'a>(buf: &'a mut Vec<u8>, pos: &mut usize, end: &mut usize, n: usize) -> &'a mut [u8] {
    if *pos == *end {
        *pos = 0;
        *end = 0;
    }
    if buf.len() - *end < n {
        if *pos > 0 {
            buf.copy_within(*pos..*end, 0);
            *end -= *pos;
            *pos = 0;
        }
        if buf.len() - *end < n {
            let want = (*end + n).next_power_of_two().max(4096);
            buf.resize(want, 0);
        }
    }
    let start = *end;
    *end += n;
    &mut buf[start..start + n]
}

/// One event to its stream's inbox.
fn route(link: &mut H2Link, ev: Event, inbox: Inbox<'_>, input: &[u8]) {
    let (id, what) = match ev {
        Event::DataAt {
            stream,
            offset,
            len,
            end_stream,
        } => {
            let data = input.get(offset..offset + len).unwrap_or_default();
            return route_data(link, stream, data, end_stream, inbox);
        }
        Event::Headers {
            stream,
            head,
            end_stream,
        } => (stream, Some((head, end_stream, false))),
        Event::Trailers { stream, head } => (stream, Some((head, true, true))),
        Event::Data {
            stream,
            bytes,
            end_stream,
        } => return route_data(link, stream, &bytes, end_stream, inbox),
        Event::Reset {
            stream,
            code,
            retryable,
        } => {
            let conn = link.proto.error();
            if let Some(s) = link.streams.get_mut(&stream) {
                s.reset = Some(StreamEnd {
                    code,
                    retryable,
                    conn,
                });
                if inbox.cur != Some(stream) {
                    link.woken.push(s.user);
                }
            }
            return;
        }
        Event::RemoteSettings(_) => {
            link.settings_seen = true;
            link.woken.append(&mut link.settings_waiters);
            return;
        }
        Event::StreamWritable { .. } | Event::GoAway { .. } => {
            link.woken.append(&mut link.blocked);
            return;
        }
        Event::Closed(_) | Event::SettingsAcked | Event::PingAcked => return,
    };
    let Some((head, end, trailers)) = what else {
        return;
    };
    route_head(link, id, &head, end, trailers, inbox);
    link.proto.recycle_head(head);
}

/// A head (or trailers) to its stream: checked, then written into the inbox as text.
fn route_head(
    link: &mut H2Link,
    id: u32,
    head: &HeaderList,
    end: bool,
    trailers: bool,
    inbox: Inbox<'_>,
) {
    let Some(s) = link.streams.get_mut(&id) else {
        return;
    };
    s.ended |= end;
    if inbox.cur != Some(id) {
        // The entered stream's transfer is the one reading: it sees this in its own loop.
        link.woken.push(s.user);
    }
    if trailers {
        for (n, v) in head.iter() {
            line(&mut s.trailers, n, v);
        }
        return;
    }
    let status = head.value(b":status").unwrap_or(b"");
    if status.first() == Some(&b'1') {
        s.interim += 1;
        if s.interim > MAX_INTERIM_HEADS {
            link.proto.reset(id, ErrorCode::ENHANCE_YOUR_CALM);
            s.reset = Some(StreamEnd {
                code: ErrorCode::ENHANCE_YOUR_CALM,
                retryable: false,
                conn: None,
            });
            return;
        }
    }
    if !valid_head(status, head) {
        link.proto.reset(id, ErrorCode::PROTOCOL_ERROR);
        s.reset = Some(StreamEnd {
            code: ErrorCode::PROTOCOL_ERROR,
            retryable: false,
            conn: None,
        });
        return;
    }
    // Written straight into the inbox: its length first, then the text.
    let shown = |n: &[u8]| n.first() != Some(&b':') && !is_connection_field(n);
    let fields: usize = head
        .iter()
        .filter(|(n, _)| shown(n))
        .map(|(n, v)| n.len() + v.len() + 4)
        .sum();
    let len = b"HTTP/2 ".len() + status.len() + b" \r\n".len() + fields + 2;
    let out = match inbox.cur == Some(id) {
        true => room(inbox.rbuf, inbox.rpos, inbox.rend, len),
        false => {
            give_spare(&mut link.spare, &mut link.spare_bytes, &mut s.buf);
            room(&mut s.buf, &mut s.pos, &mut s.end, len)
        }
    };
    let mut w = Writer { out, at: 0 };
    w.put(b"HTTP/2 ");
    w.put(status);
    w.put(b" \r\n");
    for (n, v) in head.iter().filter(|(n, _)| shown(n)) {
        w.put(n);
        w.put(b": ");
        w.put(v);
        w.put(b"\r\n");
    }
    w.put(b"\r\n");
}

/// Fills a claimed slice of an inbox.
struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
}

/// DATA of `stream` to its inbox (the connection window back at once if the stream is gone).
fn route_data(link: &mut H2Link, stream: u32, data: &[u8], end: bool, inbox: Inbox<'_>) {
    let Some(s) = link.streams.get_mut(&stream) else {
        link.proto.release_data(stream, data.len());
        return;
    };
    s.unreleased += data.len();
    s.ended |= end;
    if inbox.cur == Some(stream) {
        append(inbox.rbuf, inbox.rpos, inbox.rend, data);
    } else {
        give_spare(&mut link.spare, &mut link.spare_bytes, &mut s.buf);
        append(&mut s.buf, &mut s.pos, &mut s.end, data);
        link.woken.push(s.user);
    }
}

fn line(out: &mut Vec<u8>, n: &[u8], v: &[u8]) {
    out.extend_from_slice(n);
    out.extend_from_slice(b": ");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

/// Fields that mean something only on an HTTP/1.1 connection (RFC 9113 §8.2.2): never from a
/// conforming server; dropped so that the HTTP/1.1 head reader does not act on them.
fn is_connection_field(n: &[u8]) -> bool {
    matches!(
        n,
        b"connection" | b"transfer-encoding" | b"keep-alive" | b"proxy-connection" | b"upgrade"
    )
}

/// A response head an HTTP/1.1 reader can take as is (RFC 9113 §8.2.1, §8.3.2): a
/// three-digit `:status`, field names of token characters, values without control bytes.
fn valid_head(status: &[u8], head: &HeaderList) -> bool {
    let value_ok = |v: &[u8]| v.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    status.len() == 3
        && status.iter().all(u8::is_ascii_digit)
        && head.iter().all(|(n, v)| {
            (n.first() == Some(&b':') || (!n.is_empty() && n.iter().all(|&b| tchar(b))))
                && value_ok(v)
        })
}

/// RFC 9110 §5.6.2 token characters.
fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h2::Config;
    use bytes::Bytes;

    const USER: TransferId = TransferId { index: 7, gen: 1 };

    fn link() -> H2Link {
        let mut l = H2Link::new(Config::default(), 100, Instant::now());
        l.add_stream(1, USER);
        l
    }

    fn head(fields: &[(&str, &str)]) -> HeaderList {
        let mut h = HeaderList::new();
        for (n, v) in fields {
            h.push(n.as_bytes(), v.as_bytes());
        }
        h
    }

    /// Routes `ev` with no stream entered; returns the stream's inbox text.
    fn route_out(l: &mut H2Link, ev: Event) -> Vec<u8> {
        let (mut b, mut p, mut e) = (Vec::new(), 0, 0);
        let inbox = Inbox {
            cur: None,
            rbuf: &mut b,
            rpos: &mut p,
            rend: &mut e,
        };
        route(l, ev, inbox, &[]);
        let s = l.streams.get(&1).expect("stream");
        s.buf[s.pos..s.end].to_vec()
    }

    #[test]
    fn a_head_becomes_the_status_line_and_fields_curl_shows() {
        let mut l = link();
        let h = head(&[
            (":status", "200"),
            ("content-type", "text/plain"),
            ("connection", "close"),
        ]);
        let text = route_out(
            &mut l,
            Event::Headers {
                stream: 1,
                head: h,
                end_stream: false,
            },
        );
        // The HTTP/1.1-only field is dropped so that the HTTP/1.1 reader cannot act on it.
        assert_eq!(text, b"HTTP/2 200 \r\ncontent-type: text/plain\r\n\r\n");
        assert_eq!(l.woken, vec![USER]);
        let text = route_out(
            &mut l,
            Event::Data {
                stream: 1,
                bytes: Bytes::from_static(b"body"),
                end_stream: true,
            },
        );
        assert!(text.ends_with(b"\r\n\r\nbody"));
        let s = l.streams.get(&1).unwrap();
        assert!(s.ended);
        assert_eq!(s.unreleased, 4);
    }

    #[test]
    fn a_malformed_head_resets_the_stream() {
        for bad in [
            &[(":status", "2000")][..],
            &[(":status", "200"), ("bad name", "x")][..],
            &[(":status", "200"), ("x", "a\r\nb")][..],
        ] {
            let mut l = link();
            let ev = Event::Headers {
                stream: 1,
                head: head(bad),
                end_stream: false,
            };
            assert!(route_out(&mut l, ev).is_empty());
            let end = l.streams.get(&1).unwrap().reset.expect("reset");
            assert_eq!(end.code, ErrorCode::PROTOCOL_ERROR);
            assert!(!end.retryable);
        }
    }

    #[test]
    fn interim_heads_are_bounded() {
        let mut l = link();
        for _ in 0..MAX_INTERIM_HEADS + 1 {
            let ev = Event::Headers {
                stream: 1,
                head: head(&[(":status", "103")]),
                end_stream: false,
            };
            route_out(&mut l, ev);
        }
        let end = l.streams.get(&1).unwrap().reset.expect("reset");
        assert_eq!(end.code, ErrorCode::ENHANCE_YOUR_CALM);
    }

    #[test]
    fn trailers_are_kept_for_after_the_body_and_resets_wake_the_owner() {
        let mut l = link();
        let ev = Event::Trailers {
            stream: 1,
            head: head(&[("x-t", "1")]),
        };
        route_out(&mut l, ev);
        assert_eq!(l.streams.get(&1).unwrap().trailers, b"x-t: 1\r\n");
        let mut l = link();
        let ev = Event::Reset {
            stream: 1,
            code: ErrorCode::REFUSED_STREAM,
            retryable: true,
        };
        route_out(&mut l, ev);
        assert!(l.streams.get(&1).unwrap().reset.unwrap().retryable);
        assert_eq!(l.woken, vec![USER]);
    }

    #[test]
    fn append_compacts_before_it_grows() {
        let (mut b, mut p, mut e) = (vec![0u8; 8], 6, 8);
        append(&mut b, &mut p, &mut e, b"xyz");
        assert_eq!((p, e), (0, 5));
        assert_eq!(b.len(), 8, "room was made by moving the 2 unread bytes");
        append(&mut b, &mut p, &mut e, &[1; 100]);
        assert_eq!(e, 105);
        assert!(b.len() >= 105);
    }
}
