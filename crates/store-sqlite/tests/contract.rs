//! The repository contract on SQLite: in memory (one test each) and on
//! temporary files, plus file-specific behaviour.

use std::path::PathBuf;
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use domain::{MinigroupId, MinigroupRepository, RepoError};
use store_sqlite::{SqliteRepository, StoreError};
use test_support::Fixture;

/// A database file in the temp dir, deleted (with its WAL files) on drop.
struct TempDb {
    dir: PathBuf,
    path: PathBuf,
}

impl TempDb {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("minigroups-test-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("nested").join("minigroups.sqlite3");
        Self { dir, path }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn memory() -> Fixture {
    let repo = SqliteRepository::connect("sqlite::memory:")
        .await
        .expect("open an in-memory database");
    (Arc::new(repo), Box::new(()))
}

async fn file() -> Fixture {
    let db = TempDb::new();
    let repo = SqliteRepository::connect(&db.url())
        .await
        .expect("open a file database");
    (Arc::new(repo), Box::new(db))
}

mod in_memory {
    test_support::repository_contract_tests!(super::memory());
}

mod on_file {
    test_support::repository_contract_tests!(super::file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_reserves_on_a_file_have_one_winner_and_no_lock_errors() {
    let db = TempDb::new();
    let repo = Arc::new(SqliteRepository::connect(&db.url()).await.expect("open"));
    for _ in 0..5 {
        test_support::contract::concurrent_reserves(repo.clone(), 20).await;
        // Free the pair for the next round by making it a different one.
        let m = repo
            .find_by_scope(
                &test_support::audience("usr.example.org"),
                &test_support::scope("contended"),
            )
            .await
            .expect("find")
            .expect("the winner is established");
        let mut conn = SqliteConnection::establish(&db.path.display().to_string()).expect("open");
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 5000; UPDATE minigroups SET scope = 'done-{}' WHERE id = '{}'",
            m.id, m.id
        ))
        .expect("rename the winner");
    }
    let status = repo.pool_status();
    assert_eq!(status.max_size, 4);
    assert!(status.size <= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_database_persists_uses_wal_and_reconnects_without_migrating_twice() {
    let db = TempDb::new();
    let r = test_support::reservation("usr.example.org", "persisted");
    {
        let repo = SqliteRepository::connect(&db.url()).await.expect("open");
        test_support::contract::create(&repo, &r).await;
    }
    assert!(db.path.exists(), "the file and its directories are created");
    let repo = SqliteRepository::connect(&format!("sqlite:{}", db.path.display()))
        .await
        .expect("reopen");
    let found = repo.find_by_id(r.id).await.expect("find").expect("present");
    assert_eq!(found.scope.as_str(), "persisted");

    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mut conn = SqliteConnection::establish(&db.path.display().to_string()).expect("open");
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut conn)
        .expect("journal mode");
    assert_eq!(mode.journal_mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_database_is_unavailable() {
    let db = TempDb::new();
    let repo = SqliteRepository::connect(&db.url()).await.expect("open");
    repo.ping().await.expect("ping");
    let mut conn = SqliteConnection::establish(&db.path.display().to_string()).expect("open");
    conn.batch_execute("PRAGMA busy_timeout = 5000; DROP TABLE minigroups")
        .expect("drop the table behind the repository's back");
    let err = repo
        .find_by_id(MinigroupId::random())
        .await
        .expect_err("the table is gone");
    assert!(matches!(err, RepoError::Unavailable(_)), "{err:?}");
    let err = repo
        .reserve(&test_support::reservation("usr.example.org", "x"), 0)
        .await
        .expect_err("the table is gone");
    assert!(matches!(err, RepoError::Unavailable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_stored_row_is_unavailable_not_a_panic() {
    let db = TempDb::new();
    let repo = SqliteRepository::connect(&db.url()).await.expect("open");
    let id = uuid::Uuid::new_v4();
    let mut conn = SqliteConnection::establish(&db.path.display().to_string()).expect("open");
    conn.batch_execute(&format!(
        "INSERT INTO minigroups (id, audience, scope, host, event_room_id, conference_room_id, \
         established, created_at) VALUES ('{id}', 'usr.example.org', 'bad', 'no-dot', \
         '{id}', '{id}', true, 0)"
    ))
    .expect("insert a row the domain rejects");
    let err = repo
        .find_by_id(MinigroupId::new(id))
        .await
        .expect_err("the host is not an account id");
    assert!(
        matches!(&err, RepoError::Unavailable(m) if m.contains("invalid")),
        "{err:?}"
    );
}

#[tokio::test]
async fn unopenable_paths_and_foreign_urls_fail_to_connect() {
    let db = TempDb::new();
    std::fs::create_dir_all(&db.dir).expect("mkdir");
    let file = db.dir.join("plain-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let under_a_file = format!("sqlite://{}/db.sqlite3", file.display());
    let err = SqliteRepository::connect(&under_a_file)
        .await
        .expect_err("a file is not a directory");
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    let err = SqliteRepository::connect(&format!("sqlite://{}", file.display()))
        .await
        .expect_err("not a database");
    assert!(
        matches!(err, StoreError::Connect { .. } | StoreError::Migrations(_)),
        "{err:?}"
    );
    let err = SqliteRepository::connect("postgres://localhost/db")
        .await
        .expect_err("not SQLite");
    assert!(matches!(err, StoreError::InvalidUrl(_)), "{err:?}");
}

#[tokio::test]
async fn memory_uses_one_connection() {
    let repo = SqliteRepository::connect("sqlite::memory:")
        .await
        .expect("open");
    let status = repo.pool_status();
    assert_eq!((status.max_size, status.size, status.available), (1, 1, 1));
    // Every call sees the same database.
    let r = test_support::reservation("usr.example.org", "same-db");
    test_support::contract::create(&repo, &r).await;
    let clone = repo.clone();
    assert!(clone.find_by_id(r.id).await.expect("find").is_some());
}
