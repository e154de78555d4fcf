// SPDX-License-Identifier: MIT
// shmbuf for Node.js: Buffer.alloc(), allocUnsafe(), allocUnsafeSlow(), from() and concat()
// whose memory is shared memory served by shmbufd, and the sharing of that memory with other
// processes by tokens (share(), import(), seal(), ...).
//
// Each function checks its arguments as Node's lib/buffer.js does, with the same errors, and
// decides what Node decides (which path, which pool rule) before it asks the addon for
// memory; the results are Node's own Buffer class over ArrayBuffers the addon made, so every
// Buffer method works on them. Placement (byteOffset, buffer.byteLength, which Buffers share
// a pool) is libshmbuf's, which plays Node's pool rules. Nothing here talks to the daemon.
'use strict';

const { Buffer, kMaxLength } = require('buffer');
const { isAnyArrayBuffer, isArrayBufferView, isUint8Array } = require('util').types;
const {
  ERR_INCOMPATIBLE_OPTION_PAIR,
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_UNKNOWN_ENCODING,
} = require('./errors');
const {
  validateArray,
  validateBoolean,
  validateInteger,
  validateNumber,
  validateObject,
  validateString,
} = require('./validate');
const binding = require('../build/Release/shmbuf.node');

// The class of every Buffer Node makes (`new FastBuffer(arrayBuffer, byteOffset, length)`).
const FastBuffer = Buffer[Symbol.species];
// Taken now, so that later changes to the prototypes cannot change what these functions do.
const setBytes = Uint8Array.prototype.set;
const fillBytes = Uint8Array.prototype.fill;
const fillBuffer = Buffer.prototype.fill;

const { scratch } = binding;
binding.setSocketPath(process.env.SHMBUF_SOCKET);

// The Buffer for what an addon function made (see src/binding.c): a slice of the current
// pool, an empty Buffer, or a view of a dedicated ArrayBuffer.
function made(arrayBuffer) {
  if (arrayBuffer === undefined)
    return new FastBuffer(binding.pool, scratch[0], scratch[1]);
  if (arrayBuffer === null)
    return new FastBuffer();
  return new FastBuffer(arrayBuffer, scratch[0], scratch[1]);
}

// Node's names for each encoding it knows, in any case.
const encodings = new Map([
  ['utf8', 'utf8'], ['utf-8', 'utf8'],
  ['ucs2', 'utf16le'], ['ucs-2', 'utf16le'], ['utf16le', 'utf16le'], ['utf-16le', 'utf16le'],
  ['latin1', 'latin1'], ['binary', 'latin1'],
  ['base64', 'base64'], ['base64url', 'base64url'], ['hex', 'hex'], ['ascii', 'ascii'],
]);

function encodingOf(name) {
  return encodings.get(name) ?? encodings.get(name.toLowerCase());
}

function alloc(size, fill, encoding) {
  validateNumber(size, 'size', 0, kMaxLength);
  if (fill !== undefined && fill !== 0 && size > 0) {
    const buf = made(binding.allocUnsafeSlow(size));
    return Reflect.apply(fillBuffer, buf, [fill, 0, buf.length, encoding]);
  }
  return made(binding.alloc(size));
}

function allocUnsafe(size) {
  validateNumber(size, 'size', 0, kMaxLength);
  return made(binding.allocUnsafe(size));
}

function allocUnsafeSlow(size) {
  validateNumber(size, 'size', 0, kMaxLength);
  return made(binding.allocUnsafeSlow(size));
}

function fromString(string, encoding) {
  let name = 'utf8';
  if (encoding && encoding !== 'utf8' && typeof encoding === 'string') {
    name = encodingOf(encoding);
    if (name === undefined)
      throw new ERR_UNKNOWN_ENCODING(encoding);
  }
  return string.length === 0 ? new FastBuffer() : made(binding.fromString(string, name));
}

// A view needs its memory to be shared already: from() takes the ArrayBuffer of a shmbuf
// Buffer of this thread, as Node would (Node's own checks and view), and refuses any other
// memory rather than give a Buffer that is not shared or copy where Node would not.
function fromArrayBuffer(arrayBuffer, byteOffset, length) {
  const view = Buffer.from(arrayBuffer, byteOffset, length);
  if (arrayBuffer.byteLength > 0 && !binding.owns(arrayBuffer)) {
    throw new ERR_INVALID_ARG_VALUE('arrayBuffer', arrayBuffer,
      'is not shared memory made by shmbuf in this thread ' +
      '(copy it with shmbuf.from(new Uint8Array(arrayBuffer)))');
  }
  return view;
}

// Node's fromArrayLike(): the bytes, as a typed array stores each element, placed as
// allocUnsafe() places them. The elements are read before any memory is taken.
function fromArrayLike(obj) {
  if (isUint8Array(obj))
    return made(binding.fromBytes(obj));
  const length = obj.length;
  if (length <= 0)
    return new FastBuffer();
  if (length < binding.poolSize() >>> 1) {
    const bytes = new Uint8Array(length);
    Reflect.apply(setBytes, bytes, [obj, 0]);
    return made(binding.fromBytes(bytes));
  }
  const bytes = new Uint8Array(obj); // what Node's new FastBuffer(obj) reads
  const buf = made(binding.allocUnsafeSlow(bytes.length));
  Reflect.apply(setBytes, buf, [bytes, 0]);
  return buf;
}

function fromObject(obj) {
  if (obj.length !== undefined || isAnyArrayBuffer(obj.buffer))
    return typeof obj.length !== 'number' ? new FastBuffer() : fromArrayLike(obj);
  if (obj.type === 'Buffer' && Array.isArray(obj.data))
    return fromArrayLike(obj.data);
  return undefined;
}

function from(value, encodingOrOffset, length) {
  if (typeof value === 'string')
    return fromString(value, encodingOrOffset);
  if (typeof value === 'object' && value !== null) {
    if (isAnyArrayBuffer(value))
      return fromArrayBuffer(value, encodingOrOffset, length);
    const valueOf = value.valueOf && value.valueOf();
    if (valueOf != null && valueOf !== value &&
        (typeof valueOf === 'string' || typeof valueOf === 'object'))
      return from(valueOf, encodingOrOffset, length);
    const b = fromObject(value);
    if (b)
      return b;
    if (typeof value[Symbol.toPrimitive] === 'function') {
      const primitive = value[Symbol.toPrimitive]('string');
      if (typeof primitive === 'string')
        return fromString(primitive, encodingOrOffset);
    }
  }
  throw new ERR_INVALID_ARG_TYPE('first argument',
    ['string', 'Buffer', 'ArrayBuffer', 'Array', 'Array-like Object'], value);
}

// Node's _copyActual(source, target, at, 0, source.length): as much as fits.
function copyInto(source, target, at) {
  let n = source.length;
  if (n > target.length - at)
    n = target.length - at;
  const part = n < source.length ? new Uint8Array(source.buffer, source.byteOffset, n) : source;
  Reflect.apply(setBytes, target, [part, at]);
  return n;
}

function concat(list, length) {
  validateArray(list, 'list');
  if (list.length === 0)
    return new FastBuffer();
  if (length === undefined) {
    length = 0;
    for (let i = 0; i < list.length; i++) {
      if (list[i].length)
        length += list[i].length;
    }
  } else {
    validateInteger(length, 'length', 0, kMaxLength);
  }
  const buffer = allocUnsafe(length);
  let pos = 0;
  for (let i = 0; i < list.length; i++) {
    if (!isUint8Array(list[i]))
      throw new ERR_INVALID_ARG_TYPE(`list[${i}]`, ['Buffer', 'Uint8Array'], list[i]);
    pos += copyInto(list[i], buffer, pos);
  }
  if (pos < length)
    Reflect.apply(fillBytes, buffer, [0, pos, length]);
  return buffer;
}

// The ArrayBuffer of `buffer`, a view of any kind.
function arrayBufferOf(buffer) {
  if (!isArrayBufferView(buffer))
    throw new ERR_INVALID_ARG_TYPE('buffer', ['Buffer', 'TypedArray', 'DataView'], buffer);
  return buffer.buffer;
}

// The ArrayBuffer of `buffer`, which must be memory shmbuf made (or imported) in this thread.
function ownArrayBufferOf(buffer) {
  const arrayBuffer = arrayBufferOf(buffer);
  if (arrayBuffer.byteLength === 0 || !binding.owns(arrayBuffer))
    throw new ERR_INVALID_ARG_VALUE('buffer', buffer, 'is not memory shmbuf made in this thread');
  return arrayBuffer;
}

// Gives the memory of buffer back now instead of when the GC collects its last view:
// buffer.buffer is detached (every view of it becomes empty) and true returned. A pooled
// Buffer shares its pool with others, so nothing changes and false is returned, as for an
// empty Buffer or one already released.
function release(buffer) {
  if (arrayBufferOf(buffer).byteLength === 0)
    return false;
  return binding.release(ownArrayBufferOf(buffer));
}

// ---- sharing with other processes ----------------------------------------------------------
// An ArrayBuffer cannot follow its bytes to new memory, so a share never moves them: share()
// shares a Buffer's own memory when that is a shared object already (isShared()), and a copy
// of its bytes otherwise. shareable() and seal() move bytes and return the Buffer to use
// from then on; a dedicated ArrayBuffer they leave is detached, as postMessage() detaches
// what it transfers (and, as there, a pooled Buffer is copied instead: its pool is others').

const kMaxTtlMs = Number.MAX_SAFE_INTEGER;
const kMaxTtl = Math.floor(kMaxTtlMs / 1000);

// A TTL in milliseconds from options.ttl (seconds) or options.ttlMs; 0 is none.
function ttlMsOf(options) {
  const { ttl, ttlMs } = options;
  if (ttl !== undefined && ttlMs !== undefined)
    throw new ERR_INCOMPATIBLE_OPTION_PAIR('ttl', 'ttlMs');
  if (ttl !== undefined) {
    validateNumber(ttl, 'options.ttl', 0, kMaxTtl);
    return Math.ceil(ttl * 1000); // a TTL, however short, is not none
  }
  if (ttlMs !== undefined) {
    validateInteger(ttlMs, 'options.ttlMs', 0, kMaxTtlMs);
    return ttlMs;
  }
  return 0;
}

// options.uids or options.gids as a Uint32Array, or undefined.
function idsOf(options, key) {
  const ids = options[key];
  if (ids === undefined)
    return undefined;
  validateArray(ids, `options.${key}`);
  for (let i = 0; i < ids.length; i++)
    validateInteger(ids[i], `options.${key}[${i}]`, 0, 4294967295);
  return Uint32Array.from(ids);
}

// The flags of share()'s options.
function shareFlagsOf(options) {
  const flags = binding.shareFlags;
  const { writable, readOnly } = options;
  let bits = 0;
  for (const name of ['writable', 'readOnly', 'sealed', 'singleUse', 'persist']) {
    if (options[name] !== undefined)
      validateBoolean(options[name], `options.${name}`);
  }
  if (writable !== undefined && readOnly !== undefined && writable === readOnly)
    throw new ERR_INCOMPATIBLE_OPTION_PAIR('writable', 'readOnly');
  if (writable === true || readOnly === false)
    bits |= flags.writable;
  if (options.sealed === true) {
    if (bits & flags.writable)
      throw new ERR_INCOMPATIBLE_OPTION_PAIR(writable === true ? 'writable' : 'readOnly', 'sealed');
    bits |= flags.sealed;
  }
  if (options.singleUse === true)
    bits |= flags.singleUse;
  if (options.persist === true)
    bits |= flags.persist;
  return bits;
}

// A token other processes import buffer's bytes by (see the section's comment for which
// memory that is). Options: writable or readOnly (importers may write; read-only is the
// default), sealed (a sealed copy nobody can write), singleUse, persist (outlives this
// connection until its TTL), ttl in seconds or ttlMs (0: none, the default), and uids and
// gids that may import besides this user.
function share(buffer, options = {}) {
  const arrayBuffer = ownArrayBufferOf(buffer);
  validateObject(options, 'options');
  const flags = shareFlagsOf(options);
  const ttlMs = ttlMsOf(options);
  if ((flags & binding.shareFlags.persist) && ttlMs === 0) {
    throw new ERR_INVALID_ARG_VALUE('options.persist', true,
      'needs a TTL (options.ttl or options.ttlMs)');
  }
  const uids = idsOf(options, 'uids');
  const gids = idsOf(options, 'gids');
  return binding.share(arrayBuffer, buffer.byteOffset, buffer.byteLength, flags, ttlMs,
    uids, gids);
}

// What shareable() and seal() made: buffer itself when its bytes stayed, else a new Buffer.
function placed(buffer, result) {
  return result === true ? buffer : made(result);
}

// A Buffer over buffer's bytes in shared memory of their own, which share() shares in place:
// buffer itself when it is there already.
function shareable(buffer) {
  const arrayBuffer = ownArrayBufferOf(buffer);
  return placed(buffer, binding.shareable(arrayBuffer, buffer.byteOffset, buffer.byteLength));
}

// A Buffer over buffer's bytes, sealed: no process can write them any more, this one
// included (a write faults). buffer itself when it is sealed already.
function seal(buffer) {
  const arrayBuffer = ownArrayBufferOf(buffer);
  return placed(buffer, binding.seal(arrayBuffer, buffer.byteOffset, buffer.byteLength));
}

// A Buffer over the memory a token names, read-only unless the share is writable. Any token
// this process may not import fails with ERR_SHMBUF_TOKEN.
function importShare(token) {
  validateString(token, 'token');
  return made(binding.import(token));
}

// Revokes a token of this user: it imports no more (imports made stay).
function unshare(token) {
  validateString(token, 'token');
  binding.unshare(token);
}

// The live shares of every user, oldest first; tokens of this user's only.
function shares() {
  return binding.shares();
}

// What libshmbuf says of buffer's memory (0 for memory it did not make in this thread).
function stateOf(buffer) {
  const arrayBuffer = arrayBufferOf(buffer);
  return arrayBuffer.byteLength > 0 && binding.owns(arrayBuffer) ? binding.state(arrayBuffer) : 0;
}

// True when buffer's memory is a shared object of its own (made by shareable(), import() or
// seal()): share() then shares it in place.
function isShared(buffer) {
  return (stateOf(buffer) & 1) !== 0;
}

// True when no write to buffer may be made in this process: a read-only import, or sealed.
function isReadOnly(buffer) {
  return (stateOf(buffer) & 2) !== 0;
}

// True when no process can write buffer's memory.
function isSealed(buffer) {
  return (stateOf(buffer) & 4) !== 0;
}

// The daemon's counters ({ buffers, bytes, pools, ... }).
function stats() {
  return binding.stats();
}

// Detaches every Buffer made so far in this thread (they become empty) and closes the
// connection; the next call connects again.
function close() {
  binding.close();
}

module.exports = {
  alloc,
  allocUnsafe,
  allocUnsafeSlow,
  from,
  concat,
  release,
  share,
  shareable,
  seal,
  import: importShare,
  unshare,
  shares,
  isShared,
  isReadOnly,
  isSealed,
  stats,
  close,
};
