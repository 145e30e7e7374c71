//! chat-oracle: the judge of SPEC §7. A recording of what clients
//! observed goes in, a verdict and a transcript come out.
//!
//! Layout:
//! - [`record`]: the recording every runner produces: a header (title,
//!   limits, clients, the fault timeline, when the run quiesced) and the
//!   time-stamped events each client saw.
//! - [`spec`]: [`SpecId`], every requirement ID of SPEC.md as a type.
//! - [`lines`]: the judge's own, independent reading of the wire (SPEC §5).
//! - [`check`]: the invariant checker (SPEC §7, by ID): facts built once
//!   from the recording, then one rule per group of IDs over them.
//! - [`transcript`]: the deterministic rendering of a run and its verdict.
//! - [`model`]: the room-log judge: what the pure room was asked and what
//!   it emitted, checked against a model of the room (the room proptest
//!   and the room fuzz target both ask it).
//! - [`split`]: the one bounded splitter of server byte streams into lines
//!   (WIRE-8), used by every tool that reads a server.
//!
//! Invariant: the oracle does no I/O: no runtime, no sockets, no clock, no
//! randomness. It knows no scenario and no runner: the simulator, conform
//! and the soak differ in how they make a recording, never in how it is
//! judged.
#![deny(missing_docs)]

pub mod check;
pub mod lines;
pub mod model;
pub mod record;
pub mod spec;
pub mod split;
pub mod transcript;

pub use spec::SpecId;
