"""UniqueLock and LockRenewer on real Redis and on fakeredis."""

from __future__ import annotations

import time

from worker.unique_lock import LOCK_KEY, LockRenewer, UniqueLock


def test_acquire_sets_token_and_ttl(any_redis):
    lock = UniqueLock(any_redis)

    assert lock.acquire("job-a")
    assert any_redis.get(LOCK_KEY) == b"job-a"
    assert 295 <= any_redis.ttl(LOCK_KEY) <= 300


def test_second_acquire_fails(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")

    assert not lock.acquire("job-b")
    assert lock.state().holder == "job-a"


def test_release_with_foreign_token_keeps_lock(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")

    assert not lock.release("job-b")
    assert any_redis.get(LOCK_KEY) == b"job-a"


def test_release_with_own_token_deletes_lock(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")

    assert lock.release("job-a")
    assert any_redis.get(LOCK_KEY) is None
    assert lock.state().holder is None


def test_renew_restores_ttl_for_owner_only(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")
    any_redis.expire(LOCK_KEY, 10)

    assert not lock.renew("job-b")
    assert any_redis.ttl(LOCK_KEY) <= 10
    assert lock.renew("job-a")
    assert any_redis.ttl(LOCK_KEY) >= 295


def test_state_reports_holder_and_seconds_left(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")

    state = lock.state()

    assert state.holder == "job-a"
    assert 295 <= state.seconds_left <= 300
    assert state.taken_at is not None


def test_force_release_returns_former_holder(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")

    assert lock.force_release() == "job-a"
    assert not any_redis.exists(LOCK_KEY)


def test_renewer_keeps_short_lock_alive(real_redis):
    lock = UniqueLock(real_redis, ttl_seconds=1)
    lock.acquire("job-a")

    with LockRenewer(lock, "job-a", every_seconds=0.2) as renewer:
        time.sleep(2.5)
        assert lock.owns("job-a")
        assert not renewer.lost.is_set()


def test_renewer_flags_lost_lock(real_redis):
    lock = UniqueLock(real_redis, ttl_seconds=30)
    lock.acquire("job-a")

    with LockRenewer(lock, "job-a", every_seconds=0.1) as renewer:
        lock.force_release()
        lock.acquire("job-b")
        assert renewer.lost.wait(2)

    assert lock.owns("job-b")


def test_unrenewed_lock_lapses(real_redis):
    lock = UniqueLock(real_redis, ttl_seconds=1)
    lock.acquire("killed-job")

    time.sleep(1.5)

    assert lock.state().holder is None
    assert lock.acquire("next-job")


def test_newer_attempt_takes_over_renewal(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")

    assert lock.begin_attempt("job-a", "attempt-1")
    assert lock.begin_attempt("job-a", "attempt-2")

    assert not lock.renew("job-a", "attempt-1")
    assert lock.renew("job-a", "attempt-2")


def test_older_attempt_cannot_release(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-a")
    lock.begin_attempt("job-a", "attempt-1")
    lock.begin_attempt("job-a", "attempt-2")

    assert not lock.release("job-a", "attempt-1")
    assert lock.owns("job-a")
    assert lock.release("job-a", "attempt-2")
    assert lock.state().holder is None


def test_attempt_needs_the_lock(any_redis):
    lock = UniqueLock(any_redis)
    lock.acquire("job-b")

    assert not lock.begin_attempt("job-a", "attempt-1")


def test_renewer_stops_older_attempt(real_redis):
    lock = UniqueLock(real_redis, ttl_seconds=30)
    lock.acquire("job-a")
    lock.begin_attempt("job-a", "attempt-1")

    with LockRenewer(lock, "job-a", every_seconds=0.1, attempt="attempt-1") as renewer:
        lock.begin_attempt("job-a", "attempt-2")
        assert renewer.lost.wait(2)

    assert lock.owns("job-a")
