//! Per-connection bounded outbox (work in progress).
