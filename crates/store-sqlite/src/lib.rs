//! The minigroup repository on SQLite.
//!
//! [`SqliteRepository`] implements [`domain::MinigroupRepository`] on the
//! bundled SQLite through diesel-async's [`SyncConnectionWrapper`] (every
//! query runs on tokio's blocking pool). [`SqliteRepository::connect`] runs
//! the embedded migrations (`migrations/sqlite`).
//!
//! A file database uses WAL journaling, a 5 s busy timeout and a small
//! deadpool pool; `sqlite::memory:` uses exactly one shared connection,
//! since every in-memory connection is a database of its own.

mod row;
mod schema;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::upsert::excluded;
use diesel::{Connection, ConnectionError, SqliteConnection};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use domain::{
    Audience, Minigroup, MinigroupChanges, MinigroupId, MinigroupRepository, RepoError,
    Reservation, Rooms, Scope, TimeRange,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::row::{MinigroupChangeset, MinigroupRow, NewMinigroupRow, RoomsChangeset};

/// The SQLite migrations, embedded at compile time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Connections in the pool of a file database.
const POOL_SIZE: usize = 4;

/// How long SQLite waits for a lock held by another connection, in ms.
const BUSY_TIMEOUT_MS: u32 = 5000;

/// How long a repository call waits for a connection before it reports the
/// database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings every connection to a file database gets.
fn connection_pragmas() -> String {
    format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = NORMAL;"
    )
}

/// The async connection type: a sync SQLite connection run on the blocking pool.
type Conn = SyncConnectionWrapper<SqliteConnection>;

/// Why [`SqliteRepository::connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is not `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`.
    #[error("invalid SQLite URL {0:?}: expected sqlite://PATH, sqlite:PATH or sqlite::memory:")]
    InvalidUrl(String),
    /// The database file's directory could not be created.
    #[error("cannot create the directory of the SQLite database {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened or configured.
    #[error("cannot open the SQLite database {path}: {source}")]
    Connect {
        /// The database file (or `:memory:`).
        path: String,
        /// What went wrong.
        #[source]
        source: ConnectionError,
    },
    /// A migration failed.
    #[error("cannot run the SQLite migrations: {0}")]
    Migrations(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The connection pool could not be built.
    #[error("cannot build the SQLite connection pool: {0}")]
    Pool(String),
}

/// A snapshot of the connections, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the repository opens (1 for `sqlite::memory:`).
    pub max_size: usize,
    /// Connections currently open.
    pub size: usize,
    /// Open connections not in use.
    pub available: usize,
    /// Callers waiting for a connection (always 0 for `sqlite::memory:`,
    /// which does not count them).
    pub waiting: usize,
}

/// Where a database URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `sqlite::memory:`.
    Memory,
    /// A database file.
    File(PathBuf),
}

/// Parses `sqlite://PATH`, `sqlite:PATH` or `sqlite::memory:`; a query
/// string (`?mode=rwc`) is ignored.
fn parse_url(url: &str) -> Result<Target, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::InvalidUrl(url.to_string()))?;
    let path = rest.split_once('?').map_or(rest, |(path, _)| path);
    match path {
        "" => Err(StoreError::InvalidUrl(url.to_string())),
        ":memory:" => Ok(Target::Memory),
        path => Ok(Target::File(PathBuf::from(path))),
    }
}

/// The connections: a pool for a file, one shared connection for memory.
#[derive(Clone)]
enum Connections {
    Pool(Pool<Conn>),
    Single(Arc<Mutex<Conn>>),
}

/// A connection in use.
enum ConnGuard<'a> {
    Pooled(Object<Conn>),
    Single(MutexGuard<'a, Conn>),
}

impl Deref for ConnGuard<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match self {
            ConnGuard::Pooled(c) => c,
            ConnGuard::Single(c) => c,
        }
    }
}

impl DerefMut for ConnGuard<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        match self {
            ConnGuard::Pooled(c) => c,
            ConnGuard::Single(c) => c,
        }
    }
}

/// The minigroup repository on SQLite.
#[derive(Clone)]
pub struct SqliteRepository {
    conns: Connections,
}

impl std::fmt::Debug for SqliteRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteRepository")
            .field("pool", &self.pool_status())
            .finish()
    }
}

impl SqliteRepository {
    /// Opens `url` (`sqlite://PATH`, relative or absolute, `sqlite:PATH` or
    /// `sqlite::memory:`), creating the file and its directories, and runs
    /// the pending migrations.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is malformed, the file cannot be created
    /// or opened, or a migration fails.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        match parse_url(url)? {
            Target::Memory => Self::memory().await,
            Target::File(path) => Self::file(path).await,
        }
    }

    async fn memory() -> Result<Self, StoreError> {
        let conn = blocking(|| {
            let mut conn = open(":memory:", "PRAGMA foreign_keys = ON;")?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await?;
        Ok(Self {
            conns: Connections::Single(Arc::new(Mutex::new(SyncConnectionWrapper::new(conn)))),
        })
    }

    async fn file(path: PathBuf) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let location = path_str(&path)?;
        let setup = location.clone();
        blocking(move || {
            let mut conn = open(
                &setup,
                &format!("{} PRAGMA journal_mode = WAL;", connection_pragmas()),
            )?;
            migrate(&mut conn)
        })
        .await?;

        let mut config = ManagerConfig::<Conn>::default();
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(|url| {
            let url = url.to_string();
            Box::pin(async move {
                let mut conn = Conn::establish(&url).await?;
                conn.batch_execute(&connection_pragmas())
                    .await
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(conn)
            })
        });
        let manager = AsyncDieselConnectionManager::<Conn>::new_with_config(location, config);
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Self {
            conns: Connections::Pool(pool),
        })
    }

    /// The connections' current state.
    pub fn pool_status(&self) -> PoolStatus {
        match &self.conns {
            Connections::Pool(pool) => {
                let s = pool.status();
                PoolStatus {
                    max_size: s.max_size,
                    size: s.size,
                    available: s.available,
                    waiting: s.waiting,
                }
            }
            Connections::Single(conn) => PoolStatus {
                max_size: 1,
                size: 1,
                available: usize::from(conn.try_lock().is_ok()),
                waiting: 0,
            },
        }
    }

    async fn conn(&self) -> Result<ConnGuard<'_>, RepoError> {
        let timed_out =
            || RepoError::Unavailable(format!("no SQLite connection within {ACQUIRE_TIMEOUT:?}"));
        match &self.conns {
            Connections::Pool(pool) => {
                match tokio::time::timeout(ACQUIRE_TIMEOUT, pool.get()).await {
                    Ok(Ok(conn)) => Ok(ConnGuard::Pooled(conn)),
                    Ok(Err(e)) => Err(RepoError::Unavailable(format!("no SQLite connection: {e}"))),
                    Err(_) => Err(timed_out()),
                }
            }
            Connections::Single(conn) => tokio::time::timeout(ACQUIRE_TIMEOUT, conn.lock())
                .await
                .map(ConnGuard::Single)
                .map_err(|_| timed_out()),
        }
    }
}

fn path_str(path: &Path) -> Result<String, StoreError> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| StoreError::InvalidUrl(path.display().to_string()))
}

/// Runs blocking setup work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Migrations(Box::new(e)))?
}

/// Opens a sync connection and applies `pragmas`.
fn open(location: &str, pragmas: &str) -> Result<SqliteConnection, StoreError> {
    let fail = |source| StoreError::Connect {
        path: location.to_string(),
        source,
    };
    let mut conn = SqliteConnection::establish(location).map_err(fail)?;
    diesel::connection::SimpleConnection::batch_execute(&mut conn, pragmas)
        .map_err(|e| fail(ConnectionError::CouldntSetupConfiguration(e)))?;
    Ok(conn)
}

/// Runs the pending migrations on a sync connection.
fn migrate(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(StoreError::Migrations)?;
    for version in applied {
        tracing::info!(migration.version = %version, "applied SQLite migration");
    }
    Ok(())
}

/// Maps a driver error at the seam: unique violation → `Conflict`, anything
/// else → `Unavailable` (its text is for logs only).
fn db_error(e: DieselError) -> RepoError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => RepoError::Conflict,
        other => RepoError::Unavailable(format!("SQLite: {other}")),
    }
}

/// Converts an `UPDATE … RETURNING` result: no row → `NotFound`.
fn returned(row: Result<Option<MinigroupRow>, DieselError>) -> Result<Minigroup, RepoError> {
    row.map_err(db_error)?
        .ok_or(RepoError::NotFound)
        .and_then(Minigroup::try_from)
}

#[async_trait]
impl MinigroupRepository for SqliteRepository {
    #[tracing::instrument(skip_all, fields(minigroup.id = %r.id))]
    async fn reserve(&self, r: &Reservation, stale_before: i64) -> Result<(), RepoError> {
        use crate::schema::minigroups::dsl::*;
        let upsert = diesel::insert_into(minigroups)
            .values(NewMinigroupRow::from(r))
            .on_conflict((audience, scope))
            .do_update()
            .set((
                id.eq(excluded(id)),
                time_start.eq(excluded(time_start)),
                time_end.eq(excluded(time_end)),
                tags.eq(excluded(tags)),
                reserve.eq(excluded(reserve)),
                host.eq(excluded(host)),
                event_room_id.eq(excluded(event_room_id)),
                event_room_start.eq(excluded(event_room_start)),
                conference_room_id.eq(excluded(conference_room_id)),
                conference_room_start.eq(excluded(conference_room_start)),
                established.eq(false),
                created_at.eq(excluded(created_at)),
            ));
        // `ON CONFLICT … DO UPDATE … WHERE`: only a stale pending row is taken over.
        let upsert = diesel::query_dsl::methods::FilterDsl::filter(
            upsert,
            established.eq(false).and(created_at.lt(stale_before)),
        );
        let mut conn = self.conn().await?;
        let written = upsert.execute(&mut *conn).await.map_err(db_error)?;
        if written == 0 {
            return Err(RepoError::Conflict);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(minigroup.id = %mid))]
    async fn establish(&self, mid: MinigroupId, rooms: Rooms) -> Result<Minigroup, RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
        let row = diesel::update(
            minigroups
                .filter(id.eq(mid.to_string()))
                .filter(established.eq(false)),
        )
        .set((RoomsChangeset::from(rooms), established.eq(true)))
        .returning(MinigroupRow::as_returning())
        .get_result(&mut *conn)
        .await
        .optional();
        returned(row)
    }

    #[tracing::instrument(skip_all, fields(minigroup.id = %mid))]
    async fn release(&self, mid: MinigroupId) -> Result<(), RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
        diesel::delete(
            minigroups
                .filter(id.eq(mid.to_string()))
                .filter(established.eq(false)),
        )
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(minigroup.id = %mid))]
    async fn find_by_id(&self, mid: MinigroupId) -> Result<Option<Minigroup>, RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
        minigroups
            .filter(id.eq(mid.to_string()))
            .filter(established.eq(true))
            .select(MinigroupRow::as_select())
            .first(&mut *conn)
            .await
            .optional()
            .map_err(db_error)?
            .map(Minigroup::try_from)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(minigroup.audience = %aud, minigroup.scope = %scp))]
    async fn find_by_scope(
        &self,
        aud: &Audience,
        scp: &Scope,
    ) -> Result<Option<Minigroup>, RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
        minigroups
            .filter(audience.eq(aud.as_str()))
            .filter(scope.eq(scp.as_str()))
            .filter(established.eq(true))
            .select(MinigroupRow::as_select())
            .first(&mut *conn)
            .await
            .optional()
            .map_err(db_error)?
            .map(Minigroup::try_from)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(minigroup.id = %mid))]
    async fn update(
        &self,
        mid: MinigroupId,
        changes: &MinigroupChanges,
    ) -> Result<Minigroup, RepoError> {
        use crate::schema::minigroups::dsl::*;
        let Some(changeset) = MinigroupChangeset::of(changes) else {
            return self.find_by_id(mid).await?.ok_or(RepoError::NotFound);
        };
        let mut conn = self.conn().await?;
        let row = diesel::update(
            minigroups
                .filter(id.eq(mid.to_string()))
                .filter(established.eq(true)),
        )
        .set(&changeset)
        .returning(MinigroupRow::as_returning())
        .get_result(&mut *conn)
        .await
        .optional();
        returned(row)
    }

    #[tracing::instrument(skip_all, fields(minigroup.id = %mid))]
    async fn replace_rooms(
        &self,
        mid: MinigroupId,
        rooms: Rooms,
        time: TimeRange,
    ) -> Result<Minigroup, RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
        let row = diesel::update(
            minigroups
                .filter(id.eq(mid.to_string()))
                .filter(established.eq(true)),
        )
        .set((
            RoomsChangeset::from(rooms),
            time_start.eq(time.start()),
            time_end.eq(time.end()),
        ))
        .returning(MinigroupRow::as_returning())
        .get_result(&mut *conn)
        .await
        .optional();
        returned(row)
    }

    async fn ping(&self) -> Result<(), RepoError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1")
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_memory_or_a_file() {
        let cases = [
            ("sqlite::memory:", Some(Target::Memory)),
            ("sqlite://:memory:", Some(Target::Memory)),
            (
                "sqlite://var/minigroups.sqlite3",
                Some(Target::File("var/minigroups.sqlite3".into())),
            ),
            (
                "sqlite:///tmp/m.sqlite3",
                Some(Target::File("/tmp/m.sqlite3".into())),
            ),
            ("sqlite:m.db", Some(Target::File("m.db".into()))),
            ("sqlite://m.db?mode=rwc", Some(Target::File("m.db".into()))),
            ("sqlite://", None),
            ("sqlite:", None),
            ("postgres://localhost/x", None),
            ("m.db", None),
        ];
        for (url, want) in cases {
            assert_eq!(parse_url(url).ok(), want, "{url}");
        }
    }

    #[test]
    fn unique_violations_are_conflicts_and_the_rest_unavailable() {
        let unique = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("UNIQUE constraint failed".to_string()),
        );
        assert_eq!(db_error(unique), RepoError::Conflict);
        assert!(matches!(
            db_error(DieselError::BrokenTransactionManager),
            RepoError::Unavailable(_)
        ));
    }
}
