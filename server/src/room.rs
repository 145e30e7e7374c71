//! The pure room core (work in progress).

/// Where the room's lines for one connection go.
pub trait Outbox {}

/// The room.
pub struct Room;
