//! Reading a `Set-Cookie` line (RFC 6265 §5.2) and a cookie date (§5.1.1). Pure functions:
//! no clock, no jar; [`super::CookieJar`] decides what to keep.

/// The parts of one `Set-Cookie` value, before any origin rule is applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SetCookie<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
    /// `Expires`, as seconds since the Unix epoch (may be before it).
    pub(crate) expires: Option<i64>,
    /// `Max-Age` in seconds (may be zero or negative: expire now).
    pub(crate) max_age: Option<i64>,
    /// `Domain`, lowercase, without a leading dot; `None` when absent or empty.
    pub(crate) domain: Option<String>,
    /// `Path` when it starts with `/`.
    pub(crate) path: Option<&'a str>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<super::SameSite>,
}

/// Why a `Set-Cookie` line is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    /// No `=` in the name-value pair, or an empty name (§5.2 steps 2 and 5).
    NoName,
    /// A control character in the name or value.
    BadOctet,
}

/// Split one `Set-Cookie` value (the part after `Set-Cookie:`) into its name, value and
/// attributes, as §5.2 says: unknown attributes are ignored, the last of each kind wins.
pub(crate) fn set_cookie(line: &str) -> Result<SetCookie<'_>, Reject> {
    let mut parts = line.split(';');
    let pair = parts.next().unwrap_or("");
    let (name, value) = pair.split_once('=').ok_or(Reject::NoName)?;
    let (name, value) = (trim(name), trim(value));
    if name.is_empty() {
        return Err(Reject::NoName);
    }
    if name.bytes().chain(value.bytes()).any(is_control) {
        return Err(Reject::BadOctet);
    }
    let mut c = SetCookie {
        name,
        value,
        ..SetCookie::default()
    };
    for av in parts {
        let (k, v) = match av.split_once('=') {
            Some((k, v)) => (trim(k), trim(v)),
            None => (trim(av), ""),
        };
        attribute(&mut c, k, v);
    }
    Ok(c)
}

/// One attribute into `c` (§5.2.1 to §5.2.6, and SameSite from RFC 6265bis).
fn attribute<'a>(c: &mut SetCookie<'a>, k: &str, v: &'a str) {
    if k.eq_ignore_ascii_case("expires") {
        if let Some(t) = cookie_date(v) {
            c.expires = Some(t);
        }
    } else if k.eq_ignore_ascii_case("max-age") {
        let digits = v.strip_prefix('-').unwrap_or(v);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits is "forever" (or "long ago"), not an error.
            let n = digits.parse::<i64>().unwrap_or(i64::MAX);
            c.max_age = Some(if v.starts_with('-') { -n } else { n });
        }
    } else if k.eq_ignore_ascii_case("domain") {
        let d = v.strip_prefix('.').unwrap_or(v);
        c.domain = (!d.is_empty()).then(|| d.to_ascii_lowercase());
    } else if k.eq_ignore_ascii_case("path") {
        c.path = v.starts_with('/').then_some(v);
    } else if k.eq_ignore_ascii_case("secure") {
        c.secure = true;
    } else if k.eq_ignore_ascii_case("httponly") {
        c.http_only = true;
    } else if k.eq_ignore_ascii_case("samesite") {
        c.same_site = super::SameSite::parse(v);
    }
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Control characters other than tab (RFC 6265bis §5.6 step 4: a cookie with them is ignored).
fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// A cookie date (RFC 6265 §5.1.1) as seconds since the Unix epoch, or `None` when the
/// algorithm fails. Accepts every format browsers accept: RFC 1123, RFC 850, asctime, and
/// their mixtures.
pub(crate) fn cookie_date(s: &str) -> Option<i64> {
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in s.split(is_delimiter).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = time_token(token) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some(d) = digits(token, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() {
            if let Some(m) = month_token(token) {
                month = Some(m);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = digits(token, 2, 4) {
                year = Some(y);
            }
        }
    }
    let (h, mi, se) = time?;
    let (d, m) = (day?, month?);
    let y = match year? {
        y @ 70..=99 => y + 1900,
        y @ 0..=69 => y + 2000,
        y => y,
    };
    if !(1..=31).contains(&d) || y < 1601 || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    if d > days_in_month(y, m) {
        return None;
    }
    let days = days_from_civil(y as i64, m, d);
    Some(days * 86_400 + (h * 3600 + mi * 60 + se) as i64)
}

fn is_delimiter(c: char) -> bool {
    matches!(c, '\t' | '\x20'..='\x2f' | '\x3b'..='\x40' | '\x5b'..='\x60' | '\x7b'..='\x7e')
}

/// `min..=max` digits, then anything that is not a digit.
fn digits(token: &str, min: usize, max: usize) -> Option<u32> {
    let n = token.bytes().take_while(u8::is_ascii_digit).count();
    (min..=max).contains(&n).then(|| token[..n].parse().ok())?
}

/// `hh:mm:ss` with one or two digits each, then anything that is not a digit.
fn time_token(token: &str) -> Option<(u32, u32, u32)> {
    let mut it = token.splitn(3, ':');
    let h = it.next()?;
    let m = it.next()?;
    let s = it.next()?;
    let whole = |t: &str| (1..=2).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit());
    if !whole(h) || !whole(m) {
        return None;
    }
    Some((h.parse().ok()?, m.parse().ok()?, digits(s, 1, 2)?))
}

fn month_token(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let head = token.get(..3)?;
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(head))
        .map(|i| i as u32 + 1)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::SameSite;

    #[test]
    fn dates_in_every_common_format() {
        let t = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(cookie_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(cookie_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(cookie_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            cookie_date("Wed, 09 Jun 2021 10:18:14 GMT"),
            Some(1_623_233_894)
        );
        assert_eq!(
            cookie_date("Tue, 29 Feb 2028 00:00:00 GMT"),
            Some(1_835_395_200)
        );
        assert!(cookie_date("Thu, 01 Jan 1601 00:00:00 GMT").unwrap() < 0);
    }

    #[test]
    fn bad_dates_fail() {
        for s in [
            "",
            "garbage",
            "Sun, 06 Nov 1994",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 30 Feb 2024 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1600 08:49:37 GMT",
            "Sun, 06 Xyz 1994 08:49:37 GMT",
        ] {
            assert_eq!(cookie_date(s), None, "{s:?}");
        }
    }

    #[test]
    fn a_line_and_its_attributes() {
        let c = set_cookie(
            " id = a3fWa ; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure; HttpOnly; \
             Domain=.Example.COM; Path=/docs; Max-Age=60; SameSite=Strict; Other=x",
        )
        .unwrap();
        assert_eq!((c.name, c.value), ("id", "a3fWa"));
        assert_eq!(c.expires, Some(1_445_412_480));
        assert_eq!(c.max_age, Some(60));
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert_eq!(c.path, Some("/docs"));
        assert!(c.secure && c.http_only);
        assert_eq!(c.same_site, Some(SameSite::Strict));
    }

    #[test]
    fn odd_attributes_are_ignored_not_fatal() {
        let c = set_cookie("a=b; Path=docs; Domain=; Max-Age=1x; Expires=never").unwrap();
        assert_eq!(
            (c.path, c.domain, c.max_age, c.expires),
            (None, None, None, None)
        );
        assert_eq!(set_cookie("a=b; Max-Age=-5").unwrap().max_age, Some(-5));
        let huge = set_cookie("a=b; Max-Age=99999999999999999999999").unwrap();
        assert_eq!(huge.max_age, Some(i64::MAX));
        assert_eq!(set_cookie("a=").unwrap().value, "");
        assert_eq!(set_cookie("a=\"q\"").unwrap().value, "\"q\"");
    }

    #[test]
    fn lines_that_are_not_cookies() {
        assert_eq!(set_cookie("novalue"), Err(Reject::NoName));
        assert_eq!(set_cookie("=value"), Err(Reject::NoName));
        assert_eq!(set_cookie("a=b\x01c"), Err(Reject::BadOctet));
        assert_eq!(set_cookie("a\x7f=b"), Err(Reject::BadOctet));
    }
}
