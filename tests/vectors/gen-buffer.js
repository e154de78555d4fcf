#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Buffer API vectors for libshmbuf, taken from Node itself (Node 20 is the specification).
// Replayed through the library against a real shmbufd by tests/check_buf.c.
//
// Regenerate with:  node tests/vectors/gen-buffer.js > tests/vectors/buffer.txt
//
// Format: one case a line, fields separated by one tab, never empty. Lines starting with '#'
// are comments. A case is
//   OP  ARGS...  =  RESULT...
// and RESULT is either "ok" and the fields the OP lists, or "err CODE MESSAGE": Node's
// error code (a V8 RangeError without one gives "RangeError") and its message, escaped.
// Conventions for fields:
//   HEX      bytes, 2 lowercase hex digits each, "-" for none; a run of N equal bytes may be
//            written "hh*N", and such pieces are joined by "/" (e.g. "0102/00*100/03")
//   STR      a JS string given as its UTF-8 bytes in HEX (ill-formed UTF-8 stands for the
//            string Node decodes from those bytes: one U+FFFD per maximal invalid subpart)
//   UNITS    a JS string as its UTF-16 code units, 4 hex digits each ("-" for none)
//   INT      a decimal integer, or "-" for undefined (SHMBUF_UNDEFINED)
//   NUM      a JS number as the 16 hex digits of its IEEE 754 bits
//   ENC      "-" for undefined (NULL), else "e:" and the name, which may be empty ("e:")
//   FILL     "s:STR" a string, "b:HEX" a Buffer (as an empty one shows in messages), "n:NUM" a number
//   MESSAGE  UTF-8, with backslash, newline and tab written "\\", "\n", "\t", and a space
//            that ends the line written "\s"
//
//   alloc     INT FILL|- ENC            = ok HEX           Buffer.alloc(size[, fill[, enc]])
//   size      alloc|unsafe|slow INT      = ok LEN           Buffer.alloc/allocUnsafe/allocUnsafeSlow
//   fill      HEX FILL INT INT ENC       = ok HEX           Buffer.from(HEX).fill(v, offset, end, enc)
//             (offset undefined with ENC given is buf.fill(v, enc), the only way C can say it)
//   from      STR ENC                    = ok HEX           Buffer.from(str, enc)
//   from16    UNITS ENC                  = ok HEX           the same with the string as UTF-16 units
//   array     NUM,NUM,...|-              = ok HEX           Buffer.from([v, ...])
//   bytelen   STR ENC                    = ok N             Buffer.byteLength(str, enc)
//   tostring  HEX ENC INT INT            = ok STR UNITS     buf.toString(enc, start, end), as UTF-8
//                                                           and as UTF-16 (lone surrogates kept)
//   inspect   HEX                        = ok TEXT          util.inspect(buf) (TEXT escaped)
//   subarray  LEN INT INT                = ok OFF LEN       buf.subarray(start, end): byteOffset
//   slice     LEN INT INT                = ok OFF LEN       relative to buf's, and length
//   fromab    alloc:N|unsafe:N INT INT   = ok OFF LEN       Buffer.from(src.buffer, byteOffset, length)
//   concat    HEX,HEX,...|- INT          = ok LEN OFF ABLEN POOLED HEX
//             on a fresh pool: each HEX is made by Buffer.from(array) first, then
//             Buffer.concat(list, totalLength); OFF is the byteOffset, ABLEN buffer.byteLength
//   compare   HEX HEX                    = ok -1|0|1        Buffer.compare(a, b)
//   equals    HEX HEX                    = ok 0|1           a.equals(b)
'use strict';

const assert = require('assert');
const util = require('util');

const out = [];
const emit = (...fields) => {
  for (const f of fields) assert.ok(typeof f === 'string' && f.length > 0 && !/[\t\n]/.test(f), f);
  out.push(fields.join('\t'));
};

// ---- fields (tests/vectors/fields.js) --------------------------------------------------------
const { enc8, hexOf, strField, unitsOf, numField, intField, encField, escape, attempt } = require('./fields');
const fillField = (f) => {
  if (f === undefined) return '-';
  if (typeof f === 'string') return `s:${strField(f)}`;
  if (typeof f === 'number') return `n:${numField(f)}`;
  return `b:${hexOf(f)}`;
};

// A string given as UTF-8 bytes, some ill-formed: what the C side passes and what Node sees.
class Bytes8 {
  constructor(bytes) { this.bytes = bytes; this.str = Buffer.from(bytes).toString('utf8'); }
}
const strOf = (s) => (s instanceof Bytes8 ? s.str : s);
const strArg = (s) => (s instanceof Bytes8 ? hexOf(s.bytes) : strField(s));
const fillArg = (f) => (f instanceof Bytes8 ? `s:${hexOf(f.bytes)}` : fillField(f));

// ---- Buffer.alloc(size, fill, encoding) --------------------------------------------------------
const STRING_FILLS = [
  ['a', 'utf8'], ['ab', 'utf8'], ['abc', undefined], ['\u00e9', 'utf8'], ['t\u00e9st', 'utf-8'],
  ['\u20ac', undefined], ['\u{1f600}', 'utf8'], ['a\u{1f600}', 'UTF8'], [new Bytes8([0xff]), 'utf8'],
  [new Bytes8([0x61, 0xc3]), undefined], [new Bytes8([0xf0, 0x9f, 0x98]), 'utf8'],
  ['ab', 'hex'], ['abcd', 'hex'], ['abc', 'hex'], ['abzz', 'hex'], ['AB', 'HEX'], ['0x12', 'hex'],
  ['ab cd', 'hex'], ['zz', 'hex'], ['a', 'hex'], ['g', 'hex'], ['\u00e9', 'hex'], ['ab\u0161b', 'hex'],
  ['YQ==', 'base64'], ['YWJj', 'base64'], ['YW Jj', 'base64'], ['Y W\nJ j', 'base64'], ['-_8', 'base64'],
  ['+/8', 'base64url'], ['QUJD=RA', 'base64'], ['Q', 'base64'], ['=', 'base64'], ['====', 'base64'],
  ['!!!!', 'base64'], ['Q', 'base64url'], ['QQ', 'Base64URL'], ['\u{1f600}', 'base64'],
  ['\u00ff', 'latin1'], ['\u00e9', 'binary'], ['\u0100', 'latin1'], ['\u20ac', 'latin1'],
  ['abc', 'BINARY'], ['\u00e9', 'ascii'], ['\u00ff\u0141', 'ascii'], ['abc', 'ascii'],
  ['a', 'utf16le'], ['\u00e9', 'ucs2'], ['\u{1f600}', 'UCS-2'], ['ab', 'utf-16le'],
  ['', 'utf8'], ['', 'hex'], ['', 'base64'], ['', undefined], ['', 'utf9'],
  ['a', 'utf9'], ['zz', 'utf9'], ['a', ''], ['zz', ''], ['a', 'hex '], ['a', 'utf-16'],
  // fills that encode to nothing, as util.inspect shows them in the message
  ["it's", 'hex'], ['say "it\'s"', 'hex'], ['`${x}` "it\'s"', 'hex'], ['`x` "it\'s"', 'hex'],
  ['tab\there', 'hex'], ['\x00\x01\x7f', 'hex'], ['\u0085\u009f', 'hex'], ['back\\slash', 'hex'],
  ['z'.repeat(76), 'hex'], ['z'.repeat(77), 'hex'], ['z'.repeat(100) + '\nz', 'hex'],
  ['x'.repeat(20) + '\n' + 'y'.repeat(103), 'hex'], ['g\n'.repeat(80), 'hex'],
  ['g'.repeat(200), 'hex'], ['g'.repeat(126) + '\u{1f600}', 'hex'], ['g'.repeat(127) + '\u{1f600}', 'hex'],
  ['\u{1f600}'.repeat(70), 'hex'], ['!'.repeat(300), 'base64'], ['=QUJD', 'base64'],
  [new Bytes8([0x7a, 0xff, 0x7a]), 'hex'],
];
const BYTE_FILLS = [[1], [1, 2, 3], [0xff, 0], [], [0], [9, 8, 7, 6, 5, 4, 3, 2, 1]];
const NUMBER_FILLS = [
  0, -0, 1, 65, 255, 256, 257, 511.9, -1, -255, -256, 1.5, -1.5, 0.9, -0.9, NaN, Infinity,
  -Infinity, 1e20, -1e20, 2 ** 53, 2 ** 32 + 3, 4294967297.5, Number.MIN_VALUE, 1e300,
];
const SIZES = [0, 1, 2, 3, 5, 8, 17];

function allocCase(size, fill, enc) {
  const r = attempt(() => Buffer.alloc(size, strOf(fill), enc), (b) => {
    assert.strictEqual(b.buffer.byteLength, b.length);
    return [hexOf(b)];
  });
  emit('alloc', intField(size), fillArg(fill), encField(enc), '=', ...r);
}
for (const size of SIZES) {
  allocCase(size, undefined, undefined);
  for (const [s, enc] of STRING_FILLS) allocCase(size, s, enc);
  for (const b of BYTE_FILLS) allocCase(size, Buffer.from(b), undefined);
  for (const v of NUMBER_FILLS) allocCase(size, v, undefined);
}
for (const size of [100, 4097]) {
  for (const [s, enc] of [['abc', 'utf8'], ['\u{1f600}', undefined], ['abcdef', 'hex'], ['YWJjZA', 'base64']])
    allocCase(size, s, enc);
  allocCase(size, Buffer.from([1, 2, 3, 4, 5, 6, 7]), undefined);
  allocCase(size, 0x2a, undefined);
}
// Sizes first: a bad size fails whatever the fill; size 0 never looks at the fill.
for (const size of [-1, -4096, 2 ** 32 + 1, 2 ** 40, 2 ** 53, -(2 ** 53)]) {
  allocCase(size, undefined, undefined);
  allocCase(size, 'zz', 'hex');
  allocCase(size, 'a', 'utf9');
  allocCase(size, Buffer.alloc(0), undefined);
  allocCase(size, 7, undefined);
}

// ---- allocUnsafe, allocUnsafeSlow sizes -------------------------------------------------------
const SIZE_OPS = { alloc: Buffer.alloc, unsafe: Buffer.allocUnsafe, slow: Buffer.allocUnsafeSlow };
for (const [op, f] of Object.entries(SIZE_OPS)) {
  for (const size of [0, 1, 4095, 4096, 8192, -1, -2, 2 ** 32 + 1, 2 ** 33, 2 ** 53, -(2 ** 53)])
    emit('size', op, intField(size), '=', ...attempt(() => f(size), (b) => [String(b.length)]));
}

// ---- buf.fill(value, offset, end, encoding) --------------------------------------------------
const initial = (n) => Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
const FILL_VALUES = [
  ['ab', 'utf8'], ['\u00e9', undefined], ['\u{1f600}', 'utf8'], ['abzz', 'hex'], ['zz', 'hex'],
  ['', undefined], ['', 'hex'], ['a', 'utf9'], ['', 'utf9'], ['\u0141', 'latin1'], ['YWJj', 'base64'],
  ['ab', 'ucs2'], ['a', ''], [Buffer.from([1, 2, 3]), undefined], [Buffer.alloc(0), undefined],
  [0x41, undefined], [300, undefined], [NaN, undefined], [-1.5, undefined],
];
const OFFSETS = (n) => [undefined, 0, 1, 3, n, n + 1, -1, 2 ** 32 + 1];
const ENDS = (n) => [undefined, 0, 2, n, n + 1, -1];
function fillCase(init, value, offset, end, enc) {
  const r = attempt(() => {
    const b = Buffer.from(init);
    const v = strOf(value);
    if (offset === undefined && enc !== undefined && typeof v === 'string') return b.fill(v, enc);
    return b.fill(v, offset, end, enc);
  }, (b) => [hexOf(b)]);
  emit('fill', hexOf(init), fillArg(value), intField(offset), intField(end), encField(enc), '=', ...r);
}
for (const n of [0, 1, 6]) {
  const init = initial(n);
  for (const [v, enc] of FILL_VALUES)
    for (const offset of OFFSETS(n))
      for (const end of ENDS(n)) {
        if (n === 0 && (offset > 1 || end > 1)) continue;
        fillCase(init, v, offset, end, enc);
      }
}

// ---- Buffer.from(string, encoding) ------------------------------------------------------------
for (const [s, enc] of [
  ['abc', undefined], ['abc', 'utf9'], ['', 'utf9'], ['', undefined], ['abc', ''], ['', ''],
  ['t\u00e9st', 'latin1'], ['abcdefzz', 'hex'], ['aGVsbG8=', 'BASE64'], ['hi', 'UCS2'], ['abc', 'hex '],
  [new Bytes8([0x61, 0xff, 0x62]), undefined], [new Bytes8([0xe2, 0x82]), 'utf16le'],
]) emit('from', strArg(s), encField(enc), '=', ...attempt(() => Buffer.from(strOf(s), enc), (b) => [hexOf(b)]));

// ---- Buffer.from(string, encoding) with the string as UTF-16 units, lone surrogates and all --
const FROM16 = [
  ['\ud800', undefined], ['a\udc00b', 'utf8'], ['\ude00\ud83d', 'utf8'], ['\ud83d\ude00', 'utf8'],
  ['\ud83d', 'utf16le'], ['\ud83d', 'latin1'], ['\ud83d', 'ascii'], ['QQ\ud83dQUJD', 'base64'],
  ['QUJ\udc51D', 'base64url'], ['ab\ud800cd', 'hex'], ['\u0100\u0141', 'binary'], ['x', 'utf9'],
  ['', 'utf9'], ['', undefined],
];
for (const [s, enc] of FROM16)
  emit('from16', unitsOf(s), encField(enc), '=', ...attempt(() => Buffer.from(s, enc), (b) => [hexOf(b)]));

// ---- Buffer.from(array): Uint8Array's ToUint8 ------------------------------------------------
const ARRAYS = [
  [], [0], [1, 2, 3], [97, 98, 99, 100], [255, 256, 257, -1, -255, -256, -257],
  [NaN, Infinity, -Infinity, -0, 0.5, -0.5, 0.999, -0.999, 1.5, -1.5, 255.9, 256.1, -0.1],
  [2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 32 + 1, 2 ** 32 - 1, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 2 ** 64, 2 ** 70 + 2 ** 20],
  [1e20, -1e20, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON],
  [4503599627370495.5, -4503599627370495.5, 0xdeadbeef, 123456789.987, -123456789.987, 1e10, -1e10],
];
let seed = 0x9e3779b9;
const rand = () => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
};
for (let i = 0; i < 12; i++)
  ARRAYS.push(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => (rand() * 2 - 1) * 2 ** Math.floor(rand() * 70)));
ARRAYS.push(Array.from({ length: 300 }, (_, i) => i * 7 - 600));
for (const a of ARRAYS)
  emit('array', a.map(numField).join(',') || '-', '=', 'ok', hexOf(Buffer.from(a)));

// ---- Buffer.byteLength(string, encoding) -----------------------------------------------------
const BL_STRINGS = [
  '', 'a', 'abc', 't\u00e9st', '\u20ac', '\u{1f600}', 'a\u{1f600}b\u00e9', new Bytes8([0xff]),
  new Bytes8([0xed, 0xa0, 0x80]), 'QUJD', 'QUJD=', 'QUJD==', 'QUJ=', 'QQ==', 'Q', '=', '==', '===',
  'QUJD\n', ' QUJD', 'abcde', 'abcdef', '\u00e9\u00e9\u00e9', 'x'.repeat(101),
];
const BL_ENCODINGS = [
  undefined, '', 'utf8', 'UTF-8', 'utf16le', 'ucs2', 'latin1', 'binary', 'ascii', 'base64',
  'base64url', 'hex', 'HEX', 'utf9', 'nope', 'utf-16', 'base-64',
];
for (const s of BL_STRINGS)
  for (const enc of BL_ENCODINGS)
    emit('bytelen', strArg(s), encField(enc), '=', 'ok', String(Buffer.byteLength(strOf(s), enc)));

// ---- buf.toString(encoding, start, end) ------------------------------------------------------
const TS_BUFFERS = [
  [], [...enc8.encode('hello, world')], [...enc8.encode('a\u00e9\u20ac\u{1f600}z')],
  [0x3d, 0xd8, 0x00, 0xde, 0x00, 0xd8, 0x61, 0x00, 0x00, 0xdc, 0x62],
  Array.from({ length: 24 }, (_, i) => (i * 73 + 200) & 255),
];
const TS_ENCODINGS = [
  undefined, 'utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii', 'utf16le',
  'UCS-2', '', 'utf9', 'hex ',
];
// Every encoding over a few ranges, and every range with a few encodings: the range is
// looked at before the encoding, so an unknown one fails only for a non-empty range.
const STARTS = (n) => [undefined, -(2 ** 53), -5, -1, 0, 1, 3, n - 1, n, n + 1, 2 ** 40];
const TS_ENDS = (n) => [undefined, -1, 0, 1, 2, 4, n - 1, n, n + 7, 2 ** 53];
const SOME_RANGES = (n) => [[undefined, undefined], [1, undefined], [undefined, n - 1], [2, 4],
  [-1, 2 ** 53], [n, undefined], [3, 1]];
function toStringCase(bytes, enc, start, end) {
  const r = attempt(() => Buffer.from(bytes).toString(enc, start, end), (s) => [strField(s), unitsOf(s)]);
  emit('tostring', hexOf(bytes), encField(enc), intField(start), intField(end), '=', ...r);
}
for (const bytes of TS_BUFFERS) {
  const n = bytes.length;
  for (const enc of TS_ENCODINGS)
    for (const [start, end] of SOME_RANGES(n)) toStringCase(bytes, enc, start, end);
  for (const enc of [undefined, 'utf9', ''])
    for (const start of STARTS(n))
      for (const end of TS_ENDS(n)) toStringCase(bytes, enc, start, end);
}

// ---- util.inspect(buf) -----------------------------------------------------------------------
for (const n of [...Array(61).keys(), 61, 99, 100, 101, 255, 1000]) {
  const bytes = Array.from({ length: n }, (_, i) => (i * 29 + 3) & 255);
  emit('inspect', hexOf(bytes), '=', 'ok', escape(util.inspect(Buffer.from(bytes))));
}
assert.strictEqual(require('buffer').INSPECT_MAX_BYTES, 50);

// ---- subarray and slice ----------------------------------------------------------------------
for (const n of [0, 1, 4, 10]) {
  const idx = [undefined, 0, 1, 2, -1, -2, n - 1, n, n + 1, -n, -n - 1, 2 ** 40, -(2 ** 40)];
  for (const op of ['subarray', 'slice'])
    for (const start of idx)
      for (const end of idx) {
        const parent = Buffer.from(initial(n));
        const v = parent[op](start, end);
        assert.strictEqual(v.buffer, parent.buffer);
        emit(op, String(n), intField(start), intField(end), '=', 'ok',
             String(v.byteOffset - parent.byteOffset), String(v.length));
      }
}

// ---- Buffer.from(arrayBuffer, byteOffset, length) --------------------------------------------
for (const [kind, n] of [['alloc', 16], ['alloc', 1], ['alloc', 0], ['unsafe', 16]]) {
  const ab = (kind === 'alloc' ? Buffer.alloc(n) : Buffer.allocUnsafe(n)).buffer;
  const L = ab.byteLength;
  for (const off of [undefined, 0, 1, L - 1, L, L + 1, -1, -16, 2 ** 33, -(2 ** 62), -(2 ** 63) + 3072])
    for (const len of [undefined, 0, 1, 2, L - 1, L, L + 1, -1, -5, 2 ** 33]) {
      const r = attempt(() => Buffer.from(ab, off, len), (b) => [String(b.byteOffset), String(b.length)]);
      emit('fromab', `${kind}:${n}`, intField(off), intField(len), '=', ...r);
    }
}

// ---- Buffer.concat(list, totalLength) on a fresh pool ----------------------------------------
// The cases are computed first and printed at the end: nothing between freshPool() and the
// concat may take from the pool (Buffer.from(string) would, console.log may).
function freshPool() {
  for (let b; (b = Buffer.allocUnsafe(4095)).byteOffset !== 4096;);
}
const CONCATS = [
  [[], undefined], [[], 0], [[], 5], [[], -1], [[], 2 ** 33],
  [[[1, 2]], undefined], [[[1, 2], [3, 4, 5]], undefined], [[[1, 2], [3, 4, 5]], 3],
  [[[1, 2], [3, 4, 5]], 8], [[[1, 2], [3, 4, 5]], 0], [[[1, 2], [3, 4, 5]], 1],
  [[[1, 2], [], [3]], undefined], [[[]], undefined], [[[], []], 2], [[[7]], -1],
  [[[7]], 2 ** 32 + 1], [[[7]], -(2 ** 40)], [[[7], [8]], 4096], [[[7], [8]], 4095],
  [[Array(4000).fill(1), Array(95).fill(2)], undefined], [[Array(4000).fill(1), Array(96).fill(2)], undefined],
  [[Array(3000).fill(3), Array(3000).fill(4)], 4095], [[Array(3000).fill(3), Array(3000).fill(4)], 100],
  [[Array(5000).fill(5)], 10], [[Array(5000).fill(5)], undefined], [[[1], [2], [3], [4], [5], [6]], 5],
  [[Array(2100).fill(6), Array(2100).fill(7)], 2000],
];
const concatLines = [];
for (const [list, total] of CONCATS) {
  freshPool();
  const bufs = list.map((a) => Buffer.from(a));
  const r = attempt(() => Buffer.concat(bufs, total), (b) => [
    String(b.length), String(b.byteOffset), String(b.buffer.byteLength),
    b.buffer.byteLength === Buffer.poolSize && b.length < 4096 ? '1' : '0', hexOf(b)]);
  concatLines.push(['concat', list.map(hexOf).join(',') || '-', intField(total), '=', ...r]);
}
for (const l of concatLines) emit(...l);

// ---- Buffer.compare, buf.equals --------------------------------------------------------------
const h2a = (h) => (h.match(/../g) || []).map((x) => parseInt(x, 16));
const CMP = [
  ['', ''], ['', '00'], ['00', ''], ['01', '02'], ['02', '01'], ['0102', '01'], ['01', '0102'],
  ['ff', '00'], ['00', 'ff'], ['80', '7f'], ['00ff', '0100'], ['616263', '616263'], ['616263', '616264'],
  ['61626300', '616263'], ['7f'.repeat(100), '7f'.repeat(100)], ['7f'.repeat(99) + '80', '7f'.repeat(100)],
].map(([a, b]) => [h2a(a), h2a(b)]);
for (let i = 0; i < 20; i++) {
  const a = Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * 3) * 127);
  const b = rand() < 0.3 ? a.slice() : Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * 3) * 127);
  CMP.push([a, b]);
}
for (const [a, b] of CMP) {
  const x = Buffer.from(a), y = Buffer.from(b);
  emit('compare', hexOf(a), hexOf(b), '=', 'ok', String(Buffer.compare(x, y)));
  emit('equals', hexOf(a), hexOf(b), '=', 'ok', x.equals(y) ? '1' : '0');
}

process.stdout.write(`# Generated by tests/vectors/gen-buffer.js with Node ${process.version}; do not edit.\n`);
process.stdout.write(out.join('\n') + '\n');
