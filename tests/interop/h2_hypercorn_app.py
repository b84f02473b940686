#!/usr/bin/env python3
"""HTTP/2 test server for curlew: an ASGI app served by hypercorn over TLS (h2 through ALPN,
http/1.1 as fallback) and over cleartext (h2c with prior knowledge, or HTTP/1.1), for the
fixtures in tests/support/h2_servers.rs (installed by .ci/interop-setup.sh).

Usage: h2_hypercorn_app.py --cert PEM --key PEM

Binds 127.0.0.1 port 0 twice, listens, and prints one line `ready tls=P h2c=Q` (the ports
the kernel chose) on stdout; connections made after that line are served. Exits when stdin
reaches end of file, so a test that dies leaves no server behind.

Routes (the body pattern: byte i of a body is (i*7+3) % 251):
  GET /bytes/N             N pattern bytes, content-length set
  GET /1k /100k /10m       the same as /bytes/1024, /bytes/102400, /bytes/10485760
  GET /stream/N/K          N pattern bytes in K chunks, no content-length
  POST|PUT /echo           the request body back, header x-body-len = its length
  GET /trailers            body "trailers body\\n", then trailers x-trailer-one: 1 and
                           x-trailer-two: 2 (hypercorn sends trailers only when the request
                           carries `te: trailers`; without it the body alone)
  GET /status/N            status N, body "status N\\n" (none for 1xx, 204, 304)
  GET /redirect?to=PATH    302, location PATH
  GET /headers             the request headers as JSON, a list of [name, value] pairs in
                           arrival order, one pair per line
  GET /slow/N              "slow start\\n", then N ms later "slow end\\n"
  GET|POST /digest/ALG     RFC 7616 Digest authentication (ALG: MD5, MD5-sess, SHA-256,
                           SHA-256-sess; qop auth; user "digest", password "s3cret"): 401
                           with a challenge, or 200 "digest ok ALG" (a POST's body echoed
                           after it) for a valid answer; x-digest-tries counts the requests
                           seen on this path
  POST|PUT /multipart      a multipart/form-data body parsed by python-multipart (streamed: no
                           part is held whole), answered as `key: value` lines (strings in JSON,
                           null when absent): method, content-type, content-length,
                           transfer-encoding, expect, complete (the final boundary was seen),
                           then per part a line `part: name=.. filename=.. type=.. length=N
                           sha256=HEX` (filename as sent: no percent-decoding) followed by its
                           headers, one `  header: ["Name", "value"]` line each; 400 with the
                           parser's error as text
  ANY /redirect307?to=P    the request body read and dropped, then 307 with location P
  /ws                      WebSocket echo (HTTP/1.1 Upgrade, or RFC 8441 extended CONNECT
                           over h2): every message back with its type
  anything else            404
"""

import argparse
import asyncio
import hashlib
import json
import os
import socket
import sys
import threading
from urllib.parse import parse_qs

from hypercorn.asyncio import serve
from hypercorn.config import Config

# Largest request body /echo accepts (413 beyond).
MAX_ECHO_BODY = 64 << 20
# Size of the body chunks the app hands to hypercorn.
CHUNK = 64 << 10
ALIASES = {"/1k": 1024, "/100k": 100 << 10, "/10m": 10 << 20}


# The pattern repeats every 251 bytes: bodies are slices of this precomputed stretch.
PERIOD = bytes((i * 7 + 3) % 251 for i in range(251 + CHUNK))


def pattern(start, end):
    """Bytes start..end of the deterministic body pattern."""
    out = bytearray()
    while start < end:
        off = start % 251
        n = min(end - start, CHUNK)
        out += PERIOD[off : off + n]
        start += n
    return bytes(out)


async def start(send, status, headers=(), trailers=False):
    msg = {
        "type": "http.response.start",
        "status": status,
        "headers": [(k.encode(), v.encode()) for k, v in headers],
    }
    if trailers:
        msg["trailers"] = True
    await send(msg)


async def body(send, data, more=False):
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def simple(send, status, text, headers=()):
    data = text.encode()
    await start(send, status, [("content-length", str(len(data)))] + list(headers))
    await body(send, data)


async def send_pattern(send, n, chunks=None):
    """n pattern bytes; with chunks, in that many pieces and without content-length."""
    if chunks is None:
        await start(send, 200, [("content-length", str(n))])
        bounds = list(range(0, n, CHUNK)) + [n]
    else:
        await start(send, 200)
        k = max(chunks, 1)
        bounds = [n * j // k for j in range(k + 1)]
    for a, b in zip(bounds, bounds[1:]):
        await body(send, pattern(a, b), more=True)
    await body(send, b"")


async def read_body(receive):
    """The request body, or None when it exceeds MAX_ECHO_BODY."""
    parts, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return None
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > MAX_ECHO_BODY:
            return None
        parts.append(chunk)
        if not msg.get("more_body", False):
            return b"".join(parts)


async def echo(receive, send):
    data = await read_body(receive)
    if data is None:
        await simple(send, 413, "too large\n")
        return
    await start(
        send, 200, [("content-length", str(len(data))), ("x-body-len", str(len(data)))]
    )
    await body(send, data)


async def trailers(scope, send):
    can = "http.response.trailers" in scope.get("extensions", {})
    await start(send, 200, [("trailer", "x-trailer-one, x-trailer-two")], trailers=can)
    # With trailers announced, the body's end (more_body false) moves hypercorn on to them.
    await body(send, b"trailers body\n")
    if can:
        await send(
            {
                "type": "http.response.trailers",
                "headers": [(b"x-trailer-one", b"1"), (b"x-trailer-two", b"2")],
                "more_trailers": False,
            }
        )


async def status(send, code):
    if code < 200 or code in (204, 304):
        await start(send, code)
        await body(send, b"")
    else:
        await simple(send, code, f"status {code}\n")


async def headers_json(scope, send):
    pairs = [
        json.dumps([k.decode("latin-1"), v.decode("latin-1")]) for k, v in scope["headers"]
    ]
    await simple(send, 200, "[\n" + ",\n".join(pairs) + "\n]\n", [("content-type", "application/json")])


async def slow(send, ms):
    await start(send, 200)
    await body(send, b"slow start\n", more=True)
    await asyncio.sleep(ms / 1000)
    await body(send, b"slow end\n")


DIGEST_USER, DIGEST_PASSWORD, DIGEST_REALM = "digest", "s3cret", "curlew-tests"
DIGEST_TRIES = {}


def digest_params(value):
    """The name=value pairs of a Digest header (quoted or not)."""
    out, rest = {}, value
    while rest:
        rest = rest.lstrip(" ,")
        if "=" not in rest:
            break
        name, rest = rest.split("=", 1)
        if rest.startswith('"'):
            end = rest.index('"', 1)
            val, rest = rest[1:end], rest[end + 1 :]
        else:
            val, _, rest = rest.partition(",")
        out[name.strip().lower()] = val.strip()
    return out


async def digest(scope, receive, send, alg):
    """RFC 7616 §3.4 checked by hand (this file's own code, not curlew's)."""
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}.get(alg.removesuffix("-sess"))
    if h is None:
        return await simple(send, 404, "no such algorithm\n")
    H = lambda s: h(s.encode()).hexdigest()
    DIGEST_TRIES[scope["path"]] = DIGEST_TRIES.get(scope["path"], 0) + 1
    tries = ("x-digest-tries", str(DIGEST_TRIES[scope["path"]]))
    data = await read_body(receive) or b""
    auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    nonce = "n" + H(scope["path"])[:16]
    if auth.lower().startswith("digest "):
        p = digest_params(auth[7:])
        uri = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            uri += "?" + scope["query_string"].decode("latin-1")
        ha1 = H(f"{DIGEST_USER}:{DIGEST_REALM}:{DIGEST_PASSWORD}")
        if alg.endswith("-sess"):
            ha1 = H(f"{ha1}:{nonce}:{p.get('cnonce', '')}")
        ha2 = H(f"{scope['method']}:{uri}")
        want = H(f"{ha1}:{nonce}:{p.get('nc', '')}:{p.get('cnonce', '')}:auth:{ha2}")
        ok = (
            p.get("username") == DIGEST_USER
            and p.get("realm") == DIGEST_REALM
            and p.get("nonce") == nonce
            and p.get("uri") == uri
            and p.get("qop") == "auth"
            and p.get("opaque") == "opaque-value"
            and p.get("algorithm", "MD5").upper() == alg.upper()
            and p.get("response") == want
        )
        if ok:
            return await simple(send, 200, f"digest ok {alg}\n" + data.decode("latin-1"), [tries])
    challenge = (
        f'Digest realm="{DIGEST_REALM}", qop="auth", algorithm={alg}, '
        f'nonce="{nonce}", opaque="opaque-value"'
    )
    await simple(send, 401, "unauthorized\n", [("www-authenticate", challenge), tries])


class FormParts:
    """The parts of a multipart body as python-multipart's callbacks see them."""

    def __init__(self):
        self.parts, self.done = [], False
        self.field, self.value, self.hash = b"", b"", None

    def callbacks(self):
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": lambda d, a, b: setattr(self, "field", self.field + d[a:b]),
            "on_header_value": lambda d, a, b: setattr(self, "value", self.value + d[a:b]),
            "on_header_end": self.header_end,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": lambda: setattr(self, "done", True),
        }

    def part_begin(self):
        self.parts.append({"headers": [], "length": 0})
        self.hash = hashlib.sha256()

    def header_end(self):
        self.parts[-1]["headers"].append([self.field.decode("latin-1"), self.value.decode("latin-1")])
        self.field, self.value = b"", b""

    def part_data(self, data, a, b):
        self.hash.update(data[a:b])
        self.parts[-1]["length"] += b - a

    def part_end(self):
        from python_multipart.multipart import parse_options_header

        part = self.parts[-1]
        part["sha256"] = self.hash.hexdigest()
        hdrs = {k.lower(): v for k, v in part["headers"]}
        _, disp = parse_options_header(hdrs.get("content-disposition", ""))
        part["name"] = disp[b"name"].decode("latin-1") if b"name" in disp else None
        fname = disp.get(b"filename")
        part["filename"] = None if fname is None else fname.decode("latin-1")
        part["content_type"] = hdrs.get("content-type")


async def multipart(scope, receive, send):
    """Parse a multipart/form-data body as it arrives (see the module docs)."""
    # Imported here: the other routes serve without python-multipart (an older venv).
    import python_multipart
    from python_multipart.multipart import parse_options_header

    hdrs = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    ctype = hdrs.get("content-type", "")
    _, params = parse_options_header(ctype)
    if b"boundary" not in params:
        await read_body(receive)
        return await simple(send, 400, f"no boundary in content-type {ctype!r}\n")
    form = FormParts()
    parser = python_multipart.MultipartParser(params[b"boundary"], form.callbacks())
    try:
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            parser.write(msg.get("body", b""))
            if not msg.get("more_body", False):
                break
        parser.finalize()
    except Exception as e:  # the parser's error, for the test to read
        return await simple(send, 400, f"multipart parse error: {e}\n")
    await simple(send, 200, form_report(scope, hdrs, form))


def form_report(scope, hdrs, form):
    """The /multipart answer: `key: value` lines, strings as JSON (null when absent)."""
    j = json.dumps
    lines = [
        f"method: {scope['method']}",
        f"content-type: {j(hdrs.get('content-type'))}",
        f"content-length: {j(hdrs.get('content-length'))}",
        f"transfer-encoding: {j(hdrs.get('transfer-encoding'))}",
        f"expect: {j(hdrs.get('expect'))}",
        f"complete: {j(form.done)}",
    ]
    for p in form.parts:
        lines.append(
            f"part: name={j(p['name'])} filename={j(p['filename'])} type={j(p['content_type'])} "
            f"length={p['length']} sha256={p['sha256']}"
        )
        lines += [f"  header: {j(h)}" for h in p["headers"]]
    return "\n".join(lines) + "\n"


def ints(parts, n):
    """The n path segments as non-negative ints, or None."""
    if len(parts) != n or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


async def http(scope, receive, send):
    method, path = scope["method"], scope["path"]
    seg = path.strip("/").split("/")
    if method in ("POST", "PUT") and path == "/echo":
        return await echo(receive, send)
    if method in ("POST", "PUT") and path == "/multipart":
        return await multipart(scope, receive, send)
    if path == "/redirect307":
        await read_body(receive)
        to = parse_qs(scope["query_string"].decode("latin-1")).get("to", ["/"])[0]
        return await simple(send, 307, f"redirect to {to}\n", [("location", to)])
    if seg[0] == "digest" and len(seg) == 2:
        return await digest(scope, receive, send, seg[1])
    if method not in ("GET", "HEAD"):
        return await simple(send, 405, "method not allowed\n")
    if path in ALIASES:
        return await send_pattern(send, ALIASES[path])
    if seg[0] == "bytes" and (v := ints(seg[1:], 1)):
        return await send_pattern(send, v[0])
    if seg[0] == "stream" and (v := ints(seg[1:], 2)):
        return await send_pattern(send, v[0], chunks=v[1])
    if path == "/trailers":
        return await trailers(scope, send)
    if seg[0] == "status" and (v := ints(seg[1:], 1)) and 100 <= v[0] <= 999:
        return await status(send, v[0])
    if path == "/redirect":
        to = parse_qs(scope["query_string"].decode("latin-1")).get("to", ["/"])[0]
        return await simple(send, 302, f"redirect to {to}\n", [("location", to)])
    if path == "/headers":
        return await headers_json(scope, send)
    if seg[0] == "slow" and (v := ints(seg[1:], 1)):
        return await slow(send, v[0])
    await simple(send, 404, f"not found {path}\n")


async def websocket(scope, receive, send):
    if scope["path"] != "/ws":
        await send({"type": "websocket.close", "code": 1008})
        return
    msg = await receive()
    if msg["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    while True:
        msg = await receive()
        if msg["type"] == "websocket.disconnect":
            return
        if msg.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": msg["bytes"]})
        else:
            await send({"type": "websocket.send", "text": msg.get("text", "")})


async def app(scope, receive, send):
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket(scope, receive, send)
    elif scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def listening_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    return s


def exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cert", required=True, help="PEM certificate chain")
    p.add_argument("--key", required=True, help="PEM private key")
    args = p.parse_args()
    tls, h2c = listening_socket(), listening_socket()
    config = Config()
    config.certfile, config.keyfile = args.cert, args.key
    config.bind = [f"fd://{tls.fileno()}"]
    config.insecure_bind = [f"fd://{h2c.fileno()}"]
    config.accesslog = None
    config.errorlog = "-"
    config.keep_alive_timeout = 60
    config.websocket_max_message_size = MAX_ECHO_BODY
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    # Both sockets listen already: a client connecting from now on waits in the backlog
    # until the event loop accepts it.
    print(f"ready tls={tls.getsockname()[1]} h2c={h2c.getsockname()[1]}", flush=True)
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()
