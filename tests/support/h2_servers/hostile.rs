//! The scripted hostile HTTP/2 server (`tests/interop/h2_hostile.py`, h2c with prior
//! knowledge): one misbehaviour per run, and the events it reports about the client.

use std::time::Duration;

use super::process::{port, script, unavailable, Proc};
use super::venv_python;

/// What the hostile server does wrong; the script's docstring has the exact bytes. A normal
/// answer is `200`, `x-body-len: <request body length>`, body `ok <path>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Everything served normally (the baseline).
    Normal,
    /// First connection: answers the first K streams, then GOAWAY(last-stream-id = the K-th
    /// stream, NO_ERROR) and closes after the client does (or 10 s); later connections are
    /// served normally.
    GoawayMid(u32),
    /// RST_STREAM(INTERNAL_ERROR) on every stream when its HEADERS arrive.
    Rst,
    /// RST_STREAM(REFUSED_STREAM) on the first request for each path, the retry served.
    Refused,
    /// SETTINGS_MAX_CONCURRENT_STREAMS=1, served normally; a stream over the limit (after
    /// the client acknowledged) is refused and reported as `violation`.
    MaxStreams1,
    /// SETTINGS_INITIAL_WINDOW_SIZE=0; a request's HEADERS get a stream window of 16 bytes,
    /// its first DATA frame 1 MiB more.
    ZeroWindow,
    /// WINDOW_UPDATE(2^31-1) on the connection at each request, then the normal answer.
    WindowOverflowConnection,
    /// WINDOW_UPDATE(2^31-1) on the request's stream, then the normal answer.
    WindowOverflowStream,
    /// The normal answer, then DATA on the stream it ended.
    DataClosed,
    /// A DATA frame one byte over the client's SETTINGS_MAX_FRAME_SIZE.
    OversizeFrame,
    /// A header block of one table-filling literal and 65536 references to it (~268 MB
    /// decoded from 68 KiB).
    HpackBomb,
    /// A 1 MiB header list (1024 never-indexed 1000-byte headers).
    HugeHeaders,
    /// HEADERS without END_HEADERS, then CONTINUATION frames (one small header each)
    /// until the connection breaks.
    ContinuationFlood,
    /// The same with empty CONTINUATION frames.
    ContinuationFloodEmpty,
    /// 10000 PINGs without reading, then normal service (ACKs counted in `closed`).
    PingFlood,
    /// 10000 SETTINGS frames without reading, then normal service.
    SettingsFlood,
    /// PUSH_PROMISE on each request although the client sent ENABLE_PUSH=0, then the
    /// normal answer and the pushed response.
    PushPromise,
    /// `HTTP/1.1 400 Bad Request` text instead of the server preface; the connection stays
    /// open until the client closes it (or 10 s).
    BadPrefaceHttp1,
    /// A well-formed PING as the first frame instead of SETTINGS; held open likewise.
    BadPrefaceFrame,
}

impl Scenario {
    /// Every scenario (GOAWAY after 2 streams).
    pub const ALL: [Scenario; 19] = [
        Scenario::Normal,
        Scenario::GoawayMid(2),
        Scenario::Rst,
        Scenario::Refused,
        Scenario::MaxStreams1,
        Scenario::ZeroWindow,
        Scenario::WindowOverflowConnection,
        Scenario::WindowOverflowStream,
        Scenario::DataClosed,
        Scenario::OversizeFrame,
        Scenario::HpackBomb,
        Scenario::HugeHeaders,
        Scenario::ContinuationFlood,
        Scenario::ContinuationFloodEmpty,
        Scenario::PingFlood,
        Scenario::SettingsFlood,
        Scenario::PushPromise,
        Scenario::BadPrefaceHttp1,
        Scenario::BadPrefaceFrame,
    ];

    /// The script's arguments for this scenario.
    pub fn args(self) -> Vec<String> {
        let (name, arg) = match self {
            Scenario::Normal => ("normal", None),
            Scenario::GoawayMid(k) => return vec!["goaway-mid".into(), k.to_string()],
            Scenario::Rst => ("rst", None),
            Scenario::Refused => ("refused", None),
            Scenario::MaxStreams1 => ("max-streams-1", None),
            Scenario::ZeroWindow => ("zero-window", None),
            Scenario::WindowOverflowConnection => ("window-overflow", Some("conn")),
            Scenario::WindowOverflowStream => ("window-overflow", Some("stream")),
            Scenario::DataClosed => ("data-closed", None),
            Scenario::OversizeFrame => ("oversize-frame", None),
            Scenario::HpackBomb => ("hpack-bomb", None),
            Scenario::HugeHeaders => ("huge-headers", None),
            Scenario::ContinuationFlood => ("continuation-flood", None),
            Scenario::ContinuationFloodEmpty => ("continuation-flood", Some("empty")),
            Scenario::PingFlood => ("ping-flood", None),
            Scenario::SettingsFlood => ("settings-flood", None),
            Scenario::PushPromise => ("push-promise", None),
            Scenario::BadPrefaceHttp1 => ("bad-preface", Some("http1")),
            Scenario::BadPrefaceFrame => ("bad-preface", Some("frame")),
        };
        std::iter::once(name).chain(arg).map(String::from).collect()
    }
}

/// A running hostile server on `127.0.0.1:port` (h2c, prior knowledge), stopped when
/// dropped. Its event lines (`conn N open`, `conn N request stream=S ...`, `conn N recv
/// RST_STREAM stream=S ... code=C`, `conn N recv GOAWAY ... last=L code=C`, `conn N sent
/// ...`, `conn N violation ...`, `conn N closed ping_acks=A settings_acks=B`, ...) tell what
/// the client did.
pub struct Hostile {
    /// The listening port.
    pub port: u16,
    /// What this server does.
    pub scenario: Scenario,
    proc: Proc,
}

impl Hostile {
    /// Starts the server for `scenario`, or `None` (SKIPPED) without the Python venv and
    /// its `h2`/`hpack` packages.
    pub fn start(scenario: Scenario) -> Option<Hostile> {
        let python = match venv_python("hpack") {
            Ok(p) => p,
            Err(why) => return unavailable("the hostile HTTP/2 server", &why),
        };
        let mut cmd = std::process::Command::new(python);
        cmd.arg(script("h2_hostile.py")).args(scenario.args());
        cmd.env("PYTHONDONTWRITEBYTECODE", "1");
        let proc = Proc::spawn(&format!("h2_hostile.py {scenario:?}"), cmd);
        let port = port(&proc.ready(), "port");
        Some(Hostile {
            port,
            scenario,
            proc,
        })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every event line so far (the `ready` line excluded).
    pub fn events(&self) -> Vec<String> {
        let mut lines = self.proc.stdout_lines();
        lines.retain(|l| !l.starts_with("ready "));
        lines
    }

    /// The first event line containing `needle`, waiting up to `timeout`.
    pub fn wait_event(&self, needle: &str, timeout: Duration) -> Option<String> {
        self.proc.wait_line(timeout, |l| l.contains(needle))
    }

    /// How many connections the server has accepted so far.
    pub fn connections(&self) -> usize {
        self.events()
            .iter()
            .filter(|l| l.starts_with("conn ") && l.ends_with(" open"))
            .count()
    }
}
