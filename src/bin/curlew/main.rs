//! `curlew`: a curl-like command-line tool for HTTP(S) and an nc-like one for WebSockets,
//! built on the curlew library's public API only.
//!
//! ```text
//! curlew -o page.html https://example.com/
//! curlew -Z --output-dir out -O http://host/a http://host/b
//! echo hello | curlew ws://host/echo
//! ```

mod body;
mod form;
mod http;
mod retry;
mod stdin;
mod ws;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use curlew::{Easy, Error, ErrorKind, HttpVersionOption};

/// Command-line options: curl's spelling and meaning for HTTP, nc-like WebSocket sessions.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "curlew",
    version,
    about = "Transfer a URL (http, https) or talk to a WebSocket (ws, wss) like nc"
)]
pub struct Args {
    /// URLs: http/https transfer, ws/wss interactive session
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,

    /// Write the body to FILE instead of stdout (each -o or -O is for the next URL, in order)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Write the next URL's body to a file named like the remote file (repeat per URL)
    #[arg(
        short = 'O',
        long = "remote-name",
        action = clap::ArgAction::Append,
        num_args = 0,
        default_missing_value = "true",
        value_parser = clap::value_parser!(bool)
    )]
    pub remote_name: Vec<bool>,
    /// -O for every URL without an -o or -O of its own
    #[arg(long = "remote-name-all")]
    pub remote_name_all: bool,
    /// The -o and -O options in command-line order (filled after parsing).
    #[arg(skip)]
    pub outputs: Vec<Output>,
    /// Directory for -o and -O files
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Include the response headers in the output
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Show the document info (headers) only: a HEAD request
    #[arg(short = 'I', long = "head")]
    pub head: bool,
    /// Request method
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub request: Option<String>,
    /// Extra header "Name: value" (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub header: Vec<String>,
    /// User-Agent to send (the tool sends curlew/VERSION, like curl's curl/VERSION; "" sends none)
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,
    /// POST data (@file reads a file, newlines stripped); implies POST
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,
    /// POST data as is (@file reads a file as is)
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<String>,
    /// POST data percent-encoded: content, =content, name=content, @file, name@file
    #[arg(long = "data-urlencode", value_name = "DATA")]
    pub data_urlencode: Vec<String>,
    /// POST JSON (@file reads a file) with JSON Content-Type and Accept
    #[arg(long = "json", value_name = "DATA")]
    pub json: Vec<String>,
    /// Multipart form field (repeatable, one form): name=value; name=@FILE uploads a file
    /// (streamed; ;type=TYPE, ;filename=NAME); name=<FILE a text field from a file; @- and
    /// <- read stdin; ;headers="Name: value" adds a part header
    #[arg(short = 'F', long = "form", value_name = "NAME=CONTENT")]
    pub form: Vec<String>,
    /// Multipart form field taken as is: no @, < or ;type= (repeatable)
    #[arg(long = "form-string", value_name = "NAME=STRING")]
    pub form_string: Vec<String>,
    /// The -F and --form-string fields in command-line order (filled after parsing).
    #[arg(skip)]
    pub form_fields: Vec<form::Field>,
    /// Put the -d data in the URL's query and GET
    #[arg(short = 'G', long = "get")]
    pub get: bool,
    /// Upload FILE with PUT (streamed; a URL ending in / gets the file's name)
    #[arg(short = 'T', long = "upload-file", value_name = "FILE")]
    pub upload_file: Option<PathBuf>,
    /// Write the response headers to FILE ("-": stdout)
    #[arg(short = 'D', long = "dump-header", value_name = "FILE")]
    pub dump_header: Option<PathBuf>,
    /// Follow redirects
    #[arg(short = 'L', long = "location")]
    pub location: bool,
    /// Most redirects to follow (-1: no limit)
    #[arg(
        long = "max-redirs",
        value_name = "N",
        default_value_t = 50,
        allow_negative_numbers = true
    )]
    pub max_redirs: i64,
    /// Ask for a compressed response and decode it
    #[arg(long = "compressed")]
    pub compressed: bool,
    /// Fail with exit 22 on HTTP errors (status >= 400), without output
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,
    /// Silent mode: no progress bar, no error messages
    #[arg(short = 's', long = "silent")]
    pub silent: bool,
    /// With -s, still show error messages
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,
    /// Trace the transfer on stderr
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
    /// Do not verify the server's TLS certificate
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Trust the CA certificates in FILE (PEM)
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Trust the CA certificates in the files of DIR (PEM)
    #[arg(long = "capath", value_name = "DIR")]
    pub capath: Option<PathBuf>,
    /// Accept only this server public key: sha256//BASE64[;sha256//...] or a PEM/DER file
    #[arg(long = "pinnedpubkey", value_name = "HASHES")]
    pub pinnedpubkey: Option<String>,
    /// Time allowed to connect, in seconds (fractions allowed; 0: the default, 300)
    #[arg(long = "connect-timeout", value_name = "SECS")]
    pub connect_timeout: Option<f64>,
    /// Time allowed for the whole operation, in seconds (fractions allowed; 0: no limit)
    #[arg(short = 'm', long = "max-time", value_name = "SECS")]
    pub max_time: Option<f64>,
    /// Print FMT after each transfer (%{http_code}, %{time_total}, ..., \n)
    #[arg(short = 'w', long = "write-out", value_name = "FMT")]
    pub write_out: Option<String>,
    /// Use HTTP/1.0
    #[arg(short = '0', long = "http1.0", group = "httpver")]
    pub http10: bool,
    /// Use HTTP/1.1 only (no h2 in ALPN)
    #[arg(long = "http1.1", group = "httpver")]
    pub http11: bool,
    /// Use HTTP/2 where the server agrees (ALPN h2 for https; the default)
    #[arg(long = "http2", group = "httpver")]
    pub http2: bool,
    /// Use HTTP/2 without asking: the preface at once for http (h2c), ALPN h2 only for https
    #[arg(long = "http2-prior-knowledge", group = "httpver")]
    pub http2_prior_knowledge: bool,
    /// Use TLS 1.0 or later (rustls: 1.2 or later)
    #[arg(short = '1', long = "tlsv1")]
    pub tlsv1: bool,
    /// Use TLS 1.0 or later (rustls: 1.2 or later)
    #[arg(long = "tlsv1.0")]
    pub tlsv1_0: bool,
    /// Use TLS 1.1 or later (rustls: 1.2 or later)
    #[arg(long = "tlsv1.1")]
    pub tlsv1_1: bool,
    /// Use TLS 1.2 or later
    #[arg(long = "tlsv1.2")]
    pub tlsv1_2: bool,
    /// Use TLS 1.3
    #[arg(long = "tlsv1.3")]
    pub tlsv1_3: bool,
    /// The highest TLS version to use: 1.2, 1.3 or default
    #[arg(long = "tls-max", value_name = "VERSION")]
    pub tls_max: Option<String>,
    /// Server user and password (USER:PASSWORD), Basic authentication
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// Use Basic authentication (the default)
    #[arg(long = "basic")]
    pub basic: bool,
    /// Use Digest authentication (RFC 7616)
    #[arg(long = "digest")]
    pub digest: bool,
    /// Use whatever authentication the server asks for
    #[arg(long = "anyauth")]
    pub anyauth: bool,
    /// An OAuth 2 bearer token for the server
    #[arg(long = "oauth2-bearer", value_name = "TOKEN")]
    pub oauth2_bearer: Option<String>,
    /// Take the credentials from .netrc (over the URL's)
    #[arg(short = 'n', long = "netrc")]
    pub netrc: bool,
    /// Take the credentials from .netrc when the URL has none
    #[arg(long = "netrc-optional")]
    pub netrc_optional: bool,
    /// The .netrc file to read (implies --netrc-optional unless -n is given)
    #[arg(long = "netrc-file", value_name = "FILE")]
    pub netrc_file: Option<PathBuf>,
    /// Like -L, and send the credentials to the hosts redirected to as well
    #[arg(long = "location-trusted")]
    pub location_trusted: bool,
    /// Send cookies: "NAME=VALUE; ..." as they are, or read a cookie file (no '=' in it) and
    /// turn the cookie engine on (repeatable; "-" is stdin)
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE")]
    pub cookie: Vec<String>,
    /// Write every cookie to FILE (curl's Netscape format; "-" is stdout) when all is done
    #[arg(short = 'c', long = "cookie-jar", value_name = "FILE")]
    pub cookie_jar: Option<PathBuf>,
    /// Leave out session cookies when reading cookie files (a new session)
    #[arg(short = 'j', long = "junk-session-cookies")]
    pub junk_session_cookies: bool,
    /// Bind the local end to this interface: a device, an address, if!NAME or host!ADDR
    #[arg(long = "interface", value_name = "NAME")]
    pub interface: Option<String>,
    /// Bind the local end to this port, or a port of the range N-M
    #[arg(long = "local-port", value_name = "N[-M]")]
    pub local_port: Option<String>,
    /// Connect through this unix domain socket instead of TCP (the URL still gives the host)
    #[arg(long = "unix-socket", value_name = "PATH")]
    pub unix_socket: Option<PathBuf>,
    /// Connect through this socket in Linux's abstract namespace instead of TCP
    #[arg(long = "abstract-unix-socket", value_name = "NAME")]
    pub abstract_unix_socket: Option<PathBuf>,
    /// Milliseconds a connect attempt has before the next address starts beside it (200)
    #[arg(long = "happy-eyeballs-timeout-ms", value_name = "MS")]
    pub happy_eyeballs_timeout_ms: Option<u64>,
    /// Seconds idle before TCP keepalive probes start, and between them (default 60)
    #[arg(long = "keepalive-time", value_name = "SECS")]
    pub keepalive_time: Option<u64>,
    /// No TCP keepalive probes (curl sends them by default)
    #[arg(long = "no-keepalive")]
    pub no_keepalive: bool,
    /// Retry a transient failure (timeout, 408/429/5xx, ...) up to N times
    #[arg(long = "retry", value_name = "N", default_value_t = 0)]
    pub retry: u32,
    /// Wait SECS between retries (default: 1 s, doubling)
    #[arg(long = "retry-delay", value_name = "SECS")]
    pub retry_delay: Option<f64>,
    /// Retry only within SECS of the first try
    #[arg(long = "retry-max-time", value_name = "SECS")]
    pub retry_max_time: Option<f64>,
    /// With --retry: retry on any error
    #[arg(long = "retry-all-errors")]
    pub retry_all_errors: bool,
    /// With --retry: retry a refused connection too
    #[arg(long = "retry-connrefused")]
    pub retry_connrefused: bool,
    /// Most bytes per second to receive and to send (suffixes k, m, g: 1024 based)
    #[arg(long = "limit-rate", value_name = "SPEED")]
    pub limit_rate: Option<String>,
    /// Ask for these byte ranges (0-499, 500-, -500, or several with commas)
    #[arg(
        short = 'r',
        long = "range",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub range: Option<String>,
    /// Resume at OFFSET, or at the output file's size with "-" (the file is appended to)
    #[arg(
        short = 'C',
        long = "continue-at",
        value_name = "OFFSET",
        allow_hyphen_values = true
    )]
    pub continue_at: Option<String>,
    /// Resolve HOST:PORT to these addresses (HOST:PORT:ADDR[,ADDR]...; repeatable)
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,
    /// Connect to another host and port for HOST:PORT (HOST:PORT:HOST2:PORT2; repeatable)
    #[arg(long = "connect-to", value_name = "HOST:PORT:HOST2:PORT2")]
    pub connect_to: Vec<String>,
    /// Use this proxy: [scheme://][user:password@]host[:port], scheme http (default), https,
    /// socks4, socks4a, socks5 or socks5h; port 1080 by default
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub proxy: Option<String>,
    /// The proxy's user name and password (USER:PASSWORD)
    #[arg(short = 'U', long = "proxy-user", value_name = "USER:PASSWORD")]
    pub proxy_user: Option<String>,
    /// Tunnel plain HTTP through the HTTP proxy with CONNECT too
    #[arg(short = 'p', long = "proxytunnel")]
    pub proxytunnel: bool,
    /// Hosts (comma-separated, * for all) reached without the proxy; overrides NO_PROXY
    #[arg(long = "noproxy", value_name = "LIST")]
    pub noproxy: Option<String>,
    /// Use this SOCKS5 proxy, the target's name resolved here (same as -x socks5://HOST)
    #[arg(long = "socks5", value_name = "HOST[:PORT]")]
    pub socks5: Option<String>,
    /// Use this SOCKS5 proxy, which resolves the target's name (-x socks5h://HOST)
    #[arg(long = "socks5-hostname", value_name = "HOST[:PORT]")]
    pub socks5_hostname: Option<String>,
    /// Trust the CA certificates in FILE (PEM) for an HTTPS proxy
    #[arg(long = "proxy-cacert", value_name = "FILE")]
    pub proxy_cacert: Option<PathBuf>,
    /// Do not verify an HTTPS proxy's certificate
    #[arg(long = "proxy-insecure")]
    pub proxy_insecure: bool,
    /// Use Basic authentication with the proxy (the default)
    #[arg(long = "proxy-basic")]
    pub proxy_basic: bool,
    /// Use Digest authentication with the proxy (RFC 7616)
    #[arg(long = "proxy-digest")]
    pub proxy_digest: bool,
    /// Use whatever authentication the proxy asks for
    #[arg(long = "proxy-anyauth")]
    pub proxy_anyauth: bool,
    /// Run the transfers in parallel
    #[arg(short = 'Z', long = "parallel")]
    pub parallel: bool,
    /// Most transfers in flight with -Z
    #[arg(long = "parallel-max", value_name = "N", default_value_t = 50)]
    pub parallel_max: usize,

    /// WebSocket: send stdin as BINARY messages of up to 64 KiB (default: each line a TEXT
    /// message, longer lines in 64 KiB fragments)
    #[arg(long = "ws-binary")]
    pub ws_binary: bool,
    /// WebSocket: a TEXT message to send right after the upgrade (repeatable)
    #[arg(long = "ws-send", value_name = "DATA")]
    pub ws_send: Vec<String>,
    /// WebSocket: send CLOSE 1000 and exit 0 after N messages received
    #[arg(long = "ws-count", value_name = "N")]
    pub ws_count: Option<u64>,
    /// WebSocket: send a PING after SECS seconds without traffic from the server; no answer
    /// within as long again (1 s at least) ends the session (exit 28)
    #[arg(long = "ws-ping", value_name = "SECS")]
    pub ws_ping: Option<f64>,
    /// WebSocket: offer subprotocol P (repeatable, in order of preference)
    #[arg(long = "ws-subprotocol", value_name = "P")]
    pub ws_subprotocol: Vec<String>,
    /// WebSocket: offer permessage-deflate compression (RFC 7692)
    #[arg(long = "ws-compress")]
    pub ws_compress: bool,
}

impl Args {
    /// Whether error messages go to stderr.
    pub fn show_errors(&self) -> bool {
        !self.silent || self.show_error
    }
}

/// A failure of the tool: the exit code and the message.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub msg: String,
}

impl Fail {
    pub fn new(code: u8, msg: impl Into<String>) -> Fail {
        Fail {
            code,
            msg: msg.into(),
        }
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::new(exit_code(e.kind()), describe(&e))
    }
}

/// curl's exit number for an error kind.
pub fn exit_code(kind: ErrorKind) -> u8 {
    u8::try_from(kind.curl_code()).unwrap_or(2)
}

/// A one-line description of an error, its cause included.
pub fn describe(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(c) = src {
        let c_text = c.to_string();
        if !s.contains(&c_text) {
            s.push_str(": ");
            s.push_str(&c_text);
        }
        src = c.source();
    }
    s
}

/// Print `curlew: (CODE) MSG` unless silenced.
pub fn report(args: &Args, fail: &Fail) {
    if args.show_errors() && !fail.msg.is_empty() {
        let _ = writeln!(std::io::stderr(), "curlew: ({}) {}", fail.code, fail.msg);
    }
}

/// Seconds (fractions allowed) as a Duration; bad values are a usage error. Values past
/// [`curlew::DURATION_MAX`] mean that (no limit in practice).
pub fn secs(flag: &str, v: f64) -> Result<Duration, Fail> {
    if v.is_finite() && v > curlew::DURATION_MAX.as_secs_f64() {
        return Ok(curlew::DURATION_MAX);
    }
    Duration::try_from_secs_f64(v)
        .map(|d| d.min(curlew::DURATION_MAX))
        .map_err(|_| Fail::new(2, format!("{flag}: bad number of seconds {v}")))
}

/// Parse `-H "Name: value"`.
pub fn parse_header(h: &str) -> Result<(String, String), Fail> {
    match h.split_once(':') {
        Some((n, v)) => Ok((n.trim().to_string(), v.trim().to_string())),
        None => Err(Fail::new(
            43,
            format!("bad header {h:?} (want \"Name: value\")"),
        )),
    }
}

/// The options shared by HTTP and WebSocket transfers.
pub fn common_options(args: &Args, easy: &mut Easy) -> Result<(), Fail> {
    // The library sends no User-Agent unless told (libcurl); the tool names itself (curl).
    match args.user_agent.as_deref() {
        None => easy.user_agent(Some(curlew::DEFAULT_USER_AGENT))?,
        Some("") => easy.user_agent(None)?,
        Some(ua) => easy.user_agent(Some(ua))?,
    };
    for h in &args.header {
        let (n, v) = parse_header(h)?;
        easy.header(&n, &v)?;
    }
    easy.verbose(args.verbose).insecure(args.insecure);
    easy.http_version(if args.http10 {
        HttpVersionOption::Http10
    } else if args.http11 {
        HttpVersionOption::Http11
    } else if args.http2_prior_knowledge {
        HttpVersionOption::Http2PriorKnowledge
    } else if args.http2 {
        HttpVersionOption::Http2
    } else {
        HttpVersionOption::Http2Tls
    });
    if let Some(ca) = &args.cacert {
        easy.ca_file(ca);
    }
    if let Some(dir) = &args.capath {
        easy.ca_path(dir);
    }
    easy.pinned_public_key(args.pinnedpubkey.as_deref())?;
    if let Some(t) = args.connect_timeout {
        easy.connect_timeout(secs("--connect-timeout", t)?);
    }
    easy.resolve(&args.resolve)?.connect_to(&args.connect_to)?;
    tls_versions(args, easy)?;
    socket_options(args, easy)?;
    if let Some(r) = &args.limit_rate {
        let speed = parse_rate(r).ok_or_else(|| Fail::new(2, format!("--limit-rate {r}")))?;
        easy.max_recv_speed(speed).max_send_speed(speed);
    }
    auth_options(args, easy)?;
    cookie_options(args, easy)?;
    proxy_options(args, easy)
}

/// -b (a cookie string when it has a '=', else a file), -c, -j. The jar itself is written
/// once, when every transfer is done ([`save_cookies`]).
fn cookie_options(args: &Args, easy: &mut Easy) -> Result<(), Fail> {
    let (strings, files): (Vec<&String>, Vec<&String>) =
        args.cookie.iter().partition(|c| c.contains('='));
    if !strings.is_empty() {
        let joined: Vec<&str> = strings.iter().map(|s| s.as_str()).collect();
        easy.cookie(Some(&joined.join("; ")))?;
    }
    for f in files {
        easy.cookie_file(f);
    }
    if args.cookie_jar.is_some() {
        easy.cookie_file("");
    }
    easy.cookie_session(args.junk_session_cookies);
    Ok(())
}

/// Write the cookie jar of `-c` (curl warns and goes on when it cannot).
pub fn save_cookies(args: &Args, multi: &mut curlew::Multi) {
    if let Some(path) = &args.cookie_jar {
        if let Err(e) = multi.cookies().save_file(path) {
            eprintln!(
                "curlew: Warning: Failed to save cookies in {}: {e}",
                path.display()
            );
        }
    }
}

/// --interface, --local-port, --keepalive-time, --no-keepalive (keepalive on by default, as
/// in curl's tool), --unix-socket, --abstract-unix-socket, --happy-eyeballs-timeout-ms.
fn socket_options(args: &Args, easy: &mut Easy) -> Result<(), Fail> {
    let idle = std::time::Duration::from_secs(args.keepalive_time.unwrap_or(60).max(1));
    easy.tcp_keepalive((!args.no_keepalive).then_some((idle, idle)));
    easy.interface(args.interface.as_deref())?;
    if let Some(ms) = args.happy_eyeballs_timeout_ms {
        easy.happy_eyeballs_timeout(std::time::Duration::from_millis(ms));
    }
    // Both given: the abstract one (curl's tool takes whichever comes last).
    if let Some(p) = &args.unix_socket {
        easy.unix_socket_path(Some(p));
    }
    if let Some(name) = &args.abstract_unix_socket {
        easy.abstract_unix_socket(Some(name));
    }
    if let Some(p) = &args.local_port {
        let bad = || Fail::new(2, format!("--local-port {p}"));
        let (a, b) = p.split_once('-').unwrap_or((p, p));
        let (a, b): (u16, u16) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a == 0 || b < a {
            return Err(bad());
        }
        easy.local_port(Some((a, b - a + 1)));
    }
    Ok(())
}

/// `--limit-rate` as curl reads it: a number, optionally with k, m or g (powers of 1024).
fn parse_rate(s: &str) -> Option<u64> {
    let (num, mult) = match s.chars().last()?.to_ascii_lowercase() {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    Some((n * mult as f64) as u64)
}

/// --tlsv1.x and --tls-max (rustls speaks 1.2 and 1.3: lower minimums mean no bound, a
/// maximum below 1.2 is curl's "not built in", 4).
fn tls_versions(args: &Args, easy: &mut Easy) -> Result<(), Fail> {
    use curlew::TlsVersion::{Tls12, Tls13};
    let min = if args.tlsv1_3 {
        Some(Tls13)
    } else if args.tlsv1_2 {
        Some(Tls12)
    } else {
        None
    };
    let max = match args.tls_max.as_deref() {
        None | Some("default") => None,
        Some("1.3") => Some(Tls13),
        Some("1.2") => Some(Tls12),
        Some("1.0" | "1.1") => {
            return Err(Fail::new(4, "TLS below 1.2 is not supported (rustls)"));
        }
        Some(v) => return Err(Fail::new(2, format!("--tls-max {v}: 1.2, 1.3 or default"))),
    };
    easy.ssl_version(min, max)?;
    Ok(())
}

/// The credential flags: -u, --oauth2-bearer, -n, --netrc-optional, --netrc-file,
/// --location-trusted.
fn auth_options(args: &Args, easy: &mut Easy) -> Result<(), Fail> {
    if let Some(up) = &args.user {
        let (u, p) = up.split_once(':').unwrap_or((up, ""));
        easy.userpwd(Some((u, p)))?;
    }
    easy.bearer_token(args.oauth2_bearer.as_deref())?;
    easy.http_auth(if args.anyauth {
        curlew::HttpAuth::Any
    } else if args.digest {
        curlew::HttpAuth::Digest
    } else {
        curlew::HttpAuth::Basic
    });
    let mode = if args.netrc {
        curlew::NetrcMode::Required
    } else if args.netrc_optional || args.netrc_file.is_some() {
        curlew::NetrcMode::Optional
    } else {
        curlew::NetrcMode::Ignored
    };
    easy.netrc(mode);
    if let Some(f) = &args.netrc_file {
        easy.netrc_file(f);
    }
    if args.location_trusted {
        easy.follow_location(true).unrestricted_auth(true);
    }
    Ok(())
}

/// The proxy flags, and the environment's proxy variables as curl reads them (the options
/// win; `--socks5` and `--socks5-hostname` win over `-x`, as in curl).
fn proxy_options(args: &Args, easy: &mut Easy) -> Result<(), Fail> {
    easy.proxy_from_env(true)
        .http_proxy_tunnel(args.proxytunnel)
        .proxy_insecure(args.proxy_insecure);
    if let Some(ca) = &args.proxy_cacert {
        easy.proxy_ca_file(ca);
    }
    let socks = |scheme: &str, host: &str| format!("{scheme}://{host}");
    let proxy = match (&args.socks5_hostname, &args.socks5, &args.proxy) {
        (Some(h), _, _) => Some(socks("socks5h", h)),
        (None, Some(h), _) => Some(socks("socks5", h)),
        (None, None, p) => p.clone(),
    };
    if let Some(p) = proxy {
        easy.proxy(&p)?;
    }
    if let Some(up) = &args.proxy_user {
        let (u, p) = up.split_once(':').unwrap_or((up, ""));
        easy.proxy_userpwd(Some((u, p)))?;
    }
    easy.proxy_auth(if args.proxy_anyauth {
        curlew::HttpAuth::Any
    } else if args.proxy_digest {
        curlew::HttpAuth::Digest
    } else {
        curlew::HttpAuth::Basic
    });
    if let Some(list) = &args.noproxy {
        easy.noproxy(list);
    }
    Ok(())
}

/// Where one URL's body goes, as `-o FILE` or `-O` said.
#[derive(Clone, Debug)]
pub enum Output {
    /// `-o FILE` (`-` is stdout).
    File(PathBuf),
    /// `-O`: the URL's last path segment.
    Remote,
}

/// Parse the command line, then put `-o` and `-O` in the order they were given: as in curl,
/// each applies to the next URL.
fn parse_args() -> Args {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Args::command().get_matches();
    let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let mut outs: Vec<(usize, Output)> = Vec::new();
    if let Some(idx) = matches.indices_of("output") {
        outs.extend(
            idx.zip(args.output.iter())
                .map(|(i, p)| (i, Output::File(p.clone()))),
        );
    }
    if let Some(idx) = matches.indices_of("remote_name") {
        outs.extend(idx.map(|i| (i, Output::Remote)));
    }
    outs.sort_by_key(|(i, _)| *i);
    args.outputs = outs.into_iter().map(|(_, o)| o).collect();
    args.form_fields = form_fields(&matches, &args);
    args
}

/// `-F` and `--form-string` in the order given: one form, its parts in that order.
fn form_fields(matches: &clap::ArgMatches, args: &Args) -> Vec<form::Field> {
    let mut fields: Vec<(usize, form::Field)> = Vec::new();
    for (id, values, literal) in [
        ("form", &args.form, false),
        ("form_string", &args.form_string, true),
    ] {
        if let Some(idx) = matches.indices_of(id) {
            fields.extend(idx.zip(values).map(|(i, spec)| {
                let spec = spec.clone();
                (i, form::Field { literal, spec })
            }));
        }
    }
    fields.sort_by_key(|(i, _)| *i);
    fields.into_iter().map(|(_, f)| f).collect()
}

fn main() -> ExitCode {
    let args = parse_args();
    let is_ws = args.urls.iter().any(|u| {
        let l = u.to_ascii_lowercase();
        l.starts_with("ws://") || l.starts_with("wss://")
    });
    let result = if is_ws {
        if args.urls.len() != 1 {
            Err(Fail::new(2, "a WebSocket session takes exactly one URL"))
        } else {
            ws::run(&args)
        }
    } else {
        http::run(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            report(&args, &f);
            ExitCode::from(f.code)
        }
    }
}
