// SPDX-License-Identifier: MIT
// Reading the daemon's counters once the garbage is gone. V8 collects ArrayBuffers when it
// likes and frees the memory of collected ones on a thread of its own, and Node runs their
// finalizers from the event loop, so one round of global.gc() can miss some (--expose-gc).
'use strict';

const { isDeepStrictEqual } = require('node:util');
const { setTimeout: sleep } = require('node:timers/promises');

// Collects garbage and lets the finalizers run.
async function collect(ms) {
  global.gc();
  await new Promise(setImmediate);
  await sleep(ms);
}

// read() once collecting garbage has changed it no more for ten rounds.
async function steady(read) {
  let last = read();
  for (let same = 0, i = 0; same < 10; i++) {
    if (i === 500)
      throw new Error('the counters do not settle');
    await collect(5);
    const now = read();
    same = isDeepStrictEqual(now, last) ? same + 1 : 0;
    last = now;
  }
  return last;
}

// read() once it is `want`, or the last reading after about five seconds.
async function reaches(read, want) {
  let last = read();
  for (let i = 0; i < 250 && !isDeepStrictEqual(last, want); i++) {
    await collect(20);
    last = read();
  }
  return last;
}

module.exports = { steady, reaches };
