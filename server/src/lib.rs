//! The Wavecast server: signed update bundles rolled out in waves, the
//! fleet's telemetry, and the after-sales back office, plus the `wavecast`
//! operator CLI that talks to it.
//!
//! One folder per product area, each holding its pure rules, its SQL store
//! and its HTTP routes side by side (ARCHITECTURE.md has the map):
//! [`identity`], [`updates`], [`fleet`], [`intake`], [`support`],
//! [`licences`], [`mqtt`];
//! [`console`] is the web console over them; [`http`] holds the one route
//! table, [`platform`] what they all stand on, [`cli`] the command line. The binary (`src/main.rs`) is thin: it
//! parses the command line and calls into [`cli`]. Tests start the same
//! [`startup::Application`] on port 0.

pub mod cli;
pub mod console;
pub mod ddi;
pub mod fleet;
pub mod http;
pub mod identity;
pub mod intake;
pub mod licences;
pub mod mqtt;
pub mod platform;
pub mod startup;
pub mod state;
pub mod support;
pub mod updates;
