// SPDX-License-Identifier: MIT
// shmbuf against Node's own Buffer in one process: each case runs Node's call and shmbuf's in
// alternating rounds and reports the median time per call of each and the median of the
// per-round ratios (shmbuf / Node), so that machine noise hits both sides alike.
//
//   SHMBUFD=./shmbufd node bench/bench.js [--json] [--rounds N]
//
// With SHMBUFD it starts a private daemon; otherwise it uses $SHMBUF_SOCKET or the default
// socket. --json prints one JSON object per case instead of the table.
'use strict';

const { performance } = require('node:perf_hooks');
const { setImmediate: yieldLoop } = require('node:timers/promises');

const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 15;

const TEXT16 = 'shared memory 16';
const TEXT1K = 'Ünïcödé and ASCII, '.repeat(54).slice(0, 1024);

// name, calls per round, and the call on a Buffer-like API.
const CASES = [
  ['allocUnsafe(16)', 100000, (api) => api.allocUnsafe(16)],
  ['from(16-char string)', 100000, (api) => api.from(TEXT16)],
  ['from(1 KiB string)', 20000, (api) => api.from(TEXT1K)],
  ['alloc(16)', 2000, (api) => api.alloc(16)],
  ['alloc(1 MiB)', 200, (api) => api.alloc(1 << 20)],
];

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

// ns per call over n calls; results stay alive for the round, as a program would keep them.
function time(api, n, call) {
  const kept = new Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i++)
    kept[i] = call(api);
  return ((performance.now() - start) * 1e6) / n;
}

async function measure(shmbuf, [name, n, call]) {
  const node = [];
  const shm = [];
  const ratios = [];
  time(Buffer, n, call); // warm up both
  time(shmbuf, n, call);
  for (let r = 0; r < rounds; r++) {
    const a = time(Buffer, n, call);
    const b = time(shmbuf, n, call);
    node.push(a);
    shm.push(b);
    ratios.push(b / a);
    global.gc?.();
    await yieldLoop(); // finalizers of the round's ArrayBuffers run here
  }
  return { case: name, calls: n, rounds, node_ns: median(node), shmbuf_ns: median(shm),
    ratio: median(ratios) };
}

async function main() {
  let daemon;
  if (process.env.SHMBUFD)
    daemon = await require('../test/daemon').start();
  const shmbuf = require('shmbuf');
  const results = [];
  for (const c of CASES)
    results.push(await measure(shmbuf, c));
  shmbuf.close();
  if (daemon)
    await daemon.stop();
  if (json) {
    for (const r of results)
      console.log(JSON.stringify(r));
    return;
  }
  console.log('| case | Node ns/call | shmbuf ns/call | shmbuf / Node (median of rounds) |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.case} | ${r.node_ns.toFixed(1)} | ${r.shmbuf_ns.toFixed(1)} | ` +
      `${r.ratio.toFixed(2)} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
