// SPDX-License-Identifier: MIT
// A private shmbufd for one test file: $SHMBUFD (the daemon under test) listening on a socket
// in a new temporary directory, and SHMBUF_SOCKET naming it for the shmbuf required after
// start(). The daemon gets SIGKILL if this process dies (setpriv --pdeathsig), so a crashed
// test leaves nothing running.
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

async function start(args = []) {
  const bin = process.env.SHMBUFD;
  if (!bin)
    throw new Error('SHMBUFD must name the shmbufd to test (make check sets it)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmbuf-node-'));
  const socket = path.join(dir, 's.sock');
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', bin, '--socket', socket,
    '--log-level', 'warning', '--config', '/dev/null', ...args],
  { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = null;
  child.on('exit', (code, signal) => { exited = signal || code; });
  for (let waited = 0; !(await canConnect(socket)); waited += 10) {
    if (exited !== null || waited > 10000) {
      child.kill('SIGKILL');
      throw new Error(`shmbufd did not start (${exited ?? 'timeout'})`);
    }
    await sleep(10);
  }
  process.env.SHMBUF_SOCKET = socket;
  return {
    socket,
    // Stops the daemon and checks it exits cleanly.
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      fs.rmSync(dir, { recursive: true, force: true });
      if (exited !== 0)
        throw new Error(`shmbufd exited with ${exited}`);
    },
  };
}

module.exports = { start };
