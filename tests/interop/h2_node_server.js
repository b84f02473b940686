#!/usr/bin/env node
// HTTP/2 test server for curlew, on Node's built-in `http2` module: one server over TLS
// (http2.createSecureServer, ALPN h2 with http/1.1 allowed) and one over cleartext (h2c with
// prior knowledge, http2.createServer), both with SETTINGS_ENABLE_CONNECT_PROTOCOL=1, for the
// fixtures in tests/support/h2_servers.rs.
//
// Usage: h2_node_server.js --cert PEM --key PEM
//
// Listens on 127.0.0.1 port 0 twice and prints one line `ready tls=P h2c=Q` on stdout once both
// listen. Exits when stdin reaches end of file, so a test that dies leaves no server behind.
//
// Routes (byte i of a pattern body is (i*7+3) % 251), as in h2_hypercorn_app.py:
//   GET /bytes/N, /1k, /100k, /10m   N pattern bytes, content-length set
//   GET /stream/N/K                  N pattern bytes in K writes, no content-length
//   POST|PUT /echo                   the request body back, x-body-len = its length
//   GET /trailers                    body "trailers body\n", trailers x-trailer-one: 1 and
//                                    x-trailer-two: 2 (always, whatever the request's te)
//   GET /status/N                    status N, body "status N\n" (none for 204, 304)
//   GET /redirect?to=PATH            302, location PATH
//   GET /headers                     the request headers as JSON [name, value] pairs, one per
//                                    line, pseudo-headers included, in arrival order
//   GET /slow/N                      "slow start\n", then N ms later "slow end\n"
//   CONNECT :protocol websocket      (any :path) RFC 8441: `:status 200`, then a minimal
//                                    RFC 6455 echo on the stream (see WsEcho below)
'use strict';

const http2 = require('http2');
const fs = require('fs');

/** Largest request body /echo accepts, and largest WebSocket message (then 413 / close 1009). */
const MAX_BODY = 64 << 20;
/** Size of the pattern writes. */
const CHUNK = 64 << 10;
const ALIASES = { '/1k': 1024, '/100k': 100 << 10, '/10m': 10 << 20 };
const PERIOD = Buffer.from(Array.from({ length: 251 + CHUNK }, (_, i) => (i * 7 + 3) % 251));

/** Pattern bytes start..end (end - start <= CHUNK). */
function pattern(start, end) {
  const off = start % 251;
  return PERIOD.subarray(off, off + (end - start));
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cert') o.cert = argv[++i];
    else if (argv[i] === '--key') o.key = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!o.cert || !o.key) throw new Error('usage: h2_node_server.js --cert PEM --key PEM');
  return o;
}

function simple(res, status, text, headers = {}) {
  const body = Buffer.from(text);
  res.writeHead(status, { 'content-length': body.length, ...headers });
  res.end(body);
}

/** Writes pattern bytes [0, n) cut at `bounds`, waiting for 'drain' when the stream is full. */
function writePattern(res, bounds) {
  let j = 0;
  const next = () => {
    while (j + 1 < bounds.length) {
      const [a, b] = [bounds[j], bounds[j + 1]];
      j++;
      const parts = [];
      for (let p = a; p < b; p += CHUNK) parts.push(pattern(p, Math.min(b, p + CHUNK)));
      if (!res.write(parts.length === 1 ? parts[0] : Buffer.concat(parts))) {
        res.once('drain', next);
        return;
      }
    }
    res.end();
  };
  next();
}

function sendPattern(res, n, chunks) {
  if (chunks === undefined) {
    res.writeHead(200, { 'content-length': n });
    const bounds = [];
    for (let p = 0; p < n; p += CHUNK) bounds.push(p);
    bounds.push(n);
    writePattern(res, bounds);
  } else {
    res.writeHead(200);
    const k = Math.max(chunks, 1);
    writePattern(res, Array.from({ length: k + 1 }, (_, j) => Math.floor((n * j) / k)));
  }
}

function echo(req, res) {
  const parts = [];
  let size = 0;
  req.on('data', (d) => {
    size += d.length;
    if (size <= MAX_BODY) parts.push(d);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return simple(res, 413, 'too large\n');
    const body = Buffer.concat(parts);
    res.writeHead(200, { 'content-length': body.length, 'x-body-len': body.length });
    res.end(body);
  });
}

function trailers(res) {
  res.writeHead(200, { trailer: 'x-trailer-one, x-trailer-two' });
  res.addTrailers({ 'x-trailer-one': '1', 'x-trailer-two': '2' });
  res.end('trailers body\n');
}

function headersJson(req, res) {
  const raw = req.rawHeaders;
  const pairs = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push(JSON.stringify([raw[i], raw[i + 1]]));
  simple(res, 200, `[\n${pairs.join(',\n')}\n]\n`, { 'content-type': 'application/json' });
}

function status(res, code) {
  if (code === 204 || code === 304) {
    res.writeHead(code);
    res.end();
  } else {
    simple(res, code, `status ${code}\n`);
  }
}

function slow(res, ms) {
  res.writeHead(200);
  res.write('slow start\n');
  setTimeout(() => res.end('slow end\n'), ms);
}

/** The path's segments after the first as integers, when there are exactly `n` of them. */
function ints(seg, n) {
  const rest = seg.slice(1);
  if (rest.length !== n || !rest.every((s) => /^[0-9]+$/.test(s))) return null;
  return rest.map(Number);
}

function onRequest(req, res) {
  const url = new URL(req.url, 'http://x');
  const path = url.pathname;
  const seg = path.replace(/^\/+|\/+$/g, '').split('/');
  let v;
  if ((req.method === 'POST' || req.method === 'PUT') && path === '/echo') return echo(req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') return simple(res, 405, 'method not allowed\n');
  if (path in ALIASES) return sendPattern(res, ALIASES[path]);
  if (seg[0] === 'bytes' && (v = ints(seg, 1))) return sendPattern(res, v[0]);
  if (seg[0] === 'stream' && (v = ints(seg, 2))) return sendPattern(res, v[0], v[1]);
  if (path === '/trailers') return trailers(res);
  if (seg[0] === 'status' && (v = ints(seg, 1)) && v[0] >= 200 && v[0] <= 999) return status(res, v[0]);
  if (path === '/redirect') {
    const to = url.searchParams.get('to') || '/';
    return simple(res, 302, `redirect to ${to}\n`, { location: to });
  }
  if (path === '/headers') return headersJson(req, res);
  if (seg[0] === 'slow' && (v = ints(seg, 1))) return slow(res, v[0]);
  simple(res, 404, `not found ${path}\n`);
}

/**
 * RFC 6455 echo on one HTTP/2 stream (RFC 8441: no handshake keys, no masking exemption).
 * Client frames must be masked and have RSV bits clear (else close 1002); fragmented messages
 * are reassembled; text must be UTF-8 (else 1007); a message over MAX_BODY closes with 1009.
 * Ping is answered with pong, pong ignored, close answered with a close carrying the same code
 * (1000 for an empty one) and the end of the stream. Messages go back unmasked, in one frame,
 * with their type.
 */
class WsEcho {
  constructor(stream) {
    this.stream = stream;
    this.buf = Buffer.alloc(0);
    this.msgOp = 0;
    this.parts = [];
    this.size = 0;
    this.closed = false;
    stream.on('data', (d) => this.onData(d));
    stream.on('end', () => this.finish());
  }

  send(opcode, payload) {
    const n = payload.length;
    let head;
    if (n < 126) head = Buffer.from([0x80 | opcode, n]);
    else if (n < 65536) {
      head = Buffer.alloc(4);
      head.writeUInt16BE(n, 2);
      head[1] = 126;
    } else {
      head = Buffer.alloc(10);
      head.writeBigUInt64BE(BigInt(n), 2);
      head[1] = 127;
    }
    head[0] = 0x80 | opcode;
    this.stream.write(Buffer.concat([head, payload]));
  }

  close(code) {
    if (this.closed) return;
    this.closed = true;
    const p = Buffer.alloc(2);
    p.writeUInt16BE(code);
    this.send(0x8, p);
    this.finish();
  }

  finish() {
    this.closed = true;
    if (!this.stream.writableEnded) this.stream.end();
  }

  onData(d) {
    if (this.closed) return;
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const f = this.parseFrame();
      if (!f) return;
      this.onFrame(f);
      if (this.closed) return;
    }
  }

  /** The next complete frame, unmasked, or null (then more bytes are needed or it closed). */
  parseFrame() {
    const b = this.buf;
    if (b.length < 2) return null;
    const fin = (b[0] & 0x80) !== 0;
    const rsv = b[0] & 0x70;
    const op = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    let n = b[1] & 0x7f;
    let pos = 2;
    if (n === 126) {
      if (b.length < 4) return null;
      n = b.readUInt16BE(2);
      pos = 4;
    } else if (n === 127) {
      if (b.length < 10) return null;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_BODY)) return this.close(1009), null;
      n = Number(big);
      pos = 10;
    }
    if (rsv !== 0 || !masked) return this.close(1002), null;
    if (b.length < pos + 4 + n) return null;
    const mask = b.subarray(pos, pos + 4);
    const payload = Buffer.from(b.subarray(pos + 4, pos + 4 + n));
    for (let i = 0; i < n; i++) payload[i] ^= mask[i & 3];
    this.buf = b.subarray(pos + 4 + n);
    return { fin, op, payload };
  }

  onFrame({ fin, op, payload }) {
    if (op >= 0x8) return this.onControl(fin, op, payload);
    if (op === 0x0 ? this.msgOp === 0 : this.msgOp !== 0 || (op !== 0x1 && op !== 0x2)) {
      return this.close(1002);
    }
    if (op !== 0x0) this.msgOp = op;
    this.size += payload.length;
    if (this.size > MAX_BODY) return this.close(1009);
    this.parts.push(payload);
    if (!fin) return;
    const msg = Buffer.concat(this.parts);
    const opcode = this.msgOp;
    [this.msgOp, this.parts, this.size] = [0, [], 0];
    if (opcode === 0x1 && !isUtf8(msg)) return this.close(1007);
    this.send(opcode, msg);
  }

  onControl(fin, op, payload) {
    if (!fin || payload.length > 125) return this.close(1002);
    if (op === 0x9) return this.send(0xa, payload);
    if (op === 0xa) return;
    if (op !== 0x8) return this.close(1002);
    this.close(payload.length >= 2 ? payload.readUInt16BE(0) : 1000);
  }
}

function isUtf8(buf) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

/** HTTP/2 CONNECT (the compat layer's 'connect' event); HTTP/1 CONNECT is refused. */
function onConnect(req, res) {
  const stream = req.stream;
  if (!stream || typeof stream.respond !== 'function') {
    // HTTP/1.1 through allowHTTP1: the arguments are (req, socket, head).
    res.destroy();
    return;
  }
  stream.on('error', () => {});
  if (req.headers[':protocol'] !== 'websocket') {
    stream.respond({ ':status': 501 }, { endStream: true });
    return;
  }
  stream.respond({ ':status': 200 });
  new WsEcho(stream);
}

function listen(server) {
  server.on('request', onRequest);
  server.on('connect', onConnect);
  server.on('sessionError', () => {});
  server.on('session', (s) => s.on('error', () => {}));
  server.on('stream', (s) => s.on('error', () => {}));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const settings = { enableConnectProtocol: true };
  const tls = http2.createSecureServer({
    cert: fs.readFileSync(args.cert),
    key: fs.readFileSync(args.key),
    allowHTTP1: true,
    settings,
  });
  const h2c = http2.createServer({ settings });
  const [tlsPort, h2cPort] = await Promise.all([listen(tls), listen(h2c)]);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
  process.stdout.write(`ready tls=${tlsPort} h2c=${h2cPort}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
