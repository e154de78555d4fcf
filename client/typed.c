/* SPDX-License-Identifier: MIT */
/* libshmbuf: buf.readUInt8() ... buf.writeBigUInt64BE(), the typed reads and writes of Node's
 * lib/internal/buffer.js with their checks, messages and byte-level results. Touches only the
 * bytes of the buffer it is given. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "node.h"
#include "shmbuf.h"

#define MAX_VAR_SIZE 6 /* readUIntLE() and friends take byteLength 1 to 6 */

/* `offset = 0`: the fixed-size methods' default. */
static int64_t or_zero(int64_t offset) { return offset == SHMBUF_UNDEFINED ? 0 : offset; }

/* checkBounds() and boundsError(): `size` bytes at an integer offset. */
static int bounds(const shmbuf_buf *buf, int64_t offset, size_t size) {
  int64_t last = (int64_t)shmbuf_length(buf) - (int64_t)size;
  sb_error e;
  if (offset >= 0 && offset <= last)
    return 0;
  if (last < 0)
    return errors_fail_node((sb_err_bounds(&e, NULL), &e));
  char range[48];
  snprintf(range, sizeof range, ">= 0 and <= %" PRId64, last);
  return errors_fail_node((sb_err_range(&e, "offset", range, (double)offset), &e));
}

/* boundsError(byteLength, 6, 'byteLength') for a byteLength outside 1 .. 6. */
static int byte_length_error(int64_t byte_length) {
  sb_error e;
  if (byte_length == SHMBUF_UNDEFINED)
    return errors_fail_node((sb_err_arg_type(&e, "byteLength"), &e));
  return errors_fail_node((sb_err_range(&e, "byteLength", ">= 1 and <= 6", (double)byte_length), &e));
}

static bool var_size(int64_t byte_length) {
  return byte_length >= 1 && byte_length <= MAX_VAR_SIZE;
}

static uint64_t load(const uint8_t *p, size_t size, bool big) {
  uint64_t v = 0;
  for (size_t i = 0; i < size; i++)
    v |= (uint64_t)p[big ? i : size - 1 - i] << (8 * (size - 1 - i));
  return v;
}

static void store(uint8_t *p, uint64_t v, size_t size, bool big) {
  for (size_t i = 0; i < size; i++)
    p[big ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
}

static int64_t sign_extend(uint64_t v, size_t size) {
  uint64_t sign = 1ull << (8 * size - 1);
  return (int64_t)((v ^ sign) - sign);
}

/* ---- reads ----------------------------------------------------------------------------------- */

static int read_at(const shmbuf_buf *buf, int64_t offset, size_t size, bool big, uint64_t *v) {
  int rc = bounds(buf, offset, size);
  if (rc == 0)
    *v = load(shmbuf_data(buf) + offset, size, big);
  return rc;
}

/* readUIntLE(offset, byteLength) and friends: offset is required, then byteLength is. */
static int read_var(const shmbuf_buf *buf, int64_t offset, int64_t byte_length, bool big,
                    uint64_t *v) {
  sb_error e;
  if (offset == SHMBUF_UNDEFINED)
    return errors_fail_node((sb_err_arg_type(&e, "offset"), &e));
  if (!var_size(byte_length))
    return byte_length_error(byte_length);
  return read_at(buf, offset, (size_t)byte_length, big, v);
}

#define READ_UNSIGNED(name, type, size, big)                                                 \
  int shmbuf_read_##name(const shmbuf_buf *buf, int64_t offset, type *out) {                 \
    uint64_t v;                                                                              \
    int rc = read_at(buf, or_zero(offset), size, big, &v);                                   \
    if (rc == 0)                                                                             \
      *out = (type)v;                                                                        \
    return rc;                                                                               \
  }

#define READ_SIGNED(name, type, size, big)                                                   \
  int shmbuf_read_##name(const shmbuf_buf *buf, int64_t offset, type *out) {                 \
    uint64_t v;                                                                              \
    int rc = read_at(buf, or_zero(offset), size, big, &v);                                   \
    if (rc == 0)                                                                             \
      *out = (type)sign_extend(v, size);                                                     \
    return rc;                                                                               \
  }

READ_UNSIGNED(uint8, uint8_t, 1, false)
READ_SIGNED(int8, int8_t, 1, false)
READ_UNSIGNED(uint16_le, uint16_t, 2, false)
READ_UNSIGNED(uint16_be, uint16_t, 2, true)
READ_SIGNED(int16_le, int16_t, 2, false)
READ_SIGNED(int16_be, int16_t, 2, true)
READ_UNSIGNED(uint32_le, uint32_t, 4, false)
READ_UNSIGNED(uint32_be, uint32_t, 4, true)
READ_SIGNED(int32_le, int32_t, 4, false)
READ_SIGNED(int32_be, int32_t, 4, true)
READ_SIGNED(big_int64_le, int64_t, 8, false)
READ_SIGNED(big_int64_be, int64_t, 8, true)
READ_UNSIGNED(big_uint64_le, uint64_t, 8, false)
READ_UNSIGNED(big_uint64_be, uint64_t, 8, true)

int shmbuf_read_uint_le(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                        uint64_t *out) {
  return read_var(buf, offset, byte_length, false, out);
}

int shmbuf_read_uint_be(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                        uint64_t *out) {
  return read_var(buf, offset, byte_length, true, out);
}

static int read_signed(const shmbuf_buf *buf, int64_t offset, int64_t byte_length, bool big,
                       int64_t *out) {
  uint64_t v;
  int rc = read_var(buf, offset, byte_length, big, &v);
  if (rc == 0)
    *out = sign_extend(v, (size_t)byte_length);
  return rc;
}

int shmbuf_read_int_le(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                       int64_t *out) {
  return read_signed(buf, offset, byte_length, false, out);
}

int shmbuf_read_int_be(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                       int64_t *out) {
  return read_signed(buf, offset, byte_length, true, out);
}

static int read_float(const shmbuf_buf *buf, int64_t offset, bool big, float *out) {
  uint64_t v;
  int rc = read_at(buf, or_zero(offset), sizeof *out, big, &v);
  uint32_t bits = (uint32_t)v;
  if (rc == 0)
    memcpy(out, &bits, sizeof *out);
  return rc;
}

int shmbuf_read_float_le(const shmbuf_buf *buf, int64_t offset, float *out) {
  return read_float(buf, offset, false, out);
}

int shmbuf_read_float_be(const shmbuf_buf *buf, int64_t offset, float *out) {
  return read_float(buf, offset, true, out);
}

static int read_double(const shmbuf_buf *buf, int64_t offset, bool big, double *out) {
  uint64_t v;
  int rc = read_at(buf, or_zero(offset), sizeof *out, big, &v);
  if (rc == 0)
    memcpy(out, &v, sizeof *out);
  return rc;
}

int shmbuf_read_double_le(const shmbuf_buf *buf, int64_t offset, double *out) {
  return read_double(buf, offset, false, out);
}

int shmbuf_read_double_be(const shmbuf_buf *buf, int64_t offset, double *out) {
  return read_double(buf, offset, true, out);
}

/* ---- writes ---------------------------------------------------------------------------------- */

static int64_t write_at(shmbuf_buf *buf, uint64_t bits, int64_t offset, size_t size, bool big) {
  int rc = bounds(buf, offset, size);
  if (rc < 0 || (rc = errors_read_only(buf)) < 0)
    return rc;
  store(shmbuf_data(buf) + offset, bits, size, big);
  return offset + (int64_t)size;
}

/* ToUint32(), which `value >>> 8` applies before each byte store (and the store itself
 * applies ToUint8, the same low byte). */
static uint32_t to_uint32(double v) {
  if (!isfinite(v))
    return 0;
  double m = fmod(trunc(v), 4294967296.0);
  return (uint32_t)(m < 0 ? m + 4294967296.0 : m);
}

/* checkInt()'s message: "<= max" up to 4 bytes, "< 2 ** bits" beyond. */
static int value_error(double value, size_t size, bool sign) {
  char range[64];
  unsigned bits = (unsigned)(8 * size);
  sb_error e;
  if (size > 4 && sign)
    snprintf(range, sizeof range, ">= -(2 ** %u) and < 2 ** %u", bits - 1, bits - 1);
  else if (size > 4)
    snprintf(range, sizeof range, ">= 0 and < 2 ** %u", bits);
  else if (sign)
    snprintf(range, sizeof range, ">= %" PRId64 " and <= %" PRId64, -(INT64_C(1) << (bits - 1)),
             (INT64_C(1) << (bits - 1)) - 1);
  else
    snprintf(range, sizeof range, ">= 0 and <= %" PRId64, (INT64_C(1) << bits) - 1);
  return errors_fail_node((sb_err_range(&e, "value", range, value), &e));
}

/* writeU_Int8() .. writeU_Int48LE/BE(): the value's range (NaN passes it), then the offset,
 * except that one-byte writes look at whether an offset was given first. The low four bytes
 * are ToUint32(value)'s; bytes 5 and 6 Math.floor(value * 2 ** -32)'s. */
static int64_t write_int(shmbuf_buf *buf, double value, int64_t offset, size_t size, bool sign,
                         bool big) {
  double max = ldexp(1.0, (int)(8 * size - sign)) - 1, min = sign ? -max - 1 : 0;
  sb_error e;
  if (size == 1 && offset == SHMBUF_UNDEFINED)
    return errors_fail_node((sb_err_arg_type(&e, "offset"), &e));
  if (value > max || value < min)
    return value_error(value, size, sign);
  if (offset == SHMBUF_UNDEFINED)
    return errors_fail_node((sb_err_arg_type(&e, "offset"), &e));
  uint64_t bits = to_uint32(value) | (uint64_t)to_uint32(floor(value / 4294967296.0)) << 32;
  return write_at(buf, bits, offset, size, big);
}

static int64_t write_var(shmbuf_buf *buf, double value, int64_t offset, int64_t byte_length,
                         bool sign, bool big) {
  if (!var_size(byte_length))
    return byte_length_error(byte_length);
  return write_int(buf, value, offset, (size_t)byte_length, sign, big);
}

#define WRITE_INT(name, size, sign, big)                                                     \
  int64_t shmbuf_write_##name(shmbuf_buf *buf, double value, int64_t offset) {               \
    return write_int(buf, value, or_zero(offset), size, sign, big);                          \
  }

WRITE_INT(uint8, 1, false, false)
WRITE_INT(int8, 1, true, false)
WRITE_INT(uint16_le, 2, false, false)
WRITE_INT(uint16_be, 2, false, true)
WRITE_INT(int16_le, 2, true, false)
WRITE_INT(int16_be, 2, true, true)
WRITE_INT(uint32_le, 4, false, false)
WRITE_INT(uint32_be, 4, false, true)
WRITE_INT(int32_le, 4, true, false)
WRITE_INT(int32_be, 4, true, true)

int64_t shmbuf_write_uint_le(shmbuf_buf *buf, double value, int64_t offset,
                             int64_t byte_length) {
  return write_var(buf, value, offset, byte_length, false, false);
}

int64_t shmbuf_write_uint_be(shmbuf_buf *buf, double value, int64_t offset,
                             int64_t byte_length) {
  return write_var(buf, value, offset, byte_length, false, true);
}

int64_t shmbuf_write_int_le(shmbuf_buf *buf, double value, int64_t offset, int64_t byte_length) {
  return write_var(buf, value, offset, byte_length, true, false);
}

int64_t shmbuf_write_int_be(shmbuf_buf *buf, double value, int64_t offset, int64_t byte_length) {
  return write_var(buf, value, offset, byte_length, true, true);
}

/* Float32Array's store rounds to the nearest float32, overflowing to an infinity (IEEE 754,
 * which C's conversion follows here), and keeps a NaN's sign; Float64Array's keeps the bits. */
static uint32_t float_bits(double value) {
  float f = (float)value;
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

static uint64_t double_bits(double value) {
  uint64_t bits;
  memcpy(&bits, &value, sizeof bits);
  return bits;
}

int64_t shmbuf_write_float_le(shmbuf_buf *buf, double value, int64_t offset) {
  return write_at(buf, float_bits(value), or_zero(offset), sizeof(float), false);
}

int64_t shmbuf_write_float_be(shmbuf_buf *buf, double value, int64_t offset) {
  return write_at(buf, float_bits(value), or_zero(offset), sizeof(float), true);
}

int64_t shmbuf_write_double_le(shmbuf_buf *buf, double value, int64_t offset) {
  return write_at(buf, double_bits(value), or_zero(offset), sizeof(double), false);
}

int64_t shmbuf_write_double_be(shmbuf_buf *buf, double value, int64_t offset) {
  return write_at(buf, double_bits(value), or_zero(offset), sizeof(double), true);
}

int64_t shmbuf_write_big_int64_le(shmbuf_buf *buf, int64_t value, int64_t offset) {
  return write_at(buf, (uint64_t)value, or_zero(offset), sizeof value, false);
}

int64_t shmbuf_write_big_int64_be(shmbuf_buf *buf, int64_t value, int64_t offset) {
  return write_at(buf, (uint64_t)value, or_zero(offset), sizeof value, true);
}

int64_t shmbuf_write_big_uint64_le(shmbuf_buf *buf, uint64_t value, int64_t offset) {
  return write_at(buf, value, or_zero(offset), sizeof value, false);
}

int64_t shmbuf_write_big_uint64_be(shmbuf_buf *buf, uint64_t value, int64_t offset) {
  return write_at(buf, value, or_zero(offset), sizeof value, true);
}
