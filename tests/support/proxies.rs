//! Independent proxies for curlew's proxy tests, started by the tests on 127.0.0.1 ports
//! chosen at start, each with a private configuration in a temporary directory, stopped when
//! dropped:
//!
//! | fixture | what | log |
//! |---|---|---|
//! | [`ProxyServer::tinyproxy`] | Debian's tinyproxy: HTTP (absolute form) and `CONNECT`, optional Basic auth | its log file |
//! | [`ProxyServer::dante`] | Debian's dante-server (`danted`): SOCKS4 and SOCKS5, no auth | its log file |
//! | [`ProxyServer::microsocks`] | Debian's microsocks: SOCKS5 with RFC 1929 user/password | its output |
//! | [`ProxyServer::stunnel`] | Debian's stunnel4 in front of a tinyproxy: an HTTPS proxy | its log file |
//! | [`ProxyServer::digest`] | `tests/interop/digest_proxy.py`: `CONNECT` and absolute form behind RFC 7616 Digest, checked with Python's hashlib | its output (`ok`/`bad` per request) |
//!
//! `.ci/interop-setup.sh` installs the three packages. Without one, the constructor prints
//! `*** SKIPPED ***` and returns `None`, unless `CURLEW_REQUIRE_INTEROP=1` (CI), which panics.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::h2_servers::{unavailable, Proc, TempDir, START_TIMEOUT};

/// Attempts with a fresh port when another process took the chosen one first.
const BIND_ATTEMPTS: usize = 3;

/// A running proxy; see the [module docs](self).
pub struct ProxyServer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    name: &'static str,
    proc: Proc,
    dir: TempDir,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

fn find(bin: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]
        .iter()
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// `sh` running `bin args` in the background and stopping it when the wrapper's stdin
/// closes (the [`Proc`] is dropped), so no proxy outlives the test process.
fn wrapper(bin: &Path, args: &[String]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(
            r#"exec 3<&0
"$@" </dev/null &
pid=$!
(cat <&3 >/dev/null; kill "$pid" 2>/dev/null) >/dev/null 2>&1 &
wait "$pid"
echo "exited $?""#,
        )
        .arg("sh")
        .arg(bin)
        .args(args);
    c
}

impl ProxyServer {
    /// tinyproxy, with `BasicAuth user password` when `auth` is given.
    pub fn tinyproxy(auth: Option<(&str, &str)>) -> Option<ProxyServer> {
        let bin = find("tinyproxy")
            .or_else(|| unavailable("tinyproxy", "no tinyproxy binary (Debian tinyproxy-bin)"))?;
        let auth = auth.map_or(String::new(), |(u, p)| format!("BasicAuth {u} {p}\n"));
        Some(Self::start("tinyproxy", |dir, port| {
            let d = dir.display();
            let conf = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nLogLevel Info\n\
                 LogFile \"{d}/proxy.log\"\nAllow 127.0.0.1\n{auth}"
            );
            std::fs::write(dir.join("tinyproxy.conf"), conf).expect("write tinyproxy.conf");
            wrapper(
                &bin,
                &["-d".into(), "-c".into(), format!("{d}/tinyproxy.conf")],
            )
        }))
    }

    /// dante-server (SOCKS4 and SOCKS5 without authentication; it does not do SOCKS4a).
    pub fn dante() -> Option<ProxyServer> {
        let bin = find("danted")
            .or_else(|| unavailable("dante", "no danted binary (Debian dante-server)"))?;
        Some(Self::start("dante", |dir, port| {
            let d = dir.display();
            let conf = format!(
                "logoutput: {d}/proxy.log\ninternal: 127.0.0.1 port = {port}\n\
                 external: 127.0.0.1\nsocksmethod: none\nclientmethod: none\n\
                 user.privileged: root\nuser.unprivileged: nobody\n\
                 client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  log: connect disconnect\n}}\n\
                 socks pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  command: connect\n  \
                 log: connect disconnect\n}}\n"
            );
            std::fs::write(dir.join("danted.conf"), conf).expect("write danted.conf");
            wrapper(
                &bin,
                &[
                    "-f".into(),
                    format!("{d}/danted.conf"),
                    "-p".into(),
                    format!("{d}/danted.pid"),
                ],
            )
        }))
    }

    /// microsocks (SOCKS5), requiring `user`/`password` when `auth` is given.
    pub fn microsocks(auth: Option<(&str, &str)>) -> Option<ProxyServer> {
        let bin = find("microsocks")
            .or_else(|| unavailable("microsocks", "no microsocks binary (Debian microsocks)"))?;
        Some(Self::start("microsocks", |_dir, port| {
            let mut args = vec![
                "-i".to_string(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
            ];
            if let Some((u, p)) = auth {
                args.extend(["-u".into(), u.into(), "-P".into(), p.into()]);
            }
            wrapper(&bin, &args)
        }))
    }

    fn start(name: &'static str, cmd: impl Fn(&Path, u16) -> Command) -> ProxyServer {
        let dir = TempDir::new(name);
        for _ in 0..BIND_ATTEMPTS {
            let port = free_port();
            let mut proc = Proc::spawn(name, cmd(dir.path(), port));
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return ProxyServer {
                        port,
                        name,
                        proc,
                        dir,
                    };
                }
                if proc.exited().is_some()
                    || proc
                        .wait_line(Duration::ZERO, |l| l.starts_with("exited"))
                        .is_some()
                {
                    let log =
                        std::fs::read_to_string(dir.path().join("proxy.log")).unwrap_or_default();
                    let why = format!("{log}{}", proc.stderr_text());
                    if why.contains("in use") {
                        break;
                    }
                    panic!("{name} did not start:\n{why}");
                }
                assert!(
                    Instant::now() < deadline,
                    "{name} not listening within {START_TIMEOUT:?}"
                );
                // Bounded poll: these proxies print nothing when ready.
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        panic!("{name}: {BIND_ATTEMPTS} attempts, each found its port taken");
    }

    /// stunnel (Debian stunnel4) on the test certificate (localhost, 127.0.0.1), passing
    /// what it decrypts to `127.0.0.1:backend`: with tinyproxy behind it, an HTTPS proxy.
    pub fn stunnel(backend: u16) -> Option<ProxyServer> {
        let bin = find("stunnel4")
            .or_else(|| find("stunnel"))
            .or_else(|| unavailable("stunnel", "no stunnel4 binary (Debian stunnel4)"))?;
        Some(Self::start("stunnel", |dir, port| {
            let conf = format!(
                "foreground = yes\npid =\noutput = {}/proxy.log\n[https-proxy]\n\
                 accept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{backend}\ncert = {}\nkey = {}\n",
                dir.display(),
                super::data_path("server.pem").display(),
                super::data_path("server.key").display(),
            );
            std::fs::write(dir.join("stunnel.conf"), conf).expect("write stunnel.conf");
            wrapper(&bin, &[format!("{}/stunnel.conf", dir.display())])
        }))
    }

    /// The Digest proxy of `tests/interop/digest_proxy.py` (Python 3, standard library
    /// only) for `user`/`password` with `algorithm` (`MD5` or `SHA-256`).
    pub fn digest(user: &str, password: &str, algorithm: &str) -> Option<ProxyServer> {
        let python = find("python3").or_else(|| unavailable("digest proxy", "no python3"))?;
        let script = super::h2_servers::interop_script("digest_proxy.py");
        let args = [user, password, algorithm].map(String::from);
        Some(Self::start("digest-proxy", |_dir, port| {
            let mut a = vec![script.display().to_string(), port.to_string()];
            a.extend(args.iter().cloned());
            wrapper(&python, &a)
        }))
    }

    /// `scheme://[user:pw@]127.0.0.1:port`.
    pub fn url(&self, scheme: &str, creds: Option<(&str, &str)>) -> String {
        let creds = creds.map_or(String::new(), |(u, p)| format!("{u}:{p}@"));
        format!("{scheme}://{creds}127.0.0.1:{}", self.port)
    }

    /// What the proxy logged so far (its log file, or its output).
    pub fn log(&self) -> String {
        let file = std::fs::read_to_string(self.dir.path().join("proxy.log")).unwrap_or_default();
        format!(
            "{file}{}\n{}",
            self.proc.stdout_lines().join("\n"),
            self.proc.stderr_text()
        )
    }

    /// Waits (bounded) until the log has a line containing `what`; the log.
    pub fn wait_log(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(what) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no {what:?} in its log:\n{log}",
                self.name
            );
            // Bounded poll: the proxies write their logs asynchronously.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
