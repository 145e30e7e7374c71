//! The chat line protocol of `SPEC.md`, as plain data and functions.
//!
//! This crate does no I/O: no sockets, no clock, no runtime, no randomness.
//! Time, where it matters, arrives as an argument. The server, the client
//! and the simulator all speak the protocol through this crate only.
//!
//! Layout:
//! - [`limits`]: every bound of SPEC §8 with its default, from one table
//!   that also gives the reference server's flags.
//! - [`name`]: member names (SPEC §2).
//! - [`decoder`]: the incremental, bounded line decoder (SPEC §1).
//! - [`codec`]: a `tokio_util::codec` shell around the decoder.
//! - [`client`]: lines a client sends, by session state (SPEC §3, §4).
//! - [`server`]: lines the server sends (SPEC §5, §9).
//! - [`session`]: the per-connection state machine (SPEC §3).
//!
//! Feature `clap` (off by default): `Limits` derives `clap::Args`, so a
//! binary can `#[command(flatten)]` every limit in as a flag.
#![deny(missing_docs)]

pub mod client;
pub mod codec;
pub mod decoder;
pub mod limits;
pub mod name;
pub mod server;
pub mod session;

pub use client::{MemberLine, NamingLine};
pub use decoder::{LineDecoder, LineError};
pub use limits::Limits;
pub use name::{Name, NameError, NameKey};
pub use server::{ErrorCode, MemberList, Reason, ServerLine};
pub use session::{Session, State, Step};
