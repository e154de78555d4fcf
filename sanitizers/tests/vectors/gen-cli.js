#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// What the `shmbuf` CLI must print, taken from Node itself (Node 20 is the specification):
// each case is a command line, and its output is what the same Buffer calls print in Node,
// made in the same order from a fresh pool (the CLI makes all of a run's buffers on one
// connection, so their placement carries on from one to the next). Run by tests/check_cli.c
// against the installed-layout binary and a real shmbufd.
//
// Regenerate with:  node tests/vectors/gen-cli.js > tests/vectors/cli.txt
//
// Format: blocks of lines "KEY VALUE", one block a case, in this order:
//   case NAME          starts a case
//   nodaemon           (optional) run with $SHMBUF_SOCKET naming a socket nobody listens on
//   arg VALUE          one per argument after the program name (none for the socket: the test
//                      sets $SHMBUF_SOCKET)
//   stdin VALUE        (optional) standard input
//   status N           the exit status
//   out VALUE          all of standard output
//   err VALUE          all of standard error
//   end
// VALUE is UTF-8 with backslash, newline and tab written "\\", "\n", "\t", a byte that is not
// part of well-formed UTF-8 written "\xHH", and an empty value written "\e".
// In --json output, "arrayBuffer" is "#K", K counting the distinct ArrayBuffers of the run in
// order of appearance (the CLI's ids are opaque: only their equality is Node's), and "hex" is
// "?" where Node leaves the bytes uninitialised (allocUnsafe).
'use strict';

const assert = require('assert');
const util = require('util');

const blocks = [];
const enc8 = new TextEncoder();

// A command-line argument or input that is raw bytes, not necessarily well-formed UTF-8.
class Raw {
  constructor(bytes) { this.bytes = bytes; this.str = Buffer.from(bytes).toString('utf8'); }
}
const text = (v) => (v instanceof Raw ? v.str : v);

// The length of the well-formed UTF-8 character at b[i], or 0.
function utf8Length(b, i) {
  const c = b[i];
  if (c < 0x80) return 1;
  let n, lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 1;
  else if (c >= 0xe0 && c <= 0xef) [n, lo, hi] = [2, c === 0xe0 ? 0xa0 : lo, c === 0xed ? 0x9f : hi];
  else if (c >= 0xf0 && c <= 0xf4) [n, lo, hi] = [3, c === 0xf0 ? 0x90 : lo, c === 0xf4 ? 0x8f : hi];
  else return 0;
  for (let k = 1; k <= n; k++, lo = 0x80, hi = 0xbf)
    if (!(b[i + k] >= lo && b[i + k] <= hi)) return 0;
  return n + 1;
}

function escapeValue(v) {
  const b = v instanceof Raw ? v.bytes : [...enc8.encode(v)];
  if (b.length === 0) return '\\e';
  let s = '';
  for (let i = 0; i < b.length;) {
    const n = utf8Length(b, i);
    if (n === 0) s += `\\x${b[i].toString(16).padStart(2, '0')}`;
    else if (b[i] === 0x5c) s += '\\\\';
    else if (b[i] === 0x0a) s += '\\n';
    else if (b[i] === 0x09) s += '\\t';
    else s += new TextDecoder().decode(new Uint8Array(b.slice(i, i + n)));
    i += n || 1;
  }
  return s;
}

// ---- the CLI, modelled on Node's Buffer ------------------------------------------------------
function freshPool() {
  for (let b; (b = Buffer.allocUnsafe(4095)).byteOffset !== 4096;);
}

// One run of the CLI: stdout and stderr as JS strings, and the exit status.
class Run {
  constructor(stdin) { this.stdin = stdin; this.out = ''; this.err = ''; this.abs = new Map(); }
  print(b, o, known) {
    if (o.to !== undefined) {
      this.out += b.toString(o.to, o.start, o.end) + '\n';
    } else if (o.json) {
      if (!this.abs.has(b.buffer)) this.abs.set(b.buffer, this.abs.size);
      this.out += JSON.stringify({
        length: b.length, byteOffset: b.byteOffset, bufferByteLength: b.buffer.byteLength,
        pooled: b.buffer.byteLength === Buffer.poolSize && b.length < Buffer.poolSize >>> 1,
        arrayBuffer: `#${this.abs.get(b.buffer)}`, hex: known ? b.toString('hex') : '?',
      }) + '\n';
    } else {
      assert.ok(known);
      this.out += util.inspect(b) + '\n';
    }
  }
  // alloc, alloc-unsafe, alloc-unsafe-slow, from: one buffer per positional argument, in
  // order, stopping at the first that throws. Returns the exit status.
  make(cmd, args) {
    const o = {}, pos = [];
    let dashdash = false;
    args = args.flatMap((a) => {  // --name=value is --name value
      const m = !dashdash && typeof a === 'string' && /^(--[a-z-]+)=(.*)$/s.exec(a);
      return m ? [m[1], m[2]] : [a];
    });
    for (let i = 0; i < args.length; i++) {
      const a = text(args[i]);
      if (dashdash || a[0] !== '-' || a === '-' || /^-?[0-9]+$/.test(a)) pos.push(args[i]);
      else if (a === '--') dashdash = true;
      else if (a === '-e' || a === '--encoding') o.enc = text(args[++i]);
      else if (a === '--fill') o.fill = text(args[++i]);
      else if (a === '--fill-number') o.fillNumber = Number(args[++i]);
      else if (a === '--array') o.array = true;
      else if (a === '--to') o.to = text(args[++i]);
      else if (a === '--start') o.start = Number(args[++i]);
      else if (a === '--end') o.end = Number(args[++i]);
      else if (a === '--json') o.json = true;
      else throw new Error(`the model has no usage errors: ${a}`);
    }
    try {
      for (const p of pos) {
        const s = text(p) === '-' ? text(this.stdin) : text(p);
        let b;
        if (cmd === 'from' && o.array) b = Buffer.from(s === '' ? [] : s.split(',').map(Number));
        else if (cmd === 'from') b = Buffer.from(s, o.enc);
        else if (cmd === 'alloc-unsafe') b = Buffer.allocUnsafe(Number(s));
        else if (cmd === 'alloc-unsafe-slow') b = Buffer.allocUnsafeSlow(Number(s));
        else if (o.fill !== undefined) b = Buffer.alloc(Number(s), o.fill, o.enc);
        else if (o.fillNumber !== undefined) b = Buffer.alloc(Number(s), o.fillNumber);
        else b = Buffer.alloc(Number(s));
        this.print(b, o, !cmd.startsWith('alloc-unsafe'));
      }
    } catch (e) {
      assert.ok(e.code, e);
      this.err += `shmbuf: ${e.code}: ${e.message}\n`;
      return 1;
    }
    return 0;
  }
  byteLength(args) {
    let enc;
    for (let i = 0; i < args.length; i++) {
      const a = text(args[i]);
      if (a === '-e') enc = text(args[++i]);
      else this.out += Buffer.byteLength(a === '-' ? text(this.stdin) : a, enc) + '\n';
    }
    return 0;
  }
  command(argv) {
    const [cmd, ...args] = argv;
    if (cmd === 'byte-length') return this.byteLength(args);
    if (cmd === 'batch') {
      let worst = 0;
      for (const line of text(this.stdin).split('\n')) {
        const words = splitLine(line);
        if (words.length && words[0][0] !== '#') worst = Math.max(worst, this.command(words));
      }
      return worst;
    }
    return this.make(cmd, args);
  }
}

// Batch lines: blanks separate words, '...' and "..." group.
function splitLine(line) {
  const words = [];
  for (const m of line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

function cli(name, argv, { stdin, nodaemon } = {}) {
  freshPool();
  const run = new Run(stdin ?? '');
  const status = run.command(argv);
  const lines = [`case ${name}`];
  if (nodaemon) lines.push('nodaemon');
  for (const a of argv) lines.push(`arg ${escapeValue(a)}`);
  if (stdin !== undefined) lines.push(`stdin ${escapeValue(stdin)}`);
  lines.push(`status ${status}`, `out ${escapeValue(run.out)}`, `err ${escapeValue(run.err)}`, 'end');
  blocks.push(lines.join('\n'));
}

// ---- the cases -------------------------------------------------------------------------------
// alloc, with and without fills
cli('alloc', ['alloc', '0', '1', '4', '10']);
cli('alloc-60', ['alloc', '50', '51', '60']);
cli('alloc-json', ['alloc', '--json', '0', '4', '64']);
cli('alloc-fill', ['alloc', '--fill', 'abc', '7', '1', '0']);
cli('alloc-fill-utf8', ['alloc', '--fill', 't\u00e9st', '9']);
cli('alloc-fill-hex', ['alloc', '-e', 'hex', '--fill', 'abcd', '5']);
cli('alloc-fill-encoding-after', ['alloc', '--fill', 'YWJj', '--encoding', 'base64', '4']);
cli('alloc-fill-equals', ['alloc', '--fill=\u{1f600}', '--encoding=ucs2', '6']);
cli('alloc-fill-empty', ['alloc', '--fill', '', '3']);
cli('alloc-fill-invalid', ['alloc', '--fill', 'zz', '-e', 'hex', '2', '4']);
cli('alloc-fill-invalid-size-0', ['alloc', '--fill', 'zz', '-e', 'hex', '0']);
cli('alloc-fill-quotes', ['alloc', '--fill', 'it\'s', '-e', 'hex', '4']);
cli('alloc-fill-long', ['alloc', '--fill', 'x'.repeat(20) + '\n' + 'y'.repeat(103), '-e', 'hex', '4']);
cli('alloc-fill-unknown-encoding', ['alloc', '--fill', 'a', '-e', 'utf9', '4']);
cli('alloc-fill-number', ['alloc', '--fill-number', '65', '3']);
for (const n of ['257', '-1', '1.5', '-255.9', 'NaN', 'Infinity', '1e3', '0'])
  cli(`alloc-fill-number-${n}`, ['alloc', '--fill-number', n, '4']);
cli('alloc-fill-to', ['alloc', '--fill', 'ab', '--to', 'hex', '--start', '1', '--end', '5', '7']);
cli('alloc-negative', ['alloc', '-1']);
cli('alloc-too-big', ['alloc', '4294967297']);
cli('alloc-then-error', ['alloc', '3', '-2', '4']);
cli('alloc-json-fill', ['alloc', '--json', '--fill-number', '255', '3']);

// allocUnsafe and allocUnsafeSlow: placement, not contents
cli('alloc-unsafe', ['alloc-unsafe', '--json', '4', '1', '7', '8', '9', '0', '4095', '4096', '4000', '100']);
cli('alloc-unsafe-new-pool', ['alloc-unsafe', '--json', '4000', '4000', '192', '1', '200']);
cli('alloc-unsafe-slow', ['alloc-unsafe-slow', '--json', '4', '100', '0', '8192']);
cli('alloc-unsafe-error', ['alloc-unsafe', '--json', '8', '-1', '8']);
cli('alloc-unsafe-slow-error', ['alloc-unsafe-slow', '9007199254740992']);

// from(string), every encoding, UTF-8 in and out
cli('from', ['from', 'abcd', 't\u00e9st', '\u{1f600}', '']);
cli('from-latin1', ['from', '-e', 'latin1', 't\u00e9st', '\u20ac']);
cli('from-hex', ['from', '-e', 'hex', 'abcdzz', 'abc', 'zz']);
cli('from-base64', ['from', '--encoding', 'base64', 'aGVsbG8gd29ybGQ=', 'aGVs bG8', '--', '-_8']);
cli('from-base64url', ['from', '-e', 'base64url', '--', '-_8', '+/8']);
cli('from-ucs2', ['from', '-e', 'UCS-2', 'hi', '\u{1f600}']);
cli('from-ascii', ['from', '-e', 'ascii', '\u00ff\u0141']);
cli('from-unknown-encoding', ['from', '-e', 'utf9', 'abc']);
cli('from-unknown-encoding-empty', ['from', '-e', 'utf9', '']);
cli('from-dashdash', ['from', '--', '-abc', '--json']);
cli('from-negative-number', ['from', '-5']);
cli('from-ill-formed', ['from', new Raw([0x61, 0xff, 0x62, 0xe2, 0x82]), new Raw([0xc0, 0x80])]);
cli('from-json', ['from', '--json', 'abcd', 't\u00e9st', 'x'.repeat(4096), 'hello', 'abcdefghij'.repeat(50)]);
cli('from-json-hex', ['from', '--json', '-e', 'hex', 'aabbccddeeff0011223344556677', 'zz']);
cli('from-stdin', ['from', '-'], { stdin: 'h\u00e9llo\nw\u00f6rld\n' });
cli('from-stdin-hex', ['from', '-e', 'hex', 'ab', '-', 'cd'], { stdin: 'abcd\n' });
cli('from-stdin-ill-formed', ['from', '--to', 'utf8', '-'], { stdin: new Raw([0x61, 0xed, 0xa0, 0x80, 0x62, 0x0a]) });
cli('from-stdin-empty', ['from', '--json', '-'], { stdin: '' });

// from(array)
cli('from-array', ['from', '--array', '1,2,3', '97,98,99,100']);
cli('from-array-wrap', ['from', '--array', '257,-1,1.5,-1.5,NaN,Infinity,-Infinity,1e3,4294967297,-0']);
cli('from-array-empty', ['from', '--array', '']);
cli('from-array-json', ['from', '--json', '--array', '1,2', '3,4,5', Array(4096).fill(7).join(',')]);

// output as text
cli('to-hex', ['from', '--to', 'hex', 'abcd', 'tést']);
cli('to-range', ['from', '--to', 'base64', '--start', '1', 'hello']);
cli('to-range-negative', ['from', '--to', 'utf8', '--start', '-3', '--end', '100', 'hello']);
cli('to-range-end', ['from', '--to', 'latin1', '--end', '2', 'hello']);
cli('to-empty-range-unknown-encoding', ['from', '--to', 'utf9', '--start', '3', '--end', '1', 'abc']);
cli('to-unknown-encoding', ['from', '--to', 'utf9', 'abc']);
cli('to-empty-encoding', ['from', '--to', '', 'abc']);
cli('to-utf8', ['from', '-e', 'hex', '--to', 'utf8', 'e282acff', 'f09f9880', 'c0']);
cli('to-utf16-lone-surrogate', ['from', '-e', 'hex', '--to', 'utf16le', '3dd8', '3dd800de', '00dc41']);
cli('to-latin1', ['from', '-e', 'hex', '--to', 'latin1', 'e9ff80']);
cli('to-ascii', ['from', '-e', 'hex', '--to', 'ascii', 'e9ff41']);
cli('to-newline', ['from', '--to', 'utf8', 'a\nb', 'tab\there']);
cli('to-utf16le-odd', ['from', '--to', 'ucs2', 'abc']);
cli('to-base64url', ['from', '--to', 'base64url', '\u00ff\u00fe\u00fd']);

// byte-length, which needs no daemon
const NO = { nodaemon: true };
cli('byte-length', ['byte-length', 'abc', 't\u00e9st', '\u{1f600}', ''], NO);
cli('byte-length-base64', ['byte-length', '-e', 'base64', 'QUJD', 'QUJD=', 'QUJD==', 'Q'], NO);
cli('byte-length-hex', ['byte-length', '-e', 'hex', 'abc', 'abcd'], NO);
cli('byte-length-ucs2', ['byte-length', '-e', 'ucs2', '\u{1f600}', 'abc'], NO);
cli('byte-length-unknown-encoding', ['byte-length', '-e', 'utf9', 't\u00e9st'], NO);
cli('byte-length-ill-formed', ['byte-length', new Raw([0xff, 0xc0, 0x80])], NO);
cli('byte-length-stdin', ['byte-length', '-'], { stdin: 'h\u00e9llo\n', nodaemon: true });

// batch: one connection, so pool placement carries from line to line; a failing line does
// not stop the others
cli('batch', ['batch'], {
  stdin: 'alloc-unsafe --json 4\nfrom --json abcd\n\n# a comment\nfrom --json --array 1,2,3\n' +
         'alloc --fill zz -e hex 1\nfrom --json -e hex abcd\nalloc-unsafe --json 4000 100\n' +
         'byte-length t\u00e9st\nfrom --to utf8 \'a b\' "c d"\n',
});
cli('batch-placement', ['batch'], {
  // from(string) asks the pool for units * 4 bytes: the sixth string would fit, its estimate not
  stdin: Array.from({ length: 7 }, (_, i) => `from --json ${'x'.repeat(1000 - i)}\nalloc-unsafe --json 8`).join('\n') + '\n',
});
cli('batch-no-final-newline', ['batch'], { stdin: 'alloc 2\nfrom -e hex ff' });

process.stdout.write(`# Generated by tests/vectors/gen-cli.js with Node ${process.version}; do not edit.\n`);
process.stdout.write(blocks.join('\n') + '\n');
