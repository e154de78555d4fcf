// SPDX-License-Identifier: MIT
// The examples `shmbuf demo` reproduces through shmbufd, as Node prints them.
// Regenerate the expected output with: node client/demo.js > tests/vectors/demo.out
'use strict';
const { inspect } = require('util');

const lines = [];
const label = (s) => s.padEnd(42);
const show = (text, buf) =>
  lines.push(`${label(text)} ${inspect(buf)}  length=${buf.length}` +
             `  byteOffset=${buf.byteOffset}  buffer.byteLength=${buf.buffer.byteLength}`);

// Start from a fresh pool, as a new shmbuf connection does: fill the current pool to its
// end with 4095-byte slices, so the next pooled allocation starts a new one. Nothing below
// may print before the end, since writing to stdout can take from the pool too.
for (let b; (b = Buffer.allocUnsafe(4095)).byteOffset !== 4096;);

const a = Buffer.alloc(4);
show('Buffer.alloc(4)', a);
const b = Buffer.from([97, 98, 99, 100]);
show('Buffer.from([97, 98, 99, 100])', b);
const c = Buffer.allocUnsafe(4);
lines.push(`${label('Buffer.allocUnsafe(4)')} length=${c.length}  byteOffset=${c.byteOffset}` +
           `  buffer.byteLength=${c.buffer.byteLength}`);
const d = Buffer.from('abcd', 'utf-8');
show("Buffer.from('abcd', 'utf-8')", d);
lines.push(`${label("  .toString('hex')")} ${d.toString('hex')}`);
show('Buffer.alloc(10, 1)', Buffer.alloc(10, 1));
show('Buffer.from([257, 257.5, -255, 1])', Buffer.from([257, 257.5, -255, 1]));
show("Buffer.from('tést')", Buffer.from('tést'));
show("Buffer.from('tést', 'latin1')", Buffer.from('tést', 'latin1'));
const e = Buffer.from('aGVsbG8gd29ybGQ=', 'base64');
show("Buffer.from('aGVsbG8gd29ybGQ=', 'base64')", e);
lines.push(`${label('  .toString()')} ${e.toString()}`);
show('Buffer.allocUnsafeSlow(16).fill(0x2a)', Buffer.allocUnsafeSlow(16).fill(0x2a));
show('Buffer.alloc(60, 0xab)', Buffer.alloc(60, 0xab));

console.log(lines.join('\n'));
