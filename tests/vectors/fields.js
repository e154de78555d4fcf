// SPDX-License-Identifier: MIT
// The fields the Buffer vector generators (gen-buffer.js, gen-bufops.js) write, as
// gen-buffer.js documents them. None of these takes from Buffer's pool.
'use strict';

const assert = require('assert');

const enc8 = new TextEncoder();
// HEX: runs of 16 or more equal bytes are written "hh*N"; pieces are joined by "/".
const hexOf = (bytes) => {
  const a = Array.from(bytes), pieces = [];
  let plain = '';
  for (let i = 0; i < a.length;) {
    let j = i;
    while (j < a.length && a[j] === a[i]) j++;
    const hh = a[i].toString(16).padStart(2, '0');
    if (j - i >= 16) {
      if (plain) pieces.push(plain);
      plain = '';
      pieces.push(`${hh}*${j - i}`);
    } else plain += hh.repeat(j - i);
    i = j;
  }
  if (plain) pieces.push(plain);
  return pieces.join('/') || '-';
};
const strField = (s) => hexOf(enc8.encode(s));
const unitsOf = (s) => {
  let h = '';
  for (let i = 0; i < s.length; i++) h += s.charCodeAt(i).toString(16).padStart(4, '0');
  return h || '-';
};
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const numField = (v) => {
  f64[0] = v;
  return u64[0].toString(16).padStart(16, '0');
};
// Exact digits, also past 2 ** 53 (where String() rounds them)
const intField = (v) => (v === undefined ? '-' : BigInt(v).toString());
const encField = (e) => (e === undefined ? '-' : `e:${e}`);
const escape = (s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/ $/, '\\s');

// Runs f; returns ['ok', ...fields(result)] or ['err', code, message]: Node's code, or the
// name of a V8 RangeError or TypeError that has none.
function attempt(f, fields) {
  let r;
  try {
    r = f();
  } catch (e) {
    assert.ok(e instanceof RangeError || e instanceof TypeError || e.code, e);
    return ['err', e.code === undefined ? e.name : e.code, escape(e.message) || '-'];
  }
  return ['ok', ...fields(r)];
}

module.exports = { enc8, hexOf, strField, unitsOf, numField, intField, encField, escape, attempt };
