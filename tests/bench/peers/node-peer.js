// SPDX-License-Identifier: MIT
// The in-process peer: Node's own Buffer calls, timed by Node, for the benchmark to set
// beside the same calls made through libshmbuf. It reads lines "API SIZE N" on stdin and
// answers each with the nanoseconds N calls took, the reference to each result dropped
// (garbage collection included, as a program pays it). The first line it writes is
// "ready VERSION". APIs: alloc, allocUnsafe, allocUnsafeSlow, fromString, fromBytes,
// fromArray, fromBuffer; the sources are SIZE bytes of ASCII, as the C side uses.
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
