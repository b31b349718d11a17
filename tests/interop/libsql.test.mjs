// The real npm libSQL client (@libsql/client, Hrana 2 over HTTP) against objectos' Hrana endpoint
// (run by crates/objectos/tests/interop.rs). The tenant has an `item` object deployed
// (name: unique text, qty: number); OBJECTOS_KEY is full-access, OBJECTOS_RO_KEY read-only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient, LibsqlError } from "@libsql/client";

const url = process.env.OBJECTOS_URL;
const authToken = process.env.OBJECTOS_KEY;
const tenant = process.env.OBJECTOS_TENANT;
const client = () => createClient({ url, authToken });
const now = "2026-01-01T00:00:00.000Z";
const insert = (name, qty) => ({
  sql: "INSERT INTO item (id, created_at, updated_at, name, qty) VALUES (?, ?, ?, ?, ?)",
  args: [`id-${name}`, now, now, name, qty],
});
const count = async (c, name) =>
  (await c.execute({ sql: "SELECT COUNT(*) AS n FROM item WHERE name = ?", args: [name] })).rows[0].n;

async function rejects(promise, code) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof LibsqlError, `a LibsqlError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test("execute: values of every type, then close", async () => {
  const c = client();
  const rs = await c.execute({
    sql: "SELECT NULL AS a, ? AS b, 1.5 AS c, 'é' AS d, X'00FF' AS e",
    args: [42n],
  });
  assert.deepEqual(rs.columns, ["a", "b", "c", "d", "e"]);
  const row = rs.rows[0];
  assert.equal(row.a, null);
  assert.equal(row.b, 42);
  assert.equal(row.c, 1.5);
  assert.equal(row.d, "é");
  assert.deepEqual(new Uint8Array(row.e), new Uint8Array([0, 255]));
  const ins = await c.execute(insert("exec", 3));
  assert.equal(ins.rowsAffected, 1);
  assert.equal(typeof ins.lastInsertRowid, "bigint");
  const rs2 = await c.execute({ sql: "SELECT name, qty FROM item WHERE name = :n", args: { n: "exec" } });
  assert.deepEqual(rs2.rows.map((r) => [r.name, r.qty]), [["exec", 3]]);
  c.close();
  assert.equal(c.closed, true);
});

test("batch: stored SQL and conditions; a failing step rolls the whole batch back", async () => {
  const c = client();
  const results = await c.batch([insert("b1", 1), insert("b2", 2), "SELECT COUNT(*) AS n FROM item WHERE name LIKE 'b%'"], "write");
  assert.equal(results.length, 3);
  assert.equal(results[2].rows[0].n, 2);
  await rejects(c.batch([insert("b3", 3), insert("b1", 9)], "write"), "SQLITE_CONSTRAINT_UNIQUE");
  assert.equal(await count(c, "b3"), 0, "rolled back");
  const read = await c.batch(["SELECT 1 AS one"], "read");
  assert.equal(read[0].rows[0].one, 1);
  c.close();
});

test("executeMultiple runs a sequence", async () => {
  const c = client();
  await c.executeMultiple(`
    INSERT INTO item (id, created_at, updated_at, name, qty) VALUES ('m1', '${now}', '${now}', 'm1', 1);
    INSERT INTO item (id, created_at, updated_at, name, qty) VALUES ('m2', '${now}', '${now}', 'm2', 2);
  `);
  assert.equal(await count(c, "m1"), 1);
  assert.equal(await count(c, "m2"), 1);
  await rejects(c.executeMultiple("INSERT INTO item (id) VALUES ('x'); SELECT 1"), "SQLITE_CONSTRAINT_NOTNULL");
  c.close();
});

test("interactive transactions across requests: commit and rollback", async () => {
  const c = client();
  const tx = await c.transaction("write");
  await tx.execute(insert("t1", 1));
  assert.equal((await tx.execute("SELECT COUNT(*) AS n FROM item WHERE name = 't1'")).rows[0].n, 1);
  await tx.commit();
  tx.close();
  assert.equal(await count(c, "t1"), 1);

  const rolled = await c.transaction("write");
  await rolled.execute(insert("t2", 2));
  await rolled.rollback();
  rolled.close();
  assert.equal(await count(c, "t2"), 0);

  const read = await c.transaction("read");
  assert.equal((await read.execute("SELECT 1 AS one")).rows[0].one, 1);
  await read.commit();
  read.close();
  c.close();
});

test("errors carry the codes clients read", async () => {
  const c = client();
  await rejects(c.execute("SELEC 1"), "SQL_PARSE_ERROR");
  await rejects(c.execute(insert("exec", 1)), "SQLITE_CONSTRAINT_UNIQUE");
  await rejects(c.execute("SELECT * FROM no_such_table"), "SQLITE_ERROR");
  await rejects(c.execute("DROP TABLE item"), "SQLITE_AUTH");
  await rejects(c.execute("DELETE FROM _objectos_meta"), "SQLITE_AUTH");
  c.close();
  const wrong = createClient({ url, authToken: "osk_wrong" });
  await rejects(wrong.execute("SELECT 1"), "UNAUTHORIZED");
  wrong.close();
});

test("a read-only key reads and cannot write", async () => {
  const c = createClient({ url, authToken: process.env.OBJECTOS_RO_KEY });
  assert.equal((await c.execute("SELECT COUNT(*) AS n FROM item")).rows.length, 1);
  await rejects(c.execute(insert("ro", 1)), "SQLITE_AUTH");
  c.close();
});

test("the path-prefixed URL form reaches the key's tenant", async () => {
  const c = createClient({ url: `${url}/t/${tenant}/`, authToken });
  assert.equal((await c.execute("SELECT COUNT(*) AS n FROM item WHERE name = 'exec'")).rows[0].n, 1);
  c.close();
});
