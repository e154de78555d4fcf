/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "dispatch.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "frame.h"
#include "host.h"
#include "segment.h"

#define SCRATCH_KEEP (64u << 10)
#define RESERVE_STEP (8u << 20) /* fallocate per slice of a job's reservation */
/* What decoding one request may take beyond the arena's block: protobuf-c keeps every
 * unknown field and a scan record per field, so a frame of tiny fields costs many times its
 * size; a legitimate request needs less than twice its size. */
#define ARENA_PER_FRAME_BYTE 4u
#define ARENA_SLACK (64u << 10)

/* ---- the dispatcher ---------------------------------------------------------------------- */

void dispatch_init(dispatcher *d, session_books *books, share_registry *shares) {
  memset(d, 0, sizeof *d);
  d->books = books;
  d->shares = shares;
  sb_arena_init(&d->arena);
}

void dispatch_fini(dispatcher *d) {
  sb_arena_reset(&d->arena);
  free(d->scratch);
  free(d->infos);
  free(d->info_ptrs);
  free(d->rows);
  free(d->row_ptrs);
  free(d->retired);
  d->scratch = NULL;
  d->infos = NULL;
  d->info_ptrs = NULL;
  d->rows = NULL;
  d->row_ptrs = NULL;
  d->retired = NULL;
  d->cap_scratch = d->cap_infos = d->ninfos = d->cap_rows = d->nretired = d->cap_retired = 0;
}

static uint8_t *scratch(dispatcher *d, size_t n) {
  if (n > d->cap_scratch) {
    uint8_t *p = realloc(d->scratch, n);
    if (p == NULL)
      return NULL;
    d->scratch = p;
    d->cap_scratch = n;
  }
  return d->scratch;
}

static void scratch_trim(dispatcher *d) {
  if (d->cap_scratch > SCRATCH_KEEP) {
    free(d->scratch);
    d->scratch = NULL;
    d->cap_scratch = 0;
  }
}

/* ---- replies ----------------------------------------------------------------------------- */

static void reply_error(dispatch_reply *r) {
  shmbufwire__error__init(&r->u.error);
  r->u.error.code = (char *)r->err.code;
  r->u.error.errnum = r->err.errnum;
  r->u.error.message = r->err.message;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_ERROR;
  r->msg.error = &r->u.error;
}

/* Forgets what the last reply held. */
static void reply_reset(dispatch_reply *r) {
  shmbufwire__reply__init(&r->msg);
  sb_error_release(&r->err);
  r->fd = -1;
  r->close = false;
  r->job = (dispatch_job){.kind = DISPATCH_JOB_NONE, .dst = -1, .src = -1};
}

void dispatch_notice(dispatch_reply *r, int errnum, const char *code, const char *message) {
  reply_reset(r);
  r->close = true;
  sb_err_set(&r->err, errnum, code, "%s", message);
  reply_error(r);
}

/* ---- argument checks as Node makes them ---------------------------------------------------- */

static int check_size(int64_t size, sb_error *e) {
  if (size < 0 || (uint64_t)size > SB_MAX_LENGTH)
    return sb_err_size(e, (double)size);
  return 0;
}

/* An encoding name as it came: bytes, which may hold anything (a NUL is part of the name, as
 * in a JS string, and makes it one Node does not know). Empty means not given: utf8. */
static int check_encoding(ProtobufCBinaryData name, sb_enc *enc, sb_error *e) {
  if (name.len == 0) {
    *enc = SB_ENC_UTF8;
    return 0;
  }
  if (sb_enc_parse((const char *)name.data, name.len, enc) < 0)
    return sb_err_encoding(e, (const char *)name.data, name.len);
  return 0;
}

/* An allocation that failed, as Node reports it, with what refused it. */
static int alloc_failed(conn_session *s, int rc, sb_error *e) {
  const char *why;
  switch (rc) {
  case -EDQUOT:
    why = s->refusal ? s->refusal : "this connection's limit is reached";
    break;
  case -ENOMEM:
    why = s->refusal ? s->refusal : "the system is out of memory";
    break;
  case -ENOSPC:
    s->books->t.enospc_total++;
    why = "the system is out of shared memory";
    break;
  case -EMFILE:
  case -ENFILE:
    why = "the daemon has no file descriptor to spare";
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

/* Describes v in b, with an fd of the peer's own in *fd when its slab is new to the peer
 * (read-only when the peer may only read it). Returns 0, or a negative errno (no fd to spare)
 * recorded in e after giving the buffer back. */
static int describe(conn_session *s, const heap_view *v, Shmbufwire__Buffer *b, int *fd,
                    sb_error *e) {
  shmbufwire__buffer__init(b);
  b->buffer = v->id;
  b->byte_offset = v->byte_offset;
  b->length = v->length;
  b->ab_length = v->ab_length;
  b->pooled = v->pooled;
  if (v->seg) {
    b->slab = v->seg->id;
    b->ab_offset = v->ab_offset;
    b->read_only = b->sealed = v->seg->read_only; /* (an import may say otherwise: its caller) */
    b->shared = v->seg->shared != NULL;
    if (!v->seg->announced) {
      int rc = segment_open_for_peer(v->seg->fd, !v->seg->read_only, fd);
      if (rc < 0) {
        heap_release(&s->heap, v->id);
        return alloc_failed(s, rc, e);
      }
      v->seg->announced = true;
      b->slab_size = v->seg->size;
    }
  }
  return 0;
}

/* A buffer reply for v (see describe()). */
static int reply_buffer(conn_session *s, dispatch_reply *r, const heap_view *v) {
  int rc = describe(s, v, &r->u.buffer, &r->fd, &r->err);
  if (rc == 0) {
    r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_BUFFER;
    r->msg.buffer = &r->u.buffer;
  }
  return rc;
}

/* ---- jobs ---------------------------------------------------------------------------------- */

/* A new ArrayBuffer of ab_length bytes whose chunk may be left unreserved: when it is (a
 * segment of its own), the job starts with reserving it. */
static int dedicated(conn_session *s, uint64_t ab_length, uint64_t length, unsigned flags,
                     heap_view *v, dispatch_job *j, sb_error *e) {
  bool lazy = ab_length > SLAB_RUN_MAX;
  int rc = heap_dedicated(&s->heap, ab_length, length, flags | (lazy ? HEAP_UNRESERVED : 0), v);
  if (rc < 0)
    return alloc_failed(s, rc, e);
  j->buffer = v->id;
  if (lazy) {
    j->kind = DISPATCH_JOB_RESERVE;
    j->dst = v->seg->fd;
    j->dst_off = v->ab_offset;
    j->reserve = slab_chunk_size(ab_length);
  }
  return 0;
}

/* Turns a job (kind RESERVE or not yet set) into a fill of the new buffer v. */
static int job_fill(dispatch_job *j, const heap_view *v, const uint8_t *pat, size_t n) {
  if ((j->pattern = malloc(n)) == NULL)
    return -ENOMEM;
  memcpy(j->pattern, pat, n);
  j->npattern = n;
  j->kind = DISPATCH_JOB_FILL;
  j->dst = v->seg->fd;
  j->dst_off = heap_view_pos(v);
  j->len = v->length;
  return 0;
}

static void job_copy(dispatch_job *j, const heap_view *src, const heap_view *v) {
  j->kind = DISPATCH_JOB_COPY;
  j->src = src->seg->fd;
  j->src_off = heap_view_pos(src);
  j->dst = v->seg->fd;
  j->dst_off = heap_view_pos(v);
  j->len = src->length;
}

void dispatch_job_drop(dispatch_job *j) {
  free(j->pattern);
  *j = (dispatch_job){.kind = DISPATCH_JOB_NONE, .dst = -1, .src = -1};
}

/* One slice of a job's work, at most `budget` bytes. Returns 0 or a negative errno. */
static int job_slice(dispatch_job *j, uint64_t budget) {
  if (j->reserved < j->reserve) {
    uint64_t n = j->reserve - j->reserved;
    n = n < RESERVE_STEP ? n : RESERVE_STEP;
    int rc = segment_reserve(j->dst, j->dst_off + j->reserved, n);
    j->reserved += n;
    return rc;
  }
  uint64_t n = j->len - j->done;
  n = n < budget ? n : budget;
  int rc;
  if (j->kind == DISPATCH_JOB_COPY)
    rc = segment_copy(j->src, j->src_off + j->done, j->dst, j->dst_off + j->done, n);
  else { /* whole periods, so the next slice starts the pattern afresh */
    uint64_t periods = n / j->npattern;
    n = periods ? periods * j->npattern : j->len - j->done < j->npattern ? j->len - j->done
                                                                          : j->npattern;
    rc = segment_fill(j->dst, j->dst_off + j->done, n, j->pattern, j->npattern);
  }
  j->done += n;
  return rc;
}

/* A job that failed: its buffer is given back, and r is the error reply instead. */
static int job_failed(conn_session *s, dispatch_job *j, int rc, dispatch_reply *r) {
  uint64_t request = j->request;
  session_tally tally = session_tally_of(s);
  heap_release(&s->heap, j->buffer);
  session_account(s, tally);
  dispatch_job_drop(j);
  reply_reset(r);
  r->msg.id = request;
  s->refusal = NULL;
  alloc_failed(s, rc, &r->err);
  reply_error(r);
  r->msg.retired_slabs = session_retired_tell(s, &r->msg.n_retired_slabs);
  s->books->t.errors_total++;
  return rc;
}

int dispatch_job_run(dispatcher *d, conn_session *s, dispatch_job *j, uint64_t budget,
                     dispatch_reply *r) {
  (void)d;
  uint64_t spent = 0;
  while (j->reserved < j->reserve || (j->kind != DISPATCH_JOB_RESERVE && j->done < j->len)) {
    if (spent >= budget)
      return 0;
    uint64_t before = j->reserved + j->done;
    int rc = job_slice(j, budget - spent);
    spent += j->reserved + j->done - before;
    if (rc < 0)
      return job_failed(s, j, rc, r);
  }
  int rc = j->seal ? share_seal(j->seal) : 0; /* nobody maps the fresh copy yet */
  if (rc < 0)
    return job_failed(s, j, rc, r);
  dispatch_job_drop(j);
  return 1;
}

/* ---- operations ---------------------------------------------------------------------------- */

/* Writes a new buffer's bytes; on failure the buffer is given back. */
static int put(conn_session *s, const heap_view *v, const uint8_t *data, size_t n, sb_error *e) {
  if (n == 0)
    return 0;
  int rc = segment_write(v->seg->fd, heap_view_pos(v), data, n);
  if (rc < 0) {
    heap_release(&s->heap, v->id);
    return alloc_failed(s, rc, e);
  }
  return 0;
}

/* Node's fromArrayLike(): empty, pooled under poolSize >>> 1, dedicated otherwise. The bytes
 * are the caller's to write; with `j`, a big dedicated one may be left to reserve. */
static int array_like(conn_session *s, uint64_t n, heap_view *v, dispatch_job *j, sb_error *e) {
  int rc;
  if (n == 0)
    rc = heap_empty(&s->heap, v);
  else if (sb_pool_takes(n, s->pool_size))
    rc = heap_pooled(&s->heap, n, n, v);
  else if (j)
    return dedicated(s, n, n, 0, v, j, e);
  else
    rc = heap_dedicated(&s->heap, n, n, 0, v);
  return rc < 0 ? alloc_failed(s, rc, e) : 0;
}

/* Node's createUnsafeBuffer(): a dedicated ArrayBuffer; empty for size 0. */
static int unsafe_slow(conn_session *s, uint64_t ab_length, uint64_t length, heap_view *v,
                       dispatch_job *j, sb_error *e) {
  if (ab_length == 0) {
    int rc = heap_empty(&s->heap, v);
    return rc < 0 ? alloc_failed(s, rc, e) : 0;
  }
  unsigned zero = ab_length <= SB_UNSAFE_SLOW_ZEROED ? HEAP_ZERO : 0;
  if (j)
    return dedicated(s, ab_length, length, zero, v, j, e);
  int rc = heap_dedicated(&s->heap, ab_length, length, zero, v);
  return rc < 0 ? alloc_failed(s, rc, e) : 0;
}

static sb_str fill_string(const Shmbufwire__Fill *f) {
  if (f->value_case == SHMBUFWIRE__FILL__VALUE_UTF16)
    return sb_str_utf16((const uint16_t *)f->utf16.data, f->utf16.len / 2);
  return sb_str_utf8((const char *)f->utf8.data, f->utf8.len);
}

/* The repeating pattern of a fill, as _fill() and the binding's Fill() compute it. Sets *n to
 * 0 for "no fill" (a zero fill, or an empty string, which Node turns into 0). */
static int fill_pattern(dispatcher *d, conn_session *s, const Shmbufwire__Fill *f,
                        const uint8_t **pat, size_t *n, uint8_t *byte, sb_error *e) {
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
    uint8_t *out = scratch(d, cap ? cap : 1);
    if (out == NULL)
      return alloc_failed(s, -ENOMEM, e);
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

static int op_alloc(dispatcher *d, conn_session *s, const Shmbufwire__Alloc *a, heap_view *v,
                    dispatch_job *j, sb_error *e) {
  int rc = check_size(a->size, e);
  if (rc < 0)
    return rc;
  const uint8_t *pat = NULL;
  size_t n = 0;
  uint8_t byte;
  if (a->fill && a->size > 0) {
    rc = fill_pattern(d, s, a->fill, &pat, &n, &byte, e);
    if (rc < 0)
      return rc;
  }
  uint64_t size = (uint64_t)a->size;
  if (size == 0) {
    rc = heap_empty(&s->heap, v);
    return rc < 0 ? alloc_failed(s, rc, e) : 0;
  }
  if ((rc = dedicated(s, size, size, n == 0 ? HEAP_ZERO : 0, v, j, e)) < 0 || n == 0)
    return rc;
  if (job_fill(j, v, pat, n) < 0) {
    heap_release(&s->heap, v->id);
    return alloc_failed(s, -ENOMEM, e);
  }
  return 0;
}

static int op_alloc_unsafe(conn_session *s, int64_t size, heap_view *v, dispatch_job *j,
                           sb_error *e) {
  int rc = check_size(size, e);
  if (rc < 0)
    return rc;
  if (!sb_pool_takes((uint64_t)size, s->pool_size))
    return unsafe_slow(s, (uint64_t)size, (uint64_t)size, v, j, e);
  rc = heap_pooled(&s->heap, (uint64_t)size, (uint64_t)size, v);
  return rc < 0 ? alloc_failed(s, rc, e) : 0;
}

/* A lease: a whole pool (size 0), or a zero-filled region of `size` bytes that the client
 * carves itself (a big one reserved by the job). */
static int op_lease(conn_session *s, int64_t size, heap_view *v, dispatch_job *j, sb_error *e) {
  int rc = check_size(size, e);
  if (rc < 0)
    return rc;
  if (size > 0)
    return dedicated(s, (uint64_t)size, (uint64_t)size, HEAP_REGION | HEAP_ZERO, v, j, e);
  rc = heap_dedicated(&s->heap, s->pool_size, s->pool_size, HEAP_LEASED, v);
  return rc < 0 ? alloc_failed(s, rc, e) : 0;
}

/* Buffer.from(string, encoding): fromString(), fromStringFast(), createFromString(). The bytes
 * come with the request, so they are written at once: their frame took as long to arrive. */
static int from_string(dispatcher *d, conn_session *s, sb_str str, ProtobufCBinaryData encoding,
                       heap_view *v, sb_error *e) {
  sb_enc enc;
  int rc = check_encoding(encoding, &enc, e);
  if (rc < 0)
    return rc;
  if (sb_str_units(str) == 0)
    return array_like(s, 0, v, NULL, e);
  if (sb_str_units(str) > SB_MAX_STRING_LENGTH) /* no JS string is that long */
    return sb_err_set(e, -ERANGE, "ERR_STRING_TOO_LONG",
                      "Cannot create a string longer than 0x1fffffe8 characters");
  sb_from_string_plan plan = sb_from_string_plan_for(str, enc, s->pool_size);
  uint8_t *out = scratch(d, plan.room ? plan.room : 1);
  if (out == NULL)
    return alloc_failed(s, -ENOMEM, e);
  size_t actual = sb_encode(str, enc, out, plan.room);
  if (plan.pooled) {
    rc = heap_pooled(&s->heap, plan.room, actual, v);
    if (rc < 0)
      return alloc_failed(s, rc, e);
  } else if ((rc = unsafe_slow(s, plan.room, actual, v, NULL, e)) < 0)
    return rc;
  return put(s, v, out, actual, e);
}

static int op_from(dispatcher *d, conn_session *s, const Shmbufwire__From *f, heap_view *v,
                   dispatch_job *j, sb_error *e) {
  int rc;
  switch (f->source_case) {
  case SHMBUFWIRE__FROM__SOURCE_BYTES:
    rc = array_like(s, f->bytes.len, v, NULL, e);
    return rc < 0 ? rc : put(s, v, f->bytes.data, f->bytes.len, e);
  case SHMBUFWIRE__FROM__SOURCE_ARRAY: {
    size_t n = f->array ? f->array->n_values : 0;
    uint8_t *out = scratch(d, n ? n : 1);
    if (out == NULL)
      return alloc_failed(s, -ENOMEM, e);
    sb_to_uint8_all(f->array->values, n, out);
    rc = array_like(s, n, v, NULL, e);
    return rc < 0 ? rc : put(s, v, out, n, e);
  }
  case SHMBUFWIRE__FROM__SOURCE_UTF8:
    return from_string(d, s, sb_str_utf8((const char *)f->utf8.data, f->utf8.len), f->encoding, v,
                       e);
  case SHMBUFWIRE__FROM__SOURCE_UTF16:
    return from_string(d, s, sb_str_utf16((const uint16_t *)f->utf16.data, f->utf16.len / 2),
                       f->encoding, v, e);
  case SHMBUFWIRE__FROM__SOURCE_BUFFER: {
    heap_view src;
    if (heap_get(&s->heap, f->buffer, &src) < 0) {
      char shown[32];
      snprintf(shown, sizeof shown, "%llu", (unsigned long long)f->buffer);
      return sb_err_arg_value(e, -ENOENT, "buffer", shown);
    }
    if ((rc = array_like(s, src.length, v, j, e)) < 0 || src.length == 0)
      return rc;
    job_copy(j, &src, v); /* after a reservation, when there is one */
    return 0;
  }
  default:
    return sb_err_set(e, -EINVAL, "ERR_INVALID_ARG_TYPE",
                      "The first argument must be of type string or an instance of Buffer, "
                      "ArrayBuffer, or Array or an Array-like Object. Received undefined");
  }
}

/* ---- the other requests -------------------------------------------------------------------- */

static void add_counter(dispatch_reply *r, const char *name, uint64_t value, bool gauge,
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

static void op_stats(dispatcher *d, conn_session *s, dispatch_reply *r) {
  session_measure_all(s->books);
  const session_totals *t = &s->books->t;
  const session_limits *l = &s->books->limits;
  shmbufwire__stats_reply__init(&r->u.stats);
  r->u.stats.counters = r->counter_ptrs;
  add_counter(r, "connections", t->connections, true, "Open client connections");
  add_counter(r, "buffers", t->buffers, true, "Live buffers");
  add_counter(r, "bytes", t->bytes, true, "Sum of the lengths of live buffers");
  add_counter(r, "pools", t->pools, true, "Live pools (ArrayBuffers shared by small buffers)");
  add_counter(r, "slabs", t->slabs, true, "Shared-memory objects held for clients");
  add_counter(r, "reserved_bytes", t->reserved, true, "Shared memory reserved for clients");
  add_counter(r, "resident_bytes", t->resident, true,
              "Shared memory the kernel holds for clients' slabs, as measured");
  add_counter(r, "metadata_bytes", t->buffers * SESSION_BUFFER_COST, true,
              "Bookkeeping of live buffers, charged like shared memory");
  add_counter(r, "warm_bytes", t->warm, true, "Reserved bytes kept for reuse by their connection");
  add_counter(r, "leased_bytes", t->leased, true,
              "Regions leased to clients that carve buffers out of them themselves (each region "
              "is one of the buffers above; what a client uses of it is the client's to know)");
  add_counter(r, "input_bytes", t->input, true,
              "Memory held by partly received requests, beyond what each connection keeps");
  add_counter(r, "max_memory_bytes", l->max_memory, true,
              "Cap on shared memory and bookkeeping (0: none)");
  add_counter(r, "pool_size_bytes", l->pool_size, true, "Buffer.poolSize for new connections");
  add_counter(r, "uptime_seconds", (d->now_ms - d->started_ms) / 1000, true,
              "Seconds since the daemon started serving");
  add_counter(r, "connections_total", t->connections_total, false, "Connections accepted");
  add_counter(r, "connections_refused_total", t->refused_total, false, "Connections refused");
  add_counter(r, "requests_total", t->requests_total, false, "Requests served");
  add_counter(r, "errors_total", t->errors_total, false, "Requests answered with an error");
  add_counter(r, "enospc_total", t->enospc_total, false,
              "Allocations the system had no shared memory for");
  uint64_t shares, imports, shared;
  share_expire(d->shares, d->now_ms); /* the sweep's cadence must not show a dead token */
  share_counts(d->shares, &shares, &imports, &shared);
  add_counter(r, "shares", shares, true, "Live share tokens");
  add_counter(r, "imports", imports, true, "Shared objects mapped by a connection that did not "
              "export them");
  add_counter(r, "shared_bytes", shared, true, "Shared objects, each charged to one party");
  add_counter(r, "session_buffers", s->heap.buffers, true, "Live buffers of this connection");
  add_counter(r, "session_reserved_bytes", s->heap.slab.reserved, true,
              "Bytes reserved by this connection");
  add_counter(r, "session_leased_bytes", s->heap.leased, true,
              "Regions leased to this connection");
  add_counter(r, "session_shared_bytes", s->shared, true,
              "Shared objects this connection pays for");
  add_counter(r, "session_imported_bytes", s->imported, true,
              "Shared objects this connection maps and another party pays for");
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_STATS;
  r->msg.stats = &r->u.stats;
}

static void op_hello(dispatcher *d, conn_session *s, const Shmbufwire__Hello *h,
                     dispatch_reply *r) {
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
  s->greeted_ms = d->now_ms;
  s->max_frame = s->books->limits.max_frame; /* the promise this connection keeps */
  Shmbufwire__Welcome *w = &r->u.welcome;
  shmbufwire__welcome__init(w);
  w->version = SB_PROTOCOL_VERSION;
  w->pool_size = s->pool_size;
  w->max_frame = s->max_frame;
  w->max_length = SB_MAX_LENGTH;
  w->server = "shmbufd " PACKAGE_VERSION;
  w->batches = true;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_WELCOME;
  r->msg.welcome = w;
}

static void op_release(conn_session *s, uint64_t id, dispatch_reply *r) {
  if (heap_release(&s->heap, id) < 0) {
    char shown[32];
    snprintf(shown, sizeof shown, "%llu", (unsigned long long)id);
    sb_err_arg_value(&r->err, -ENOENT, "buffer", shown);
    reply_error(r);
    return;
  }
  shmbufwire__released__init(&r->u.released); /* retired_slabs: see dispatch_handle() */
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_RELEASED;
  r->msg.released = &r->u.released;
}

/* ---- the connections ----------------------------------------------------------------------- */

/* Whether a connection is listed for the asker: root and the daemon's own user see every one
 * that has said hello, anyone else their own. */
static bool listed(const conn_session *o, uid_t asker, bool sees_all) {
  return o->greeted && (sees_all || o->user->uid == asker);
}

static void op_list_clients(dispatcher *d, conn_session *s, dispatch_reply *r) {
  uid_t asker = s->user->uid;
  bool sees_all = asker == 0 || asker == geteuid();
  size_t n = 0;
  for (const conn_session *o = s->books->sessions; o; o = o->next)
    n += listed(o, asker, sees_all);
  if (n > d->cap_rows) {
    dispatch_client_row *rows = realloc(d->rows, n * sizeof *rows);
    Shmbufwire__ClientInfo **ptrs = rows ? realloc(d->row_ptrs, n * sizeof *ptrs) : NULL;
    if (rows)
      d->rows = rows;
    if (ptrs == NULL) {
      sb_err_set(&r->err, -ENOMEM, "ERR_MEMORY_ALLOCATION_FAILED",
                 "Listing the connections failed: the daemon is out of memory");
      reply_error(r);
      return;
    }
    d->row_ptrs = ptrs;
    d->cap_rows = n;
  }
  size_t i = 0;
  for (const conn_session *o = s->books->sessions; o; o = o->next) {
    if (!listed(o, asker, sees_all))
      continue;
    dispatch_client_row *row = &d->rows[i];
    Shmbufwire__ClientInfo *c = &row->info;
    shmbufwire__client_info__init(c);
    c->pid = (int32_t)o->pid;
    c->uid = (uint32_t)o->user->uid;
    if (o->pid <= 0 || host_process_name(o->pid, row->command, sizeof row->command) < 0)
      row->command[0] = '\0';
    c->command = row->command;
    c->buffers = o->heap.buffers;
    c->bytes = o->heap.bytes;
    c->reserved_bytes = o->heap.slab.reserved;
    c->slabs = o->heap.slab.nsegs;
    c->age_ms = d->now_ms - o->greeted_ms;
    c->requests = o->requests;
    d->row_ptrs[i++] = c;
  }
  shmbufwire__client_list__init(&r->u.clients);
  r->u.clients.clients = d->row_ptrs;
  r->u.clients.n_clients = i;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_CLIENTS;
  r->msg.clients = &r->u.clients;
}

/* ---- sharing ------------------------------------------------------------------------------ */

static int token_error(sb_error *e) {
  return sb_err_set(e, -ENOENT, "ERR_SHMBUF_TOKEN",
                    "The token names no share this connection may import");
}

static int writable_sealed(sb_error *e) {
  return sb_err_set(e, -EINVAL, "ERR_INVALID_ARG_VALUE",
                    "The argument 'writable' is invalid. A read-only buffer cannot be shared "
                    "writable");
}

/* Where share_place() put a range, and the job that fills the new object when there is one. */
static int place(dispatcher *d, conn_session *s, const Shmbufwire__ShareRange *q, bool seal,
                 heap_view *v, dispatch_job *j, sb_error *e) {
  share_copy copy;
  if (q == NULL)
    return sb_err_set(e, -EINVAL, "ERR_INVALID_ARG_TYPE",
                      "The \"range\" argument must be given. Received undefined");
  int rc = share_place(d->shares, s, q->buffer, q->ab_offset, q->ab_length, q->byte_offset,
                       q->length, seal, v, &copy);
  if (rc == -ENOENT) {
    char shown[32];
    snprintf(shown, sizeof shown, "%llu", (unsigned long long)q->buffer);
    return sb_err_arg_value(e, -ENOENT, "buffer", shown);
  }
  if (rc == -ERANGE)
    return sb_err_bounds(e, NULL);
  if (rc < 0)
    return alloc_failed(s, rc, e);
  if (copy.dst >= 0) /* a new object, filled (and sealed) before anyone sees it */
    *j = (dispatch_job){.kind = DISPATCH_JOB_COPY, .seal = copy.seal, .buffer = v->id,
                        .dst = copy.dst, .src = copy.src, .src_off = copy.src_off,
                        .reserve = copy.reserve, .len = copy.len};
  return 0;
}

static void op_share(dispatcher *d, conn_session *s, const Shmbufwire__Share *q, dispatch_reply *r) {
  heap_view v;
  dispatch_job *j = &r->job;
  int rc = q->writable && q->sealed ? writable_sealed(&r->err)
                                    : place(d, s, q->range, q->sealed, &v, j, &r->err);
  if (rc < 0) {
    reply_error(r);
    return;
  }
  r->token[0] = '\0';
  unsigned flags = (q->writable ? SHARE_WRITABLE : 0) | (q->single_use ? SHARE_SINGLE_USE : 0) |
                   (q->persist ? SHARE_PERSIST : 0);
  share_rights rights = {q->allow_uids, q->n_allow_uids, q->allow_gids, q->n_allow_gids};
  rc = share_publish(d->shares, s, v.id, flags, q->ttl_ms, &rights, d->now_ms, r->token);
  if (rc == 0)
    rc = describe(s, &v, &r->buffer, &r->fd, &r->err);
  if (rc < 0) {
    if (r->token[0]) /* published, but the exporter will never hear of it */
      share_revoke(d->shares, s->user->uid, r->token);
    if (j->kind != DISPATCH_JOB_NONE) /* the new buffer goes; a handed-over one stays put */
      heap_release(&s->heap, v.id);
    dispatch_job_drop(j);
    if (rc == -EINVAL)
      sb_err_set(&r->err, rc, "ERR_INVALID_ARG_VALUE",
                 "The argument 'ttl_ms' is invalid. A share that persists needs a TTL");
    else if (rc == -EPERM)
      writable_sealed(&r->err);
    else if (r->err.message == NULL)
      alloc_failed(s, rc, &r->err);
    reply_error(r);
    return;
  }
  if (j->kind != DISPATCH_JOB_NONE)
    j->request = r->msg.id;
  shmbufwire__shared__init(&r->u.shared);
  r->u.shared.token = r->token;
  r->u.shared.buffer = &r->buffer;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_SHARED;
  r->msg.shared = &r->u.shared;
}

static void op_seal(dispatcher *d, conn_session *s, const Shmbufwire__Seal *q, dispatch_reply *r) {
  heap_view v;
  dispatch_job *j = &r->job;
  if (place(d, s, q->range, true, &v, j, &r->err) < 0 || reply_buffer(s, r, &v) < 0) {
    dispatch_job_drop(j);
    reply_error(r);
    return;
  }
  r->u.buffer.read_only = r->u.buffer.sealed = true;
  if (j->kind != DISPATCH_JOB_NONE)
    j->request = r->msg.id;
}

static void op_import(dispatcher *d, conn_session *s, const char *token, dispatch_reply *r) {
  heap_view v;
  bool read_only, sealed;
  int rc = share_import(d->shares, s, s->user->uid, s->gid, token ? token : "", d->now_ms, &v,
                        &read_only, &sealed);
  if (rc == -ENOENT)
    token_error(&r->err);
  else if (rc < 0)
    alloc_failed(s, rc, &r->err);
  if (rc < 0 || reply_buffer(s, r, &v) < 0) {
    reply_error(r);
    return;
  }
  r->u.buffer.read_only = read_only;
  r->u.buffer.sealed = sealed;
}

static void op_unshare(dispatcher *d, conn_session *s, const char *token, dispatch_reply *r) {
  if (share_revoke(d->shares, s->user->uid, token ? token : "") < 0) {
    token_error(&r->err);
    reply_error(r);
    return;
  }
  shmbufwire__done__init(&r->u.done);
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_DONE;
  r->msg.done = &r->u.done;
}

static void add_share(void *arg, const share_info *i) {
  dispatcher *d = arg;
  if (d->ninfos == d->cap_infos) {
    size_t cap = d->cap_infos ? d->cap_infos * 2 : 16;
    Shmbufwire__ShareInfo *infos = realloc(d->infos, cap * sizeof *infos);
    Shmbufwire__ShareInfo **ptrs = infos ? realloc(d->info_ptrs, cap * sizeof *ptrs) : NULL;
    if (ptrs == NULL) { /* out of memory: the list is cut, which the count shows */
      if (infos)
        d->infos = infos;
      return;
    }
    d->infos = infos;
    d->info_ptrs = ptrs;
    d->cap_infos = cap;
  }
  Shmbufwire__ShareInfo *o = &d->infos[d->ninfos];
  shmbufwire__share_info__init(o);
  o->token = (char *)(i->token ? i->token : "");
  o->uid = (uint32_t)i->uid;
  o->pid = (int32_t)i->pid;
  o->length = i->length;
  o->writable = i->flags & SHARE_WRITABLE;
  o->sealed = i->sealed;
  o->single_use = i->flags & SHARE_SINGLE_USE;
  o->persist = i->flags & SHARE_PERSIST;
  o->importers = i->importers;
  o->age_ms = i->age_ms;
  o->ttl_ms = i->ttl_ms;
  d->ninfos++;
}

static void op_list_shares(dispatcher *d, conn_session *s, dispatch_reply *r) {
  d->ninfos = 0;
  share_expire(d->shares, d->now_ms);
  share_list(d->shares, s->user->uid, d->now_ms, add_share, d);
  for (size_t i = 0; i < d->ninfos; i++) /* the array is final now */
    d->info_ptrs[i] = &d->infos[i];
  shmbufwire__share_list__init(&r->u.shares);
  r->u.shares.shares = d->info_ptrs;
  r->u.shares.n_shares = d->ninfos;
  r->msg.result_case = SHMBUFWIRE__REPLY__RESULT_SHARES;
  r->msg.shares = &r->u.shares;
}

static bool makes_buffer(Shmbufwire__Request__OpCase op) {
  return op == SHMBUFWIRE__REQUEST__OP_ALLOC || op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE ||
         op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW || op == SHMBUFWIRE__REQUEST__OP_FROM ||
         op == SHMBUFWIRE__REQUEST__OP_LEASE || op == SHMBUFWIRE__REQUEST__OP_SHARE ||
         op == SHMBUFWIRE__REQUEST__OP_SEAL || op == SHMBUFWIRE__REQUEST__OP_IMPORT;
}

static void run(dispatcher *d, conn_session *s, const Shmbufwire__Request *q, dispatch_reply *r) {
  heap_view v;
  int rc;
  dispatch_job *j = &r->job;
  s->refusal = NULL;
  if (makes_buffer(q->op_case) && (rc = session_admit_buffer(s)) < 0) {
    alloc_failed(s, rc, &r->err);
    reply_error(r);
    return;
  }
  switch (q->op_case) {
  case SHMBUFWIRE__REQUEST__OP_HELLO:
    op_hello(d, s, q->hello, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_STATS:
    op_stats(d, s, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_RELEASE:
    op_release(s, q->release->buffer, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_SHARE:
    op_share(d, s, q->share, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_SEAL:
    op_seal(d, s, q->seal, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_IMPORT:
    op_import(d, s, q->import->token, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_UNSHARE:
    op_unshare(d, s, q->unshare->token, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_LIST_SHARES:
    op_list_shares(d, s, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_LIST_CLIENTS:
    op_list_clients(d, s, r);
    return;
  case SHMBUFWIRE__REQUEST__OP_ALLOC:
    rc = op_alloc(d, s, q->alloc, &v, j, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE:
    rc = op_alloc_unsafe(s, q->alloc_unsafe->size, &v, j, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW:
    rc = check_size(q->alloc_unsafe_slow->size, &r->err);
    if (rc == 0)
      rc = unsafe_slow(s, (uint64_t)q->alloc_unsafe_slow->size,
                       (uint64_t)q->alloc_unsafe_slow->size, &v, j, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_FROM:
    rc = op_from(d, s, q->from, &v, j, &r->err);
    break;
  case SHMBUFWIRE__REQUEST__OP_LEASE:
    rc = q->lease->size > SB_MAX_LENGTH ? sb_err_size(&r->err, (double)q->lease->size)
                                        : op_lease(s, (int64_t)q->lease->size, &v, j, &r->err);
    break;
  default:
    sb_err_set(&r->err, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the request names no operation");
    reply_error(r);
    return;
  }
  if (rc == 0 && (rc = reply_buffer(s, r, &v)) == 0) {
    if (j->kind != DISPATCH_JOB_NONE)
      j->request = q->id;
    return;
  }
  dispatch_job_drop(j);
  reply_error(r);
}

void dispatch_handle(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                     dispatch_reply *r) {
  reply_reset(r);
  s->books->t.requests_total++;
  s->requests++;
  sb_arena_limit(&d->arena, len * ARENA_PER_FRAME_BYTE + ARENA_SLACK);
  Shmbufwire__Request *q = shmbufwire__request__unpack(&d->arena.allocator, len, payload);
  if (q == NULL) {
    sb_arena_reset(&d->arena);
    dispatch_notice(r, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the frame is not a valid request");
    s->books->t.errors_total++;
    return;
  }
  r->msg.id = q->id;
  if (!s->greeted && q->op_case != SHMBUFWIRE__REQUEST__OP_HELLO) {
    sb_err_set(&r->err, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the first request must be hello");
    reply_error(r);
    r->close = true;
  } else {
    session_request_starts(s);
    session_tally before = session_tally_of(s);
    run(d, s, q, r);
    session_account(s, before);
    scratch_trim(d);
    /* every reply tells what was retired, so the list never outgrows one request */
    r->msg.retired_slabs = session_retired_tell(s, &r->msg.n_retired_slabs);
    if (r->msg.result_case == SHMBUFWIRE__REPLY__RESULT_RELEASED) {
      r->u.released.retired_slabs = r->msg.retired_slabs;
      r->u.released.n_retired_slabs = r->msg.n_retired_slabs;
    }
  }
  if (r->msg.result_case == SHMBUFWIRE__REPLY__RESULT_ERROR)
    s->books->t.errors_total++;
  sb_arena_reset(&d->arena); /* the reply keeps nothing of the request */
}

/* ---- batches ------------------------------------------------------------------------------ */


_Static_assert(SB_BATCH_SIZE_MAX <= SLAB_RUN_MAX, "a batch creation never needs a job");

/* A batch's answer as it is built: the buffers made since the last frame was packed. */
typedef struct batch_answer {
  dispatcher *d;
  conn_session *s;
  sb_bytes *out;
  dispatch_batch_out *o;
  size_t unplaced;    /* o->fds from here on ride with the next Made */
  size_t nwords;      /* the Made's words: the request id of its first buffer, then theirs */
  uint64_t words[1 + SB_BATCH_MAX * SB_MADE_WORDS];
  bool failed;        /* out of memory for the answer */
} batch_answer;

/* Takes the slabs retired since the peer was last told, for a frame that tells it now. */
static uint32_t *batch_tell_retired(batch_answer *a, size_t *n) {
  dispatcher *d = a->d;
  uint32_t *ids = session_retired_tell(a->s, n);
  if (*n == 0)
    return ids;
  if (d->nretired + *n > d->cap_retired) {
    size_t cap = (d->nretired + *n) * 2;
    uint32_t *r = realloc(d->retired, cap * sizeof *r);
    if (r == NULL) {
      a->failed = true;
      return ids;
    }
    d->retired = r;
    d->cap_retired = cap;
  }
  memcpy(d->retired + d->nretired, ids, *n * sizeof *ids);
  d->nretired += *n;
  return ids;
}

/* Appends one frame of the answer; what it told of retired slabs is forgotten. */
static void batch_append(batch_answer *a, const ProtobufCMessage *m, bool made) {
  int rc = made ? sb_frame_append_batch(a->out, m, UINT32_MAX) : sb_frame_append(a->out, m, UINT32_MAX);
  a->failed |= rc < 0;
  session_request_starts(a->s);
}

/* Packs a Made for the buffers made since the last frame; their fds ride with it. */
static void batch_made(batch_answer *a) {
  if (a->nwords == 0)
    return;
  Shmbufwire__Made m;
  shmbufwire__made__init(&m);
  m.words = a->words;
  m.n_words = a->nwords;
  m.retired_slabs = batch_tell_retired(a, &m.n_retired_slabs);
  for (; a->unplaced < a->o->nfds; a->unplaced++)
    a->o->fds[a->unplaced].at = a->out->len;
  batch_append(a, &m.base, true);
  a->nwords = 0;
}

/* Answers creation `id` with an error, after the buffers made before it. */
static void batch_error(batch_answer *a, uint64_t id, const sb_error *err) {
  batch_made(a);
  Shmbufwire__Reply r;
  Shmbufwire__Error e;
  shmbufwire__reply__init(&r);
  shmbufwire__error__init(&e);
  r.id = id;
  e.code = (char *)err->code;
  e.errnum = err->errnum;
  e.message = err->message;
  r.result_case = SHMBUFWIRE__REPLY__RESULT_ERROR;
  r.error = &e;
  r.retired_slabs = batch_tell_retired(a, &r.n_retired_slabs);
  batch_append(a, &r.base, false);
  a->s->books->t.errors_total++;
}

/* Adds buffer v, made by creation `id`, to the Made being built. */
static int batch_describe(batch_answer *a, uint64_t id, const heap_view *v, sb_error *e) {
  Shmbufwire__Buffer b;
  int fd = -1, rc = describe(a->s, v, &b, &fd, e);
  if (rc < 0)
    return rc;
  if (a->nwords == 0)
    a->words[a->nwords++] = id;
  uint64_t *w = a->words + a->nwords;
  w[0] = b.buffer;
  w[1] = b.slab | (uint64_t)b.pooled << 32;
  w[2] = b.slab_size;
  w[3] = b.ab_offset;
  w[4] = b.byte_offset;
  w[5] = b.length;
  w[6] = b.ab_length;
  a->nwords += SB_MADE_WORDS;
  if (fd >= 0)
    a->o->fds[a->o->nfds++] = (dispatch_batch_fd){0, fd, b.slab};
  return 0;
}

/* One creation: what a Request of that op with that size does (no fill, no job). */
static int batch_create(dispatcher *d, conn_session *s, uint32_t op, int64_t size, heap_view *v,
                        sb_error *e) {
  dispatch_job j = {.kind = DISPATCH_JOB_NONE, .dst = -1, .src = -1};
  s->refusal = NULL;
  int rc = session_admit_buffer(s);
  if (rc < 0)
    return alloc_failed(s, rc, e);
  if ((rc = check_size(size, e)) < 0)
    return rc;
  if (size > SB_BATCH_SIZE_MAX)
    return sb_err_set(e, -EPROTO, "ERR_SHMBUF_PROTOCOL",
                      "a creation in a batch is at most %u bytes", SB_BATCH_SIZE_MAX);
  switch (op) {
  case SHMBUFWIRE__REQUEST__OP_ALLOC: {
    Shmbufwire__Alloc a;
    shmbufwire__alloc__init(&a);
    a.size = size;
    return op_alloc(d, s, &a, v, &j, e);
  }
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE:
    return op_alloc_unsafe(s, size, v, &j, e);
  case SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW:
    return unsafe_slow(s, (uint64_t)size, (uint64_t)size, v, &j, e);
  default: /* SHMBUFWIRE__REQUEST__OP_LEASE, checked by the caller */
    return op_lease(s, size, v, &j, e);
  }
}

static bool batch_op(uint64_t op) {
  return op == SHMBUFWIRE__REQUEST__OP_ALLOC || op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE ||
         op == SHMBUFWIRE__REQUEST__OP_ALLOC_UNSAFE_SLOW || op == SHMBUFWIRE__REQUEST__OP_LEASE;
}

int dispatch_batch(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                   sb_bytes *out, dispatch_batch_out *o) {
  o->nfds = o->nretired = 0;
  o->close = false;
  d->nretired = 0;
  sb_arena_limit(&d->arena, len * ARENA_PER_FRAME_BYTE + ARENA_SLACK);
  Shmbufwire__Batch *b = shmbufwire__batch__unpack(&d->arena.allocator, len, payload);
  const uint64_t *w = b ? b->words : NULL;
  size_t n = b && b->n_words >= SB_BATCH_HEAD ? w[2] : SIZE_MAX;
  o->made_bytes = 0;
  for (size_t i = 0; n <= SB_BATCH_MAX && n <= b->n_words - SB_BATCH_HEAD && i < n; i++)
    if (w[SB_BATCH_HEAD + i] <= SB_BATCH_SIZE_MAX) /* the others fail one by one */
      o->made_bytes += w[SB_BATCH_HEAD + i];
  if (n > SB_BATCH_MAX || n > b->n_words - SB_BATCH_HEAD || (n && !batch_op(w[1])) ||
      o->made_bytes > SB_BATCH_BYTES_MAX) {
    sb_arena_reset(&d->arena);
    s->books->t.requests_total++;
    s->requests++;
    s->books->t.errors_total++;
    return -EPROTO;
  }
  const uint64_t id = w[0], *sizes = w + SB_BATCH_HEAD, *releases = sizes + n;
  size_t nreleases = b->n_words - SB_BATCH_HEAD - n;
  batch_answer a; /* (its words are written before they are read: not cleared) */
  a.d = d;
  a.s = s;
  a.out = out;
  a.o = o;
  a.unplaced = a.nwords = 0;
  a.failed = false;
  sb_error e; /* (its inline room is written before it is read: not cleared) */
  e.message = NULL;
  s->books->t.requests_total += nreleases + n;
  s->requests += nreleases + n;
  session_request_starts(s); /* what the last reply told is forgotten */
  if (!s->greeted) {
    sb_err_set(&e, -EPROTO, "ERR_SHMBUF_PROTOCOL", "the first request must be hello");
    batch_error(&a, id, &e);
    o->close = true;
  } else {
    session_tally before = session_tally_of(s);
    for (size_t i = 0; i < nreleases; i++)
      if (heap_release(&s->heap, releases[i]) < 0) /* no reply to tell it: counted only */
        s->books->t.errors_total++;
    for (size_t i = 0; i < n; i++) {
      heap_view v;
      if (batch_create(d, s, (uint32_t)w[1], (int64_t)sizes[i], &v, &e) < 0 ||
          batch_describe(&a, id + i, &v, &e) < 0)
        batch_error(&a, id + i, &e);
      sb_error_release(&e);
    }
    batch_made(&a);
    session_account(s, before);
    scratch_trim(d);
  }
  sb_error_release(&e);
  sb_arena_reset(&d->arena);
  o->retired = d->retired;
  o->nretired = d->nretired;
  if (a.failed) {
    while (o->nfds > 0)
      segment_close(o->fds[--o->nfds].fd);
    return -ENOMEM;
  }
  return 0;
}
