// SPDX-License-Identifier: MIT
// shmbuf against Node's own Buffer, case by case, in the same process: the seeded generator of
// cases.js makes sequences of calls (alloc, allocUnsafe, allocUnsafeSlow, from in all its
// forms, concat) over every encoding, valid and invalid arguments; each call runs on Buffer
// and on shmbuf, and the outcomes must match: the same error (class, code, message,
// properties), or Buffers with the same bytes, length, byteOffset and buffer.byteLength,
// sharing an ArrayBuffer with exactly the same earlier results. Both pools start full, so
// that each sequence places its Buffers from a fresh pool on both sides.
//
// SHMBUF_TEST_SEED=N runs sequence N alone.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { inspect } = require('node:util');
const {
  ENCODINGS, compare, describe, fillPool, prng, run, sequence, string, val,
} = require('./cases');
const daemon = require('./daemon');

daemon.forTests();
const shmbuf = require('shmbuf');

const SEEDS = process.env.SHMBUF_TEST_SEED ? [Number(process.env.SHMBUF_TEST_SEED)] :
  Array.from({ length: 60 }, (_, i) => i + 1);

test('shmbuf matches Buffer call for call, over seeded random sequences', () => {
  const seen = new Set();
  for (const seed of SEEDS) {
    for (const c of sequence(shmbuf, seed, 150))
      seen.add(c.name);
  }
  assert.deepStrictEqual([...seen].sort(),
    ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat', 'from']);
});

test('every encoding gives Node\'s bytes and placement for the same strings', () => {
  const r = prng(7);
  for (const enc of ENCODINGS) {
    fillPool(Buffer.allocUnsafe);
    fillPool(shmbuf.allocUnsafe);
    const nodeResults = [];
    const shmResults = [];
    for (let i = 0; i < 40; i++) {
      const c = { name: 'from', args: [val(string(r, 4200)), val(enc)] };
      nodeResults.push(run(Buffer, c, nodeResults));
      shmResults.push(run(shmbuf, c, shmResults));
      compare(c, i, nodeResults, shmResults, nodeResults.map(() => true),
        `${enc}, string #${i} ${describe(c)}`);
    }
  }
});

test('Buffer methods work on shmbuf Buffers as on Node\'s', () => {
  const s = shmbuf.from('héllo wörld', 'utf8');
  const n = Buffer.from('héllo wörld', 'utf8');
  for (const enc of ENCODINGS)
    assert.strictEqual(s.toString(enc), n.toString(enc), enc);
  assert.strictEqual(inspect(s), inspect(n));
  assert.deepStrictEqual(s.toJSON(), n.toJSON());
  assert.strictEqual(s.readUInt32BE(1), n.readUInt32BE(1));
  assert.strictEqual(s.indexOf('wö'), n.indexOf('wö'));
  assert.ok(s.subarray(2, 5).equals(n.subarray(2, 5)));
  assert.strictEqual(s.subarray(2, 5).buffer, s.buffer);
  assert.strictEqual(Buffer.compare(s, n), 0);
  s.write('HE', 0, 'latin1');
  n.write('HE', 0, 'latin1');
  assert.ok(s.equals(n));
  assert.ok(Buffer.isBuffer(shmbuf.alloc(3)) && Buffer.isBuffer(shmbuf.allocUnsafeSlow(3)));
});

// Node keeps a fractional poolOffset after a pooled size with a fraction; libshmbuf places
// whole bytes, so such a size is cut first. This is where the two part (see README).
test('a fractional pooled size is cut to whole bytes (Node keeps the fraction)', () => {
  fillPool(Buffer.allocUnsafe);
  fillPool(shmbuf.allocUnsafe);
  const node = [8.5, 8.5, 8.5].map((n) => Buffer.allocUnsafe(n).byteOffset);
  const shm = [8.5, 8.5, 8.5].map((n) => shmbuf.allocUnsafe(n).byteOffset);
  assert.deepStrictEqual(node, [0, 8, 24]);
  assert.deepStrictEqual(shm, [0, 8, 16]);
});
