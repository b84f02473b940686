//! Credentials for the origin: Basic (RFC 7617) from `CURLOPT_USERPWD`, the URL's user info
//! or `.netrc`, and Bearer tokens (RFC 6750, `CURLOPT_XOAUTH2_BEARER`). Which wins, as curl:
//! the option, then the URL, then `.netrc` (which wins over the URL when required).

pub(crate) mod digest;

use std::path::{Path, PathBuf};

use base64::Engine as _;

/// Whether to read `.netrc` (`CURLOPT_NETRC`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NetrcMode {
    /// Never (`CURL_NETRC_IGNORED`, the default).
    #[default]
    Ignored,
    /// When the URL and the options give no credentials (`CURL_NETRC_OPTIONAL`; the tool's
    /// `--netrc-optional`).
    Optional,
    /// Always, over the URL's (`CURL_NETRC_REQUIRED`; the tool's `-n`).
    Required,
}

/// Which authentication the server gets (`CURLOPT_HTTPAUTH`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpAuth {
    /// Basic, sent with the first request (`CURLAUTH_BASIC`, the default).
    #[default]
    Basic,
    /// Digest (RFC 7616): the first request goes without credentials; a `401` with a Digest
    /// challenge is answered once, on the same connection when it stays open
    /// (`CURLAUTH_DIGEST`).
    Digest,
    /// Whatever the server's `401` asks for, Digest before Basic (`CURLAUTH_ANY`).
    Any,
}

/// The credential options of an `Easy`.
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthOptions {
    /// `CURLOPT_USERPWD`.
    pub(crate) userpwd: Option<(String, String)>,
    /// `CURLOPT_XOAUTH2_BEARER`.
    pub(crate) bearer: Option<String>,
    /// `CURLOPT_NETRC`.
    pub(crate) netrc: NetrcMode,
    /// `CURLOPT_NETRC_FILE` (`None`: `$HOME/.netrc`).
    pub(crate) netrc_file: Option<PathBuf>,
    /// `CURLOPT_HTTPAUTH`.
    pub(crate) method: HttpAuth,
}

/// Largest `.netrc` file read.
pub const NETRC_MAX: u64 = 1 << 20;

/// The `Authorization` value sent with the first request to `host` whose URL carries
/// `url_creds`: a bearer token, or Basic when that is the method.
pub(crate) fn authorization(
    opts: &AuthOptions,
    host: &str,
    url_creds: Option<(String, String)>,
) -> Option<String> {
    if let Some(t) = &opts.bearer {
        return Some(format!("Bearer {t}"));
    }
    if opts.method != HttpAuth::Basic {
        return None;
    }
    let creds = credentials(opts, host, url_creds)?;
    Some(basic(&creds.0, &creds.1))
}

/// The user and password for `host`: the option's, the URL's or `.netrc`'s, as curl picks.
pub(crate) fn credentials(
    opts: &AuthOptions,
    host: &str,
    url_creds: Option<(String, String)>,
) -> Option<(String, String)> {
    let from_netrc = |user: Option<&str>| {
        let path = opts.netrc_file.clone().or_else(default_netrc)?;
        netrc_lookup(&path, host, user)
    };
    let user = url_creds.as_ref().map(|(u, _)| u.clone());
    let creds = match (&opts.userpwd, opts.netrc) {
        (Some(c), _) => Some(c.clone()),
        (None, NetrcMode::Required) => from_netrc(user.as_deref()).or(url_creds),
        (None, NetrcMode::Optional) => url_creds.or_else(|| from_netrc(None)),
        (None, NetrcMode::Ignored) => url_creds,
    }?;
    Some(creds)
}

/// `Basic base64(user:password)`.
pub(crate) fn basic(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn default_netrc() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".netrc"))
}

/// The login and password for `host` in the `.netrc` at `path` (`machine`, then `default`);
/// with `user`, only an entry for that login.
fn netrc_lookup(path: &Path, host: &str, user: Option<&str>) -> Option<(String, String)> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(NETRC_MAX)
        .read_to_string(&mut text)
        .ok()?;
    netrc_find(&text, host, user)
}

/// [`netrc_lookup`] on the file's text.
fn netrc_find(text: &str, host: &str, user: Option<&str>) -> Option<(String, String)> {
    let mut entries: Vec<(Option<String>, Option<String>, Option<String>)> = Vec::new();
    let mut tokens = text.split_whitespace();
    while let Some(t) = tokens.next() {
        match t {
            "machine" => entries.push((tokens.next().map(str::to_owned), None, None)),
            "default" => entries.push((None, None, None)),
            "login" => {
                if let Some(e) = entries.last_mut() {
                    e.1 = tokens.next().map(str::to_owned);
                }
            }
            "password" => {
                if let Some(e) = entries.last_mut() {
                    e.2 = tokens.next().map(str::to_owned);
                }
            }
            "macdef" => {
                // A macro runs to the next blank line: nothing for us in it.
                break;
            }
            _ => {}
        }
    }
    let fits = |e: &&(Option<String>, Option<String>, Option<String>)| {
        user.is_none_or(|u| e.1.as_deref() == Some(u))
    };
    let machine = entries
        .iter()
        .filter(|e| e.0.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(host)))
        .find(fits);
    let e = machine.or_else(|| entries.iter().filter(|e| e.0.is_none()).find(fits))?;
    Some((e.1.clone()?, e.2.clone().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETRC: &str = "machine a.test login alice password one\n\
                         machine b.test\n  login bob\n  password two\n\
                         machine b.test login carol password three\n\
                         default login anon password guest\n";

    #[test]
    fn netrc_entries_by_host_and_login_then_default() {
        assert_eq!(
            netrc_find(NETRC, "A.TEST", None),
            Some(("alice".into(), "one".into()))
        );
        assert_eq!(
            netrc_find(NETRC, "b.test", Some("carol")),
            Some(("carol".into(), "three".into()))
        );
        assert_eq!(
            netrc_find(NETRC, "b.test", None),
            Some(("bob".into(), "two".into()))
        );
        assert_eq!(
            netrc_find(NETRC, "other.test", None),
            Some(("anon".into(), "guest".into()))
        );
        assert_eq!(netrc_find("machine x login y", "z", None), None);
    }

    #[test]
    fn which_credentials_win_is_curls() {
        let mut o = AuthOptions::default();
        let url = Some(("u".to_string(), "p".to_string()));
        assert_eq!(authorization(&o, "h", None), None);
        assert_eq!(authorization(&o, "h", url.clone()), Some(basic("u", "p")));
        o.userpwd = Some(("opt".into(), "pw".into()));
        assert_eq!(
            authorization(&o, "h", url.clone()),
            Some(basic("opt", "pw"))
        );
        o.bearer = Some("tok".into());
        assert_eq!(authorization(&o, "h", url), Some("Bearer tok".into()));
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
