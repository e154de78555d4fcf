// SPDX-License-Identifier: MIT
// The argument checks lib/buffer.js makes (Node's internal/validators), with its errors.
'use strict';

const { ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE } = require('./errors');

// A number in [min, max] (not NaN); fractions pass.
function validateNumber(value, name, min, max) {
  if (typeof value !== 'number')
    throw new ERR_INVALID_ARG_TYPE(name, 'number', value);
  if (!(value >= min && value <= max))
    throw new ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
}

// An integer in [min, max].
function validateInteger(value, name, min, max) {
  if (typeof value !== 'number')
    throw new ERR_INVALID_ARG_TYPE(name, 'number', value);
  if (!Number.isInteger(value))
    throw new ERR_OUT_OF_RANGE(name, 'an integer', value);
  if (value < min || value > max)
    throw new ERR_OUT_OF_RANGE(name, `>= ${min} && <= ${max}`, value);
}

function validateArray(value, name) {
  if (!Array.isArray(value))
    throw new ERR_INVALID_ARG_TYPE(name, 'Array', value);
}

function validateBoolean(value, name) {
  if (typeof value !== 'boolean')
    throw new ERR_INVALID_ARG_TYPE(name, 'boolean', value);
}

function validateString(value, name) {
  if (typeof value !== 'string')
    throw new ERR_INVALID_ARG_TYPE(name, 'string', value);
}

// A plain object: not null, not an array (Node's validateObject() without its options).
function validateObject(value, name) {
  if (value === null || Array.isArray(value) || typeof value !== 'object')
    throw new ERR_INVALID_ARG_TYPE(name, 'Object', value);
}

module.exports = {
  validateArray,
  validateBoolean,
  validateInteger,
  validateNumber,
  validateObject,
  validateString,
};
