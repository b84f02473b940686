#!/usr/bin/env python3
"""Scripted hostile HTTP/2 server for curlew's tests (tests/support/h2_servers.rs): h2c with
prior knowledge on 127.0.0.1, frames written by hand so each misbehaviour is exact; only the
client's header blocks are decoded with the `hpack` package (installed with `h2` by
.ci/interop-setup.sh).

Usage: h2_hostile.py SCENARIO [ARG]

Prints `ready port=P` once listening, then one line per event (see EVENTS). Exits when stdin
reaches end of file. Every connection starts by reading the client's 24-byte preface (a wrong
one is reported as `conn N bad-preface-from-client` and the connection closed).

A normal answer to a request (once its END_STREAM has arrived) is HEADERS `:status 200`,
`content-type: text/plain`, `content-length`, `x-body-len` (the request body's length), then
one DATA frame `ok <path>` with END_STREAM. The server's SETTINGS are empty unless a scenario
says otherwise; client SETTINGS and PINGs are acknowledged; every received DATA frame is
credited back at once with WINDOW_UPDATEs (connection, and stream while it is open). Response
bodies are tiny and ignore the client's flow-control windows.

SCENARIOS (what the server does differently; "normal" serves everything normally):
  goaway-mid [K=2]    first connection: answers the first K streams (by arrival), ignores later
                      ones, then GOAWAY(last-stream-id = the K-th stream's id, NO_ERROR),
                      shuts down its sending side and drains until the client closes; later
                      connections are served normally
  rst                 RST_STREAM(INTERNAL_ERROR) on every stream as soon as its HEADERS arrive
  refused             RST_STREAM(REFUSED_STREAM) on the first request for each :path (over
                      all connections); a retry of that path is answered normally
  max-streams-1       SETTINGS_MAX_CONCURRENT_STREAMS=1; a stream opened while another is
                      open, after the client acknowledged the SETTINGS, gets
                      RST_STREAM(REFUSED_STREAM) and the event `violation`
  zero-window         SETTINGS_INITIAL_WINDOW_SIZE=0; a request's HEADERS without END_STREAM
                      get a stream WINDOW_UPDATE of 16, its first DATA frame one of 1 MiB
  window-overflow [conn|stream]
                      on each request's HEADERS, WINDOW_UPDATE(2^31-1) on the connection
                      (default; its window is then 65535 + 2^31-1) or on the stream; then the
                      normal answer
  data-closed         the normal answer, then DATA "extra" (END_STREAM) on the closed stream
  oversize-frame      HEADERS, then one DATA frame one byte longer than the client's
                      SETTINGS_MAX_FRAME_SIZE (default 16384), then an empty DATA END_STREAM
  hpack-bomb          HEADERS+CONTINUATION: `:status 200`, one literal header with incremental
                      indexing (`x-bomb`, value filling the client's dynamic table: 4058 bytes
                      for the default 4096), then 65536 one-byte references to it (dynamic
                      index 62): 64 KiB on the wire, about 268 MB decoded; then DATA "ok"
  huge-headers        `:status 200` plus 1024 literal headers (never indexed) `x-huge-NNNN`
                      with 1000-byte values, about 1 MiB, in HEADERS+CONTINUATION frames of
                      the client's max frame size; then the normal DATA
  continuation-flood [empty]
                      HEADERS `:status 200` without END_HEADERS, then CONTINUATION frames
                      without END_HEADERS, each one literal header `x-c: 0123456789` (or empty
                      with `empty`), until the connection breaks
  ping-flood          right after its SETTINGS, 10000 PINGs without reading; then reads and
                      serves normally (the ACKs are counted: `closed ... ping_acks=N`)
  settings-flood      the same with 10000 SETTINGS frames (MAX_CONCURRENT_STREAMS=100)
  push-promise        on each request, PUSH_PROMISE (promised stream 2, 4, ...: GET /pushed)
                      whatever the client's ENABLE_PUSH, then the normal answer, then the pushed
                      response on the promised stream
  bad-preface [http1|frame]
                      instead of SETTINGS: `HTTP/1.1 400 Bad Request` text (default), or a
                      well-formed PING frame; then reads and discards, without closing, until
                      the client closes (at most 10 s), so only a client that checks the
                      preface gives up at once
  normal              serves normally

EVENTS (stdout, one line each): `conn N open`; `conn N request stream=S method=M path=P`;
`conn N recv TYPE stream=S flags=F len=L` for every client frame other than DATA, HEADERS,
CONTINUATION and PING/SETTINGS acknowledgements (RST_STREAM and GOAWAY add `code=C`, GOAWAY
`last=L`); `conn N sent WHAT` for each hostile action; `conn N ignored stream=S`
(goaway-mid); `conn N violation WHAT` (the client broke a rule the server checks);
`conn N ended EXCEPTION DETAIL` when reading or writing failed (EOFError: the client closed);
`conn N closed ping_acks=A settings_acks=B` last.
"""

import os
import socket
import struct
import sys
import threading

from hpack import Decoder
from hpack.exceptions import HPACKError

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS = 0x0, 0x1, 0x2, 0x3, 0x4
PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x5, 0x6, 0x7, 0x8, 0x9
NAMES = {
    0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
    5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION",
}
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, REFUSED_STREAM = 0x0, 0x1, 0x2, 0x7
COMPRESSION_ERROR = 0x9
S_HEADER_TABLE_SIZE, S_MAX_CONCURRENT_STREAMS, S_INITIAL_WINDOW_SIZE = 0x1, 0x3, 0x4
S_MAX_FRAME_SIZE = 0x5

DEFAULT_MAX_FRAME = 16384
DEFAULT_TABLE_SIZE = 4096
MAX_WINDOW = 2**31 - 1
# Client header lists the server decodes (its own requests are small; this is generous).
MAX_REQUEST_HEADER_LIST = 1 << 20
GOAWAY_DEFAULT_K = 2
ZERO_WINDOW_FIRST_GRANT = 16
ZERO_WINDOW_SECOND_GRANT = 1 << 20
HPACK_BOMB_REFS = 65536
HUGE_HEADER_COUNT, HUGE_HEADER_VALUE = 1024, 1000
FLOOD_COUNT = 10000
# Bound on draining a connection after GOAWAY or a bad preface (the client should close).
LINGER_S = 10

OUT = threading.Lock()


def event(*parts):
    with OUT:
        sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
        sys.stdout.flush()


# ---- encoding --------------------------------------------------------------------------------


def frame(ftype, flags, stream, payload=b""):
    n = len(payload)
    return struct.pack("!BHBBI", n >> 16, n & 0xFFFF, ftype, flags, stream & MAX_WINDOW) + payload


def hpack_int(value, prefix_bits, flags=0):
    """RFC 7541 §5.1 integer with the given prefix, the first byte or'ed with flags."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([flags | value])
    out = bytearray([flags | limit])
    value -= limit
    while value >= 128:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_str(s):
    """A string literal, no Huffman."""
    return hpack_int(len(s), 7) + s


def literal(name, value, first=0x00):
    """Literal header with a new name: 0x00 without indexing, 0x10 never indexed, 0x40
    with incremental indexing."""
    return bytes([first]) + hpack_str(name) + hpack_str(value)


STATUS_200 = b"\x88"  # static table index 8


def response_block(body_len, req_body_len):
    return (
        STATUS_200
        + literal(b"content-type", b"text/plain")
        + literal(b"content-length", str(body_len).encode())
        + literal(b"x-body-len", str(req_body_len).encode())
    )


def header_frames(stream, block, max_frame, end_stream=False, ftype=HEADERS, prefix=b""):
    """HEADERS (or PUSH_PROMISE, with prefix) then CONTINUATIONs of at most max_frame bytes."""
    first = max_frame - len(prefix)
    chunks = [block[:first]] + [
        block[i : i + max_frame] for i in range(first, len(block), max_frame)
    ]
    out = []
    for i, c in enumerate(chunks):
        last = i == len(chunks) - 1
        flags = (END_HEADERS if last else 0) | (END_STREAM if i == 0 and end_stream else 0)
        out.append(frame(ftype if i == 0 else CONTINUATION, flags, stream, (prefix if i == 0 else b"") + c))
    return b"".join(out)


def settings(pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in pairs))


# ---- the server ------------------------------------------------------------------------------


class Shared:
    """State over all connections."""

    def __init__(self, scenario, arg):
        self.scenario, self.arg = scenario, arg
        self.lock = threading.Lock()
        self.conns = 0
        self.seen_paths = set()

    def next_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns - 1

    def first_time(self, path):
        with self.lock:
            new = path not in self.seen_paths
            self.seen_paths.add(path)
            return new


class Stream:
    def __init__(self, sid, method, path):
        self.sid, self.method, self.path = sid, method, path
        self.body_len = 0
        self.data_frames = 0


class Conn:
    def __init__(self, sock, shared):
        self.sock, self.shared = sock, shared
        self.n = shared.next_conn()
        self.scn, self.arg = shared.scenario, shared.arg
        self.buf = b""
        self.decoder = Decoder(max_header_list_size=MAX_REQUEST_HEADER_LIST)
        self.client = {S_MAX_FRAME_SIZE: DEFAULT_MAX_FRAME, S_HEADER_TABLE_SIZE: DEFAULT_TABLE_SIZE}
        self.streams = {}
        self.acks = {PING: 0, SETTINGS: 0}
        self.settings_acked = False
        self.goaway_ids = []  # goaway-mid: the streams this connection answers
        self.goaway_done = 0
        self.next_push = 2

    def ev(self, *parts):
        event("conn", self.n, *parts)

    def send(self, data):
        self.sock.sendall(data)

    # -- reading --

    def read_exact(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self):
        h = self.read_exact(9)
        n = (h[0] << 16) | (h[1] << 8) | h[2]
        return h[3], h[4], struct.unpack("!I", h[5:9])[0] & MAX_WINDOW, self.read_exact(n)

    def drain(self):
        """Discards what the client sends until it closes, or for at most LINGER_S."""
        try:
            self.sock.settimeout(LINGER_S)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def linger(self):
        """Half-close, then drain: closing with unread data would make the kernel answer with a
        reset, which can destroy what was sent before it reaches the client."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        self.drain()

    # -- the connection --

    def run(self):
        self.ev("open")
        try:
            if self.read_exact(len(PREFACE)) != PREFACE:
                self.ev("bad-preface-from-client")
                return
            if self.scn == "bad-preface":
                return self.bad_preface()
            self.send(settings(self.server_settings()))
            if self.scn in ("ping-flood", "settings-flood"):
                self.flood()
            while self.one_frame():
                pass
        except (EOFError, OSError) as e:
            self.ev("ended", type(e).__name__, str(e).replace(" ", "_") or "-")
        finally:
            self.ev("closed", f"ping_acks={self.acks[PING]}", f"settings_acks={self.acks[SETTINGS]}")
            self.sock.close()

    def server_settings(self):
        if self.scn == "max-streams-1":
            return [(S_MAX_CONCURRENT_STREAMS, 1)]
        if self.scn == "zero-window":
            return [(S_INITIAL_WINDOW_SIZE, 0)]
        return []

    def one_frame(self):
        """Handles one client frame; False once the connection is to be closed."""
        ftype, flags, sid, payload = self.read_frame()
        if ftype == HEADERS:
            return self.on_headers(flags, sid, payload)
        if ftype == DATA:
            return self.on_data(flags, sid, payload)
        if ftype in (PING, SETTINGS) and flags & ACK:
            self.acks[ftype] += 1
            if ftype == SETTINGS:
                self.settings_acked = True
            return True
        self.log_frame(ftype, flags, sid, payload)
        if ftype == SETTINGS:
            for i in range(0, len(payload) - 5, 6):
                k, v = struct.unpack("!HI", payload[i : i + 6])
                self.client[k] = v
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING:
            self.send(frame(PING, ACK, 0, payload))
        elif ftype == RST_STREAM:
            self.streams.pop(sid, None)
        return True

    def log_frame(self, ftype, flags, sid, payload):
        extra = []
        if ftype == RST_STREAM and len(payload) == 4:
            extra.append(f"code={struct.unpack('!I', payload)[0]}")
        if ftype == GOAWAY and len(payload) >= 8:
            last, code = struct.unpack("!II", payload[:8])
            extra += [f"last={last & MAX_WINDOW}", f"code={code}"]
        name = NAMES.get(ftype, f"0x{ftype:x}")
        self.ev("recv", name, f"stream={sid}", f"flags=0x{flags:x}", f"len={len(payload)}", *extra)

    def header_block(self, flags, payload):
        """The complete header block starting with this HEADERS payload (reads CONTINUATIONs)."""
        pad = 0
        if flags & PADDED:
            pad, payload = payload[0], payload[1:]
        if flags & PRIO:
            payload = payload[5:]
        block = payload[: len(payload) - pad]
        while not flags & END_HEADERS:
            ftype, flags, _, more = self.read_frame()
            if ftype != CONTINUATION:
                raise EOFError
            block += more
        return block

    def on_headers(self, flags, sid, payload):
        block = self.header_block(flags, payload)
        try:
            headers = dict(self.decoder.decode(block, raw=True))
        except HPACKError as e:
            self.ev("violation", f"hpack {type(e).__name__}")
            self.send(frame(GOAWAY, 0, 0, struct.pack("!II", sid, COMPRESSION_ERROR)))
            return False
        if sid in self.streams:  # trailers
            return self.maybe_complete(flags, self.streams[sid])
        st = Stream(sid, headers.get(b":method", b"").decode(), headers.get(b":path", b"").decode())
        self.ev("request", f"stream={sid}", f"method={st.method}", f"path={st.path}")
        if not self.admit(flags, st):
            return True
        self.streams[sid] = st
        return self.maybe_complete(flags, st)

    def on_data(self, flags, sid, payload):
        n = len(payload)
        if n:
            self.send(frame(WINDOW_UPDATE, 0, 0, struct.pack("!I", n)))
        st = self.streams.get(sid)
        if st is None:
            return True
        if flags & PADDED and payload:
            payload = payload[1 : len(payload) - payload[0]]
        st.body_len += len(payload)
        st.data_frames += 1
        if n and not flags & END_STREAM:
            grant = n
            if self.scn == "zero-window" and st.data_frames == 1:
                grant += ZERO_WINDOW_SECOND_GRANT
                self.ev("sent", f"WINDOW_UPDATE stream={sid} {grant}")
            self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack("!I", grant)))
        return self.maybe_complete(flags, st)

    def maybe_complete(self, flags, st):
        if not flags & END_STREAM:
            return True
        del self.streams[st.sid]
        return self.respond(st)

    # -- scenario hooks --

    def rst(self, sid, code, what):
        self.ev("sent", f"RST_STREAM stream={sid} code={code}", what)
        self.send(frame(RST_STREAM, 0, sid, struct.pack("!I", code)))

    def admit(self, flags, st):
        """Hooks at a request's HEADERS; False when the stream was refused or reset."""
        scn, sid = self.scn, st.sid
        if scn == "rst":
            self.rst(sid, INTERNAL_ERROR, "rst")
            return False
        if scn == "refused" and self.shared.first_time(st.path):
            self.rst(sid, REFUSED_STREAM, "first attempt")
            return False
        if scn == "max-streams-1" and self.streams and self.settings_acked:
            self.ev("violation", f"stream={sid} opened while {sorted(self.streams)} open")
            self.rst(sid, REFUSED_STREAM, "over the limit")
            return False
        if scn == "zero-window" and not flags & END_STREAM:
            self.ev("sent", f"WINDOW_UPDATE stream={sid} {ZERO_WINDOW_FIRST_GRANT}")
            self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack("!I", ZERO_WINDOW_FIRST_GRANT)))
        if scn == "window-overflow":
            target = sid if self.arg == "stream" else 0
            self.ev("sent", f"WINDOW_UPDATE stream={target} {MAX_WINDOW}")
            self.send(frame(WINDOW_UPDATE, 0, target, struct.pack("!I", MAX_WINDOW)))
        if scn == "goaway-mid" and self.n == 0:
            if len(self.goaway_ids) >= self.goaway_k():
                self.ev("ignored", f"stream={sid}")
                return False
            self.goaway_ids.append(sid)
        return True

    def goaway_k(self):
        return int(self.arg) if self.arg else GOAWAY_DEFAULT_K

    def respond(self, st):
        """Answers a complete request; False once the connection is to be closed."""
        scn = self.scn
        if scn == "push-promise":
            self.push_promise(st)
        hostile = {
            "data-closed": self.data_closed,
            "oversize-frame": self.oversize_frame,
            "hpack-bomb": self.hpack_bomb,
            "huge-headers": self.huge_headers,
            "continuation-flood": self.continuation_flood,
        }.get(scn)
        if hostile:
            return hostile(st) is not False
        self.answer(st)
        if scn == "goaway-mid" and self.n == 0:
            self.goaway_done += 1
            if self.goaway_done == self.goaway_k():
                last = max(self.goaway_ids)
                self.ev("sent", f"GOAWAY last={last} code=0")
                self.send(frame(GOAWAY, 0, 0, struct.pack("!II", last, NO_ERROR)))
                self.linger()
                return False
        return True

    def answer(self, st, headers_extra=b""):
        body = f"ok {st.path}".encode()
        block = response_block(len(body), st.body_len) + headers_extra
        self.send(header_frames(st.sid, block, self.max_frame()) + frame(DATA, END_STREAM, st.sid, body))

    def max_frame(self):
        return self.client[S_MAX_FRAME_SIZE]

    # -- the hostile answers --

    def data_closed(self, st):
        self.answer(st)
        self.ev("sent", f"DATA on closed stream={st.sid}")
        self.send(frame(DATA, END_STREAM, st.sid, b"extra"))

    def oversize_frame(self, st):
        size = self.max_frame() + 1
        if size > 0xFFFFFF:
            self.ev("cannot", "oversize: the client allows the largest frame size")
            return self.answer(st)
        self.send(header_frames(st.sid, response_block(size, st.body_len), self.max_frame()))
        self.ev("sent", f"DATA len={size} stream={st.sid}")
        self.send(frame(DATA, 0, st.sid, b"x" * size) + frame(DATA, END_STREAM, st.sid))

    def hpack_bomb(self, st):
        name = b"x-bomb"
        room = self.client[S_HEADER_TABLE_SIZE] - 32 - len(name)
        value = b"b" * max(room, 1)
        block = STATUS_200 + literal(name, value, first=0x40) + b"\xbe" * HPACK_BOMB_REFS
        self.ev("sent", f"hpack bomb block={len(block)} decoded~{HPACK_BOMB_REFS * (len(value) + len(name) + 32)}")
        self.send(header_frames(st.sid, block, self.max_frame()))
        self.send(frame(DATA, END_STREAM, st.sid, b"ok"))

    def huge_headers(self, st):
        value = b"h" * HUGE_HEADER_VALUE
        extra = b"".join(
            literal(f"x-huge-{i:04}".encode(), value, first=0x10) for i in range(HUGE_HEADER_COUNT)
        )
        self.ev("sent", f"huge header block extra={len(extra)}")
        self.answer(st, headers_extra=extra)

    def continuation_flood(self, st):
        self.send(frame(HEADERS, 0, st.sid, STATUS_200))
        piece = b"" if self.arg == "empty" else literal(b"x-c", b"0123456789")
        self.ev("sent", "CONTINUATION flood")
        one = frame(CONTINUATION, 0, st.sid, piece)
        batch = one * 256
        while True:  # until the client closes: sendall then raises
            self.send(batch)

    def push_promise(self, st):
        promised = self.next_push
        self.next_push += 2
        block = b"\x82" + b"\x86" + literal(b":path", b"/pushed") + literal(b":authority", b"localhost")
        self.ev("sent", f"PUSH_PROMISE stream={st.sid} promised={promised} client_enable_push={self.client.get(0x2, 'unset')}")
        self.send(header_frames(st.sid, block, self.max_frame(), ftype=PUSH_PROMISE, prefix=struct.pack("!I", promised)))
        self.answer(st)
        body = b"pushed"
        self.send(header_frames(promised, response_block(len(body), 0), self.max_frame()) + frame(DATA, END_STREAM, promised, body))

    def flood(self):
        if self.scn == "ping-flood":
            one = frame(PING, 0, 0, b"floodpng")
        else:
            one = settings([(S_MAX_CONCURRENT_STREAMS, 100)])
        self.ev("sent", f"{self.scn} {FLOOD_COUNT}")
        for _ in range(FLOOD_COUNT // 100):
            self.send(one * 100)
        self.ev("sent", f"{self.scn} done")

    def bad_preface(self):
        if self.arg == "frame":
            junk = frame(PING, 0, 0, b"notsttn!")
        else:
            junk = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        self.ev("sent", f"bad preface {self.arg or 'http1'}")
        self.send(junk)
        # No half-close: the client has to notice the bad preface by itself.
        self.drain()


SCENARIOS = {
    "normal", "goaway-mid", "rst", "refused", "max-streams-1", "zero-window",
    "window-overflow", "data-closed", "oversize-frame", "hpack-bomb", "huge-headers",
    "continuation-flood", "ping-flood", "settings-flood", "push-promise", "bad-preface",
}


def exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def serve_one(sock, shared):
    Conn(sock, shared).run()


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in SCENARIOS:
        sys.exit(f"usage: h2_hostile.py SCENARIO [ARG]; scenarios: {' '.join(sorted(SCENARIOS))}")
    shared = Shared(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    event(f"ready port={lsock.getsockname()[1]}")
    while True:
        sock, _ = lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_one, args=(sock, shared), daemon=True).start()


if __name__ == "__main__":
    main()
