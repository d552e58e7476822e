//! `bench`: how close the minigroup service comes to the machine's ceiling.
//!
//! Starts the release `app` binary (next to this binary) on a fresh
//! PostgreSQL database and then on a fresh SQLite file, with the upstreams
//! played by in-process `devstand` stand-ins whose latency is set per step;
//! drives it with closed-loop keep-alive connections at 1, 16 and 64
//! concurrent connections; runs `pgbench` with the service's own `SELECT`s
//! for the ceiling; prints a Markdown table and writes it to
//! `target/bench/results.md`. `bench --help` lists the options; see
//! `docs/performance.md` for what the figures mean.

mod http;
mod load;
mod opts;
mod pg;
mod procstat;
mod report;
mod service;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::load::RequestFn;
use crate::opts::Opts;
use crate::procstat::Snapshot;
use crate::report::{Backend, CeilingRow, Report, Row};
use crate::service::{Launch, Service};

/// The audience every bench minigroup lives in.
const AUDIENCE: &str = "bench.example.org";
/// The trusted account the bench calls as: `sub`.
const SUB: &str = "bench";
/// The trusted account the bench calls as: `aud`.
const AUD: &str = "svc.example.org";
/// Connections used to seed minigroups.
const SEED_CONCURRENCY: usize = 32;
/// The log filter of the measured runs: warnings, plus the start-up line.
const QUIET_LOG: &str = "warn,app=info";

fn main() -> anyhow::Result<()> {
    let opts = match opts::parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(()),
        Err(e) => {
            eprintln!("bench: {e}\n\n{}", opts::USAGE);
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.client_threads)
        .enable_all()
        .build()
        .context("building the client runtime")?;
    runtime.block_on(run(opts))
}

/// The upstream stand-ins, with one latency knob for all three.
struct Stands {
    all: [devstand::Stand; 3],
}

impl Stands {
    fn start() -> anyhow::Result<Self> {
        let addr = "127.0.0.1:0".parse().context("stand-in address")?;
        Ok(Self {
            all: [
                devstand::start(devstand::Kind::Event, addr).context("event stand-in")?,
                devstand::start(devstand::Kind::Conference, addr).context("conference stand-in")?,
                devstand::start(devstand::Kind::Storage, addr).context("storage stand-in")?,
            ],
        })
    }

    fn urls(&self) -> [String; 3] {
        [self.all[0].url(), self.all[1].url(), self.all[2].url()]
    }

    fn set_latency(&self, ms: u64) {
        for s in &self.all {
            s.set_latency(Duration::from_millis(ms));
            // The stand-ins keep their last requests; the bench never reads them.
            s.clear_requests();
        }
    }
}

/// Everything a measured step needs.
struct Ctx<'a> {
    opts: &'a Opts,
    binary: &'a Path,
    stands: &'a Stands,
    secret: String,
    token: String,
    step: AtomicUsize,
}

impl Ctx<'_> {
    fn launch(&self, database_url: &str, rust_log: &str) -> anyhow::Result<Service> {
        let svc = Service::start(&Launch {
            binary: self.binary,
            database_url,
            upstreams: self.stands.urls(),
            jwt_key: &self.secret,
            trusted: &format!("{SUB}.{AUD}"),
            pool_size: self.opts.pool_size,
            rust_log,
        })?;
        // For attaching a profiler: `perf record -p PID`.
        eprintln!(
            "service pid {} listening on {} (RUST_LOG={rust_log})",
            svc.pid(),
            svc.addr()
        );
        Ok(svc)
    }

    fn warmup(&self) -> Duration {
        self.opts.warmup
    }

    /// Runs one step against `svc` and returns its row.
    async fn step(
        &self,
        svc: &Service,
        scenario: Scenario,
        backend: Backend,
        c: usize,
        d_ms: u64,
        make: RequestFn,
    ) -> Row {
        self.stands.set_latency(d_ms);
        let step = self.step.fetch_add(1, Ordering::Relaxed);
        eprint!(
            "[{step:>2}] {:<10} {:<28} C={c:<3} D={d_ms:<3} … ",
            backend.name(),
            scenario.name()
        );
        let before = Snapshot::take(Some(svc.pid()));
        let t0 = Instant::now();
        let result = load::run(svc.addr(), c, self.warmup(), self.opts.duration, make).await;
        let cpu = before.until(&Snapshot::take(Some(svc.pid())), t0.elapsed().as_secs_f64());
        let rss = procstat::memory_mib(svc.pid(), "VmRSS");
        eprintln!(
            "{:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
            result.rate,
            ms(result.p50),
            ms(result.p99),
            result.errors
        );
        if result.errors > 0 {
            eprintln!("      errors: {:?}", result.error_kinds);
        }
        Row {
            scenario: scenario.name().to_string(),
            backend,
            c,
            d_ms,
            result,
            ceiling: None,
            best_ceiling: None,
            cpu,
            rss_mib: rss,
        }
    }
}

/// The measured request kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    ReadById,
    ReadByScope,
    Update,
    Create,
    ReadByIdInfoLog,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::ReadById => "read by id",
            Scenario::ReadByScope => "read by audience/scope",
            Scenario::Update => "update (reserve)",
            Scenario::Create => "create",
            Scenario::ReadByIdInfoLog => "read by id, RUST_LOG=info",
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn create_body(scope: &str) -> Vec<u8> {
    let t = now();
    json!({
        "scope": scope,
        "audience": AUDIENCE,
        "host": format!("teacher.{AUDIENCE}"),
        "time": [t + 3600, t + 7200],
        "tags": {"course": "math"},
        "reserve": 10
    })
    .to_string()
    .into_bytes()
}

/// Requests picked at random from a pre-built set (no formatting in the loop).
fn pick(requests: Arc<Vec<Vec<u8>>>) -> RequestFn {
    Arc::new(move |_, _, rng, out| {
        out.extend_from_slice(&requests[rng.below(requests.len())]);
    })
}

fn read_by_id(token: &str, ids: &[String]) -> RequestFn {
    let reqs = ids
        .iter()
        .map(|id| {
            let mut r = Vec::new();
            http::request(
                &mut r,
                "GET",
                &format!("/api/v1/minigroups/{id}"),
                token,
                None,
            );
            r
        })
        .collect();
    pick(Arc::new(reqs))
}

fn read_by_scope(token: &str, seeded: usize) -> RequestFn {
    let reqs = (1..=seeded)
        .map(|n| {
            let mut r = Vec::new();
            let path = format!("/api/v1/audiences/{AUDIENCE}/minigroups/s-{n}");
            http::request(&mut r, "GET", &path, token, None);
            r
        })
        .collect();
    pick(Arc::new(reqs))
}

fn update(token: &str, ids: &[String]) -> RequestFn {
    let token = token.to_string();
    let paths: Arc<Vec<String>> = Arc::new(
        ids.iter()
            .map(|id| format!("/api/v1/minigroups/{id}"))
            .collect(),
    );
    Arc::new(move |_, i, rng, out| {
        let body = format!("{{\"reserve\":{}}}", i % 50);
        let path = &paths[rng.below(paths.len())];
        http::request(out, "PUT", path, &token, Some(body.as_bytes()));
    })
}

fn create(token: &str, step: usize) -> RequestFn {
    let token = token.to_string();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = run[..8].to_string();
    Arc::new(move |task, i, _, out| {
        let body = create_body(&format!("c-{run}-{step}-{task}-{i}"));
        http::request(out, "POST", "/api/v1/minigroups", &token, Some(&body));
    })
}

/// Creates `n` minigroups `s-1`…`s-n` through the API (upstream latency 0)
/// and returns their `class_id`s in that order.
async fn seed(ctx: &Ctx<'_>, svc: &Service, n: usize) -> anyhow::Result<Vec<String>> {
    ctx.stands.set_latency(0);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..SEED_CONCURRENCY.min(n.max(1)) {
        let next = next.clone();
        let token = ctx.token.clone();
        let addr = svc.addr();
        tasks.push(tokio::spawn(async move {
            let mut conn = http::Conn::new(addr);
            let mut made = Vec::new();
            let mut req = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                req.clear();
                let body = create_body(&format!("s-{}", k + 1));
                http::request(&mut req, "POST", "/api/v1/minigroups", &token, Some(&body));
                let answer = conn
                    .send(&req)
                    .await
                    .context("seeding: the service answers")?;
                if answer.status != 201 {
                    bail!(
                        "seeding s-{}: {} {}",
                        k + 1,
                        answer.status,
                        String::from_utf8_lossy(answer.body)
                    );
                }
                let v: Value = serde_json::from_slice(answer.body).context("seeding: JSON")?;
                let id = v["class_id"]
                    .as_str()
                    .context("seeding: no class_id")?
                    .to_string();
                made.push((k, id));
            }
            Ok::<_, anyhow::Error>(made)
        }));
    }
    let mut ids = vec![String::new(); n];
    for t in tasks {
        for (k, id) in t.await.context("seeding task")?? {
            ids[k] = id;
        }
    }
    eprintln!(
        "seeded {n} minigroups through the API in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ids)
}

/// The steps every backend runs: reads, update, create.
async fn service_steps(
    ctx: &Ctx<'_>,
    svc: &Service,
    backend: Backend,
    ids: &[String],
    rows: &mut Vec<Row>,
) {
    let o = ctx.opts;
    for &c in o.connections.iter().filter(|_| o.runs("read-id")) {
        rows.push(
            ctx.step(
                svc,
                Scenario::ReadById,
                backend,
                c,
                0,
                read_by_id(&ctx.token, ids),
            )
            .await,
        );
    }
    for &c in o.connections.iter().filter(|_| o.runs("read-scope")) {
        let make = read_by_scope(&ctx.token, ids.len());
        rows.push(
            ctx.step(svc, Scenario::ReadByScope, backend, c, 0, make)
                .await,
        );
    }
    for &c in o.connections.iter().filter(|_| o.runs("update")) {
        let make = update(&ctx.token, ids);
        rows.push(ctx.step(svc, Scenario::Update, backend, c, 0, make).await);
    }
    for &c in o.connections.iter().filter(|_| o.runs("create")) {
        let make = create(&ctx.token, ctx.step.load(Ordering::Relaxed));
        rows.push(
            ctx.step(svc, Scenario::Create, backend, c, o.latency_ms, make)
                .await,
        );
    }
    if o.latency_ms > 0 && o.runs("create") {
        if let Some(&c) = o.connections.iter().max() {
            let make = create(&ctx.token, ctx.step.load(Ordering::Relaxed));
            rows.push(ctx.step(svc, Scenario::Create, backend, c, 0, make).await);
        }
    }
}

async fn postgres(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let o = ctx.opts;
    let db = test_support::pg::TestDatabase::create()
        .await
        .context("PostgreSQL is not reachable (TEST_DATABASE_URL); pass --skip-postgres")?;
    report.pg_version = pg::psql(db.url(), "SHOW server_version", None).ok();
    let svc = ctx.launch(db.url(), QUIET_LOG)?;
    let ids = seed(ctx, &svc, o.seed).await?;
    pg::store_ids(db.url(), &ids)?;

    let mut rows = Vec::new();
    service_steps(ctx, &svc, Backend::Postgres, &ids, &mut rows).await;
    report.peak_rss_pg = procstat::memory_mib(svc.pid(), "VmHWM");

    // The ceiling: the same SELECTs straight from pgbench, service idle.
    let dir = pg::write_scripts(ids.len(), AUDIENCE)?;
    let secs = o.duration.as_secs_f64().ceil() as u64;
    for script in pg::Script::ALL.into_iter().filter(|_| o.runs("pgbench")) {
        for &c in &o.connections {
            eprint!("     pgbench    {:<34} C={c:<3} … ", script.name());
            let before = Snapshot::take(None);
            let t0 = Instant::now();
            let r = pg::pgbench(db.url(), &dir, script, c, secs)?;
            let cpu = before.until(&Snapshot::take(None), t0.elapsed().as_secs_f64());
            eprintln!("{:>8.0} tps  avg {:.2} ms", r.tps, r.latency_avg_ms);
            report.ceilings.push(CeilingRow {
                script,
                c,
                result: r,
                cpu,
            });
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    for row in &mut rows {
        let script = match row.scenario.as_str() {
            s if s == Scenario::ReadById.name() => pg::Script::ById,
            s if s == Scenario::ReadByScope.name() => pg::Script::ByScope,
            _ => continue,
        };
        row.ceiling = report
            .ceilings
            .iter()
            .find(|x| x.script == script && x.c == row.c)
            .map(|x| x.result.tps);
        row.best_ceiling = report
            .ceilings
            .iter()
            .filter(|x| x.script == script)
            .map(|x| x.result.tps)
            .reduce(f64::max);
    }
    drop(svc);

    if o.info_log_step && o.runs("read-id") {
        if let Some(&c) = o.connections.iter().max() {
            let svc = ctx.launch(db.url(), "info")?;
            let row = ctx
                .step(
                    &svc,
                    Scenario::ReadByIdInfoLog,
                    Backend::Postgres,
                    c,
                    0,
                    read_by_id(&ctx.token, &ids),
                )
                .await;
            rows.push(row);
        }
    }
    report.rows.extend(rows);
    Ok(())
}

async fn sqlite(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let path = std::env::temp_dir().join(format!(
        "bench-minigroups-{}.sqlite3",
        uuid::Uuid::new_v4().simple()
    ));
    let outcome = async {
        let svc = ctx.launch(&format!("sqlite://{}", path.display()), QUIET_LOG)?;
        let ids = seed(ctx, &svc, ctx.opts.seed).await?;
        let mut rows = Vec::new();
        service_steps(ctx, &svc, Backend::Sqlite, &ids, &mut rows).await;
        report.peak_rss_sqlite = procstat::memory_mib(svc.pid(), "VmHWM");
        report.rows.extend(rows);
        Ok(())
    }
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    outcome
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let started = Instant::now();
    let exe = std::env::current_exe().context("locating the bench binary")?;
    let exe_dir = exe.parent().context("the bench binary's directory")?;
    let binary = opts.app.clone().unwrap_or_else(|| exe_dir.join("app"));
    if !binary.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p app` (or `just bench`)",
            binary.display()
        );
    }
    let out = opts.out.clone().unwrap_or_else(|| {
        exe_dir
            .parent()
            .unwrap_or(exe_dir)
            .join("bench")
            .join("results.md")
    });

    let stands = Stands::start()?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": SUB, "aud": AUD, "exp": now() + 7 * 24 * 3600}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("signing the bench token")?;
    let ctx = Ctx {
        opts: &opts,
        binary: &binary,
        stands: &stands,
        secret,
        token,
        step: AtomicUsize::new(1),
    };
    let mut report = Report::new(&opts, &binary);
    eprintln!(
        "bench: {} s per step (+{} s warm-up), D = {} ms, {} seeded minigroups, pool {}, connections {:?}",
        opts.duration.as_secs_f64(),
        opts.warmup.as_secs_f64(),
        opts.latency_ms,
        opts.seed,
        opts.pool_size,
        opts.connections
    );
    if !opts.skip_postgres {
        postgres(&ctx, &mut report).await?;
    }
    if !opts.skip_sqlite {
        sqlite(&ctx, &mut report).await?;
    }
    report.wall = started.elapsed();
    let md = report.markdown();
    println!("{md}");
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, &md).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "bench: done in {:.0} s; table written to {}",
        report.wall.as_secs_f64(),
        out.display()
    );
    Ok(())
}
