//! Resource samples of one process from /proc, written as CSV, and the
//! check that none of them grows without bound.

use std::fmt;
use std::fs;
use std::io;
use std::time::Duration;

/// One reading of a process's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Time since the soak started.
    pub elapsed: Duration,
    /// Resident set size, in KiB (VmRSS).
    pub rss_kib: u64,
    /// Open file descriptors (entries of /proc/PID/fd).
    pub fds: u64,
    /// Threads (the Threads line of /proc/PID/status).
    pub threads: u64,
}

impl Sample {
    /// The CSV header matching [`Sample`]'s `Display` output.
    pub const CSV_HEADER: &'static str = "elapsed_s,rss_kib,fds,threads";

    /// Reads the resources of process `pid` now.
    pub fn read(pid: u32, elapsed: Duration) -> io::Result<Self> {
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let field = |name: &str| -> io::Result<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("no {name} line in /proc/{pid}/status"),
                    )
                })
        };
        let fds = fs::read_dir(format!("/proc/{pid}/fd"))?.count() as u64;
        Ok(Self {
            elapsed,
            rss_kib: field("VmRSS:")?,
            fds,
            threads: field("Threads:")?,
        })
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.1},{},{},{}",
            self.elapsed.as_secs_f64(),
            self.rss_kib,
            self.fds,
            self.threads
        )
    }
}

/// Reads one resource out of a sample.
type Reading = fn(&Sample) -> u64;

/// How much the last quarter of a run may exceed the first quarter before
/// a resource counts as growing: a relative part plus an absolute slack,
/// so that small values do not fail on noise.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// Allowed relative growth, such as 0.25 for 25 %.
    pub relative: f64,
    /// Allowed absolute growth, in the resource's unit.
    pub absolute: f64,
}

/// The comparison of one resource between the first and last quarter.
#[derive(Debug, Clone)]
pub struct Growth {
    /// The resource's name and unit, such as `rss_kib`.
    pub resource: &'static str,
    /// Mean over the first quarter of the samples.
    pub first_quarter: f64,
    /// Mean over the last quarter of the samples.
    pub last_quarter: f64,
    /// Largest value the last quarter may have.
    pub limit: f64,
}

impl Growth {
    /// True when the last quarter stays within the limit.
    pub fn is_bounded(&self) -> bool {
        self.last_quarter <= self.limit
    }
}

impl fmt::Display for Growth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: first quarter {:.0}, last quarter {:.0}, limit {:.0} ({})",
            self.resource,
            self.first_quarter,
            self.last_quarter,
            self.limit,
            if self.is_bounded() { "ok" } else { "GROWING" }
        )
    }
}

/// Compares the mean of the last quarter of `samples` with the mean of the
/// first quarter, for memory, descriptors and threads. Returns `None` with
/// fewer than eight samples, which is too few to tell growth from noise.
pub fn growth(samples: &[Sample], tolerances: [Tolerance; 3]) -> Option<Vec<Growth>> {
    if samples.len() < 8 {
        return None;
    }
    let quarter = samples.len() / 4;
    let first = &samples[..quarter];
    let last = &samples[samples.len() - quarter..];
    let mean = |part: &[Sample], value: Reading| -> f64 {
        part.iter().map(|s| value(s) as f64).sum::<f64>() / part.len() as f64
    };

    let resources: [(&'static str, Reading); 3] = [
        ("rss_kib", |s| s.rss_kib),
        ("fds", |s| s.fds),
        ("threads", |s| s.threads),
    ];
    let report = resources
        .iter()
        .zip(tolerances)
        .map(|((resource, value), tolerance)| {
            let first_quarter = mean(first, *value);
            Growth {
                resource,
                first_quarter,
                last_quarter: mean(last, *value),
                limit: first_quarter * (1.0 + tolerance.relative) + tolerance.absolute,
            }
        })
        .collect();
    Some(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOSE: Tolerance = Tolerance {
        relative: 0.25,
        absolute: 0.0,
    };

    fn series(rss: impl Fn(u64) -> u64) -> Vec<Sample> {
        (0..40)
            .map(|i| Sample {
                elapsed: Duration::from_secs(i),
                rss_kib: rss(i),
                fds: 20,
                threads: 4,
            })
            .collect()
    }

    #[test]
    fn flat_series_is_bounded() {
        let report = growth(&series(|i| 10_000 + i % 3), [LOOSE; 3]).unwrap();
        assert!(report.iter().all(Growth::is_bounded), "{report:?}");
    }

    #[test]
    fn steady_leak_is_growing() {
        let report = growth(&series(|i| 10_000 + i * 1_000), [LOOSE; 3]).unwrap();
        assert!(!report[0].is_bounded(), "{}", report[0]);
        assert!(report[1].is_bounded(), "{}", report[1]);
    }

    #[test]
    fn few_samples_give_no_verdict() {
        let samples = series(|_| 1)[..7].to_vec();
        assert!(growth(&samples, [LOOSE; 3]).is_none());
    }
}
