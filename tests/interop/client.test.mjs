// Interop test: the real npm package @objectstack/client@4.0.1 against a running objectos server.
//
// Run by crates/objectos/tests/interop.rs, which starts `objectos serve`, provisions a tenant
// (plan pro), deploys examples/crm.bundle.json and sets:
//   OBJECTOS_URL  the server's base URL (http://127.0.0.1:PORT)
//   OBJECTOS_KEY  an API key of that tenant (the token strategy resolves the tenant from it)
// By hand: npm ci --prefix tests/interop && OBJECTOS_URL=... OBJECTOS_KEY=... node --test tests/interop/client.test.mjs
//
// The tests run in order (node --test runs a file's top-level tests sequentially) and share state;
// they expect a freshly deployed tenant: the CRM seed data (3 accounts, 3 contacts) and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectStackClient } from '@objectstack/client';

const URL_ = process.env.OBJECTOS_URL;
const KEY = process.env.OBJECTOS_KEY;
if (!URL_ || !KEY) {
  throw new Error('OBJECTOS_URL and OBJECTOS_KEY must be set (see the header of this file)');
}

// The client logs every failed request at error level; the failures below are expected.
const quiet = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child() { return quiet; } };
const client = new ObjectStackClient({ baseUrl: URL_, token: KEY, logger: quiet });

const SEED_ACCOUNTS = ['Acme Corporation', 'Globex', 'Initech'];
const names = (result) => result.records.map((r) => r.name);

/** Awaits `promise`, which must reject; returns the client's error (code, httpStatus, details). */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to be rejected');
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

// ---------------------------------------------------------------- discovery and metadata

test('connect() discovers the API through /.well-known/objectstack', async () => {
  const info = await client.connect();
  assert.equal(info.version, 'v1');
  assert.equal(info.routes.data, '/api/v1/data');
  assert.equal(info.routes.metadata, '/api/v1/meta');
  assert.equal(info.services.data.enabled, true);
  assert.equal(client.capabilities.batch, true);
  assert.equal(client.capabilities.query, true);
});

test('meta.getTypes() lists the metadata types', async () => {
  const types = await client.meta.getTypes();
  assert.ok(Array.isArray(types.types), JSON.stringify(types));
  assert.ok(types.types.includes('object'), JSON.stringify(types));
});

test("meta.getItems('object') lists the deployed objects", async () => {
  const res = await client.meta.getItems('object');
  assert.equal(res.type, 'object');
  const objects = res.items.map((o) => o.name).sort();
  assert.deepEqual(objects, [
    'account',
    'activity',
    'contact',
    'lead',
    'opportunity',
    'opportunity_line',
    'product',
  ]);
});

// 4.0.1 has no meta.getObject(): an object's definition is meta.getItem('object', name), and the
// ETag-aware variant is meta.getCached(name).
test("meta.getItem('object', 'account') returns the object definition", async () => {
  const res = await client.meta.getItem('object', 'account');
  assert.equal(res.type, 'object');
  assert.equal(res.name, 'account');
  assert.equal(res.item.name, 'account');
  assert.equal(res.item.label, 'Account');
  assert.equal(res.item.fields.name.type, 'text');
  assert.equal(res.item.fields.name.required, true);
  assert.equal(res.item.fields.name.unique, true);
  assert.equal(res.item.fields.employees.type, 'number');
  assert.deepEqual(
    res.item.fields.industry.options.map((o) => o.value),
    ['technology', 'manufacturing', 'retail', 'finance', 'healthcare'],
  );
});

test('meta.getCached() returns an ETag, then notModified with If-None-Match', async () => {
  const first = await client.meta.getCached('account');
  assert.equal(first.notModified, false);
  assert.ok(first.etag, 'an ETag header');
  assert.equal(typeof first.etag.value, 'string');
  assert.ok(first.etag.value.length > 0);
  // getCached() does not unwrap the envelope: data is the raw body.
  assert.equal(first.data.success, true);
  assert.equal(first.data.data.name, 'account');
  assert.equal(first.data.data.item.fields.name.type, 'text');

  // The client strips the quotes (and W/); the header wants the entity tag as sent.
  const tag = `${first.etag.weak ? 'W/' : ''}"${first.etag.value}"`;

  // CLIENT BUG in 4.0.1: its private fetch() throws on every !res.ok, and a 304 is not ok, so the
  // `res.status === 304 → {notModified: true}` branch of getCached() is unreachable: the stock
  // client rejects with httpStatus 304. That rejection still proves the server answered 304.
  const err = await rejection(client.meta.getCached('account', { ifNoneMatch: tag }));
  assert.equal(err.httpStatus, 304);

  // With a fetch that lets the 304 through (ok: true), getCached() reports notModified.
  const passing304 = async (input, init) => {
    const res = await globalThis.fetch(input, init);
    if (res.status !== 304) return res;
    return { ok: true, status: 304, statusText: res.statusText, headers: res.headers, json: async () => ({}) };
  };
  const cachingClient = new ObjectStackClient({ baseUrl: URL_, token: KEY, logger: quiet, fetch: passing304 });
  await cachingClient.connect();
  const second = await cachingClient.meta.getCached('account', { ifNoneMatch: tag });
  assert.equal(second.notModified, true);
  assert.equal(second.data, undefined);
  assert.equal(second.etag.value, first.etag.value);

  // A stale tag is answered in full again.
  const third = await client.meta.getCached('account', { ifNoneMatch: '"stale"' });
  assert.equal(third.notModified, false);
  assert.equal(third.etag.value, first.etag.value);
});

// ---------------------------------------------------------------- single-record CRUD

let alphaId;

test('data.create() inserts an account and returns {object, id, record}', async () => {
  const res = await client.data.create('account', {
    name: 'Interop Alpha',
    industry: 'technology',
    employees: 42,
    website: 'https://alpha.example.com',
  });
  assert.equal(res.object, 'account');
  assert.equal(typeof res.id, 'string');
  assert.ok(res.id.length > 0);
  alphaId = res.id;
  assert.equal(res.record.id, res.id);
  assert.equal(res.record.name, 'Interop Alpha');
  assert.equal(res.record.industry, 'technology');
  assert.equal(res.record.employees, 42);
  assert.equal(res.record.website, 'https://alpha.example.com');
  assert.equal(res.record.type, 'prospect', 'the default value of account.type');
  assert.match(res.record.created_at, ISO);
  assert.equal(res.record.updated_at, res.record.created_at);
});

test('data.create() with a duplicate unique name is rejected 409 duplicate_value', async () => {
  const err = await rejection(client.data.create('account', { name: 'Interop Alpha' }));
  assert.equal(err.httpStatus, 409);
  assert.equal(err.code, 'duplicate_value');
});

test('data.create() without the required name is rejected 400 validation_error', async () => {
  const err = await rejection(client.data.create('account', { employees: 1 }));
  assert.equal(err.httpStatus, 400);
  assert.equal(err.code, 'validation_error');
  // The client puts the whole body in details when it has no top-level details.
  assert.deepEqual(
    err.details.error.details.issues.map((i) => i.path),
    ['name'],
  );
});

test('data.get() reads the record back', async () => {
  const res = await client.data.get('account', alphaId);
  assert.equal(res.object, 'account');
  assert.equal(res.id, alphaId);
  assert.equal(res.record.id, alphaId);
  assert.equal(res.record.name, 'Interop Alpha');
  assert.equal(res.record.employees, 42);
  assert.equal(res.record.industry, 'technology');
});

// ---------------------------------------------------------------- find: filters, sort, select, paging

test('data.find() with an object filter sends field=value params', async () => {
  const res = await client.data.find('account', { filter: { industry: 'technology' }, sort: 'name' });
  assert.equal(res.object, 'account');
  assert.deepEqual(names(res), ['Globex', 'Interop Alpha']);
  assert.equal(res.total, 2);
  assert.equal(res.hasMore, false);
  assert.ok(res.records.every((r) => r.industry === 'technology'));
});

test('data.find() with an AST filter sends filter=<json>', async () => {
  const res = await client.data.find('account', { filter: ['employees', '>', 100], sort: '-name' });
  assert.deepEqual(names(res), ['Globex', 'Acme Corporation']);
  assert.deepEqual(res.records.map((r) => r.employees), [350, 1200]);
  assert.equal(res.total, 2);
  assert.equal(res.hasMore, false);

  const nested = await client.data.find('account', {
    filter: ['and', ['employees', '>=', 42], ['industry', 'in', ['technology', 'finance']]],
    sort: ['name'],
  });
  assert.deepEqual(names(nested), ['Globex', 'Initech', 'Interop Alpha']);
});

test('data.query() with a $-operator object filter', async () => {
  // find() in 4.0.1 turns a non-array filter into field=String(value) params, so a $-object would
  // go out as `employees=[object Object]` (the server rejects that: see the next test); the
  // $-object form travels in the QueryAST of data.query().
  const res = await client.data.query('account', {
    where: { employees: { $gte: 10 }, industry: { $ne: 'technology' } },
    orderBy: [{ field: 'employees', order: 'asc' }],
  });
  assert.deepEqual(names(res), ['Initech', 'Acme Corporation']);
  assert.deepEqual(res.records.map((r) => r.employees), [80, 1200]);
  assert.equal(res.total, 2);
  assert.equal(res.hasMore, false);
});

test('data.find() with a $-object filter is refused, not silently mismatched', async () => {
  const err = await rejection(client.data.find('account', { filter: { employees: { $gte: 10 } } }));
  assert.equal(err.httpStatus, 400);
  assert.equal(err.code, 'validation_error');
  assert.deepEqual(err.details.error.details.issues.map((i) => i.path), ['employees']);
});

test('data.find() with where: {field: {$startsWith}} (sent as name=[object Object]) is refused 400', async () => {
  // 4.0.1 sends String({$startsWith: 'A'}): a text field would otherwise match nothing, silently.
  const err = await rejection(client.data.find('account', { where: { name: { $startsWith: 'A' } } }));
  assert.equal(err.httpStatus, 400);
  assert.equal(err.code, 'validation_error');
  const issues = err.details.error.details.issues;
  assert.deepEqual(issues.map((i) => [i.path, i.code]), [['name', 'invalid_type']]);
  assert.match(issues[0].message, /\[object Object\]/);
});

test('notcontains / $notContains exclude a substring (case-sensitive)', async () => {
  const ast = await client.data.find('account', { filter: ['name', 'notcontains', 'o'], sort: 'name' });
  assert.deepEqual(names(ast), ['Initech']);
  const obj = await client.data.query('account', {
    where: { name: { $notContains: 'O' } },
    orderBy: [{ field: 'name', order: 'asc' }],
  });
  assert.deepEqual(names(obj), ['Acme Corporation', 'Globex', 'Initech', 'Interop Alpha']);
});

test('aggregations and groupBy through data.query() and data.find()', async () => {
  const res = await client.data.query('account', {
    groupBy: ['industry'],
    aggregations: [
      { function: 'count', alias: 'n' },
      { function: 'sum', field: 'employees', alias: 'staff' },
      { function: 'max', field: 'name', alias: 'last' },
    ],
    orderBy: [{ field: 'industry', order: 'asc' }],
  });
  assert.equal(res.object, 'account');
  assert.equal(res.total, 3);
  assert.equal(res.hasMore, false);
  assert.deepEqual(res.records[0], { industry: 'finance', n: 1, staff: 80, last: 'Initech' });
  assert.deepEqual(res.records[2], { industry: 'technology', n: 2, staff: 392, last: 'Interop Alpha' });

  // find() sends groupBy=industry&aggregations=<JSON>.
  const found = await client.data.find('account', {
    orderBy: ['-n'],
    groupBy: ['industry'],
    aggregations: [{ function: 'count', alias: 'n' }],
    limit: 1,
  });
  assert.deepEqual(found.records, [{ industry: 'technology', n: 2 }]);
  assert.equal(found.hasMore, true);
});

test('data.query() with distinct: true and fields answers the distinct values', async () => {
  const res = await client.data.query('account', { distinct: true, fields: ['industry'], orderBy: [{ field: 'industry', order: 'asc' }] });
  assert.deepEqual(res.records, [{ industry: 'finance' }, { industry: 'manufacturing' }, { industry: 'technology' }]);
  assert.equal(res.total, 3);
});

test('data.query() pages with nextCursor / cursor (keyset paging)', async () => {
  const orderBy = [{ field: 'employees', order: 'desc' }];
  const first = await client.data.query('account', { orderBy, limit: 2 });
  assert.deepEqual(names(first), ['Acme Corporation', 'Globex']);
  assert.equal(first.hasMore, true);
  assert.equal(typeof first.nextCursor, 'string');
  const second = await client.data.query('account', { orderBy, limit: 2, cursor: first.nextCursor });
  assert.deepEqual(names(second), ['Initech', 'Interop Alpha']);
  assert.equal(second.hasMore, false);
  assert.equal(second.nextCursor, undefined);
});

test("data.find() sorts with '-name' and ['name']", async () => {
  const desc = await client.data.find('account', { sort: '-name' });
  assert.deepEqual(names(desc), ['Interop Alpha', 'Initech', 'Globex', 'Acme Corporation']);
  const asc = await client.data.find('account', { sort: ['name'] });
  assert.deepEqual(names(asc), ['Acme Corporation', 'Globex', 'Initech', 'Interop Alpha']);
  const two = await client.data.find('account', { sort: ['industry', '-employees'] });
  assert.deepEqual(names(two), ['Initech', 'Acme Corporation', 'Globex', 'Interop Alpha']);
});

test('data.find() with select returns only the selected fields (plus the system fields)', async () => {
  const res = await client.data.find('account', { select: ['name', 'employees'], sort: 'name' });
  assert.equal(res.records.length, 4);
  for (const r of res.records) {
    assert.deepEqual(Object.keys(r).sort(), ['created_at', 'employees', 'id', 'name', 'updated_at']);
  }
  assert.deepEqual(res.records.map((r) => r.employees), [1200, 350, 80, 42]);
});

test('data.find() pages with top/skip and reports hasMore', async () => {
  const page1 = await client.data.find('account', { sort: 'name', top: 2 });
  assert.deepEqual(names(page1), ['Acme Corporation', 'Globex']);
  assert.equal(page1.total, 4);
  assert.equal(page1.hasMore, true);

  const page2 = await client.data.find('account', { sort: 'name', top: 2, skip: 2 });
  assert.deepEqual(names(page2), ['Initech', 'Interop Alpha']);
  assert.equal(page2.total, 4);
  assert.equal(page2.hasMore, false);

  const tail = await client.data.find('account', { sort: 'name', top: 2, skip: 3 });
  assert.deepEqual(names(tail), ['Interop Alpha']);
  assert.equal(tail.hasMore, false);

  // The canonical (V2) option names map to the same params.
  const v2 = await client.data.find('account', { orderBy: ['name'], limit: 1, offset: 1, fields: ['name'] });
  assert.deepEqual(names(v2), ['Globex']);
  assert.equal(v2.hasMore, true);
  assert.equal(v2.records[0].industry, undefined);
});

test('data.query() with a full QueryAST: where, fields, orderBy, limit, offset', async () => {
  const res = await client.data.query('account', {
    where: { employees: { $gte: 42 } },
    fields: ['name', 'employees'],
    orderBy: [{ field: 'employees', order: 'desc' }],
    limit: 2,
    offset: 1,
  });
  assert.equal(res.object, 'account');
  assert.deepEqual(names(res), ['Globex', 'Initech']);
  assert.deepEqual(res.records.map((r) => r.employees), [350, 80]);
  assert.equal(res.total, 4);
  assert.equal(res.hasMore, true);
  for (const r of res.records) {
    assert.equal(r.industry, undefined);
    assert.equal(r.website, undefined);
  }

  const last = await client.data.query('account', {
    where: ['employees', '>=', 42],
    orderBy: [{ field: 'employees', order: 'desc' }],
    limit: 2,
    offset: 2,
  });
  assert.deepEqual(names(last), ['Initech', 'Interop Alpha']);
  assert.equal(last.hasMore, false);
});

test('data.query() on an unknown object is rejected 404 object_not_found', async () => {
  const err = await rejection(client.data.query('no_such_object', { limit: 1 }));
  assert.equal(err.httpStatus, 404);
  assert.equal(err.code, 'object_not_found');
});

test('data.update() patches the record', async () => {
  const before = await client.data.get('account', alphaId);
  const res = await client.data.update('account', alphaId, {
    employees: 43,
    website: 'https://alpha.example.org',
  });
  assert.equal(res.object, 'account');
  assert.equal(res.id, alphaId);
  assert.equal(res.record.id, alphaId);
  assert.equal(res.record.employees, 43);
  assert.equal(res.record.website, 'https://alpha.example.org');
  assert.equal(res.record.name, 'Interop Alpha', 'untouched fields stay');
  assert.equal(res.record.created_at, before.record.created_at);
  assert.ok(res.record.updated_at >= before.record.updated_at);

  const again = await client.data.get('account', alphaId);
  assert.equal(again.record.employees, 43);
  assert.equal(again.record.website, 'https://alpha.example.org');
});

test('data.update() takes the record as read back (get → modify → save)', async () => {
  const { record } = await client.data.get('account', alphaId);
  record.employees = 44;
  const res = await client.data.update('account', alphaId, record);
  assert.equal(res.record.employees, 44);
  assert.equal(res.record.created_at, record.created_at);

  const err = await rejection(client.data.update('account', alphaId, { ...res.record, created_at: '2000-01-01T00:00:00.000Z' }));
  assert.equal(err.httpStatus, 400);
  assert.deepEqual(err.details.error.details.issues.map((i) => i.path), ['created_at']);
});

test('data.update() with a value of the wrong type is rejected 400 validation_error', async () => {
  const err = await rejection(client.data.update('account', alphaId, { employees: 'many' }));
  assert.equal(err.httpStatus, 400);
  assert.equal(err.code, 'validation_error');
  assert.deepEqual(err.details.error.details.issues.map((i) => i.path), ['employees']);
});

test('data.delete() removes the record; get() then rejects 404 record_not_found', async () => {
  const res = await client.data.delete('account', alphaId);
  assert.deepEqual(res, { object: 'account', id: alphaId, success: true });

  const err = await rejection(client.data.get('account', alphaId));
  assert.equal(err.httpStatus, 404);
  assert.equal(err.code, 'record_not_found');

  const again = await rejection(client.data.delete('account', alphaId));
  assert.equal(again.httpStatus, 404);
  assert.equal(again.code, 'record_not_found');

  const rest = await client.data.find('account', { sort: 'name' });
  assert.deepEqual(names(rest), SEED_ACCOUNTS);
});

// ---------------------------------------------------------------- bulk: createMany, batch, updateMany, deleteMany

let manyIds = [];
let batchIds = [];

test('data.createMany() inserts 3 contacts and returns {object, records, count}', async () => {
  const input = [1, 2, 3].map((n) => ({
    first_name: `Many${n}`,
    last_name: 'Interop',
    email: `many${n}@interop.example.com`,
    account: 'acc_globex',
  }));
  // Typed T[] in 4.0.1, but the spec's CreateManyDataResponse is {object, records, count}.
  const res = await client.data.createMany('contact', input);
  assert.equal(res.object, 'contact');
  assert.equal(res.count, 3);
  assert.equal(res.records.length, 3);
  res.records.forEach((r, i) => {
    assert.equal(typeof r.id, 'string');
    assert.equal(r.first_name, `Many${i + 1}`);
    assert.equal(r.last_name, 'Interop');
    assert.equal(r.email, `many${i + 1}@interop.example.com`);
    assert.equal(r.account, 'acc_globex');
    assert.equal(r.do_not_call, false, 'the default value of contact.do_not_call');
  });
  manyIds = res.records.map((r) => r.id);
  assert.equal(new Set(manyIds).size, 3);

  const found = await client.data.find('contact', { filter: { last_name: 'Interop' }, sort: 'first_name' });
  assert.deepEqual(found.records.map((r) => r.id), manyIds);
});

test('data.batch() creates records and returns them with returnRecords', async () => {
  const res = await client.data.batch('contact', {
    operation: 'create',
    records: [
      { data: { first_name: 'Batch1', last_name: 'Batched', email: 'batch1@interop.example.com' } },
      { data: { first_name: 'Batch2', last_name: 'Batched', account: 'acc_initech' } },
    ],
    options: { returnRecords: true },
  });
  assert.equal(res.success, true);
  assert.equal(res.operation, 'create');
  assert.equal(res.total, 2);
  assert.equal(res.succeeded, 2);
  assert.equal(res.failed, 0);
  assert.equal(res.results.length, 2);
  res.results.forEach((r, i) => {
    assert.equal(r.success, true);
    assert.equal(r.index, i);
    assert.equal(typeof r.id, 'string');
    assert.equal(r.data.id, r.id);
    assert.equal(r.data.first_name, `Batch${i + 1}`);
    assert.equal(r.data.last_name, 'Batched');
    assert.equal(r.errors, undefined);
  });
  assert.equal(res.results[0].data.email, 'batch1@interop.example.com');
  assert.equal(res.results[1].data.account, 'acc_initech');
  batchIds = res.results.map((r) => r.id);

  const got = await client.data.get('contact', batchIds[1]);
  assert.equal(got.record.first_name, 'Batch2');
});

test('an atomic data.batch() with an invalid record rejects batch_failed and writes nothing', async () => {
  const err = await rejection(
    client.data.batch('contact', {
      operation: 'create',
      records: [
        { data: { first_name: 'Atomic1', last_name: 'Atomic', email: 'atomic1@interop.example.com' } },
        { data: { first_name: 'Atomic2' } }, // last_name is required
        { data: { first_name: 'Atomic3', last_name: 'Atomic' } },
      ],
      options: { atomic: true, returnRecords: true },
    }),
  );
  assert.equal(err.code, 'batch_failed');
  assert.equal(err.httpStatus, 400);
  const result = err.details.error.details;
  assert.equal(result.success, false);
  assert.equal(result.total, 3);
  assert.equal(result.succeeded, 0);
  // operation 0 ran, then was rolled back with the batch: reported as not applied
  assert.equal(result.failed, 2);
  const undone = result.results.find((r) => r.index === 0);
  assert.equal(undone.success, false);
  assert.equal(undone.errors[0].code, 'rolled_back');
  assert.equal(undone.data, undefined);
  const bad = result.results.find((r) => r.index === 1);
  assert.equal(bad.success, false);
  assert.equal(bad.errors[0].code, 'validation_error');
  assert.deepEqual(
    bad.errors[0].details.issues.map((i) => i.path),
    ['records[1].data.last_name'],
  );

  const found = await client.data.find('contact', { filter: { last_name: 'Atomic' } });
  assert.deepEqual(found.records, []);
  assert.equal(found.total, 0);
  const byEmail = await client.data.find('contact', { filter: ['email', '=', 'atomic1@interop.example.com'] });
  assert.equal(byEmail.records.length, 0);
});

test('data.updateMany() updates the 3 contacts', async () => {
  const res = await client.data.updateMany(
    'contact',
    manyIds.map((id, i) => ({ id, data: { title: `Title ${i + 1}`, do_not_call: i === 0 } })),
  );
  assert.equal(res.success, true);
  assert.equal(res.total, 3);
  assert.equal(res.succeeded, 3);
  assert.equal(res.failed, 0);
  assert.deepEqual(res.results.map((r) => r.id), manyIds);
  assert.ok(res.results.every((r) => r.success === true));

  const found = await client.data.find('contact', { filter: { last_name: 'Interop' }, sort: 'first_name' });
  assert.deepEqual(found.records.map((r) => r.title), ['Title 1', 'Title 2', 'Title 3']);
  assert.deepEqual(found.records.map((r) => r.do_not_call), [true, false, false]);
  assert.deepEqual(found.records.map((r) => r.email), [
    'many1@interop.example.com',
    'many2@interop.example.com',
    'many3@interop.example.com',
  ]);
});

test('data.deleteMany() deletes the 5 contacts created here', async () => {
  const ids = [...manyIds, ...batchIds];
  const res = await client.data.deleteMany('contact', ids);
  assert.equal(res.success, true);
  assert.equal(res.total, 5);
  assert.equal(res.succeeded, 5);
  assert.equal(res.failed, 0);
  assert.deepEqual(res.results.map((r) => r.id), ids);
  assert.ok(res.results.every((r) => r.success === true));

  for (const id of ids) {
    const err = await rejection(client.data.get('contact', id));
    assert.equal(err.httpStatus, 404);
    assert.equal(err.code, 'record_not_found');
  }
  const left = await client.data.find('contact', { sort: 'last_name' });
  assert.deepEqual(left.records.map((r) => r.id), ['con_peter', 'con_ada', 'con_hank']);
  assert.equal(left.total, 3);
});
