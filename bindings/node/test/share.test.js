// SPDX-License-Identifier: MIT
// Sharing Buffers with other processes: tokens, imports, what each side sees of the other's
// writes, seal, lifetimes (TTL, single use, unshare, an exporter killed), read-only imports
// that fault on a write, the GC giving imports back, worker threads and cluster workers, and
// the errors. Other processes are forked from sharer.js; the daemon's counters are the judge
// of what comes back.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const cluster = require('node:cluster');
const { fork } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { Worker } = require('node:worker_threads');
const { setTimeout: sleep } = require('node:timers/promises');
const daemon = require('./daemon');
const { peer } = require('./sharer');
const { reaches, steady } = require('./settle');

const SHARER = path.join(__dirname, 'sharer.js');
daemon.forTests();
const shmbuf = require('shmbuf');

const TOKEN = /^sb1_[A-Za-z0-9_-]{22}$/;
const tokenError = { name: 'Error', code: 'ERR_SHMBUF_TOKEN',
  message: 'The token names no share this connection may import' };

// What the daemon holds for sharing: live tokens, connections mapping objects they did not
// export, and the objects' bytes.
function counts() {
  const s = shmbuf.stats();
  return { shares: s.shares, imports: s.imports, shared_bytes: s.shared_bytes };
}

const baselineNow = () => steady(counts);
const settled = (want) => reaches(counts, want);

// The live shares among `tokens`, in the daemon's order (earlier tests leave theirs).
const sharesOf = (tokens) => shmbuf.shares().filter((s) => tokens.includes(s.token));

// A forked sharer.js, driven by commands. One that is to die of a memory fault keeps
// AddressSanitizer (make check-all preloads it into node) from catching the signal, so that
// the kernel's SIGSEGV is what ends it there too.
function forked({ toFault = false } = {}) {
  const env = { ...process.env };
  if (toFault)
    env.ASAN_OPTIONS = [env.ASAN_OPTIONS, 'handle_segv=0'].filter(Boolean).join(':');
  return peer(fork(SHARER, { env }));
}

// Ends a forked sharer.js and checks it exited cleanly.
async function ended(p) {
  p.child.disconnect();
  assert.deepStrictEqual(await p.exited, [0, null]);
}

test('share() hands the bytes of any Buffer to import(), which maps them', () => {
  const c = shmbuf.from('abcd', 'utf-8');
  const token = shmbuf.share(c, { readOnly: true, ttl: 60 });
  assert.match(token, TOKEN);
  const d = shmbuf.import(token);
  assert.ok(d instanceof Buffer);
  assert.strictEqual(d.toString(), 'abcd');
  // a pooled Buffer's own bytes became an ArrayBuffer of their own
  assert.deepStrictEqual([d.byteOffset, d.buffer.byteLength], [0, 4]);
  assert.deepStrictEqual([shmbuf.isShared(d), shmbuf.isReadOnly(d), shmbuf.isSealed(d)],
    [true, true, false]);
  // c was copied: it stays in its pool, writable and its own
  assert.strictEqual(c.buffer.byteLength, 8192);
  assert.deepStrictEqual([shmbuf.isShared(c), shmbuf.isReadOnly(c)], [false, false]);
  c[0] = 0x41;
  assert.strictEqual(d.toString(), 'abcd');

  const whole = shmbuf.alloc(100, 'x');
  const part = whole.subarray(10, 20);
  const copy = shmbuf.import(shmbuf.share(part));
  assert.deepStrictEqual([copy.byteOffset, copy.length, copy.buffer.byteLength], [0, 10, 10]);
  assert.strictEqual(copy.toString(), 'x'.repeat(10));
  assert.strictEqual(part.length, 10);
});

test('shareable() moves bytes into shared memory that share() then shares in place', () => {
  const a = shmbuf.alloc(5000, 'a');
  const view = a.subarray(100, 200);
  const s = shmbuf.shareable(view);
  // the whole dedicated ArrayBuffer moved, and its old one is detached, as postMessage()
  // detaches what it transfers
  assert.deepStrictEqual([a.length, view.length, a.buffer.byteLength], [0, 0, 0]);
  assert.deepStrictEqual([s.byteOffset, s.length, s.buffer.byteLength], [100, 100, 5000]);
  assert.strictEqual(s.toString(), 'a'.repeat(100));
  assert.ok(shmbuf.isShared(s));
  assert.strictEqual(shmbuf.shareable(s), s);
  // the whole ArrayBuffer is shared, and importers see the exporter's view of it
  const w = shmbuf.import(shmbuf.share(s, { writable: true }));
  assert.deepStrictEqual([w.byteOffset, w.length, w.buffer.byteLength], [100, 100, 5000]);
  assert.strictEqual(shmbuf.isReadOnly(w), false);
  s.write('from the exporter');
  assert.strictEqual(w.toString('latin1', 0, 17), 'from the exporter');
  w.write('IMPORTER');
  assert.strictEqual(s.toString('latin1', 0, 17), 'IMPORTER exporter');

  // a pooled Buffer is copied out of its pool, which stays as it was
  const p = shmbuf.from('pooled');
  const ps = shmbuf.shareable(p);
  assert.deepStrictEqual([ps.byteOffset, ps.buffer.byteLength, ps.toString()], [0, 6, 'pooled']);
  assert.deepStrictEqual([p.toString(), p.buffer.byteLength], ['pooled', 8192]);

  // a dedicated ArrayBuffer with a slab to itself (over 2 MiB) is handed over where it lies
  const big = shmbuf.alloc(3 << 20, 7);
  assert.strictEqual(shmbuf.shareable(big), big);
  assert.ok(shmbuf.isShared(big));
  const bigImport = shmbuf.import(shmbuf.share(big));
  big[5] = 9;
  assert.strictEqual(bigImport[5], 9);
});

test('seal() gives a Buffer that no process can write; share() can seal a copy', async () => {
  const a = shmbuf.alloc(64, 's');
  const sealed = shmbuf.seal(a.subarray(8, 16));
  assert.strictEqual(a.length, 0);
  assert.deepStrictEqual([sealed.byteOffset, sealed.length, sealed.buffer.byteLength], [8, 8, 64]);
  assert.deepStrictEqual([shmbuf.isSealed(sealed), shmbuf.isReadOnly(sealed),
    shmbuf.isShared(sealed)], [true, true, true]);
  assert.strictEqual(shmbuf.seal(sealed), sealed);
  const p = shmbuf.from('pool');
  const ps = shmbuf.seal(p);
  assert.ok(shmbuf.isSealed(ps) && !shmbuf.isSealed(p));
  assert.strictEqual(ps.toString(), 'pool');
  // a sealed Buffer is shared in place, read-only for everyone
  const token = shmbuf.share(sealed);
  assert.strictEqual(shmbuf.shares().find((s) => s.token === token).sealed, true);
  assert.throws(() => shmbuf.share(sealed, { writable: true }), {
    name: 'Error',
    code: 'ERR_SHMBUF_READ_ONLY',
    message: 'Cannot share a read-only buffer writable',
  });
  // share(buf, { sealed: true }) seals a copy and leaves buf writable
  const w = shmbuf.shareable(shmbuf.alloc(16, 'w'));
  const frozen = shmbuf.import(shmbuf.share(w, { sealed: true }));
  w.fill('z');
  assert.deepStrictEqual([frozen.toString(), shmbuf.isSealed(frozen), shmbuf.isSealed(w)],
    ['w'.repeat(16), true, false]);
  // even its maker dies when it writes to a sealed Buffer
  const child = forked({ toFault: true });
  await child.call('alloc', { as: 'mine', size: 32 });
  await child.call('seal', { name: 'mine', as: 'sealed' });
  child.call('poke', { name: 'sealed', index: 0, value: 1 }); // never answered
  assert.deepStrictEqual(await child.exited, [null, 'SIGSEGV']);
});

test('a parent and two forked children see each other\'s writes', async () => {
  const baseline = await baselineNow();
  const ro = shmbuf.shareable(shmbuf.from('read-only, from the parent'));
  const rw = shmbuf.shareable(shmbuf.alloc(48));
  const roToken = shmbuf.share(ro);
  const rwToken = shmbuf.share(rw, { writable: true });
  const children = [forked(), forked()];
  for (const c of children) {
    assert.deepStrictEqual(await c.call('import', { token: roToken, as: 'ro' }),
      { readOnly: true, sealed: false, length: 26 });
    assert.deepStrictEqual(await c.call('import', { token: rwToken, as: 'rw' }),
      { readOnly: false, sealed: false, length: 48 });
  }
  assert.deepStrictEqual(sharesOf([roToken, rwToken]).map((s) => [s.token, s.importers,
    s.writable]), [[roToken, 2, false], [rwToken, 2, true]]);
  ro.write('READ-ONLY');
  rw.write('parent', 0, 'latin1');
  await children[0].call('write', { name: 'rw', offset: 16, text: 'child 1' });
  await children[1].call('write', { name: 'rw', offset: 32, text: 'child 2' });
  const all = 'parent'.padEnd(16, '\0') + 'child 1'.padEnd(16, '\0') + 'child 2'.padEnd(16, '\0');
  assert.strictEqual(rw.toString('latin1'), all);
  for (const c of children) {
    assert.strictEqual(await c.call('read', { name: 'ro' }), 'READ-ONLY, from the parent');
    assert.strictEqual(await c.call('read', { name: 'rw' }), all);
  }
  await Promise.all(children.map(ended));
  assert.deepStrictEqual(sharesOf([roToken, rwToken]).map((s) => s.importers), [0, 0]);
  shmbuf.unshare(roToken);
  shmbuf.unshare(rwToken);
  assert.deepStrictEqual([shmbuf.release(ro), shmbuf.release(rw)], [true, true]);
  assert.deepStrictEqual(await settled(baseline), baseline);
});

test('an exporter killed with SIGKILL leaves its importers their bytes', async () => {
  const baseline = await baselineNow();
  const exporter = fork(SHARER, ['exporter'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const lines = readline.createInterface({ input: exporter.stdout });
  const reports = [];
  lines.on('line', (line) => reports.push(JSON.parse(line)));
  const [{ seen }] = await once(exporter, 'message');
  const all = 'exporter'.padEnd(16, '\0') + 'child 1'.padEnd(16, '\0') + 'child 2'.padEnd(16, '\0');
  assert.deepStrictEqual(seen, [all, all, all]);
  exporter.kill('SIGKILL');
  assert.deepStrictEqual(await once(exporter, 'exit'), [null, 'SIGKILL']);
  await once(lines, 'close'); // both children have printed what they hold and gone
  assert.deepStrictEqual(reports.map((r) => r.text), [all, all]);
  assert.deepStrictEqual(await settled(baseline), baseline);
});

test('a write through a read-only import kills the writer (SIGSEGV) and harms nobody', async () => {
  const baseline = await baselineNow();
  const mine = shmbuf.shareable(shmbuf.from('do not touch'));
  const token = shmbuf.share(mine);
  const [writer, reader] = [forked({ toFault: true }), forked()];
  await writer.call('import', { token, as: 'ro' });
  await reader.call('import', { token, as: 'ro' });
  writer.call('write', { name: 'ro', offset: 0, text: 'X' }); // never answered
  assert.deepStrictEqual(await writer.exited, [null, 'SIGSEGV']);
  assert.strictEqual(mine.toString(), 'do not touch');
  assert.strictEqual(await reader.call('read', { name: 'ro' }), 'do not touch');
  mine.write('D');
  assert.strictEqual(await reader.call('read', { name: 'ro' }), 'Do not touch');
  await ended(reader);
  // a system call that would write into it fails instead
  const ro = shmbuf.import(token);
  const fd = fs.openSync(__filename, 'r');
  try {
    assert.throws(() => fs.readSync(fd, ro, 0, 4, 0), { code: 'EFAULT' });
  } finally {
    fs.closeSync(fd);
  }
  assert.strictEqual(ro.toString(), 'Do not touch');
  shmbuf.unshare(token);
  assert.deepStrictEqual([shmbuf.release(ro), shmbuf.release(mine)], [true, true]);
  assert.deepStrictEqual(await settled(baseline), baseline);
});

test('a read-only import cannot be shared writable', async () => {
  const ro = shmbuf.import(shmbuf.share(shmbuf.from('mine')));
  assert.throws(() => shmbuf.share(ro, { writable: true }), {
    name: 'Error', code: 'ERR_SHMBUF_READ_ONLY', errno: -1,
  });
  assert.throws(() => shmbuf.share(ro, { readOnly: false }), { code: 'ERR_SHMBUF_READ_ONLY' });
  // read-only it can
  assert.strictEqual(shmbuf.import(shmbuf.share(ro)).toString(), 'mine');
});

test('a token stops importing past its TTL, after a single use, or when unshared', async () => {
  const b = shmbuf.shareable(shmbuf.from('lifetimes'));
  const minute = shmbuf.share(b, { ttl: 60 });
  const short = shmbuf.share(b, { ttlMs: 150 });
  const once_ = shmbuf.share(b, { singleUse: true });
  const revoked = shmbuf.share(b);
  const list = shmbuf.shares();
  const row = (token) => list.find((s) => s.token === token);
  assert.strictEqual(list.at(-1).token, revoked); // oldest first
  assert.ok(row(minute).ttlMs > 59000 && row(minute).ttlMs <= 60000, `${row(minute).ttlMs}`);
  assert.ok(row(short).ttlMs > 0 && row(short).ttlMs <= 150);
  assert.deepStrictEqual([row(once_).singleUse, row(once_).ttlMs, row(revoked).singleUse],
    [true, 0, false]);
  assert.deepStrictEqual(Object.keys(row(minute)), ['token', 'uid', 'pid', 'length', 'writable',
    'sealed', 'singleUse', 'persist', 'importers', 'ageMs', 'ttlMs']);
  assert.deepStrictEqual([row(minute).uid, row(minute).pid, row(minute).length],
    [process.getuid(), process.pid, 9]);

  const kept = shmbuf.import(short);
  const first = shmbuf.import(once_);
  assert.throws(() => shmbuf.import(once_), tokenError);
  const before = shmbuf.import(revoked);
  shmbuf.unshare(revoked);
  assert.throws(() => shmbuf.import(revoked), tokenError);
  assert.throws(() => shmbuf.unshare(revoked), tokenError);
  await sleep(200);
  assert.throws(() => shmbuf.import(short), tokenError);
  // imports already made stay
  b.write('LIFE');
  assert.deepStrictEqual([kept, first, before].map((x) => x.toString()),
    ['LIFEtimes', 'LIFEtimes', 'LIFEtimes']);
  assert.strictEqual(shmbuf.import(minute).toString(), 'LIFEtimes');
  shmbuf.unshare(minute);
  assert.deepStrictEqual(sharesOf([minute, short, once_, revoked]), []);
});

test('a persisting share outlives its exporter until its TTL', async () => {
  const exporter = forked();
  await exporter.call('alloc', { as: 'b', size: 8 });
  await exporter.call('write', { name: 'b', offset: 0, text: 'persists' });
  const token = await exporter.call('share', { name: 'b', options: { persist: true, ttl: 30 } });
  await ended(exporter);
  const [row] = sharesOf([token]);
  assert.deepStrictEqual([row.pid, row.persist, row.importers], [0, true, 0]);
  const b = shmbuf.import(token);
  assert.strictEqual(b.toString(), 'persists');
  shmbuf.unshare(token);
  assert.strictEqual(shmbuf.release(b), true);
});

test('the GC gives imports back: the counters return to their baseline', async () => {
  const exporter = forked();
  await exporter.call('alloc', { as: 'b', size: 3000 });
  const token = await exporter.call('share', { name: 'b' });
  const held = () => ({ ...counts(), buffers: shmbuf.stats().buffers });
  const baseline = await steady(held);
  let seen = 0;
  for (let i = 0; i < 200; i++)
    seen += shmbuf.import(token).length;
  assert.strictEqual(seen, 600000);
  const during = held();
  assert.ok(during.imports > baseline.imports, `${during.imports} imports`);
  assert.ok(during.buffers > baseline.buffers, `${during.buffers} buffers`);
  assert.deepStrictEqual(await reaches(held, baseline), baseline);
  await ended(exporter);
});

test('worker threads and cluster workers import what the main thread shares', async () => {
  const b = shmbuf.shareable(shmbuf.alloc(32));
  const token = shmbuf.share(b, { writable: true });
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const shmbuf = require('shmbuf');
    const view = shmbuf.import(workerData);
    view.write('from a worker thread');
    parentPort.postMessage(shmbuf.isShared(view));
    shmbuf.close();
  `, { eval: true, workerData: token });
  assert.deepStrictEqual(await once(worker, 'message'), [true]);
  assert.deepStrictEqual(await once(worker, 'exit'), [0]);
  assert.strictEqual(b.toString('latin1', 0, 20), 'from a worker thread');

  cluster.setupPrimary({ exec: SHARER, args: [] });
  const clustered = peer(cluster.fork().process);
  await clustered.call('import', { token, as: 'b' });
  assert.strictEqual(await clustered.call('read', { name: 'b', end: 20 }), 'from a worker thread');
  await clustered.call('write', { name: 'b', offset: 0, text: 'from a cluster worker' });
  assert.strictEqual(b.toString('latin1', 0, 21), 'from a cluster worker');
  await ended(clustered);

  // and a worker thread's share imports here
  const exporter = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const shmbuf = require('shmbuf');
    const mine = shmbuf.shareable(shmbuf.from('from a worker'));
    parentPort.postMessage(shmbuf.share(mine));
    parentPort.once('message', () => { shmbuf.close(); parentPort.close(); });
  `, { eval: true });
  const [fromWorker] = await once(exporter, 'message');
  assert.strictEqual(shmbuf.import(fromWorker).toString(), 'from a worker');
  exporter.postMessage('done');
  assert.deepStrictEqual(await once(exporter, 'exit'), [0]);
  shmbuf.unshare(token);
});

test('arguments are checked as Node checks its own', () => {
  const b = shmbuf.alloc(4);
  const cases = [
    [() => shmbuf.share('x'), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "buffer" argument must be an instance of Buffer, TypedArray, or DataView. ' +
      "Received type string ('x')"],
    [() => shmbuf.share(Buffer.alloc(4)), TypeError, 'ERR_INVALID_ARG_VALUE',
      "The argument 'buffer' is not memory shmbuf made in this thread. " +
      'Received <Buffer 00 00 00 00>'],
    [() => shmbuf.share(b, null), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "options" argument must be of type object. Received null'],
    [() => shmbuf.share(b, { writable: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "options.writable" property must be of type boolean. Received type number (1)'],
    [() => shmbuf.share(b, { writable: true, readOnly: true }), TypeError,
      'ERR_INCOMPATIBLE_OPTION_PAIR',
      'Option "writable" cannot be used in combination with option "readOnly"'],
    [() => shmbuf.share(b, { writable: true, sealed: true }), TypeError,
      'ERR_INCOMPATIBLE_OPTION_PAIR',
      'Option "writable" cannot be used in combination with option "sealed"'],
    [() => shmbuf.share(b, { ttl: 1, ttlMs: 1000 }), TypeError, 'ERR_INCOMPATIBLE_OPTION_PAIR',
      'Option "ttl" cannot be used in combination with option "ttlMs"'],
    [() => shmbuf.share(b, { ttl: -1 }), RangeError, 'ERR_OUT_OF_RANGE',
      'The value of "options.ttl" is out of range. It must be >= 0 && <= 9007199254740. ' +
      'Received -1'],
    [() => shmbuf.share(b, { ttlMs: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE',
      'The value of "options.ttlMs" is out of range. It must be an integer. Received 1.5'],
    [() => shmbuf.share(b, { persist: true }), TypeError, 'ERR_INVALID_ARG_VALUE',
      "The property 'options.persist' needs a TTL (options.ttl or options.ttlMs). Received true"],
    [() => shmbuf.share(b, { uids: 0 }), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "options.uids" property must be an instance of Array. Received type number (0)'],
    [() => shmbuf.share(b, { gids: [0, -1] }), RangeError, 'ERR_OUT_OF_RANGE',
      'The value of "options.gids[1]" is out of range. It must be >= 0 && <= 4294967295. ' +
      'Received -1'],
    [() => shmbuf.import(42), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "token" argument must be of type string. Received type number (42)'],
    [() => shmbuf.unshare(), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "token" argument must be of type string. Received undefined'],
    [() => shmbuf.seal(new Uint8Array(2)), TypeError, 'ERR_INVALID_ARG_VALUE',
      "The argument 'buffer' is not memory shmbuf made in this thread. " +
      'Received Uint8Array(2) [ 0, 0 ]'],
    [() => shmbuf.isShared({}), TypeError, 'ERR_INVALID_ARG_TYPE',
      'The "buffer" argument must be an instance of Buffer, TypedArray, or DataView. ' +
      'Received an instance of Object'],
  ];
  for (const [call, Class, code, message] of cases)
    assert.throws(call, (e) => e instanceof Class && e.code === code && e.message === message &&
      e.constructor === Class, message);
  // every token that names nothing gets one answer, a real one cut short by a NUL included
  const real = shmbuf.share(b);
  for (const token of ['', 'sb1_', 'sb1_AAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(100), `${real}\0`,
    `${real}\0extra`, real.slice(0, -1)]) {
    assert.throws(() => shmbuf.import(token), tokenError);
    assert.throws(() => shmbuf.unshare(token), tokenError);
  }
  assert.deepStrictEqual([shmbuf.isShared(Buffer.alloc(4)), shmbuf.isReadOnly(new DataView(
    new ArrayBuffer(2))), shmbuf.isSealed(b)], [false, false, false]);
  assert.throws(() => shmbuf.share(shmbuf.alloc(0)), { code: 'ERR_INVALID_ARG_VALUE' });
});
