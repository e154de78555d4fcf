// SPDX-License-Identifier: MIT
// shmbuf against Node's own Buffer in one process: each case runs Node's call and shmbuf's in
// alternating rounds and reports the median time per call of each and the median of the
// per-round ratios (shmbuf / Node), so that machine noise hits both sides alike.
//
// Then handing 1 MiB to a child process, which reads all of it once (a scan for a byte that
// is not there) and answers: by a share (share() of a shareable() Buffer, import() there),
// by a share of a Buffer that is not shared memory (a copy per share), by child.send() with
// the advanced and the default (JSON) serialization, and through a pipe; and the floor of them
// all, a message each way that hands nothing. The ways take turns within each round; each row
// gives the median time per handoff and the median of the per-round ratios to the in-place
// share.
//
//   SHMBUFD=./shmbufd node bench/bench.js [--json] [--rounds N]
//
// With SHMBUFD it starts a private daemon; otherwise it uses $SHMBUF_SOCKET or the default
// socket. --json prints one JSON object per case instead of the tables.
'use strict';

const { fork } = require('node:child_process');
const { once } = require('node:events');
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

// ---- handing 1 MiB to a child process ------------------------------------------------------

const HANDOFF_BYTES = 1 << 20;
const HANDOFFS = 10; // per way and round

// The child: reads each Buffer it is handed once, all of it, and answers with how many bytes
// it read. With `pipe`, its standard input brings Buffers too.
function child(pipe) {
  const shmbuf = require('shmbuf');
  const scan = (b) => b.indexOf(0xff) + 1 + b.length; // no 0xff: every byte read
  const chunks = [];
  let piped = 0;
  process.on('message', (m) => {
    if (m.ping) {
      process.send(HANDOFF_BYTES); // the floor: a message each way and nothing read
    } else if (typeof m.token === 'string') {
      const view = shmbuf.import(m.token);
      process.send(scan(view));
      shmbuf.release(view);
    } else {
      // a Buffer arrives as one with the advanced serialization, in its JSON form otherwise
      process.send(scan(Buffer.isBuffer(m.buffer) ? m.buffer : Buffer.from(m.buffer)));
    }
  });
  process.on('disconnect', () => shmbuf.close());
  if (!pipe)
    return;
  process.stdin.on('data', (chunk) => {
    chunks.push(chunk);
    piped += chunk.length;
    if (piped === HANDOFF_BYTES) {
      process.send(scan(Buffer.concat(chunks, piped)));
      chunks.length = 0;
      piped = 0;
    }
  });
}

// One handoff: starts it, and resolves with ms once the child has answered for 1 MiB.
async function handoff(peer, start) {
  const t0 = performance.now();
  const answer = once(peer, 'message');
  start();
  const [read] = await answer;
  if (read !== HANDOFF_BYTES)
    throw new Error(`the child read ${read} bytes`);
  return performance.now() - t0;
}

async function handoffs(shmbuf) {
  const script = __filename;
  const advanced = fork(script, ['--child', 'pipe'], { serialization: 'advanced',
    stdio: ['pipe', 'inherit', 'inherit', 'ipc'] });
  const json = fork(script, ['--child']);
  const live = shmbuf.shareable(shmbuf.alloc(HANDOFF_BYTES, 'x'));
  const plain = shmbuf.alloc(HANDOFF_BYTES, 'x');
  const local = Buffer.alloc(HANDOFF_BYTES, 'x');
  const ways = [
    ['share() of a shareable() Buffer + import()', advanced,
      () => advanced.send({ token: shmbuf.share(live, { singleUse: true }) })],
    ['share() of a plain Buffer (a copy) + import()', advanced,
      () => advanced.send({ token: shmbuf.share(plain, { singleUse: true }) })],
    ['child.send(buffer), advanced serialization', advanced,
      () => advanced.send({ buffer: local })],
    ['child.send(buffer), JSON serialization', json, () => json.send({ buffer: local })],
    ['pipe (write, read, Buffer.concat)', advanced, () => advanced.stdin.write(local)],
    ['floor: a message each way, no data', advanced, () => advanced.send({ ping: true })],
  ];
  const times = ways.map(() => []);
  const ratios = ways.map(() => []);
  for (let r = -1; r < rounds; r++) { // round -1 warms up
    const round = [];
    for (const [, peer, start] of ways) {
      const each = [];
      for (let i = 0; i < HANDOFFS; i++)
        each.push(await handoff(peer, start));
      round.push(median(each));
    }
    if (r < 0)
      continue;
    round.forEach((ms, k) => {
      times[k].push(ms);
      ratios[k].push(ms / round[0]);
    });
  }
  advanced.stdin.end();
  advanced.disconnect();
  json.disconnect();
  await Promise.all([once(advanced, 'exit'), once(json, 'exit')]);
  return ways.map(([way], k) => ({ case: 'hand 1 MiB to a child process', way,
    handoffs: HANDOFFS, rounds, us: median(times[k]) * 1000, ratio: median(ratios[k]) }));
}

async function main() {
  let daemon;
  if (process.env.SHMBUFD)
    daemon = await require('../test/daemon').start();
  const shmbuf = require('shmbuf');
  const results = [];
  for (const c of CASES)
    results.push(await measure(shmbuf, c));
  const handed = await handoffs(shmbuf);
  shmbuf.close();
  if (daemon)
    await daemon.stop();
  if (json) {
    for (const r of [...results, ...handed])
      console.log(JSON.stringify(r));
    return;
  }
  console.log('| case | Node ns/call | shmbuf ns/call | shmbuf / Node (median of rounds) |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) {
    console.log(`| ${r.case} | ${r.node_ns.toFixed(1)} | ${r.shmbuf_ns.toFixed(1)} | ` +
      `${r.ratio.toFixed(2)} |`);
  }
  console.log('');
  console.log('| hand 1 MiB to a child process, which reads it once | µs per handoff | ' +
    '/ in-place share (median of rounds) |');
  console.log('|---|---:|---:|');
  for (const r of handed)
    console.log(`| ${r.way} | ${r.us.toFixed(0)} | ${r.ratio.toFixed(2)} |`);
}

if (process.argv[2] === '--child') {
  child(process.argv[3] === 'pipe');
} else {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
