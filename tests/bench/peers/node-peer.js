// SPDX-License-Identifier: MIT
// The in-process peer: Node's own Buffer calls, timed by Node, for the benchmark to set
// beside the same calls made through libshmbuf. It reads lines "API SIZE N" on stdin and
// answers each with the nanoseconds N calls took, the reference to each result dropped
// (garbage collection included, as a program pays it). The first line it writes is
// "ready VERSION". APIs: alloc, allocUnsafe, allocUnsafeSlow, fromString, fromBytes,
// fromArray, fromBuffer; the sources are SIZE bytes of ASCII, as the C side uses. And calls on
// a Buffer of SIZE such bytes: readUInt32LE and writeUInt32LE, each call at the next offset
// round the buffer; indexOf of the 16-byte NEEDLE, which ends the buffer; write of a string of
// SIZE ASCII characters at offset 0.
'use strict';
const readline = require('readline');

const sources = new Map();
function source(size) {
  let s = sources.get(size);
  if (s === undefined) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = 97 + (i % 26);
    s = {
      string: Buffer.from(bytes).toString('latin1'),
      bytes,
      array: Array.from(bytes),
      buffer: Buffer.from(bytes),
    };
    sources.set(size, s);
  }
  return s;
}

const NEEDLE = '0123456789ABCDEF';
const targets = new Map();
// A Buffer of SIZE source bytes that ends with NEEDLE.
function target(size) {
  let t = targets.get(size);
  if (t === undefined) {
    t = Buffer.from(source(size).bytes);
    t.write(NEEDLE, size - NEEDLE.length, 'latin1');
    targets.set(size, t);
  }
  return t;
}

let sink;
// One loop per API, so that each call site stays monomorphic.
const apis = {
  alloc(size, n) { for (let i = 0; i < n; i++) sink = Buffer.alloc(size); },
  allocUnsafe(size, n) { for (let i = 0; i < n; i++) sink = Buffer.allocUnsafe(size); },
  allocUnsafeSlow(size, n) { for (let i = 0; i < n; i++) sink = Buffer.allocUnsafeSlow(size); },
  fromString(size, n) {
    const s = source(size).string;
    for (let i = 0; i < n; i++) sink = Buffer.from(s);
  },
  fromBytes(size, n) {
    const s = source(size).bytes;
    for (let i = 0; i < n; i++) sink = Buffer.from(s);
  },
  fromArray(size, n) {
    const s = source(size).array;
    for (let i = 0; i < n; i++) sink = Buffer.from(s);
  },
  fromBuffer(size, n) {
    const s = source(size).buffer;
    for (let i = 0; i < n; i++) sink = Buffer.from(s);
  },
  readUInt32LE(size, n) {
    const b = target(size), words = size >>> 2;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += b.readUInt32LE((i % words) * 4);
    sink = sum;
  },
  writeUInt32LE(size, n) {
    const b = target(size), words = size >>> 2;
    for (let i = 0; i < n; i++) b.writeUInt32LE(i >>> 0, (i % words) * 4);
  },
  indexOf(size, n) {
    const b = target(size);
    let at = 0;
    for (let i = 0; i < n; i++) at += b.indexOf(NEEDLE);
    sink = at;
  },
  write(size, n) {
    const b = Buffer.alloc(size), s = source(size).string;
    let written = 0;
    for (let i = 0; i < n; i++) written += b.write(s);
    sink = written;
  },
};

process.stdout.write(`ready ${process.version}\n`);
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [api, size, n] = line.trim().split(/\s+/);
  const run = apis[api];
  if (run === undefined) {
    process.stdout.write('-1\n');
    return;
  }
  const sz = Number(size), count = Number(n);
  source(sz);
  const t0 = process.hrtime.bigint();
  run(sz, count);
  const t = process.hrtime.bigint() - t0;
  sink = undefined;
  process.stdout.write(`${t}\n`);
});
