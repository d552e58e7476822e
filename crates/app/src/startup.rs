//! Wiring: builds the adapters from the configuration, binds the listener
//! and returns a server that runs until stopped.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{App, HttpServer};
use anyhow::Context;
use domain::{
    BuiltinPolicy, Clock, ConferenceRooms, EventRooms, MinigroupRepository, Ports, Service,
    Storage, SystemClock,
};
use tracing::{info, warn};
use url::Url;

use crate::config::{Config, JwtAlgorithm};
use crate::metrics::{self, Metrics, PoolStatusFn};

/// The trusted development account whose token is printed when `JWT_KEY` is
/// unset.
pub const DEV_ACCOUNT_SUB: &str = "dev";
/// The audience of the development account.
pub const DEV_ACCOUNT_AUD: &str = "svc.dev.local";

/// A built service: the listener is bound, the stand-ins (if any) run.
pub struct Application {
    addr: SocketAddr,
    server: actix_web::dev::Server,
    _stands: Vec<devstand::Stand>,
}

impl Application {
    /// Connects the database (running migrations), starts stand-ins for
    /// unconfigured upstreams, binds `LISTEN_ADDR` and logs every default
    /// used as a warning.
    ///
    /// # Errors
    /// Any start-up failure: database, key file, bind.
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        let (repo, pool_status) = connect_repository(&config).await?;
        let metrics = Metrics::new(pool_status);

        let mut stands = Vec::new();
        let event_url = upstream_url(
            &mut stands,
            config.event_url.clone(),
            devstand::Kind::Event,
            "EVENT_URL",
        )?;
        let conference_url = upstream_url(
            &mut stands,
            config.conference_url.clone(),
            devstand::Kind::Conference,
            "CONFERENCE_URL",
        )?;
        let storage_url = upstream_url(
            &mut stands,
            config.storage_url.clone(),
            devstand::Kind::Storage,
            "STORAGE_URL",
        )?;

        let client = upstream_http::UpstreamClient::new(upstream_http::UpstreamConfig {
            token: config
                .upstream_token
                .as_ref()
                .map(|s| s.expose().to_owned()),
            timeout: config.upstream_timeout,
        })
        .context("building the upstream HTTP client")?
        .with_observer(metrics.upstream_observer());
        let events: Arc<dyn EventRooms> = Arc::new(upstream_http::HttpEventRooms::new(
            event_url,
            client.clone(),
        ));
        let conferences: Arc<dyn ConferenceRooms> = Arc::new(
            upstream_http::HttpConferenceRooms::new(conference_url, client.clone()),
        );
        let storage: Arc<dyn Storage> =
            Arc::new(upstream_http::HttpStorage::new(storage_url, client));

        let dev_secret = if config.jwt_key.is_none() {
            let secret = random_secret();
            warn!("JWT_KEY is unset: using a generated development secret (tokens die with the process)");
            config
                .trusted_accounts
                .push(format!("{DEV_ACCOUNT_SUB}.{DEV_ACCOUNT_AUD}"));
            Some(secret)
        } else {
            None
        };
        let authenticator = build_authenticator(&config, dev_secret.as_deref())?;
        if config.trusted_accounts.is_empty() {
            warn!("AUTHZ_TRUSTED_ACCOUNTS is empty: no account may create minigroups");
        }

        let service = Service::new(
            Ports {
                repo,
                events,
                conferences,
                storage,
                authz: Arc::new(BuiltinPolicy::new(config.trusted_accounts.clone())),
                clock: Arc::new(SystemClock),
            },
            Service::reservation_ttl_for(config.upstream_timeout),
        );
        let state = http_api::ApiState::new(Arc::new(service), Arc::new(authenticator))
            .with_metrics(metrics.http_hook());
        let metrics_routes = metrics::configure(metrics);

        // `/metrics` first: the API's scope answers every path.
        let server = HttpServer::new(move || {
            App::new()
                .configure(metrics_routes.clone())
                .configure(http_api::configure(state.clone()))
        })
        .shutdown_timeout(config.shutdown_grace.as_secs())
        .bind(config.listen_addr.as_str())
        .with_context(|| format!("binding LISTEN_ADDR {}", config.listen_addr))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .context("the listener has no address")?;
        let server = server.run();
        info!(%addr, "listening on {addr}");

        if let Some(secret) = dev_secret {
            print_dev_help(&secret, addr, storage_stand_url(&stands).as_deref());
        }
        Ok(Self {
            addr,
            server,
            _stands: stands,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until SIGTERM/SIGINT, then lets in-flight requests finish
    /// within the grace period.
    ///
    /// # Errors
    /// An I/O error of the server.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await?;
        info!("stopped");
        Ok(())
    }
}

/// The repository, and a reader of its pool's status for the metrics.
async fn connect_repository(
    config: &Config,
) -> anyhow::Result<(Arc<dyn MinigroupRepository>, PoolStatusFn)> {
    let url = config.database_url.as_str();
    if url.starts_with("sqlite:") {
        if url == crate::config::DEFAULT_DATABASE_URL {
            warn!("DATABASE_URL is unset: using the embedded SQLite database at var/minigroups.sqlite3");
        }
        let repo = Arc::new(
            store_sqlite::SqliteRepository::connect(url)
                .await
                .context("opening the SQLite database")?,
        );
        info!("database: SQLite, migrations applied");
        let pool = Arc::clone(&repo);
        let pool_status: PoolStatusFn = Arc::new(move || pool.pool_status().into());
        Ok((repo, pool_status))
    } else {
        let repo = Arc::new(
            store_postgres::PgRepository::connect(url, config.database_pool_size)
                .await
                .context("connecting to PostgreSQL")?,
        );
        info!(
            pool_size = config.database_pool_size,
            "database: PostgreSQL, migrations applied"
        );
        let pool = Arc::clone(&repo);
        let pool_status: PoolStatusFn = Arc::new(move || pool.pool_status().into());
        Ok((repo, pool_status))
    }
}

fn upstream_url(
    stands: &mut Vec<devstand::Stand>,
    configured: Option<Url>,
    kind: devstand::Kind,
    var: &str,
) -> anyhow::Result<Url> {
    if let Some(url) = configured {
        return Ok(url);
    }
    let stand = devstand::start(kind, SocketAddr::from(([127, 0, 0, 1], 0)))
        .with_context(|| format!("starting the local stand-in for {var}"))?;
    let url = Url::parse(&stand.url()).context("stand-in URL")?;
    warn!(
        "{var} is unset: started a local development stand-in at {url} (in memory, not for production)"
    );
    stands.push(stand);
    Ok(url)
}

fn build_authenticator(
    config: &Config,
    dev_secret: Option<&str>,
) -> anyhow::Result<http_api::Authenticator> {
    use http_api::{AuthConfig, JwtAlgorithm as Alg};
    let (algorithm, key) = match (dev_secret, &config.jwt_key) {
        (Some(secret), _) => (Alg::Hs256, secret.as_bytes().to_vec()),
        (None, Some(key)) => match config.jwt_algorithm {
            JwtAlgorithm::Hs256 => (Alg::Hs256, key.expose().as_bytes().to_vec()),
            alg => {
                let pem = std::fs::read(key.expose()).with_context(|| {
                    format!("JWT_KEY: reading the PEM public key {}", key.expose())
                })?;
                let alg = if alg == JwtAlgorithm::Rs256 {
                    Alg::Rs256
                } else {
                    Alg::Es256
                };
                (alg, pem)
            }
        },
        (None, None) => anyhow::bail!("JWT_KEY is required"),
    };
    http_api::Authenticator::new(AuthConfig {
        algorithm,
        key,
        issuer: config.jwt_issuer.clone(),
    })
    .context("JWT_KEY")
}

/// 244 random bits from the system's generator, as 64 hex digits.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn storage_stand_url(stands: &[devstand::Stand]) -> Option<String> {
    stands
        .iter()
        .find(|s| s.kind() == devstand::Kind::Storage)
        .map(devstand::Stand::url)
}

fn print_dev_help(secret: &str, addr: SocketAddr, storage: Option<&str>) {
    let exp = SystemClock.now() + 7 * 24 * 3600;
    match http_api::encode_hs256(secret.as_bytes(), DEV_ACCOUNT_SUB, DEV_ACCOUNT_AUD, exp) {
        Ok(token) => {
            warn!(
                "development token for the trusted account {DEV_ACCOUNT_SUB}.{DEV_ACCOUNT_AUD} printed below (valid 7 days)"
            );
            println!(
                "\nDevelopment bearer token (trusted account {DEV_ACCOUNT_SUB}.{DEV_ACCOUNT_AUD}):\n\n  export TOKEN={token}\n\nTry:\n\n  curl -s -X POST http://{addr}/api/v1/minigroups \\\n    -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n    -d '{{\"scope\": \"lesson-1\", \"audience\": \"usr.example.org\", \"host\": \"teacher1.usr.example.org\", \"tags\": {{\"course\": \"math\"}}}}'\n\n  curl -s http://{addr}/api/v1/audiences/usr.example.org/minigroups/lesson-1 -H \"Authorization: Bearer $TOKEN\"\n"
            );
            if let Some(storage) = storage {
                println!(
                    "Mark the recording of usr.example.org/lesson-1 present in the storage stand-in:\n\n  curl -s -X PUT {storage}/api/v2/backends/yandex/sets/ms.minigroup.usr.example.org::lesson-1/objects/mp4\n"
                );
            }
        }
        Err(e) => warn!(error = %e, "could not issue a development token"),
    }
}
