// SPDX-License-Identifier: MIT
// The example of README.md's "Node.js" section, taken from the README as it is and run as a
// program of its own against a daemon, followed by checks of what its comments say.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const daemon = require('./daemon');

const README = path.join(__dirname, '..', '..', '..', 'README.md');

// What the comments of the example claim.
const CHECKS = `
;{
  const assert = require('node:assert');
  const util = require('node:util');
  assert.ok(a instanceof Buffer);
  assert.strictEqual(util.inspect(a), '<Buffer 00 00 00 00>');
  assert.strictEqual(a.buffer.byteLength, Buffer.alloc(4).buffer.byteLength);
  assert.strictEqual(a.buffer.byteLength, 4);
  assert.strictEqual(b.buffer.byteLength, 8192);
  assert.deepStrictEqual([b.byteOffset, c.byteOffset], [0, 8]); // a fresh pool, Node's steps
  assert.strictEqual(c.buffer, b.buffer);
  assert.ok(c.equals(Buffer.from('abcd', 'utf-8')));
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
