//! Measurement helpers of the load generator: a bounded latency
//! histogram and process CPU/RSS readings from `/proc`. Owns no sockets
//! and never blocks; a missing `/proc` entry reads as `None`.

/// Sub-bucket bits of [`Histogram`]: values are kept to 1/64 (1.6 %).
const MANTISSA_BITS: u32 = 6;
/// Buckets of [`Histogram`]: exact below 64, then 64 per power of two.
const BUCKETS_MAX: usize = 64 + (64 - MANTISSA_BITS as usize) * 64;

/// A log-linear histogram of microsecond latencies with a fixed size
/// (about 30 KB) whatever the number of samples; quantiles are exact
/// below 64 µs and within 1.6 % above.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    samples: u64,
    max_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS_MAX],
            samples: 0,
            max_us: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < 64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 6
    let shift = e - MANTISSA_BITS;
    let m = (v >> shift) & 63;
    64 + (shift as usize) * 64 + m as usize
}

/// The lowest value that falls in bucket `i`.
fn bucket_floor(i: usize) -> u64 {
    if i < 64 {
        return i as u64;
    }
    let shift = (i - 64) / 64;
    let m = ((i - 64) % 64) as u64;
    (64 + m) << shift
}

impl Histogram {
    /// Adds one sample.
    pub fn record(&mut self, us: u64) {
        self.counts[bucket(us)] += 1;
        self.samples += 1;
        self.max_us = self.max_us.max(us);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.samples += other.samples;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Number of samples.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Largest sample, exact.
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// The `q` quantile (0.0..=1.0), to bucket precision; 0 when empty.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.samples == 0 {
            return 0;
        }
        let rank = ((q * self.samples as f64).ceil() as u64).clamp(1, self.samples);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_floor(i).min(self.max_us);
            }
        }
        self.max_us
    }
}

/// CPU time and memory of one process at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcSample {
    /// User + system CPU seconds since the process started.
    pub cpu_s: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux
/// for every architecture we run on).
const TICKS_PER_S: f64 = 100.0;

/// Reads `/proc/<pid>/stat` and `/proc/<pid>/status` (`pid` may be
/// `"self"`). `None` if the process is gone or `/proc` is missing.
pub fn proc_sample(pid: &str) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may itself hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of stat(5); 12 and 13 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(ProcSample {
        cpu_s: (utime + stime) / TICKS_PER_S,
        rss_kib,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 40, u64::MAX / 2]) {
            let b = bucket(v);
            assert!(b >= last || v == 1 << 40, "bucket order at {v}");
            last = b;
            let floor = bucket_floor(b);
            assert!(floor <= v, "floor {floor} above {v}");
            assert!(v - floor <= v / 64, "bucket of {v} too wide ({floor})");
            assert!(b < BUCKETS_MAX);
        }
    }

    #[test]
    fn quantiles_of_a_known_set() {
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.record(v);
        }
        assert_eq!(h.samples(), 1000);
        assert_eq!(h.max_us(), 1000);
        let p50 = h.quantile_us(0.5);
        assert!((492..=500).contains(&p50), "p50 {p50}");
        let p99 = h.quantile_us(0.99);
        assert!((975..=990).contains(&p99), "p99 {p99}");
        assert_eq!(Histogram::default().quantile_us(0.5), 0);
    }

    #[test]
    fn own_process_is_readable() {
        let s = proc_sample("self").expect("/proc/self exists on Linux");
        assert!(s.rss_kib > 0);
    }
}
