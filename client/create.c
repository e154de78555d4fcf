/* SPDX-License-Identifier: MIT */
/* libshmbuf: making buffers — Buffer.alloc, allocUnsafe, allocUnsafeSlow, from and concat,
 * blocking or pipelined — and giving them back. What the library can make itself comes from
 * local.h; the rest is a request the daemon answers with a buffer. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "codec.h"
#include "errors.h"

/* ---- buffers the daemon makes ------------------------------------------------------------- */

/* An encoding name as the wire carries it: UTF-8 bytes, empty for "not given". */
static ProtobufCBinaryData encoding_bytes(const char *name) {
  return (ProtobufCBinaryData){name ? strlen(name) : 0, (uint8_t *)name};
}

/* flight_call() for a request that takes memory: when the daemon has none left, what this
 * client holds ahead of need is given back and the request is made once more. */
static int call_room(shmbuf_client *c, Shmbufwire__Request *q, Shmbufwire__Reply **out) {
  int rc = flight_call(&c->flight, q, out);
  return local_trim_to_retry(c, rc) ? flight_call(&c->flight, q, out) : rc;
}

/* A request that makes one buffer: sends q, adopts the reply (a buffer: flight.h). */
static int make(shmbuf_client *c, Shmbufwire__Request *q, shmbuf_buf **out) {
  Shmbufwire__Reply *r;
  int rc = call_room(c, q, &r);
  if (rc < 0)
    return rc;
  rc = local_adopt(c, r->buffer, out);
  wire_reply_free(r);
  return rc;
}

/* A request carrying one size: alloc(size), allocUnsafe(size) or allocUnsafeSlow(size), sent
 * as a Request when it cannot go in a batch. */
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

/* flight_call_batched(), given back what is held ahead of need and made once more when the
 * daemon has no memory left, as call_room() does. */
static int call_batched_room(shmbuf_client *c, Shmbufwire__Request__OpCase op, int64_t size,
                             Shmbufwire__Buffer *out) {
  int rc = flight_call_batched(&c->flight, op, size, out);
  return rc < 0 && local_trim_to_retry(c, rc) ? flight_call_batched(&c->flight, op, size, out)
                                              : rc;
}

static int sized(shmbuf_client *c, Shmbufwire__Request__OpCase op, int64_t size,
                 shmbuf_buf **out) {
  if (flight_batchable(&c->flight, size)) {
    Shmbufwire__Buffer b;
    int rc = call_batched_room(c, op, size, &b);
    return rc < 0 ? rc : local_adopt(c, &b, out);
  }
  sized_request r;
  return make(c, sized_request_of(&r, op, size), out);
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
  return make(c, &q, out);
}

static int from_with(shmbuf_client *c, Shmbufwire__From *f, shmbuf_buf **out) {
  Shmbufwire__Request q;
  shmbufwire__request__init(&q);
  q.op_case = SHMBUFWIRE__REQUEST__OP_FROM;
  q.from = f;
  return make(c, &q, out);
}

/* ---- creating -------------------------------------------------------------------------------- */

static bool valid_size(int64_t size) { return size >= 0 && (uint64_t)size <= SB_MAX_LENGTH; }

static int size_error(int64_t size) {
  sb_error e;
  return errors_fail_node((sb_err_size(&e, (double)size), &e));
}


/* A dedicated ArrayBuffer of `size` > 0 bytes, zero-filled when `zero` (allocUnsafeSlow's are
 * when V8's would be), made here when it can be: carved, or a kept one of that size. Returns
 * 0, a negative errno, or 1 when the daemon must make it. */
static int made_here(shmbuf_client *c, int64_t size, bool zero, shmbuf_buf **out) {
  if ((uint64_t)size <= CARVE_REGION_MAX)
    return local_carve(c, (uint64_t)size, zero || size <= SB_UNSAFE_SLOW_ZEROED, out);
  shmbuf_buf *b = local_cache_take(c, (uint64_t)size);
  if (b == NULL)
    return 1;
  if (zero)
    memset(b->data, 0, (size_t)size);
  *out = b;
  return 0;
}

/* A dedicated, uninitialised ArrayBuffer of `size` > 0 bytes: made here, or by the daemon. */
static int dedicated(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  int rc = made_here(c, size, false, out);
  return rc <= 0 ? rc : sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, out);
}

int shmbuf_alloc(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  int rc = 1;
  if (client_local(c) && size == 0)
    return handle_empty(&c->handles, c, out);
  if (client_local(c) && valid_size(size))
    rc = made_here(c, size, true, out);
  return rc <= 0 ? rc : sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC, size, out);
}

int shmbuf_alloc_fill_string(shmbuf_client *c, int64_t size, const char *fill, size_t len,
                             const char *encoding, shmbuf_buf **out) {
  Shmbufwire__Fill f;
  shmbufwire__fill__init(&f);
  f.value_case = SHMBUFWIRE__FILL__VALUE_UTF8;
  f.utf8.data = (uint8_t *)fill;
  f.utf8.len = client_cstr_len(fill, len);
  f.encoding = encoding_bytes(encoding);
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
  if (!client_local(c))
    return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, size, out);
  if (!valid_size(size))
    return size_error(size);
  if (size == 0)
    return handle_empty(&c->handles, c, out);
  if (!sb_pool_takes((uint64_t)size, c->pool_size))
    return dedicated(c, size, out);
  uint8_t *at;
  int rc = local_pool_room(c, (uint64_t)size, &at);
  return rc < 0 ? rc : local_pool_commit(c, (uint64_t)size, out);
}

int shmbuf_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_buf **out) {
  if (!client_local(c))
    return sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, out);
  if (!valid_size(size))
    return size_error(size);
  return size == 0 ? handle_empty(&c->handles, c, out) : dedicated(c, size, out);
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
  if (client_local(c))
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
    return errors_fail_node((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  /* every unit takes at least one byte of UTF-8 or is one UTF-16 unit: only a long string
   * needs counting */
  if (str.n == 0)
    return handle_empty(&c->handles, c, out);
  if (str.n > SB_MAX_STRING_LENGTH && sb_str_units(str) > SB_MAX_STRING_LENGTH)
    return errors_fail(-ERANGE, "ERR_STRING_TOO_LONG",
                       "Cannot create a string longer than 0x1fffffe8 characters");
  sb_from_string_plan plan = sb_from_string_plan_for(str, enc, c->pool_size);
  int rc;
  if (plan.pooled) {
    uint8_t *at;
    if ((rc = local_pool_room(c, plan.room, &at)) < 0)
      return rc;
    return local_pool_commit(c, sb_encode(str, enc, at, plan.room), out);
  }
  if (plan.room == 0)
    return handle_empty(&c->handles, c, out);
  shmbuf_buf *b;
  if ((rc = dedicated(c, (int64_t)plan.room, &b)) < 0)
    return rc;
  b->length = sb_encode(str, enc, b->data, plan.room); /* new FastBuffer(buf.buffer, 0, actual) */
  *out = b;
  return 0;
}

int shmbuf_from_string(shmbuf_client *c, const char *str, size_t len, const char *encoding,
                       shmbuf_buf **out) {
  if (client_local(c))
    return from_string_here(c, sb_str_utf8(str, client_cstr_len(str, len)), encoding, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_UTF8;
  f.utf8.data = (uint8_t *)str;
  f.utf8.len = client_cstr_len(str, len);
  f.encoding = encoding_bytes(encoding);
  return from_with(c, &f, out);
}

int shmbuf_from_utf16(shmbuf_client *c, const uint16_t *units, size_t n, const char *encoding,
                      shmbuf_buf **out) {
  if (client_local(c))
    return from_string_here(c, sb_str_utf16(units, n), encoding, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_UTF16;
  f.utf16.data = (uint8_t *)units;
  f.utf16.len = n * 2;
  f.encoding = encoding_bytes(encoding);
  return from_with(c, &f, out);
}

int shmbuf_from_array(shmbuf_client *c, const double *values, size_t n, shmbuf_buf **out) {
  if (!client_local(c)) {
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
  sb_to_uint8_all(values, n, b->data);
  *out = b;
  return 0;
}

int shmbuf_from_buffer(shmbuf_client *c, const shmbuf_buf *src, shmbuf_buf **out) {
  const handle_backing *bk = src->bk;
  bool whole = src->c == c && src->byte_offset == bk->byte_offset && src->length == bk->length;
  if (client_local(c))
    return copy_in(c, src->data, src->length, out);
  if (!whole)
    return shmbuf_from_bytes(c, src->data, src->length, out);
  Shmbufwire__From f;
  shmbufwire__from__init(&f);
  f.source_case = SHMBUFWIRE__FROM__SOURCE_BUFFER;
  f.buffer = bk->id;
  return from_with(c, &f, out);
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
    return errors_fail_node(
        (sb_err_range(&e, "length", ">= 0 && <= 4294967296", (double)total_length), &e));
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
  shmbuf_client *c = b->c; /* b itself may be freed by handle_drop() */
  local_unref(c, handle_drop(&c->handles, b));
}

/* ---- pipelining ------------------------------------------------------------------------------ */

/* A buffer reply to a submitted request becomes its callback's handle. */
static void adopt_settled(shmbuf_client *c, Shmbufwire__Reply *r, void *arg, flight_outcome *out) {
  (void)arg;
  out->deliver = true;
  if (r == NULL)
    out->status = -ENOTCONN;
  else if (r->result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
    out->status = flight_error(r->error);
  else
    out->status = local_adopt(c, r->buffer, &out->ready);
  if (out->status < 0)
    out->ready = NULL;
}

#define SEND_BATCH (64u << 10) /* queued submissions go out once this much is waiting, or a
                                * full batch */

static int submit_sized(shmbuf_client *c, Shmbufwire__Request__OpCase op, int64_t size,
                        shmbuf_cb cb, void *arg) {
  int rc;
  if (flight_batchable(&c->flight, size))
    rc = flight_submit_batched(&c->flight, op, size, adopt_settled, NULL, cb, arg);
  else {
    sized_request r;
    rc = flight_submit(&c->flight, sized_request_of(&r, op, size), adopt_settled, NULL, cb, arg);
  }
  if (rc < 0 || (wire_queued(&c->wire) < SEND_BATCH && !flight_batch_full(&c->flight)))
    return rc;
  return flight_flush(&c->flight);
}

/* What the library makes itself comes out at once and waits for its turn to be handed over. */
static int submit_made(shmbuf_client *c, int rc, shmbuf_buf *b, shmbuf_cb cb, void *arg) {
  int q = flight_ready(&c->flight, rc < 0 ? rc : 0, rc < 0 ? NULL : b, cb, arg);
  if (q < 0 && rc == 0)
    shmbuf_release(b);
  return q;
}

/* submit_made() of what the library makes itself (an empty buffer for size 0), or 1 when
 * the daemon must make it. */
static int submit_here(shmbuf_client *c, int64_t size, bool zero, shmbuf_cb cb, void *arg) {
  shmbuf_buf *b = NULL;
  int rc = 1;
  if (size == 0)
    rc = handle_empty(&c->handles, c, &b);
  else if (valid_size(size))
    rc = made_here(c, size, zero, &b);
  return rc > 0 ? rc : submit_made(c, rc, b, cb, arg);
}

int shmbuf_submit_alloc(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg) {
  int rc = client_local(c) ? submit_here(c, size, true, cb, arg) : 1;
  return rc <= 0 ? rc : submit_sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC, size, cb, arg);
}

int shmbuf_submit_alloc_unsafe(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg) {
  if (!client_local(c))
    return submit_sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE, size, cb, arg);
  if (valid_size(size) && size > 0 && !sb_pool_takes((uint64_t)size, c->pool_size))
    return shmbuf_submit_alloc_unsafe_slow(c, size, cb, arg);
  shmbuf_buf *b = NULL;
  int rc = shmbuf_alloc_unsafe(c, size, &b);
  return submit_made(c, rc, b, cb, arg);
}

int shmbuf_submit_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg) {
  int rc = client_local(c) ? submit_here(c, size, false, cb, arg) : 1;
  return rc <= 0 ? rc : submit_sized(c, SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW, size, cb, arg);
}
