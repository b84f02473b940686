"""An HTTP proxy that wants Digest authentication (RFC 7616: MD5 and SHA-256, qop=auth),
for curlew's proxy-auth tests: CONNECT tunnels and absolute-form requests, each checked
against the proxy's own computation of the expected response (hashlib, independent of
curlew's code). Python standard library only.

usage: digest_proxy.py PORT USER PASSWORD [MD5|SHA-256]

Without a valid Proxy-Authorization it answers 407 with a Digest challenge (a fresh nonce
each time) and a short body, then closes. Each request it checks is logged on stdout as
`ok METHOD URI` or `bad METHOD URI`.
"""

import asyncio
import hashlib
import os
import re
import sys

PORT, USER, PASSWORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ALGORITHM = sys.argv[4] if len(sys.argv) > 4 else "MD5"
REALM = "curlew-proxy"
NONCES = set()


def h(s):
    f = hashlib.sha256 if ALGORITHM.startswith("SHA-256") else hashlib.md5
    return f(s.encode()).hexdigest()


def params(value):
    return {k.lower(): v1 or v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))', value)}


def valid(method, uri, value):
    if not value or not value.lower().startswith("digest "):
        return False
    p = params(value[7:])
    if p.get("username") != USER or p.get("nonce") not in NONCES or p.get("uri") != uri:
        return False
    ha1 = h(f"{USER}:{REALM}:{PASSWORD}")
    ha2 = h(f"{method}:{uri}")
    if p.get("qop") == "auth":
        want = h(f"{ha1}:{p['nonce']}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
    else:
        want = h(f"{ha1}:{p['nonce']}:{ha2}")
    return p.get("response") == want


async def read_head(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
    return method, target, fields


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def refuse(writer):
    nonce = os.urandom(16).hex()
    NONCES.add(nonce)
    body = b"proxy authentication required\n"
    writer.write(
        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
        + f'Proxy-Authenticate: Digest realm="{REALM}", nonce="{nonce}", qop="auth", algorithm={ALGORITHM}\r\n'.encode()
        + b'Proxy-Authenticate: Basic realm="not-this-one"\r\n'
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    writer.close()


async def handle(reader, writer):
    try:
        method, target, fields = await read_head(reader)
    except (asyncio.IncompleteReadError, ValueError, ConnectionError):
        writer.close()
        return
    ok = valid(method, target, fields.get("proxy-authorization"))
    print(("ok" if ok else "bad"), method, target, flush=True)
    if not ok:
        await refuse(writer)
        return
    if method == "CONNECT":
        host, port = target.rsplit(":", 1)
        up_r, up_w = await asyncio.open_connection(host.strip("[]"), int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        return
    # Absolute form: forward this one request (no body), then close.
    m = re.match(r"http://([^/:]+)(?::(\d+))?(/.*)?$", target)
    host, port, path = m.group(1), int(m.group(2) or 80), m.group(3) or "/"
    up_r, up_w = await asyncio.open_connection(host, port)
    up_w.write(f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    await up_w.drain()
    await pipe(up_r, writer)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", PORT)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
