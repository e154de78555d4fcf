// SPDX-License-Identifier: MIT
// The comparison of shmbuf with Node's Buffer, shared by the tests and by the peers they start
// in worker threads and processes: a seeded generator of calls, running one call on both
// sides, and the check that the outcomes match. Not a test file itself.
'use strict';

const assert = require('node:assert');
const { inspect } = require('node:util');

// ---- the generator ---------------------------------------------------------------------------

// mulberry32: small, seeded, and the same everywhere.
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (items) => items[int(0, items.length - 1)];
  return { next, int, pick, chance: (p) => next() < p };
}

const ENCODINGS = ['utf8', 'utf-8', 'UTF8', 'Utf-8', 'ucs2', 'ucs-2', 'UCS2', 'utf16le',
  'utf-16le', 'UTF-16LE', 'latin1', 'binary', 'LATIN1', 'Binary', 'ascii', 'ASCII', 'base64',
  'Base64', 'base64url', 'BASE64URL', 'hex', 'HEX'];
const BAD_ENCODINGS = ['utf9', 'utf-16', 'latin2', 'hex ', 'base-64', 'UTF_8', 'ucs4', 'nope'];
const NOT_STRING_ENCODINGS = [undefined, null, '', 0, 1, true, {}, []];

// A size: mostly small and pool-sized, with Node's thresholds and some dedicated ones.
function size(r) {
  return r.pick([
    () => r.int(0, 64), () => r.int(0, 64), () => r.int(1, 4095), () => r.int(1, 4095),
    () => r.pick([0, 1, 7, 8, 9, 4095, 4096, 4097, 8191, 8192, 8193]),
    () => r.int(4096, 70000), () => (r.chance(0.1) ? r.int(262144, 300000) : r.int(1, 100)),
  ])();
}

const BAD_SIZES = [-1, -0.5, NaN, Infinity, -Infinity, 2 ** 32 + 1, 2 ** 53, '4', '', null,
  undefined, true, {}, [], [4], 4n, Symbol('size'), () => 4, new Number(4)];

// A JS string of one of the shapes that matter to encoders.
function string(r, maxLength) {
  const n = r.pick([() => r.int(0, 8), () => r.int(0, 300), () => r.int(900, maxLength)])();
  const unit = r.pick([
    () => r.int(0x20, 0x7e), // ASCII
    () => r.int(0, 0xff), // latin1
    () => r.int(0, 0xffff), // any BMP unit, lone surrogates included
    () => r.pick([0x41, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xdc00, 0xd800, 0]), // edges
    () => '0123456789abcdefABCDEFxz '.charCodeAt(r.int(0, 24)), // hex-ish
    () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_= \n'
      .charCodeAt(r.int(0, 68)), // base64-ish
  ]);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (r.chance(0.05)) { // a surrogate pair
      const cp = r.int(0x10000, 0x10ffff) - 0x10000;
      s += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      s += String.fromCharCode(unit());
    }
  }
  return s;
}

function encoding(r) {
  return r.chance(0.85) ? r.pick(ENCODINGS) :
    r.pick([...BAD_ENCODINGS, ...NOT_STRING_ENCODINGS]);
}

// Array elements as a Uint8Array stores them: fractions, negatives, NaN, strings, holes.
function element(r) {
  return r.pick([() => r.int(0, 255), () => r.int(-300, 600), () => r.next() * 512 - 100,
    () => NaN, () => String(r.int(0, 300)), () => undefined, () => null, () => true])();
}

function array(r, n) {
  const a = new Array(n);
  for (let i = 0; i < n; i++)
    a[i] = element(r);
  return a;
}

function arrayLength(r) {
  return r.pick([() => r.int(0, 16), () => r.int(0, 4095), () => r.pick([4095, 4096, 4097]),
    () => r.int(4096, 9000)])();
}

// An argument: a value, or the result of an earlier call (each side takes its own), or a
// view of an earlier result's ArrayBuffer. `earlier` is the number of earlier calls.
const val = (value) => ({ value });
const ref = (i) => ({ ref: i });
const arrayBufferOf = (i) => ({ arrayBufferOf: i });

function typedArray(r) {
  const n = r.pick([() => r.int(0, 20), () => r.int(0, 5000)])();
  const Type = r.pick([Uint8Array, Uint8Array, Int8Array, Uint16Array, Int32Array, Float64Array,
    Uint8ClampedArray]);
  const t = new Type(n);
  for (let i = 0; i < n; i++)
    t[i] = r.int(-70000, 70000) / r.pick([1, 1, 3]);
  return t;
}

// Something for from(): every shape Buffer.from() takes, and some it refuses.
function fromSource(r, earlier) {
  const choices = [
    () => [val(string(r, 5000)), val(encoding(r))],
    () => [val(string(r, 5000)), val(encoding(r))],
    () => [val(string(r, 5000))],
    () => [val(array(r, arrayLength(r)))],
    () => [val(typedArray(r))],
    () => [val(Buffer.of(...array(r, r.int(0, 40))))],
    () => {
      const o = { length: r.pick([r.int(0, 20), r.int(4096, 4200), -3, NaN, '3', undefined]) };
      for (let i = 0; i < 20; i++)
        o[i] = element(r);
      return [val(o)];
    },
    () => [val({ type: 'Buffer', data: array(r, r.int(0, 30)) })],
    () => [val({ type: 'Buffer', data: 'not an array' })],
    () => [val(new String(string(r, 40))), val(encoding(r))], // eslint-disable-line no-new-wrappers
    // (what valueOf() and toPrimitive give is made now, the same for both sides)
    () => {
      const s = string(r, 40);
      return [val({ valueOf: () => s }), val(encoding(r))];
    },
    () => {
      const a = array(r, r.int(0, 10));
      return [val({ valueOf: () => a })];
    },
    () => {
      const s = string(r, 40);
      return [val({ [Symbol.toPrimitive]: () => s }), val(encoding(r))];
    },
    () => [val({ [Symbol.toPrimitive]: () => 5 })],
    () => [val(r.pick([5, null, undefined, true, 5n, Symbol('x'), () => 1, {}, new Date(0)]))],
    () => [val(new DataView(new ArrayBuffer(4)))],
  ];
  if (earlier > 0) {
    const i = r.int(0, earlier - 1);
    choices.push(() => [ref(i)], () => [ref(i)]);
    // Views of an earlier result's ArrayBuffer, in range and out of it.
    const offsets = [undefined, 0, 1, 8, 100, 9000, -1, NaN, '2', 2.7];
    choices.push(() => [arrayBufferOf(i)], () => [arrayBufferOf(i), val(r.pick(offsets))],
      () => [arrayBufferOf(i), val(r.pick(offsets)),
        val(r.pick([undefined, 0, 1, 3, 16, 5000, -4, NaN, '4', 1.5]))]);
  }
  return r.pick(choices)();
}

function concatList(r, earlier) {
  const n = r.pick([0, 1, 2, 3, 6]);
  const list = [];
  for (let k = 0; k < n; k++) {
    if (earlier > 0 && r.chance(0.5))
      list.push(ref(r.int(0, earlier - 1)));
    else if (r.chance(0.9))
      list.push(val(Uint8Array.from(array(r, r.int(0, r.pick([10, 3000]))))));
    else
      list.push(val(r.pick([[1, 2], 'abc', null, { length: 3 }, 7])));
  }
  return list;
}

function fill(r) {
  return r.pick([
    () => [val(r.pick([0, 1, 255, 256, -1, 3.7, NaN, 1e10]))],
    () => [val(string(r, 40)), val(encoding(r))],
    () => [val(r.pick(['', 'a', 'abc', 'é', 'zz', '\ud800', 'ff00'])), val(r.pick(ENCODINGS))],
    () => [val(Uint8Array.from(array(r, r.int(0, 5))))],
    () => [val(r.pick([true, false, null, {}, [1, 2]]))],
  ])();
}

// One call: { name, args } with args as above (concat's list is an array of them).
function call(r, earlier) {
  switch (r.pick(['alloc', 'alloc', 'allocUnsafe', 'allocUnsafe', 'allocUnsafe',
    'allocUnsafeSlow', 'from', 'from', 'from', 'from', 'concat', 'bad size'])) {
    case 'alloc': {
      const n = r.chance(0.1) ? size(r) + 0.5 : size(r);
      return { name: 'alloc', args: r.chance(0.5) ? [val(n)] : [val(n), ...fill(r)] };
    }
    case 'allocUnsafe':
      return { name: 'allocUnsafe', args: [val(size(r))] };
    case 'allocUnsafeSlow':
      return { name: 'allocUnsafeSlow', args: [val(r.chance(0.1) ? size(r) + 0.25 : size(r))] };
    case 'from':
      return { name: 'from', args: fromSource(r, earlier) };
    case 'concat':
      return {
        name: 'concat',
        list: r.chance(0.95) ? concatList(r, earlier) : null,
        args: r.pick([[], [], [val(r.int(0, 5000))], [val(r.pick([-1, 1.5, '4', 2 ** 33]))]]),
      };
    default:
      return {
        name: r.pick(['alloc', 'allocUnsafe', 'allocUnsafeSlow']),
        args: [val(r.pick(BAD_SIZES))],
      };
  }
}

// ---- running a call on both sides ----------------------------------------------------------

function resolve(arg, results) {
  if ('value' in arg)
    return arg.value;
  if ('ref' in arg)
    return results[arg.ref];
  const earlier = results[arg.arrayBufferOf];
  return earlier instanceof Error ? earlier : earlier.buffer;
}

function run(api, c, results) {
  const args = c.args.map((a) => resolve(a, results));
  if (c.name === 'concat' && c.list !== undefined)
    args.unshift(c.list === null ? 'not a list' : c.list.map((a) => resolve(a, results)));
  try {
    return api[c.name](...args);
  } catch (e) {
    return e;
  }
}

function describe(c) {
  const show = (a) => ('value' in a ? inspect(a.value, { maxStringLength: 40, maxArrayLength: 8 }) :
    'ref' in a ? `#${a.ref}` : `#${a.arrayBufferOf}.buffer`);
  const list = c.list === undefined ? [] :
    [c.list === null ? "'not a list'" : `[${c.list.map(show).join(', ')}]`];
  return `${c.name}(${[...list, ...c.args.map(show)].join(', ')})`;
}

function errorFacts(e) {
  return {
    constructor: e.constructor,
    name: e.name,
    code: e.code,
    message: e.message,
    string: String(e),
    firstLine: String(e.stack).split('\n')[0],
    own: Object.getOwnPropertyNames(e),
    keys: Object.keys(e),
  };
}

// Whether a result's bytes are known: allocUnsafe() and allocUnsafeSlow() give whatever the
// memory held, and so do copies of their results and views of an earlier result's
// ArrayBuffer (a pool holds bytes of other Buffers).
function definedBytes(c, defined) {
  if (c.name === 'allocUnsafe' || c.name === 'allocUnsafeSlow')
    return false;
  const args = c.list ? [...c.list, ...c.args] : c.args;
  return args.every((a) => !('arrayBufferOf' in a) && (!('ref' in a) || defined[a.ref]));
}

function compare(c, i, nodeResults, shmResults, defined, where) {
  const n = nodeResults[i];
  const s = shmResults[i];
  if (n instanceof Error || s instanceof Error) {
    assert.ok(n instanceof Error, `${where}: shmbuf threw ${s}, Node did not`);
    assert.ok(s instanceof Error, `${where}: Node threw ${n}, shmbuf did not`);
    assert.deepStrictEqual(errorFacts(s), errorFacts(n), where);
    return;
  }
  assert.ok(s instanceof Buffer, `${where}: not a Buffer`);
  assert.strictEqual(Object.getPrototypeOf(s), Buffer.prototype, where);
  assert.deepStrictEqual(
    { length: s.length, byteOffset: s.byteOffset, byteLength: s.buffer.byteLength },
    { length: n.length, byteOffset: n.byteOffset, byteLength: n.buffer.byteLength }, where);
  if (defined[i])
    assert.ok(s.equals(n), `${where}: bytes ${inspect(s)} != ${inspect(n)}`);
  for (let j = 0; j < i; j++) {
    if (nodeResults[j] instanceof Error)
      continue;
    assert.strictEqual(shmResults[j].buffer === s.buffer, nodeResults[j].buffer === n.buffer,
      `${where}: sharing an ArrayBuffer with #${j} differs`);
  }
}

// Uses the pool until it is exactly full, so that the next pooled Buffer starts a new one.
function fillPool(allocUnsafe) {
  for (let i = 0; i < 3; i++) {
    if (allocUnsafe(4095).byteOffset === 4096)
      return;
  }
  throw new Error('the pool did not fill');
}

function sequence(shmbuf, seed, calls) {
  const r = prng(seed);
  const plan = [];
  for (let i = 0; i < calls; i++)
    plan.push(call(r, i));
  const nodeResults = [];
  const shmResults = [];
  const defined = [];
  fillPool(Buffer.allocUnsafe);
  fillPool(shmbuf.allocUnsafe);
  // Nothing between two Node calls may take from Node's pool: the comparison does not.
  for (let i = 0; i < plan.length; i++) {
    nodeResults.push(run(Buffer, plan[i], nodeResults));
    shmResults.push(run(shmbuf, plan[i], shmResults));
    defined.push(definedBytes(plan[i], defined));
    compare(plan[i], i, nodeResults, shmResults, defined,
      `seed ${seed}, call #${i} ${describe(plan[i])}`);
  }
  return plan;
}

module.exports = { ENCODINGS, compare, describe, fillPool, prng, run, sequence, string, val };
