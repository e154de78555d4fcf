// SPDX-License-Identifier: MIT
// When shmbuf memory goes back: after the GC collects the last view of an ArrayBuffer, at
// release() (the ArrayBuffer is detached first), at close() (every ArrayBuffer is detached),
// when a worker thread ends; and what from(arrayBuffer) shares or refuses. The counters are
// the judge: the daemon's, and the library's for what it carves out of the regions it leases.
// Sizes stay under 2 MiB, past which libshmbuf keeps released ArrayBuffers for reuse.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { once } = require('node:events');
const { MessageChannel, Worker } = require('node:worker_threads');
const daemon = require('./daemon');
const { reaches, steady } = require('./settle');

const shmbufd = daemon.forTests();
const shmbuf = require('shmbuf');

// Buffers and bytes in use, whether the daemon made them or this thread's client carved them
// out of a region (the regions themselves are memory leased ahead of need).
function counts() {
  const s = shmbuf.stats();
  return {
    connections: s.connections,
    buffers: s.buffers - s.client_regions + s.client_carves,
    bytes: s.bytes - s.client_leased_bytes + s.client_carved_bytes,
  };
}

const baselineNow = () => steady(counts);
const collected = (want) => reaches(counts, want);

// Buffers of every kind, none of them kept.
function churn(n) {
  let made = 0;
  for (let i = 0; i < n; i++) {
    const kept = [shmbuf.alloc(1 + (i % 5000)), shmbuf.allocUnsafe(1 + (i % 4000)),
      shmbuf.allocUnsafeSlow(100), shmbuf.from('x'.repeat(i % 6000)), shmbuf.from([i, i + 1])];
    kept.push(shmbuf.concat(kept));
    made += kept.length;
  }
  return made;
}

test('the GC gives memory back: the counters return to their baseline', async () => {
  churn(10); // the current pool and the pools leased ahead of it are part of the baseline
  const baseline = await baselineNow();
  const held = [];
  for (let i = 0; i < 300; i++)
    held.push(shmbuf.alloc(1000), shmbuf.allocUnsafe(100));
  const during = counts();
  assert.ok(during.buffers >= baseline.buffers + 300, `${during.buffers} buffers`);
  held.length = 0;
  assert.strictEqual(churn(500), 3000);
  assert.deepStrictEqual(await collected(baseline), baseline);
});

test('release() gives a dedicated Buffer back at once and detaches every view of it', async () => {
  const baseline = await baselineNow();
  const a = shmbuf.alloc(1000, 'ab');
  const view = a.subarray(10, 20);
  const other = new Uint16Array(a.buffer, 4, 8);
  assert.deepStrictEqual(counts(),
    { ...baseline, buffers: baseline.buffers + 1, bytes: baseline.bytes + 1000 });
  assert.strictEqual(shmbuf.release(a), true);
  assert.deepStrictEqual([a.length, a.buffer.byteLength, view.length, other.length], [0, 0, 0, 0]);
  a[0] = 1;
  assert.strictEqual(a[0], undefined);
  assert.deepStrictEqual(counts(), baseline);
  assert.strictEqual(shmbuf.release(a), false);
  assert.strictEqual(shmbuf.release(view), false);
});

test('release() leaves a pooled Buffer alone: its pool is shared', () => {
  const b = shmbuf.from('pooled');
  const neighbour = shmbuf.from('neighbour');
  assert.strictEqual(b.buffer, neighbour.buffer);
  assert.strictEqual(shmbuf.release(b), false);
  assert.strictEqual(b.toString(), 'pooled');
  assert.strictEqual(neighbour.toString(), 'neighbour');
});

test('release() refuses what shmbuf did not make', () => {
  assert.throws(() => shmbuf.release(Buffer.alloc(4)), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_VALUE',
    message: "The argument 'buffer' is not memory shmbuf made in this thread. " +
      'Received <Buffer 00 00 00 00>',
  });
  assert.throws(() => shmbuf.release('x'), {
    name: 'TypeError',
    code: 'ERR_INVALID_ARG_TYPE',
    message: 'The "buffer" argument must be an instance of Buffer, TypedArray, or DataView. ' +
      "Received type string ('x')",
  });
  assert.strictEqual(shmbuf.release(Buffer.alloc(0)), false);
  assert.strictEqual(shmbuf.release(shmbuf.from('')), false);
});

test('from(arrayBuffer) shares shmbuf memory and refuses other memory', () => {
  const a = shmbuf.alloc(8);
  const v = shmbuf.from(a.buffer, 2, 4);
  v[0] = 7;
  assert.strictEqual(a[2], 7);
  assert.strictEqual(v.buffer, a.buffer);
  const p = shmbuf.allocUnsafe(16).fill(3);
  const w = shmbuf.from(p.buffer, p.byteOffset, 16);
  assert.strictEqual(w.buffer, p.buffer);
  w[15] = 9;
  assert.strictEqual(p[15], 9);
  for (const foreign of [new ArrayBuffer(8), new SharedArrayBuffer(8), Buffer.alloc(8).buffer]) {
    assert.throws(() => shmbuf.from(foreign), {
      name: 'TypeError',
      code: 'ERR_INVALID_ARG_VALUE',
      message: /^The argument 'arrayBuffer' is not shared memory made by shmbuf in this thread/,
    });
  }
  // Node's own checks come first, and an empty ArrayBuffer has nothing to share.
  assert.throws(() => shmbuf.from(new ArrayBuffer(8), 9), { code: 'ERR_BUFFER_OUT_OF_BOUNDS' });
  assert.strictEqual(shmbuf.from(new ArrayBuffer(0)).length, 0);
});

test('a Buffer posted to another thread is copied: its memory stays with this thread', async () => {
  const a = shmbuf.from('stays here');
  const d = shmbuf.alloc(300, 'd');
  const { port1, port2 } = new MessageChannel();
  port1.postMessage([a, d], [a.buffer, d.buffer]);
  const [[ta, td]] = await once(port2, 'message');
  port1.close();
  assert.strictEqual(Buffer.from(ta.buffer, ta.byteOffset, ta.length).toString(), 'stays here');
  assert.ok(d.equals(td));
  assert.strictEqual(a.toString(), 'stays here');
  assert.strictEqual(d.length, 300);
  assert.strictEqual(shmbuf.release(d), true);
});

test('a worker thread that ends gives its connection and memory back', async () => {
  const baseline = await baselineNow();
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    const shmbuf = require('shmbuf');
    const held = [shmbuf.alloc(5000), shmbuf.allocUnsafe(10), shmbuf.from('x'.repeat(9000))];
    parentPort.postMessage(held.map((b) => b.length));
    parentPort.once('message', () => parentPort.close());
  `, { eval: true });
  const [lengths] = await once(worker, 'message');
  assert.deepStrictEqual(lengths, [5000, 10, 9000]);
  const during = counts();
  assert.strictEqual(during.connections, baseline.connections + 1);
  assert.ok(during.buffers > baseline.buffers);
  worker.postMessage('go');
  assert.deepStrictEqual(await once(worker, 'exit'), [0]);
  assert.deepStrictEqual(await collected(baseline), baseline);
});

test('close() detaches every Buffer and the next call connects again', async () => {
  const kept = [shmbuf.alloc(16), shmbuf.allocUnsafe(16), shmbuf.from('y'.repeat(5000)),
    shmbuf.from([1, 2, 3])];
  const view = kept[1].subarray(2);
  shmbuf.close();
  assert.deepStrictEqual(kept.map((b) => b.length), [0, 0, 0, 0]);
  assert.strictEqual(view.length, 0);
  assert.deepStrictEqual(await collected({ connections: 1, buffers: 0, bytes: 0 }),
    { connections: 1, buffers: 0, bytes: 0 });
  assert.strictEqual(shmbuf.from('again').toString(), 'again');
});

// Last: it stops the daemon.
test('without the daemon, Buffers stay usable and calls fail with its error', async () => {
  const held = shmbuf.from('still here');
  const big = shmbuf.alloc(10000, 'z');
  await shmbufd.stop();
  assert.strictEqual(held.toString(), 'still here');
  big[9999] = 0x41;
  assert.strictEqual(big.toString('latin1', 9998), 'zA');
  // (a small one is carved out of a region the client holds: no call)
  assert.throws(() => shmbuf.alloc(4 << 20), (e) => e instanceof Error &&
    typeof e.code === 'string' && e.errno < 0 && e.message.length > 0);
  shmbuf.close();
  assert.strictEqual(held.length, 0);
  assert.throws(() => shmbuf.allocUnsafe(10), {
    name: 'Error',
    code: 'ERR_SHMBUF_CONNECT',
    message: /^cannot connect to shmbufd at /,
  });
});
