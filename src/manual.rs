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
//!   `epoll_ctl` per request.
//! - **Work proportional to readiness.** Only transfers named by an event, a timer or a
//!   callback (the dirty set) are stepped in a turn; each receives at most
//!   [`STEP_RECV_BUDGET`](crate::STEP_RECV_BUDGET) bytes per turn, so a fast transfer cannot
//!   starve slow ones. Timers live in one binary heap with lazy invalidation: each transfer
//!   keeps one entry, its earliest deadline.
//! - **DNS never blocks.** Lookups run on up to [`DNS_THREADS`](crate::dns_limits::DNS_THREADS)
//!   worker threads, started lazily, that answer on a crossbeam channel and wake the poller;
//!   IP literals and `localhost` never reach them.
//! - **Connection reuse.** Idle connections are pooled by (scheme class, host, port, TLS
//!   settings). A pooled connection is checked on checkout (a readable idle socket is dead) and
//!   closed as soon as the server closes it. A request that fails on a reused connection
//!   before any response byte arrived is retried once on a new connection when its body can
//!   be sent again.
//!
//! # 2. Callbacks
//!
//! | libcurl | curlew |
//! |---|---|
//! | `CURLOPT_HEADERFUNCTION` | [`Handler::header`](crate::Handler::header), one call per line |
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
//! | `CURLOPT_HTTPHEADER` | [`Easy::header`](crate::Easy::header) (your header replaces the internal one; an empty value removes it) |
//! | `CURLOPT_POSTFIELDS` | [`Easy::body`](crate::Easy::body) |
//! | `CURLOPT_UPLOAD` + `INFILESIZE` | [`Easy::upload`](crate::Easy::upload) |
//! | `CURLOPT_FOLLOWLOCATION`, `MAXREDIRS`, `UNRESTRICTED_AUTH` | [`Easy::follow_location`](crate::Easy::follow_location), [`Easy::max_redirects`](crate::Easy::max_redirects), [`Easy::unrestricted_auth`](crate::Easy::unrestricted_auth) |
//! | `CURLOPT_ACCEPT_ENCODING ""` | [`Easy::accept_encoding`](crate::Easy::accept_encoding) (gzip, deflate) |
//! | `CURLOPT_CONNECTTIMEOUT_MS`, `TIMEOUT_MS` | [`Easy::connect_timeout`](crate::Easy::connect_timeout), [`Easy::timeout`](crate::Easy::timeout) |
//! | `CURLOPT_LOW_SPEED_LIMIT` + `TIME` | [`Easy::low_speed`](crate::Easy::low_speed) |
//! | `CURLOPT_USERAGENT` | [`Easy::user_agent`](crate::Easy::user_agent) |
//! | `CURLOPT_CAINFO`, `SSL_VERIFYPEER=0`, `SSLCERT`/`SSLKEY` | [`Easy::ca_file`](crate::Easy::ca_file), [`Easy::insecure`](crate::Easy::insecure), [`Easy::client_cert`](crate::Easy::client_cert) |
//! | `CURLOPT_EXPECT_100_TIMEOUT_MS` | [`Easy::expect_100_timeout`](crate::Easy::expect_100_timeout) |
//! | `CURLOPT_MAXFILESIZE_LARGE` | [`Easy::max_filesize`](crate::Easy::max_filesize) |
//! | `CURLOPT_FORBID_REUSE`, `FRESH_CONNECT` | [`Easy::forbid_reuse`](crate::Easy::forbid_reuse), [`Easy::fresh_connect`](crate::Easy::fresh_connect) |
//! | `CURLOPT_FAILONERROR` | [`Easy::fail_on_error`](crate::Easy::fail_on_error) |
//! | `curl_multi_init` | [`Multi::new`](crate::Multi::new) |
//! | `curl_multi_add_handle` / `remove_handle` | [`Multi::add`](crate::Multi::add) / [`Multi::remove`](crate::Multi::remove) (gives the `Easy` back) |
//! | `curl_multi_perform` | [`Multi::perform`](crate::Multi::perform) |
//! | `curl_multi_poll` + `perform` | [`Multi::poll`](crate::Multi::poll) |
//! | `curl_multi_timeout` | [`Multi::timeout`](crate::Multi::timeout) |
//! | `curl_multi_info_read` | [`Multi::info_read`](crate::Multi::info_read) |
//! | `curl_multi_wakeup` | [`Multi::waker`](crate::Multi::waker) → [`MultiWaker::wake`](crate::MultiWaker::wake) (Send + Sync) |
//! | `CURLMOPT_MAX_TOTAL_CONNECTIONS`, `MAX_HOST_CONNECTIONS`, `MAXCONNECTS` | [`Multi::set_max_total_connections`](crate::Multi::set_max_total_connections), [`Multi::set_max_host_connections`](crate::Multi::set_max_host_connections), [`Multi::set_max_idle_connections`](crate::Multi::set_max_idle_connections) |
//! | `CURLcode` | [`ErrorKind`](crate::ErrorKind) ([`ErrorKind::curl_code`](crate::ErrorKind::curl_code) gives the number) |
//!
//! Differences worth knowing: the per-host limit counts connections per (scheme class, host,
//! port, TLS settings), not per host name alone; the low-speed check uses consecutive windows
//! of `LOW_SPEED_TIME` rather than a sliding one.
