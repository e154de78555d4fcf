// SPDX-License-Identifier: MIT
// Pool placement vectors: sequences of Buffer creations as Node v20 places them, starting
// from a fresh pool as a new shmbuf connection does. Replayed through libshmbuf against a
// real shmbufd by tests/check_client.c.
//
// Regenerate: node tests/vectors/gen-pool.js > tests/vectors/pool.txt
//
// Format, one record per line, fields separated by one space:
//   seq NAME                      starts a sequence (a new connection)
//   OP ARGS... = LEN OFF ABLEN AB POOLED HEX
// where OP ARGS is one of
//   unsafe SIZE | slow SIZE | alloc SIZE | array N,N,... | string ENC UTF8HEX | concat I,I,... TOTAL
// (concat lists earlier buffers of the sequence by index; TOTAL is a number or "-" for none;
//  UTF8HEX is the string's UTF-8 bytes in hex, "-" for the empty string)
// and the result is buf.length, buf.byteOffset, buf.buffer.byteLength, the index of its
// ArrayBuffer among the distinct ones seen in the sequence, 1 if pooled (byteLength 8192),
// and the contents in hex ("?" where Node leaves them uninitialised, "-" when empty).
'use strict';

const lines = [];
let rng = 0x2545f491;
const rand = (n) => {
  rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0;
  return rng % n;
};

function freshPool() {
  for (let b; (b = Buffer.allocUnsafe(4095)).byteOffset !== 4096;);
}

function run(name, ops) {
  freshPool();
  const bufs = [], known = [], abs = new Map(), out = [`seq ${name}`];
  for (const op of ops) {
    const [kind, ...args] = op;
    let b, text;
    switch (kind) {
      case 'unsafe': b = Buffer.allocUnsafe(args[0]); text = `unsafe ${args[0]}`; break;
      case 'slow': b = Buffer.allocUnsafeSlow(args[0]); text = `slow ${args[0]}`; break;
      case 'alloc': b = Buffer.alloc(args[0]); text = `alloc ${args[0]}`; break;
      case 'array': b = Buffer.from(args[0]); text = `array ${args[0].join(',')}`; break;
      case 'string': {
        const [enc, s] = args;
        b = Buffer.from(s, enc);
        // TextEncoder, not Buffer.from: that would take from the pool being measured.
        const hex = Array.from(new TextEncoder().encode(s), (x) => x.toString(16).padStart(2, '0')).join('');
        text = `string ${enc} ${hex || '-'}`;
        break;
      }
      case 'concat': {
        const [idx, total] = args;
        b = Buffer.concat(idx.map((i) => bufs[i]), total);
        text = `concat ${idx.join(',') || '-'} ${total === undefined ? '-' : total}`;
        break;
      }
    }
    // allocUnsafe leaves bytes as they were, and concat copies them on.
    const isKnown = kind === 'concat' ? args[0].every((i) => known[i])
                                      : kind !== 'unsafe' && kind !== 'slow';
    bufs.push(b);
    known.push(isKnown);
    if (!abs.has(b.buffer)) abs.set(b.buffer, abs.size);
    const hex = b.length === 0 ? '-' : isKnown ? b.toString('hex') : '?';
    out.push(`${text} = ${b.length} ${b.byteOffset} ${b.buffer.byteLength} ${abs.get(b.buffer)} ` +
             `${b.buffer.byteLength === Buffer.poolSize && b.length < 4096 ? 1 : 0} ${hex}`);
  }
  lines.push(...out);
}

// Hand-picked edges.
run('basic', [['unsafe', 4], ['unsafe', 1], ['unsafe', 7], ['unsafe', 8], ['unsafe', 9],
              ['unsafe', 0], ['alloc', 4], ['slow', 4], ['unsafe', 4095], ['unsafe', 4096]]);
run('exact-fit', [['unsafe', 4095], ['unsafe', 4095], ['unsafe', 1]]);
run('exact-fit-2', [['unsafe', 4000], ['unsafe', 4000], ['unsafe', 192], ['unsafe', 1]]);
run('no-fit', [['unsafe', 4000], ['unsafe', 4000], ['unsafe', 193], ['unsafe', 8]]);
run('strings', [['string', 'utf8', 'abcd'], ['string', 'utf-8', 'tést'], ['string', 'latin1', 'tést'],
                ['string', 'hex', 'abcdef'], ['string', 'hex', 'zz'], ['string', 'base64', 'aGVsbG8='],
                ['string', 'ucs2', 'hi'], ['string', 'ascii', 'ñ'], ['string', 'base64url', '_-8'],
                ['string', 'utf8', ''], ['string', 'hex', '']]);
// fromStringFast's room check uses string.length * 4, not the bytes it writes.
run('string-estimate', [['unsafe', 4000], ['unsafe', 4000],
                        ['string', 'utf8', 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop'],
                        ['unsafe', 8]]);
run('string-estimate-2', [['unsafe', 4000], ['unsafe', 4000], ['unsafe', 100],
                          ['string', 'hex', 'aabbccddeeff0011223344556677'], ['unsafe', 1]]);
run('string-fits', [['unsafe', 4000], ['unsafe', 4000], ['string', 'latin1', 'abcdefghijklmnopqrstuvwx'],
                    ['unsafe', 1]]);
// Over 1023 units the estimate reaches 4096, so the exact byteLength decides.
run('string-long', [['string', 'utf8', 'x'.repeat(1100)], ['string', 'utf8', 'y'.repeat(4095)],
                    ['string', 'utf8', 'z'.repeat(4096)], ['string', 'utf8', 'é'.repeat(2100)],
                    ['string', 'base64', 'QUJD'.repeat(1100)], ['string', 'hex', 'ab'.repeat(3000)],
                    ['string', 'ucs2', 'w'.repeat(2047)], ['string', 'ucs2', 'w'.repeat(2048)],
                    ['string', 'hex', 'zz'.repeat(3000)], ['string', 'base64', '!'.repeat(5000)]]);
run('arrays', [['array', [1, 2, 3]], ['array', [256, -1, 1.9, -1.9, 1e10]], ['array', []],
               ['array', Array(4095).fill(7)], ['array', Array(4096).fill(9)], ['array', [0]]]);
run('concat', [['array', [1, 2]], ['array', [3, 4, 5]], ['concat', [0, 1]], ['concat', [0, 1], 3],
               ['concat', [0, 1], 8], ['concat', []], ['concat', [1], 0], ['unsafe', 3000],
               ['concat', [7, 7]], ['unsafe', 8]]);

// Random mixes, fixed seed.
const encs = ['utf8', 'hex', 'base64', 'latin1', 'ucs2', 'ascii', 'base64url'];
// Code points, not UTF-16 units: these strings travel as UTF-8, which has no lone surrogates.
const alphabet = Array.from('abcdef0123456789ABCDEF+/=-_ éñ€😀');
const randString = (n) => {
  let s = '';
  while (s.length < n) s += alphabet[rand(alphabet.length)];
  return s;
};
for (let k = 0; k < 40; k++) {
  const ops = [];
  const n = 10 + rand(60);
  for (let i = 0; i < n; i++) {
    const sizes = [rand(16), rand(300), rand(2000), 4095, 4096, 4000 + rand(200)];
    switch (rand(7)) {
      case 0: case 1: ops.push(['unsafe', sizes[rand(sizes.length)]]); break;
      case 2: ops.push(['string', encs[rand(encs.length)], randString(rand(8) ? rand(40) : 1000 + rand(100))]); break;
      case 3: ops.push(['array', Array.from({ length: rand(3) ? rand(50) : rand(300) }, () => rand(600) - 200)]); break;
      case 4: ops.push(['alloc', rand(100)]); break;
      case 5: ops.push(['slow', rand(100)]); break;
      case 6: {
        if (i === 0) { ops.push(['unsafe', 1]); break; }
        const idx = Array.from({ length: 1 + rand(3) }, () => rand(i));
        ops.push(['concat', idx, rand(3) ? undefined : rand(200)]);
        break;
      }
    }
  }
  run(`random-${k}`, ops);
}

process.stdout.write(lines.join('\n') + '\n');
