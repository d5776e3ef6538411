"""One database connection per job, never one inherited from a parent process.

RQ 2.12 forks a work horse for every job. A forked child shares the parent's
sockets, so a query from the child would interleave with the parent's on the
same session, and closing it would end the parent's session too. The fork
hook below makes the child forget the inherited connection, and every job
opens its own with `job_connection()` and closes it at the end.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import peewee

from models.database import database_proxy

logger = logging.getLogger(__name__)

# Connections inherited from the parent at fork. They are kept referenced and never closed here,
# because closing or garbage-collecting them would end the parent's session: PyMySQL sends
# COM_QUIT on close, and psycopg2 2.9 sends a Terminate message when a connection is freed.
_inherited_connections: list[object] = []


def forget_inherited_connection() -> None:
    """Mark the bound database closed in a forked child without touching the parent's connection."""
    database = database_proxy.obj
    if database is None or database.is_closed():
        return
    _inherited_connections.append(database._state.conn)
    database.dispose()


os.register_at_fork(after_in_child=forget_inherited_connection)


def discard_dead_connection() -> bool:
    """Close this thread's open connection if a query on it fails; return True if it did.

    Inside a transaction nothing is done, because reopening would lose the
    transaction's writes without telling the caller.
    """
    database = database_proxy.obj
    if database is None or database.is_closed() or database.in_transaction():
        return False
    try:
        # On MySQL ReconnectingMySQLDatabase already reopens a dropped connection here.
        database.execute_sql("SELECT 1")
        return False
    except (peewee.DatabaseError, peewee.InterfaceError) as error:
        logger.warning("The open database connection no longer works (%s); opening a new one", error)
    try:
        database.close()
    except (peewee.DatabaseError, peewee.InterfaceError) as error:
        # close() resets the connection state even when the driver fails to close the socket.
        logger.debug("Closing the dead database connection failed: %s", error)
    return True


@contextmanager
def job_connection() -> Iterator[None]:
    """Open the connection one job uses and close it when the job ends.

    A connection this thread already has open (an inline run inside a CLI
    command) is reused when it still works, replaced when the server dropped
    it, and left open for its owner at the end.
    """
    discard_dead_connection()
    with database_proxy.connection_context():
        yield
