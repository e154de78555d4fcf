/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point: bytes as a client would write them on its socket, cut into frames
 * the way the server cuts them and answered by a real session (real shm segments, small
 * limits). Every reply must pack and describe memory inside its slab, and ending the session
 * must bring the daemon's totals back to zero. Built with clang -fsanitize=fuzzer by
 * `make fuzz`; the corpus and every crash it found are replayed by tests/check_dispatch.c. */
#include "config.h"

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
    long n = sb_frame_next(data + off, size - off, FUZZ_MAX_FRAME, &payload, &len);
    if (n <= 0) /* incomplete, or a violation the server answers with a notice and a close */
      break;
    fuzz_answer(&d, &s, payload, len, &r);
    check_reply(&r, &out);
    if (r.close)
      break;
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
