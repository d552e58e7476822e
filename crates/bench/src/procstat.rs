//! Where the CPU went during a step, and how much memory the service holds,
//! from `/proc`.

use std::fs;

/// Kernel clock ticks per second in `/proc/*/stat` (`USER_HZ`, 100 on
/// every Linux architecture this runs on).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    service: u64,
    postgres: u64,
    bench: u64,
    children: u64,
    machine_total: u64,
    machine_idle: u64,
}

/// CPU used between two snapshots, in cores (1.0 = one core busy).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// The service process.
    pub service: f64,
    /// All `postgres` processes.
    pub postgres: f64,
    /// This process: load generator and stand-in upstreams.
    pub bench: f64,
    /// Waited-for child processes of this one that ended in between
    /// (pgbench, psql).
    pub children: f64,
    /// Idle share of the whole machine, 0–100.
    pub idle_pct: f64,
    /// Busy cores of the whole machine.
    pub busy: f64,
}

impl Snapshot {
    /// Reads the counters now; `service` is the service's pid, if running.
    pub fn take(service: Option<u32>) -> Self {
        let (total, idle) = machine();
        let own = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        Self {
            service: service
                .and_then(|p| ticks(&format!("/proc/{p}/stat")))
                .unwrap_or(0),
            postgres: postgres_ticks(),
            bench: stat_ticks(&own).map_or(0, |(_, t)| t),
            children: children_ticks(&own).unwrap_or(0),
            machine_total: total,
            machine_idle: idle,
        }
    }

    /// The use between `self` (earlier) and `later`, over `secs` seconds.
    pub fn until(&self, later: &Snapshot, secs: f64) -> CpuUse {
        let cores = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / TICKS_PER_SEC / secs.max(1e-9);
        let total = later.machine_total.saturating_sub(self.machine_total);
        let idle = later.machine_idle.saturating_sub(self.machine_idle);
        let busy_share = if total == 0 {
            0.0
        } else {
            1.0 - idle as f64 / total as f64
        };
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        CpuUse {
            service: cores(self.service, later.service),
            postgres: cores(self.postgres, later.postgres),
            bench: cores(self.bench, later.bench),
            children: cores(self.children, later.children),
            busy: busy_share * cpus as f64,
            idle_pct: if total == 0 {
                0.0
            } else {
                100.0 * idle as f64 / total as f64
            },
        }
    }
}

/// utime + stime of a `/proc/PID/stat` file.
fn ticks(path: &str) -> Option<u64> {
    let s = fs::read_to_string(path).ok()?;
    stat_ticks(&s).map(|(_, t)| t)
}

/// `(comm, utime + stime)` of a `/proc/PID/stat` line.
fn stat_ticks(s: &str) -> Option<(&str, u64)> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = &s[open + 1..close];
    // After ")": state(3) ppid(4) … utime(14) stime(15), 1-based.
    let rest: Vec<&str> = s[close + 1..].split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

/// cutime + cstime of a `/proc/PID/stat` line.
fn children_ticks(s: &str) -> Option<u64> {
    let close = s.rfind(')')?;
    let rest: Vec<&str> = s[close + 1..].split_whitespace().collect();
    let cutime: u64 = rest.get(13)?.parse().ok()?;
    let cstime: u64 = rest.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

/// utime + stime summed over every process named `postgres`.
fn postgres_ticks() -> u64 {
    let Ok(dir) = fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|s| stat_ticks(&s).and_then(|(comm, t)| (comm == "postgres").then_some(t)))
        .sum()
}

/// `(total, idle + iowait)` jiffies of the machine.
fn machine() -> (u64, u64) {
    let Ok(s) = fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let Some(line) = s.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest counted in user).
    let total = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total, idle)
}

/// A `/proc/PID/status` memory field (`VmRSS`, `VmHWM`) in MiB.
pub fn memory_mib(pid: u32, field: &str) -> Option<f64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        let kib: f64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kib / 1024.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_names() {
        let line = "42 (post gres) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 1 1 1";
        assert_eq!(stat_ticks(line), Some(("post gres", 12)));
    }

    #[test]
    fn this_process_is_visible() {
        assert!(ticks("/proc/self/stat").is_some());
        assert!(memory_mib(std::process::id(), "VmRSS").is_some_and(|m| m > 0.0));
    }
}
