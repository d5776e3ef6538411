"""The configs one run syncs, read in a light first pass, and where each one's panel reading is stored.

The run reads every panel before it plans any reseller. Holding every
config's full row until then would take hundreds of bytes a config. The
first pass therefore reads only id, reseller, panel and username, in
(reseller, id) order, into flat arrays of 32 bytes a config, plus the
usernames until the panels are read. Full rows are loaded later, a chunk
of resellers at a time, in the same order, and matched to this snapshot
by a merge on the config id.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from models import ResellerConfig, database_proxy

# Resellers in one `IN (...)` list; SQLite before 3.32 accepts at most 999 parameters.
MAX_RESELLERS_PER_QUERY = 500
# Configs whose full rows are loaded and planned together.
CONFIGS_PER_CHUNK = 5000


@dataclass
class ConfigSnapshot:
    """Configs in (reseller, id) order; index i describes one config."""

    config_ids: array = field(default_factory=lambda: array("q"))
    panel_ids: array = field(default_factory=lambda: array("q"))
    # Index of the config's username in usernames[panel id], which is also its index in that panel's readings.
    positions: array = field(default_factory=lambda: array("q"))
    # hash() of the username, to notice a config renamed after this snapshot was taken.
    name_hashes: array = field(default_factory=lambda: array("q"))
    # Reseller id -> (first index, index after the last) of its configs.
    ranges: dict[int, tuple[int, int]] = field(default_factory=dict)
    # Panel id -> the usernames to read there. The run drops it once the panels are read.
    usernames: dict[int, list[str]] = field(default_factory=dict)

    def add(self, config_id: int, panel_id: int, username: str) -> None:
        names = self.usernames.setdefault(panel_id, [])
        self.config_ids.append(config_id)
        self.panel_ids.append(panel_id)
        self.positions.append(len(names))
        self.name_hashes.append(hash(username))
        names.append(username)

    def match(self, reseller_id: int, rows: Sequence) -> list[int | None]:
        """Return, for each of the reseller's rows (in id order), its snapshot index or None.

        None means the row is not the config that was read: it was added, or
        moved to another panel or username, after the snapshot was taken.
        """
        start, end = self.ranges.get(reseller_id, (0, 0))
        config_ids, index = self.config_ids, start
        matches: list[int | None] = []
        for row in rows:
            while index < end and config_ids[index] < row.id:
                index += 1
            same = (index < end and config_ids[index] == row.id and self.panel_ids[index] == row.panel
                    and self.name_hashes[index] == hash(row.panel_username))
            matches.append(index if same else None)
        return matches

    def config_count(self, reseller_id: int) -> int:
        start, end = self.ranges.get(reseller_id, (0, 0))
        return end - start


def _id_groups(reseller_ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(reseller_ids), MAX_RESELLERS_PER_QUERY):
        yield reseller_ids[start:start + MAX_RESELLERS_PER_QUERY]


def load_snapshot(reseller_ids: Sequence[int]) -> ConfigSnapshot:
    """Read id, panel and username of every config of these resellers (given in ascending id order)."""
    snapshot = ConfigSnapshot()
    for group in _id_groups(reseller_ids):
        query = (ResellerConfig
                 .select(ResellerConfig.id, ResellerConfig.reseller, ResellerConfig.panel,
                         ResellerConfig.panel_username)
                 .where(ResellerConfig.reseller.in_(list(group)))
                 .order_by(ResellerConfig.reseller, ResellerConfig.id))
        # The raw cursor skips peewee's per-row conversion; these columns need none.
        current, start = None, 0
        for config_id, reseller_id, panel_id, username in database_proxy.execute(query):
            if reseller_id != current:
                if current is not None:
                    snapshot.ranges[current] = (start, len(snapshot.config_ids))
                current, start = reseller_id, len(snapshot.config_ids)
            snapshot.add(config_id, panel_id, username)
        if current is not None:
            snapshot.ranges[current] = (start, len(snapshot.config_ids))
    return snapshot


def reseller_chunks(reseller_ids: Sequence[int], snapshot: ConfigSnapshot) -> Iterator[list[int]]:
    """Group resellers, in order, into chunks of about CONFIGS_PER_CHUNK configs."""
    chunk: list[int] = []
    configs = 0
    for reseller_id in reseller_ids:
        chunk.append(reseller_id)
        configs += snapshot.config_count(reseller_id)
        if configs >= CONFIGS_PER_CHUNK or len(chunk) >= MAX_RESELLERS_PER_QUERY:
            yield chunk
            chunk, configs = [], 0
    if chunk:
        yield chunk
