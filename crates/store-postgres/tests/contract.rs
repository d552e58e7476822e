//! The repository contract on PostgreSQL: every test gets its own database.
//!
//! The server is `TEST_DATABASE_URL` (default: the local server). When it
//! does not answer, the tests print that they were skipped, unless
//! `REQUIRE_POSTGRES=1`, which turns the skip into a failure.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use domain::{MinigroupRepository, RepoError};
use store_postgres::{PgRepository, StoreError};
use test_support::pg::TestDatabase;
use test_support::Fixture;

/// A repository on a fresh, migrated database, and the database's guard.
async fn fixture() -> Option<Fixture> {
    let db = TestDatabase::create().await?;
    let repo = PgRepository::connect(db.url(), 4)
        .await
        .expect("connect to the test database");
    Some((Arc::new(repo), Box::new(db)))
}

test_support::repository_contract_tests!(fixture());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_to_an_unreachable_server_fails_fast() {
    let started = std::time::Instant::now();
    let err = PgRepository::connect("postgres://postgres@127.0.0.1:1/postgres", 2)
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, StoreError::Connect(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_database_is_unavailable() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let repo = PgRepository::connect(db.url(), 2).await.expect("connect");
    repo.ping().await.expect("ping while the database exists");
    let status = repo.pool_status();
    assert_eq!(status.max_size, 2);
    assert_eq!(status.size, 1);
    assert_eq!(status.available, 1);
    drop(db); // DROP DATABASE … WITH (FORCE) kills the pooled connection.
    let err = repo.ping().await.expect_err("the database is gone");
    assert!(matches!(err, RepoError::Unavailable(_)), "{err:?}");
    let err = repo
        .find_by_id(domain::MinigroupId::random())
        .await
        .expect_err("the database is gone");
    assert!(matches!(err, RepoError::Unavailable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_is_idempotent_on_a_migrated_database() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let first = PgRepository::connect(db.url(), 2)
        .await
        .expect("first connect");
    let second = PgRepository::connect(db.url(), 2)
        .await
        .expect("second connect finds nothing to migrate");
    let r = test_support::reservation("usr.example.org", "both");
    let m = test_support::contract::create(&first, &r).await;
    assert_eq!(second.find_by_id(r.id).await.expect("find"), Some(m));
    drop((first, second));
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_migrate_once() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let url = db.url().to_owned();
    let starts = (0..6).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PgRepository::connect(&url, 1).await })
    });
    let repos: Vec<PgRepository> = futures::future::join_all(starts)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("every replica starts"))
        .collect();
    for repo in &repos {
        repo.ping().await.expect("ping");
    }
    drop(repos);
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_stored_row_is_unavailable_not_a_panic() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let repo = PgRepository::connect(db.url(), 2).await.expect("connect");
    let id = uuid::Uuid::new_v4();
    let mut conn = AsyncPgConnection::establish(db.url())
        .await
        .expect("connect");
    conn.batch_execute(&format!(
        "INSERT INTO minigroups (id, audience, scope, host, event_room_id, conference_room_id, \
         established, created_at) VALUES ('{id}', 'usr.example.org', 'bad', 'no-dot', \
         '{id}', '{id}', true, 0)"
    ))
    .await
    .expect("insert a row the domain rejects");
    drop(conn);
    let err = repo
        .find_by_id(domain::MinigroupId::new(id))
        .await
        .expect_err("the host is not an account id");
    assert!(
        matches!(&err, RepoError::Unavailable(m) if m.contains("invalid")),
        "{err:?}"
    );
    drop(repo);
    drop(db);
}
