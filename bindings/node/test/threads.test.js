// SPDX-License-Identifier: MIT
// shmbuf in worker threads, forked processes and cluster workers at once, each with its own
// connection, beside the main thread: every peer (peer.js) runs the Buffer comparison on its
// own seeds and checks that its Buffers keep its own bytes while the others run. When they
// have gone and the main thread has closed its own connection, the daemon holds nothing.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert');
const cluster = require('node:cluster');
const { fork } = require('node:child_process');
const { once } = require('node:events');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { setTimeout: sleep } = require('node:timers/promises');
const { sequence } = require('./cases');
const daemon = require('./daemon');

const PEER = path.join(__dirname, 'peer.js');
daemon.forTests();
const shmbuf = require('shmbuf');

// The report a peer sends, once it has also exited with status 0.
async function reportOf(peer, kind) {
  const [[report], [code]] = await Promise.all([once(peer, 'message'), once(peer, 'exit')]);
  assert.ok(report.ok, `${kind}: ${report.error}`);
  assert.strictEqual(code, 0, `${kind} exited with ${code}`);
  return report;
}

// The daemon's counters once they read `want`, or the last reading after five seconds.
async function settled(want) {
  let last;
  for (let i = 0; i < 500; i++) {
    const s = shmbuf.stats();
    last = { connections: s.connections, buffers: s.buffers, bytes: s.bytes };
    if (last.connections === want.connections && last.buffers === want.buffers &&
        last.bytes === want.bytes)
      break;
    await sleep(10);
  }
  return last;
}

test('worker threads, forked processes and cluster workers use shmbuf at once', async () => {
  cluster.setupPrimary({ exec: PEER, args: ['401', '402'] });
  const peers = [
    reportOf(new Worker(PEER, { workerData: { seeds: [101, 102] } }), 'worker 1'),
    reportOf(new Worker(PEER, { workerData: { seeds: [103, 104] } }), 'worker 2'),
    reportOf(fork(PEER, ['201', '202']), 'process 1'),
    reportOf(fork(PEER, ['203', '204']), 'process 2'),
    reportOf(cluster.fork().process, 'cluster worker 1'),
    reportOf(cluster.fork().process, 'cluster worker 2'),
  ];
  let calls = 0;
  for (const seed of [301, 302, 303, 304]) {
    calls += sequence(shmbuf, seed, 150).length;
    await sleep(5);
  }
  const reports = await Promise.all(peers);
  assert.deepStrictEqual(reports.map((r) => r.calls), Array(6).fill(300));
  assert.strictEqual(calls, 600);
  // With this thread's connection closed too, the daemon holds nothing for anyone.
  shmbuf.close();
  const nothing = { connections: 1, buffers: 0, bytes: 0 }; // stats() connects anew
  assert.deepStrictEqual(await settled(nothing), nothing);
});
