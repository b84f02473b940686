//! Driver tests on the simulated network and clock (see [`crate::sim`]).

mod basic;
mod commands;
mod eyeballs;
mod fairness;
mod h2;
mod keepalive;
mod net;
mod pause;
mod rate;
mod redirects;
mod timeouts;
mod ws;
