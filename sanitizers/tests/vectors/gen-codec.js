#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Test vectors for proto/codec.c, taken from Node itself (Node 20 is the specification).
// Regenerate with:  node tests/vectors/gen-codec.js > tests/vectors/codec.txt
//
// Output: one vector a line, fields separated by one tab; a field may be empty. Lines
// starting with '#' are comments. Hex is lowercase. "units" is a JS string as its UTF-16
// code units, 4 hex digits each; "bytes" is 2 hex digits a byte. The utf8 field is the
// UTF-8 input standing for the string (codec.h's convention), or '-' when the string has
// lone surrogates and so can only be given as UTF-16.
//
//   N  name-utf8-bytes  canonical|-            sb_enc_parse (and '-': -EINVAL)
//   S  enc  units  utf8|-  byteLength  bytes   Buffer.byteLength(str, enc), Buffer.from(str, enc)
//   W  enc  cap  units  utf8|-  bytes          buf.write(str, 0, cap, enc)
//   D  enc  bytes  units  utf8                 buf.toString(enc), also as UTF-8 (Buffer.from(it))
//   T  float64-bits  uint8                     new Uint8Array([v])[0]
'use strict';

const assert = require('assert');

const ENCODINGS = ['utf8', 'utf16le', 'latin1', 'ascii', 'base64', 'base64url', 'hex'];

// mulberry32: a fixed seed keeps the output stable from run to run.
let seed = 0x5eed1234;
function rand() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n) => Math.floor(rand() * n);
const pick = (a) => a[randInt(a.length)];

const out = [];
const emit = (...fields) => out.push(fields.join('\t'));

const hexBytes = (b) => Buffer.from(b).toString('hex');
const hexUnits = (s) => {
  let h = '';
  for (let i = 0; i < s.length; i++) h += s.charCodeAt(i).toString(16).padStart(4, '0');
  return h;
};
const wellFormed = (s) => s.isWellFormed();

function write(str, enc, cap) {
  const b = Buffer.alloc(cap);
  return b.subarray(0, b.write(str, 0, cap, enc));
}
// No encoding writes more than 3 bytes a unit.
const full = (str, enc) => write(str, enc, 3 * str.length + 8);

// ---- encoding names ------------------------------------------------------------------------
// toString() of these bytes tells all seven encodings apart.
const PROBE = Buffer.from([0xfb, 0xff, 0x41]);
const FINGERPRINT = new Map(ENCODINGS.map((e) => [PROBE.toString(e), e]));

function canonical(name) {
  let s;
  try {
    s = PROBE.toString(name);
  } catch (e) {
    assert.strictEqual(e.code, 'ERR_UNKNOWN_ENCODING');
    assert.strictEqual(Buffer.isEncoding(name), false);
    return '-';
  }
  assert.strictEqual(Buffer.isEncoding(name), true);
  return FINGERPRINT.get(s);
}

const NAMES = [
  'utf8', 'utf-8', 'UTF8', 'UTF-8', 'Utf8', 'uTf-8', 'utf16le', 'utf-16le', 'UTF16LE',
  'UTF-16LE', 'Utf-16Le', 'ucs2', 'ucs-2', 'UCS2', 'UCS-2', 'uCs2', 'latin1', 'LATIN1', 'Latin1',
  'binary', 'BINARY', 'BiNaRy', 'ascii', 'ASCII', 'Ascii', 'base64', 'BASE64', 'Base64',
  'base64url', 'BASE64URL', 'Base64Url', 'hex', 'HEX', 'Hex', 'hEx',
  '', 'utf', 'utf-', 'utf16', 'utf-16', 'UTF-16', 'utf-16be', 'utf16be', 'utf32', 'ucs', 'ucs-4',
  'ucs4', 'latin', 'latin-1', 'iso-8859-1', 'bin', 'raw', 'raws', 'buffer', 'us-ascii',
  'base-64', 'base64-url', 'base64_url', 'b64', 'base32', 'hexa', 'he', 'x', 'utf8 ', ' utf8',
  'utf8\0', 'hex\0', '\0hex', 'utf_8', 'utf 8', 'ütf8', 'hеx' /* Cyrillic e */,
  'asc\u0130i' /* toLowerCase() grows it */, 'baſe64', 'utf8utf8', 'default',
];
for (const name of NAMES) emit('N', hexBytes(Buffer.from(name, 'utf8')), canonical(name));

// ---- strings -------------------------------------------------------------------------------
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_';

const STRINGS = [
  '', 'a', 'ab', 'abc', 'hello, world', '\0', '\0a\0', '\x01\x1f\x7f', '\t\n\r ',
  Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join(''),
  // 2, 3 and 4 byte UTF-8 and the edges of each length
  '\x80', '\xff', '\u00e9', '\u07ff', '\u0800', '\u20ac', '\ufffd', '\uffff', '\ufeff',
  '\u{10000}', '\u{1f600}', '\u{10ffff}', 'a\u00e9\u20ac\u{1f600}z', 'caf\u00e9 na\u00efve',
  '\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8', '\u{1f600}\u{1f601}\u{1f602}',
  'x'.repeat(7) + '\u00e9' + 'y'.repeat(9) + '\u{1f600}' + 'z'.repeat(17),
  'the quick brown fox jumps over the lazy dog '.repeat(3),
  // lone surrogates: high, low, reversed pairs, doubled
  '\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83d', '\ud83da', 'x\udc00y', '\ude00\ud83d',
  '\ud800\ud800', '\udc00\udc00', '\ud83d\ud83d\ude00', '\ud83d\ude00\ude00', 'ab\ud83d',
  '\ud83d\u00e9', '\u{1f600}\ud800\u{1f600}',
  // latin1 and ascii take the low byte of each unit
  '\u00ff\u0100\u0141\u017f', '\u0100', '\u0141\u0142', '\u4e00\u4eff', '\u20ac\u2122',
  // base64 and base64url: padding, leftovers, both alphabets, whitespace, junk, '=' inside
  'QQ', 'QQ=', 'QQ==', 'QQ===', 'QUI', 'QUI=', 'QUJD', 'QUJDRA', 'QUJDRA=', 'QUJDRA==',
  'QUJDREU', 'QUJDREU=', 'QUJDREVG', 'Q', 'QUJDR', 'QUJDR=', 'QUJDR==', '=', '==', '===',
  'QQ==QUJD', 'QU=JD', '=QUJD', 'Q=UJD', 'QUJD====', 'QUJD=RA==', 'QUJDRA==RA', 'QUJDRA=x',
  'QUJDREVG=', 'QR==', 'QS', 'QR', 'Qf', 'Q/', '//', '__', '+/+/', '-_-_', '+_-/', '-/+_',
  '/w==', '_w', '_w==', 'QUJD\nREVG', ' Q U J D ', '\tQUJD\r\n', 'QUJD\nRA==\n', 'QU!JD',
  'QU*JD#', 'Q.U.J.D', '@@QUJD@@', 'QUJ\u00c4D', 'QUJ\u0144', 'QUJ\u0141QUJD',
  'QUJD\u{1f600}QUJD', '\u{1f600}QUJD', 'QUJ\ud800D', 'QUJ\udc51D', 'QU\u3d3dJD',
  'SGVsbG8sIFdvcmxkIQ==', 'SGVsbG8sIFdvcmxkIQ', 'SGVs bG8s\nIFdv\tcmxk IQ ==',
  // hex: invalid pairs in various places, odd length, case
  '00', 'ff', 'FF', 'fF', 'abcdef', 'ABCDEF', '0123456789', 'a', 'abc', 'abcg12', 'g1ab',
  'abg1cd', 'ab g1', ' abc', 'ab cd', 'zz', '0x12', 'aBcD', 'abcd\n', '12345', '1g', 'g',
  'ab\u0161b', '\u0130b', '\u{28430}', 'a\u{28430}', '\u{28430}ab', '\u0661\u0662',
  '\uff21\uff22',
];

// Deterministic fuzz: strings from pieces that matter to one encoding or another.
const PIECES = [
  () => pick(BASE64_ALPHABET), () => pick(BASE64_ALPHABET), () => pick(BASE64_ALPHABET),
  () => pick('0123456789abcdefABCDEF'), () => pick('0123456789abcdef'), () => '=',
  () => pick(' \t\r\n\f\v!*.@'), () => String.fromCharCode(0x80 + randInt(0x80)),
  () => String.fromCharCode(0x100 + randInt(0x700)), () => String.fromCharCode(0x800 + randInt(0xd000)),
  () => String.fromCodePoint(0x10000 + randInt(0x100000)), () => '\u{1f600}',
  () => String.fromCharCode(0xd800 + randInt(0x800)), () => String.fromCharCode(0x100 + randInt(0xff00)),
  () => pick('\0\x7f\xff\ufffd\uffff'), () => 'x'.repeat(randInt(24)),
];
function fuzzString(maxPieces, pieces) {
  let s = '';
  const n = randInt(maxPieces + 1);
  for (let i = 0; i < n; i++) s += pick(pieces)();
  return s;
}
const BASE64ISH = PIECES.slice(0, 7);
const FUZZ = [];
for (let i = 0; i < 64; i++) FUZZ.push(fuzzString(12, PIECES));
for (let i = 0; i < 40; i++) FUZZ.push(fuzzString(24, BASE64ISH));
for (let i = 0; i < 20; i++) FUZZ.push(Buffer.from(Array.from({ length: randInt(40) }, () => randInt(256))).toString(pick(['base64', 'base64url', 'hex'])));

// Ill-formed UTF-8 input: each maximal subpart stands for one U+FFFD.
const ILL_FORMED = [
  [0x80], [0xbf], [0x80, 0x80], [0x41, 0x80, 0x42], [0xc2], [0xc2, 0x41], [0xdf],
  [0xe0], [0xe0, 0xa0], [0xe1, 0x80], [0xed, 0x9f], [0xef, 0xbf], [0xf0], [0xf0, 0x90],
  [0xf0, 0x90, 0x80], [0xf4, 0x8f, 0xbf], [0xf3, 0xbf, 0xbf, 0x41], [0xc0, 0x80], [0xc1, 0xbf],
  [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf],
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80],
  [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xf7, 0xbf, 0xbf, 0xbf], [0xf8], [0xfe],
  [0xff], [0xfe, 0xff], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc2, 0xc2, 0xa9], [0xe2, 0x82, 0x41],
  [0xe2, 0x82], [0x61, 0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x61], [0xf0, 0x9f, 0x41, 0x80],
  [0x51, 0x55, 0xff, 0x4a, 0x44], [0x61, 0x62, 0x80, 0x63, 0x64], [0x61, 0xc0, 0x62, 0x63],
  [0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0xc3, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f],
  [0x3d, 0x80, 0x3d], [0x51, 0x51, 0x3d, 0xc3], [0x51, 0x51, 0x3d, 0x3d, 0xe0, 0x80],
];
for (let i = 0; i < 40; i++) {
  const b = [];
  const n = randInt(16);
  for (let j = 0; j < n; j++) {
    b.push(...pick([[0x41 + randInt(26)], [0x80 + randInt(0x80)], [0xc0 + randInt(0x40)],
      [...Buffer.from(String.fromCodePoint(0x80 + randInt(0x10ff80)).replace(/[\ud800-\udfff]/g, '?'))],
      [0xe0 + randInt(16), 0x80 + randInt(0x40)], [0xf0 + randInt(16), 0x80 + randInt(0x40), 0x80 + randInt(0x40)],
      [0x3d], [0x20]]));
  }
  ILL_FORMED.push(b);
}

function stringVector(str, utf8) {
  for (const enc of ENCODINGS) {
    const bytes = full(str, enc);
    // Buffer.from() caps its write at units * 4 or byteLength(), and that always suffices.
    assert.ok(Buffer.from(str, enc).equals(bytes));
    emit('S', enc, hexUnits(str), utf8, Buffer.byteLength(str, enc), hexBytes(bytes));
  }
}
const utf8Field = (str) => (wellFormed(str) ? hexBytes(Buffer.from(str, 'utf8')) : '-');
for (const str of [...STRINGS, ...FUZZ]) stringVector(str, utf8Field(str));
for (const b of ILL_FORMED) {
  const str = Buffer.from(b).toString('utf8');
  stringVector(str, hexBytes(b));
}

// ---- capped writes -------------------------------------------------------------------------
const CAPPED = [
  '', 'abc', '\u00e9', 'a\u00e9', '\u20ac', 'a\u20ac', '\u{1f600}', 'a\u{1f600}b', '\u00e9\u20ac\u{1f600}',
  '\ud800', 'a\ud83d', '\ude00\ud83d', '\ud83d\ud83d\ude00', '\u00ff\u0141\u{1f600}x',
  'QUJDREVG', 'QUJDREU', 'QUJD REVG', 'QQ==QUJD', 'QUJ\u0144REVG', '-_-_+/+/', 'SGVsbG8sIFdvcmxkIQ',
  'abcdef', 'abcdeg', 'ab\u0161b', 'ABC', '\u{28430}ab',
  ...Array.from({ length: 24 }, () => fuzzString(6, PIECES.slice(0, -1))),
];
// Every cap up to 32 bytes, then the last few around the full length.
const capsFor = (all) => [...new Set([...Array(Math.min(all + 2, 33)).keys(), all - 1, all, all + 1])]
  .filter((cap) => cap >= 0);
for (const str of CAPPED) {
  for (const enc of ENCODINGS) {
    for (const cap of capsFor(full(str, enc).length))
      emit('W', enc, cap, hexUnits(str), utf8Field(str), hexBytes(write(str, enc, cap)));
  }
}
for (const b of ILL_FORMED.slice(0, 20)) {
  const str = Buffer.from(b).toString('utf8');
  for (const enc of ['utf8', 'utf16le', 'latin1'])
    for (let cap = 0; cap <= full(str, enc).length; cap++)
      emit('W', enc, cap, hexUnits(str), hexBytes(b), hexBytes(write(str, enc, cap)));
}

// ---- toString ------------------------------------------------------------------------------
const DECODE = [
  [], [0x41], [0x41, 0x42], [0x41, 0x42, 0x43], [0x00], [0x7f, 0x80, 0xff],
  [...Buffer.from('hello, world')], [...Buffer.from('a\u00e9\u20ac\u{1f600}z')],
  Array.from({ length: 256 }, (_, i) => i), Array.from({ length: 256 }, (_, i) => 255 - i),
  [0xfb, 0xff], [0xfb, 0xff, 0xbf], [0xfb, 0xff, 0xbf, 0x3e],
  // UTF-16LE: odd lengths, surrogates alone, reversed, paired
  [0x61], [0x61, 0x00, 0x62], [0x3d, 0xd8], [0x3d, 0xd8, 0x00], [0x3d, 0xd8, 0x00, 0xde],
  [0x00, 0xde, 0x3d, 0xd8], [0x00, 0xdc, 0x61, 0x00], [0x00, 0xd8, 0x00, 0xd8, 0x00, 0xdc],
  [0xff, 0xdb, 0xff, 0xdf], [0xff, 0xdf], [0xfd, 0xff, 0xff, 0xff],
  ...ILL_FORMED,
  [0xef, 0xbf, 0xbd], [0xef, 0xbb, 0xbf, 0x41], [0xf4, 0x8f, 0xbf, 0xbf], [0xee, 0x80, 0x80],
  [0xe0, 0xa0, 0x80], [0xc2, 0x80], [0xdf, 0xbf], [0xf0, 0x90, 0x80, 0x80],
];
for (let i = 0; i < 48; i++)
  DECODE.push(Array.from({ length: randInt(40) }, () => (rand() < 0.5 ? 0x20 + randInt(0x60) : randInt(256))));
for (let i = 0; i < 30; i++)
  DECODE.push([...Buffer.from(fuzzString(10, PIECES).replace(/[\ud800-\udfff]/g, '\ufffd'))]);
for (const b of DECODE) {
  for (const enc of ENCODINGS) {
    const str = Buffer.from(b).toString(enc);
    emit('D', enc, hexBytes(b), hexUnits(str), hexBytes(Buffer.from(str, 'utf8')));
  }
}

// ---- ToUint8 -------------------------------------------------------------------------------
const NUMBERS = [
  0, -0, 1, -1, 0.5, -0.5, 0.9999, -0.9999, 1.5, -1.5, 127, 128, 255, 255.5, 256, 257, -255,
  -256, -257, -257.2, 511.99, 1e3, 65535, 65536, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 32 + 3.7,
  2 ** 32 - 1, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 2 ** 53 + 2, 2 ** 63, 2 ** 64, 2 ** 70 + 2 ** 20,
  1e20, -1e20, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE,
  -Number.MIN_VALUE, Number.EPSILON, NaN, Infinity, -Infinity, 2.2250738585072014e-308,
  4503599627370495.5, -4503599627370495.5, 0xdeadbeef, 123456789.987,
];
for (let i = 0; i < 60; i++) {
  const e = randInt(80) - 10;
  NUMBERS.push((rand() * 2 - 1) * 2 ** e);
}
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
for (const v of NUMBERS) {
  f64[0] = v;
  emit('T', u64[0].toString(16).padStart(16, '0'), new Uint8Array([v])[0]);
}

process.stdout.write(`# Generated by tests/vectors/gen-codec.js with Node ${process.version}; do not edit.\n`);
process.stdout.write(out.join('\n') + '\n');
