// SPDX-License-Identifier: MIT
// The example of README.md's "Node.js" section, taken from the README as it is and run as a
// program of its own against a daemon, followed by checks of what it and its section say.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const daemon = require('./daemon');

const README = path.join(__dirname, '..', '..', '..', 'README.md');

// What the example and the text around it claim; the import in another process is made by
// one.
const CHECKS = `
;{
  const assert = require('node:assert');
  const { execFileSync } = require('node:child_process');
  const util = require('node:util');
  assert.ok(a instanceof Buffer);
  assert.strictEqual(util.inspect(a), '<Buffer 00 00 00 00>');
  assert.strictEqual(a.buffer.byteLength, Buffer.alloc(4).buffer.byteLength);
  assert.strictEqual(a.buffer.byteLength, 4);
  assert.strictEqual(b.buffer.byteLength, 8192);
  assert.deepStrictEqual([b.byteOffset, c.byteOffset], [0, 8]); // a fresh pool, Node's steps
  assert.strictEqual(c.buffer, b.buffer);
  assert.ok(c.equals(Buffer.from('abcd', 'utf-8')));
  assert.match(token, /^sb1_[A-Za-z0-9_-]{22}$/);
  assert.ok(d instanceof Buffer && d.equals(c));
  assert.deepStrictEqual([shmbuf.isReadOnly(d), shmbuf.isShared(d), shmbuf.isShared(c)],
    [true, true, false]);
  const [row] = shmbuf.shares();
  assert.ok(row.token === token && !row.writable && row.ttlMs > 59000 && row.ttlMs <= 60000);
  c.write('ABCD'); // c was shared as a copy: d keeps abcd
  const elsewhere = execFileSync(process.execPath, ['-e', \`
    const shmbuf = require('shmbuf');
    const d = shmbuf.import(process.argv[1]);
    process.stdout.write(d.toString() + ' ' + shmbuf.isReadOnly(d));
  \`, token], { encoding: 'utf8' });
  assert.strictEqual(elsewhere, 'abcd true');
  console.log('checked');
}
`;

function example() {
  const text = fs.readFileSync(README, 'utf8');
  const section = text.slice(text.indexOf('\n## Node.js\n'));
  assert.ok(section.length > 0, 'README.md has no "Node.js" section');
  const found = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(found, 'the Node.js section has no js example');
  return found[1];
}

const shmbufd = daemon.forTests();

test('the README example runs and does what its comments say', () => {
  const file = path.join(shmbufd.dir, 'example.js');
  fs.writeFileSync(file, example() + CHECKS);
  assert.strictEqual(execFileSync(process.execPath, [file], { encoding: 'utf8' }), 'checked\n');
});
