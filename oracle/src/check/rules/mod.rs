//! The rules: each a function over the [`super::facts::Facts`] that
//! returns the violations of one group of SPEC IDs.
//!
//! - [`wire`]: SRV-1, WIRE-8 (lines the judge cannot read).
//! - [`session`]: SESS-1, SESS-3, SESS-6, LEAVE-5 and what the session
//!   walk found (SRV-1, INV-6, INV-9 on a connection's own lines).
//! - [`views`]: INV-1, INV-2, INV-5, INV-6, INV-9 in each member's own
//!   view of who is present.
//! - [`senders`]: INV-1, INV-3, INV-4 from each sender's own lines.
//! - [`reference`]: INV-1..7, INV-9, LEAVE-1, LEAVE-6 against the room
//!   order of the run's reference ([`departures`] for what is judged
//!   once every membership is placed in it, [`liveness`] for INV-7 in
//!   time: a departure announced late with no fault near).
//! - [`isolation`]: INV-8 over the losses the others found.

pub(crate) mod departures;
pub(crate) mod isolation;
pub(crate) mod liveness;
pub(crate) mod reference;
pub(crate) mod senders;
pub(crate) mod session;
pub(crate) mod views;
pub(crate) mod wire;
