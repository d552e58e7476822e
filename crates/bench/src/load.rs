//! Closed-loop load: `C` tasks, each with its own kept-alive connection,
//! send one request after another for a warm-up plus a measured window.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::Conn;

/// No single request may take longer than this; it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Hard cap on requests per task and step (the loop is time-bounded too).
const MAX_REQUESTS_PER_TASK: u64 = 50_000_000;

/// Builds request number `i` of task `task` into the buffer.
pub type RequestFn = Arc<dyn Fn(usize, u64, &mut Rng, &mut Vec<u8>) + Send + Sync>;

/// A small, fast xorshift generator (one per task).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        usize::try_from(x % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// What one step measured.
#[derive(Debug, Clone, Default)]
pub struct StepResult {
    /// 2xx answers completed inside the measured window.
    pub ok: u64,
    /// Other answers and failed requests inside the measured window.
    pub errors: u64,
    /// Errors by kind (`409`, `io`, `timeout`), for the notes.
    pub error_kinds: BTreeMap<String, u64>,
    /// 2xx answers per second over the measured window.
    pub rate: f64,
    /// Median latency of the 2xx answers.
    pub p50: Duration,
    /// 99th percentile latency of the 2xx answers.
    pub p99: Duration,
}

struct TaskOutcome {
    latencies_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

/// Runs `concurrency` tasks against `addr` for `warmup + window`; only
/// requests that start after the warm-up and finish inside the window count.
pub async fn run(
    addr: SocketAddr,
    concurrency: usize,
    warmup: Duration,
    window: Duration,
    make: RequestFn,
) -> StepResult {
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + window;
    let mut tasks = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            one_task(addr, task, measure_from, deadline, make).await
        }));
    }
    let mut all = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        match t.await {
            Ok(o) => {
                all.extend_from_slice(&o.latencies_us);
                for (k, v) in o.errors {
                    *errors.entry(k).or_default() += v;
                }
            }
            Err(e) => *errors.entry(format!("task: {e}")).or_default() += 1,
        }
    }
    let measured = deadline
        .saturating_duration_since(measure_from)
        .as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| -> Duration {
        if all.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank.
        let rank = ((p * all.len() as f64).ceil() as usize).clamp(1, all.len());
        Duration::from_micros(u64::from(all[rank - 1]))
    };
    let ok = all.len() as u64;
    StepResult {
        ok,
        errors: errors.values().sum(),
        rate: if measured > 0.0 {
            ok as f64 / measured
        } else {
            0.0
        },
        p50: pct(0.50),
        p99: pct(0.99),
        error_kinds: errors,
    }
}

async fn one_task(
    addr: SocketAddr,
    task: usize,
    measure_from: Instant,
    deadline: Instant,
    make: RequestFn,
) -> TaskOutcome {
    let mut out = TaskOutcome {
        latencies_us: Vec::with_capacity(4096),
        errors: BTreeMap::new(),
    };
    let mut conn = Conn::new(addr);
    if let Err(e) = conn.open().await {
        *out.errors.entry(format!("connect: {e}")).or_default() += 1;
        return out;
    }
    let mut rng = Rng::new(task as u64 + 1);
    let mut req = Vec::with_capacity(1024);
    for i in 0..MAX_REQUESTS_PER_TASK {
        req.clear();
        make(task, i, &mut rng, &mut req);
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, conn.send(&req)).await;
        let done = Instant::now();
        let counts = sent >= measure_from && done <= deadline;
        let kind = match outcome {
            Ok(Ok(a)) if (200..300).contains(&a.status) => None,
            Ok(Ok(a)) => Some(a.status.to_string()),
            Ok(Err(e)) => Some(format!("io: {}", e.kind())),
            Err(_) => {
                conn = Conn::new(addr);
                Some("timeout".to_string())
            }
        };
        if !counts {
            continue;
        }
        match kind {
            None => {
                let us = u32::try_from(done.duration_since(sent).as_micros()).unwrap_or(u32::MAX);
                out.latencies_us.push(us);
            }
            Some(k) => *out.errors.entry(k).or_default() += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_stays_in_range_and_moves() {
        let mut r = Rng::new(7);
        let draws: Vec<usize> = (0..1000).map(|_| r.below(10)).collect();
        assert!(draws.iter().all(|&d| d < 10));
        assert!((0..10).all(|v| draws.contains(&v)));
    }
}
