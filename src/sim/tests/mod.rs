//! Driver tests on the simulated network and clock (see [`crate::sim`]).

mod basic;
mod net;
