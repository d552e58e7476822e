//! PostgreSQL's own ceiling: `psql` for set-up, `pgbench` for throughput.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

/// The columns the service selects (diesel's `MinigroupRow::as_select()`),
/// in its order.
pub const COLUMNS: &str = "minigroups.id, minigroups.audience, minigroups.scope, \
minigroups.time_start, minigroups.time_end, minigroups.tags, minigroups.reserve, \
minigroups.host, minigroups.event_room_id, minigroups.event_room_start, \
minigroups.conference_room_id, minigroups.conference_room_start, \
minigroups.established, minigroups.created_at";

/// A pgbench script the ceiling is measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// The service's by-id `SELECT`; the id comes from `bench_ids` by a
    /// random seed number (one extra primary-key probe in the same
    /// statement).
    ById,
    /// The service's by-audience/scope `SELECT`, exactly (the scope is
    /// `s-<n>`).
    ByScope,
    /// `SELECT 1`: one round trip without a table.
    SelectOne,
}

impl Script {
    /// Every script, in report order.
    pub const ALL: [Script; 3] = [Script::ById, Script::ByScope, Script::SelectOne];

    /// The script's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Script::ById => "pgbench: SELECT by id",
            Script::ByScope => "pgbench: SELECT by audience/scope",
            Script::SelectOne => "pgbench: SELECT 1",
        }
    }

    /// The script's text for `seeded` minigroups of `audience`.
    pub fn text(self, seeded: usize, audience: &str) -> String {
        match self {
            Script::ById => format!(
                "\\set n random(1, {seeded})\n\
                 SELECT {COLUMNS} FROM minigroups \
                 WHERE minigroups.id = (SELECT bench_ids.id FROM bench_ids WHERE bench_ids.n = :n) \
                 AND minigroups.established = true LIMIT 1;\n"
            ),
            Script::ByScope => format!(
                "\\set n random(1, {seeded})\n\
                 SELECT {COLUMNS} FROM minigroups \
                 WHERE minigroups.audience = '{audience}' AND minigroups.scope = 's-' || :n::text \
                 AND minigroups.established = true LIMIT 1;\n"
            ),
            Script::SelectOne => "SELECT 1;\n".to_string(),
        }
    }
}

/// Runs `sql` with `psql` against `url`, feeding `stdin` if given.
///
/// # Errors
/// `psql` is missing or the SQL fails.
pub fn psql(url: &str, sql: &str, stdin: Option<&[u8]>) -> anyhow::Result<String> {
    let mut child = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(data).context("writing to psql")?;
    }
    let out = child.wait_with_output().context("waiting for psql")?;
    if !out.status.success() {
        bail!(
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Stores the seeded ids as `bench_ids(n, id)` (n = 1…) and refreshes the
/// planner's statistics.
///
/// # Errors
/// A failing `psql`.
pub fn store_ids(url: &str, ids: &[String]) -> anyhow::Result<()> {
    psql(
        url,
        "DROP TABLE IF EXISTS bench_ids; CREATE TABLE bench_ids (n INTEGER PRIMARY KEY, id UUID NOT NULL)",
        None,
    )?;
    let mut data = String::with_capacity(ids.len() * 48);
    for (i, id) in ids.iter().enumerate() {
        data.push_str(&format!("{}\t{id}\n", i + 1));
    }
    psql(
        url,
        "COPY bench_ids (n, id) FROM STDIN",
        Some(data.as_bytes()),
    )?;
    psql(url, "VACUUM ANALYZE", None)?;
    Ok(())
}

/// One pgbench measurement.
#[derive(Debug, Clone, Copy)]
pub struct PgbenchResult {
    /// Transactions per second, without connection set-up.
    pub tps: f64,
    /// pgbench's average latency, ms.
    pub latency_avg_ms: f64,
    /// Failed transactions (pgbench exits non-zero on errors).
    pub failed: u64,
}

/// Writes the scripts into a fresh directory and returns it.
///
/// # Errors
/// The directory cannot be written.
pub fn write_scripts(seeded: usize, audience: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bench-pgbench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for s in Script::ALL {
        std::fs::write(script_path(&dir, s), s.text(seeded, audience))
            .context("writing a pgbench script")?;
    }
    Ok(dir)
}

fn script_path(dir: &Path, s: Script) -> PathBuf {
    dir.join(match s {
        Script::ById => "by_id.sql",
        Script::ByScope => "by_scope.sql",
        Script::SelectOne => "select_1.sql",
    })
}

/// `pgbench -n -M prepared -c C -j min(C,2) -T secs -f script url`.
///
/// # Errors
/// pgbench is missing, fails, or prints no `tps = `.
pub fn pgbench(
    url: &str,
    dir: &Path,
    script: Script,
    clients: usize,
    secs: u64,
) -> anyhow::Result<PgbenchResult> {
    let path = script_path(dir, script);
    let out = Command::new("pgbench")
        .args(["-n", "-M", "prepared"])
        .arg("-c")
        .arg(clients.to_string())
        .arg("-j")
        .arg(clients.clamp(1, 2).to_string())
        .arg("-T")
        .arg(secs.max(1).to_string())
        .arg("-f")
        .arg(&path)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("running pgbench (is it installed?)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench {} failed: {}{}",
            path.display(),
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_pgbench(&stdout).with_context(|| format!("reading pgbench's output: {stdout}"))
}

fn parse_pgbench(out: &str) -> Option<PgbenchResult> {
    let number_after = |prefix: &str| -> Option<f64> {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    Some(PgbenchResult {
        tps: number_after("tps = ")?,
        latency_avg_ms: number_after("latency average = ").unwrap_or(f64::NAN),
        failed: number_after("number of failed transactions: ").map_or(0, |f| f as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgbench_output_is_read() {
        let out = "number of transactions actually processed: 1000\n\
                   number of failed transactions: 0 (0.000%)\n\
                   latency average = 0.812 ms\n\
                   initial connection time = 3.2 ms\n\
                   tps = 12345.678901 (without initial connection time)\n";
        let r = parse_pgbench(out).unwrap_or(PgbenchResult {
            tps: 0.0,
            latency_avg_ms: 0.0,
            failed: 9,
        });
        assert!((r.tps - 12345.678901).abs() < 1e-6);
        assert!((r.latency_avg_ms - 0.812).abs() < 1e-9);
        assert_eq!(r.failed, 0);
    }

    #[test]
    fn scripts_bind_the_seed_number() {
        assert!(Script::ById.text(10, "a").contains("random(1, 10)"));
        assert!(Script::ByScope.text(10, "aud").contains("'aud'"));
    }
}
