//! End-to-end tests of the whole system live in `tests/*.rs`: insta
//! transcripts of the canonical simulations, the determinism check and a
//! sweep of generated seeds. This library is empty on purpose; it must
//! never hold test logic that the simulator itself should own.
