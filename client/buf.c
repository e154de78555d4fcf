/* libshmbuf: making buffers, views on them, and the byte-level operations Node offers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "conn.h"

static size_t cstr_len(const char *s, size_t len) { return len == SHMBUF_CSTR ? strlen(s) : len; }

static int sized(shmbuf_client *c, Shmbufwire__Request__OpCase op, int64_t size,
                 shmbuf_buf **out) {
  Shmbufwire__Request q;
  Shmbufwire__Size s;
  shmbufwire__request__init(&q);
  shmbufwire__size__init(&s);
  s.size = size;
  q.op_case = op;
  if (op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE)
    q.alloc_unsafe = &s;
  else
    q.alloc_unsafe_slow = &s;
  return cl_make(c, &q, out);
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

int shmbuf_alloc(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
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
  return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, size, out);
}

int shmbuf_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, out);
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

int shmbuf_from_string(shmbuf_client *c, const char *str, size_t len, const char *encoding,
                       shmbuf_buf **out) {
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

void shmbuf_release(shmbuf_buf *b) {
  if (b == NULL)
    return;
  shmbuf_client *c = b->c;
  if (b->prev)
    b->prev->next = b->next;
  else
    c->bufs = b->next;
  if (b->next)
    b->next->prev = b->prev;
  cl_backing *bk = b->bk;
  if (--bk->refs == 0) {
    cl_send_release(c, bk->id);
    free(bk);
  }
  free(b);
}

uint8_t *shmbuf_data(const shmbuf_buf *b) { return b->data; }
size_t shmbuf_length(const shmbuf_buf *b) { return b->length; }
size_t shmbuf_byte_offset(const shmbuf_buf *b) { return b->byte_offset; }
size_t shmbuf_buffer_byte_length(const shmbuf_buf *b) { return b->bk->ab_length; }
int shmbuf_is_pooled(const shmbuf_buf *b) { return b->bk->pooled; }

uint64_t shmbuf_arraybuffer_id(const shmbuf_buf *b) {
  /* empty ArrayBuffers are each their own: name them by their daemon buffer */
  return b->bk->ab ? b->bk->ab_key : (uint64_t)1 << 63 | b->bk->id;
}

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
