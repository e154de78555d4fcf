/* SPDX-License-Identifier: MIT */
/* Node's Buffer facts that both ends must agree on: limits, the pool placement rules, and
 * the error codes and messages. Pure arithmetic and formatting; no I/O. */
#ifndef SB_NODE_H
#define SB_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

#define SB_MAX_LENGTH 4294967296ull /* buffer.constants.MAX_LENGTH, Node 20 on 64-bit */
#define SB_MAX_STRING_LENGTH 0x1fffffe8u /* buffer.constants.MAX_STRING_LENGTH */
#define SB_POOL_SIZE_DEFAULT 8192u  /* Buffer.poolSize */
#define SB_INSPECT_MAX_BYTES 50u    /* buffer.INSPECT_MAX_BYTES */
#define SB_POOL_ALIGN 8u
#define SB_UNSAFE_SLOW_ZEROED 64u /* allocUnsafeSlow: V8 keeps ArrayBuffers this small on its
                                  * heap, zeroed */

/* One connection's current pool, as lib/buffer.js keeps it (poolSize, poolOffset). */
typedef struct sb_pool {
  uint32_t size;
  uint32_t offset;
} sb_pool;

/* allocUnsafe(size), from(array|buffer) and concat take the pool iff 0 < size < poolSize >>> 1. */
static inline bool sb_pool_takes(uint64_t size, uint32_t pool_size) {
  return size > 0 && size < (pool_size >> 1);
}

/* True when `room` bytes do not fit in the rest of the pool, so a new one must start first
 * (Node: size > poolSize - poolOffset; an exact fit still fits). */
static inline bool sb_pool_full(const sb_pool *p, uint64_t room) {
  /* alignment can carry the offset past a pool size that is not a multiple of 8: JS then
   * compares with a negative rest, and anything is too big */
  return p->offset > p->size || room > (uint64_t)(p->size - p->offset);
}

/* Places `used` bytes at the pool offset and advances it to the next multiple of 8, as
 * alignPool() does. Returns the byte offset of the placement. */
static inline uint32_t sb_pool_take(sb_pool *p, uint32_t used) {
  uint32_t at = p->offset;
  p->offset = (uint32_t)((p->offset + used + SB_POOL_ALIGN - 1) & ~(uint64_t)(SB_POOL_ALIGN - 1));
  return at;
}

/* How Buffer.from(string, enc) allocates (fromStringFast / createFromString): whether it
 * takes the pool, and the room it asks for, which is an estimate (units * 4 while that is
 * under poolSize >>> 1) for pooled strings and the exact byteLength() otherwise. Unpooled,
 * `room` is also the backing ArrayBuffer's byteLength. */
typedef struct sb_from_string_plan {
  bool pooled;
  uint64_t room;
} sb_from_string_plan;

sb_from_string_plan sb_from_string_plan_for(sb_str s, sb_enc enc, uint32_t pool_size);

/* ---- errors ------------------------------------------------------------------------------ */

#define SB_ERR_MESSAGE_INLINE 512

/* A failure as Node would report it: code (static string), message (valid UTF-8, whole: Node
 * does not cut its messages either), and a negative errno. A message longer than the inline
 * room is allocated: give it back with sb_error_release() before the error is built again or
 * forgotten. Do not copy an sb_error. */
typedef struct sb_error {
  int errnum;
  const char *code;
  char *message;
  char inline_message[SB_ERR_MESSAGE_INLINE];
} sb_error;

/* Frees an allocated message (the error reads as having none afterwards). An sb_error that
 * was never built must be zeroed first. */
void sb_error_release(sb_error *e);

/* Each builder fills *e and returns e->errnum, so `return sb_err_...(e, ...)` reads well. */

/* ERR_OUT_OF_RANGE, -ERANGE: The value of "<name>" is out of range. It must be <range>.
 * Received <value as Node prints it>. */
int sb_err_range(sb_error *e, const char *name, const char *range, double received);

/* ERR_OUT_OF_RANGE for a size argument: range ">= 0 && <= 4294967296". */
int sb_err_size(sb_error *e, double received);

/* ERR_UNKNOWN_ENCODING, -EINVAL: Unknown encoding: <name>, the name as UTF-8 whatever its
 * length (a name that is not well-formed UTF-8 shows U+FFFD for each maximal invalid subpart,
 * as the JS string it stands for would). */
int sb_err_encoding(sb_error *e, const char *name, size_t len);

/* ERR_INVALID_ARG_VALUE, -EINVAL: The argument '<name>' is invalid. Received <shown>.
 * `shown` is already in Node's inspect() form. */
int sb_err_arg_value(sb_error *e, int errnum, const char *name, const char *shown);

/* ERR_INVALID_ARG_VALUE for a fill string that encodes to no bytes: Received '<string>'. */
int sb_err_fill_value(sb_error *e, sb_str value);

/* ERR_BUFFER_OUT_OF_BOUNDS, -ERANGE: "<name>" is outside of buffer bounds, or
 * Attempt to access memory outside buffer bounds when name is NULL. */
int sb_err_bounds(sb_error *e, const char *name);

/* ERR_INVALID_ARG_TYPE, -EINVAL, for a number argument left undefined (the one shape a C
 * caller can reach): The "<name>" argument must be of type number. Received undefined */
int sb_err_arg_type(sb_error *e, const char *name);

/* ERR_INVALID_BUFFER_SIZE, -EINVAL: Buffer size must be a multiple of <bits>-bits */
int sb_err_buffer_size(sb_error *e, unsigned bits);

/* ERR_STRING_TOO_LONG, -ERANGE: a string of more than SB_MAX_STRING_LENGTH UTF-16 units. */
int sb_err_string_too_long(sb_error *e);

/* What buffer.transcode() throws: an Error whose code is ICU's name for the failure (a static
 * string such as "U_INVALID_CHAR_FOUND"), with the message Unable to transcode Buffer [<code>]. */
int sb_err_transcode(sb_error *e, int errnum, const char *icu_code);

/* Any other code with a printf-style message. */
int sb_err_set(sb_error *e, int errnum, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes a JS number the way util.inspect() prints it inside an ERR_OUT_OF_RANGE message
 * (integers above 2 ** 32 get "_" separators). Returns the length. out holds >= 40 bytes. */
size_t sb_js_number(double v, bool separators, char *out);


#endif
