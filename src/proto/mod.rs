//! The sans-IO protocol core: byte slices in, parsed events and encoded bytes out.
//!
//! Nothing here touches a socket, a poller or a clock, which is what makes every parser
//! testable at every split point and fuzzable with a three-line target.

pub mod h2;
pub mod http1;
pub mod proxy;
pub mod ws;
