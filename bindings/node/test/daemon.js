// SPDX-License-Identifier: MIT
// A private shmbufd: $SHMBUFD (the daemon under test) on a socket in a new temporary
// directory. The socket is named, and SHMBUF_SOCKET set to it, as soon as the daemon is
// created, so that shmbuf (which takes SHMBUF_SOCKET when it loads) can be required at once;
// start() waits until it accepts connections. The daemon gets SIGKILL if this process dies
// (setpriv --pdeathsig), so a crashed test leaves nothing running.
'use strict';

const { spawn } = require('node:child_process');
const { once } = require('node:events');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

function canConnect(socket) {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

function create() {
  const bin = process.env.SHMBUFD;
  if (!bin)
    throw new Error('SHMBUFD must name the shmbufd to test (make check sets it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmbuf-node-'));
  const socket = path.join(dir, 's.sock');
  process.env.SHMBUF_SOCKET = socket;
  let child = null;
  let exited = null;
  return {
    dir, // for the caller's files too; removed by stop()
    socket,
    async start(args = []) {
      child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', bin, '--socket', socket,
        '--log-level', 'warning', '--config', '/dev/null', ...args],
      { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('exit', (code, signal) => { exited = signal || code; });
      for (let waited = 0; !(await canConnect(socket)); waited += 10) {
        if (exited !== null || waited > 10000) {
          child.kill('SIGKILL');
          throw new Error(`shmbufd did not start (${exited ?? 'timeout'})`);
        }
        await sleep(10);
      }
    },
    // Stops the daemon (once) and checks it exited cleanly.
    async stop() {
      if (child === null)
        return;
      if (exited === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      child = null;
      fs.rmSync(dir, { recursive: true, force: true });
      if (exited !== 0)
        throw new Error(`shmbufd exited with ${exited}`);
    },
  };
}

async function start(args) {
  const daemon = create();
  await daemon.start(args);
  return daemon;
}

// The daemon of a test file: running before its tests; after them, shmbuf's connection is
// closed (if the file loaded shmbuf) and the daemon stopped.
function forTests() {
  const { before, after } = require('node:test');
  const daemon = create();
  before(() => daemon.start());
  after(async () => {
    const loaded = require.cache[require.resolve('shmbuf')];
    if (loaded)
      loaded.exports.close();
    await daemon.stop();
  });
  return daemon;
}

module.exports = { forTests, start };
