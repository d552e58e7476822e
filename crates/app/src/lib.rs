//! The minigroup service as a library: configuration, telemetry and wiring.
//! `main.rs` is a thin wrapper, so tests can start the real thing.

pub mod config;
pub mod metrics;
pub mod startup;
pub mod telemetry;
