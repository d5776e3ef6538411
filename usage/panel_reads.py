"""Reading usage from every panel at once, one thread per panel.

A panel that is slow or down only costs its own timeouts: the others are
read on their own threads, and its failure becomes a per-config error for
its users, never an exception that stops the run.

Each panel's readings are stored part by part, as the client yields them.
They go in flat arrays indexed by the position of the username in the list
the panel was asked for, 17 bytes a user, where a dict of UserUsage tuples
takes about 200 (an estimate for CPython 3.11). A run keeps every reading
until its last reseller is written, so at a million configs this is what
keeps its memory small.
"""

from __future__ import annotations

import logging
from array import array
from concurrent.futures import ThreadPoolExecutor

from panels import UserUsage
from panels.batching import UsageResult
from usage.client_pool import ClientPool
from worker.errors import PanelError, UsageSyncError

logger = logging.getLogger(__name__)

MAX_PANEL_THREADS = 32
# Per-config read errors logged one by one for a panel before the rest are only counted.
MAX_LOGGED_USER_ERRORS = 20

# Bits of PanelReadResult._flags for one position.
_READ = 1
_ENABLED = 2
_HAS_LIFETIME = 4


class PanelReadResult:
    """One panel's readings by position, or the error that stopped the whole panel."""

    def __init__(self, panel_id: int, count: int = 0, error: str | None = None):
        self.panel_id = panel_id
        self.error = error
        self._used = array("q", bytes(8 * count))
        self._lifetime = array("q", bytes(8 * count))
        self._flags = bytearray(count)
        # Positions whose read failed, with the message stored for the config.
        self.errors: dict[int, str] = {}
        # Readings whose counters do not fit a signed 64-bit array; the clients reject such counters,
        # so only a client from another client_factory can produce them.
        self._oversized: dict[int, UserUsage] = {}

    def store(self, position: int, reading: UserUsage) -> None:
        try:
            self._used[position] = reading.used_bytes
            if reading.lifetime_bytes is not None:
                self._lifetime[position] = reading.lifetime_bytes
        except OverflowError:
            self._oversized[position] = reading
            return
        flags = _READ | (_ENABLED if reading.enabled else 0)
        self._flags[position] = flags | (_HAS_LIFETIME if reading.lifetime_bytes is not None else 0)

    def reading_at(self, position: int, username: str) -> UserUsage | str:
        """Return the usage read for the user at `position`, or an error message when it could not be read."""
        if self.error is not None:
            return self.error
        flags = self._flags[position]
        if flags & _READ:
            lifetime = self._lifetime[position] if flags & _HAS_LIFETIME else None
            return UserUsage(username, self._used[position], lifetime, bool(flags & _ENABLED))
        if position in self._oversized:
            return self._oversized[position]
        return self.errors.get(position, f"user {username!r} was not in the panel's response")


class _Positions:
    """Finds where a username sits in the list a panel was asked for.

    The clients return users in the order they were asked for, so a cursor
    that moves forward finds almost every name at once. A name out of order
    falls back to a dict, built the first time one is needed. The
    (panel, panel_username) unique index keeps names from repeating.
    """

    def __init__(self, usernames: list[str]):
        self._usernames = usernames
        self._next = 0
        self._index: dict[str, int] | None = None

    def find(self, name: str) -> int | None:
        if self._next < len(self._usernames) and self._usernames[self._next] == name:
            self._next += 1
            return self._next - 1
        if self._index is None:
            self._index = {}
            for position, known in enumerate(self._usernames):
                self._index.setdefault(known, position)
        return self._index.get(name)


class _UserErrorLog:
    """Logs the first MAX_LOGGED_USER_ERRORS per-user read errors of a panel and counts the rest."""

    def __init__(self, panel_id: int):
        self.panel_id = panel_id
        self.logged = 0
        self.unlogged = 0

    def add(self, name: str, error: PanelError) -> None:
        if self.logged >= MAX_LOGGED_USER_ERRORS:
            self.unlogged += 1
            return
        self.logged += 1
        logger.warning("Panel %s: usage of user %r not read: %s", self.panel_id, name, error,
                       extra={"panel_id": self.panel_id})

    def finish(self) -> None:
        if self.unlogged:
            logger.warning("Panel %s: %d more users not read", self.panel_id, self.unlogged,
                           extra={"panel_id": self.panel_id})


def store_part(result: PanelReadResult, part: UsageResult, positions: _Positions, errors: _UserErrorLog) -> None:
    """Store one part of a client's `iter_usage` by position, so that the part can be dropped."""
    # A failed batch maps all its users to one exception, whose message is then built once.
    messages: dict[int, str] = {}
    for name, reading in part.items():
        position = positions.find(name)
        if position is None:
            continue  # the panel was not asked for this name
        if isinstance(reading, UserUsage):
            result.store(position, reading)
        elif isinstance(reading, PanelError):
            errors.add(name, reading)
            message = messages.get(id(reading))
            if message is None:
                message = messages[id(reading)] = str(reading)
            result.errors[position] = message
        else:
            result.errors[position] = f"unexpected reading {type(reading).__name__} for user {name!r}"


def read_panel(pool: ClientPool, panel_id: int, usernames: list[str]) -> PanelReadResult:
    """Log in once and read every requested user; all failures end up in the result."""
    settings = pool.settings(panel_id)
    result = PanelReadResult(panel_id, len(usernames))
    positions, errors = _Positions(usernames), _UserErrorLog(panel_id)
    try:
        client = pool.client(panel_id)
        client.login()
        for part in client.iter_usage(usernames):
            store_part(result, part, positions, errors)
    except Exception as error:  # noqa: BLE001 - any client failure must stay within its panel
        message = f"{type(error).__name__}: {error}"
        if not isinstance(error, (PanelError, UsageSyncError)):
            logger.exception("Panel %s (%s): unexpected client error", panel_id, settings.name,
                             extra={"panel_id": panel_id})
        logger.error("Panel %s (%s) could not be read, its %d configs keep their last values: %s",
                     panel_id, settings.name, len(usernames), message, extra={"panel_id": panel_id})
        return PanelReadResult(panel_id, error=message)
    errors.finish()
    return result


def read_all_panels(pool: ClientPool, usernames_by_panel: dict[int, list[str]]) -> dict[int, PanelReadResult]:
    """Read every panel's users in parallel and return the results by panel id."""
    if not usernames_by_panel:
        return {}
    threads = min(len(usernames_by_panel), MAX_PANEL_THREADS)
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="panel-read")
    try:
        futures = [executor.submit(read_panel, pool, panel_id, names)
                   for panel_id, names in usernames_by_panel.items()]
        results = [future.result() for future in futures]
    except BaseException:
        # An interrupted wait (SIGTERM in the work horse raises here) must not block until every
        # panel's requests time out, or a platform's stop grace runs out and SIGKILL leaves the lock
        # held. The reads still in flight end when the run closes its clients.
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return {result.panel_id: result for result in results}
