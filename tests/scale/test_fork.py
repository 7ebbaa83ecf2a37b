"""A forked child never touches the parent's Postgres connections (server/db.py):
the child gets pools of its own, so closing them, or its garbage collector, cannot
end a connection the parent's threads are using (the Terminate message would go
over the parent's socket)."""

from __future__ import annotations

import gc
import os

from sqlalchemy import text

from server.db import Database


def _backend_pid(db: Database) -> int:
    with db.read() as session:
        return int(session.execute(text("select pg_backend_pid()")).scalar_one())


def test_a_forked_child_leaves_the_parents_connections_alone(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        before = _backend_pid(db)  # one connection, now idle in the parent's pool
        child = os.fork()
        if child == 0:  # the child: use the database, close everything, collect
            code = 1
            try:
                mine = _backend_pid(db)
                db.dispose()
                gc.collect()
                code = 0 if mine != before else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child used the parent's connection"
        # The parent's pooled connection is the same one, alive (pre-ping would have
        # replaced a terminated one by a new backend).
        assert _backend_pid(db) == before
    finally:
        db.dispose()
