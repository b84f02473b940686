//! nginx as an HTTP/2 test server: a private configuration in a temporary directory, HTTP/2
//! over TLS and h2c on two 127.0.0.1 ports, static pattern files and an echo location made of
//! stock directives.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::{unavailable, Proc, TempDir, START_TIMEOUT};
use super::{pattern, H2Fixture, SIZES};
use crate::support::data_path;

/// Attempts with fresh ports when another process took a chosen port before nginx bound it.
const BIND_ATTEMPTS: usize = 3;
/// Largest request body `/echo` answers (`client_body_buffer_size`: beyond it nginx would
/// spool the body to a file and `$request_body` would be empty, so this is also
/// `client_max_body_size`).
pub const NGINX_MAX_ECHO: usize = 16 << 20;
/// The user and password `/basic` wants (auth_basic, `{PLAIN}` in its user file).
pub const NGINX_BASIC: (&str, &str) = ("alice", "wonderland");
/// The token `/bearer` wants.
pub const NGINX_BEARER: &str = "s3cret-token";

/// nginx serving HTTP/2 on 127.0.0.1 over TLS (`tls_port`, the test certificate for
/// localhost/127.0.0.1) and h2c with prior knowledge (`h2c_port`), from a private
/// configuration in a temporary directory (`-p DIR -c DIR/nginx.conf`, `daemon off`,
/// `master_process off`: one process, the current user). Locations:
///
/// * `/1k`, `/100k`, `/10m`: static files of the body pattern ([`super::pattern`]);
/// * `/echo`: `POST`/`PUT` body back (up to [`NGINX_MAX_ECHO`]; no `x-body-len`): the
///   `mirror` module reads the body before the content phase, the static handler's 404/405
///   goes to a named location that does `return 200 $request_body`;
/// * `/redirect`: 302 to `/1k`, `/moved`: 301 to `/1k` (relative `location`);
/// * `/basic`: `/1k` behind Basic authentication ([`NGINX_BASIC`]), `/bearer`: `/1k` for
///   `Authorization: Bearer` [`NGINX_BEARER`] only, else 401;
/// * `/cookie/set`: five `Set-Cookie` (one for another domain), `/cookie/hop1` → `/hop2` →
///   `/echo`: a redirect chain that sets, shows (`X-Got-Cookie`) and deletes cookies,
///   `/cookie/echo` and `/cookie/deep/echo`: the `Cookie` header received, as the body;
/// * `http2_max_concurrent_streams 128`.
///
/// Stopped when dropped (the wrapper shell stops nginx when its stdin closes) and the
/// directory removed.
pub struct Nginx {
    /// HTTP/2 over TLS (ALPN h2, http/1.1 too).
    pub tls_port: u16,
    /// h2c, prior knowledge (HTTP/2 only).
    pub h2c_port: u16,
    proc: Proc,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx, or `None` (SKIPPED) when there is no nginx with the HTTP/2 module.
    pub fn start() -> Option<Nginx> {
        let bin = match find_nginx() {
            Ok(b) => b,
            Err(why) => return unavailable("nginx (HTTP/2 fixture)", &why),
        };
        let dir = TempDir::new("nginx");
        write_files(dir.path());
        for _ in 0..BIND_ATTEMPTS {
            let (tls, h2c) = (free_port(), free_port());
            write_config(dir.path(), tls, h2c);
            let proc = Proc::spawn("nginx", wrapper(&bin, dir.path()));
            match wait_ready(proc, dir.path(), tls, h2c) {
                Ok(proc) => {
                    return Some(Nginx {
                        tls_port: tls,
                        h2c_port: h2c,
                        proc,
                        dir,
                    })
                }
                Err(log) if log.contains("Address already in use") => continue,
                Err(log) => panic!("nginx did not start; error log:\n{log}"),
            }
        }
        panic!("nginx: {BIND_ATTEMPTS} attempts, each found a chosen port taken");
    }

    /// The directory the static files are served from.
    pub fn docroot(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl H2Fixture for Nginx {
    fn name(&self) -> &'static str {
        "nginx"
    }
    fn tls_port(&self) -> u16 {
        self.tls_port
    }
    fn h2c_port(&self) -> u16 {
        self.h2c_port
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- nginx error log ---\n{}", self.error_log());
        }
        // Then the fields in declaration order: `proc` (nginx stopped) before `dir`.
    }
}

/// `nginx` on PATH or in /usr/sbin, built with the HTTP/2 module.
fn find_nginx() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let bin = std::env::split_paths(&path)
        .map(|d| d.join("nginx"))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
        .ok_or_else(|| "no nginx on PATH or in /usr/sbin".to_string())?;
    let out = Command::new(&bin)
        .arg("-V")
        .output()
        .map_err(|e| format!("{} -V: {e}", bin.display()))?;
    // nginx -V prints its configure arguments on stderr.
    if !String::from_utf8_lossy(&out.stderr).contains("--with-http_v2_module") {
        return Err(format!("{} lacks the HTTP/2 module", bin.display()));
    }
    Ok(bin)
}

/// A port that was free a moment ago (nginx is told the port; a race with another process
/// shows up as a bind error and a retry).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

fn write_files(dir: &Path) {
    let (u, p) = NGINX_BASIC;
    std::fs::write(dir.join("htpasswd"), format!("{u}:{{PLAIN}}{p}\n")).expect("write htpasswd");
    let www = dir.join("www");
    std::fs::create_dir(&www).expect("create www");
    for (path, len) in SIZES {
        std::fs::write(www.join(&path[1..]), pattern(len)).expect("write a static file");
    }
}

fn write_config(dir: &Path, tls: u16, h2c: u16) {
    let d = dir.display();
    let cert = data_path("server.pem");
    let key = data_path("server.key");
    let temps: String = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
        .iter()
        .map(|t| format!("  {t}_temp_path \"{d}/tmp_{t}\";\n"))
        .collect();
    let conf = format!(
        r#"daemon off;
master_process off;
pid "{d}/nginx.pid";
error_log "{d}/error.log" warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/octet-stream;
{temps}  server {{
    listen 127.0.0.1:{tls} ssl http2;
    listen 127.0.0.1:{h2c} http2;
    ssl_certificate "{cert}";
    ssl_certificate_key "{key}";
    root "{d}/www";
    log_not_found off;
    absolute_redirect off;
    http2_max_concurrent_streams 128;
    client_max_body_size {max};
    client_body_buffer_size {max};
    client_body_in_single_buffer on;
    location = /echo {{
      mirror /.sink;
      error_page 404 405 = @echo;
    }}
    location = /.sink {{ internal; return 204; }}
    location @echo {{ return 200 $request_body; }}
    location = /redirect {{ return 302 /1k; }}
    location = /basic {{
      auth_basic "curlew";
      auth_basic_user_file "{d}/htpasswd";
      try_files /1k =404;
    }}
    location = /bearer {{
      if ($http_authorization != "Bearer {bearer}") {{ return 401; }}
      try_files /1k =404;
    }}
    location = /moved {{ return 301 /1k; }}
    location = /cookie/set {{
      add_header Set-Cookie "plain=1; Path=/";
      add_header Set-Cookie "sec=2; Path=/; Secure; HttpOnly";
      add_header Set-Cookie "deep=3; Path=/cookie/deep";
      add_header Set-Cookie "keep=4; Path=/; Max-Age=3600";
      add_header Set-Cookie "bad=5; Domain=example.com";
      return 200 "set\n";
    }}
    location = /cookie/hop1 {{
      add_header Set-Cookie "hop1=a; Path=/";
      return 302 /cookie/hop2;
    }}
    location = /cookie/hop2 {{
      add_header X-Got-Cookie "$http_cookie";
      add_header Set-Cookie "hop2=b; Path=/";
      add_header Set-Cookie "hop1=gone; Path=/; Max-Age=0";
      return 302 /cookie/echo;
    }}
    location = /cookie/echo {{ return 200 "$http_cookie"; }}
    location = /cookie/deep/echo {{ return 200 "$http_cookie"; }}
  }}
}}
"#,
        cert = cert.display(),
        key = key.display(),
        max = NGINX_MAX_ECHO,
        bearer = NGINX_BEARER,
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
}

/// `sh` running nginx in the background and stopping it when its own stdin reaches end of
/// file (when the test drops the fixture, or dies); it prints `exited N` if nginx ends first.
/// (A background job's stdin would be /dev/null, hence the copy on descriptor 3.)
fn wrapper(bin: &Path, dir: &Path) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(
            r#"exec 3<&0
"$0" -p "$1" -c "$1/nginx.conf" -e "$1/error.log" </dev/null &
pid=$!
(cat <&3 >/dev/null; kill "$pid" 2>/dev/null) >/dev/null 2>&1 &
wait "$pid"
echo "exited $?""#,
        )
        .arg(bin)
        .arg(dir);
    c
}

/// Waits until nginx wrote its pid file (it does so after binding every listen socket) and
/// both ports accept; `Err(error log)` if it exited first.
fn wait_ready(mut proc: Proc, dir: &Path, tls: u16, h2c: u16) -> Result<Proc, String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let pid_file = dir.join("nginx.pid");
    let log = || std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    loop {
        let pid_written =
            std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim().parse::<u32>().is_ok());
        if pid_written && connects(tls) && connects(h2c) {
            return Ok(proc);
        }
        if proc.exited().is_some()
            || proc
                .wait_line(Duration::ZERO, |l| l.starts_with("exited"))
                .is_some()
        {
            let _ = std::fs::remove_file(&pid_file);
            return Err(format!("{}{}", log(), proc.stderr_text()));
        }
        if Instant::now() >= deadline {
            panic!(
                "nginx not ready within {START_TIMEOUT:?}; error log:\n{}",
                log()
            );
        }
        // Bounded poll: nginx has no readiness output of its own.
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn connects(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}
