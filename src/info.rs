//! What a transfer reports about itself (`curl_easy_getinfo`).

use std::net::SocketAddr;
use std::time::Duration;

/// HTTP version of a response.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
    /// HTTP/2
    Http2,
}

/// Facts about a transfer, readable during and after it (`curl_easy_getinfo`).
///
/// Times are measured from the start of the transfer (curl's `CURLINFO_*_TIME_T`), and cover
/// the last request when redirects are followed, except `total_time` and `redirect_time`.
#[derive(Clone, Debug, Default)]
pub struct TransferInfo {
    /// Last response status code, 0 before a response (`CURLINFO_RESPONSE_CODE`).
    pub response_code: u16,
    /// HTTP version of the last response (`CURLINFO_HTTP_VERSION`).
    pub http_version: Option<HttpVersion>,
    /// The URL of the last request, after redirects (`CURLINFO_EFFECTIVE_URL`).
    pub effective_url: String,
    /// Redirects followed (`CURLINFO_REDIRECT_COUNT`).
    pub redirect_count: u32,
    /// Where a redirect would go when not following (`CURLINFO_REDIRECT_URL`).
    pub redirect_url: Option<String>,
    /// Start to name resolved (`CURLINFO_NAMELOOKUP_TIME`).
    pub namelookup_time: Duration,
    /// Start to TCP connected (`CURLINFO_CONNECT_TIME`).
    pub connect_time: Duration,
    /// Start to TLS handshake done (`CURLINFO_APPCONNECT_TIME`); zero for plain HTTP.
    pub appconnect_time: Duration,
    /// Start to just before the request is sent (`CURLINFO_PRETRANSFER_TIME`).
    pub pretransfer_time: Duration,
    /// Start to the first response byte (`CURLINFO_STARTTRANSFER_TIME`).
    pub starttransfer_time: Duration,
    /// Time spent on redirects before the last request (`CURLINFO_REDIRECT_TIME`).
    pub redirect_time: Duration,
    /// Start to end (`CURLINFO_TOTAL_TIME`).
    pub total_time: Duration,
    /// Request body bytes sent (`CURLINFO_SIZE_UPLOAD_T`).
    pub size_upload: u64,
    /// Body bytes received, before content decoding (`CURLINFO_SIZE_DOWNLOAD_T`).
    pub size_download: u64,
    /// Header bytes received (`CURLINFO_HEADER_SIZE`).
    pub header_size: u64,
    /// Request head bytes sent (`CURLINFO_REQUEST_SIZE`).
    pub request_size: u64,
    /// The response's Content-Length, if any (`CURLINFO_CONTENT_LENGTH_DOWNLOAD_T`).
    pub content_length_download: Option<u64>,
    /// New connections this transfer made (`CURLINFO_NUM_CONNECTS`).
    pub num_connects: u32,
    /// The last request went over a reused connection.
    pub reused: bool,
    /// Local end of the connection (`CURLINFO_LOCAL_IP` / `LOCAL_PORT`).
    pub local_addr: Option<SocketAddr>,
    /// Remote end of the connection (`CURLINFO_PRIMARY_IP` / `PRIMARY_PORT`).
    pub remote_addr: Option<SocketAddr>,
    /// The WebSocket subprotocol the server selected, if any.
    pub ws_protocol: Option<String>,
    /// Content-Type of the last response (`CURLINFO_CONTENT_TYPE`).
    pub content_type: Option<String>,
    /// The status an HTTP proxy answered `CONNECT` with, 0 when there was none
    /// (`CURLINFO_HTTP_CONNECTCODE`).
    pub http_connectcode: u16,
    /// The transfer went through a proxy (`CURLINFO_USED_PROXY`).
    pub used_proxy: bool,
}
