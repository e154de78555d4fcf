/* SPDX-License-Identifier: MIT */
/* libshmbuf: views on buffers that already exist — Buffer.from(arrayBuffer), subarray, what a
 * view says about itself, compare and equals, and fill. Pure memory work on mapped bytes: no
 * request, no round trip. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "codec.h"
#include "errors.h"

/* ---- views ----------------------------------------------------------------------------------- */

static int view_of(const shmbuf_buf *src, size_t byte_offset, size_t length, shmbuf_buf **out) {
  uint8_t *data = src->bk->ab ? src->bk->ab + byte_offset : NULL;
  shmbuf_buf *b = handle_view(&src->c->handles, src->c, src->bk, data, length, byte_offset);
  if (b == NULL)
    return -ENOMEM;
  *out = b;
  return 0;
}

int shmbuf_from_arraybuffer(const shmbuf_buf *src, int64_t byte_offset, int64_t length,
                            shmbuf_buf **out) {
  int64_t ab_length = (int64_t)src->bk->ab_length;
  if (byte_offset == SHMBUF_UNDEFINED)
    byte_offset = 0;
  /* maxLength; past INT64_MAX it is as good as infinite */
  int64_t max = byte_offset < ab_length - INT64_MAX ? INT64_MAX : ab_length - byte_offset;
  sb_error e;
  if (max < 0)
    return errors_fail_node((sb_err_bounds(&e, "offset"), &e));
  if (length == SHMBUF_UNDEFINED)
    length = max;
  else if (length > max)
    return errors_fail_node((sb_err_bounds(&e, "length"), &e));
  else if (length < 0)
    length = 0;
  /* fromArrayBuffer() checks the above itself; a negative offset is left to the typed array
   * constructor, whose RangeError has no code */
  if (byte_offset < 0) {
    char num[64];
    sb_js_number((double)byte_offset, false, num);
    return errors_fail(-ERANGE, "RangeError", "Start offset %s is outside the bounds of the buffer",
                   num);
  }
  return view_of(src, (size_t)byte_offset, (size_t)length, out);
}

/* Node's adjustOffset(): negative counts from the end, then clamp to [0, length]. */
static size_t adjust(int64_t at, size_t length, size_t absent) {
  if (at == SHMBUF_UNDEFINED)
    return absent;
  if (at < 0)
    return (uint64_t)-at >= length ? 0 : length - (size_t)-at;
  return (uint64_t)at < length ? (size_t)at : length;
}

int shmbuf_subarray(const shmbuf_buf *buf, int64_t start, int64_t end, shmbuf_buf **out) {
  size_t s = adjust(start, buf->length, 0), e = adjust(end, buf->length, buf->length);
  return view_of(buf, buf->byte_offset + s, e > s ? e - s : 0, out);
}

uint8_t *shmbuf_data(const shmbuf_buf *b) { return b->data; }
size_t shmbuf_length(const shmbuf_buf *b) { return b->length; }
size_t shmbuf_byte_offset(const shmbuf_buf *b) { return b->byte_offset; }
size_t shmbuf_buffer_byte_length(const shmbuf_buf *b) { return b->bk->ab_length; }
int shmbuf_is_pooled(const shmbuf_buf *b) { return b->bk->pooled; }

uint64_t shmbuf_arraybuffer_id(const shmbuf_buf *b) { return b->bk->ab_key; }

int shmbuf_compare(const shmbuf_buf *a, const shmbuf_buf *b) {
  size_t n = a->length < b->length ? a->length : b->length;
  int r = n ? memcmp(a->data, b->data, n) : 0;
  if (r == 0)
    return a->length < b->length ? -1 : a->length > b->length;
  return r < 0 ? -1 : 1;
}

int shmbuf_equals(const shmbuf_buf *a, const shmbuf_buf *b) {
  return a->length == b->length && (a->length == 0 || memcmp(a->data, b->data, a->length) == 0);
}

/* ---- fill ------------------------------------------------------------------------------------ */

/* _fill()'s range checks: offset in [0, kMaxLength], end in [0, length]; an empty range is
 * a no-op. Returns 1 to fill, 0 for nothing to do, or a negative errno. */
static int fill_range(const shmbuf_buf *b, int64_t *offset, int64_t *end) {
  sb_error e;
  if (*offset == SHMBUF_UNDEFINED) {
    *offset = 0;
    *end = (int64_t)b->length;
  } else {
    if (*offset < 0 || (uint64_t)*offset > SB_MAX_LENGTH)
      return errors_fail_node((sb_err_range(&e, "offset", ">= 0 && <= 4294967296", (double)*offset),
                          &e));
    if (*end == SHMBUF_UNDEFINED)
      *end = (int64_t)b->length;
    else if (*end < 0 || (uint64_t)*end > b->length) {
      char range[64];
      snprintf(range, sizeof range, ">= 0 && <= %zu", b->length);
      return errors_fail_node((sb_err_range(&e, "end", range, (double)*end), &e));
    }
  }
  if (*offset >= *end)
    return 0;
  int rc = errors_read_only(b);
  return rc < 0 ? rc : 1;
}

/* Repeats the pattern over [dst, dst + len), doubling what is already written. */
static void repeat(uint8_t *dst, size_t len, const uint8_t *pat, size_t n) {
  if (n == 1) {
    memset(dst, pat[0], len);
    return;
  }
  size_t done = n < len ? n : len;
  memcpy(dst, pat, done);
  while (done < len) {
    size_t l = done < len - done ? done : len - done;
    memcpy(dst + done, dst, l);
    done += l;
  }
}

int shmbuf_fill_number(shmbuf_buf *b, double value, int64_t offset, int64_t end) {
  int rc = fill_range(b, &offset, &end);
  if (rc > 0)
    memset(b->data + offset, sb_to_uint8(value), (size_t)(end - offset));
  return rc < 0 ? rc : 0;
}

int shmbuf_fill_bytes(shmbuf_buf *b, const void *value, size_t len, int64_t offset, int64_t end) {
  int rc = fill_range(b, &offset, &end);
  if (rc <= 0)
    return rc;
  if (len == 0) {
    sb_error e;
    return errors_fail_node((sb_err_arg_value(&e, -EINVAL, "value", "<Buffer >"), &e));
  }
  repeat(b->data + offset, (size_t)(end - offset), value, len);
  return 0;
}

int shmbuf_fill_string(shmbuf_buf *b, const char *value, size_t len, int64_t offset, int64_t end,
                       const char *encoding) {
  sb_enc enc = SB_ENC_UTF8;
  sb_error e;
  len = client_cstr_len(value, len);
  if (encoding && encoding[0] && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    return errors_fail_node((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  int rc = fill_range(b, &offset, &end);
  if (rc <= 0)
    return rc;
  sb_str s = sb_str_utf8(value, len);
  size_t n = sb_byte_length(s, enc);
  if (sb_str_units(s) == 0) /* Node fills with zeros */
    return shmbuf_fill_number(b, 0, offset, end);
  uint8_t *pat = malloc(n ? n : 1);
  if (pat == NULL)
    return errors_no_memory();
  n = sb_encode(s, enc, pat, n);
  if (n == 0)
    rc = errors_fail_node((sb_err_fill_value(&e, s), &e));
  else
    repeat(b->data + offset, (size_t)(end - offset), pat, n);
  free(pat);
  return rc < 0 ? rc : 0;
}
