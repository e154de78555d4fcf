// SPDX-License-Identifier: MIT
// A peer that threads.test.js starts in a worker thread, a forked process or a cluster worker:
// with its own shmbuf connection it runs the Buffer comparison of cases.js for its seeds (from
// workerData, or its arguments), fills Buffers with a pattern of its own and checks, after
// the others have had time to run, that no byte changed; then reports to its parent.
'use strict';

const { isMainThread, parentPort, workerData } = require('node:worker_threads');
const { setTimeout: sleep } = require('node:timers/promises');
const { sequence } = require('./cases');
const shmbuf = require('shmbuf');

async function main(seeds) {
  let calls = 0;
  const mine = [];
  for (const seed of seeds) {
    calls += sequence(shmbuf, seed, 150).length;
    mine.push(shmbuf.alloc(5000, seed & 255), shmbuf.from(Array(100).fill(seed & 255)));
    await sleep(5); // let the other peers run
  }
  await sleep(50);
  seeds.forEach((seed, k) => {
    for (const b of mine.slice(2 * k, 2 * k + 2)) {
      if (!b.every((byte) => byte === (seed & 255)))
        throw new Error(`the Buffers of seed ${seed} changed`);
    }
  });
  shmbuf.close();
  return { ok: true, calls };
}

const seeds = isMainThread ? process.argv.slice(2).map(Number) : workerData.seeds;
main(seeds).catch((e) => ({ ok: false, error: e.stack })).then((report) => {
  if (isMainThread)
    process.send(report, () => process.disconnect());
  else
    parentPort.postMessage(report);
});
