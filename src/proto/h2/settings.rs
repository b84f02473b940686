//! SETTINGS parameters (RFC 9113 §6.5, RFC 8441 §3): the values in force on
//! each side, their defaults, and the checks on what the peer sends.

use super::error::{ConnError, ErrorCode};
use super::frame::{settings_params, DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE};

/// Largest flow-control window (§6.9.1): 2^31-1.
pub const MAX_WINDOW_SIZE: u32 = (1 << 31) - 1;
/// The initial window of every stream and of the connection until SETTINGS
/// say otherwise (§6.5.2, §6.9.2).
pub const DEFAULT_WINDOW_SIZE: u32 = 65_535;
/// The initial HPACK dynamic table size (§6.5.2).
pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;

/// SETTINGS identifiers (§6.5.2, RFC 8441 §3).
pub mod id {
    /// `SETTINGS_HEADER_TABLE_SIZE`.
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    /// `SETTINGS_ENABLE_PUSH`.
    pub const ENABLE_PUSH: u16 = 0x2;
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    /// `SETTINGS_INITIAL_WINDOW_SIZE`.
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    /// `SETTINGS_MAX_FRAME_SIZE`.
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`.
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441).
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
}

/// The settings one endpoint announced (or the defaults until it does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `SETTINGS_HEADER_TABLE_SIZE`: the HPACK table the sender's decoder keeps.
    pub header_table_size: u32,
    /// `SETTINGS_ENABLE_PUSH`.
    pub enable_push: bool,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`; `None` is unlimited.
    pub max_concurrent_streams: Option<u32>,
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: initial window of every stream.
    pub initial_window_size: u32,
    /// `SETTINGS_MAX_FRAME_SIZE`: largest frame payload the sender accepts.
    pub max_frame_size: u32,
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`; `None` is unlimited.
    pub max_header_list_size: Option<u32>,
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (RFC 8441): extended CONNECT allowed.
    pub enable_connect_protocol: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            header_table_size: DEFAULT_HEADER_TABLE_SIZE,
            enable_push: true,
            max_concurrent_streams: None,
            initial_window_size: DEFAULT_WINDOW_SIZE,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: None,
            enable_connect_protocol: false,
        }
    }
}

/// What a SETTINGS frame from the peer changed that the connection must act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changed {
    /// The new initial stream window minus the old one (§6.9.2), if it changed.
    pub window_delta: Option<i64>,
    /// The peer's decoder table size changed.
    pub header_table_size: bool,
}

fn protocol(reason: &'static str) -> ConnError {
    ConnError {
        code: ErrorCode::PROTOCOL_ERROR,
        reason,
    }
}

fn flag(v: u32, reason: &'static str) -> Result<bool, ConnError> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(protocol(reason)),
    }
}

impl Settings {
    /// Applies the parameters of a peer's SETTINGS frame sent to a client.
    ///
    /// Unknown identifiers are ignored (§6.5.2). The checks: ENABLE_PUSH must
    /// be 0 from a server (§6.5.2), INITIAL_WINDOW_SIZE at most 2^31-1
    /// (`FLOW_CONTROL_ERROR`), MAX_FRAME_SIZE within 2^14..2^24-1, the flags 0
    /// or 1, and ENABLE_CONNECT_PROTOCOL never back to 0 (RFC 8441 §3).
    pub fn apply_from_server(&mut self, params: &[u8]) -> Result<Changed, ConnError> {
        let mut changed = Changed::default();
        for (ident, v) in settings_params(params) {
            self.apply_one(ident, v, &mut changed)?;
        }
        Ok(changed)
    }

    fn apply_one(&mut self, ident: u16, v: u32, changed: &mut Changed) -> Result<(), ConnError> {
        match ident {
            id::HEADER_TABLE_SIZE => {
                changed.header_table_size |= v != self.header_table_size;
                self.header_table_size = v;
            }
            id::ENABLE_PUSH if flag(v, "ENABLE_PUSH not 0 or 1")? => {
                return Err(protocol("server sent ENABLE_PUSH=1"));
            }
            id::MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(v),
            id::INITIAL_WINDOW_SIZE => self.apply_window(v, changed)?,
            id::MAX_FRAME_SIZE => {
                if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&v) {
                    return Err(protocol("MAX_FRAME_SIZE out of range"));
                }
                self.max_frame_size = v;
            }
            id::MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(v),
            id::ENABLE_CONNECT_PROTOCOL => {
                let on = flag(v, "ENABLE_CONNECT_PROTOCOL not 0 or 1")?;
                if self.enable_connect_protocol && !on {
                    return Err(protocol("ENABLE_CONNECT_PROTOCOL withdrawn"));
                }
                self.enable_connect_protocol = on;
            }
            _ => {}
        }
        Ok(())
    }

    fn apply_window(&mut self, v: u32, changed: &mut Changed) -> Result<(), ConnError> {
        if v > MAX_WINDOW_SIZE {
            return Err(ConnError {
                code: ErrorCode::FLOW_CONTROL_ERROR,
                reason: "INITIAL_WINDOW_SIZE above 2^31-1",
            });
        }
        let delta = i64::from(v) - i64::from(self.initial_window_size);
        let total = changed.window_delta.unwrap_or(0) + delta;
        changed.window_delta = Some(total);
        self.initial_window_size = v;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(p: &[(u16, u32)]) -> Vec<u8> {
        p.iter()
            .flat_map(|&(i, v)| {
                let mut b = i.to_be_bytes().to_vec();
                b.extend_from_slice(&v.to_be_bytes());
                b
            })
            .collect()
    }

    fn err(p: &[(u16, u32)]) -> ErrorCode {
        Settings::default()
            .apply_from_server(&params(p))
            .unwrap_err()
            .code
    }

    #[test]
    fn applies_known_and_ignores_unknown() {
        let mut s = Settings::default();
        let c = s
            .apply_from_server(&params(&[
                (id::MAX_CONCURRENT_STREAMS, 100),
                (id::INITIAL_WINDOW_SIZE, 1 << 20),
                (id::MAX_FRAME_SIZE, 1 << 20),
                (id::ENABLE_CONNECT_PROTOCOL, 1),
                (id::ENABLE_PUSH, 0),
                (0x99, 12345),
                (id::HEADER_TABLE_SIZE, 0),
            ]))
            .unwrap();
        assert_eq!(s.max_concurrent_streams, Some(100));
        assert_eq!(s.max_frame_size, 1 << 20);
        assert!(s.enable_connect_protocol);
        assert_eq!(c.window_delta, Some((1 << 20) - 65_535));
        assert!(c.header_table_size);
    }

    #[test]
    fn window_delta_sums_repeated_values() {
        let mut s = Settings::default();
        let c = s
            .apply_from_server(&params(&[
                (id::INITIAL_WINDOW_SIZE, 100),
                (id::INITIAL_WINDOW_SIZE, 70_000),
            ]))
            .unwrap();
        assert_eq!(c.window_delta, Some(70_000 - 65_535));
    }

    #[test]
    fn invalid_values() {
        assert_eq!(err(&[(id::ENABLE_PUSH, 1)]), ErrorCode::PROTOCOL_ERROR);
        assert_eq!(err(&[(id::ENABLE_PUSH, 2)]), ErrorCode::PROTOCOL_ERROR);
        assert_eq!(
            err(&[(id::INITIAL_WINDOW_SIZE, 1 << 31)]),
            ErrorCode::FLOW_CONTROL_ERROR
        );
        assert_eq!(
            err(&[(id::MAX_FRAME_SIZE, 16_383)]),
            ErrorCode::PROTOCOL_ERROR
        );
        assert_eq!(
            err(&[(id::MAX_FRAME_SIZE, 1 << 24)]),
            ErrorCode::PROTOCOL_ERROR
        );
        assert_eq!(
            err(&[
                (id::ENABLE_CONNECT_PROTOCOL, 1),
                (id::ENABLE_CONNECT_PROTOCOL, 0)
            ]),
            ErrorCode::PROTOCOL_ERROR
        );
    }
}
