//! The curlew manual: design decisions and the libcurl mapping. Documentation only.
//!
//! # 1. Architecture
//!
//! - **One owner.** [`Multi`](crate::Multi) owns every transfer, connection, timer and the
//!   resolver channels. Applications hold [`TransferId`](crate::TransferId)s (index plus
//!   generation: a stale id never reaches a transfer that reused the slot).
//! - **Lend the handler, borrow the world.** When a transfer runs a callback, the transfer and
//!   its handler are taken out of their slot, and the callback gets a [`Ctx`](crate::Ctx): a
//!   view of the rest of the multi. So a callback can pause, unpause, add and remove any
//!   transfer without `Rc<RefCell>` or locks, and the calls that would re-enter the loop
//!   (`perform`, `poll`) are not reachable from a `Ctx` at all: libcurl's
//!   `CURLE_RECURSIVE_API_CALL` table, checked by the compiler.
//! - **Sans-IO protocol core.** [`proto`](crate::proto) parses and encodes byte slices; the
//!   transfer state machine feeds it; the transport moves bytes.
//! - **Edge-triggered readiness, drained properly.** Each connection is registered once for
//!   read and write. A connection stays "readable" from an event until a read returns
//!   `WouldBlock`, so a transfer that stops reading early (pause, budget) reads again without
//!   a new event, and TLS plaintext buffered inside rustls is never stranded. There is no
//!   `epoll_ctl` per request, and a short read on a plain TCP socket ends the reading (the
//!   kernel queue is empty and the next arrival is a new edge) instead of a read that only
//!   says `WouldBlock`. A keep-alive GET costs one `writev`, one `recvfrom`, the checkout's
//!   one-byte `MSG_PEEK` and, shared by the transfers ready at once, one `epoll_wait`: [`Multi::poll`](crate::Multi::poll) starts
//!   the transfers added since the last call before it waits.
//! - **Work proportional to readiness.** Only transfers named by an event, a timer or a
//!   callback (the dirty set) are stepped in a turn; each receives at most
//!   [`STEP_RECV_BUDGET`](crate::STEP_RECV_BUDGET) bytes per turn, so a fast transfer cannot
//!   starve slow ones. Timers live in one binary heap with lazy invalidation: each transfer
//!   keeps one entry, its earliest deadline.
//! - **DNS never blocks.** Lookups run on up to [`DNS_THREADS`](crate::dns_limits::DNS_THREADS)
//!   worker threads, started lazily, that answer on a crossbeam channel and wake the poller;
//!   IP literals and `localhost` never reach them.
//! - **Connection reuse.** Idle connections are pooled by (scheme class, host, port, TLS
//!   settings). An idle pooled connection is closed as soon as its socket reports a hang-up
//!   or stray bytes when the loop sees it, and every checkout probes it with a one-byte
//!   `MSG_PEEK` whatever events were or were not seen (curl's `extract_if_dead`: bytes that
//!   arrived while the application was not polling, a server's `408`, make it unusable). A
//!   request that fails on a reused connection
//!   before any response byte arrived is retried once on a new connection when its body can
//!   be sent again.
//! - **Idle costs nothing.** Receive buffers and WebSocket send-queue storage are lent by a
//!   per-multi pool while bytes are in flight and given back after every step once drained
//!   (at most [`BUF_POOL_MAX_BYTES`](crate::BUF_POOL_MAX_BYTES) kept), the response parser
//!   allocates its header slots when a head arrives, and an open WebSocket drops its HTTP
//!   storage: 10,000 idle WebSocket connections cost about 4-5 KiB each in all (measured with
//!   `examples/ws_bench_client` and `examples/ws_idle_scale`), and the steady state allocates
//!   nothing per message.
//! - **Nothing allocated per request.** An [`Easy`](crate::Easy) is its transfer, as a libcurl
//!   easy handle is: adding and removing it moves one pointer, and its run state is reset in
//!   place. A warm keep-alive connection keeps the request head buffer and the response
//!   parser with its head storage for its next transfer; a response head that differs from
//!   the connection's previous one only inside header values (a `Date`) is checked against it
//!   eight bytes at a time instead of parsed again.
//! - **One timer structure.** Every per-transfer timeout (connect, per-address attempt, total,
//!   low speed, `Expect: 100-continue`, progress interval, WebSocket close wait, keepalive ping
//!   and pong wait) is folded into one deadline per transfer (the earliest), kept in one binary
//!   heap: the next deadline is O(1) to read, O(log n) to change.
//! - **Who calls whom.** The application holds an [`Easy`](crate::Easy) or a
//!   [`TransferId`](crate::TransferId); the [`Multi`](crate::Multi) (`src/multi/`) owns the
//!   transfers, the pool and the poller, and steps a transfer when an event, a timer or a
//!   callback marks it dirty. A transfer (`src/transfer/`: `connect`, `request`, `upload`,
//!   `response`, `content`, `policy`, `timers`, `ws`) never names the multi: it asks for
//!   connections, buffers, names and keys through the `Services` trait beside it, which the
//!   multi implements (`src/multi/services.rs`), and its callbacks get a
//!   [`Ctx`](crate::Ctx) that reaches the multi only through the `Host` trait. The sans-IO
//!   [`proto`](crate::proto) layer (HTTP/1.1 framing and exchange, WebSocket codec and
//!   session) is driven by the transfer; `transport` moves the bytes. Who owns what, and the
//!   order of calls in a turn: [below](#who-owns-what).
//! - **One random source.** Every random value on the wire (the `Sec-WebSocket-Key` nonce,
//!   every frame's masking key) comes from [`rng::SecureRng`](crate::rng::SecureRng): ChaCha20
//!   keyed from the OS (`getrandom`), one per multi, keyed at its first use, and one per
//!   WebSocket connection keyed from the multi's stream (no syscall per connection, no state
//!   shared between connections). The sans-IO session is handed its generator; it never
//!   reaches the OS itself. The keystream is made 64 keys at a time, a few nanoseconds a key.
//! - **Your own event loop.** [`Multi::with_socket_callbacks`](crate::Multi::with_socket_callbacks)
//!   makes the multi report which sockets to watch (changes only) and when to call it back, and
//!   [`Multi::socket_action`](crate::Multi::socket_action) drives it: see
//!   [`multi::external`](crate::multi::external). Other threads queue work through a
//!   [`CommandSender`](crate::CommandSender) (a bounded crossbeam channel plus the waker).
//!
//! ## Who owns what
//!
//! ```text
//! src/
//!   lib.rs, easy.rs, options.rs, info.rs, handler.rs, ctx.rs, error.rs, ws.rs   the public API
//!   id.rs          TransferId, ConnId: index + generation, named by everyone, owned by none
//!   clock.rs       the multi's clock (the real one; a fake one in the simulation tests)
//!   multi/         the driver and the one owner
//!     mod.rs         Multi: perform / poll / run, socket_action, the public knobs
//!     core.rs        Core: the transfer slots, the dirty set, the timer heap, the turn
//!     conns.rs       ConnTable: every connection, busy or idle; the pool index; the limits
//!     services.rs    Core as the transfer's Services and the callbacks' Host
//!     external.rs    the socket table of socket_action mode
//!     command.rs     commands from other threads
//!   transfer/      one transfer: a stream of requests over a connection it borrows
//!     mod.rs         Transfer: its state, step loop and end
//!     services.rs    Services: all it may ask of the multi (defined here, beside it)
//!     connect.rs     Init (checkout), Resolving, Connecting (drives a Connector)
//!     request.rs, upload.rs        the request head and body on their way out
//!     response.rs, content.rs      the response on its way in, decoding in bounded pieces
//!     policy.rs      redirects, the retry on a reused connection
//!     timers.rs      the deadlines and what each does when it passes
//!     ws.rs          the open WebSocket (both models)
//!   transport/     a connection
//!     mod.rs         Conn: the socket, its stream (TCP or TLS), its receive buffer, Conn::pull
//!     chain.rs       connecting as a chain of filters: TCP, then TLS
//!     connector.rs   the address walk of a new connection
//!     tls.rs         rustls configurations and errors
//!   proto/         sans-IO: http1 (framing, exchange, parser, bodies, decoding), ws, h2
//!                  (frames, HPACK, the client connection; not yet driven by the multi)
//!   dns.rs, rng.rs, url.rs       resolver threads, the random source, URLs
//!   sim/           (tests only) a fake clock and an in-memory network that drive a Multi
//! ```
//!
//! - **The multi owns everything**: transfers in a slab of slots (each a `Box<Transfer>` and
//!   its handler), connections in the `ConnTable` (`src/multi/conns.rs`), a slab of
//!   `Box<Conn>` under generation-checked `ConnId`s, busy or idle alike; the pool is an index
//!   over that table (origin key → idle connections), not a second owner. A transfer's slot
//!   names the connection it is attached to.
//! - **A step borrows**: to step a transfer, the multi takes it and its handler out of their
//!   slot and lends it its connection out of the table; after the step both go back (the
//!   connection to the table, or to the pool if the transfer released it, or closed). So a
//!   callback in the step can reach the rest of the multi without aliasing either, and
//!   between steps the table is the connection's only owner.
//! - **A transfer asks, never reaches**: everything it needs from the multi (a checkout, a
//!   new socket, registration with the poller, buffers, the resolver, TLS configurations, the
//!   random source) goes through the `Services` trait defined beside it in
//!   `src/transfer/services.rs`. Nothing under `src/transfer` imports `src/multi`.
//! - **Connecting belongs to the connection**: a `Connector` walks the resolved addresses
//!   (each under its share of the connect timeout, at most `CONNECT_ATTEMPT_MAX` while others
//!   remain), and each attempt's `Conn` connects its filter chain bottom-up (`chain.rs`: TCP,
//!   then TLS; a proxy tunnel goes between them). The transfer's `Connecting` state holds the
//!   connector and reports its steps.
//! - **Readiness**: the poller's token is the connection's table index. An event sets the
//!   connection's flags (readable, writable, hung up) in the table and marks the transfer
//!   attached to it dirty; an idle connection that turns readable is probed and closed. There
//!   is one read in the crate, `Conn::pull`, used by the response, the callback-model
//!   WebSocket and the connect-only `recv`: it reads while the socket may have bytes and the
//!   step's budget lasts.
//! - **Timers**: each transfer has one entry in the multi's heap, its earliest deadline,
//!   computed after each of its steps; a step looks at its deadlines only once that one has
//!   passed. A fired timer marks the transfer dirty.
//! - **A turn** (`Core::run`): apply commands from other threads, hand out DNS answers, fire
//!   due timers, then step the dirty transfers (at most `MAX_ROUNDS` rounds, since callbacks
//!   can dirty each other; transfers whose budget ran out go first next turn), then apply the
//!   removals callbacks asked for.
//! - **Tests without sleeps**: `src/sim` drives a whole multi through `socket_action` over
//!   an in-memory network with a fake clock: timeouts to the millisecond, retries, redirects,
//!   pauses, keep-alive and fairness are unit tests that run in microseconds; real servers
//!   (nginx, hypercorn, Node, Python) stay for interop.
//!
//! # 2. Callbacks
//!
//! | libcurl | curlew |
//! |---|---|
//! | `CURLOPT_HEADERFUNCTION` | [`Handler::header`](crate::Handler::header), one call per line; none set: [`Handler::wants_headers`](crate::Handler::wants_headers) returns `false` |
//! | `CURLOPT_WRITEFUNCTION` | [`Handler::write`](crate::Handler::write); `Flow::Pause` = `CURL_WRITEFUNC_PAUSE`, `Flow::Abort` = short write |
//! | `CURLOPT_READFUNCTION` | [`Handler::read`](crate::Handler::read) with [`Easy::upload`](crate::Easy::upload); `ReadResult::Pause` / `Abort` |
//! | `CURLOPT_SEEKFUNCTION` (rewind) | [`Handler::rewind`](crate::Handler::rewind) |
//! | `CURLOPT_XFERINFOFUNCTION` | [`Handler::progress`](crate::Handler::progress) with [`Easy::progress`](crate::Easy::progress) |
//! | `CURLOPT_DEBUGFUNCTION` + `VERBOSE` | [`Handler::debug`](crate::Handler::debug) with [`Easy::verbose`](crate::Easy::verbose) |
//! | (none) | [`Handler::done`](crate::Handler::done): the transfer finished |
//!
//! What a callback may do, through [`Ctx`](crate::Ctx): read its own or another transfer's
//! info; pause or unpause any transfer (its own included); add a transfer (it starts after the
//! current step); remove any transfer (applied after the current step).
//!
//! # 3. libcurl to curlew
//!
//! | libcurl | curlew |
//! |---|---|
//! | `curl_easy_init` + `CURLOPT_URL` | [`Easy::new`](crate::Easy::new), [`Easy::with_handler`](crate::Easy::with_handler) |
//! | `curl_easy_perform` | [`Easy::perform`](crate::Easy::perform) (over a private multi kept in the `Easy`, so connections are reused across performs) |
//! | `curl_easy_getinfo` | [`Easy::info`](crate::Easy::info), [`Multi::info`](crate::Multi::info), [`Ctx::info`](crate::Ctx::info) → [`TransferInfo`](crate::TransferInfo) |
//! | `curl_easy_pause` | [`Multi::pause`](crate::Multi::pause) / [`Multi::unpause`](crate::Multi::unpause), [`Ctx::pause`](crate::Ctx::pause) / [`Ctx::unpause`](crate::Ctx::unpause) |
//! | `CURLOPT_CUSTOMREQUEST`, `NOBODY` | [`Easy::method`](crate::Easy::method), [`Easy::nobody`](crate::Easy::nobody) |
//! | `CURLOPT_HTTPHEADER` | [`Easy::header`](crate::Easy::header) (your header replaces the internal one; an empty value removes it; the headers with meaning for the origin or the framing follow the rules of the table below) |
//! | `CURLOPT_POSTFIELDS` | [`Easy::body`](crate::Easy::body) |
//! | `CURLOPT_UPLOAD` + `INFILESIZE` | [`Easy::upload`](crate::Easy::upload) (tool `-T FILE`: PUT, streamed from the file through the read callback, a URL ending in `/` gets the file's name; `--json`, `-G`, `-D`, `--data-urlencode` as in curl) |
//! | `CURLOPT_MIMEPOST`, `curl_mime_init`, `curl_mime_addpart`, `curl_mime_name`, `curl_mime_data`, `curl_mime_filedata`, `curl_mime_data_cb`, `curl_mime_filename`, `curl_mime_type`, `curl_mime_headers` (tool `-F`, `--form-string`) | [`Easy::mime_post`](crate::Easy::mime_post) with a [`Mime`](crate::mime::Mime): [`Mime::new`](crate::mime::Mime::new), [`Mime::part`](crate::mime::Mime::part), [`MimePart::data`](crate::mime::MimePart::data), [`file`](crate::mime::MimePart::file) (streamed, filename the file's name), [`reader`](crate::mime::MimePart::reader) (a factory: made again when the body is sent again), [`filename`](crate::mime::MimePart::filename), [`content_type`](crate::mime::MimePart::content_type), [`header`](crate::mime::MimePart::header). curl's bytes (escaping, type guessing, a caller's `Content-Type` kept with the boundary appended); `Content-Length` when every size is known, else chunked; a part file that cannot be read is `CURLE_READ_ERROR`, 26. Not built: `curl_mime_encoder`, `curl_mime_subparts`, `CURLOPT_MIME_OPTIONS` (the tool's `;encoder=`, `;headers=@file`, `@a,b`: usage errors) |
//! | `CURLOPT_FOLLOWLOCATION`, `MAXREDIRS`, `UNRESTRICTED_AUTH` | [`Easy::follow_location`](crate::Easy::follow_location), [`Easy::max_redirects`](crate::Easy::max_redirects), [`Easy::unrestricted_auth`](crate::Easy::unrestricted_auth) |
//! | `CURLOPT_ACCEPT_ENCODING ""` | [`Easy::accept_encoding`](crate::Easy::accept_encoding) (gzip, deflate, br, zstd (windows of at most 8 MiB, RFC 9659); decoded in pieces of at most [`DECODE_PIECE_SIZE`](crate::DECODE_PIECE_SIZE), each written before more is decoded: a decompression bomb takes no more memory than any body) |
//! | `CURLOPT_CONNECTTIMEOUT_MS`, `TIMEOUT_MS` | [`Easy::connect_timeout`](crate::Easy::connect_timeout), [`Easy::timeout`](crate::Easy::timeout) |
//! | `CURLOPT_LOW_SPEED_LIMIT` + `TIME` | [`Easy::low_speed`](crate::Easy::low_speed) |
//! | `CURLOPT_USERAGENT` | [`Easy::user_agent`](crate::Easy::user_agent) (none by default, as in libcurl; the tool sends `curlew/VERSION`, `-A` changes it) |
//! | `CURLOPT_CAINFO`, `SSL_VERIFYPEER=0`, `SSLCERT`/`SSLKEY` | [`Easy::ca_file`](crate::Easy::ca_file), [`Easy::insecure`](crate::Easy::insecure), [`Easy::client_cert`](crate::Easy::client_cert) |
//! | `CURLOPT_CAPATH`, `CURLOPT_CAINFO_BLOB`, `CURLOPT_PINNEDPUBLICKEY` (tool `--capath`, `--pinnedpubkey`) | [`Easy::ca_path`](crate::Easy::ca_path), [`Easy::ca_blob`](crate::Easy::ca_blob), [`Easy::pinned_public_key`](crate::Easy::pinned_public_key) (`sha256//` hashes or a PEM/DER key file; a mismatch is `CURLE_SSL_PINNEDPUBKEYNOTMATCH`, 90) |
//! | (none: `CURLOPT_SSL_CTX_FUNCTION` in spirit) | [`Easy::tls_config`](crate::Easy::tls_config): a whole `rustls::ClientConfig` ([`curlew::rustls`](crate::rustls) is the version to build it with) |
//! | `CURLOPT_SSLVERSION` (`TLSv1_2`, `TLSv1_3`, `MAX_TLSv1_x`; tool `--tlsv1.2`, `--tlsv1.3`, `--tls-max`) | [`Easy::ssl_version`](crate::Easy::ssl_version) with [`TlsVersion`](crate::TlsVersion) (rustls speaks 1.2 and 1.3) |
//! | `CURLOPT_EXPECT_100_TIMEOUT_MS` | [`Easy::expect_100_timeout`](crate::Easy::expect_100_timeout) |
//! | `CURLOPT_BUFFERSIZE` | [`Easy::buffer_size`](crate::Easy::buffer_size) (a growth cap: buffers start at 16 KiB and grow to 1 MiB by default; also the largest decoded piece when below 64 KiB) |
//! | `CURLOPT_MAXFILESIZE_LARGE` | [`Easy::max_filesize`](crate::Easy::max_filesize) |
//! | `CURLOPT_FORBID_REUSE`, `FRESH_CONNECT` | [`Easy::forbid_reuse`](crate::Easy::forbid_reuse), [`Easy::fresh_connect`](crate::Easy::fresh_connect) |
//! | `CURLOPT_FAILONERROR` | [`Easy::fail_on_error`](crate::Easy::fail_on_error) |
//! | `CURLOPT_USERPWD`, user info in the URL, `CURLOPT_XOAUTH2_BEARER`, `CURLOPT_NETRC` + `NETRC_FILE` (tool `-u`, `--basic`, `--oauth2-bearer`, `-n`, `--netrc-optional`, `--netrc-file`, `--location-trusted`) | [`Easy::userpwd`](crate::Easy::userpwd), the URL's `user:password@`, [`Easy::bearer_token`](crate::Easy::bearer_token), [`Easy::netrc`](crate::Easy::netrc) with [`NetrcMode`](crate::NetrcMode), [`Easy::netrc_file`](crate::Easy::netrc_file) (Basic; the option wins over the URL, which wins over an optional `.netrc`; never sent to another origin after a redirect unless [`Easy::unrestricted_auth`](crate::Easy::unrestricted_auth); `CURLOPT_HTTPAUTH` with [`Easy::http_auth`](crate::Easy::http_auth) and [`HttpAuth`](crate::HttpAuth): Digest (RFC 7616, MD5/SHA-256 and `-sess`, `qop=auth`) answers the `401`'s challenge once on the same connection; tool `--digest`, `--anyauth`) |
//! | `CURLOPT_RANGE`, `CURLOPT_RESUME_FROM_LARGE` (tool `-r`, `-C OFFSET`, `-C -`) | [`Easy::range`](crate::Easy::range), [`Easy::resume_from`](crate::Easy::resume_from) (`Range: bytes=...` on GET and HEAD; a resumed GET answered with the whole document is `CURLE_RANGE_ERROR`, 33, unless it is exactly as long as the offset; the tool's `-C -` appends to the output file from its size) |
//! | `CURLOPT_MAX_RECV_SPEED_LARGE`, `CURLOPT_MAX_SEND_SPEED_LARGE` (tool `--limit-rate`, both) | [`Easy::max_recv_speed`](crate::Easy::max_recv_speed), [`Easy::max_send_speed`](crate::Easy::max_send_speed) (held back by the loop's timers, reads and writes of at most a quarter second's worth; no sleeping, the other transfers unaffected) |
//! | `CURLOPT_TCP_KEEPALIVE` + `TCP_KEEPIDLE` + `TCP_KEEPINTVL`, `CURLOPT_INTERFACE`, `CURLOPT_LOCALPORT` + `LOCALPORTRANGE` (tool `--keepalive-time`, `--no-keepalive`, `--interface`, `--local-port`) | [`Easy::tcp_keepalive`](crate::Easy::tcp_keepalive), [`Easy::interface`](crate::Easy::interface), [`Easy::local_port`](crate::Easy::local_port) (a bind that cannot be done is `CURLE_INTERFACE_FAILED`, 45; connections set up otherwise are pooled apart; the tool turns keepalive on, as curl's does) |
//! | `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS` (tool `--happy-eyeballs-timeout-ms`) | [`Easy::happy_eyeballs_timeout`](crate::Easy::happy_eyeballs_timeout) (default [`HAPPY_EYEBALLS_TIMEOUT`](crate::HAPPY_EYEBALLS_TIMEOUT), 200 ms; addresses alternate families, the first answer's first; each next address starts after the delay, or at once when an attempt fails (RFC 8305; curl walks one family's addresses in turn); the first socket to connect wins, TLS over it only; each attempt still gives up after its share of the connect timeout, at most [`CONNECT_ATTEMPT_MAX`](crate::CONNECT_ATTEMPT_MAX) while others remain) |
//! | `CURLOPT_UNIX_SOCKET_PATH`, `CURLOPT_ABSTRACT_UNIX_SOCKET` (tool `--unix-socket`, `--abstract-unix-socket`) | [`Easy::unix_socket_path`](crate::Easy::unix_socket_path), [`Easy::abstract_unix_socket`](crate::Easy::abstract_unix_socket) (the URL gives the scheme, `Host` and TLS name, so `https`/`wss` run TLS over the socket; no name lookup; proxies are dropped as curl drops them; TCP options are skipped; pooled apart per path; a missing socket is `CURLE_COULDNT_CONNECT`, 7, with its path; the abstract namespace is Linux only) |
//! | `CURLOPT_DNS_CACHE_TIMEOUT`, `CURLOPT_DNS_SHUFFLE_ADDRESSES` | [`Easy::dns_cache_timeout`](crate::Easy::dns_cache_timeout), [`Easy::dns_shuffle_addresses`](crate::Easy::dns_shuffle_addresses) (the cache is the multi's, shared by its transfers; each applies its own maximum age) |
//! | tool `--retry`, `--retry-delay`, `--retry-max-time`, `--retry-all-errors`, `--retry-connrefused` | the same, curl's rules (a timeout, an unresolved name, HTTP 408, 429, 500, 502, 503, 504; 1 s doubling to 10 minutes, or `--retry-delay`, or the server's `Retry-After` in seconds) |
//! | `CURLOPT_COOKIE`, `CURLOPT_COOKIEFILE`, `CURLOPT_COOKIEJAR`, `CURLOPT_COOKIESESSION` (tool `-b`, `-c`, `-j`); `CURLOPT_COOKIELIST`; a share with `CURL_LOCK_DATA_COOKIE` | [`Easy::cookie`](crate::Easy::cookie), [`Easy::cookie_file`](crate::Easy::cookie_file), [`Easy::cookie_jar`](crate::Easy::cookie_jar), [`Easy::cookie_session`](crate::Easy::cookie_session); [`Multi::cookies`](crate::Multi::cookies) → [`CookieJar`](crate::cookie::CookieJar) (one engine per multi, shared by the transfers that turn it on; RFC 6265: host-only and domain cookies, paths, `Secure` from and to secure origins only (https, wss, or a loopback name, as curl), `__Secure-`/`__Host-`, `HttpOnly` and `SameSite` kept, expiry capped at 400 days, no `Domain` on a public suffix; `Set-Cookie` of every head stored before a redirect is followed; Netscape files as curl reads and writes them; bounded by [`CookieLimits`](crate::cookie::CookieLimits)) |
//! | `CURLOPT_RESOLVE`, `CURLOPT_CONNECT_TO` (tool `--resolve`, `--connect-to`) | [`Easy::resolve`](crate::Easy::resolve), [`Easy::connect_to`](crate::Easy::connect_to) (the TLS name and `Host` stay the URL's; connect-to connections are pooled apart; a resolve entry applies to a proxy's name too, connect-to to direct connections only) |
//! | `curl_multi_init` | [`Multi::new`](crate::Multi::new) |
//! | `curl_multi_add_handle` / `remove_handle` | [`Multi::add`](crate::Multi::add) / [`Multi::remove`](crate::Multi::remove) (gives the `Easy` back) |
//! | `curl_multi_perform` | [`Multi::perform`](crate::Multi::perform) |
//! | `curl_multi_poll` + `perform` | [`Multi::poll`](crate::Multi::poll) |
//! | `curl_multi_timeout` | [`Multi::timeout`](crate::Multi::timeout) |
//! | (none: libcurl always blocks at once) | [`Multi::set_yield_before_wait`](crate::Multi::set_yield_before_wait) (default on): while several transfers wait for answers, `poll` yields the CPU before it blocks, so a server on the same CPU finishes its batch of responses and one wake-up reads them all; off for a latency-critical loop on a busy CPU |
//! | `curl_multi_info_read` | [`Multi::info_read`](crate::Multi::info_read) |
//! | `curl_multi_wakeup` | [`Multi::waker`](crate::Multi::waker) → [`MultiWaker::wake`](crate::MultiWaker::wake) (Send + Sync) |
//! | `CURLMOPT_MAX_TOTAL_CONNECTIONS`, `MAX_HOST_CONNECTIONS`, `MAXCONNECTS` | [`Multi::set_max_total_connections`](crate::Multi::set_max_total_connections), [`Multi::set_max_host_connections`](crate::Multi::set_max_host_connections), [`Multi::set_max_idle_connections`](crate::Multi::set_max_idle_connections) |
//! | `CURLMOPT_SOCKETFUNCTION` + `CURLMOPT_TIMERFUNCTION` | [`Multi::with_socket_callbacks`](crate::Multi::with_socket_callbacks) (both callbacks at construction; they cannot reach the multi, so the recursive calls curl forbids cannot be written) |
//! | `curl_multi_socket_action(multi, fd, ev_bitmask, &running)` | [`Multi::socket_action(fd, Ready)`](crate::Multi::socket_action) (returns running) |
//! | `CURL_SOCKET_TIMEOUT` | [`SOCKET_TIMEOUT`](crate::SOCKET_TIMEOUT) |
//! | `CURL_POLL_IN` / `OUT` / `INOUT` / `REMOVE` | [`SocketWhat`](crate::SocketWhat) |
//! | `CURL_CSELECT_IN` / `OUT` / `ERR` | [`Ready`](crate::Ready) |
//! | `curl_multi_assign` / `socketp` | [`Multi::assign`](crate::Multi::assign), or set the `&mut Option<u64>` in the socket callback |
//! | (none: a thread-safe queue is the application's business in libcurl) | [`Multi::command_sender`](crate::Multi::command_sender) → [`CommandSender`](crate::CommandSender): add transfers (the id comes back at once), pause, unpause and cancel them by id, send on and close WebSockets, from any thread; a command for a finished or unknown transfer is dropped and counted ([`Multi::dropped_commands`](crate::Multi::dropped_commands)) |
//! | (none: libcurl has no async front; reqwest and tokio-tungstenite are the peers; feature `tokio`) | `curlew::tokio::Client` on `socket_action` and tokio's reactor: `request(Easy)` a future of the finished `Easy`, `stream(Easy)` a `Stream` of `Bytes` (paused past `tokio::STREAM_BUFFER_MAX` unread), `websocket(Easy)` a `tokio::WebSocket` that is a `Stream` and a `Sink` of [`Message`](crate::ws::Message)s; dropping any of them cancels its transfer |
//! | (none: the `http` crate's types; feature `http`) | `Easy::from_request(http::Request)`, `Easy::take_response() -> http::Response<Vec<u8>>`, `Collector::header_map() -> http::HeaderMap`, `TransferInfo::status() -> StatusCode`, `TransferInfo::version()` |
//! | `CURLcode` | [`ErrorKind`](crate::ErrorKind) ([`ErrorKind::curl_code`](crate::ErrorKind::curl_code) gives the number) |
//!
//! ## Request headers the engine also sets
//!
//! The caller's headers that mean something to the origin or to the body's framing, on the
//! first request, after a redirect, and when they conflict with what the engine sets
//! (tested row by row in `tests/request_headers.rs`). "Another host" compares host names, as
//! curl does for `Host`; "another origin" compares scheme, host and port with the *first*
//! request's, at every hop (curl's `Curl_auth_allowed_to_host`).
//!
//! | header | first request | redirect, same host / origin | redirect elsewhere | conflicts |
//! |---|---|---|---|---|
//! | `Host` | replaces the URL's, in its place; empty: none sent | kept | the new host's own (curl: the custom `Host` only "if this is NOT a redirect") | - |
//! | `Authorization`, `Cookie`, `Proxy-Authorization` | sent (a `Cookie` replaces the cookie engine's and [`Easy::cookie`](crate::Easy::cookie)'s) | sent | dropped, unless [`Easy::unrestricted_auth`](crate::Easy::unrestricted_auth); sent again on a hop back to the first origin | - |
//! | `Content-Length` | asks for that length; the engine writes the header | as the body: dropped with it when 301/302 (POST) or 303 turn the request into a GET | same | must equal the body's length (a reader of unknown size then sends exactly that many bytes); with no body only `0`; not a number, several that differ, or with `Transfer-Encoding`: [`ErrorKind::BadFunctionArgument`](crate::ErrorKind::BadFunctionArgument), nothing sent |
//! | `Transfer-Encoding` | `chunked` asks for chunked coding of any body (in memory, a reader, or none: the last chunk alone); the engine writes the header | dropped with the body | same | any other coding (`gzip`, `chunked, chunked`...): `BadFunctionArgument`, nothing sent |
//! | `Content-Type` | sent (`POST` of a body in memory gets `application/x-www-form-urlencoded` without it; with a multipart form, its type is sent with `; boundary=...` appended, `multipart/form-data` without it, none when empty) | dropped with the body | same | - |
//! | `Expect` | `100-continue` waits for the interim answer (bounded by [`Easy::expect_100_timeout`](crate::Easy::expect_100_timeout)); empty removes the engine's for large uploads and forms; other values are sent as they are | same | same | - |
//! | `Connection` | sent; `close` makes the connection single-use whatever the server answers | same | same | - |
//! | `Upgrade` | HTTP: sent (a `101` answer is an error: no upgrade was asked for); WebSocket: replaces the engine's (so do `Connection` and `Sec-WebSocket-*`) | same | same | a WebSocket upgrade with a body (`Content-Length`, `Transfer-Encoding`): `BadFunctionArgument` |
//!
//! An empty value removes an engine header, except the framing ones: `Content-Length:` and
//! `Transfer-Encoding:` with no value ask for nothing, and the engine frames the body.
//!
//! ## Zero and the largest values
//!
//! Every duration and size option accepts 0 and its type's maximum (checked in one table in
//! `tests/option_limits.rs`). Where libcurl has the option, 0 means what it means there;
//! durations longer than [`DURATION_MAX`](crate::DURATION_MAX) (about 136 years) mean that.
//!
//! | option | 0 means | largest |
//! |---|---|---|
//! | [`Easy::timeout`](crate::Easy::timeout) (`CURLOPT_TIMEOUT`) | no limit | clamped to `DURATION_MAX` |
//! | [`Easy::connect_timeout`](crate::Easy::connect_timeout) (`CURLOPT_CONNECTTIMEOUT`) | the default, 300 s | clamped |
//! | [`Easy::low_speed`](crate::Easy::low_speed) (`LOW_SPEED_LIMIT`, `LOW_SPEED_TIME`) | either 0: off | clamped |
//! | [`Easy::expect_100_timeout`](crate::Easy::expect_100_timeout) | send the body without waiting | clamped |
//! | [`Easy::buffer_size`](crate::Easy::buffer_size) (`CURLOPT_BUFFERSIZE`) | the default, 1 MiB | 10 MiB |
//! | [`Easy::max_filesize`](crate::Easy::max_filesize) (`CURLOPT_MAXFILESIZE_LARGE`) | no limit | no limit |
//! | [`Easy::max_redirects`](crate::Easy::max_redirects) (`CURLOPT_MAXREDIRS`) | refuse any redirect (error 47) | no limit in practice |
//! | [`Easy::max_header_bytes`](crate::Easy::max_header_bytes), [`Easy::max_response_heads_bytes`](crate::Easy::max_response_heads_bytes) | the default | [`HEADER_BYTES_MAX`](crate::HEADER_BYTES_MAX) (8 MiB) |
//! | [`Easy::max_headers`](crate::Easy::max_headers) | the default | [`HEADERS_MAX`](crate::HEADERS_MAX) |
//! | [`Easy::ws_max_frame_size`](crate::Easy::ws_max_frame_size), [`Easy::ws_max_message_size`](crate::Easy::ws_max_message_size), [`Easy::ws_max_send_queue`](crate::Easy::ws_max_send_queue), [`Easy::ws_max_close_finish`](crate::Easy::ws_max_close_finish) | the default | as given |
//! | [`Easy::ws_close_timeout`](crate::Easy::ws_close_timeout) | the default | clamped |
//! | [`Easy::ws_keepalive`](crate::Easy::ws_keepalive) | interval 0: off; timeout 0: the interval | clamped |
//! | [`Multi::set_max_total_connections`](crate::Multi::set_max_total_connections), [`Multi::set_max_host_connections`](crate::Multi::set_max_host_connections) | no limit | as given |
//! | [`Multi::set_max_idle_connections`](crate::Multi::set_max_idle_connections) (`CURLMOPT_MAXCONNECTS`) | the default | as given |
//!
//! The tool follows: `-m 0` is no limit, `--connect-timeout 0` the default.
//!
//!
//! # 4. WebSocket
//!
//! A `ws://` or `wss://` URL makes a WebSocket transfer; it lives in the same [`Multi`](crate::Multi)
//! as the HTTP ones. The upgrade is verified (`Sec-WebSocket-Accept`, `Upgrade`, `Connection`,
//! subprotocols and extensions the client did not offer are rejected); any answer but 101
//! fails with [`ErrorKind::HttpReturnedError`](crate::ErrorKind::HttpReturnedError) and the
//! status in [`TransferInfo::response_code`](crate::TransferInfo::response_code). Bytes that
//! arrive with the 101 are the first WebSocket bytes, in every mode.
//!
//! **Callback model** (default). [`Handler::ws_open`](crate::Handler::ws_open) runs once after
//! the upgrade; every received chunk goes to [`Handler::write`](crate::Handler::write) with its
//! metadata in [`Ctx::ws_meta`](crate::Ctx::ws_meta): a chunk never spans two frames, the type
//! flag is on every fragment, `CONT` on all fragments but the last, `offset`/`bytesleft`/`len`
//! as in `curl_ws_frame`. Large frames are streamed in chunks, never buffered whole. From any
//! callback, [`Ctx::ws`](crate::Ctx::ws) sends on the current transfer and
//! [`Ctx::ws_of`](crate::Ctx::ws_of) on any other: sends are queued in a bounded queue and never
//! block (libcurl blocks here). A send the queue bound cut short (fewer bytes accepted, or
//! `WouldBlock`) is resumed from [`Handler::ws_writable`](crate::Handler::ws_writable), called
//! once the queue has drained. With [`Easy::upload`](crate::Easy::upload), the read callback
//! feeds frames as in curl 8.16 (`READFUNCTION` + `curl_ws_start_frame`).
//!
//! **Connect-only model** ([`Easy::connect_only`](crate::Easy::connect_only), curl's
//! `CONNECT_ONLY=2`). The transfer is reported done by [`Multi::info_read`](crate::Multi::info_read)
//! as soon as the upgrade is; it stays in the multi, which keeps flushing its send queue,
//! timing its close handshake and sending its keepalive pings. [`Multi::ws`](crate::Multi::ws) gives a
//! [`WsHandle`](crate::ws::WsHandle) whose `recv` and `send` are non-blocking and answer
//! [`WsError::WouldBlock`](crate::ws::WsError::WouldBlock) (curl's `CURLE_AGAIN`).
//!
//! **Message mode** ([`Easy::ws_message_mode`](crate::Easy::ws_message_mode)): whole
//! reassembled messages go to [`Handler::ws_message`](crate::Handler::ws_message) (a message in
//! one chunk is passed without a copy; fragmented ones are collected in a per-transfer buffer
//! reused across messages and released when it grew past 64 KiB). In connect-only mode,
//! [`WsHandle::recv_message`](crate::ws::WsHandle::recv_message). Bounded by the max message size.
//!
//! **Keepalive** ([`Easy::ws_keepalive`](crate::Easy::ws_keepalive), both models): the
//! multi's timers send a ping after an interval without a sign of life from the peer; no
//! answer within the timeout closes with 1011 (or
//! [`Easy::ws_keepalive_close_code`](crate::Easy::ws_keepalive_close_code)) and fails with
//! [`ErrorKind::OperationTimedout`](crate::ErrorKind::OperationTimedout). What counts:
//!
//! | | sign of life (restarts the interval) | answer to the ping |
//! |---|---|---|
//! | callback model | any received bytes (keepalive rests while receiving is paused) | a pong |
//! | connect-only | a readiness event saying bytes arrived, or bytes [`WsHandle::recv`](crate::ws::WsHandle::recv) read from the socket | the same (the multi does not read the application's data, so it cannot pick the pong out) |
//!
//! In connect-only mode the pings go whether or not the application calls `recv`; unread
//! bytes waiting do not count as life, only arrivals do (so a peer that went silent is found
//! even behind unread data, but an application that stops reading until the peer's TCP window
//! closes may see a timeout). A connect-only transfer the multi ended after its upgrade (this
//! timeout, the close timeout, a socket error) answers `recv` and the sends with
//! [`WsError::Failed`](crate::ws::WsError::Failed) and the error, or
//! [`WsError::Closed`](crate::ws::WsError::Closed) after a clean close: its completion message
//! went out at the upgrade. With `socket_action`, a level-triggered loop reports unread bytes as
//! readable again and again; each report counts as an arrival.
//!
//! **Control frames.** Pings are answered automatically, one pong per ping while it fits in the
//! send queue (beyond that only the latest ping is answered, so a ping flood cannot grow memory
//! past the queue bound) unless [`Easy::ws_auto_pong`](crate::Easy::ws_auto_pong) is off.
//! Pongs and close frames are shown to the application. A peer's close is echoed with its code.
//! Control frames go between fragments, never inside a frame. Every frame is
//! masked with a fresh key from the connection's [`SecureRng`](crate::rng::SecureRng)
//! (RFC 6455 §5.3: unpredictable, from a strong source of entropy), as libcurl masks with
//! its TLS library's random source.
//!
//! **Closing.** The closing handshake, whoever starts it, must complete within
//! [`Easy::ws_close_timeout`](crate::Easy::ws_close_timeout) (5 s by default); otherwise the
//! connection is shut down and the transfer fails with
//! [`ErrorKind::OperationTimedout`](crate::ErrorKind::OperationTimedout) (curl's 28), the detail
//! naming what was missing (most often: "no close frame from the peer within the close
//! timeout"). A peer's close that arrives in the middle of one of our frames is answered right
//! after the frame's last byte (RFC 6455 §5.5.1 lets an endpoint finish what it is sending): a
//! frame whose payload is all queued goes out whole, the rest of a frame still in progress
//! comes from the application's further sends (new frames are refused with
//! [`WsError::Closed`](crate::ws::WsError::Closed)), and a read-callback upload is not asked
//! for another frame. If more than [`Easy::ws_max_close_finish`](crate::Easy::ws_max_close_finish)
//! (16 MiB) of the frame is missing, or it is not finished within the close timeout, no close
//! can follow: the connection is dropped without one and the transfer fails with
//! [`ErrorKind::SendError`](crate::ErrorKind::SendError) or `OperationTimedout`.
//!
//! **Violations** (masked server frame, RSV bits, reserved opcodes, fragmented or oversized
//! control frames, stray or missing continuations, bad close codes or payloads, invalid UTF-8,
//! frames or messages over the limits) send a close with 1002, 1007 or 1009 and fail the
//! transfer with [`ErrorKind::WsProtocol`](crate::ErrorKind::WsProtocol).
//!
//! | libcurl | curlew |
//! |---|---|
//! | `curl_ws_send(h, buf, len, &sent, 0, flags)` | [`WsHandle::send`](crate::ws::WsHandle::send) → `Ok(sent)`; `WouldBlock` only when nothing was accepted |
//! | `curl_ws_send(..., fragsize, CURLWS_OFFSET)` | [`WsHandle::send_offset`](crate::ws::WsHandle::send_offset) |
//! | `curl_ws_start_frame` | [`WsHandle::start_frame`](crate::ws::WsHandle::start_frame) |
//! | `curl_ws_recv` | [`WsHandle::recv`](crate::ws::WsHandle::recv) (connect-only; the payload is borrowed, no copy) |
//! | `curl_ws_meta` | [`Ctx::ws_meta`](crate::Ctx::ws_meta) (inside the write callback) |
//! | `struct curl_ws_frame` | [`WsFrame`](crate::ws::WsFrame) (`flags`, `offset`, `bytesleft`, `len`) |
//! | (none: tungstenite's `Message`) | typed messages beside the raw API: [`Message`](crate::ws::Message) / [`MessageRef`](crate::ws::MessageRef) (text as `&str`, binary, ping, pong, close with a parsed [`CloseCode`](crate::ws::CloseCode) and reason); [`Handler::ws_msg`](crate::Handler::ws_msg) in message mode, [`WsHandle::send_msg`](crate::ws::WsHandle::send_msg) (a whole message or `WouldBlock`) and [`WsHandle::recv_msg`](crate::ws::WsHandle::recv_msg) in connect-only mode |
//! | `CURLWS_TEXT`, `BINARY`, `CONT`, `CLOSE`, `PING`, `PONG`, `OFFSET` | [`ws::TEXT`](crate::ws::TEXT), [`ws::BINARY`](crate::ws::BINARY), [`ws::CONT`](crate::ws::CONT), [`ws::CLOSE`](crate::ws::CLOSE), [`ws::PING`](crate::ws::PING), [`ws::PONG`](crate::ws::PONG), [`ws::OFFSET`](crate::ws::OFFSET) (same values) |
//! | `CURLOPT_WS_OPTIONS` `CURLWS_RAW_MODE` | [`Easy::ws_raw_mode`](crate::Easy::ws_raw_mode) |
//! | `CURLOPT_WS_OPTIONS` `CURLWS_NOAUTOPONG` | [`Easy::ws_auto_pong`](crate::Easy::ws_auto_pong)`(false)` |
//! | `CURLOPT_CONNECT_ONLY` = 2 | [`Easy::connect_only`](crate::Easy::connect_only); which connect-only transfers have data or room: [`Multi::ws_ready`](crate::Multi::ws_ready) (O(ready)), and [`Multi::poll`](crate::Multi::poll) waits while they are open; a blocking client on top: [`WsClient`](crate::ws::WsClient) |
//! | (none) | [`Handler::ws_open`](crate::Handler::ws_open), [`Handler::ws_writable`](crate::Handler::ws_writable), [`Easy::ws_protocols`](crate::Easy::ws_protocols), [`Easy::ws_max_frame_size`](crate::Easy::ws_max_frame_size), [`Easy::ws_max_message_size`](crate::Easy::ws_max_message_size), [`Easy::ws_max_send_queue`](crate::Easy::ws_max_send_queue), [`Easy::ws_close_timeout`](crate::Easy::ws_close_timeout), [`Easy::ws_max_close_finish`](crate::Easy::ws_max_close_finish), [`Easy::ws_validate_utf8`](crate::Easy::ws_validate_utf8) |
//!
//! Differences worth knowing: the per-host limit counts connections per (scheme class, host,
//! port, TLS settings), not per host name alone; the low-speed check uses consecutive windows
//! of `LOW_SPEED_TIME` rather than a sliding one.
//!
//!
//! # 5. HTTP/2
//!
//! **When a transfer speaks HTTP/2.** An `https` transfer offers `h2` and `http/1.1` in ALPN
//! and speaks what the server picks (curl's default, `CURL_HTTP_VERSION_2TLS`); a plain
//! `http` transfer speaks HTTP/2 only with prior knowledge (`Http2PriorKnowledge`: the
//! connection preface at once, no `Upgrade: h2c`).
//! [`TransferInfo::http_version`](crate::TransferInfo::http_version) says which version
//! answered.
//!
//! **WebSockets over HTTP/2 (RFC 8441)** are used when asked for:
//! [`Easy::http_version`](crate::Easy::http_version) `Http2` for `wss://` (ALPN offers `h2`
//! and `http/1.1`) or `Http2PriorKnowledge` for `ws://` (and `wss://`, ALPN `h2` alone). On an
//! HTTP/2 connection the transfer waits for the server's SETTINGS: if they announce
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`, it opens an extended CONNECT stream (`:protocol
//! websocket`, no `Sec-WebSocket-Key`; a 2xx answer, whose subprotocol and extensions are
//! checked as over HTTP/1.1), and the WebSocket runs over the stream's DATA frames: both
//! models, message mode, permessage-deflate, the close handshake and every limit are the same
//! code as over HTTP/1.1, and many WebSocket streams share the connection with HTTP streams.
//! If the server does not announce it, or ALPN picks `http/1.1`, the transfer upgrades over
//! HTTP/1.1 on a connection of its own (ALPN `http/1.1`). By default (`Http2Tls`) WebSocket
//! URLs offer `http/1.1` only and always upgrade over HTTP/1.1, as curl does. A clean close
//! ends our side of the stream with END_STREAM; anything else resets it (CANCEL).
//!
//! **Multiplexing.** An HTTP/2 connection belongs to no transfer: it stays in the multi's
//! connection table, and each transfer to the same origin (scheme, host, port, TLS settings)
//! takes a stream on it while one is free: at most
//! [`Multi::set_max_concurrent_streams`](crate::Multi::set_max_concurrent_streams)
//! ([`DEFAULT_MAX_CONCURRENT_STREAMS`](crate::DEFAULT_MAX_CONCURRENT_STREAMS), 100) and at most
//! what the server's `SETTINGS_MAX_CONCURRENT_STREAMS` allows. Only when every connection to
//! the origin is full does a transfer open another, within the per-host and total connection
//! limits (a transfer over them waits). A transfer that may multiplex and finds a connection
//! to its origin still connecting waits for it to finish its handshake rather than open one
//! more (curl's `CURLOPT_PIPEWAIT`, on by default here: [`Easy::pipewait`](crate::Easy::pipewait));
//! so 100 transfers added at once to one `https` origin open one connection. If ALPN then
//! says `http/1.1`, the waiting transfers open their own.
//!
//! **Streams.** The request head is the one the HTTP/1.1 rules build (the table above),
//! sent as HEADERS: names in lowercase, `Host` as `:authority`, the HTTP/1.1-only fields
//! (`Connection`, `Keep-Alive`, `Transfer-Encoding`, `Upgrade`, `TE` other than `trailers`)
//! left out; a body goes out as DATA frames (never chunked) within the stream and connection
//! windows. The response reaches the callbacks as over HTTP/1.1, with the status line as curl
//! shows it (`HTTP/2 200 `) and the names in lowercase; trailers follow the body to the header
//! callback. Flow control follows the write callback: a window is opened again only for bytes
//! the transfer consumed, and none while its receiving is paused (the piece its callback paused
//! on counts as not consumed), so a paused transfer stops its own stream after at most one
//! window and never the connection.
//! Our windows: [`DEFAULT_H2_STREAM_WINDOW`](crate::DEFAULT_H2_STREAM_WINDOW) (2 MiB) per
//! stream, [`DEFAULT_H2_CONN_WINDOW`](crate::DEFAULT_H2_CONN_WINDOW) (5 MiB) for the connection,
//! [`Multi::set_http2_windows`](crate::Multi::set_http2_windows) to change them.
//!
//! **Failures.** A stream the server resets fails its transfer with
//! [`ErrorKind::Http2Stream`](crate::ErrorKind::Http2Stream) (`CURLE_HTTP2_STREAM`, 92); a
//! connection error (a protocol violation by the server, a GOAWAY with an error, a missed
//! SETTINGS acknowledgement, a closed socket) fails the transfers on that connection only,
//! with [`ErrorKind::Http2`](crate::ErrorKind::Http2) (`CURLE_HTTP2`, 16). A request the server
//! says it did not process (GOAWAY above its stream, `REFUSED_STREAM`) is sent again on
//! another stream, at most [`H2_RETRY_MAX`](crate::H2_RETRY_MAX) times. When the last stream
//! of a connection that can take no new one ends, the connection is closed; a connection
//! closed by the multi says GOAWAY first. An idle connection answers the server's PINGs and
//! sends its own every [`Multi::set_upkeep_interval`](crate::Multi::set_upkeep_interval)
//! ([`DEFAULT_UPKEEP_INTERVAL`](crate::DEFAULT_UPKEEP_INTERVAL), curl's
//! `CURLOPT_UPKEEP_INTERVAL_MS`, run by the loop's timers); one not answered in time closes
//! it, so no request is sent on a dead connection.
//!
//! **socket_action.** A shared connection's socket is reported once, however many transfers
//! ride on it; the multi reads it once per readiness and hands each stream its part, and the
//! timer callback covers the connection's own deadlines (the SETTINGS acknowledgement, a PING
//! answer) as well as the transfers'.
//!
//! | libcurl | curlew |
//! |---|---|
//! | `CURLOPT_HTTP_VERSION` (`1_0`, `1_1`, `2_0`, `2TLS`, `2_PRIOR_KNOWLEDGE`) | [`Easy::http_version`](crate::Easy::http_version) with [`HttpVersionOption`](crate::HttpVersionOption) |
//! | `CURLOPT_PIPEWAIT` | [`Easy::pipewait`](crate::Easy::pipewait) (default on) |
//! | `CURLMOPT_PIPELINING` (`CURLPIPE_MULTIPLEX` / `NOTHING`) | [`Multi::set_multiplexing`](crate::Multi::set_multiplexing) (default on) |
//! | `CURLMOPT_MAX_CONCURRENT_STREAMS` | [`Multi::set_max_concurrent_streams`](crate::Multi::set_max_concurrent_streams) |
//! | `CURLOPT_UPKEEP_INTERVAL_MS` + `curl_easy_upkeep` | [`Multi::set_upkeep_interval`](crate::Multi::set_upkeep_interval) (the loop sends the PINGs) |
//! | (none) | [`Multi::set_http2_windows`](crate::Multi::set_http2_windows) |
//! | `CURLINFO_HTTP_VERSION` | [`TransferInfo::http_version`](crate::TransferInfo::http_version) ([`HttpVersion::Http2`](crate::HttpVersion::Http2)) |
//! | `CURLE_HTTP2`, `CURLE_HTTP2_STREAM` | [`ErrorKind::Http2`](crate::ErrorKind::Http2), [`ErrorKind::Http2Stream`](crate::ErrorKind::Http2Stream) |
//! | tool `--http1.0`, `--http1.1`, `--http2`, `--http2-prior-knowledge`, `-w '%{http_version}'` | the same flags (`--http2` with a `ws://`/`wss://` URL: RFC 8441 where the server allows it) |
//!
//! # 6. Proxies
//!
//! A transfer goes through a proxy when [`Easy::proxy`](crate::Easy::proxy) names one, or,
//! with [`Easy::proxy_from_env`](crate::Easy::proxy_from_env) (on in the `curlew` tool, off
//! in the library unless asked, where libcurl always reads it), when the environment does.
//! The proxy is chosen again at every hop of a redirect, for that hop's URL.
//!
//! **Which path a request takes.**
//!
//! | proxy | `http://` | `https://`, `ws://`, `wss://` |
//! |---|---|---|
//! | `http://` | the request in absolute form (`GET http://host/path`), with `Proxy-Authorization` and `Proxy-Connection: Keep-Alive`; HTTP/1.1 to the proxy | a `CONNECT host:port` tunnel, then TLS and/or the WebSocket upgrade (or HTTP/2 by ALPN) inside it |
//! | `http://` with [`Easy::http_proxy_tunnel`](crate::Easy::http_proxy_tunnel) | a `CONNECT` tunnel too | a `CONNECT` tunnel |
//! | `https://` | the same over TLS to the proxy | the tunnel over TLS to the proxy, then TLS to the origin inside that (TLS in TLS) |
//! | `socks4://`, `socks5://` | a SOCKS tunnel to the address resolved here (SOCKS4: IPv4 only) | the same, then TLS and/or the upgrade |
//! | `socks4a://`, `socks5h://` | a SOCKS tunnel to the name, which the proxy resolves (never resolved here) | the same |
//!
//! The connection is made as a chain (curl's connection filters): TCP to the proxy, TLS to
//! an HTTPS proxy, the tunnel's handshake, TLS to the origin. The connect timeout covers the
//! whole chain, so a proxy that stalls ends in `CURLE_OPERATION_TIMEDOUT` within it. The
//! proxy's name goes through the resolver threads like any other; a SOCKS4 or SOCKS5 proxy
//! that takes addresses gets the target resolved here first.
//!
//! **Credentials.** `user:password@` in the proxy URL (percent-decoded), or
//! [`Easy::proxy_userpwd`](crate::Easy::proxy_userpwd), which wins. An HTTP proxy gets them as
//! Basic, sent with the first `CONNECT` (or request); a SOCKS5 proxy as RFC 1929
//! user/password; SOCKS4 sends the user name as its USERID. A `407` to `CONNECT` fails the
//! transfer with `CURLE_RECV_ERROR` (56) and "CONNECT tunnel failed, response 407", its status
//! in [`TransferInfo::http_connectcode`](crate::TransferInfo::http_connectcode); a `407` to a
//! request in absolute form is an ordinary answer (the response code is 407). Digest for
//! proxies is not done.
//!
//! **Reuse.** A connection is reused only through the same proxy (kind, host, port,
//! credentials, tunnelling choice and, for HTTPS, its TLS settings) and, for a tunnel, to
//! the same target; absolute-form connections to one proxy serve every `http://` origin.
//! Proxy connections count in the total and per-host limits (the host of an absolute-form
//! connection is the proxy).
//!
//! **The environment**, curl's rules: `no_proxy`/`NO_PROXY` first (see
//! [`noproxy_matches`](crate::noproxy_matches): `*`; names matching themselves and their
//! subdomains, with or without a leading dot; addresses and CIDR ranges for IP hosts; the
//! port is not part of it), then `SCHEME_proxy` (`http_proxy` in lowercase only;
//! `https_proxy`/`HTTPS_PROXY`, `ws_proxy`/`WS_PROXY`, `wss_proxy`/`WSS_PROXY`, lowercase
//! first), then `all_proxy`/`ALL_PROXY`. [`Easy::proxy`](crate::Easy::proxy) replaces the
//! `*_proxy` variables (an empty string: no proxy at all) and
//! [`Easy::noproxy`](crate::Easy::noproxy) replaces `NO_PROXY` (an empty list: none).
//!
//! **Errors**, curl's codes: the proxy's name does not resolve: `CURLE_COULDNT_RESOLVE_PROXY`
//! (5); it refuses the connection: `CURLE_COULDNT_CONNECT` (7, "failed to connect to proxy
//! HOST port N"); `CONNECT` refused or the proxy closed before answering: `CURLE_RECV_ERROR`
//! (56); its answer is not HTTP: `CURLE_WEIRD_SERVER_REPLY` (8); its answer head is over
//! [`MAX_CONNECT_HEAD`](crate::proto::proxy::MAX_CONNECT_HEAD) (100 KiB): `CURLE_TOO_LARGE`;
//! any SOCKS failure (a refusal, a wrong version, a truncated reply, rejected credentials):
//! `CURLE_PROXY` (97) with the reason in words; an HTTPS proxy's certificate that does not
//! verify: `CURLE_PEER_FAILED_VERIFICATION` (60). The other transfers of the multi are not
//! affected by any of them.
//!
//! | libcurl | curlew |
//! |---|---|
//! | `CURLOPT_PROXY` (with the scheme: `CURLOPT_PROXYTYPE`), `CURLOPT_PROXYPORT` in the URL | [`Easy::proxy`](crate::Easy::proxy) ([`ProxyKind`](crate::ProxyKind) from the scheme; port [`DEFAULT_PROXY_PORT`](crate::DEFAULT_PROXY_PORT) 1080, [`DEFAULT_HTTPS_PROXY_PORT`](crate::DEFAULT_HTTPS_PROXY_PORT) 443 for `https://`) |
//! | `CURLOPT_PROXYUSERPWD` | [`Easy::proxy_userpwd`](crate::Easy::proxy_userpwd) |
//! | `CURLOPT_PROXYAUTH` (tool `--proxy-basic`, `--proxy-digest`, `--proxy-anyauth`) | [`Easy::proxy_auth`](crate::Easy::proxy_auth) with [`HttpAuth`](crate::HttpAuth): Basic sent at once (the default); Digest (RFC 7616) or Any answer the proxy's `407` once: a `CONNECT` on a new connection, a request in absolute form sent again |
//! | `CURLOPT_HTTPPROXYTUNNEL` | [`Easy::http_proxy_tunnel`](crate::Easy::http_proxy_tunnel) |
//! | `CURLOPT_NOPROXY` | [`Easy::noproxy`](crate::Easy::noproxy) |
//! | (libcurl reads the environment always) | [`Easy::proxy_from_env`](crate::Easy::proxy_from_env) |
//! | `CURLOPT_PROXY_CAINFO`, `CURLOPT_PROXY_SSL_VERIFYPEER = 0` | [`Easy::proxy_ca_file`](crate::Easy::proxy_ca_file), [`Easy::proxy_insecure`](crate::Easy::proxy_insecure) |
//! | `CURLINFO_HTTP_CONNECTCODE`, `CURLINFO_USED_PROXY` | [`TransferInfo::http_connectcode`](crate::TransferInfo::http_connectcode), [`TransferInfo::used_proxy`](crate::TransferInfo::used_proxy) |
//! | `CURLE_COULDNT_RESOLVE_PROXY`, `CURLE_PROXY` | [`ErrorKind::CouldntResolveProxy`](crate::ErrorKind::CouldntResolveProxy), [`ErrorKind::Proxy`](crate::ErrorKind::Proxy) |
//! | tool `-x`/`--proxy`, `-U`/`--proxy-user`, `-p`/`--proxytunnel`, `--noproxy`, `--socks5`, `--socks5-hostname`, `--proxy-cacert`, `--proxy-insecure`, `-w '%{http_connect}'`, the `*_proxy` variables | the same |
