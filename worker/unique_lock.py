"""The lock that keeps one SyncResellerUsageJob queued or running at a time.

The lock is one Redis string, `usage-sync:unique:SyncResellerUsageJob`, whose
value is the RQ job id that owns it (the token). Retries keep their job id,
so a retried job still owns the lock. Timeline of one sync:

    dispatch   SET key <job id> NX EX 300   -> enqueue the job with that id
    running    every 60 s: EXPIRE key 300 if GET key == <job id>
    success    DEL key if GET key == <job id>
    failure    the same, but only after the last attempt
    SIGKILL    nothing renews the key, so it lapses within 300 s

Every write after the dispatch is a compare-and-set in a Lua script, so a
job never extends or deletes a lock that another job took after its own
lapsed.

Each attempt also writes its own random token to an `:attempt` key when it
starts, and renews and releases only while that key is still its own. RQ
retries keep the job id, so if RQ wrongly marks a running job abandoned
(its worker's parent process died alone), the retry takes the attempt key
over, and the older attempt's next renewal fails and stops it between
resellers instead of letting both run on.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis

from worker.config import LOCK_TTL_SECONDS

logger = logging.getLogger(__name__)

LOCK_KEY = "usage-sync:unique:SyncResellerUsageJob"

# KEYS: lock, taken-at, attempt. ARGV: job id, attempt token ('' = any attempt).
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
if ARGV[2] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[2] then
    return 0
end
redis.call('DEL', KEYS[2], KEYS[3])
return redis.call('DEL', KEYS[1])
"""

# KEYS: lock, taken-at, attempt. ARGV: job id, TTL, attempt token ('' = any attempt).
_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[3] then
    return 0
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return redis.call('EXPIRE', KEYS[1], ARGV[2])
"""

# KEYS: lock, attempt. ARGV: job id, attempt token, TTL.
_BEGIN_ATTEMPT_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class LockState:
    """Who holds the lock and for how long; `holder` is None when it is free."""

    holder: str | None
    seconds_left: int | None
    taken_at: float | None


class UniqueLock:
    """Compare-and-set operations on the sync's unique lock."""

    def __init__(self, connection: redis.Redis, ttl_seconds: int = LOCK_TTL_SECONDS, key: str = LOCK_KEY):
        self.connection = connection
        self.ttl_seconds = ttl_seconds
        self.key = key
        self.taken_at_key = f"{key}:taken-at"
        # The attempt of the owning job that currently runs; a newer attempt of the same
        # job id (an RQ retry of a job it wrongly thought abandoned) takes it over.
        self.attempt_key = f"{key}:attempt"
        self._release = connection.register_script(_RELEASE_SCRIPT)
        self._renew = connection.register_script(_RENEW_SCRIPT)
        self._begin_attempt = connection.register_script(_BEGIN_ATTEMPT_SCRIPT)

    def acquire(self, token: str, now: float | None = None) -> bool:
        """Take the lock for `token` unless someone holds it."""
        taken = self.connection.set(self.key, token, nx=True, ex=self.ttl_seconds)
        if not taken:
            return False
        stamp = time.time() if now is None else now
        self.connection.set(self.taken_at_key, repr(stamp), ex=self.ttl_seconds)
        return True

    def owns(self, token: str) -> bool:
        return self._decode(self.connection.get(self.key)) == token

    def begin_attempt(self, token: str, attempt: str) -> bool:
        """Mark `attempt` as the running attempt of `token`'s job, if `token` owns the lock."""
        return bool(self._begin_attempt(keys=[self.key, self.attempt_key], args=[token, attempt, self.ttl_seconds]))

    def renew(self, token: str, attempt: str | None = None) -> bool:
        """Reset the lock's TTL if `token` (and `attempt`, when given) still own it; False means lost."""
        keys = [self.key, self.taken_at_key, self.attempt_key]
        return bool(self._renew(keys=keys, args=[token, self.ttl_seconds, attempt or ""]))

    def release(self, token: str, attempt: str | None = None) -> bool:
        """Delete the lock if `token` (and `attempt`, when given) own it; a foreign lock is left alone."""
        keys = [self.key, self.taken_at_key, self.attempt_key]
        return bool(self._release(keys=keys, args=[token, attempt or ""]))

    def force_release(self) -> str | None:
        """Delete the lock, whatever job holds it, and return the former holder (operators only)."""
        with self.connection.pipeline() as pipe:
            pipe.get(self.key)
            pipe.delete(self.key, self.taken_at_key, self.attempt_key)
            holder, _ = pipe.execute()
        return self._decode(holder)

    def state(self) -> LockState:
        with self.connection.pipeline() as pipe:
            pipe.get(self.key)
            pipe.ttl(self.key)
            pipe.get(self.taken_at_key)
            holder, ttl, taken_at = pipe.execute()
        holder = self._decode(holder)
        if holder is None:
            return LockState(None, None, None)
        return LockState(holder, ttl if ttl >= 0 else None, float(taken_at) if taken_at else None)

    @staticmethod
    def _decode(value: bytes | str | None) -> str | None:
        if isinstance(value, bytes):
            return value.decode()
        return value


class LockRenewer:
    """Renews the lock from a background thread while a job runs.

    `lost` becomes set when a renewal finds that another token owns the key
    (or that it vanished); the job checks it between resellers and stops.
    A Redis error during a renewal is logged and retried at the next beat,
    because the lock still has most of its TTL left.
    """

    def __init__(self, lock: UniqueLock, token: str, every_seconds: float | None = None,
                 attempt: str | None = None):
        self.lock = lock
        self.token = token
        self.attempt = attempt
        self.every_seconds = every_seconds or max(lock.ttl_seconds / 5, 0.05)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-sync-lock-renewer", daemon=True)

    def start(self) -> LockRenewer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                renewed = self.lock.renew(self.token, self.attempt)
            except redis.RedisError as error:
                logger.warning("Could not renew the sync lock for job %s: %s", self.token, error)
                continue
            if not renewed:
                logger.error("Job %s no longer owns the sync lock; the sync stops", self.token)
                self.lost.set()
                return

    def __enter__(self) -> LockRenewer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
