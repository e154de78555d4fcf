/* SPDX-License-Identifier: MIT */
/* libshmbuf: making buffers, views on them, and the byte-level operations Node offers. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conn.h"

static size_t cstr_len(const char *s, size_t len) { return len == SHMBUF_CSTR ? strlen(s) : len; }

/* A request carrying one size: alloc(size), allocUnsafe(size) or allocUnsafeSlow(size). */
typedef struct sized_request {
  Shmbufwire__Request q;
  Shmbufwire__Size size;
  Shmbufwire__Alloc alloc;
} sized_request;

static Shmbufwire__Request *sized_request_of(sized_request *r, Shmbufwire__Request__OpCase op,
                                             int64_t size) {
  shmbufwire__request__init(&r->q);
  shmbufwire__size__init(&r->size);
  shmbufwire__alloc__init(&r->alloc);
  r->size.size = r->alloc.size = size;
  r->q.op_case = op;
  if (op == SHMBUFWIRE__REQUEST__OP_ALLOC)
    r->q.alloc = &r->alloc;
  else if (op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE)
    r->q.alloc_unsafe = &r->size;
  else
    r->q.alloc_unsafe_slow = &r->size;
  return &r->q;
}

static int sized(shmbuf_client *c, Shmbufwire__Request__OpCase op, int64_t size,
                 shmbuf_buf **out) {
  sized_request r;
  return cl_make(c, sized_request_of(&r, op, size), out);
}

static int alloc_with(shmbuf_client *c, int64_t size, Shmbufwire__Fill *fill, shmbuf_buf **out) {
  Shmbufwire__Request q;
  Shmbufwire__Alloc a;
  shmbufwire__request__init(&q);
  shmbufwire__alloc__init(&a);
  a.size = size;
  a.fill = fill;
  q.op_case = SHMBUFWIRE__REQUEST__OP_ALLOC;
  q.alloc = &a;
  return cl_make(c, &q, out);
}

/* By default the library makes what it can itself (see local.c); SHMBUF_THIN sends every
 * request to the daemon. */
static bool local(const shmbuf_client *c) { return !(c->flags & SHMBUF_THIN); }

static bool valid_size(int64_t size) { return size >= 0 && (uint64_t)size <= SB_MAX_LENGTH; }

static int size_error(int64_t size) {
  sb_error e;
  return cl_fail_err((sb_err_size(&e, (double)size), &e));
}

/* A dedicated, uninitialised ArrayBuffer of `size` > 0 bytes: a released one of that size,
 * or a new one from the daemon. */
static int dedicated(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  shmbuf_buf *b = (uint64_t)size >= CL_CACHE_MIN ? cl_cache_take(c, (uint64_t)size) : NULL;
  if (b == NULL)
    return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, out);
  *out = b;
  return 0;
}

int shmbuf_alloc(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  if (local(c) && size == 0)
    return cl_empty(c, out);
  if (local(c) && valid_size(size) && (uint64_t)size >= CL_CACHE_MIN) {
    shmbuf_buf *b = cl_cache_take(c, (uint64_t)size);
    if (b) {
      memset(b->data, 0, (size_t)size);
      *out = b;
      return 0;
    }
  }
  return alloc_with(c, size, NULL, out);
}

int shmbuf_alloc_fill_string(shmbuf_client *c, int64_t size, const char *fill, size_t len,
                             const char *encoding, shmbuf_buf **out) {
  Shmbufwire__Fill f;
  shmbufwire__fill__init(&f);
  f.value_case = SHMBUFWIRE__FILL__VALUE_UTF8;
  f.utf8.data = (uint8_t *)fill;
  f.utf8.len = cstr_len(fill, len);
  f.encoding = (char *)(encoding ? encoding : "");
  return alloc_with(c, size, &f, out);
}

int shmbuf_alloc_fill_bytes(shmbuf_client *c, int64_t size, const void *fill, size_t len,
                            shmbuf_buf **out) {
  Shmbufwire__Fill f;
  shmbufwire__fill__init(&f);
  f.value_case = SHMBUFWIRE__FILL__VALUE_BYTES;
  f.bytes.data = (uint8_t *)fill;
  f.bytes.len = len;
  return alloc_with(c, size, &f, out);
}

int shmbuf_alloc_fill_number(shmbuf_client *c, int64_t size, double fill, shmbuf_buf **out) {
  Shmbufwire__Fill f;
  shmbufwire__fill__init(&f);
  f.value_case = SHMBUFWIRE__FILL__VALUE_NUMBER;
  f.number = fill;
  return alloc_with(c, size, &f, out);
}

int shmbuf_alloc_unsafe(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  if (!local(c))
    return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, size, out);
  if (!valid_size(size))
    return size_error(size);
  if (size == 0)
    return cl_empty(c, out);
  if (!sb_pool_takes((uint64_t)size, c->pool_size))
    return dedicated(c, size, out);
  uint8_t *at;
  int rc = cl_pool_room(c, (uint64_t)size, &at);
  return rc < 0 ? rc : cl_pool_commit(c, (uint64_t)size, out);
}

int shmbuf_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  if (!local(c))
    return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, out);
  if (!valid_size(size))
    return size_error(size);
  return size == 0 ? cl_empty(c, out) : dedicated(c, size, out);
}

static int from_with(shmbuf_client *c, Shmbufwire__From *f, shmbuf_buf **out) {
  Shmbufwire__Request q;
  shmbufwire__request__init(&q);
  q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  q.from = f;
  return cl_make(c, &q, out);
}

/* Node's fromArrayLike() places n bytes exactly as allocUnsafe(n) does, so the library asks
 * for that and copies into its own mapping: the bytes never cross the socket. */
static int copy_in(shmbuf_client *c, const void *data, size_t n, shmbuf_buf **out) {
  shmbuf_buf *b;
  int rc = shmbuf_alloc_unsafe(c, (int64_t)n, &b);
  if (rc < 0)
    return rc;
  if (n)
    memcpy(b->data, data, n);
  *out = b;
  return 0;
}

int shmbuf_from_bytes(shmbuf_client *c, const void *data, size_t len, shmbuf_buf **out) {
  if (!(c->flags & SHMBUF_THIN))
    return copy_in(c, data, len, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_BYTES;
  f.bytes.data = (uint8_t *)data;
  f.bytes.len = len;
  return from_with(c, &f, out);
}

/* Buffer.from(string, encoding) made here: fromStringFast() writes into the pool in place
 * and createFromString() into a dedicated ArrayBuffer sized by byteLength(). */
static int from_string_here(shmbuf_client *c, sb_str str, const char *encoding,
                            shmbuf_buf **out) {
  sb_enc enc = SB_ENC_UTF8;
  sb_error e;
  if (encoding && encoding[0] && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    return cl_fail_err((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  size_t units = sb_str_units(str);
  if (units == 0)
    return cl_empty(c, out);
  if (units > SB_MAX_STRING_LENGTH)
    return cl_fail(-ERANGE, "ERR_STRING_TOO_LONG",
                   "Cannot create a string longer than 0x1fffffe8 characters");
  sb_from_string_plan plan = sb_from_string_plan_for(str, enc, c->pool_size);
  int rc;
  if (plan.pooled) {
    uint8_t *at;
    if ((rc = cl_pool_room(c, plan.room, &at)) < 0)
      return rc;
    return cl_pool_commit(c, sb_encode(str, enc, at, plan.room), out);
  }
  if (plan.room == 0)
    return cl_empty(c, out);
  shmbuf_buf *b;
  if ((rc = dedicated(c, (int64_t)plan.room, &b)) < 0)
    return rc;
  b->length = sb_encode(str, enc, b->data, plan.room); /* new FastBuffer(buf.buffer, 0, actual) */
  *out = b;
  return 0;
}

int shmbuf_from_string(shmbuf_client *c, const char *str, size_t len, const char *encoding,
                       shmbuf_buf **out) {
  if (local(c))
    return from_string_here(c, sb_str_utf8(str, cstr_len(str, len)), encoding, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_UTF8;
  f.utf8.data = (uint8_t *)str;
  f.utf8.len = cstr_len(str, len);
  f.encoding = (char *)(encoding ? encoding : "");
  return from_with(c, &f, out);
}

int shmbuf_from_utf16(shmbuf_client *c, const uint16_t *units, size_t n, const char *encoding,
                      shmbuf_buf **out) {
  if (local(c))
    return from_string_here(c, sb_str_utf16(units, n), encoding, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_UTF16;
  f.utf16.data = (uint8_t *)units;
  f.utf16.len = n * 2;
  f.encoding = (char *)(encoding ? encoding : "");
  return from_with(c, &f, out);
}

int shmbuf_from_array(shmbuf_client *c, const double *values, size_t n, shmbuf_buf **out) {
  if (c->flags & SHMBUF_THIN) {
    Shmbufwire__From f;
    Shmbufwire__NumberArray a;
    shmbufwire__from__init(&f);
    shmbufwire__number_array__init(&a);
    a.values = (double *)values;
    a.n_values = n;
    f.source_case = SHMBUFWIRE__FROM__SOURCE_ARRAY;
    f.array = &a;
    return from_with(c, &f, out);
  }
  shmbuf_buf *b;
  int rc = shmbuf_alloc_unsafe(c, (int64_t)n, &b);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < n; i++)
    b->data[i] = sb_to_uint8(values[i]);
  *out = b;
  return 0;
}

int shmbuf_from_buffer(shmbuf_client *c, const shmbuf_buf *src, shmbuf_buf **out) {
  const cl_backing *bk = src->bk;
  bool whole = src->c == c && src->byte_offset == bk->byte_offset && src->length == bk->length;
  if (!(c->flags & SHMBUF_THIN) || !whole)
    return (c->flags & SHMBUF_THIN) ? shmbuf_from_bytes(c, src->data, src->length, out)
                                     : copy_in(c, src->data, src->length, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_BUFFER;
  f.buffer = bk->id;
  return from_with(c, &f, out);
}

/* ---- views ----------------------------------------------------------------------------------- */

static int view_of(const shmbuf_buf *src, size_t byte_offset, size_t length, shmbuf_buf **out) {
  uint8_t *data = src->bk->ab ? src->bk->ab + byte_offset : NULL;
  shmbuf_buf *b = cl_view(src->c, src->bk, data, length, byte_offset);
  if (b == NULL)
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
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
    return cl_fail_err((sb_err_bounds(&e, "offset"), &e));
  if (length == SHMBUF_UNDEFINED)
    length = max;
  else if (length > max)
    return cl_fail_err((sb_err_bounds(&e, "length"), &e));
  else if (length < 0)
    length = 0;
  /* fromArrayBuffer() checks the above itself; a negative offset is left to the typed array
   * constructor, whose RangeError has no code */
  if (byte_offset < 0) {
    char num[64];
    sb_js_number((double)byte_offset, false, num);
    return cl_fail(-ERANGE, "RangeError", "Start offset %s is outside the bounds of the buffer",
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

int shmbuf_concat(shmbuf_client *c, const shmbuf_buf *const *list, size_t n, int64_t total_length,
                  shmbuf_buf **out) {
  size_t total = 0;
  if (n == 0) /* Node returns new FastBuffer() before it looks at the length */
    total = 0;
  else if (total_length == SHMBUF_UNDEFINED)
    for (size_t i = 0; i < n; i++)
      total += list[i]->length;
  else if (total_length < 0 || (uint64_t)total_length > SB_MAX_LENGTH) {
    sb_error e;
    return cl_fail_err((sb_err_range(&e, "length", ">= 0 && <= 4294967296", (double)total_length),
                        &e));
  } else
    total = (size_t)total_length;
  shmbuf_buf *b;
  int rc = shmbuf_alloc_unsafe(c, (int64_t)total, &b);
  if (rc < 0)
    return rc;
  size_t pos = 0;
  for (size_t i = 0; i < n && pos < total; i++) {
    size_t l = list[i]->length < total - pos ? list[i]->length : total - pos;
    if (l > 0)
      memmove(b->data + pos, list[i]->data, l);
    pos += l;
  }
  if (pos < total)
    memset(b->data + pos, 0, total - pos);
  *out = b;
  return 0;
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
      return cl_fail_err((sb_err_range(&e, "offset", ">= 0 && <= 4294967296", (double)*offset),
                          &e));
    if (*end == SHMBUF_UNDEFINED)
      *end = (int64_t)b->length;
    else if (*end < 0 || (uint64_t)*end > b->length) {
      char range[64];
      snprintf(range, sizeof range, ">= 0 && <= %zu", b->length);
      return cl_fail_err((sb_err_range(&e, "end", range, (double)*end), &e));
    }
  }
  return *offset < *end;
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
    return cl_fail_err((sb_err_arg_value(&e, -EINVAL, "value", "<Buffer >"), &e));
  }
  repeat(b->data + offset, (size_t)(end - offset), value, len);
  return 0;
}

int shmbuf_fill_string(shmbuf_buf *b, const char *value, size_t len, int64_t offset, int64_t end,
                       const char *encoding) {
  sb_enc enc = SB_ENC_UTF8;
  sb_error e;
  len = cstr_len(value, len);
  if (encoding && encoding[0] && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    return cl_fail_err((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  int rc = fill_range(b, &offset, &end);
  if (rc <= 0)
    return rc;
  sb_str s = sb_str_utf8(value, len);
  size_t n = sb_byte_length(s, enc);
  if (sb_str_units(s) == 0) /* Node fills with zeros */
    return shmbuf_fill_number(b, 0, offset, end);
  uint8_t *pat = malloc(n ? n : 1);
  if (pat == NULL)
    return cl_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  n = sb_encode(s, enc, pat, n);
  if (n == 0)
    rc = cl_fail_err((sb_err_fill_value(&e, s), &e));
  else
    repeat(b->data + offset, (size_t)(end - offset), pat, n);
  free(pat);
  return rc < 0 ? rc : 0;
}

/* ---- pipelining ------------------------------------------------------------------------------ */

static int submit_sized(shmbuf_client *c, Shmbufwire__Request__OpCase op, int64_t size,
                        shmbuf_cb cb, void *arg) {
  sized_request r;
  return cl_submit(c, sized_request_of(&r, op, size), cb, arg);
}

/* What the library makes itself comes out at once and waits for its turn to be handed over. */
static int submit_made(shmbuf_client *c, int rc, shmbuf_buf *b, shmbuf_cb cb, void *arg) {
  int q = cl_submit_ready(c, rc < 0 ? rc : 0, rc < 0 ? NULL : b, cb, arg);
  if (q < 0 && rc == 0)
    shmbuf_release(b);
  return q;
}

/* A kept ArrayBuffer of `size` bytes (zeroed for alloc), an empty buffer for size 0, or NULL
 * when the daemon must make it. Sets *rc. */
static shmbuf_buf *made_here(shmbuf_client *c, int64_t size, bool zero, int *rc) {
  shmbuf_buf *b = NULL;
  *rc = 0;
  if (size == 0)
    *rc = cl_empty(c, &b);
  else if (valid_size(size) && (uint64_t)size >= CL_CACHE_MIN &&
           (b = cl_cache_take(c, (uint64_t)size)) != NULL && zero)
    memset(b->data, 0, (size_t)size);
  return b;
}

int shmbuf_submit_alloc(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg) {
  int rc;
  shmbuf_buf *b = local(c) ? made_here(c, size, true, &rc) : NULL;
  if (b || (local(c) && rc < 0))
    return submit_made(c, rc, b, cb, arg);
  return submit_sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC, size, cb, arg);
}

int shmbuf_submit_alloc_unsafe(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg) {
  if (!local(c))
    return submit_sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, size, cb, arg);
  if (valid_size(size) && size > 0 && !sb_pool_takes((uint64_t)size, c->pool_size))
    return shmbuf_submit_alloc_unsafe_slow(c, size, cb, arg);
  shmbuf_buf *b = NULL;
  int rc = shmbuf_alloc_unsafe(c, size, &b);
  return submit_made(c, rc, b, cb, arg);
}

int shmbuf_submit_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg) {
  int rc;
  shmbuf_buf *b = local(c) ? made_here(c, size, false, &rc) : NULL;
  if (b || (local(c) && rc < 0))
    return submit_made(c, rc, b, cb, arg);
  return submit_sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, cb, arg);
}
