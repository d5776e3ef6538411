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

NOTE: the token is the job id, which RQ retries keep. If RQ marks a job
abandoned while its work horse still runs (only when the worker's parent
process died alone), the retry owns the lock too and both attempts may run.
With the defaults the horse's own 600 s timeout ends it before RQ's
abandoned-job check (about 13 minutes) retries it; a per-attempt token
would close the gap for shorter settings.
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

_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('DEL', KEYS[2])
    return redis.call('DEL', KEYS[1])
end
return 0
"""

_RENEW_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('EXPIRE', KEYS[2], ARGV[2])
    return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
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
        self._release = connection.register_script(_RELEASE_SCRIPT)
        self._renew = connection.register_script(_RENEW_SCRIPT)

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

    def renew(self, token: str) -> bool:
        """Reset the lock's TTL if `token` still owns it; False means the lock is lost."""
        return bool(self._renew(keys=[self.key, self.taken_at_key], args=[token, self.ttl_seconds]))

    def release(self, token: str) -> bool:
        """Delete the lock if `token` owns it; a foreign lock is left alone."""
        return bool(self._release(keys=[self.key, self.taken_at_key], args=[token]))

    def force_release(self) -> str | None:
        """Delete the lock whoever holds it and return the former holder (operators only)."""
        with self.connection.pipeline() as pipe:
            pipe.get(self.key)
            pipe.delete(self.key, self.taken_at_key)
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

    def __init__(self, lock: UniqueLock, token: str, every_seconds: float | None = None):
        self.lock = lock
        self.token = token
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
                renewed = self.lock.renew(self.token)
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
