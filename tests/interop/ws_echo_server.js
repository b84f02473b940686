#!/usr/bin/env node
// WebSocket echo server with permessage-deflate (RFC 7692), Node `ws`, for curlew's interop
// tests (tests/ws_interop.rs; installed by .ci/interop-setup.sh, found through NODE_PATH).
//
// Listens on 127.0.0.1, port 0, and prints the port as the first line of stdout. Echoes every
// message with its type (text stays text, binary stays binary). The text message "?ext" is
// answered with "ext:" + the Sec-WebSocket-Extensions header of the handshake response (empty
// when compression was not negotiated), and "?wire" with "wire:" + the number of bytes received
// on the connection so far (so a test can tell that the client did compress). Exits when stdin reaches end of file, so a test that
// dies leaves no server behind.
//
// Flags: --server-no-context-takeover --client-no-context-takeover
//        --server-max-window-bits N --client-max-window-bits N  (what the server requests or
//        accepts: ws's perMessageDeflate options; threshold 0, every message is compressed)
//        --max-size BYTES (largest message accepted, default 8 MiB)
//        --fragment N (echo messages longer than N bytes in fragments of N; 0: whole)
'use strict';

const { WebSocketServer } = require('ws');

function parseArgs(argv) {
  const o = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
    maxSize: 8 << 20,
    fragment: 0,
  };
  const num = (i) => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v)) throw new Error(`${argv[i - 1]} needs an integer, got ${argv[i]}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--server-no-context-takeover': o.serverNoContextTakeover = true; break;
      case '--client-no-context-takeover': o.clientNoContextTakeover = true; break;
      case '--server-max-window-bits': o.serverMaxWindowBits = num(++i); break;
      case '--client-max-window-bits': o.clientMaxWindowBits = num(++i); break;
      case '--max-size': o.maxSize = num(++i); break;
      case '--fragment': o.fragment = num(++i); break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return o;
}

const args = parseArgs(process.argv.slice(2));
// Options left unset accept what the client offers (ws refuses an offer of
// server_no_context_takeover when serverNoContextTakeover is false rather than unset).
const perMessageDeflate = { threshold: 0 };
if (args.serverNoContextTakeover) perMessageDeflate.serverNoContextTakeover = true;
if (args.clientNoContextTakeover) perMessageDeflate.clientNoContextTakeover = true;
if (args.serverMaxWindowBits !== undefined) perMessageDeflate.serverMaxWindowBits = args.serverMaxWindowBits;
if (args.clientMaxWindowBits !== undefined) perMessageDeflate.clientMaxWindowBits = args.clientMaxWindowBits;

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate, maxPayload: args.maxSize });

// The response headers of each upgrade (the same `req` object reaches 'connection').
wss.on('headers', (headers, req) => {
  const h = headers.find((l) => /^sec-websocket-extensions:/i.test(l));
  req.curlewExt = h ? h.slice(h.indexOf(':') + 1).trim() : '';
});

wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.length === 4 && data.toString() === '?ext') {
      ws.send('ext:' + req.curlewExt);
      return;
    }
    if (!isBinary && data.length === 5 && data.toString() === '?wire') {
      ws.send('wire:' + req.socket.bytesRead);
      return;
    }
    const n = args.fragment;
    if (n > 0 && data.length > n) {
      for (let i = 0; i < data.length; i += n) {
        ws.send(data.subarray(i, i + n), { binary: isBinary, fin: i + n >= data.length });
      }
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
  ws.on('error', (e) => process.stderr.write(`ws_echo_server.js: ${e}\n`));
});

wss.on('listening', () => process.stdout.write(`${wss.address().port}\n`));

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
