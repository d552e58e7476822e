//! The results as Markdown: the machine, the service's figures, the
//! pgbench ceiling and the targets of the issue.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::load::StepResult;
use crate::opts::Opts;
use crate::pg::{PgbenchResult, Script};
use crate::procstat::CpuUse;

/// Read by id at the highest concurrency must reach this share of pgbench.
const TARGET_READ_RATIO: f64 = 0.5;
/// Create p50 must stay under this multiple of D.
const TARGET_CREATE_RATIO: f64 = 2.2;
/// Peak resident memory of the service must stay under this, MiB.
const TARGET_RSS_MIB: f64 = 100.0;

/// Which database a row ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite (a file, WAL).
    Sqlite,
}

impl Backend {
    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// One measured service step.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was requested.
    pub scenario: String,
    /// The database.
    pub backend: Backend,
    /// Concurrent connections.
    pub c: usize,
    /// Upstream latency, ms.
    pub d_ms: u64,
    /// The measurement.
    pub result: StepResult,
    /// pgbench's tps for the same `SELECT` at the same concurrency.
    pub ceiling: Option<f64>,
    /// pgbench's best tps for the same `SELECT` at any measured concurrency.
    pub best_ceiling: Option<f64>,
    /// Where the CPU went.
    pub cpu: CpuUse,
    /// The service's resident memory after the step, MiB.
    pub rss_mib: Option<f64>,
}

/// One pgbench measurement.
#[derive(Debug, Clone)]
pub struct CeilingRow {
    /// The script.
    pub script: Script,
    /// Clients.
    pub c: usize,
    /// pgbench's figures.
    pub result: PgbenchResult,
    /// Where the CPU went (pgbench itself counts as neither).
    pub cpu: CpuUse,
}

/// Everything printed at the end.
#[derive(Debug, Clone)]
pub struct Report {
    /// The options.
    pub opts: Opts,
    /// The command line after `bench`.
    pub args: String,
    /// The service binary.
    pub binary: String,
    /// `SHOW server_version`.
    pub pg_version: Option<String>,
    /// Service steps.
    pub rows: Vec<Row>,
    /// pgbench steps.
    pub ceilings: Vec<CeilingRow>,
    /// VmHWM of the PostgreSQL-backed service, MiB.
    pub peak_rss_pg: Option<f64>,
    /// VmHWM of the SQLite-backed service, MiB.
    pub peak_rss_sqlite: Option<f64>,
    /// The whole run.
    pub wall: Duration,
    /// `/proc/loadavg` when the run started: other work on the machine.
    pub load_before: String,
}

impl Report {
    /// An empty report for a run with `opts`.
    pub fn new(opts: &Opts, binary: &Path) -> Self {
        Self {
            opts: opts.clone(),
            args: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
            binary: binary.display().to_string(),
            pg_version: None,
            rows: Vec::new(),
            ceilings: Vec::new(),
            peak_rss_pg: None,
            peak_rss_sqlite: None,
            wall: Duration::ZERO,
            load_before: std::fs::read_to_string("/proc/loadavg")
                .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let o = &self.opts;
        let cmd = if self.args.is_empty() {
            "just bench".to_string()
        } else {
            format!("just bench {}", self.args)
        };
        let _ = writeln!(s, "## Results of `{cmd}`, {}\n", utc_now());
        let _ = writeln!(
            s,
            "- Machine: {}; load average at the start {}",
            machine(),
            self.load_before
        );
        if let Some(v) = &self.pg_version {
            let _ = writeln!(s, "- PostgreSQL {v} (local, default settings)");
        }
        let _ = writeln!(
            s,
            "- Steps{}: {} s measured after {} s warm-up; {} minigroups seeded through the API; \
             D = {} ms for create; `DATABASE_POOL_SIZE={}`; service log filter `warn` \
             unless the row says otherwise; load generator: {} threads, one keep-alive \
             connection per client{}",
            if o.quick {
                " (**quick mode**: short steps, indicative figures)"
            } else {
                ""
            },
            o.duration.as_secs_f64(),
            o.warmup.as_secs_f64(),
            o.seed,
            o.latency_ms,
            o.pool_size,
            o.client_threads,
            git_rev().map_or(String::new(), |r| format!("; commit `{r}`"))
        );
        let _ = writeln!(
            s,
            "- Service binary: `{}`; whole run: {:.0} s\n",
            self.binary,
            self.wall.as_secs_f64()
        );

        let _ = writeln!(s, "### Service\n");
        let _ = writeln!(
            s,
            "| scenario | backend | C | D ms | 2xx | req/s | p50 ms | p99 ms | errors | pgbench req/s | service ÷ pgbench | ÷ best pgbench | CPU svc / pg / bench / other | idle % | RSS MiB |"
        );
        let _ = writeln!(
            s,
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|"
        );
        for r in &self.rows {
            let (ceiling, ratio) = match r.ceiling {
                Some(c) if c > 0.0 => (
                    format!("{c:.0}"),
                    format!("{:.0} %", 100.0 * r.result.rate / c),
                ),
                _ => ("".into(), "".into()),
            };
            let best = r
                .best_ceiling
                .filter(|b| *b > 0.0)
                .map_or(String::new(), |b| {
                    format!("{:.0} %", 100.0 * r.result.rate / b)
                });
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} | {:.2} / {:.2} / {:.2} / {:.2} | {:.0} | {} |",
                r.scenario,
                r.backend.name(),
                r.c,
                r.d_ms,
                r.result.ok,
                r.result.rate,
                ms(r.result.p50),
                ms(r.result.p99),
                errors(&r.result),
                ceiling,
                ratio,
                best,
                r.cpu.service,
                r.cpu.postgres,
                r.cpu.bench,
                (r.cpu.busy - r.cpu.service - r.cpu.postgres - r.cpu.bench).max(0.0),
                r.cpu.idle_pct,
                r.rss_mib.map_or("".into(), |m| format!("{m:.0}")),
            );
        }

        if !self.ceilings.is_empty() {
            let _ = writeln!(
                s,
                "\n### Ceiling: pgbench `-n -M prepared -c C -j min(C,2) -T {}` on the same database\n",
                o.duration.as_secs_f64().ceil()
            );
            let _ = writeln!(
                s,
                "| script | C | tps | avg latency ms | failed | CPU pgbench / rest | idle % |"
            );
            let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|");
            for c in &self.ceilings {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0} | {:.3} | {} | {:.2} / {:.2} | {:.0} |",
                    c.script.name(),
                    c.c,
                    c.result.tps,
                    c.result.latency_avg_ms,
                    c.result.failed,
                    c.cpu.children,
                    (c.cpu.busy - c.cpu.children).max(0.0),
                    c.cpu.idle_pct
                );
            }
        }

        let _ = writeln!(s, "\n### Targets\n");
        self.targets(&mut s);
        s
    }

    fn targets(&self, s: &mut String) {
        let max_c = self.opts.connections.iter().copied().max().unwrap_or(0);
        let read = self
            .rows
            .iter()
            .find(|r| r.backend == Backend::Postgres && r.scenario == "read by id" && r.c == max_c);
        match read.and_then(|r| r.ceiling.map(|c| (r.result.rate, c, r.best_ceiling))) {
            Some((rate, c, best)) if c > 0.0 => {
                let ratio = rate / c;
                let best = best.filter(|b| *b > 0.0).map_or(String::new(), |b| {
                    format!(
                        "; {:.0} % of pgbench's best, {b:.0} tps at any concurrency",
                        100.0 * rate / b
                    )
                });
                let _ = writeln!(
                    s,
                    "- Read by id at {max_c} connections: {rate:.0} req/s = {:.0} % of pgbench's {c:.0} tps at {max_c} clients (target ≥ {:.0} %): **{}**{best}",
                    100.0 * ratio,
                    100.0 * TARGET_READ_RATIO,
                    verdict(ratio >= TARGET_READ_RATIO)
                );
            }
            _ => {
                let _ = writeln!(s, "- Read by id vs pgbench: not measured");
            }
        }
        let d = self.opts.latency_ms;
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let creates: Vec<&Row> = self
                .rows
                .iter()
                .filter(|r| r.backend == backend && r.scenario == "create" && r.d_ms == d && d > 0)
                .collect();
            if creates.is_empty() {
                continue;
            }
            let parts: Vec<String> = creates
                .iter()
                .map(|r| {
                    let ratio = ms(r.result.p50) / d as f64;
                    format!(
                        "C={}: {:.2} ({})",
                        r.c,
                        ratio,
                        verdict(ratio <= TARGET_CREATE_RATIO)
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "- Create p50 ÷ D on {} (D = {d} ms; target ≤ {TARGET_CREATE_RATIO}): {}",
                backend.name(),
                parts.join(", ")
            );
        }
        for (name, peak) in [
            ("PostgreSQL", self.peak_rss_pg),
            ("SQLite", self.peak_rss_sqlite),
        ] {
            if let Some(m) = peak {
                let _ = writeln!(
                    s,
                    "- Peak resident memory (VmHWM) of the service on {name}, through every step up to {max_c} connections: {m:.0} MiB (target < {TARGET_RSS_MIB:.0} MiB): **{}**",
                    verdict(m < TARGET_RSS_MIB)
                );
            }
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn errors(r: &StepResult) -> String {
    if r.errors == 0 {
        return "0".into();
    }
    let kinds: Vec<String> = r
        .error_kinds
        .iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect();
    format!("{} ({})", r.errors, kinds.join(", "))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn git_rev() -> Option<String> {
    let o = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// `N CPUs (model), M GiB RAM, Linux version`.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cpus} CPUs ({model}), {mem_gib:.1} GiB RAM, Linux {kernel}")
}
