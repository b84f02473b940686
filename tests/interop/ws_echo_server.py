#!/usr/bin/env python3
"""WebSocket echo server with permessage-deflate (RFC 7692), Python `websockets`, for
curlew's interop tests (tests/ws_interop.rs; installed by .ci/interop-setup.sh).

Listens on 127.0.0.1, port 0, and prints the port as the first line of stdout. Echoes every
message with its type (text stays text, binary stays binary). The text message "?ext" is
answered with "ext:" + the Sec-WebSocket-Extensions header of the handshake response
(empty when compression was not negotiated), and "?wire" with "wire:" + the number of bytes
received on the connection so far (so a test can tell that the client did compress). Exits when stdin reaches end of file, so a
test that dies leaves no server behind.

The flags configure what the server requests or accepts (websockets'
ServerPerMessageDeflateFactory); every message is compressed (no threshold).
"""

import argparse
import asyncio
import os
import sys
import threading

from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server-no-context-takeover", action="store_true")
    p.add_argument("--client-no-context-takeover", action="store_true")
    p.add_argument("--server-max-window-bits", type=int, metavar="N")
    p.add_argument("--client-max-window-bits", type=int, metavar="N")
    p.add_argument(
        "--max-size", type=int, default=8 << 20, help="largest message accepted (bytes)"
    )
    p.add_argument(
        "--fragment",
        type=int,
        default=0,
        metavar="N",
        help="echo messages longer than N characters/bytes in fragments of N (0: whole)",
    )
    return p.parse_args()


def exit_on_stdin_eof():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


class CountingConnection(ServerConnection):
    """Counts the bytes received on the socket (for "?wire")."""

    wire_in = 0

    def data_received(self, data):
        self.wire_in += len(data)
        super().data_received(data)


async def main(args):
    factory = ServerPerMessageDeflateFactory(
        server_no_context_takeover=args.server_no_context_takeover,
        client_no_context_takeover=args.client_no_context_takeover,
        server_max_window_bits=args.server_max_window_bits,
        client_max_window_bits=args.client_max_window_bits,
    )

    async def echo(ws):
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        async for msg in ws:
            if msg == "?ext":
                await ws.send("ext:" + ext)
            elif msg == "?wire":
                await ws.send("wire:%d" % ws.wire_in)
            elif args.fragment and len(msg) > args.fragment:
                n = args.fragment
                await ws.send([msg[i : i + n] for i in range(0, len(msg), n)])
            else:
                await ws.send(msg)

    async with serve(
        echo,
        "127.0.0.1",
        0,
        compression=None,
        create_connection=CountingConnection,
        extensions=[factory],
        max_size=args.max_size,
        ping_interval=None,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    threading.Thread(target=exit_on_stdin_eof, daemon=True).start()
    asyncio.run(main(parse_args()))
