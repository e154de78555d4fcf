#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// Vectors for the rest of the Buffer API in libshmbuf (writing strings, searching, typed
// reads and writes, ranges, encodings), taken from Node itself: Node 20 is the specification.
// Replayed against a real shmbufd by tests/check_<module>.c, each taking its module's lines.
//
// Regenerate with:  node tests/vectors/gen-bufops.js > tests/vectors/bufops.txt
//
// Format: as tests/vectors/buffer.txt (gen-buffer.js documents HEX, STR, UNITS, INT, NUM, ENC
// and MESSAGE), with the module first:  MODULE  OP  ARGS...  =  RESULT...
// RESULT is "ok" and the fields the OP lists, or "err CODE MESSAGE" (an ICU failure of
// transcode() gives ICU's name as CODE). More field kinds:
//   TEXT     a JS string: "s:STR" (UTF-8 bytes) or "u:UNITS" (UTF-16 code units)
//   NEEDLE   TEXT, "b:HEX" (a Uint8Array) or "n:NUM" (a number)
//   VALUE    NUM for a Number; a decimal integer for a BigInt
//   TYPE     the method's name after read/write in lower case: uint8, int16le, uintbe,
//            floatle, bigint64be, biguint64le, ...
//
//   write    write        HEX TEXT INT INT ENC        = ok N HEX   Buffer.from(HEX).write(str, offset,
//            length, enc): bytes written and the buffer after (offset and length undefined with
//            ENC given is buf.write(str, enc), the one way C says it)
//   search   indexof      HEX NEEDLE INT ENC          = ok N       buf.indexOf(v, byteOffset, enc)
//   search   lastindexof  HEX NEEDLE INT ENC          = ok N       buf.lastIndexOf(...)
//   search   includes     HEX NEEDLE INT ENC          = ok 0|1     buf.includes(...)
//   typed    read         TYPE HEX INT INT            = ok VALUE   buf.readTYPE(offset[, byteLength])
//   typed    write        TYPE HEX VALUE INT INT      = ok N HEX   buf.writeTYPE(v, offset[, byteLength]):
//            the offset returned and the buffer after (byteLength "-" for the fixed-size types)
//   range    copy         HEX HEX INT INT INT         = ok N HEX   source.copy(target, targetStart,
//            sourceStart, sourceEnd): bytes copied and the target after
//   range    copyself     HEX INT INT INT             = ok N HEX   buf.copy(buf, ...): one buffer both
//   range    compare      HEX HEX INT INT INT INT     = ok -1|0|1  source.compare(target, targetStart,
//            targetEnd, sourceStart, sourceEnd)
//   range    swap16|swap32|swap64 HEX                 = ok HEX     buf.swapN()
//   charset  isencoding   ENC                         = ok 0|1     Buffer.isEncoding(name)
//   charset  isutf8|isascii HEX                       = ok 0|1     buffer.isUtf8(), buffer.isAscii()
//   charset  transcode    HEX ENC ENC                 = ok LEN ABLEN POOLED HEX
//            buffer.transcode(Buffer.from(HEX), from, to): length, buffer.byteLength, whether
//            pooled, bytes
'use strict';

const assert = require('assert');
const buffer = require('buffer');

const out = [];
const counts = {};
const emit = (...fields) => {
  for (const f of fields) assert.ok(typeof f === 'string' && f.length > 0 && !/[\t\n]/.test(f), f);
  const family = `${fields[0]} ${fields[1]}`;
  counts[family] = (counts[family] || 0) + 1;
  out.push(fields.join('\t'));
};

// ---- fields (tests/vectors/fields.js) --------------------------------------------------------
const { enc8, hexOf, strField, unitsOf, numField, intField, encField, attempt } = require('./fields');

// A string as C passes it: UTF-8 when it is well-formed UTF-16 (so the bytes say it exactly),
// UTF-16 units otherwise (lone surrogates), or both ways when `both`.
const wellFormed = (s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
const textFields = (s, both) => {
  if (!wellFormed(s)) return [`u:${unitsOf(s)}`];
  return both ? [`s:${strField(s)}`, `u:${unitsOf(s)}`] : [`s:${strField(s)}`];
};

const initial = (n) => Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);

// ---- buf.write(string, offset, length, encoding) ---------------------------------------------
function writeCase(init, s, offset, length, enc, both) {
  for (const text of textFields(s, both)) {
    const r = attempt(() => {
      const b = Buffer.from(init);
      const n = offset === undefined && length === undefined && enc !== undefined
        ? b.write(s, enc) : b.write(s, offset, length, enc);
      return [n, b];
    }, ([n, b]) => [String(n), hexOf(b)]);
    emit('write', 'write', hexOf(init), text, intField(offset), intField(length), encField(enc), '=', ...r);
  }
}
const WRITE_STRINGS = [
  '', 'a', 'abc', 'h\u00e9llo', '\u20acuro', '\u{1f600}x', 'a\u{1f600}', 'ab\ud800', '\udc00b', '\ud83d',
  'abcdef', 'ABCDEF0', 'abzz', 'zz', 'YWJjZA==', ' YW Jj\n', '-_8+/', 'QQ', 'Q', '\u00ff\u0100\u0141',
  'x'.repeat(40),
];
const WRITE_ENCODINGS = [
  undefined, 'utf8', 'UTF-8', '', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii', 'ucs2',
  'utf16le', 'UTF-16LE', 'utf9', 'hex ',
];
// Every string in every encoding, over a few argument forms.
for (const s of WRITE_STRINGS)
  for (const enc of WRITE_ENCODINGS)
    for (const [offset, length] of [[undefined, undefined], [0, undefined], [1, 3], [2, undefined], [0, 8]])
      writeCase(initial(8), s, offset, length, enc, s === 'h\u00e9llo' && enc === 'utf8');
// Cutting multibyte characters: every room from none to more than enough.
for (const s of ['h\u00e9llo', '\u20ac\u20ac', '\u{1f600}\u{1f600}', 'a\u{1f600}b', '\ud83d\ude00\ud83d', 'a\udc00\u00e9', '\u00ff\u00e9'])
  for (const enc of [undefined, 'ucs2', 'latin1', 'ascii'])
    for (let length = 0; length <= 10; length++) {
      writeCase(initial(10), s, 0, length, enc, true);
      writeCase(initial(10), s, 10 - length, undefined, enc);
    }
for (const s of ['abcdef0123', 'YWJjZGVm', 'YW Jj ZGVm', 'QUJD=RA'])
  for (const enc of ['hex', 'base64', 'base64url'])
    for (let length = 0; length <= 7; length++) writeCase(initial(8), s, 1, length, enc);
// Offsets and lengths at and past the bounds, and which error comes first.
for (const n of [0, 1, 4])
  for (const offset of [undefined, 0, 1, n - 1, n, n + 1, -1, 2 ** 32 + 1, -(2 ** 40)])
    for (const length of [undefined, 0, 1, n - 1, n, n + 1, -1, 2 ** 33])
      for (const enc of [undefined, 'hex', 'utf9', ''])
        writeCase(initial(n), 'abcd', offset, length, enc);
// Larger than a pool's worth, so that the buffer is not pooled in either mode.
writeCase(initial(5000), '\u00e9'.repeat(3000), 7, 4990, undefined);
writeCase(initial(5000), '\u00e9'.repeat(3000), 4999, undefined, 'latin1');

// ---- indexOf, lastIndexOf, includes -----------------------------------------------------------
const HAYSTACKS = [
  [...enc8.encode('abcabcab')], [...enc8.encode('aaaa')], [...enc8.encode('h\u00e9llo w\u00f6rld \u00e9')],
  [...Buffer.from('abc\u00e9a\u{1f600}c', 'ucs2')], [...Buffer.from('abcab', 'ucs2'), 0x61],
  [0x00, 0xff, 0x61, 0x00, 0xff, 0x61, 0x62, 0x00], [], [0x61],
];
const NEEDLES = [
  // [needle, encoding]: strings, buffers, numbers
  ['a', undefined], ['abc', undefined], ['ab', 'utf8'], ['bca', undefined], ['aa', undefined], ['aaa', 'utf8'],
  ['b', 'UTF-8'], ['zz', undefined], ['', undefined], ['', 'hex'], ['', 'ucs2'], ['\u00e9', undefined],
  ['\u00e9', 'latin1'], ['\u00e9', 'binary'], ['l', 'utf8'], ['w\u00f6', undefined], ['\ud800', undefined],
  ['a', 'ucs2'], ['b', 'utf16le'], ['\u00e9a', 'ucs2'], ['\u{1f600}', 'ucs2'], ['\u{1f600}', undefined],
  ['c', 'ucs2'], ['\ud83d', 'ucs2'], ['\ude00c', 'UCS-2'], ['6162', 'hex'], ['61', 'hex'], ['6', 'hex'],
  ['ab', 'hex'], ['zz', 'hex'], ['YWJj', 'base64'], ['YQ', 'base64url'], ['Y', 'base64'], ['YWI=', 'base64'],
  ['a', 'ascii'], ['\u0161', 'ascii'], ['\u00ff', 'latin1'], ['\u0100a', 'latin1'], ['ab', 'utf9'], ['a', ''],
  [Buffer.from('ab'), undefined], [Buffer.from('ca'), undefined], [Buffer.from([0xff, 0x61]), undefined],
  [Buffer.from([]), undefined], [Buffer.from('a'), 'ucs2'], [Buffer.from([0x61, 0x00]), 'ucs2'],
  [Buffer.from([0x62, 0x00, 0x63]), 'utf16le'], [Buffer.from([0x00, 0x61]), 'ucs2'], [Buffer.from('ab'), 'utf9'],
  [Buffer.from([0x63, 0x00]), 'ucs2'], [Buffer.from('bc'), 'hex'], [Buffer.from([0xff]), 'latin1'],
  [97, undefined], [97 + 256, undefined], [-159, undefined], [0, undefined], [255, undefined], [-1, undefined],
  [NaN, undefined], [1.5 + 97, undefined], [Infinity, undefined], [2 ** 32 + 98, undefined], [0x61, 'utf9'],
];
const SEARCH_OFFSETS = (n) => [undefined, 0, 1, 2, -1, -2, n - 1, n, n + 1, -n, -n - 1, 2 ** 31, -(2 ** 31) - 5,
  2 ** 40];
const needleFields = (v) => {
  if (typeof v === 'number') return [`n:${numField(v)}`];
  if (typeof v === 'string') return textFields(v);
  return [`b:${hexOf(v)}`];
};
// includes() is indexOf() !== -1: a few offsets say enough of it.
const opsAt = (offset, n) => ([undefined, 0, -1, n].includes(offset) ? ['indexOf', 'lastIndexOf', 'includes'] : ['indexOf', 'lastIndexOf']);
for (const hay of HAYSTACKS)
  for (const [v, enc] of NEEDLES)
    for (const offset of SEARCH_OFFSETS(hay.length))
      for (const op of opsAt(offset, hay.length))
        for (const nf of needleFields(v)) {
          const r = attempt(() => Buffer.from(hay)[op](v, offset, enc),
                            (x) => [typeof x === 'boolean' ? (x ? '1' : '0') : String(x)]);
          emit('search', op.toLowerCase(), hexOf(hay), nf, intField(offset), encField(enc), '=', ...r);
        }
// Long haystacks: matches that the search has to walk to, with decoys and overlaps.
{
  const hay = [...enc8.encode('ab'.repeat(300) + 'abc' + 'ab'.repeat(300) + 'abc' + 'ab'.repeat(10))];
  for (const [v, enc] of [['abc', undefined], ['babc', undefined], [Buffer.from('cab'), undefined], ['ba', 'ucs2'], ['abab', 'latin1'], [0x63, undefined]])
    for (const offset of [undefined, 0, 600, 601, 602, 603, 1204, -1, -30, -700])
      for (const op of ['indexOf', 'lastIndexOf'])
        for (const nf of needleFields(v))
          emit('search', op.toLowerCase(), hexOf(hay), nf, intField(offset), encField(enc), '=',
               'ok', String(Buffer.from(hay)[op](v, offset, enc)));
}

// ---- typed reads and writes ---------------------------------------------------------------------
const INT_TYPES = [ // [name, size, signed, method suffix]
  ['uint8', 1, false, 'UInt8'], ['int8', 1, true, 'Int8'],
  ['uint16le', 2, false, 'UInt16LE'], ['uint16be', 2, false, 'UInt16BE'], ['int16le', 2, true, 'Int16LE'], ['int16be', 2, true, 'Int16BE'],
  ['uint32le', 4, false, 'UInt32LE'], ['uint32be', 4, false, 'UInt32BE'], ['int32le', 4, true, 'Int32LE'], ['int32be', 4, true, 'Int32BE'],
];
const VAR_TYPES = [['uintle', false, 'UIntLE'], ['uintbe', false, 'UIntBE'], ['intle', true, 'IntLE'], ['intbe', true, 'IntBE']];
const FLOAT_TYPES = [['floatle', 4, 'FloatLE'], ['floatbe', 4, 'FloatBE'], ['doublele', 8, 'DoubleLE'], ['doublebe', 8, 'DoubleBE']];
const BIG_TYPES = [['bigint64le', true, 'BigInt64LE'], ['bigint64be', true, 'BigInt64BE'], ['biguint64le', false, 'BigUInt64LE'], ['biguint64be', false, 'BigUInt64BE']];

const valueField = (v) => (typeof v === 'bigint' ? v.toString() : numField(v));
function readCase(type, method, bytes, offset, byteLength) {
  const r = attempt(() => {
    const b = Buffer.from(bytes);
    return byteLength === undefined && !/^u?int[lb]e$/.test(type) ? b[`read${method}`](offset) : b[`read${method}`](offset, byteLength);
  }, (v) => [valueField(v)]);
  emit('typed', 'read', type, hexOf(bytes), intField(offset), intField(byteLength), '=', ...r);
}
function writeTypedCase(type, method, init, value, offset, byteLength) {
  const r = attempt(() => {
    const b = Buffer.from(init);
    const n = /^u?int[lb]e$/.test(type) ? b[`write${method}`](value, offset, byteLength) : b[`write${method}`](value, offset);
    return [n, b];
  }, ([n, b]) => [String(n), hexOf(b)]);
  emit('typed', 'write', type, hexOf(init), valueField(value), intField(offset), intField(byteLength), '=', ...r);
}
const typedOffsets = (len, size) => [undefined, 0, 1, len - size, len - size + 1, len, -1, 2 ** 32 + 1, -(2 ** 40)];
const lengthsFor = (size) => [size, size + 3, size - 1, 0];
const intValues = (size, signed) => {
  const max = signed ? 2 ** (8 * size - 1) - 1 : 2 ** (8 * size) - 1, min = signed ? -(2 ** (8 * size - 1)) : 0;
  return [min, max, min - 1, max + 1, 0, -0, 1, -1, 2, 0x5a, NaN, Infinity, -Infinity, 1.5, -1.5, 0.5, -0.5,
    max - 0.5, max + 0.5, min + 0.5, min - 0.5, max * 2, 2 ** 40 + 7, -(2 ** 40) - 7, 2 ** 53, 1e300,
    Number.MIN_VALUE, -Number.MIN_VALUE, 255.9, 256, -256.7, 65535.5, 4294967295.9, 4294967296.5];
};
// Reads: each type at each offset of buffers just big enough, bigger and too small; the bytes
// are the extremes and mixed patterns.
const READ_PATTERNS = (n) => [Array(n).fill(0), Array(n).fill(0xff), initial(n),
  Array.from({ length: n }, (_, i) => (i === 0 ? 0x80 : 0)), Array.from({ length: n }, (_, i) => (i === n - 1 ? 0x80 : 0x7f))];
for (const [type, size, , method] of INT_TYPES)
  for (const len of lengthsFor(size))
    for (const bytes of READ_PATTERNS(len))
      for (const offset of typedOffsets(len, size)) readCase(type, method, bytes, offset);
for (const [type, , method] of VAR_TYPES) {
  for (let size = 1; size <= 6; size++)
    for (const len of lengthsFor(size))
      for (const bytes of READ_PATTERNS(len))
        for (const offset of [0, 1, len - size, len - size + 1, -1, 2 ** 33]) readCase(type, method, bytes, offset, size);
  for (const byteLength of [undefined, 0, 7, -1, 8, 2 ** 33])
    for (const offset of [undefined, 0, 9])
      readCase(type, method, initial(8), offset, byteLength);
  readCase(type, method, initial(8), undefined, 2);
}
for (const [type, size, method] of FLOAT_TYPES) {
  for (const len of lengthsFor(size))
    for (const bytes of READ_PATTERNS(len))
      for (const offset of typedOffsets(len, size)) readCase(type, method, bytes, offset);
  for (const v of [NaN, -NaN, Infinity, -Infinity, -0, 1.5, 1e-45, 3.4e38, 5e-324, 1.7976931348623157e308]) {
    const b = Buffer.alloc(size + 1);
    b[`write${method}`](v, 1);
    readCase(type, method, [...b], 1);
  }
  // NaNs with payloads, as bytes
  const nan = size === 4 ? [0x7f, 0x80, 0x00, 0x01] : [0x7f, 0xf0, 0, 0, 0, 0, 0, 0x01];
  const signalling = method.endsWith('BE') ? nan : [...nan].reverse();
  readCase(type, method, signalling, 0);
  readCase(type, method, signalling.map((x, i) => (method.endsWith('BE') ? i === 0 : i === size - 1) ? x | 0x80 : x), 0);
}
for (const [type, , method] of BIG_TYPES)
  for (const len of lengthsFor(8))
    for (const bytes of READ_PATTERNS(len))
      for (const offset of typedOffsets(len, 8)) readCase(type, method, bytes, offset);
// Writes: every type at its min, max, min - 1 and max + 1, and the values between that Node
// stores its own way; offsets at the bounds; which of several wrong arguments fails first.
for (const [type, size, signed, method] of INT_TYPES) {
  for (const v of intValues(size, signed)) writeTypedCase(type, method, initial(size + 2), v, 1);
  for (const len of lengthsFor(size))
    for (const offset of typedOffsets(len, size)) {
      writeTypedCase(type, method, initial(len), 0x41, offset);
      writeTypedCase(type, method, initial(len), signed ? -(2 ** (8 * size)) : 2 ** (8 * size), offset);
      writeTypedCase(type, method, initial(len), NaN, offset);
    }
}
for (const [type, signed, method] of VAR_TYPES) {
  for (let size = 1; size <= 6; size++) {
    for (const v of intValues(size, signed)) writeTypedCase(type, method, initial(size + 2), v, 1, size);
    for (const len of lengthsFor(size))
      for (const offset of [undefined, 0, 1, len - size, len - size + 1, -1, 2 ** 33]) {
        writeTypedCase(type, method, initial(len), 3, offset, size);
        writeTypedCase(type, method, initial(len), -(2 ** 50), offset, size);
      }
  }
  for (const byteLength of [undefined, 0, 7, -1, 2 ** 33])
    for (const offset of [undefined, 0, 99])
      for (const v of [1, -(2 ** 50), NaN]) writeTypedCase(type, method, initial(8), v, offset, byteLength);
}
const FLOAT_VALUES = [0, -0, 1, -1, 1.5, NaN, -NaN, Infinity, -Infinity, 0.1, 1 / 3, 3.4028234663852886e38,
  3.4028235677973366e38, 3.4028235677973362e38, 3.5e38, 1e39, -1e39, 1.401298464324817e-45, 7e-46, 7.006492321624086e-46,
  1e-46, 1.1754942106924411e-38, 5e-324, Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** 53 + 1,
  16777217, 4294967296.5, 123456.789, -1e-300];
for (const [type, size, method] of FLOAT_TYPES) {
  for (const v of FLOAT_VALUES) writeTypedCase(type, method, initial(size + 2), v, 1);
  for (const len of lengthsFor(size))
    for (const offset of typedOffsets(len, size)) writeTypedCase(type, method, initial(len), -2.5, offset);
}
for (const [type, signed, method] of BIG_TYPES) {
  const values = signed ? [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 1n, -(2n ** 32n), 2n ** 32n + 5n, 0x0102030405060708n]
    : [0n, 2n ** 64n - 1n, 1n, 2n ** 63n, 2n ** 32n - 1n, 0x0102030405060708n, 0xfedcba9876543210n];
  for (const v of values) writeTypedCase(type, method, initial(10), v, 1);
  for (const len of lengthsFor(8))
    for (const offset of typedOffsets(len, 8)) writeTypedCase(type, method, initial(len), 7n, offset);
}

// ---- copy, compare with ranges, swaps -------------------------------------------------------------
const COPY_PAIRS = [[initial(6), Array(4).fill(0)], [initial(3), Array(8).fill(0xee)], [[], Array(3).fill(1)], [initial(4), []], [initial(1), [9]]];
for (const [src, dst] of COPY_PAIRS) {
  const sl = src.length, tl = dst.length;
  for (const ts of [undefined, 0, 1, tl - 1, tl, tl + 1, -1, 2 ** 40])
    for (const ss of [undefined, 0, 1, sl - 1, sl, sl + 1, -1])
      for (const se of [undefined, 0, 2, sl, sl + 5, -1, 2 ** 33]) {
        const r = attempt(() => {
          const t = Buffer.from(dst);
          return [Buffer.from(src).copy(t, ts, ss, se), t];
        }, ([n, t]) => [String(n), hexOf(t)]);
        emit('range', 'copy', hexOf(src), hexOf(dst), intField(ts), intField(ss), intField(se), '=', ...r);
      }
}
for (const ts of [undefined, 0, 1, 3, 7, 8])
  for (const ss of [undefined, 0, 2, 5, 8])
    for (const se of [undefined, 1, 4, 8, 12]) {
      const r = attempt(() => {
        const b = Buffer.from(initial(8));
        return [b.copy(b, ts, ss, se), b];
      }, ([n, b]) => [String(n), hexOf(b)]);
      emit('range', 'copyself', hexOf(initial(8)), intField(ts), intField(ss), intField(se), '=', ...r);
    }
const CMP_PAIRS = [['abcdef', 'abcdef'], ['abcdef', 'bcd'], ['abc', 'abcdef'], ['', 'ab'], ['xyz', '']];
function compareCase(src, dst, tStart, tEnd, sStart, sEnd) {
  const r = attempt(() => Buffer.from(src).compare(Buffer.from(dst), tStart, tEnd, sStart, sEnd), (x) => [String(x)]);
  emit('range', 'compare', hexOf(src), hexOf(dst), intField(tStart), intField(tEnd), intField(sStart), intField(sEnd), '=', ...r);
}
for (const [a, b] of CMP_PAIRS) {
  const src = [...enc8.encode(a)], dst = [...enc8.encode(b)], sl = src.length, tl = dst.length;
  // Every combination of arguments Node takes (starts may pass the end, up to kMaxLength) ...
  for (const tStart of [undefined, 0, 1, 2, tl, tl + 1, 2 ** 32])
    for (const tEnd of [undefined, 0, 1, 2, tl])
      for (const sStart of [undefined, 0, 1, 3, sl, sl + 2])
        for (const sEnd of [undefined, 0, 2, sl]) compareCase(src, dst, tStart, tEnd, sStart, sEnd);
  // ... and each wrong one among right ones, alone and two at a time: the first named fails.
  const wrong = [[0, [-1, 2 ** 32 + 1]], [1, [tl + 1, -1]], [2, [-1, 2 ** 32 + 1]], [3, [sl + 1, -1]]];
  for (const [i, bad] of wrong)
    for (const v of bad)
      for (const base of [[undefined, undefined, undefined, undefined], [1, tl, 0, sl], [tl, 0, sl, 0]]) {
        const args = [...base];
        args[i] = v;
        compareCase(src, dst, ...args);
        for (const [j, bad2] of wrong)
          if (j !== i) {
            args[j] = bad2[0];
            compareCase(src, dst, ...args);
            args[j] = base[j];
          }
      }
}
for (const op of ['swap16', 'swap32', 'swap64'])
  for (const n of [0, 1, 2, 3, 4, 6, 7, 8, 12, 16, 17, 24, 200, 256])
    emit('range', op, hexOf(initial(n)), '=', ...attempt(() => Buffer.from(initial(n))[op](), (b) => [hexOf(b)]));

// ---- Buffer.isEncoding, isUtf8, isAscii, transcode --------------------------------------------
for (const name of [undefined, '', 'utf8', 'UTF8', 'utf-8', 'Utf-8', 'ucs2', 'UCS-2', 'utf16le', 'UTF-16LE', 'utf-16',
  'latin1', 'BINARY', 'ascii', 'base64', 'Base64URL', 'hex', 'HEX', 'utf9', 'buffer', 'hex ', ' hex', 'latin-1',
  'binary\u0130', '\u0130', 'ucs\u20132'])
  emit('charset', 'isencoding', encField(name), '=', 'ok', buffer.Buffer.isEncoding(name) ? '1' : '0');
const CHECKED = [[], [0x00], [0x7f], [0x80], [0x61, 0x62], [...enc8.encode('h\u00e9llo \u{1f600}')], [0xc3], [0xc0, 0x80],
  [0xc2, 0x80], [0xe0, 0x80, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xef, 0xbf, 0xbf],
  [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80],
  [0xff], [0xfe, 0xff], [...Array(40).fill(0x61), 0x80], [...Array(40).fill(0x61), 0xe2, 0x82], Array(64).fill(0x7f)];
for (const bytes of CHECKED) {
  emit('charset', 'isutf8', hexOf(bytes), '=', 'ok', buffer.isUtf8(Buffer.from(bytes)) ? '1' : '0');
  emit('charset', 'isascii', hexOf(bytes), '=', 'ok', buffer.isAscii(Buffer.from(bytes)) ? '1' : '0');
}
const TRANSCODE_INPUTS = [
  ...CHECKED, [0x61, 0xe9, 0xff, 0x80], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98], [0xe2, 0x28, 0xa1], [0x3d, 0xd8],
  [0x00, 0xde], [0x3d, 0xd8, 0x00, 0xde], [0x00, 0xde, 0x3d, 0xd8], [0xac, 0x20, 0x41, 0x01, 0xe9, 0x00], [0x3d, 0xd8, 0x61, 0x00],
  [0x61, 0x00, 0x62], [0xfe, 0xff, 0x61, 0x00], [0xff, 0xfe, 0x00, 0x61], [0xef, 0xbb, 0xbf, 0x61], [0xef, 0xbf, 0xbe],
  [...Buffer.from('\u00e9\u20ac\u{1f600}\u0100\u00ff\u007f', 'ucs2')], [...enc8.encode('\u00e9\u20ac\u{1f600}\u0100\u00ff\u007f')],
  // default ignorable code points, which ICU leaves out where the target lacks them
  ...['\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180f\u1810\u200a\u200b\u200f\u2010\u202a\u202e\u2060\u206f',
    '\u3164\ufe00\ufe0f\ufeff\uffa0\ufff0\ufff8\ufff9\u{1bca0}\u{1bca3}\u{1d173}\u{1d17a}\u{e0000}\u{e0fff}\u{e1000}\u{1d17b}']
    .flatMap((s) => [[...Buffer.from(s, 'ucs2')], [...enc8.encode(s)]]),
  [0xad, 0x61, 0xad],
  // Even: from utf16le, Node copies an odd source into a buffer one byte short, which past its
  // 1 KiB of stack storage corrupts the heap (and kills the generator). Odd ones stay small.
  [...Buffer.from('x'.repeat(2999) + '\u00e9', 'latin1')],
];
const TRANSCODINGS = ['utf8', 'ucs2', 'latin1', 'ascii'];
function transcodeCase(bytes, from, to) {
  const r = attempt(() => buffer.transcode(Buffer.from(bytes), from, to), (b) => [
    String(b.length), String(b.buffer.byteLength), b.buffer.byteLength === Buffer.poolSize && b.length < 4096 ? '1' : '0', hexOf(b)]);
  emit('charset', 'transcode', hexOf(bytes), encField(from), encField(to), '=', ...r);
}
for (const bytes of TRANSCODE_INPUTS)
  for (const from of TRANSCODINGS)
    for (const to of TRANSCODINGS) transcodeCase(bytes, from, to);
for (const [from, to] of [[undefined, 'ucs2'], ['', 'latin1'], ['UTF-8', 'UCS-2'], ['binary', 'utf16le'], ['utf-16le', 'Latin1'],
  ['ASCII', undefined], ['hex', 'utf8'], ['utf8', 'base64'], ['base64url', 'ascii'], ['utf9', 'utf8'], ['utf8', 'nope'], ['buffer', 'utf8'],
  ['latin1', 'hex '], ['nope', 'hex']])
  for (const bytes of [[], [0x61, 0xc3, 0xa9], [0xe9, 0x00]]) transcodeCase(bytes, from, to);

assert.strictEqual(buffer.constants.MAX_LENGTH, 4294967296);
assert.strictEqual(buffer.constants.MAX_STRING_LENGTH, 2 ** 29 - 24);
assert.strictEqual(buffer.INSPECT_MAX_BYTES, 50);

process.stdout.write(`# Generated by tests/vectors/gen-bufops.js with Node ${process.version}; do not edit.\n`);
process.stdout.write(`# Cases: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}\n`);
process.stdout.write(out.join('\n') + '\n');
