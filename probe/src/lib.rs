//! chat-probe: the real-TCP tools that test any chat server from outside.
//!
//! Layout:
//! - [`load`]: the load generator (`chat-sim load`; our protocol or IRC).
//! - [`conform`]: black-box conformance of any server against SPEC.md.
//! - [`soak`]: the bounded soak under faults, judged live.
//! - [`spawn`]: starting, sampling and stopping a server under test.
//! - [`report`]: how load, conform and soak print their reports.
//!
//! Invariant: this is the only crate that opens real sockets and reads the
//! wall clock for a run. It judges nothing itself: conform's recordings go
//! to `oracle`, as the simulator's do.
#![deny(missing_docs)]

pub mod conform;
pub mod load;
pub mod report;
pub mod soak;
pub mod spawn;
