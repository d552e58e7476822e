//! The rules of [`domain::MinigroupRepository`], one async function each.
//! Every function takes a fresh, empty repository and panics when the rule
//! is broken. [`crate::repository_contract_tests!`] turns them into tests.

use std::sync::Arc;

use domain::{
    Minigroup, MinigroupChanges, MinigroupId, MinigroupRepository, RepoError, Reservation,
};

use crate::{
    account, audience, bare_reservation, now, reservation, reserve, rooms, rooms_without_starts,
    scope, time,
};

/// `stale_before` far in the past: no reservation is stale.
const NOTHING_IS_STALE: i64 = 0;

/// The minigroup `r` becomes once established with `rooms`.
pub fn expected(r: &Reservation, rooms: domain::Rooms) -> Minigroup {
    Minigroup {
        id: r.id,
        audience: r.audience.clone(),
        scope: r.scope.clone(),
        time: r.time,
        tags: r.tags.clone(),
        reserve: r.reserve,
        host: r.host.clone(),
        rooms,
        created_at: r.created_at,
    }
}

/// Reserves and establishes `r` with fresh rooms; returns the minigroup.
pub async fn create(repo: &dyn MinigroupRepository, r: &Reservation) -> Minigroup {
    repo.reserve(r, NOTHING_IS_STALE)
        .await
        .expect("reserving a free pair must succeed");
    repo.establish(r.id, rooms())
        .await
        .expect("establishing a pending reservation must succeed")
}

/// Reserve then establish makes the minigroup visible by id and by scope,
/// with every field as given.
pub async fn reserve_then_establish_round_trips_every_field(repo: Arc<dyn MinigroupRepository>) {
    let r = reservation("usr.example.org", "lesson-42");
    repo.reserve(&r, NOTHING_IS_STALE)
        .await
        .expect("reserve must succeed");
    let rooms = rooms();
    let established = repo
        .establish(r.id, rooms)
        .await
        .expect("establish must succeed");
    let want = expected(&r, rooms);
    assert_eq!(established, want, "establish returns the stored minigroup");
    assert_eq!(
        repo.find_by_id(r.id).await.expect("find_by_id"),
        Some(want.clone())
    );
    assert_eq!(
        repo.find_by_scope(&r.audience, &r.scope)
            .await
            .expect("find_by_scope"),
        Some(want)
    );
}

/// A minigroup with no optional field and unbounded room starts round-trips
/// its `NULL`s, and half-open time ranges round-trip too.
pub async fn bare_minigroup_round_trips_nulls(repo: Arc<dyn MinigroupRepository>) {
    let r = bare_reservation("usr.example.org", "bare");
    repo.reserve(&r, NOTHING_IS_STALE).await.expect("reserve");
    let rooms = rooms_without_starts();
    let m = repo.establish(r.id, rooms).await.expect("establish");
    assert_eq!(m, expected(&r, rooms));
    assert_eq!(repo.find_by_id(r.id).await.expect("find"), Some(m));

    for (i, t) in [time(Some(100), None), time(None, Some(200))]
        .into_iter()
        .enumerate()
    {
        let r = Reservation {
            time: t,
            ..bare_reservation("usr.example.org", &format!("half-open-{i}"))
        };
        let m = create(repo.as_ref(), &r).await;
        assert_eq!(m.time, t);
        let found = repo.find_by_id(r.id).await.expect("find").expect("present");
        assert_eq!(found.time, t);
    }
}

/// A pending reservation is invisible to `find_*`, `update` and
/// `replace_rooms`.
pub async fn pending_reservation_is_invisible(repo: Arc<dyn MinigroupRepository>) {
    let r = reservation("usr.example.org", "pending");
    repo.reserve(&r, NOTHING_IS_STALE).await.expect("reserve");
    assert_eq!(repo.find_by_id(r.id).await.expect("find_by_id"), None);
    assert_eq!(
        repo.find_by_scope(&r.audience, &r.scope)
            .await
            .expect("find_by_scope"),
        None
    );
    let changes = MinigroupChanges {
        reserve: Some(reserve(3)),
        ..MinigroupChanges::default()
    };
    assert_eq!(repo.update(r.id, &changes).await, Err(RepoError::NotFound));
    assert_eq!(
        repo.update(r.id, &MinigroupChanges::default()).await,
        Err(RepoError::NotFound),
        "an empty update of a pending reservation is NotFound too"
    );
    assert_eq!(
        repo.replace_rooms(r.id, rooms(), time(Some(1), Some(2)))
            .await,
        Err(RepoError::NotFound)
    );
    // Still pending and establishable afterwards.
    repo.establish(r.id, rooms())
        .await
        .expect("the reservation is untouched");
}

/// Reserving a pair held by an established minigroup is a conflict, however
/// late `stale_before` is.
pub async fn reserving_an_established_pair_conflicts(repo: Arc<dyn MinigroupRepository>) {
    let first = reservation("usr.example.org", "taken");
    let m = create(repo.as_ref(), &first).await;
    let second = reservation("usr.example.org", "taken");
    assert_eq!(
        repo.reserve(&second, NOTHING_IS_STALE).await,
        Err(RepoError::Conflict)
    );
    assert_eq!(
        repo.reserve(&second, i64::MAX).await,
        Err(RepoError::Conflict),
        "an established minigroup is never stale"
    );
    assert_eq!(repo.find_by_id(first.id).await.expect("find"), Some(m));
    assert_eq!(
        repo.establish(second.id, rooms()).await,
        Err(RepoError::NotFound)
    );
}

/// Reserving a pair held by a pending reservation made at or after
/// `stale_before` is a conflict.
pub async fn reserving_a_fresh_pending_pair_conflicts(repo: Arc<dyn MinigroupRepository>) {
    let first = reservation("usr.example.org", "busy");
    repo.reserve(&first, NOTHING_IS_STALE)
        .await
        .expect("reserve");
    let second = reservation("usr.example.org", "busy");
    assert_eq!(
        repo.reserve(&second, NOTHING_IS_STALE).await,
        Err(RepoError::Conflict)
    );
    assert_eq!(
        repo.reserve(&second, first.created_at).await,
        Err(RepoError::Conflict),
        "made exactly at stale_before is not stale"
    );
    // The first reservation is intact and the second never existed.
    assert_eq!(
        repo.establish(second.id, rooms()).await,
        Err(RepoError::NotFound)
    );
    let m = repo.establish(first.id, rooms()).await.expect("establish");
    assert_eq!(m.id, first.id);
}

/// A pending reservation made before `stale_before` is taken over: the new
/// reservation replaces every field, and establishing the old id fails.
pub async fn stale_pending_reservation_is_taken_over(repo: Arc<dyn MinigroupRepository>) {
    let old = Reservation {
        created_at: now() - 100,
        ..reservation("usr.example.org", "crashed")
    };
    repo.reserve(&old, NOTHING_IS_STALE)
        .await
        .expect("reserve old");
    let new = Reservation {
        time: time(Some(5), Some(6)),
        tags: None,
        reserve: Some(reserve(1)),
        host: Some(account("teacher2.usr.example.org")),
        ..reservation("usr.example.org", "crashed")
    };
    repo.reserve(&new, now() - 50)
        .await
        .expect("a stale reservation is taken over");
    assert_eq!(
        repo.establish(old.id, rooms()).await,
        Err(RepoError::NotFound),
        "the taken-over reservation cannot be established"
    );
    let rooms = rooms();
    let m = repo.establish(new.id, rooms).await.expect("establish new");
    assert_eq!(m, expected(&new, rooms));
    assert_eq!(
        repo.find_by_scope(&new.audience, &new.scope)
            .await
            .expect("find"),
        Some(m)
    );
    assert_eq!(repo.find_by_id(old.id).await.expect("find old"), None);
}

/// `establish` of an unknown id, or of an id already established, is
/// `NotFound` and changes nothing.
pub async fn establish_of_unknown_or_established_id_is_not_found(
    repo: Arc<dyn MinigroupRepository>,
) {
    assert_eq!(
        repo.establish(MinigroupId::random(), rooms()).await,
        Err(RepoError::NotFound)
    );
    let r = reservation("usr.example.org", "twice");
    let m = create(repo.as_ref(), &r).await;
    assert_eq!(
        repo.establish(r.id, rooms()).await,
        Err(RepoError::NotFound)
    );
    assert_eq!(repo.find_by_id(r.id).await.expect("find"), Some(m));
}

/// `release` deletes a pending reservation and frees its pair; releasing an
/// unknown id does nothing.
pub async fn release_deletes_pending_and_frees_the_pair(repo: Arc<dyn MinigroupRepository>) {
    let r = reservation("usr.example.org", "released");
    repo.reserve(&r, NOTHING_IS_STALE).await.expect("reserve");
    repo.release(r.id).await.expect("release");
    assert_eq!(
        repo.establish(r.id, rooms()).await,
        Err(RepoError::NotFound)
    );
    let again = reservation("usr.example.org", "released");
    repo.reserve(&again, NOTHING_IS_STALE)
        .await
        .expect("the pair is free again");
    repo.release(MinigroupId::random())
        .await
        .expect("releasing an unknown id is fine");
    repo.release(r.id).await.expect("releasing twice is fine");
    repo.establish(again.id, rooms())
        .await
        .expect("the new reservation survives");
}

/// `release` never deletes an established minigroup.
pub async fn release_never_deletes_an_established_minigroup(repo: Arc<dyn MinigroupRepository>) {
    let r = reservation("usr.example.org", "kept");
    let m = create(repo.as_ref(), &r).await;
    repo.release(r.id).await.expect("release");
    assert_eq!(repo.find_by_id(r.id).await.expect("find"), Some(m));
    assert_eq!(
        repo.reserve(&reservation("usr.example.org", "kept"), i64::MAX)
            .await,
        Err(RepoError::Conflict)
    );
}

/// `update` sets only the given fields (`Some(None)` clears a room start)
/// and returns the stored minigroup.
pub async fn update_applies_only_the_given_fields(repo: Arc<dyn MinigroupRepository>) {
    let r = reservation("usr.example.org", "updated");
    let m = create(repo.as_ref(), &r).await;
    let other = create(repo.as_ref(), &reservation("usr.example.org", "bystander")).await;

    let changes = MinigroupChanges {
        reserve: Some(reserve(25)),
        ..MinigroupChanges::default()
    };
    let after = repo.update(r.id, &changes).await.expect("update reserve");
    let mut want = m.clone();
    want.reserve = Some(reserve(25));
    assert_eq!(after, want);

    let changes = MinigroupChanges {
        time: Some(time(None, Some(1_767_270_000))),
        host: Some(account("teacher9.usr.example.org")),
        event_room_start: Some(Some(1_767_000_000)),
        conference_room_start: Some(None),
        ..MinigroupChanges::default()
    };
    let after = repo.update(r.id, &changes).await.expect("update more");
    want.time = time(None, Some(1_767_270_000));
    want.host = Some(account("teacher9.usr.example.org"));
    want.rooms.event.start = Some(1_767_000_000);
    want.rooms.conference.start = None;
    assert_eq!(after, want);
    assert_eq!(
        repo.find_by_id(r.id).await.expect("find"),
        Some(want.clone())
    );

    let unchanged = repo
        .update(r.id, &MinigroupChanges::default())
        .await
        .expect("an empty update returns the minigroup");
    assert_eq!(unchanged, want);
    assert_eq!(
        repo.find_by_id(other.id).await.expect("find bystander"),
        Some(other),
        "other minigroups are untouched"
    );
}

/// `update` of an unknown id is `NotFound`.
pub async fn update_of_unknown_id_is_not_found(repo: Arc<dyn MinigroupRepository>) {
    let changes = MinigroupChanges {
        reserve: Some(reserve(1)),
        ..MinigroupChanges::default()
    };
    assert_eq!(
        repo.update(MinigroupId::random(), &changes).await,
        Err(RepoError::NotFound)
    );
    assert_eq!(
        repo.update(MinigroupId::random(), &MinigroupChanges::default())
            .await,
        Err(RepoError::NotFound)
    );
}

/// `replace_rooms` swaps both rooms (ids and starts) and the time, and keeps
/// every other field.
pub async fn replace_rooms_swaps_rooms_and_time(repo: Arc<dyn MinigroupRepository>) {
    let r = reservation("usr.example.org", "recreated");
    let m = create(repo.as_ref(), &r).await;
    let new_rooms = rooms_without_starts();
    let new_time = time(Some(1_800_000_000), None);
    let after = repo
        .replace_rooms(r.id, new_rooms, new_time)
        .await
        .expect("replace_rooms");
    let want = Minigroup {
        rooms: new_rooms,
        time: new_time,
        ..m
    };
    assert_eq!(after, want);
    assert_eq!(repo.find_by_id(r.id).await.expect("find"), Some(want));
}

/// `replace_rooms` of an unknown id is `NotFound`.
pub async fn replace_rooms_of_unknown_id_is_not_found(repo: Arc<dyn MinigroupRepository>) {
    assert_eq!(
        repo.replace_rooms(MinigroupId::random(), rooms(), time(None, None))
            .await,
        Err(RepoError::NotFound)
    );
}

/// Of 20 concurrent reserves of one pair, exactly one succeeds and the rest
/// are conflicts.
pub async fn concurrent_reserves_of_one_pair_have_one_winner(repo: Arc<dyn MinigroupRepository>) {
    concurrent_reserves(repo, 20).await;
}

/// Runs `n` concurrent reserves of one pair from spawned tasks and checks
/// that exactly one wins and that the winner can be established.
pub async fn concurrent_reserves(repo: Arc<dyn MinigroupRepository>, n: usize) {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let repo = Arc::clone(&repo);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let r = reservation("usr.example.org", "contended");
                barrier.wait().await;
                (r.id, repo.reserve(&r, NOTHING_IS_STALE).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let (id, result) = task.await.expect("reserve task must not panic");
        match result {
            Ok(()) => winners.push(id),
            Err(RepoError::Conflict) => {}
            Err(e) => panic!("a concurrent reserve must be Ok or Conflict, got {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one reserve wins: {winners:?}");
    repo.establish(winners[0], rooms())
        .await
        .expect("the winner establishes");
}

/// The same scope in two audiences are two minigroups.
pub async fn same_scope_in_two_audiences_is_fine(repo: Arc<dyn MinigroupRepository>) {
    let a = create(repo.as_ref(), &reservation("usr.example.org", "shared")).await;
    let b = create(repo.as_ref(), &reservation("usr.example.net", "shared")).await;
    assert_ne!(a.id, b.id);
    assert_eq!(
        repo.find_by_scope(&audience("usr.example.org"), &scope("shared"))
            .await
            .expect("find a"),
        Some(a)
    );
    assert_eq!(
        repo.find_by_scope(&audience("usr.example.net"), &scope("shared"))
            .await
            .expect("find b"),
        Some(b)
    );
}

/// `find_by_scope` matches audience and scope exactly, and unknown ids and
/// pairs are `None`.
pub async fn find_by_scope_tells_pairs_apart(repo: Arc<dyn MinigroupRepository>) {
    let m = create(repo.as_ref(), &reservation("usr.example.org", "Lesson")).await;
    for (aud, scp) in [
        ("usr.example.org", "lesson"),
        ("usr.example.org", "Lesson "),
        ("USR.example.org", "Lesson"),
        ("example.org", "Lesson"),
    ] {
        assert_eq!(
            repo.find_by_scope(&audience(aud), &scope(scp))
                .await
                .expect("find"),
            None,
            "{aud}/{scp}"
        );
    }
    assert_eq!(
        repo.find_by_scope(&audience("usr.example.org"), &scope("Lesson"))
            .await
            .expect("find"),
        Some(m)
    );
    assert_eq!(
        repo.find_by_id(MinigroupId::random()).await.expect("find"),
        None
    );
}

/// `ping` answers while the database does.
pub async fn ping_answers(repo: Arc<dyn MinigroupRepository>) {
    repo.ping().await.expect("ping");
}
