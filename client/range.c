/* SPDX-License-Identifier: MIT */
/* libshmbuf: byte ranges between and within buffers: buf.copy(), buf.compare() with ranges,
 * buf.swap16/32/64(). Touches only the bytes of the buffers it is given. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "node.h"
#include "shmbuf.h"

static int range_error(const char *name, const char *range, int64_t received) {
  sb_error e;
  return errors_fail_node((sb_err_range(&e, name, range, (double)received), &e));
}

/* ">= 0 && <= N" */
static const char *up_to(char *range, size_t cap, int64_t n) {
  snprintf(range, cap, ">= 0 && <= %" PRId64, n);
  return range;
}

/* _copy() and _copyActual(): the checks, then what fits of the source range at targetStart.
 * TypedArray.prototype.set() copies as memmove does when both share an ArrayBuffer. */
int64_t shmbuf_copy(const shmbuf_buf *source, shmbuf_buf *target, int64_t target_start,
                    int64_t source_start, int64_t source_end) {
  int64_t source_len = (int64_t)shmbuf_length(source), target_len = (int64_t)shmbuf_length(target);
  char range[48];
  if (target_start == SHMBUF_UNDEFINED)
    target_start = 0;
  else if (target_start < 0)
    return range_error("targetStart", ">= 0", target_start);
  if (source_start == SHMBUF_UNDEFINED)
    source_start = 0;
  else if (source_start < 0 || source_start > source_len)
    return range_error("sourceStart", up_to(range, sizeof range, source_len), source_start);
  if (source_end == SHMBUF_UNDEFINED)
    source_end = source_len;
  else if (source_end < 0)
    return range_error("sourceEnd", ">= 0", source_end);
  if (target_start >= target_len || source_start >= source_end)
    return 0;
  int64_t n = source_end - source_start;
  if (n > target_len - target_start)
    n = target_len - target_start;
  if (n > source_len - source_start)
    n = source_len - source_start;
  int rc = n > 0 ? errors_read_only(target) : 0;
  if (rc < 0)
    return rc;
  if (n > 0) /* n is 0 when source_start is source.length */
    memmove(shmbuf_data(target) + target_start, shmbuf_data(source) + source_start, (size_t)n);
  return n;
}

/* validateOffset(value, name, 0, max) with undefined meaning `absent`. */
static int offset_arg(int64_t *value, const char *name, int64_t max, int64_t absent) {
  char range[48];
  if (*value == SHMBUF_UNDEFINED)
    *value = absent;
  else if (*value < 0 || *value > max)
    return range_error(name, up_to(range, sizeof range, max), *value);
  return 0;
}

/* Buffer.prototype.compare(): the four offsets in Node's order, the empty ranges, then
 * compareOffset(), which orders by the common bytes and then by the lengths of the ranges. */
int shmbuf_compare_range(const shmbuf_buf *source, const shmbuf_buf *target, int64_t target_start,
                         int64_t target_end, int64_t source_start, int64_t source_end,
                         int *order) {
  int64_t source_len = (int64_t)shmbuf_length(source), target_len = (int64_t)shmbuf_length(target);
  int rc;
  if ((rc = offset_arg(&target_start, "targetStart", (int64_t)SB_MAX_LENGTH, 0)) < 0 ||
      (rc = offset_arg(&target_end, "targetEnd", target_len, target_len)) < 0 ||
      (rc = offset_arg(&source_start, "sourceStart", (int64_t)SB_MAX_LENGTH, 0)) < 0 ||
      (rc = offset_arg(&source_end, "sourceEnd", source_len, source_len)) < 0)
    return rc;
  if (source_start >= source_end) {
    *order = target_start >= target_end ? 0 : -1;
    return 0;
  }
  if (target_start >= target_end) {
    *order = 1;
    return 0;
  }
  /* both starts are below their ends, so within their buffers */
  int64_t sn = source_end - source_start, tn = target_end - target_start;
  int c = memcmp(shmbuf_data(source) + source_start, shmbuf_data(target) + target_start,
                 (size_t)(sn < tn ? sn : tn));
  *order = c != 0 ? (c < 0 ? -1 : 1) : (sn > tn) - (sn < tn);
  return 0;
}

/* Reverses every `unit` bytes in place; the length must be a multiple of it. */
static int swap(shmbuf_buf *buf, size_t unit) {
  size_t len = shmbuf_length(buf);
  uint8_t *p = shmbuf_data(buf);
  if (len % unit != 0) {
    sb_error e;
    return errors_fail_node((sb_err_buffer_size(&e, (unsigned)(8 * unit)), &e));
  }
  int rc = len ? errors_read_only(buf) : 0;
  if (rc < 0)
    return rc;
  for (size_t at = 0; at < len; at += unit)
    for (size_t i = 0; i < unit / 2; i++) {
      uint8_t t = p[at + i];
      p[at + i] = p[at + unit - 1 - i];
      p[at + unit - 1 - i] = t;
    }
  return 0;
}

int shmbuf_swap16(shmbuf_buf *buf) { return swap(buf, 2); }
int shmbuf_swap32(shmbuf_buf *buf) { return swap(buf, 4); }
int shmbuf_swap64(shmbuf_buf *buf) { return swap(buf, 8); }
