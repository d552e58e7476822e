//! Test support for the minigroup service: the repository contract suite and
//! builders of test data. A dev-dependency only.
//!
//! A store crate runs the whole contract with one line in an integration
//! test (it needs `tokio` as a dev-dependency for `#[tokio::test]`):
//!
//! ```ignore
//! test_support::repository_contract_tests!(my_factory());
//! ```
//!
//! where `my_factory()` is an async expression yielding anything that
//! implements [`IntoFixture`]: an `Arc<dyn MinigroupRepository>`, a tuple of
//! it and a guard kept alive for the test's duration, or an `Option` of
//! either (`None` skips the test, e.g. when no database server answers).

pub mod contract;
#[cfg(feature = "postgres")]
pub mod pg;

use std::any::Any;
use std::sync::Arc;

use domain::{
    AccountId, Audience, MinigroupId, MinigroupRepository, Reservation, Reserve, RoomRef, Rooms,
    Scope, Tags, TimeRange,
};
use uuid::Uuid;

/// A repository under test and whatever must live as long as the test.
pub type Fixture = (Arc<dyn MinigroupRepository>, Box<dyn Any + Send>);

/// What a contract-suite factory may yield.
pub trait IntoFixture {
    /// The repository and its guard, or `None` to skip the test.
    fn into_fixture(self) -> Option<Fixture>;
}

impl IntoFixture for Fixture {
    fn into_fixture(self) -> Option<Fixture> {
        Some(self)
    }
}

impl IntoFixture for Arc<dyn MinigroupRepository> {
    fn into_fixture(self) -> Option<Fixture> {
        Some((self, Box::new(())))
    }
}

impl<T: IntoFixture> IntoFixture for Option<T> {
    fn into_fixture(self) -> Option<Fixture> {
        self.and_then(IntoFixture::into_fixture)
    }
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An audience, panicking on invalid input (test data only).
pub fn audience(s: &str) -> Audience {
    Audience::new(s).expect("test audience must be valid")
}

/// A scope, panicking on invalid input (test data only).
pub fn scope(s: &str) -> Scope {
    Scope::new(s).expect("test scope must be valid")
}

/// An account id `label.audience`, panicking on invalid input.
pub fn account(s: &str) -> AccountId {
    AccountId::parse("account", s).expect("test account id must be valid")
}

/// A time range, panicking when `start >= end`.
pub fn time(start: Option<i64>, end: Option<i64>) -> TimeRange {
    TimeRange::new(start, end).expect("test time range must be valid")
}

/// A reserve, panicking when out of range.
pub fn reserve(n: i64) -> Reserve {
    Reserve::new(n).expect("test reserve must be valid")
}

/// Tags from a JSON object, panicking on anything else.
pub fn tags(value: serde_json::Value) -> Tags {
    Tags::from_value(value).expect("test tags must be a JSON object")
}

/// A reservation of `audience`/`scope` made now, with every optional field
/// set: a fresh id, a bounded time, nested tags, a reserve of 10 and host
/// `teacher1.<audience>`.
pub fn reservation(aud: &str, scp: &str) -> Reservation {
    Reservation {
        id: MinigroupId::random(),
        audience: audience(aud),
        scope: scope(scp),
        time: time(Some(1_767_261_600), Some(1_767_265_200)),
        tags: Some(tags(serde_json::json!({
            "course": "math",
            "level": 3,
            "nested": {"list": [1, "two", null], "flag": true},
        }))),
        reserve: Some(reserve(10)),
        host: Some(account(&format!("teacher1.{aud}"))),
        created_at: now(),
    }
}

/// A reservation of `audience`/`scope` made now with no optional field set:
/// unbounded time, no tags, reserve or host.
pub fn bare_reservation(aud: &str, scp: &str) -> Reservation {
    Reservation {
        time: TimeRange::unbounded(),
        tags: None,
        reserve: None,
        host: None,
        ..reservation(aud, scp)
    }
}

/// Two fresh rooms: the event room started now, the conference room at a
/// fixed time.
pub fn rooms() -> Rooms {
    Rooms {
        event: RoomRef {
            id: Uuid::new_v4(),
            start: Some(now()),
        },
        conference: RoomRef {
            id: Uuid::new_v4(),
            start: Some(1_767_261_600),
        },
    }
}

/// Two fresh rooms whose starts are unbounded.
pub fn rooms_without_starts() -> Rooms {
    Rooms {
        event: RoomRef {
            id: Uuid::new_v4(),
            start: None,
        },
        conference: RoomRef {
            id: Uuid::new_v4(),
            start: None,
        },
    }
}

/// Generates one `#[tokio::test]` per rule of the
/// [`domain::MinigroupRepository`] contract (see [`contract`]), each calling
/// `$factory` (an async expression yielding an [`IntoFixture`]) for a fresh
/// repository. The calling crate needs `tokio` (with `macros` and
/// `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! repository_contract_tests {
    ($factory:expr) => {
        $crate::repository_contract_tests!(@rules $factory;
            reserve_then_establish_round_trips_every_field,
            bare_minigroup_round_trips_nulls,
            pending_reservation_is_invisible,
            reserving_an_established_pair_conflicts,
            reserving_a_fresh_pending_pair_conflicts,
            stale_pending_reservation_is_taken_over,
            establish_of_unknown_or_established_id_is_not_found,
            release_deletes_pending_and_frees_the_pair,
            release_never_deletes_an_established_minigroup,
            update_applies_only_the_given_fields,
            update_of_unknown_id_is_not_found,
            replace_rooms_swaps_rooms_and_time,
            replace_rooms_of_unknown_id_is_not_found,
            concurrent_reserves_of_one_pair_have_one_winner,
            same_scope_in_two_audiences_is_fine,
            find_by_scope_tells_pairs_apart,
            ping_answers,
        );
    };
    (@rules $factory:expr; $($rule:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $rule() {
                let fixture = $crate::IntoFixture::into_fixture($factory.await);
                let Some((repo, guard)) = fixture else {
                    return;
                };
                $crate::contract::$rule(repo).await;
                drop(guard);
            }
        )+
    };
}
