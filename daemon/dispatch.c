/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "dispatch.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "frame.h"
#include "segment.h"

#define SCRATCH_KEEP (64u << 10)
#define UNSAFE_SLOW_ZEROED 64 /* V8 keeps ArrayBuffers this small on its heap, zeroed */

/* ---- memory policy: the slab backend, with quotas ----------------------------------------- */

static int charge(void *ctx, int64_t bytes) {
  dsp_session *s = ctx;
  dsp_daemon *d = s->d;
  if (bytes > 0) {
    uint64_t b = (uint64_t)bytes;
    uint64_t quota = d->limits.conn_max_bytes;
    if (quota && s->heap.slab.reserved + b > quota)
      return -EDQUOT;
    if (d->limits.max_memory && d->t.reserved + b > d->limits.max_memory)
      return -ENOMEM;
  }
  d->t.reserved += (uint64_t)bytes;
  return 0;
}

static void retire(void *ctx, const slab_seg *seg) {
  dsp_session *s = ctx;
  if (!seg->announced)
    return;
  if (s->nretired == s->cap_retired) {
    size_t cap = s->cap_retired ? s->cap_retired * 2 : 8;
    uint32_t *r = realloc(s->retired, cap * sizeof *r);
    if (r == NULL)
      return; /* the peer keeps a stale mapping until it closes: harmless */
    s->retired = r;
    s->cap_retired = cap;
  }
  s->retired[s->nretired++] = seg->id;
}

static const slab_ops shm_ops = {
    .create = seg_create,
    .reserve = seg_reserve,
    .punch = seg_punch,
    .zero = seg_zero,
    .destroy = seg_close,
    .charge = charge,
    .retire = retire,
};

/* ---- sessions ---------------------------------------------------------------------------- */

/* The part of the totals a session contributes, to apply as deltas around each request. */
typedef struct share {
  uint64_t buffers, bytes, pools, slabs, warm;
} share;

static share share_of(const dsp_session *s) {
  return (share){s->heap.buffers, s->heap.bytes, s->heap.pools, s->heap.slab.nsegs,
                 s->heap.slab.warm};
}

static void totals_apply(dsp_totals *t, share before, share after) {
  t->buffers += after.buffers - before.buffers;
  t->bytes += after.bytes - before.bytes;
  t->pools += after.pools - before.pools;
  t->slabs += after.slabs - before.slabs;
  t->warm += after.warm - before.warm;
}

void dsp_session_init(dsp_session *s, dsp_daemon *d) {
  memset(s, 0, sizeof *s);
  s->d = d;
  s->pool_size = d->limits.pool_size;
  heap_init(&s->heap, &shm_ops, s, s->pool_size, d->limits.warm_bytes);
  d->t.connections++;
  d->t.connections_total++;
}

void dsp_session_fini(dsp_session *s, bool punch) {
  share before = share_of(s);
  heap_fini(&s->heap, punch);
  totals_apply(&s->d->t, before, share_of(s));
  s->d->t.connections--;
  free(s->retired);
  free(s->scratch);
  s->retired = NULL;
  s->scratch = NULL;
}

static uint8_t *scratch(dsp_session *s, size_t n) {
  if (n > s->cap_scratch) {
    uint8_t *p = realloc(s->scratch, n);
    if (p == NULL)
      return NULL;
    s->scratch = p;
    s->cap_scratch = n;
  }
  return s->scratch;
}

static void scratch_trim(dsp_session *s) {
  if (s->cap_scratch > SCRATCH_KEEP) {
    free(s->scratch);
    s->scratch = NULL;
    s->cap_scratch = 0;
  }
}

/* ---- replies ----------------------------------------------------------------------------- */

static void reply_error(dsp_reply *r) {
  shmbufwire__error__init(&r->u.error);
  r->u.error.code = (char *)r->err.code;
  r->u.error.errnum = r->err.errnum;
  r->u.error.message = r->err.message;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_ERROR;
  r->msg.error = &r->u.error;
}

void dsp_notice(dsp_reply *r, int errnum, const char *code, const char *message) {
  shmbufwire__reply__init(&r->msg);
  r->fd = -1;
  r->close = true;
  sb_err_set(&r->err, errnum, code, "%s", message);
  reply_error(r);
}

static void reply_buffer(dsp_reply *r, const heap_view *v) {
  Shmbufwire__Buffer *b = &r->u.buffer;
  shmbufwire__buffer__init(b);
  b->buffer = v->id;
  b->byte_offset = v->byte_offset;
  b->length = v->length;
  b->ab_length = v->ab_length;
  b->pooled = v->pooled;
  if (v->seg) {
    b->slab = v->seg->id;
    b->ab_offset = v->ab_offset;
    if (!v->seg->announced) {
      v->seg->announced = true;
      b->slab_size = v->seg->size;
      r->fd = v->seg->fd;
    }
  }
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_BUFFER;
  r->msg.buffer = b;
}

/* ---- argument checks as Node makes them ---------------------------------------------------- */

static int check_size(int64_t size, sb_error *e) {
  if (size < 0 || (uint64_t)size > SB_MAX_LENGTH)
    return sb_err_size(e, (double)size);
  return 0;
}

static int check_encoding(const char *name, sb_enc *enc, sb_error *e) {
  if (name == NULL || name[0] == '\0') { /* not given: utf8 */
    *enc = SB_ENC_UTF8;
    return 0;
  }
  size_t len = strlen(name);
  if (sb_enc_parse(name, len, enc) < 0)
    return sb_err_encoding(e, name, len);
  return 0;
}

static int alloc_failed(int rc, sb_error *e) {
  const char *why;
  switch (rc) {
  case -EDQUOT:
    why = "this connection's limit is reached";
    break;
  case -ENOMEM:
    why = "the daemon's memory limit is reached";
    break;
  case -ENOSPC:
    why = "/dev/shm is full";
    break;
  case -EFBIG:
    why = "the size is too large";
    break;
  default:
    return sb_err_set(e, rc, "ERR_SHMBUF_IO", "Buffer write failed: %s", strerror(-rc));
  }
  return sb_err_set(e, rc, "ERR_MEMORY_ALLOCATION_FAILED", "Array buffer allocation failed: %s",
                    why);
}

/* ---- operations ---------------------------------------------------------------------------- */

/* Writes a new buffer's bytes; on failure the buffer is given back. */
static int put(dsp_session *s, const heap_view *v, const uint8_t *data, size_t n, sb_error *e) {
  if (n == 0)
    return 0;
  int rc = seg_write(v->seg->fd, heap_view_pos(v), data, n);
  if (rc < 0) {
    heap_release(&s->heap, v->id);
    return alloc_failed(rc, e);
  }
  return 0;
}

/* Node's fromArrayLike(): empty, pooled under poolSize >>> 1, dedicated otherwise. */
static int array_like(dsp_session *s, uint64_t n, heap_view *v, sb_error *e) {
  int rc;
  if (n == 0)
    rc = heap_empty(&s->heap, v);
  else if (sb_pool_takes(n, s->pool_size))
    rc = heap_pooled(&s->heap, n, n, v);
  else
    rc = heap_dedicated(&s->heap, n, n, false, false, v);
  return rc < 0 ? alloc_failed(rc, e) : 0;
}

/* Node's createUnsafeBuffer(): a dedicated ArrayBuffer; empty for size 0. */
static int unsafe_slow(dsp_session *s, uint64_t ab_length, uint64_t length, heap_view *v,
                       sb_error *e) {
  int rc = ab_length == 0 ? heap_empty(&s->heap, v)
                          : heap_dedicated(&s->heap, ab_length, length,
                                           ab_length <= UNSAFE_SLOW_ZEROED, false, v);
  return rc < 0 ? alloc_failed(rc, e) : 0;
}

static sb_str fill_string(const Shmbufwire__Fill *f) {
  if (f->value_case == SHMBUFWIRE__FILL__VALUE_UTF16)
    return sb_str_utf16((const uint16_t *)f->utf16.data, f->utf16.len / 2);
  return sb_str_utf8((const char *)f->utf8.data, f->utf8.len);
}

/* The repeating pattern of a fill, as _fill() and the binding's Fill() compute it. Sets *n to
 * 0 for "no fill" (a zero fill, or an empty string, which Node turns into 0). */
static int fill_pattern(dsp_session *s, const Shmbufwire__Fill *f, const uint8_t **pat,
                        size_t *n, uint8_t *byte, sb_error *e) {
  *n = 0;
  switch (f->value_case) {
  case SHMBUFWIRE__FILL__VALUE_NUMBER:
    if (f->number == 0)
      return 0;
    *byte = sb_to_uint8(f->number);
    *pat = byte;
    *n = 1;
    return 0;
  case SHMBUFWIRE__FILL__VALUE_BYTES:
    if (f->bytes.len == 0)
      return sb_err_arg_value(e, -EINVAL, "value", "<Buffer >");
    *pat = f->bytes.data;
    *n = f->bytes.len;
    return 0;
  case SHMBUFWIRE__FILL__VALUE_UTF8:
  case SHMBUFWIRE__FILL__VALUE_UTF16: {
    sb_enc enc;
    int rc = check_encoding(f->encoding, &enc, e);
    if (rc < 0)
      return rc;
    sb_str str = fill_string(f);
    if (sb_str_units(str) == 0)
      return 0;
    size_t cap = sb_byte_length(str, enc);
    uint8_t *out = scratch(s, cap ? cap : 1);
    if (out == NULL)
      return alloc_failed(-ENOMEM, e);
    *n = sb_encode(str, enc, out, cap);
    if (*n == 0)
      return sb_err_fill_value(e, str);
    *pat = out;
    return 0;
  }
  default:
    return sb_err_set(e, -EINVAL, "ERR_INVALID_ARG_TYPE",
                      "The \"value\" argument must be of type string or an instance of Buffer, "
                      "Uint8Array, or number. Received undefined");
  }
}

static int op_alloc(dsp_session *s, const Shmbufwire__Alloc *a, heap_view *v, sb_error *e) {
  int rc = check_size(a->size, e);
  if (rc < 0)
    return rc;
  const uint8_t *pat = NULL;
  size_t n = 0;
  uint8_t byte;
  if (a->fill && a->size > 0) {
    rc = fill_pattern(s, a->fill, &pat, &n, &byte, e);
    if (rc < 0)
      return rc;
  }
  uint64_t size = (uint64_t)a->size;
  if (size == 0)
    rc = heap_empty(&s->heap, v);
  else
    rc = heap_dedicated(&s->heap, size, size, n == 0, false, v);
  if (rc < 0)
    return alloc_failed(rc, e);
  if (n > 0) {
    rc = seg_fill(v->seg->fd, heap_view_pos(v), size, pat, n);
    if (rc < 0) {
      heap_release(&s->heap, v->id);
      return alloc_failed(rc, e);
    }
  }
  return 0;
}

static int op_alloc_unsafe(dsp_session *s, int64_t size, heap_view *v, sb_error *e) {
  int rc = check_size(size, e);
  if (rc < 0)
    return rc;
  if (!sb_pool_takes((uint64_t)size, s->pool_size))
    return unsafe_slow(s, (uint64_t)size, (uint64_t)size, v, e);
  rc = heap_pooled(&s->heap, (uint64_t)size, (uint64_t)size, v);
  return rc < 0 ? alloc_failed(rc, e) : 0;
}

static int op_alloc_unsafe_slow(dsp_session *s, int64_t size, heap_view *v, sb_error *e) {
  int rc = check_size(size, e);
  return rc < 0 ? rc : unsafe_slow(s, (uint64_t)size, (uint64_t)size, v, e);
}

/* Buffer.from(string, encoding): fromString(), fromStringFast(), createFromString(). */
static int from_string(dsp_session *s, sb_str str, const char *encoding, heap_view *v,
                       sb_error *e) {
  sb_enc enc;
  int rc = check_encoding(encoding, &enc, e);
  if (rc < 0)
    return rc;
  if (sb_str_units(str) == 0)
    return array_like(s, 0, v, e);
  if (sb_str_units(str) > SB_MAX_STRING_LENGTH) /* no JS string is that long */
    return sb_err_set(e, -ERANGE, "ERR_STRING_TOO_LONG",
                      "Cannot create a string longer than 0x1fffffe8 characters");
  sb_from_string_plan plan = sb_from_string_plan_for(str, enc, s->pool_size);
  uint8_t *out = scratch(s, plan.room ? plan.room : 1);
  if (out == NULL)
    return alloc_failed(-ENOMEM, e);
  size_t actual = sb_encode(str, enc, out, plan.room);
  if (plan.pooled) {
    rc = heap_pooled(&s->heap, plan.room, actual, v);
    if (rc < 0)
      return alloc_failed(rc, e);
  } else {
    rc = unsafe_slow(s, plan.room, actual, v, e);
    if (rc < 0)
      return rc;
  }
  return put(s, v, out, actual, e);
}

static int op_from(dsp_session *s, const Shmbufwire__From *f, heap_view *v, sb_error *e) {
  int rc;
  switch (f->source_case) {
  case SHMBUFWIRE__FROM__SOURCE_BYTES:
    rc = array_like(s, f->bytes.len, v, e);
    return rc < 0 ? rc : put(s, v, f->bytes.data, f->bytes.len, e);
  case SHMBUFWIRE__FROM__SOURCE_ARRAY: {
    size_t n = f->array ? f->array->n_values : 0;
    uint8_t *out = scratch(s, n ? n : 1);
    if (out == NULL)
      return alloc_failed(-ENOMEM, e);
    for (size_t i = 0; i < n; i++)
      out[i] = sb_to_uint8(f->array->values[i]);
    rc = array_like(s, n, v, e);
    return rc < 0 ? rc : put(s, v, out, n, e);
  }
  case SHMBUFWIRE__FROM__SOURCE_UTF8:
    return from_string(s, sb_str_utf8((const char *)f->utf8.data, f->utf8.len), f->encoding, v,
                       e);
  case SHMBUFWIRE__FROM__SOURCE_UTF16:
    return from_string(s, sb_str_utf16((const uint16_t *)f->utf16.data, f->utf16.len / 2),
                       f->encoding, v, e);
  case SHMBUFWIRE__FROM__SOURCE_BUFFER: {
    heap_view src;
    if (heap_get(&s->heap, f->buffer, &src) < 0) {
      char shown[32];
      snprintf(shown, sizeof shown, "%llu", (unsigned long long)f->buffer);
      return sb_err_arg_value(e, -ENOENT, "buffer", shown);
    }
    rc = array_like(s, src.length, v, e);
    if (rc < 0 || src.length == 0)
      return rc;
    rc = seg_copy(src.seg->fd, heap_view_pos(&src), v->seg->fd, heap_view_pos(v), src.length);
    if (rc < 0) {
      heap_release(&s->heap, v->id);
      return alloc_failed(rc, e);
    }
    return 0;
  }
  default:
    return sb_err_set(e, -EINVAL, "ERR_INVALID_ARG_TYPE",
                      "The first argument must be of type string or an instance of Buffer, "
                      "ArrayBuffer, or Array or an Array-like Object. Received undefined");
  }
}

static void add_counter(dsp_reply *r, const char *name, uint64_t value, bool gauge,
                        const char *help) {
  size_t i = r->u.stats.n_counters++;
  Shmbufwire__Counter *c = &r->counters[i];
  shmbufwire__counter__init(c);
  c->name = (char *)name;
  c->value = value;
  c->gauge = gauge;
  c->help = (char *)help;
  r->counter_ptrs[i] = c;
}

static void op_stats(dsp_session *s, dsp_reply *r) {
  const dsp_totals *t = &s->d->t;
  const dsp_limits *l = &s->d->limits;
  shmbufwire__stats_reply__init(&r->u.stats);
  r->u.stats.counters = r->counter_ptrs;
  add_counter(r, "connections", t->connections, true, "Open client connections");
  add_counter(r, "buffers", t->buffers, true, "Live buffers");
  add_counter(r, "bytes", t->bytes, true, "Sum of the lengths of live buffers");
  add_counter(r, "pools", t->pools, true, "Live pools (8 KiB ArrayBuffers shared by small buffers)");
  add_counter(r, "slabs", t->slabs, true, "Shared-memory objects held for clients");
  add_counter(r, "reserved_bytes", t->reserved, true, "Bytes reserved in /dev/shm");
  add_counter(r, "warm_bytes", t->warm, true, "Reserved bytes kept for reuse by their connection");
  add_counter(r, "max_memory_bytes", l->max_memory, true, "Cap on reserved bytes (0: none)");
  add_counter(r, "pool_size_bytes", l->pool_size, true, "Buffer.poolSize for new connections");
  add_counter(r, "connections_total", t->connections_total, false, "Connections accepted");
  add_counter(r, "connections_refused_total", t->refused_total, false, "Connections refused");
  add_counter(r, "requests_total", t->requests_total, false, "Requests served");
  add_counter(r, "errors_total", t->errors_total, false, "Requests answered with an error");
  add_counter(r, "session_buffers", s->heap.buffers, true, "Live buffers of this connection");
  add_counter(r, "session_reserved_bytes", s->heap.slab.reserved, true,
              "Bytes reserved by this connection");
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_STATS;
  r->msg.stats = &r->u.stats;
}

static void op_hello(dsp_session *s, const Shmbufwire__Hello *h, dsp_reply *r) {
  if (s->greeted) {
    sb_err_set(&r->err, -EPROTO, "ERR_SHMBUF_PROTOCOL", "hello was already received");
    reply_error(r);
    return;
  }
  if (h->version != SB_PROTOCOL_VERSION) {
    sb_err_set(&r->err, -EPROTONOSUPPORT, "ERR_SHMBUF_VERSION",
               "protocol version %u is not supported; this daemon speaks %u", h->version,
               SB_PROTOCOL_VERSION);
    reply_error(r);
    r->close = true;
    return;
  }
  s->greeted = true;
  Shmbufwire__Welcome *w = &r->u.welcome;
  shmbufwire__welcome__init(w);
  w->version = SB_PROTOCOL_VERSION;
  w->pool_size = s->pool_size;
  w->max_frame = s->d->limits.max_frame;
  w->max_length = SB_MAX_LENGTH;
  w->server = "shmbufd " PACKAGE_VERSION;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_WELCOME;
  r->msg.welcome = w;
}

static void op_release(dsp_session *s, uint64_t id, dsp_reply *r) {
  if (heap_release(&s->heap, id) < 0) {
    char shown[32];
    snprintf(shown, sizeof shown, "%llu", (unsigned long long)id);
    sb_err_arg_value(&r->err, -ENOENT, "buffer", shown);
    reply_error(r);
    return;
  }
  shmbufwire__released__init(&r->u.released);
  r->u.released.retired_slabs = s->retired;
  r->u.released.n_retired_slabs = s->nretired;
  s->retired_sent = true;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_RELEASED;
  r->msg.released = &r->u.released;
}

static bool makes_buffer(Shmbufwire__Request__OpCase op) {
  return op == SHMBUFWIRE__REQUEST__OP_ALLOC || op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE ||
         op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW || op == SHMBUFWIRE__REQUEST__OP_FROM ||
         op == SHMBUFWIRE__REQUEST__OP_LEASE;
}

static void run(dsp_session *s, const Shmbufwire__Request *q, dsp_reply *r) {
  heap_view v;
  int rc;
  uint64_t max_buffers = s->d->limits.conn_max_buffers;
  if (makes_buffer(q->op_case) && max_buffers && s->heap.buffers >= max_buffers) {
    sb_err_set(&r->err, -EDQUOT, "ERR_MEMORY_ALLOCATION_FAILED",
               "Array buffer allocation failed: this connection holds its limit of %llu buffers",
               (unsigned long long)max_buffers);
    reply_error(r);
    return;
  }
  switch (q->op_case) {
  case SHMBUFWIRE__REQUEST__OP_HELLO:
    op_hello(s, q->hello, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_STATS:
    op_stats(s, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_RELEASE:
    op_release(s, q->release->buffer, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_ALLOC:
    rc = op_alloc(s, q->alloc, &v, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE:
    rc = op_alloc_unsafe(s, q->alloc_unsafe->size, &v, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW:
    rc = op_alloc_unsafe_slow(s, q->alloc_unsafe_slow->size, &v, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_FROM:
    rc = op_from(s, q->from, &v, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_LEASE:
    rc = heap_dedicated(&s->heap, s->pool_size, s->pool_size, false, true, &v);
    if (rc < 0)
      alloc_failed(rc, &r->err);
    break;
  default:
    sb_err_set(&r->err, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the request names no operation");
    reply_error(r);
    return;
  }
  if (rc < 0)
    reply_error(r);
  else
    reply_buffer(r, &v);
}

void dsp_handle(dsp_session *s, const uint8_t *payload, size_t len, dsp_reply *r) {
  shmbufwire__reply__init(&r->msg);
  r->fd = -1;
  r->close = false;
  s->d->t.requests_total++;
  sb_arena *arena = &s->d->arena;
  if (arena->allocator.alloc == NULL)
    sb_arena_init(arena);
  Shmbufwire__Request *q = shmbufwire__request__unpack(&arena->allocator, len, payload);
  if (q == NULL) {
    sb_arena_reset(arena);
    dsp_notice(r, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the frame is not a valid request");
    s->d->t.errors_total++;
    return;
  }
  r->msg.id = q->id;
  if (!s->greeted && q->op_case != SHMBUFWIRE__REQUEST__OP_HELLO) {
    sb_err_set(&r->err, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the first request must be hello");
    reply_error(r);
    r->close = true;
  } else {
    if (s->retired_sent) { /* the last reply told the peer about them */
      s->nretired = 0;
      s->retired_sent = false;
    }
    share before = share_of(s);
    run(s, q, r);
    totals_apply(&s->d->t, before, share_of(s));
    scratch_trim(s);
  }
  if (r->msg.result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
    s->d->t.errors_total++;
  sb_arena_reset(arena); /* the reply keeps nothing of the request */
}
