//! The `http` crate's types (feature `http`): an [`Easy`] from an `http::Request`, a finished
//! transfer read as an `http::Response`, `HeaderMap`, `StatusCode` and `Version`.

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::handler::Collector;
use crate::info::{HttpVersion, TransferInfo};
use crate::{Easy, HttpVersionOption};

impl Easy {
    /// A transfer of `req` with the [`Collector`] handler: its absolute URI, method, headers
    /// (each one as [`Easy::header`]), body ([`Easy::body`] when not empty) and version
    /// (`HTTP_10` and `HTTP_11` pin that version, `HTTP_2` asks for HTTP/2 as
    /// [`HttpVersionOption::Http2`]; the default otherwise).
    pub fn from_request<B: Into<Bytes>>(req: http::Request<B>) -> Result<Easy> {
        let (parts, body) = req.into_parts();
        if parts.uri.scheme().is_none() {
            return Err(Error::new(
                ErrorKind::UrlMalformat,
                format!("{:?}: not an absolute URI", parts.uri.to_string()),
            ));
        }
        let mut easy = Easy::new(&parts.uri.to_string())?;
        if parts.method != http::Method::GET {
            easy.method(parts.method.as_str())?;
        }
        for (name, value) in &parts.headers {
            let value = value.to_str().map_err(|_| {
                Error::new(
                    ErrorKind::BadFunctionArgument,
                    format!("header {name}: a value that is not visible ASCII"),
                )
            })?;
            easy.header(name.as_str(), value)?;
        }
        let body: Bytes = body.into();
        if !body.is_empty() {
            easy.body(body);
        }
        match parts.version {
            http::Version::HTTP_10 => easy.http_version(HttpVersionOption::Http10),
            http::Version::HTTP_11 => easy.http_version(HttpVersionOption::Http11),
            http::Version::HTTP_2 => easy.http_version(HttpVersionOption::Http2),
            _ => &mut easy,
        };
        Ok(easy)
    }

    /// The finished transfer as an `http::Response`: status, version and headers of the
    /// final response, and the body, taken out of the [`Collector`] (left empty). An error
    /// when the handler is not a `Collector` or no response arrived.
    pub fn take_response(&mut self) -> Result<http::Response<Vec<u8>>> {
        let status = self.info().status().ok_or_else(|| {
            Error::new(ErrorKind::BadFunctionArgument, "no response was received")
        })?;
        let version = self.info().version();
        let c = self.handler_mut::<Collector>().ok_or_else(|| {
            Error::new(
                ErrorKind::BadFunctionArgument,
                "the transfer's handler is not a Collector",
            )
        })?;
        let headers = c.header_map();
        let mut resp = http::Response::new(std::mem::take(&mut c.body));
        *resp.status_mut() = status;
        *resp.headers_mut() = headers;
        if let Some(v) = version {
            *resp.version_mut() = v;
        }
        Ok(resp)
    }
}

impl Collector {
    /// The headers of the last response head received (the final one after redirects and
    /// interim answers), as a `HeaderMap`; lines that are not valid fields are skipped.
    pub fn header_map(&self) -> http::HeaderMap {
        let start = self
            .headers
            .iter()
            .rposition(|l| l.starts_with(b"HTTP/"))
            .map_or(0, |i| i + 1);
        let mut map = http::HeaderMap::new();
        for line in &self.headers[start..] {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let value = line[colon + 1..].trim_ascii();
            let name = http::HeaderName::from_bytes(&line[..colon]);
            if let (Ok(n), Ok(v)) = (name, http::HeaderValue::from_bytes(value)) {
                map.append(n, v);
            }
        }
        map
    }
}

impl TransferInfo {
    /// The last response's status (`None` before one arrived).
    pub fn status(&self) -> Option<http::StatusCode> {
        http::StatusCode::from_u16(self.response_code).ok()
    }

    /// The last response's HTTP version.
    pub fn version(&self) -> Option<http::Version> {
        self.http_version.map(|v| match v {
            HttpVersion::Http10 => http::Version::HTTP_10,
            HttpVersion::Http11 => http::Version::HTTP_11,
            HttpVersion::Http2 => http::Version::HTTP_2,
        })
    }
}
