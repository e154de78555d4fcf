// SPDX-License-Identifier: MIT
// Node's errors, as lib/buffer.js throws them. Node keeps its error classes internal, so
// these are made the same way: one subclass of TypeError or RangeError per code, whose
// instances have the same own properties in the same order (stack, then code and message),
// `constructor` answering the base class, toString() and the stack's first line reading
// "TypeError [ERR_X]: message", and messages built by the same rules, word for word.
// Knows nothing of shmbuf itself.
'use strict';

const { format, inspect } = require('util');

// The type names ERR_INVALID_ARG_TYPE lists as "of type ...", in Node's order.
const kTypes = ['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean',
  'bigint', 'symbol'];
const classRegExp = /^[A-Z][a-zA-Z0-9]*$/;

// 'A', 'A or B', 'A, B, or C'.
function formatList(items, conjunction) {
  if (items.length <= 2)
    return items.join(` ${conjunction} `);
  return `${items.slice(0, -1).join(', ')}, ${conjunction} ${items[items.length - 1]}`;
}

// What a received value is, as ERR_INVALID_ARG_TYPE says it.
function describeReceived(value) {
  if (value === null || value === undefined)
    return String(value);
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'number':
      if (value === 0)
        return Object.is(value, -0) ? 'type number (-0)' : 'type number (0)';
      return `type number (${value})`;
    case 'boolean':
      return `type boolean (${value})`;
    case 'symbol':
      return `type symbol (${String(value)})`;
    case 'function':
      return `function ${value.name}`;
    case 'object':
      if (value.constructor && 'name' in value.constructor)
        return `an instance of ${value.constructor.name}`;
      return inspect(value, { depth: -1 });
    case 'string': {
      const shown = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return shown.includes("'") ? `type string (${JSON.stringify(shown)})` :
        `type string ('${shown}')`;
    }
    default: {
      const shown = inspect(value, { colors: false });
      return `type ${typeof value} (${shown.length > 28 ? `${shown.slice(0, 25)}...` : shown})`;
    }
  }
}

function invalidArgTypeMessage(name, expected, actual) {
  const wanted = Array.isArray(expected) ? expected : [expected];
  const types = [];
  const instances = [];
  const other = [];
  for (const value of wanted) {
    if (kTypes.includes(value))
      types.push(value.toLowerCase());
    else if (classRegExp.test(value))
      instances.push(value);
    else
      other.push(value);
  }
  // 'object' among instances is said as the instance 'Object'.
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  const parts = [];
  if (types.length > 0)
    parts.push(`${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types, 'or')}`);
  if (instances.length > 0)
    parts.push(`an instance of ${formatList(instances, 'or')}`);
  if (other.length > 1)
    parts.push(`one of ${formatList(other, 'or')}`);
  else if (other.length === 1)
    parts.push(`${other[0].toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`);
  const subject = name.endsWith(' argument') ? name :
    `"${name}" ${name.includes('.') ? 'property' : 'argument'}`;
  return `The ${subject} must be ${parts.join(' or ')}. Received ${describeReceived(actual)}`;
}

// 1_000_000 for integers (the only numbers Node separates).
function withSeparators(digits) {
  const start = digits[0] === '-' ? 1 : 0;
  let out = '';
  let end = digits.length;
  for (; end >= start + 4; end -= 3)
    out = `_${digits.slice(end - 3, end)}${out}`;
  return `${digits.slice(0, end)}${out}`;
}

function outOfRangeMessage(name, range, input) {
  let received;
  if (Number.isInteger(input) && Math.abs(input) > 2 ** 32)
    received = withSeparators(String(input));
  else if (typeof input === 'bigint')
    received = `${input > 2n ** 32n || input < -(2n ** 32n) ?
      withSeparators(String(input)) : String(input)}n`;
  else
    received = inspect(input);
  return `The value of "${name}" is out of range. It must be ${range}. Received ${received}`;
}

function invalidArgValueMessage(name, value, reason = 'is invalid') {
  let shown = inspect(value);
  if (shown.length > 128)
    shown = `${shown.slice(0, 128)}...`;
  return `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. ` +
    `Received ${shown}`;
}

// A class for `code`. A message template (format()) is passed to the base constructor, as
// Node does, so message comes before code; a message function runs after, so code comes first.
function errorClass(Base, code, message) {
  class NodeError extends Base {
    code = code;

    constructor(...args) {
      if (typeof message === 'string') {
        super(format(message, ...args));
      } else {
        super();
        Object.defineProperty(this, 'message', {
          value: message(...args), enumerable: false, writable: true, configurable: true,
        });
      }
      // Node writes the code into the stack's first line; the name is borrowed for as long
      // as V8 takes to format the stack, which it does on first access.
      Object.defineProperty(this, 'name', {
        value: `${Base.name} [${code}]`, enumerable: false, writable: true, configurable: true,
      });
      this.stack; // eslint-disable-line no-unused-expressions
      delete this.name;
    }

    get ['constructor']() {
      return Base;
    }

    toString() {
      return `${this.name} [${code}]: ${this.message}`;
    }
  }
  return NodeError;
}

module.exports = {
  ERR_INCOMPATIBLE_OPTION_PAIR: errorClass(TypeError, 'ERR_INCOMPATIBLE_OPTION_PAIR',
    'Option "%s" cannot be used in combination with option "%s"'),
  ERR_INVALID_ARG_TYPE: errorClass(TypeError, 'ERR_INVALID_ARG_TYPE', invalidArgTypeMessage),
  ERR_INVALID_ARG_VALUE: errorClass(TypeError, 'ERR_INVALID_ARG_VALUE', invalidArgValueMessage),
  ERR_OUT_OF_RANGE: errorClass(RangeError, 'ERR_OUT_OF_RANGE', outOfRangeMessage),
  ERR_UNKNOWN_ENCODING: errorClass(TypeError, 'ERR_UNKNOWN_ENCODING', 'Unknown encoding: %s'),
};
