//! Pacing of the lines the client writes, so that piped input (a file, a
//! script) stays inside the server's rate limit (LIMIT-3). It is
//! politeness, not a requirement (SPEC §11): the server delays a line past
//! its bucket and drops none, but it then stops reading the connection,
//! says `! rate-limited`, and removes a member held back for
//! `flood_held_ms_max` without a break as `flooding`. Paced, a long paste
//! goes out at the rate the server would handle it anyway, with no notice,
//! and the client's own keep-alives and `exit` are never stuck behind it
//! in the server.
//!
//! A token bucket like the server's, but with less burst than the server's
//! default `rate_burst_lines`: lines written back to back can arrive
//! bunched after a network delay, and the slack absorbs that. Pure: time
//! comes in as milliseconds from the caller; it never sleeps or reads a
//! clock itself.

/// Default lines per second: the server's default `rate_lines_per_s`.
pub const RATE_LINES_PER_S: u32 = 20;
/// Default burst: 10 lines below the server's default `rate_burst_lines`
/// of 50, as slack for lines that arrive bunched.
pub const BURST_LINES: u32 = 40;

/// A token bucket counted in thousandths of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pacer {
    /// Refill rate; 0 turns pacing off.
    rate_lines_per_s: u32,
    /// Bucket size in thousandths.
    burst_milli: u64,
    /// Tokens now, in thousandths.
    tokens_milli: u64,
    /// When `tokens_milli` was last brought up to date.
    at_ms: u64,
}

impl Pacer {
    /// A full bucket at time `now_ms`; `rate_lines_per_s` = 0 never waits.
    pub fn new(rate_lines_per_s: u32, burst_lines: u32, now_ms: u64) -> Pacer {
        let burst_milli = u64::from(burst_lines.max(1)) * 1000;
        Pacer {
            rate_lines_per_s,
            burst_milli,
            tokens_milli: burst_milli,
            at_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed_ms = now_ms.saturating_sub(self.at_ms);
        // rate lines/s = rate thousandths per ms.
        let gained = elapsed_ms.saturating_mul(u64::from(self.rate_lines_per_s));
        self.tokens_milli = self
            .tokens_milli
            .saturating_add(gained)
            .min(self.burst_milli);
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Milliseconds from `now_ms` until a line may be written (0: now).
    pub fn wait_ms(&mut self, now_ms: u64) -> u64 {
        if self.rate_lines_per_s == 0 {
            return 0;
        }
        self.refill(now_ms);
        let missing = 1000u64.saturating_sub(self.tokens_milli);
        missing.div_ceil(u64::from(self.rate_lines_per_s))
    }

    /// A line was written at `now_ms` (keep-alives included: the server
    /// counts them too). Never fails: a line written without a token
    /// (a keep-alive, `/quit` at the end) just leaves the bucket empty.
    pub fn spend(&mut self, now_ms: u64) {
        if self.rate_lines_per_s == 0 {
            return;
        }
        self.refill(now_ms);
        self.tokens_milli = self.tokens_milli.saturating_sub(1000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_lets_the_burst_through_then_paces_at_the_rate() {
        let mut p = Pacer::new(20, 3, 0);
        for _ in 0..3 {
            assert_eq!(p.wait_ms(0), 0);
            p.spend(0);
        }
        assert_eq!(p.wait_ms(0), 50, "one line per 50 ms at 20/s");
        assert_eq!(p.wait_ms(30), 20);
        assert_eq!(p.wait_ms(50), 0);
        p.spend(50);
        assert_eq!(p.wait_ms(50), 50);
    }

    #[test]
    fn idle_time_refills_no_more_than_the_burst() {
        let mut p = Pacer::new(10, 2, 0);
        p.spend(0);
        p.spend(0);
        assert_eq!(p.wait_ms(1_000_000), 0);
        p.spend(1_000_000);
        p.spend(1_000_000);
        assert_eq!(p.wait_ms(1_000_000), 100, "the burst was 2, not more");
    }

    #[test]
    fn rate_zero_never_waits() {
        let mut p = Pacer::new(0, 1, 0);
        for _ in 0..1000 {
            p.spend(0);
        }
        assert_eq!(p.wait_ms(0), 0);
    }

    // Any schedule that follows `wait_ms` stays within the server's
    // bucket of the same rate and a larger burst (LIMIT-3): count the
    // lines in every window.
    #[test]
    fn paced_lines_never_exceed_rate_times_window_plus_burst() {
        let (rate, burst) = (20u64, 5u64);
        let mut p = Pacer::new(rate as u32, burst as u32, 0);
        let mut sent = Vec::new();
        let mut now = 0;
        while sent.len() < 200 {
            now += p.wait_ms(now);
            p.spend(now);
            sent.push(now);
        }
        for (i, &start) in sent.iter().enumerate() {
            let within = sent[i..].iter().take_while(|&&t| t < start + 1000).count() as u64;
            assert!(
                within <= burst + rate,
                "{within} lines in 1 s from {start} ms"
            );
        }
    }
}
