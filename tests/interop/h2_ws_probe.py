#!/usr/bin/env python3
"""RFC 8441 probe for curlew's HTTP/2 test servers (tests/h2_servers_smoke.rs): a WebSocket
client over one HTTP/2 stream, written with the sans-IO `h2` package and hand-made RFC 6455
frames, to check that a fixture announces SETTINGS_ENABLE_CONNECT_PROTOCOL and echoes over an
extended CONNECT.

Usage: h2_ws_probe.py PORT [--tls CA_PEM] [--path /ws]

Connects to 127.0.0.1:PORT (h2c with prior knowledge, or TLS with ALPN h2 and server name
localhost), waits for the server's SETTINGS, sends CONNECT :protocol websocket, then a masked
text message, a binary message in three fragments with a ping between them, and a close.
Prints `enable_connect_protocol=V` (V: the value the server announced, or `absent`), then
`status=S`, then one `echo ...` line per message received, `pong ...`, `close CODE`, and
finally `done`. Exit status 0 only when all of that matched; 1 with a message on stderr
otherwise. Every read is bounded by a 10 s socket timeout.
"""

import argparse
import os
import socket
import ssl
import struct
import sys

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

TIMEOUT_S = 10
TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def frame(opcode, payload, fin=True):
    """A masked client frame."""
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def parse_frames(buf):
    """Complete server frames at the start of buf: ([(fin, opcode, payload)], rest)."""
    out = []
    while len(buf) >= 2:
        fin, op, masked, n = buf[0] >> 7, buf[0] & 0xF, buf[1] >> 7, buf[1] & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                break
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if masked:
            raise SystemExit("probe: the server masked a frame")
        if len(buf) < pos + n:
            break
        out.append((bool(fin), op, buf[pos : pos + n]))
        buf = buf[pos + n :]
    return out, buf


class Probe:
    def __init__(self, sock):
        self.sock = sock
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.ws_buf = b""
        self.status = None
        self.settings = None
        self.ended = False

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self):
        data = self.sock.recv(65536)
        if not data:
            raise SystemExit("probe: the server closed the connection")
        for ev in self.conn.receive_data(data):
            self.on_event(ev)
        self.flush()

    def on_event(self, ev):
        if isinstance(ev, h2.events.RemoteSettingsChanged):
            if self.settings is None:
                self.settings = ev.changed_settings
        elif isinstance(ev, h2.events.ResponseReceived):
            self.status = dict(ev.headers).get(b":status", b"?").decode()
        elif isinstance(ev, h2.events.DataReceived):
            self.ws_buf += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
            self.ended = True
        elif isinstance(ev, h2.events.ConnectionTerminated):
            raise SystemExit(f"probe: GOAWAY {ev.error_code}")

    def send(self, data):
        """Sends data on stream 1 in frames the peer allows, waiting for window when needed."""
        while data:
            room = min(self.conn.local_flow_control_window(1), self.conn.max_outbound_frame_size)
            if room == 0:
                self.pump()
                continue
            self.conn.send_data(1, data[:room])
            data = data[room:]
        self.flush()

    def frames(self, want):
        """Reads until `want` server frames have arrived."""
        got = []
        while len(got) < want:
            frames, self.ws_buf = parse_frames(self.ws_buf)
            got += frames
            if len(got) < want:
                if self.ended:
                    raise SystemExit(f"probe: stream ended after {got}")
                self.pump()
        return got


def connect(port, ca):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    if ca is None:
        return sock, "http"
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(["h2"])
    tls = ctx.wrap_socket(sock, server_hostname="localhost")
    if tls.selected_alpn_protocol() != "h2":
        raise SystemExit(f"probe: ALPN chose {tls.selected_alpn_protocol()!r}, not h2")
    return tls, "https"


def run(port, ca, path):
    sock, scheme = connect(port, ca)
    p = Probe(sock)
    p.conn.initiate_connection()
    p.flush()
    while p.settings is None:
        p.pump()
    ecp = p.settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL)
    print(f"enable_connect_protocol={ecp.new_value if ecp else 'absent'}", flush=True)
    headers = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", scheme),
        (":path", path),
        (":authority", f"localhost:{port}"),
        ("sec-websocket-version", "13"),
    ]
    p.conn.send_headers(1, headers)
    p.flush()
    while p.status is None:
        p.pump()
    print(f"status={p.status}", flush=True)
    if p.status != "200":
        raise SystemExit(f"probe: CONNECT answered {p.status}")
    exchange(p)


def exchange(p):
    big = bytes(range(256)) * 300  # 76800 bytes: a 64-bit length and several DATA frames
    msgs = [
        frame(TEXT, "héllo".encode()),
        frame(BINARY, big[:1000], fin=False),
        frame(PING, b"p1"),
        frame(CONT, big[1000:40000], fin=False),
        frame(CONT, big[40000:], fin=True),
    ]
    for m in msgs:
        p.send(m)
    # The server may answer the ping before or after the fragmented message; compared sorted.
    want = [(TEXT, "héllo".encode()), (BINARY, big), (PONG, b"p1")]
    got, op_, partial = [], None, b""
    while len(got) < len(want):
        for fin, op, payload in p.frames(1):
            if op in (TEXT, BINARY):
                op_, partial = op, payload
            elif op == CONT:
                partial += payload
            else:
                got.append((op, payload))
                continue
            if fin:
                got.append((op_, partial))
    for (op, data), (wop, wdata) in zip(sorted(got), sorted(want)):
        if (op, data) != (wop, wdata):
            raise SystemExit(f"probe: got opcode {op} len {len(data)}, want {wop} len {len(wdata)}")
        kind = {TEXT: "echo text", BINARY: "echo binary", PONG: "pong"}[op]
        print(f"{kind} {len(data)}", flush=True)
    p.send(frame(CLOSE, struct.pack("!H", 1000) + b"bye"))
    (fin, op, payload), = p.frames(1)
    if op != CLOSE or payload[:2] != struct.pack("!H", 1000):
        raise SystemExit(f"probe: expected close 1000, got opcode {op} {payload!r}")
    print("close 1000", flush=True)
    print("done", flush=True)


def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("port", type=int)
    a.add_argument("--tls", metavar="CA_PEM")
    a.add_argument("--path", default="/ws")
    args = a.parse_args()
    try:
        run(args.port, args.tls, args.path)
    except (OSError, h2.exceptions.ProtocolError) as e:
        raise SystemExit(f"probe: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
