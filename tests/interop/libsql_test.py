"""The real PyPI libSQL client (`libsql` 0.1.11, remote mode) against objectos' Hrana endpoint.

Run by crates/objectos/tests/interop.rs with OBJECTOS_URL, OBJECTOS_KEY (full access) and
OBJECTOS_RO_KEY (read-only); the tenant has an `item` object (name: unique text, qty: number).
Prints "ok <n>" per passed check and exits non-zero on the first failure.
"""
import os
import sys

import libsql

URL = os.environ["OBJECTOS_URL"]
KEY = os.environ["OBJECTOS_KEY"]
RO_KEY = os.environ["OBJECTOS_RO_KEY"]
INSERT = "INSERT INTO item (id, created_at, updated_at, name, qty) VALUES (?, 'x', 'x', ?, ?)"
checks = 0


def ok(label):
    global checks
    checks += 1
    print(f"ok {checks} {label}")


def expect_error(fn, code):
    try:
        fn()
    except Exception as e:  # the binding raises ValueError carrying the Hrana error
        assert code in str(e), f"expected {code}, got {e!r}"
        return
    raise AssertionError(f"expected {code}")


def count(conn, name):
    return conn.execute("SELECT COUNT(*) FROM item WHERE name = ?", (name,)).fetchone()[0]


conn = libsql.connect(URL, auth_token=KEY)

row = conn.execute("SELECT 1, 'é', NULL, 1.5, X'00ff'").fetchone()
assert row == (1, "é", None, 1.5, b"\x00\xff"), row
ok("execute: every value type")

conn.execute(INSERT, ("p1", "p1", 2.0))
conn.commit()
assert conn.execute("SELECT name, qty FROM item WHERE name = 'p1'").fetchall() == [("p1", 2.0)]
ok("transaction committed")

conn.execute(INSERT, ("p2", "p2", 1.0))
conn.rollback()
assert count(conn, "p2") == 0
ok("transaction rolled back")

conn.executescript(
    "INSERT INTO item (id, created_at, updated_at, name) VALUES ('s1', 'x', 'x', 's1');"
    "INSERT INTO item (id, created_at, updated_at, name) VALUES ('s2', 'x', 'x', 's2');"
)
conn.commit()
assert count(conn, "s1") == 1 and count(conn, "s2") == 1
ok("batch (executescript)")

expect_error(lambda: conn.execute(INSERT, ("p3", "p1", 1.0)), "SQLITE_CONSTRAINT_UNIQUE")
conn.rollback()
ok("constraint error code")
expect_error(lambda: conn.execute("SELECT * FROM no_such_table"), "SQLITE_ERROR")
conn.rollback()
ok("prepare error code")
expect_error(lambda: conn.execute("SELEC 1"), "syntax error")
conn.rollback()
ok("syntax error (found by the client's own parser)")
expect_error(lambda: conn.execute("DELETE FROM _objectos_meta"), "SQLITE_AUTH")
conn.rollback()
ok("system tables refused")

ro = libsql.connect(URL, auth_token=RO_KEY)
assert ro.execute("SELECT COUNT(*) FROM item").fetchone()[0] == 3
expect_error(lambda: ro.execute(INSERT, ("r1", "r1", 1.0)), "SQLITE_AUTH")
ok("read-only key")

print(f"passed {checks}")
sys.exit(0)
