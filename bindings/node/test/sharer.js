// SPDX-License-Identifier: MIT
// A process for share.test.js. Forked, it runs the commands its parent sends over IPC
// ({ id, op, ...arguments }) on a shmbuf connection of its own and answers each ({ id, value }
// or { id, error }); it exits when its parent goes. Required, it gives the parent's side:
// peer() to drive such a process. With the argument "exporter" it is an exporter that forks
// two such processes itself, shares a writable Buffer with them, and waits to be killed.
'use strict';

const { fork } = require('node:child_process');
const { once } = require('node:events');

// Commands on a process that drives another: call(op, args) resolves to the answer's value or
// rejects with its error; exited resolves to [code, signal].
function peer(child) {
  let next = 0;
  const waiting = new Map();
  child.on('message', (m) => {
    const w = waiting.get(m.id);
    if (!w)
      return;
    waiting.delete(m.id);
    if (m.error)
      w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else
      w.resolve(m.value);
  });
  const exited = once(child, 'exit');
  return {
    child,
    exited,
    call(op, args = {}) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.send({ id, op, ...args });
      });
    },
  };
}

// ---- the forked side ---------------------------------------------------------------------

function serve() {
  const shmbuf = require('shmbuf');
  const held = new Map(); // the Buffers this process holds, by name
  let report = null;      // a name whose bytes to print when the parent goes

  const commands = {
    alloc({ as, size }) {
      held.set(as, shmbuf.shareable(shmbuf.alloc(size)));
    },
    share({ name, options }) {
      return shmbuf.share(held.get(name), options);
    },
    import({ token, as }) {
      const b = shmbuf.import(token);
      held.set(as, b);
      return { readOnly: shmbuf.isReadOnly(b), sealed: shmbuf.isSealed(b), length: b.length };
    },
    seal({ name, as }) {
      held.set(as, shmbuf.seal(held.get(name)));
    },
    write({ name, offset, text }) {
      return held.get(name).write(text, offset, 'latin1');
    },
    poke({ name, index, value }) {
      held.get(name)[index] = value;
    },
    read({ name, start, end }) {
      return held.get(name).toString('latin1', start, end);
    },
    drop({ name }) {
      held.delete(name);
    },
    reportOnExit({ name }) {
      report = name;
    },
  };

  process.on('message', ({ id, op, ...args }) => {
    try {
      process.send({ id, value: commands[op](args) });
    } catch (e) {
      process.send({ id, error: { code: e.code, message: e.message } });
    }
  });
  process.on('disconnect', () => {
    if (report !== null) {
      const text = commands.read({ name: report });
      process.stdout.write(`${JSON.stringify({ pid: process.pid, text })}\n`);
    }
    shmbuf.close();
  });
}

// The exporter: its two children import a writable Buffer of its own and each writes its
// name into it; once each has seen the three writes, it tells its parent, which kills it.
// Its children then print the bytes they hold (to the standard output they share with it).
async function exporter() {
  const shmbuf = require('shmbuf');
  const buf = shmbuf.shareable(shmbuf.alloc(48));
  buf.write('exporter', 0, 'latin1');
  const token = shmbuf.share(buf, { writable: true });
  const children = [0, 1].map(() => peer(fork(__filename, [], { stdio: 'inherit' })));
  await Promise.all(children.map(async (c, i) => {
    await c.call('import', { token, as: 'shared' });
    await c.call('write', { name: 'shared', offset: 16 * (i + 1), text: `child ${i + 1}` });
    await c.call('reportOnExit', { name: 'shared' });
  }));
  const seen = await Promise.all(children.map((c) => c.call('read', { name: 'shared' })));
  process.send({ seen: [buf.toString('latin1'), ...seen] });
  process.on('disconnect', () => process.exit(1));
}

if (require.main === module) {
  if (process.argv[2] === 'exporter')
    exporter();
  else
    serve();
}

module.exports = { peer };
