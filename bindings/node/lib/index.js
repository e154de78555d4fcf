// SPDX-License-Identifier: MIT
// shmbuf for Node.js: Buffer.alloc(), allocUnsafe(), allocUnsafeSlow(), from() and concat()
// whose memory is shared memory served by shmbufd.
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
  ERR_INVALID_ARG_TYPE,
  ERR_INVALID_ARG_VALUE,
  ERR_UNKNOWN_ENCODING,
} = require('./errors');
const { validateArray, validateInteger, validateNumber } = require('./validate');
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
// pool, an empty Buffer, or the start of a dedicated ArrayBuffer.
function made(arrayBuffer) {
  if (arrayBuffer === undefined)
    return new FastBuffer(binding.pool, scratch[0], scratch[1]);
  if (arrayBuffer === null)
    return new FastBuffer();
  return new FastBuffer(arrayBuffer, 0, scratch[1]);
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

// Gives the memory of buffer back now instead of when the GC collects its last view:
// buffer.buffer is detached (every view of it becomes empty) and true returned. A pooled
// Buffer shares its pool with others, so nothing changes and false is returned, as for an
// empty Buffer or one already released.
function release(buffer) {
  if (!isArrayBufferView(buffer))
    throw new ERR_INVALID_ARG_TYPE('buffer', ['Buffer', 'TypedArray', 'DataView'], buffer);
  const arrayBuffer = buffer.buffer;
  if (arrayBuffer.byteLength === 0)
    return false;
  if (!binding.owns(arrayBuffer))
    throw new ERR_INVALID_ARG_VALUE('buffer', buffer, 'is not memory shmbuf made in this thread');
  return binding.release(arrayBuffer);
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
  stats,
  close,
};
