//! Independent HTTP/2 servers for curlew's HTTP/2 tests, started by the tests themselves on
//! 127.0.0.1 ports chosen at start, with bounded readiness waits, stopped when dropped.
//!
//! | fixture | start | serves |
//! |---|---|---|
//! | [`Nginx`] | [`Nginx::start`] | TLS (ALPN h2) + h2c: `/1k` `/100k` `/10m`, `/echo`, `/redirect` (302), `/moved` (301) |
//! | [`Hypercorn`] | [`Hypercorn::start`] | TLS + h2c: [`ROUTES`], trailers only with `te: trailers`, WebSocket `/ws` (RFC 8441), `/digest/ALG`, `/multipart` (python-multipart), `/redirect307` |
//! | [`NodeH2`] | [`NodeH2::start`] | TLS + h2c: [`ROUTES`], trailers always, WebSocket on any path (RFC 8441) |
//! | [`Hostile`] | [`Hostile::start`]`(`[`Scenario`]`)` | h2c: one scripted misbehaviour |
//!
//! The three real servers implement [`H2Fixture`] (ports and URLs), so a test can run over
//! all of them. TLS uses the test certificate (`tests/support/data/server.pem`, valid for
//! localhost and 127.0.0.1): trust [`super::tls::ca_path`]. URLs use `127.0.0.1`.
//!
//! The runtimes come from `.ci/interop-setup.sh` (Python venv with hypercorn, h2 and
//! python-multipart under `$CURLEW_INTEROP_DIR`, default `/opt/curlew-interop`; `node`;
//! `nginx`). Without one, `start` prints `*** SKIPPED: ... ***` and returns `None`, unless
//! `CURLEW_REQUIRE_INTEROP=1` (CI), which panics with the reason. A server that is present but
//! fails to start panics with its stderr.
//!
//! Body pattern: byte `i` of every generated body and static file is `(i * 7 + 3) % 251`
//! ([`pattern`]).

// The re-exports below are unused in the test binaries that do not start these servers.
#![allow(unused_imports)]

mod hostile;
mod nginx;
mod process;

use std::path::PathBuf;
use std::process::Command;

pub use hostile::{Hostile, Scenario};
pub use nginx::{Nginx, NGINX_BASIC, NGINX_BEARER, NGINX_MAX_ECHO};
pub use process::{interop_dir, unavailable, Proc, TempDir, START_TIMEOUT};

use crate::support::data_path;
use process::{port, runs_ok, script};

/// The static-size paths every real fixture serves, with their lengths.
pub const SIZES: [(&str, usize); 3] = [("/1k", 1024), ("/100k", 100 << 10), ("/10m", 10 << 20)];

/// The routes of the hypercorn and Node servers (`tests/interop/h2_hypercorn_app.py` and
/// `h2_node_server.js` have the details):
/// `GET /bytes/N` (N pattern bytes, content-length), the [`SIZES`] paths, `GET /stream/N/K`
/// (N bytes in K chunks, no content-length), `POST|PUT /echo` (body back, `x-body-len`, up to
/// 64 MiB), `GET /trailers` (body `trailers body\n`, trailers `x-trailer-one: 1`,
/// `x-trailer-two: 2`), `GET /status/N`, `GET /redirect?to=PATH` (302), `GET /headers` (the
/// request headers as JSON `[name, value]` pairs, one per line; Node includes the
/// pseudo-headers, hypercorn turns `:authority` into `host` and drops the others),
/// `GET /slow/N` (`slow start\n`, N ms later `slow end\n`).
pub const ROUTES: &str = "/bytes/N /1k /100k /10m /stream/N/K /echo /trailers /status/N \
                          /redirect?to=P /headers /slow/N";

/// `len` bytes of the body pattern: byte `i` is `(i * 7 + 3) % 251`.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + 3) % 251) as u8).collect()
}

/// An HTTP/2 server with a TLS port and an h2c (prior knowledge) port.
pub trait H2Fixture {
    /// Short name for messages.
    fn name(&self) -> &'static str;
    /// The TLS port (ALPN h2, http/1.1 also accepted).
    fn tls_port(&self) -> u16;
    /// The cleartext port (h2c with prior knowledge).
    fn h2c_port(&self) -> u16;
    /// `https://127.0.0.1:<tls_port><path>`.
    fn tls_url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.tls_port())
    }
    /// `http://127.0.0.1:<h2c_port><path>`.
    fn h2c_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.h2c_port())
    }
}

/// The venv's Python if it can import `module`, else why not.
fn venv_python(module: &str) -> Result<PathBuf, String> {
    let python = interop_dir().join("venv/bin/python");
    if runs_ok(Command::new(&python).args(["-c", &format!("import {module}")])) {
        Ok(python)
    } else {
        Err(format!(
            "no Python `{module}` in {}",
            interop_dir().join("venv").display()
        ))
    }
}

/// A script server printing `ready tls=P h2c=Q`, started with the test certificate.
struct ScriptServer {
    tls_port: u16,
    h2c_port: u16,
    proc: Proc,
}

impl ScriptServer {
    fn start(name: &str, mut cmd: Command) -> ScriptServer {
        cmd.arg("--cert")
            .arg(data_path("server.pem"))
            .arg("--key")
            .arg(data_path("server.key"));
        let proc = Proc::spawn(name, cmd);
        let ready = proc.ready();
        ScriptServer {
            tls_port: port(&ready, "tls"),
            h2c_port: port(&ready, "h2c"),
            proc,
        }
    }
}

/// hypercorn 0.18 (`tests/interop/h2_hypercorn_app.py`): [`ROUTES`] and a WebSocket echo on
/// `/ws` (HTTP/1.1 Upgrade, or RFC 8441 extended CONNECT: hypercorn announces
/// SETTINGS_ENABLE_CONNECT_PROTOCOL=1 and wants `sec-websocket-version: 13`). Trailers only
/// for a request with `te: trailers`. Its own routes: `/digest/ALG` (RFC 7616), `POST
/// /multipart` (the form parsed by python-multipart, reported part by part: `tests/forms.rs`)
/// and `/redirect307?to=P` (the body read, then 307).
pub struct Hypercorn {
    /// HTTP/2 over TLS (ALPN h2, http/1.1 too).
    pub tls_port: u16,
    /// h2c: prior knowledge, or HTTP/1.1 (with Upgrade: h2c).
    pub h2c_port: u16,
    _server: ScriptServer,
}

impl Hypercorn {
    /// Starts hypercorn, or `None` (SKIPPED) without the venv's `hypercorn`.
    pub fn start() -> Option<Hypercorn> {
        let python = match venv_python("hypercorn") {
            Ok(p) => p,
            Err(why) => return unavailable("hypercorn (HTTP/2 fixture)", &why),
        };
        let mut cmd = Command::new(python);
        cmd.arg(script("h2_hypercorn_app.py"))
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let s = ScriptServer::start("hypercorn", cmd);
        Some(Hypercorn {
            tls_port: s.tls_port,
            h2c_port: s.h2c_port,
            _server: s,
        })
    }
}

impl H2Fixture for Hypercorn {
    fn name(&self) -> &'static str {
        "hypercorn"
    }
    fn tls_port(&self) -> u16 {
        self.tls_port
    }
    fn h2c_port(&self) -> u16 {
        self.h2c_port
    }
}

/// Node's built-in `http2` (`tests/interop/h2_node_server.js`), both servers with
/// `enableConnectProtocol`: [`ROUTES`], and an RFC 6455 echo on any extended CONNECT with
/// `:protocol websocket` (masked, fragmented, ping, close handled).
pub struct NodeH2 {
    /// HTTP/2 over TLS (`allowHTTP1`: http/1.1 too).
    pub tls_port: u16,
    /// h2c, prior knowledge.
    pub h2c_port: u16,
    _server: ScriptServer,
}

impl NodeH2 {
    /// Starts the Node server, or `None` (SKIPPED) without `node` on PATH.
    pub fn start() -> Option<NodeH2> {
        if !runs_ok(Command::new("node").arg("--version")) {
            return unavailable("Node http2 (HTTP/2 fixture)", "no `node` on PATH");
        }
        let mut cmd = Command::new("node");
        cmd.arg(script("h2_node_server.js"));
        let s = ScriptServer::start("node http2", cmd);
        Some(NodeH2 {
            tls_port: s.tls_port,
            h2c_port: s.h2c_port,
            _server: s,
        })
    }
}

impl H2Fixture for NodeH2 {
    fn name(&self) -> &'static str {
        "node"
    }
    fn tls_port(&self) -> u16 {
        self.tls_port
    }
    fn h2c_port(&self) -> u16 {
        self.h2c_port
    }
}

/// The venv's Python with `h2` (for `tests/interop/h2_ws_probe.py`), or `None` (SKIPPED).
pub fn probe_python() -> Option<PathBuf> {
    match venv_python("h2") {
        Ok(p) => Some(p),
        Err(why) => unavailable("the RFC 8441 probe", &why),
    }
}

/// Path of a script in `tests/interop/`.
pub fn interop_script(name: &str) -> PathBuf {
    script(name)
}
