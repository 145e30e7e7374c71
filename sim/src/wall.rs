//! The one place the simulator reads the wall clock: to report how fast
//! a run, a check or a sweep went. What it measures never reaches a
//! scenario, a recording or a transcript, so it cannot change a run.

use std::time::Duration;

/// Wall time since [`Stopwatch::start`], for reports only.
#[derive(Clone, Copy, Debug)]
// The allowed exception to clippy.toml's rule: reports of speed need the
// wall clock, and nothing here feeds back into a simulation.
#[allow(clippy::disallowed_types)]
pub struct Stopwatch(std::time::Instant);

#[allow(clippy::disallowed_types, clippy::disallowed_methods)]
impl Stopwatch {
    /// Starts measuring now.
    pub fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }

    /// Wall time since the start.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
