//! The minigroup repository on PostgreSQL.
//!
//! [`PgRepository`] implements [`domain::MinigroupRepository`] on
//! diesel-async's [`AsyncPgConnection`] behind a deadpool pool. No system
//! `libpq` is needed: the driver is `tokio-postgres`. [`PgRepository::connect`]
//! runs the embedded migrations (`migrations/postgres`) before it builds the
//! pool.

mod row;
mod schema;

use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::upsert::excluded;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use domain::{
    Audience, Minigroup, MinigroupChanges, MinigroupId, MinigroupRepository, RepoError,
    Reservation, Rooms, Scope, TimeRange,
};

use crate::row::{MinigroupChangeset, MinigroupRow, NewMinigroupRow, RoomsChangeset};

/// The PostgreSQL migrations, embedded at compile time.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long `connect` waits for the first connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a repository call waits for a pooled connection (including
/// opening a new one) before it reports the database unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why [`PgRepository::connect`] failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] diesel::ConnectionError),
    /// The database did not answer within the connect timeout.
    #[error("cannot connect to PostgreSQL: no answer within {0:?}")]
    ConnectTimeout(Duration),
    /// A migration failed.
    #[error("cannot run the PostgreSQL migrations: {0}")]
    Migrations(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The connection pool could not be built.
    #[error("cannot build the PostgreSQL connection pool: {0}")]
    Pool(String),
}

/// A snapshot of the connection pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// The most connections the pool opens.
    pub max_size: usize,
    /// Connections currently open.
    pub size: usize,
    /// Open connections not in use.
    pub available: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// The minigroup repository on PostgreSQL.
#[derive(Clone)]
pub struct PgRepository {
    pool: Pool<AsyncPgConnection>,
}

impl std::fmt::Debug for PgRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRepository")
            .field("pool", &self.pool_status())
            .finish()
    }
}

impl PgRepository {
    /// Connects to `url` (`postgres://…`), runs the pending migrations and
    /// builds a pool of at most `max_size` connections (at least one).
    ///
    /// # Errors
    /// [`StoreError`] when the database cannot be reached, a migration fails
    /// or the pool cannot be built.
    pub async fn connect(url: &str, max_size: usize) -> Result<Self, StoreError> {
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, AsyncPgConnection::establish(url))
            .await
            .map_err(|_| StoreError::ConnectTimeout(CONNECT_TIMEOUT))?
            .map_err(StoreError::Connect)?;
        run_migrations(conn).await?;

        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            url,
            manager_config(),
        );
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(Self { pool })
    }

    /// The connection pool's current state.
    pub fn pool_status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }

    async fn conn(&self) -> Result<Object<AsyncPgConnection>, RepoError> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, self.pool.get()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(RepoError::Unavailable(format!(
                "no PostgreSQL connection: {e}"
            ))),
            Err(_) => Err(RepoError::Unavailable(format!(
                "no PostgreSQL connection within {ACQUIRE_TIMEOUT:?}"
            ))),
        }
    }
}

/// Runs the pending migrations on `conn` in a blocking task (diesel's
/// migration harness is synchronous).
/// The pool's connection manager settings: a connection is checked for a
/// broken state on check-out, without a `SELECT 1` round trip (the default
/// `Verified` method doubles the round trips of every query). A connection
/// the server dropped fails its next query (that request answers 503) and
/// is then discarded.
fn manager_config() -> ManagerConfig<AsyncPgConnection> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config
}

/// The advisory lock key that serialises migrations across replicas.
const MIGRATION_LOCK_KEY: i64 = 0x6d69_6e69_6772_6f75; // "minigrou"

async fn run_migrations(conn: AsyncPgConnection) -> Result<(), StoreError> {
    let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(conn);
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        // Replicas starting together on one database take turns: the
        // session-level advisory lock is held while migrations run.
        wrapper.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
        let applied = wrapper.run_pending_migrations(MIGRATIONS).map(|applied| {
            for version in applied {
                tracing::info!(migration.version = %version, "applied PostgreSQL migration");
            }
        });
        wrapper.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
        applied
    })
    .await
    .map_err(|e| StoreError::Migrations(Box::new(e)))?
    .map_err(StoreError::Migrations)
}

/// Maps a driver error at the seam: unique violation → `Conflict`, anything
/// else → `Unavailable` (its text is for logs only).
fn db_error(e: DieselError) -> RepoError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => RepoError::Conflict,
        other => RepoError::Unavailable(format!("PostgreSQL: {other}")),
    }
}

/// Converts an `UPDATE … RETURNING` result: no row → `NotFound`.
fn returned(row: Result<Option<MinigroupRow>, DieselError>) -> Result<Minigroup, RepoError> {
    row.map_err(db_error)?
        .ok_or(RepoError::NotFound)
        .and_then(Minigroup::try_from)
}

#[async_trait]
impl MinigroupRepository for PgRepository {
    #[tracing::instrument(skip_all, fields(minigroup.id = %r.id))]
    async fn reserve(&self, r: &Reservation, stale_before: i64) -> Result<(), RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
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
        let written = diesel::query_dsl::methods::FilterDsl::filter(
            upsert,
            established.eq(false).and(created_at.lt(stale_before)),
        )
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
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
                .filter(id.eq(mid.as_uuid()))
                .filter(established.eq(false)),
        )
        .set((RoomsChangeset::from(rooms), established.eq(true)))
        .returning(MinigroupRow::as_returning())
        .get_result(&mut conn)
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
                .filter(id.eq(mid.as_uuid()))
                .filter(established.eq(false)),
        )
        .execute(&mut conn)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(minigroup.id = %mid))]
    async fn find_by_id(&self, mid: MinigroupId) -> Result<Option<Minigroup>, RepoError> {
        use crate::schema::minigroups::dsl::*;
        let mut conn = self.conn().await?;
        minigroups
            .filter(id.eq(mid.as_uuid()))
            .filter(established.eq(true))
            .select(MinigroupRow::as_select())
            .first(&mut conn)
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
            .first(&mut conn)
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
                .filter(id.eq(mid.as_uuid()))
                .filter(established.eq(true)),
        )
        .set(&changeset)
        .returning(MinigroupRow::as_returning())
        .get_result(&mut conn)
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
                .filter(id.eq(mid.as_uuid()))
                .filter(established.eq(true)),
        )
        .set((
            RoomsChangeset::from(rooms),
            time_start.eq(time.start()),
            time_end.eq(time.end()),
        ))
        .returning(MinigroupRow::as_returning())
        .get_result(&mut conn)
        .await
        .optional();
        returned(row)
    }

    async fn ping(&self) -> Result<(), RepoError> {
        let mut conn = self.conn().await?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_conflicts_and_the_rest_unavailable() {
        let unique = DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_string()),
        );
        assert_eq!(db_error(unique), RepoError::Conflict);
        let check = DieselError::DatabaseError(
            DatabaseErrorKind::CheckViolation,
            Box::new("check".to_string()),
        );
        assert!(matches!(db_error(check), RepoError::Unavailable(_)));
        assert!(matches!(
            db_error(DieselError::BrokenTransactionManager),
            RepoError::Unavailable(_)
        ));
    }
}
