//! `-F`/`--form` and `--form-string`: a multipart form as curl's tool reads them, all the
//! fields of the command line in one form, in their order.
//!
//! `name=content` a text field; `name=@file` a file upload (filename the file's name,
//! streamed); `name=<file` a text field from a file's content; `@-` and `<-` read stdin. After
//! the content, `;type=TYPE`, `;filename=NAME` (not for `<`) and `;headers=Name: value`; a
//! value may be quoted (`"a;b"`, with `\"` and `\\` inside) to hold a `;`. Unknown
//! parameters are skipped with a warning, as curl does. `--form-string name=value` takes the
//! value as is. Not built: `;encoder=`, `;headers=@file` and several files in one field
//! (`@a,b`, curl's multipart/mixed), which are usage errors.

use std::io::{self, Read};

use curlew::mime::{Mime, MimePart};

use crate::{Args, Fail};

/// One `-F` or `--form-string` argument.
#[derive(Clone, Debug)]
pub struct Field {
    /// From `--form-string`: no `@`, `<` or `;` parameters.
    pub literal: bool,
    pub spec: String,
}

/// The form of the command line's fields, or `None` without any. Stdin is read here (once
/// per `@-` or `<-`), before any transfer starts.
pub fn request_form(args: &Args) -> Result<Option<Mime>, Fail> {
    if args.form_fields.is_empty() {
        return Ok(None);
    }
    check_one_method(args)?;
    let mut form = Mime::new()?;
    for f in &args.form_fields {
        add_field(&mut form, f, !args.silent)?;
    }
    Ok(Some(form))
}

/// A form is a POST of its own: with `-d`, `-T`, `-G` or `-I` it is curl's usage error.
fn check_one_method(args: &Args) -> Result<(), Fail> {
    let data = !(args.data.is_empty()
        && args.data_binary.is_empty()
        && args.data_urlencode.is_empty()
        && args.json.is_empty());
    let other = if data {
        "POST (-d, --data)"
    } else if args.upload_file.is_some() {
        "PUT (-T, --upload-file)"
    } else if args.get {
        "GET (-G, --get)"
    } else if args.head {
        "HEAD (-I, --head)"
    } else {
        return Ok(());
    };
    Err(Fail::new(
        2,
        format!(
            "You can only select one HTTP request method! You asked for both {other} and \
             multipart formpost (-F, --form)."
        ),
    ))
}

/// What a field's content says after the name: the word and its parameters.
#[derive(Debug, Default, PartialEq)]
struct Spec {
    word: String,
    content_type: Option<String>,
    filename: Option<String>,
    headers: Vec<String>,
}

fn add_field(form: &mut Mime, f: &Field, warn: bool) -> Result<(), Fail> {
    let Some((name, content)) = f.spec.split_once('=') else {
        return Err(Fail::new(
            2,
            format!(
                "-F {:?}: illegally formatted input field (want name=content)",
                f.spec
            ),
        ));
    };
    let part = form.part(name);
    if f.literal {
        part.data(content.as_bytes().to_vec());
        return Ok(());
    }
    if let Some(file) = content.strip_prefix('@') {
        let spec = parse(file, true, warn)?;
        match spec.word.as_str() {
            "-" => part.data(stdin()?).filename(Some("-")),
            path => part.file(path),
        };
        return finish(part, spec);
    }
    if let Some(file) = content.strip_prefix('<') {
        let spec = parse(file, false, warn)?;
        match spec.word.as_str() {
            "-" => part.data(stdin()?),
            path => part.file(path).filename(None),
        };
        // No filename for a text field: curl takes none from `<`.
        return finish(
            part,
            Spec {
                filename: None,
                ..spec
            },
        );
    }
    let spec = parse(content, false, warn)?;
    part.data(spec.word.clone().into_bytes());
    finish(part, spec)
}

/// The parameters on the part.
fn finish(part: &mut MimePart, spec: Spec) -> Result<(), Fail> {
    if let Some(name) = &spec.filename {
        part.filename(Some(name));
    }
    if let Some(t) = &spec.content_type {
        part.content_type(t)?;
    }
    for h in &spec.headers {
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| Fail::new(2, format!("-F ;headers={h:?}: want \"Name: value\"")))?;
        part.header(n.trim(), v.trim())?;
    }
    Ok(())
}

fn stdin() -> Result<Vec<u8>, Fail> {
    let mut v = Vec::new();
    io::stdin()
        .read_to_end(&mut v)
        .map_err(|e| Fail::new(26, format!("reading stdin: {e}")))?;
    Ok(v)
}

/// The content word and the `;name=value` parameters after it (curl's `get_param_part`).
/// `files`: the word names files, where an unquoted `,` would list several.
fn parse(s: &str, files: bool, warn: bool) -> Result<Spec, Fail> {
    let (word, quoted, mut rest) = param_word(s.trim_start());
    if files && !quoted && word.contains(',') {
        return Err(Fail::new(
            2,
            format!("-F @{word}: several files in one field (multipart/mixed) are not supported"),
        ));
    }
    let mut spec = Spec {
        word: if quoted {
            word
        } else {
            word.trim_end().to_owned()
        },
        ..Spec::default()
    };
    while let Some(r) = rest.strip_prefix(';') {
        let r = r.trim_start();
        let (key, value) = r.split_once('=').unwrap_or((r, ""));
        let (v, _, after) = param_word(value);
        rest = after;
        match key {
            "type" => spec.content_type = Some(v),
            "filename" => spec.filename = Some(v),
            "headers" if v.starts_with('@') => {
                return Err(Fail::new(2, "-F ;headers=@file is not supported"));
            }
            "headers" => spec.headers.push(v),
            "encoder" => return Err(Fail::new(2, "-F ;encoder= is not supported")),
            _ => {
                // Skip to the next `;` after the unknown word (curl's warning).
                let (unknown, _, after) = param_word(r);
                rest = after;
                if warn && !unknown.is_empty() {
                    eprintln!("Warning: skip unknown form field: {unknown}");
                }
            }
        }
    }
    Ok(spec)
}

/// A word up to the next `;`, or quoted (`"..."`, with `\"` and `\\` escapes; what follows
/// the closing quote up to `;` is dropped). Returns the word, whether it was quoted, and the
/// rest from the `;` on. An unclosed quote is taken as an unquoted word.
fn param_word(s: &str) -> (String, bool, &str) {
    if let Some(body) = s.strip_prefix('"') {
        let mut word = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' if body[i + 1..].starts_with(['"', '\\']) => {
                    word.push(chars.next().map_or('\\', |(_, c)| c));
                }
                '"' => {
                    let after = &body[i + 1..];
                    let rest = after.find(';').map_or("", |j| &after[j..]);
                    return (word, true, rest);
                }
                c => word.push(c),
            }
        }
    }
    let end = s.find(';').unwrap_or(s.len());
    (s[..end].to_owned(), false, &s[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_parameters_as_curl_reads_them() {
        let spec = parse("a;b", false, false).unwrap();
        assert_eq!(spec.word, "a");
        let spec = parse(" \"q\\\"x;y\" ;type=text/x;filename=\"f;g\"", false, false).unwrap();
        assert_eq!(
            spec,
            Spec {
                word: "q\"x;y".into(),
                content_type: Some("text/x".into()),
                filename: Some("f;g".into()),
                headers: vec![],
            }
        );
        let spec = parse("file.bin ;headers=X-A: 1;foo=bar;type=a/b", true, false).unwrap();
        assert_eq!(spec.word, "file.bin");
        assert_eq!(spec.headers, ["X-A: 1"]);
        assert_eq!(spec.content_type.as_deref(), Some("a/b"));
        assert_eq!(parse("\"open", false, false).unwrap().word, "\"open");
        assert!(parse("a,b", true, false).is_err());
        assert_eq!(parse("\"a,b\"", true, false).unwrap().word, "a,b");
        assert!(parse("x;encoder=base64", true, false).is_err());
    }
}
