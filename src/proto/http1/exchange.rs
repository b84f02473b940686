//! One HTTP/1.1 exchange (a request and its response) on a connection, as a state machine:
//! the order in which the parts go out and come in, and whether the connection can carry
//! another exchange afterwards. No I/O: the driver reports what it sent and what it parsed,
//! and asks what to do next.
//!
//! ```text
//! send:  Head ──head_sent──▶ WaitContinue ──100 / expect_timed_out──▶ Body ──body_sent──▶ Done
//!             └─(no body, upgrade)──────────────────────────────────────────────────────▶ Done
//! recv:  Head ──1xx: stay── final head ──▶ Body ──body_done──▶ Done        (101: Upgraded)
//! ```
//!
//! Sending and receiving overlap: a final answer may come while the body is still going out
//! (or before it started, while waiting for `100 Continue`: then it is never sent). Rules:
//! * RFC 9110 §15.2: any number of interim (1xx) heads may precede the final one; `100
//!   Continue` releases a body held back by `Expect: 100-continue` (RFC 9110 §10.1.1).
//! * `101 Switching Protocols` is the end of HTTP on the connection, and only valid as the
//!   answer to an upgrade request.
//! * RFC 9112 §6.3: the final head and the request method decide the body's framing
//!   ([`body_kind`]).
//! * Reuse (RFC 9112 §9.3, §9.6): only when the request and the response were both complete,
//!   nothing followed the response, neither side said `Connection: close`, and no body was
//!   abandoned (a final answer before the body was sent leaves the server free to read it).

use super::framing::Framing;
use super::response::{body_kind, BodyKind, ResponseHead};
use super::ParseError;

/// What the exchange's request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestShape {
    /// How the body is framed ([`Framing::None`]: no body).
    pub framing: Framing,
    /// The response has no body whatever its head says (`HEAD`, or `CURLOPT_NOBODY`).
    pub no_response_body: bool,
    /// The head carried `Expect: 100-continue`: the body waits for the interim answer.
    pub expect_continue: bool,
    /// An upgrade request (a WebSocket handshake): `101` is the expected answer.
    pub upgrade: bool,
    /// The request said `Connection: close`: the connection ends with this exchange.
    pub close: bool,
}

/// Where the request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPhase {
    /// The head is being written.
    Head,
    /// The head is out; the body waits for `100 Continue` (or the driver's timeout).
    WaitContinue,
    /// The body is being written.
    Body,
    /// Everything that will be sent was sent (or the body was abandoned).
    Done,
}

/// Where the response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvPhase {
    /// Waiting for a head (interim heads keep it here).
    Head,
    /// The final head arrived; its body is being read.
    Body,
    /// The response ended.
    Done,
    /// `101`: the connection speaks another protocol now.
    Upgraded,
}

/// What a parsed head means for the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadEvent {
    /// An interim (1xx) answer; another head follows. `release_body`: it was the
    /// `100 Continue` a held-back body waited for.
    Interim {
        /// Send the body now.
        release_body: bool,
    },
    /// `101` to an upgrade request.
    Upgraded,
    /// The final answer, with its body's framing; [`BodyKind::None`] ends the response at once.
    Final(BodyKind),
}

/// Why a head does not fit the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeError {
    /// `101 Switching Protocols` to a request that asked for no upgrade.
    UnexpectedUpgrade,
    /// The final head's framing is invalid (RFC 9112 §6.3).
    Framing(ParseError),
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExchangeError::UnexpectedUpgrade => {
                f.write_str("101 Switching Protocols without an upgrade request")
            }
            ExchangeError::Framing(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// One request and its response; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Exchange {
    req: RequestShape,
    send: SendPhase,
    recv: RecvPhase,
    /// Nothing seen so far rules out another exchange on the connection.
    reusable: bool,
}

impl Exchange {
    /// An exchange whose head is about to be written.
    pub fn new(req: RequestShape) -> Self {
        Exchange {
            req,
            send: SendPhase::Head,
            recv: RecvPhase::Head,
            reusable: !req.close && !req.upgrade,
        }
    }

    /// The request this exchange carries.
    pub fn request(&self) -> &RequestShape {
        &self.req
    }

    /// Where the request is.
    pub fn send_phase(&self) -> SendPhase {
        self.send
    }

    /// Where the response is.
    pub fn recv_phase(&self) -> RecvPhase {
        self.recv
    }

    /// Whether a body in memory may go out together with the head (no `100 Continue` wait).
    pub fn body_with_head(&self) -> bool {
        !self.req.expect_continue && self.has_body()
    }

    fn has_body(&self) -> bool {
        !self.req.upgrade && !matches!(self.req.framing, Framing::None | Framing::Length(0))
    }

    /// The head is written; the body, if any, follows now or after `100 Continue`.
    pub fn head_sent(&mut self) {
        if self.send != SendPhase::Head {
            return;
        }
        self.send = if !self.has_body() {
            SendPhase::Done
        } else if self.req.expect_continue {
            SendPhase::WaitContinue
        } else {
            SendPhase::Body
        };
    }

    /// The wait for `100 Continue` is over: send the body anyway (curl does, after
    /// `CURLOPT_EXPECT_100_TIMEOUT_MS`). Returns whether the body was waiting.
    pub fn expect_timed_out(&mut self) -> bool {
        let waiting = self.send == SendPhase::WaitContinue;
        if waiting {
            self.send = SendPhase::Body;
        }
        waiting
    }

    /// The whole body is written (the last chunk included).
    pub fn body_sent(&mut self) {
        if self.send == SendPhase::Body {
            self.send = SendPhase::Done;
        }
    }

    /// A complete response head arrived.
    pub fn on_head(&mut self, head: &ResponseHead) -> Result<HeadEvent, ExchangeError> {
        let status = head.status();
        if status == 101 {
            if !self.req.upgrade {
                self.reusable = false;
                return Err(ExchangeError::UnexpectedUpgrade);
            }
            self.recv = RecvPhase::Upgraded;
            self.send = SendPhase::Done;
            return Ok(HeadEvent::Upgraded);
        }
        if (100..200).contains(&status) {
            let release_body = status == 100 && self.send == SendPhase::WaitContinue;
            if release_body {
                self.send = SendPhase::Body;
            }
            return Ok(HeadEvent::Interim { release_body });
        }
        if self.send == SendPhase::WaitContinue {
            // A final answer before the body: it is not sent, and the server may still read
            // the connection for it, so the connection ends here.
            self.send = SendPhase::Done;
            self.reusable = false;
        }
        if !head.keep_alive() {
            self.reusable = false;
        }
        let kind = body_kind(head, self.req.no_response_body, false).map_err(|e| {
            self.reusable = false;
            ExchangeError::Framing(e)
        })?;
        if kind == BodyKind::Eof {
            self.reusable = false;
        }
        self.recv = if kind == BodyKind::None {
            RecvPhase::Done
        } else {
            RecvPhase::Body
        };
        Ok(HeadEvent::Final(kind))
    }

    /// The response body ended at its framing. `trailing`: bytes followed it on the
    /// connection (nothing may, in HTTP/1.1 without pipelining).
    pub fn body_done(&mut self, trailing: bool) {
        if self.recv == RecvPhase::Body {
            self.recv = RecvPhase::Done;
        }
        if trailing {
            self.reusable = false;
        }
    }

    /// Nothing more is sent for this request (the response ended first); the connection
    /// ends with it.
    pub fn abandon_body(&mut self) {
        if self.send != SendPhase::Done {
            self.send = SendPhase::Done;
            self.reusable = false;
        }
    }

    /// The connection cannot be reused whatever comes next (the peer closed, an error, the
    /// response was abandoned).
    pub fn spoil(&mut self) {
        self.reusable = false;
    }

    /// Whether the connection can carry the next exchange: both directions complete and
    /// nothing seen against it.
    pub fn reusable(&self) -> bool {
        self.reusable && self.send == SendPhase::Done && self.recv == RecvPhase::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::http1::{Limits, ResponseParser};

    fn head(raw: &str) -> ResponseHead {
        let mut p = ResponseParser::new(&Limits::default());
        p.parse(raw.as_bytes()).unwrap().expect("a complete head")
    }

    const GET: RequestShape = RequestShape {
        framing: Framing::None,
        no_response_body: false,
        expect_continue: false,
        upgrade: false,
        close: false,
    };

    fn ok(len: usize) -> ResponseHead {
        head(&format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n"))
    }

    #[test]
    fn a_get_with_a_body_then_reuse() {
        let mut x = Exchange::new(GET);
        assert_eq!(x.send_phase(), SendPhase::Head);
        assert!(!x.body_with_head());
        x.head_sent();
        assert_eq!(x.send_phase(), SendPhase::Done);
        assert_eq!(x.recv_phase(), RecvPhase::Head);
        assert!(!x.reusable());
        assert_eq!(x.on_head(&ok(5)), Ok(HeadEvent::Final(BodyKind::Length(5))));
        assert_eq!(x.recv_phase(), RecvPhase::Body);
        assert!(!x.reusable(), "the body is still coming");
        x.body_done(false);
        assert!(x.reusable());
    }

    #[test]
    fn bytes_after_the_response_or_a_close_spoil_reuse() {
        let mut x = Exchange::new(GET);
        x.head_sent();
        x.on_head(&ok(1)).unwrap();
        x.body_done(true);
        assert!(!x.reusable());

        let mut x = Exchange::new(GET);
        x.head_sent();
        x.on_head(&head(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        ))
        .unwrap();
        assert_eq!(x.recv_phase(), RecvPhase::Done);
        assert!(!x.reusable());

        let mut x = Exchange::new(RequestShape { close: true, ..GET });
        x.head_sent();
        x.on_head(&ok(0)).unwrap();
        assert!(!x.reusable(), "we said Connection: close");

        let mut x = Exchange::new(GET);
        x.head_sent();
        assert_eq!(
            x.on_head(&head("HTTP/1.1 200 OK\r\n\r\n")),
            Ok(HeadEvent::Final(BodyKind::Eof))
        );
        x.body_done(false);
        assert!(
            !x.reusable(),
            "a body read to the close ends the connection"
        );

        let mut x = Exchange::new(GET);
        x.head_sent();
        x.on_head(&ok(0)).unwrap();
        x.spoil();
        assert!(!x.reusable());
    }

    #[test]
    fn a_head_request_has_no_response_body() {
        let mut x = Exchange::new(RequestShape {
            no_response_body: true,
            ..GET
        });
        x.head_sent();
        assert_eq!(x.on_head(&ok(1000)), Ok(HeadEvent::Final(BodyKind::None)));
        assert!(x.reusable());
    }

    #[test]
    fn a_body_goes_with_the_head_or_after_it() {
        let post = RequestShape {
            framing: Framing::Length(10),
            ..GET
        };
        let mut x = Exchange::new(post);
        assert!(x.body_with_head());
        x.head_sent();
        assert_eq!(x.send_phase(), SendPhase::Body);
        x.on_head(&ok(0)).unwrap();
        assert!(!x.reusable(), "the body is not all out yet");
        x.body_sent();
        assert!(x.reusable());
        // An empty body is no body.
        let mut x = Exchange::new(RequestShape {
            framing: Framing::Length(0),
            ..GET
        });
        x.head_sent();
        assert_eq!(x.send_phase(), SendPhase::Done);
        // Chunked always has a body (the last chunk at least).
        let mut x = Exchange::new(RequestShape {
            framing: Framing::Chunked,
            ..GET
        });
        x.head_sent();
        assert_eq!(x.send_phase(), SendPhase::Body);
    }

    #[test]
    fn expect_continue_waits_for_100_or_the_timeout() {
        let upload = RequestShape {
            framing: Framing::Chunked,
            expect_continue: true,
            ..GET
        };
        let mut x = Exchange::new(upload);
        assert!(!x.body_with_head());
        x.head_sent();
        assert_eq!(x.send_phase(), SendPhase::WaitContinue);
        assert_eq!(
            x.on_head(&head("HTTP/1.1 102 Processing\r\n\r\n")),
            Ok(HeadEvent::Interim {
                release_body: false
            })
        );
        assert_eq!(x.send_phase(), SendPhase::WaitContinue);
        assert_eq!(
            x.on_head(&head("HTTP/1.1 100 Continue\r\n\r\n")),
            Ok(HeadEvent::Interim { release_body: true })
        );
        assert_eq!(x.send_phase(), SendPhase::Body);
        // A second 100 releases nothing more.
        assert_eq!(
            x.on_head(&head("HTTP/1.1 100 Continue\r\n\r\n")),
            Ok(HeadEvent::Interim {
                release_body: false
            })
        );
        x.body_sent();
        x.on_head(&ok(0)).unwrap();
        assert!(x.reusable());

        let mut x = Exchange::new(upload);
        x.head_sent();
        assert!(x.expect_timed_out());
        assert!(!x.expect_timed_out());
        assert_eq!(x.send_phase(), SendPhase::Body);
    }

    #[test]
    fn a_final_answer_before_the_body_abandons_it_and_the_connection() {
        let mut x = Exchange::new(RequestShape {
            framing: Framing::Length(1 << 30),
            expect_continue: true,
            ..GET
        });
        x.head_sent();
        assert_eq!(
            x.on_head(&head(
                "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"
            )),
            Ok(HeadEvent::Final(BodyKind::None))
        );
        assert_eq!(x.send_phase(), SendPhase::Done);
        assert_eq!(x.recv_phase(), RecvPhase::Done);
        assert!(!x.reusable());
    }

    #[test]
    fn switching_protocols_only_after_an_upgrade_request() {
        let mut x = Exchange::new(GET);
        x.head_sent();
        let switching = head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
        assert_eq!(x.on_head(&switching), Err(ExchangeError::UnexpectedUpgrade));
        assert!(!x.reusable());

        let mut x = Exchange::new(RequestShape {
            upgrade: true,
            ..GET
        });
        assert!(!x.body_with_head());
        x.head_sent();
        assert_eq!(x.send_phase(), SendPhase::Done);
        assert_eq!(x.on_head(&switching), Ok(HeadEvent::Upgraded));
        assert_eq!(x.recv_phase(), RecvPhase::Upgraded);
        assert!(!x.reusable(), "never back to HTTP/1.1");
    }

    #[test]
    fn bad_framing_in_the_final_head() {
        let mut x = Exchange::new(GET);
        x.head_sent();
        let bad = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
        assert!(matches!(x.on_head(&bad), Err(ExchangeError::Framing(_))));
        assert!(!x.reusable());
    }
}
