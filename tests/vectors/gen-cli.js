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

const { isAscii, isUtf8, transcode } = require('buffer');

const blocks = [];
class UsageError extends Error {}
// read-TYPE and write-TYPE: TYPE is the method's name in lower case.
const TYPED = Object.fromEntries(['UInt8', 'Int8', 'UInt16LE', 'UInt16BE', 'Int16LE', 'Int16BE', 'UInt32LE',
  'UInt32BE', 'Int32LE', 'Int32BE', 'UIntLE', 'UIntBE', 'IntLE', 'IntBE', 'FloatLE', 'FloatBE', 'DoubleLE',
  'DoubleBE', 'BigInt64LE', 'BigInt64BE', 'BigUInt64LE', 'BigUInt64BE'].map((m) => [m.toLowerCase(), m]));
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
  constructor(stdin) { this.stdin = stdin; this.out = ''; this.err = ''; this.abs = new Map(); this.bufs = []; }
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
        this.bufs.push(b);
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
  // The operations on the buffers of the run, named @N, as cli.c parses them: arguments and
  // options in any order, an option left out is undefined, numbers and -5 are arguments.
  usage(cmd, message) {
    this.err += `shmbuf: ${cmd}: ${message}\nTry 'shmbuf help ${cmd}' for more information.\n`;
    return 2;
  }
  buffer(name) {
    let n = Number(name.slice(1));
    if (n < 0) n += this.bufs.length;
    if (!(n >= 0 && n < this.bufs.length)) throw new UsageError(`no buffer ${name}: this run has made ${this.bufs.length}`);
    return this.bufs[n];
  }
  operation(cmd, args) {
    const o = {}, pos = [];
    for (let i = 0; i < args.length; i++) {
      const a = text(args[i]);
      const m = /^(--[a-z-]+)=(.*)$/s.exec(a);
      if (m) [o[m[1]], i] = [m[2], i];
      else if (a[0] !== '-' || a === '-' || /^-(\d|\.\d|Infinity)/.test(a)) pos.push(a);
      else if (a === '--json') o.json = true;
      else o[a === '-e' ? '--encoding' : a] = text(args[++i]);
    }
    const least = cmd === 'transcode' ? 3 : /^(write|copy|compare)/.test(cmd) ? 2 : 1;
    const names = cmd === 'transcode' ? ['@N', 'FROM', 'TO'] : /^(copy|compare)$/.test(cmd)
      ? ['@S', '@T'] : cmd.startsWith('write-') ? ['@N', 'VALUE'] : ['@N', 'STRING'];
    if (pos.length < least) return this.usage(cmd, `missing argument ${names[pos.length]}`);
    const int = (name) => (o[name] === undefined ? undefined : Number(o[name]));
    const offset = int('--offset');
    const out = { to: o['--to'], start: int('--start'), end: int('--end'), json: o.json };
    try {
      const b = this.buffer(pos[0]);
      const method = TYPED[cmd.replace(/^(read|write)-/, '')];
      let r;
      if (cmd === 'show') return this.print(b, out, true), 0;
      if (cmd === 'write') {
        const enc = o['--encoding'], length = int('--length');
        r = offset === undefined && length === undefined && enc !== undefined
          ? b.write(pos[1], enc) : b.write(pos[1], offset, length, enc);
      } else if (cmd.startsWith('read-')) {
        r = /^u?int[lb]e$/.test(cmd.slice(5)) ? b[`read${method}`](offset, int('--byte-length')) : b[`read${method}`](offset);
      } else if (cmd.startsWith('write-')) {
        const v = method.startsWith('Big') ? BigInt(pos[1]) : Number(pos[1]);
        r = /^u?int[lb]e$/.test(cmd.slice(6)) ? b[`write${method}`](v, offset, int('--byte-length')) : b[`write${method}`](v, offset);
      } else if (['index-of', 'last-index-of', 'includes'].includes(cmd)) {
        const needle = o['--number'] !== undefined ? Number(o['--number']) : o['--buffer'] !== undefined ? this.buffer(o['--buffer']) : pos[1];
        r = b[{ 'index-of': 'indexOf', 'last-index-of': 'lastIndexOf', includes: 'includes' }[cmd]](needle, offset, o['--encoding']);
      } else if (cmd === 'copy') {
        r = b.copy(this.buffer(pos[1]), int('--target-start'), int('--source-start'), int('--source-end'));
      } else if (cmd === 'compare') {
        r = b.compare(this.buffer(pos[1]), int('--target-start'), int('--target-end'), int('--source-start'), int('--source-end'));
      } else if (cmd.startsWith('swap')) {
        r = util.inspect(b[cmd]());
      } else if (cmd === 'is-utf8' || cmd === 'is-ascii') {
        r = (cmd === 'is-utf8' ? isUtf8 : isAscii)(b);
      } else {
        assert.strictEqual(cmd, 'transcode');
        const t = transcode(b, pos[1], pos[2]);
        this.bufs.push(t);
        return this.print(t, out, true), 0;
      }
      this.out += `${r}\n`;
    } catch (e) {
      if (e instanceof UsageError) return this.usage(cmd, e.message);
      assert.ok(e.code, e);
      this.err += `shmbuf: ${e.code}: ${e.message}\n`;
      return 1;
    }
    return 0;
  }
  command(argv) {
    const [cmd, ...args] = argv;
    if (cmd === 'byte-length') return this.byteLength(args);
    if (cmd === 'is-encoding') {
      for (const a of args) this.out += `${Buffer.isEncoding(text(a))}\n`;
      return 0;
    }
    if (cmd === 'batch') {
      let worst = 0;
      for (const line of text(this.stdin).split('\n')) {
        const words = splitLine(line);
        if (words.length && words[0][0] !== '#') worst = Math.max(worst, this.command(words));
      }
      return worst;
    }
    if (!['alloc', 'alloc-unsafe', 'alloc-unsafe-slow', 'from'].includes(cmd)) return this.operation(cmd, args);
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

// batch operations on the buffers a run made: @N is the N-th, @-1 the last
const ops = (lines) => lines.join('\n') + '\n';
cli('batch-write', ['batch'], { stdin: ops([
  'alloc 8', 'write @0 h\u00e9llo', 'show @0 --to hex', 'write @0 \u20ac\u20ac --offset 3', 'show @0',
  'write @0 \u{1f600} --offset 5 --length 3', 'write @0 ab -e ucs2', 'write @0 abcd -e hex --offset 7',
  'write @0 tst --offset 9', 'write @0 x --length -1 --offset 1', 'write @0 x -e utf9 --offset 1', 'write @-1 zz -e hex',
  'show @0 --to latin1 --start 2 --end 6', 'show @-1 --json', 'write @1 x', 'write @0',
]) });
const typedLines = [];
for (const [type, value, more] of [['uint8', '255', ''], ['int8', '-128', ''], ['uint16le', '65535', ' --offset 6'],
  ['int16be', '-2', ' --offset 1'], ['uint32be', '4294967295', ''], ['int32le', '-1', ' --offset 4'],
  ['uintle', '1099511627775', ' --offset 0 --byte-length 5'], ['intbe', '-140737488355328', ' --offset 2 --byte-length 6'],
  ['floatle', '0.1', ''], ['floatbe', '-Infinity', ' --offset 4'], ['doublele', '1e21', ''], ['doublebe', '-0.000001', ''],
  ['doublele', '123456789.125', ''], ['doublele', 'NaN', ''], ['bigint64le', '-9223372036854775808', ''],
  ['biguint64be', '18446744073709551615', ''], ['uint8', '256', ''], ['int16le', '1', ' --offset 7'],
  ['uintbe', '1', ' --byte-length 7 --offset 0'], ['intle', '1', ' --byte-length 2'], ['int8', '-129', ' --offset 99'],
  ['uint8', '1.5', ' --offset 9']])
  typedLines.push(`write-${type} @0 ${value}${more}`, `read-${type} @0${more}`, 'show @0');
cli('batch-typed', ['batch'], { stdin: ops(['alloc 8', ...typedLines, 'read-doublele @0 --offset 1', 'read-uint32le @0 --offset -1',
  'from -e hex 000000000000f03f0000803f', 'read-doublele @1', 'read-floatbe @1 --offset 8', 'read-floatle @1 --offset 8',
  'read-uintle @1 --offset 6 --byte-length 3', 'read-intbe @1 --offset 6 --byte-length 2', 'read-uintle @1', 'read-intle @1 --offset 0']) });
// numbers print as String() prints them
cli('batch-numbers', ['batch'], { stdin: ops(['alloc 8', ...['0.5', '-0', '1e-7', '0.000001', '1.5e-7', '123e20', '1e20', '100',
  '-123456789012345680000', '5e-324', '1.7976931348623157e308', '4294967296.5', '0.1', '1e21', '999999999999999900000',
  '2.5e-8', '-1e-6', '33.333333333333336'].flatMap((v) => [`write-doublebe @0 ${v}`, 'read-doublebe @0'])]) });
cli('batch-search', ['batch'], { stdin: ops([
  'from abcabc\u00e9', 'index-of @0 bc', 'index-of @0 bc --offset 2', 'last-index-of @0 bc', 'last-index-of @0 a --offset -5',
  'includes @0 \u00e9', 'includes @0 \u00e9 -e latin1', 'index-of @0 6263 -e hex', 'index-of @0 --number 99', 'index-of @0 --number 355',
  'last-index-of @0 --number -157 --offset 3', 'from ca', 'index-of @0 --buffer @1', 'last-index-of @0 --buffer @-1', 'index-of @0 --buffer @1 -e ucs2',
  "index-of @0 ''", "last-index-of @0 '' --offset 99", 'index-of @0 a -e utf9', 'includes @0 zz', 'index-of @0 a --offset 2147483648',
]) });
cli('batch-range', ['batch'], { stdin: ops([
  'from 0123456789', 'alloc 4', 'copy @0 @1', 'show @1', 'copy @0 @1 --target-start 2 --source-start 8', 'show @1',
  'copy @0 @0 --target-start 3 --source-end 5', 'show @0 --to latin1', 'copy @0 @1 --target-start -1', 'copy @0 @1 --source-start 11',
  'compare @0 @1', 'compare @0 @1 --target-start 2 --source-start 1 --source-end 2', 'compare @0 @1 --target-end 5',
  'compare @1 @0 --source-start 3', 'swap16 @0', 'swap32 @0', 'swap64 @1', 'alloc 16', 'copy @0 @-1 --target-start 6', 'swap64 @-1',
]) });
cli('batch-charset', ['batch'], { stdin: ops([
  'from -e hex 68c3a9e282acf09f9880', 'is-utf8 @0', 'is-ascii @0', 'transcode @0 utf8 ucs2', 'transcode @0 utf8 latin1 --json',
  'transcode @0 utf8 ascii --to latin1', 'transcode @1 utf16le utf8 --to utf8', 'transcode @0 utf8 hex', 'from -e hex ff3dd8',
  'is-utf8 @-1', 'transcode @-1 utf8 ucs2', 'transcode @-1 ucs2 utf8', 'transcode @-1 latin1 ucs2 --json', 'is-encoding utf8 UCS-2 nope',
]) });
cli('is-encoding', ['is-encoding', 'utf8', 'Latin1', 'utf-16', 'BASE64URL', ''], NO);

process.stdout.write(`# Generated by tests/vectors/gen-cli.js with Node ${process.version}; do not edit.\n`);
process.stdout.write(blocks.join('\n') + '\n');
