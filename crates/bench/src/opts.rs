//! Command-line options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

/// `bench --help`.
pub const USAGE: &str = "\
usage: bench [--quick] [OPTIONS]

Starts target/release/app on a fresh PostgreSQL database and on a fresh
SQLite file, with in-process stand-in upstreams, measures read by id, read by
audience/scope, update (reserve) and create at 1, 16 and 64 connections,
measures pgbench's ceiling for the same SELECTs, and prints a Markdown table
(also written to target/bench/results.md).

options:
  --quick               smoke run: 3 s per step, 0.5 s warm-up, 2000 seeded minigroups
  --duration SECS       measured seconds per step (default 20; --quick 3)
  --warmup SECS         unmeasured seconds before each step (default 2; --quick 0.5)
  --latency-ms D        upstream latency for the create steps (default 50)
  --connections LIST    comma-separated concurrency levels (default 1,16,64)
  --seed N              minigroups created before the reads (default 10000; --quick 2000)
  --pool-size N         DATABASE_POOL_SIZE of the service (default 16)
  --client-threads N    worker threads of the load generator (default 2)
  --only LIST           run only these, comma-separated: read-id, read-scope, update,
                        create, pgbench (default: all)
  --no-info-log-step    skip the extra read-by-id step with RUST_LOG=info
  --skip-postgres       SQLite only
  --skip-sqlite         PostgreSQL only
  --app PATH            the service binary (default: `app` beside this binary)
  --out PATH            where to write the Markdown (default target/bench/results.md)
  -h, --help            this text

PostgreSQL is TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
a throw-away database is created there and dropped afterwards. psql and pgbench
must be on PATH.";

/// The parts `--only` selects from.
pub const PARTS: [&str; 5] = ["read-id", "read-scope", "update", "create", "pgbench"];

/// The parsed options.
#[derive(Debug, Clone)]
pub struct Opts {
    /// `--quick` was given.
    pub quick: bool,
    /// Measured time per step.
    pub duration: Duration,
    /// Unmeasured time before each step.
    pub warmup: Duration,
    /// Upstream latency D for the create steps, ms.
    pub latency_ms: u64,
    /// Concurrency levels.
    pub connections: Vec<usize>,
    /// Minigroups seeded before the reads.
    pub seed: usize,
    /// `DATABASE_POOL_SIZE`.
    pub pool_size: usize,
    /// Load generator worker threads.
    pub client_threads: usize,
    /// The parts to run (`read-id`, `read-scope`, `update`, `create`,
    /// `pgbench`); empty = all.
    pub only: Vec<String>,
    /// Run the extra `RUST_LOG=info` step.
    pub info_log_step: bool,
    /// Skip PostgreSQL.
    pub skip_postgres: bool,
    /// Skip SQLite.
    pub skip_sqlite: bool,
    /// The service binary.
    pub app: Option<PathBuf>,
    /// The Markdown output.
    pub out: Option<PathBuf>,
}

/// Parses the arguments; `Ok(None)` after printing `--help`.
///
/// # Errors
/// An unknown option or a bad value.
pub fn parse(args: impl IntoIterator<Item = String>) -> anyhow::Result<Option<Opts>> {
    let args: Vec<String> = args.into_iter().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut o = Opts {
        quick,
        duration: Duration::from_secs(if quick { 3 } else { 20 }),
        warmup: Duration::from_millis(if quick { 500 } else { 2000 }),
        latency_ms: 50,
        connections: vec![1, 16, 64],
        seed: if quick { 2000 } else { 10_000 },
        pool_size: 16,
        client_threads: 2,
        only: Vec::new(),
        info_log_step: true,
        skip_postgres: false,
        skip_sqlite: false,
        app: None,
        out: None,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--quick" => {}
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--duration" => o.duration = secs(&value()?)?,
            "--warmup" => o.warmup = secs(&value()?)?,
            "--latency-ms" => o.latency_ms = number(&value()?)?,
            "--seed" => o.seed = number(&value()?)?,
            "--pool-size" => o.pool_size = number(&value()?)?,
            "--client-threads" => o.client_threads = number(&value()?)?,
            "--connections" => {
                o.connections = value()?
                    .split(',')
                    .map(|c| number::<usize>(c.trim()))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--only" => {
                o.only = value()?.split(',').map(|p| p.trim().to_string()).collect();
                if let Some(bad) = o.only.iter().find(|p| !PARTS.contains(&p.as_str())) {
                    bail!("--only: unknown part {bad:?} (expected one of {PARTS:?})");
                }
            }
            "--no-info-log-step" => o.info_log_step = false,
            "--skip-postgres" => o.skip_postgres = true,
            "--skip-sqlite" => o.skip_sqlite = true,
            "--app" => o.app = Some(PathBuf::from(value()?)),
            "--out" => o.out = Some(PathBuf::from(value()?)),
            other => bail!("unknown option {other}"),
        }
    }
    if o.seed == 0 || o.connections.is_empty() || o.connections.contains(&0) {
        bail!("--seed and every --connections value must be positive");
    }
    if o.duration.is_zero() || o.client_threads == 0 || o.pool_size == 0 {
        bail!("--duration, --client-threads and --pool-size must be positive");
    }
    Ok(Some(o))
}

impl Opts {
    /// Whether `part` (one of [`PARTS`]) runs.
    pub fn runs(&self, part: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == part)
    }
}

fn number<T: std::str::FromStr>(v: &str) -> anyhow::Result<T> {
    v.parse()
        .map_err(|_| anyhow::anyhow!("{v:?} is not a non-negative integer"))
}

fn secs(v: &str) -> anyhow::Result<Duration> {
    let s: f64 = v
        .parse()
        .map_err(|_| anyhow::anyhow!("{v:?} is not a number of seconds"))?;
    if !(0.0..=3600.0).contains(&s) {
        bail!("{v} s is out of range (0 to 3600)");
    }
    Ok(Duration::from_secs_f64(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(a: &[&str]) -> anyhow::Result<Option<Opts>> {
        parse(a.iter().map(|s| (*s).to_string()))
    }

    #[test]
    fn quick_sets_short_steps_and_flags_override() {
        let o = parse_args(&["--quick", "--latency-ms", "20", "--connections", "2, 8"])
            .ok()
            .flatten()
            .map(|o| (o.duration, o.latency_ms, o.connections, o.seed));
        assert_eq!(o, Some((Duration::from_secs(3), 20, vec![2, 8], 2000)));
    }

    #[test]
    fn bad_options_are_rejected() {
        assert!(parse_args(&["--bogus"]).is_err());
        assert!(parse_args(&["--duration"]).is_err());
        assert!(parse_args(&["--connections", "0"]).is_err());
        assert!(parse_args(&["--only", "read-id,bogus"]).is_err());
        let o = parse_args(&["--only", "read-id, pgbench"]).ok().flatten();
        assert!(o
            .as_ref()
            .is_some_and(|o| o.runs("pgbench") && !o.runs("create")));
    }
}
