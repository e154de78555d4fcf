/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point: bytes as a client would write them on its socket, cut into frames
 * the way the server cuts them and answered by a real session (real shm segments, small
 * limits). Every reply must pack and describe memory inside its slab, and ending the session
 * must bring the daemon's totals back to zero. Built with clang -fsanitize=fuzzer by
 * `make fuzz`; the corpus and every crash it found are replayed by tests/check_dispatch.c. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "dispatch.h"
#include "frame.h"
#include "fuzz.h"

#define FUZZ_MAX_FRAME (1u << 20)

static session_books books = {
    .limits = {.pool_size = 8192,
               .max_frame = FUZZ_MAX_FRAME,
               .max_memory = 64u << 20,
               .conn_max_bytes = 32u << 20,
               .conn_max_buffers = 4096,
               .warm_bytes = 1u << 20},
};

/* A reply must be packable, and a buffer must lie inside its slab. */
static void check_reply(const dispatch_reply *r, sb_bytes *out) {
  if (sb_frame_append(out, &r->msg.base, UINT32_MAX) < 0)
    abort();
  sb_bytes_consume(out, out->len);
  if (r->msg.result_case != SHMBUFWIRE__REPLY__RESULT_BUFFER)
    return;
  const Shmbufwire__Buffer *b = r->msg.buffer;
  if (b->byte_offset > b->ab_length || b->length > b->ab_length - b->byte_offset)
    abort();
  if (b->slab == 0 && (b->ab_length != 0 || b->slab_size != 0))
    abort();
}

void fuzz_answer(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                 dispatch_reply *r) {
  dispatch_handle(d, s, payload, len, r);
  int fd = r->fd;
  r->fd = -1;
  if (r->job.kind != DISPATCH_JOB_NONE) {
    dispatch_job job = r->job; /* the server keeps the job, and the packed reply, apart */
    r->job.kind = DISPATCH_JOB_NONE;
    r->job.pattern = NULL;
    if (dispatch_job_run(d, s, &job, UINT64_MAX, r) < 0 && fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
  if (fd >= 0)
    close(fd);
}

/* A batch's answer must be whole frames, each a Reply or a Made of whole buffers, each in its
 * slab. Returns whether the connection goes on. */
static bool fuzz_batch(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                       sb_bytes *out) {
  dispatch_batch_out o;
  int rc = dispatch_batch(d, s, payload, len, out, &o);
  for (size_t i = 0; i < o.nfds && rc == 0; i++)
    close(o.fds[i].fd);
  if (rc < 0)
    return false;
  while (out->len > 0) {
    const uint8_t *p;
    uint32_t l;
    bool made;
    long n = sb_frame_next_kind(sb_bytes_head(out), out->len, UINT32_MAX, &p, &l, &made);
    if (n <= 0)
      abort();
    if (made) {
      Shmbufwire__Made *m = shmbufwire__made__unpack(NULL, l, p);
      if (m == NULL || m->n_words < 8 || (m->n_words - 1) % 7)
        abort();
      for (size_t k = 1; k < m->n_words; k += 7) /* byte_offset, length, ab_length */
        if (m->words[k + 4] > m->words[k + 6] || m->words[k + 5] > m->words[k + 6] - m->words[k + 4])
          abort();
      shmbufwire__made__free_unpacked(m, NULL);
    } else {
      Shmbufwire__Reply *r = shmbufwire__reply__unpack(NULL, l, p);
      if (r == NULL || r->result_case != SHMBUFWIRE__REPLY__RESULT_ERROR)
        abort();
      shmbufwire__reply__free_unpacked(r, NULL);
    }
    sb_bytes_consume(out, (size_t)n);
  }
  return !o.close;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static dispatch_reply r;
  static dispatcher d;
  conn_session s;
  sb_bytes out = {0};
  static share_registry *shares;
  if (d.books == NULL) {
    share_registry_init(&shares, &books);
    dispatch_init(&d, &books, shares);
  }
  session_init(&s, &books, 0, 0, 0);
  for (size_t off = 0; off < size;) {
    const uint8_t *payload;
    uint32_t len;
    bool batch;
    long n = sb_frame_next_kind(data + off, size - off, FUZZ_MAX_FRAME, &payload, &len, &batch);
    if (n <= 0) /* incomplete, or a violation the server answers with a notice and a close */
      break;
    if (batch) {
      if (!fuzz_batch(&d, &s, payload, len, &out))
        break;
    } else {
      fuzz_answer(&d, &s, payload, len, &r);
      check_reply(&r, &out);
      if (r.close)
        break;
    }
    off += (size_t)n;
  }
  share_session_gone(shares, &s);
  session_fini(&s, true);
  sb_bytes_free(&out);
  const session_totals *t = &books.t;
  if (t->connections || t->buffers || t->bytes || t->pools || t->slabs || t->reserved || t->warm)
    abort();
  return 0;
}
