//! HTTP(S) transfers: curl's flags, one Multi for every URL (sequential, or `-Z` parallel).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use curlew::mime::Mime;
use curlew::{Ctx, Easy, Flow, Handler, HttpVersion, Multi, Progress, TransferId, TransferInfo};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::time::Instant;

use crate::body::{request_body, upload_url, with_query, Body};
use crate::retry::RetryPolicy;
use crate::{common_options, report, secs, Args, Fail, Output};

/// Where one transfer's output goes.
#[derive(Debug)]
enum Dest {
    Stdout,
    /// Created at the first byte (or at the end of a successful empty transfer).
    File(PathBuf, Option<File>),
}

/// The handler of one HTTP transfer: headers (with -i/-I) and body to the destination.
struct Out {
    dest: Dest,
    /// `-C`: the file is appended to, not replaced.
    append: bool,
    headers: bool,
    /// `-D`: the response headers also go here (`None` in the file: stdout).
    dump: Option<Option<File>>,
    /// `-T`: the file the request body is read from.
    upload: Option<File>,
    /// The response's `Retry-After`, in seconds (for `--retry`).
    retry_after: Option<std::time::Duration>,
    bar: Option<ProgressBar>,
    error: Option<String>,
}

impl Out {
    fn put(&mut self, data: &[u8]) -> Flow {
        let r = match &mut self.dest {
            Dest::Stdout => io::stdout().lock().write_all(data),
            Dest::File(path, file) => {
                if file.is_none() {
                    let opened = match self.append {
                        true => File::options().append(true).create(true).open(&*path),
                        false => File::create(&*path),
                    };
                    match opened {
                        Ok(f) => *file = Some(f),
                        Err(e) => {
                            self.error = Some(format!("{}: {e}", path.display()));
                            return Flow::Abort;
                        }
                    }
                }
                file.as_mut().expect("just created").write_all(data)
            }
        };
        match r {
            Ok(()) => Flow::Continue,
            Err(e) => {
                self.error = Some(format!("write error: {e}"));
                Flow::Abort
            }
        }
    }

    /// Flush and make sure an empty file exists after a successful transfer.
    fn finish(&mut self, ok: bool) -> io::Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        match &mut self.dest {
            Dest::Stdout => io::stdout().flush(),
            Dest::File(path, file) => match file {
                Some(f) => f.flush(),
                None if ok => File::create(&*path).map(drop),
                None => Ok(()),
            },
        }
    }
}

impl Handler for Out {
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        if let Some(d) = crate::retry::retry_after(line) {
            self.retry_after = Some(d);
        }
        let dumped = match &mut self.dump {
            Some(Some(f)) => f.write_all(line),
            Some(None) => io::stdout().lock().write_all(line),
            None => Ok(()),
        };
        if let Err(e) = dumped {
            self.error = Some(format!("--dump-header: {e}"));
            return Flow::Abort;
        }
        if self.headers {
            return self.put(line);
        }
        Flow::Continue
    }

    fn read(&mut self, _ctx: &mut Ctx<'_>, buf: &mut [u8]) -> curlew::ReadResult {
        let Some(f) = self.upload.as_mut() else {
            return curlew::ReadResult::Data(0);
        };
        match f.read(buf) {
            Ok(n) => curlew::ReadResult::Data(n),
            Err(e) => {
                self.error = Some(format!("--upload-file: {e}"));
                curlew::ReadResult::Abort
            }
        }
    }

    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.put(data)
    }

    fn progress(&mut self, _ctx: &mut Ctx<'_>, p: &Progress) -> bool {
        if let Some(bar) = &self.bar {
            if p.dltotal > 0 {
                bar.set_length(p.dltotal);
            }
            bar.set_position(p.dlnow);
        }
        true
    }
}

/// The file name `-O` uses: the last segment of the URL's path.
fn remote_name(url: &str) -> Result<String, Fail> {
    let no_query = url.split(['?', '#']).next().unwrap_or("");
    let path = no_query
        .split_once("://")
        .map_or(no_query, |(_, rest)| rest);
    let path = path.split_once('/').map_or("", |(_, p)| p);
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(Fail::new(
            23,
            format!("{url}: remote file name has no length"),
        )),
    }
}

/// `-C OFFSET` or `-C -` (the output file's size, 0 when there is none): where the download
/// resumes; the file is then appended to.
fn resume_offset(args: &Args, dest: &Dest) -> Result<Option<u64>, Fail> {
    let Some(at) = args.continue_at.as_deref() else {
        return Ok(None);
    };
    if at != "-" {
        return at
            .parse()
            .map(Some)
            .map_err(|_| Fail::new(2, format!("-C {at}: not an offset")));
    }
    match dest {
        Dest::File(path, _) => Ok(Some(std::fs::metadata(path).map_or(0, |m| m.len()))),
        Dest::Stdout => Ok(Some(0)),
    }
}

/// Where URL number `i` writes.
fn destination(args: &Args, i: usize, url: &str) -> Result<Dest, Fail> {
    let name = match args.outputs.get(i) {
        Some(Output::File(p)) if p.as_os_str() == "-" => return Ok(Dest::Stdout),
        Some(Output::File(p)) => p.clone(),
        Some(Output::Remote) => PathBuf::from(remote_name(url)?),
        None if args.remote_name_all => PathBuf::from(remote_name(url)?),
        None => return Ok(Dest::Stdout),
    };
    Ok(Dest::File(
        match &args.output_dir {
            Some(dir) if name.is_relative() => dir.join(name),
            _ => name,
        },
        None,
    ))
}

fn build(
    args: &Args,
    i: usize,
    url: &str,
    body: &Option<Body>,
    form: &Option<Mime>,
    bars: &Option<MultiProgress>,
) -> Result<Easy, Fail> {
    // -G: the data goes into the query; -T: the file's name may complete the URL.
    let url = &match (body, &args.upload_file) {
        (Some(b), _) if args.get => with_query(url, &b.bytes),
        (_, Some(f)) => upload_url(url, f),
        _ => url.to_string(),
    };
    let body = body.as_ref().filter(|_| !args.get);
    let upload = match &args.upload_file {
        Some(path) => {
            Some(File::open(path).map_err(|e| Fail::new(26, format!("{}: {e}", path.display())))?)
        }
        None => None,
    };
    let dump = match &args.dump_header {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(None),
        Some(p) => {
            Some(Some(File::create(p).map_err(|e| {
                Fail::new(23, format!("{}: {e}", p.display()))
            })?))
        }
    };
    let dest = destination(args, i, url)?;
    let bar = bars.as_ref().map(|m| {
        let bar = m.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{bytes:>10}/{total_bytes:10} {bar:30} {bytes_per_sec:>12} {eta:>4} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(url.to_string());
        bar
    });
    let show_bar = bar.is_some();
    let resume = resume_offset(args, &dest)?;
    let mut easy = Easy::with_handler(
        url,
        Out {
            dest,
            append: resume.is_some(),
            headers: args.include || args.head,
            dump,
            upload: None,
            retry_after: None,
            bar,
            error: None,
        },
    )?;
    common_options(args, &mut easy)?;
    easy.range(args.range.as_deref())?
        .resume_from(resume.unwrap_or(0));
    let has = |name: &str| {
        args.header.iter().any(|h| {
            h.split_once(':')
                .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        })
    };
    if let Some(b) = body {
        easy.body(b.bytes.clone());
        // Like curl: -d data is a form, whatever the method (-X PUT -d ...); --json is JSON.
        let ty = match b.json {
            true => "application/json",
            false => "application/x-www-form-urlencoded",
        };
        if !has("content-type") {
            easy.header("Content-Type", ty)?;
        }
        if b.json && !has("accept") {
            easy.header("Accept", "application/json")?;
        }
    }
    if let Some(form) = form {
        easy.mime_post(form.clone());
    }
    if let Some(f) = upload {
        let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        easy.method("PUT")?.upload(size);
        if let Some(out) = easy.handler_mut::<Out>() {
            out.upload = Some(f);
        }
    }
    if let Some(m) = &args.request {
        easy.method(m)?;
    }
    if args.head {
        easy.nobody(true);
    }
    easy.follow_location(args.location || args.location_trusted)
        .max_redirects(u32::try_from(args.max_redirs).unwrap_or(u32::MAX))
        .accept_encoding(args.compressed)
        .fail_on_error(args.fail)
        .progress(show_bar);
    if let Some(t) = args.max_time {
        easy.timeout(Some(secs("--max-time", t)?));
    }
    Ok(easy)
}

/// Run every URL; the exit code is the last failure's.
pub fn run(args: &Args) -> Result<(), Fail> {
    // The form first: with -d too it is a usage error before any stdin is read.
    let form = crate::form::request_form(args)?;
    let body = request_body(args)?;
    let bars = (io::stderr().is_terminal() && !args.silent).then(|| {
        let m = MultiProgress::new();
        m.set_draw_target(ProgressDrawTarget::stderr());
        m
    });
    let max = if args.parallel {
        args.parallel_max.max(1)
    } else {
        1
    };
    let policy = RetryPolicy::from_args(args);
    let mut multi = Multi::new();
    multi
        .set_max_total_connections(max)
        .set_max_host_connections(max);
    let mut last: Option<u8> = None;
    let mut next = 0;
    let mut running: HashMap<TransferId, usize> = HashMap::new();
    // Per URL: tries so far and when the first began; URLs waiting to be tried again.
    let mut tries: HashMap<usize, (u32, Instant)> = HashMap::new();
    let mut waiting: Vec<(Instant, usize)> = Vec::new();
    loop {
        let now = Instant::now();
        waiting.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        while running.len() < max {
            let i = match waiting.last() {
                Some(&(at, i)) if at <= now => {
                    waiting.pop();
                    i
                }
                _ if next < args.urls.len() => {
                    next += 1;
                    next - 1
                }
                _ => break,
            };
            let t = tries.entry(i).or_insert((0, now));
            t.0 += 1;
            match build(args, i, &args.urls[i], &body, &form, &bars) {
                Ok(easy) => {
                    running.insert(multi.add(easy), i);
                }
                Err(f) => {
                    report(args, &f);
                    last = Some(f.code);
                }
            }
        }
        if running.is_empty() && waiting.is_empty() {
            break;
        }
        let wait = waiting
            .iter()
            .map(|(at, _)| at.saturating_duration_since(now))
            .min();
        multi
            .poll(wait)
            .map_err(|e| Fail::new(2, format!("poll: {e}")))?;
        while let Some(msg) = multi.info_read() {
            let Some(i) = running.remove(&msg.id) else {
                continue;
            };
            let Some(mut easy) = multi.remove(msg.id) else {
                continue;
            };
            let kind = msg.result.as_ref().err().map(|e| e.kind());
            let mut fail = msg.result.err().map(Fail::from);
            let mut retry_after = None;
            if let Some(out) = easy.handler_mut::<Out>() {
                retry_after = out.retry_after;
                if let (Some(f), Some(e)) = (&mut fail, out.error.take()) {
                    f.msg = e;
                }
                if let Err(e) = out.finish(fail.is_none()) {
                    fail.get_or_insert(Fail::new(23, format!("write error: {e}")));
                }
            }
            let (n, first) = tries.get(&i).copied().unwrap_or((1, Instant::now()));
            let status = easy.info().response_code;
            let now = Instant::now();
            if let Some((delay, why)) = policy.decide(kind, status, retry_after, n, first, now) {
                if !args.silent {
                    eprintln!(
                        "Warning: Problem : {why}. Will retry in {} seconds. {} retries left.",
                        delay.as_secs(),
                        policy.left(n)
                    );
                }
                waiting.push((now + delay, i));
                continue;
            }
            let code = fail.as_ref().map_or(0, |f| f.code);
            if let Some(fmt) = &args.write_out {
                let s = write_out(fmt, easy.info(), code);
                let mut o = io::stdout().lock();
                let _ = o.write_all(s.as_bytes());
                let _ = o.flush();
            }
            if let Some(f) = fail {
                report(args, &f);
                last = Some(f.code);
            }
        }
    }
    crate::save_cookies(args, &mut multi);
    match last {
        Some(code) => Err(Fail::new(code, "")),
        None => Ok(()),
    }
}

/// Expand a `-w` format: `%{var}`, `%%`, and the escapes `\n`, `\r`, `\t`, `\\`.
pub fn write_out(fmt: &str, info: &TransferInfo, exitcode: u8) -> String {
    let mut out = String::new();
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("%{") {
            if let Some(end) = after.find('}') {
                let var = &after[..end];
                match variable(var, info, exitcode) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push_str("%{");
                        out.push_str(var);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('\\') {
            let esc = match after.chars().next() {
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                Some('t') => Some('\t'),
                Some('\\') => Some('\\'),
                _ => None,
            };
            if let Some(e) = esc {
                out.push(e);
                rest = &after[1..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn variable(var: &str, info: &TransferInfo, exitcode: u8) -> Option<String> {
    let t = |d: std::time::Duration| format!("{:.6}", d.as_secs_f64());
    Some(match var {
        "http_code" | "response_code" => format!("{:03}", info.response_code),
        "http_version" => match info.http_version {
            Some(HttpVersion::Http10) => "1.0",
            Some(HttpVersion::Http11) => "1.1",
            Some(HttpVersion::Http2) => "2",
            _ => "0",
        }
        .to_string(),
        "http_connect" => format!("{:03}", info.http_connectcode),
        "time_total" => t(info.total_time),
        "time_namelookup" => t(info.namelookup_time),
        "time_connect" => t(info.connect_time),
        "time_appconnect" => t(info.appconnect_time),
        "time_pretransfer" => t(info.pretransfer_time),
        "time_starttransfer" => t(info.starttransfer_time),
        "time_redirect" => t(info.redirect_time),
        "size_download" => info.size_download.to_string(),
        "size_upload" => info.size_upload.to_string(),
        "size_header" => info.header_size.to_string(),
        "size_request" => info.request_size.to_string(),
        "num_connects" => info.num_connects.to_string(),
        "num_redirects" => info.redirect_count.to_string(),
        "url_effective" => info.effective_url.clone(),
        "redirect_url" => info.redirect_url.clone().unwrap_or_default(),
        "content_type" => info.content_type.clone().unwrap_or_default(),
        "remote_ip" => info
            .remote_addr
            .map(|a| a.ip().to_string())
            .unwrap_or_default(),
        "remote_port" => info
            .remote_addr
            .map(|a| a.port().to_string())
            .unwrap_or_default(),
        "exitcode" => exitcode.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_out_expands() {
        let info = TransferInfo {
            response_code: 200,
            size_download: 5,
            effective_url: "http://h/".into(),
            ..Default::default()
        };
        assert_eq!(
            write_out(
                "%{http_code} %{size_download} %{url_effective} %{nope}%%\\n",
                &info,
                0
            ),
            "200 5 http://h/ %{nope}%\n"
        );
    }

    #[test]
    fn remote_names() {
        assert_eq!(remote_name("http://h/a/b.txt?x=1").unwrap(), "b.txt");
        assert!(remote_name("http://h/").is_err());
        assert!(remote_name("http://h").is_err());
    }
}
