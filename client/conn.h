/* libshmbuf internals shared by its files: the client, its slabs, handles and requests. */
#ifndef SBC_CONN_H
#define SBC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "node.h"
#include "shmbuf.h"
#include "shmbuf.pb-c.h"

/* A mapped slab: one shared-memory object of this connection, mapped once. */
typedef struct cl_slab {
  uint8_t *base;
  uint64_t size;
} cl_slab;

/* One buffer the daemon made, shared by every view derived from it (subarray, ...). Holding
 * it keeps the backing ArrayBuffer alive in the daemon. */
typedef struct cl_backing {
  uint64_t id;        /* the daemon's buffer id */
  uint8_t *ab;        /* the backing ArrayBuffer's first byte; NULL when it is empty */
  uint64_t ab_length;
  uint64_t ab_key;    /* names the ArrayBuffer: slab id << 40 | offset in the slab */
  uint64_t byte_offset, length; /* the daemon buffer's own range in the ArrayBuffer */
  uint32_t refs;
  bool pooled;
} cl_backing;

struct shmbuf_buf {
  shmbuf_client *c;
  cl_backing *bk;
  uint8_t *data;
  size_t length;
  size_t byte_offset;
  shmbuf_buf *prev, *next; /* the client's live handles */
};

struct shmbuf_client {
  int fd;
  unsigned flags;
  bool broken;          /* the connection failed; requests get -ENOTCONN */
  uint32_t pool_size;
  uint32_t max_frame;
  uint64_t next_id;
  uint64_t unanswered;  /* releases sent whose replies are not read yet */
  sb_bytes in, out;
  int *fds;             /* fds received and not yet claimed by a reply */
  size_t nfds, cap_fds;
  cl_slab *slabs;       /* by slab id */
  uint32_t nslabs;
  shmbuf_buf *bufs;
};

/* Records a failure for shmbuf_error_code()/_message() and returns errnum. */
int cl_fail(int errnum, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cl_fail_err(const sb_error *e);

/* Sends q (its id is assigned here) and waits for its reply, handling the replies to earlier
 * releases on the way. Returns 0 and a reply to free with cl_reply_free(), or a negative
 * errno; an error reply is turned into its errnum, recorded with its code. */
int cl_call(shmbuf_client *c, Shmbufwire__Request *q, Shmbufwire__Reply **out);
void cl_reply_free(Shmbufwire__Reply *r);

/* Makes a handle for a buffer reply: maps a new slab when the reply brings one. Returns 0
 * or a negative errno (the daemon's buffer is released then). */
int cl_adopt(shmbuf_client *c, const Shmbufwire__Buffer *b, shmbuf_buf **out);

/* A request that makes one buffer: sends q, adopts the reply. */
int cl_make(shmbuf_client *c, Shmbufwire__Request *q, shmbuf_buf **out);

/* A new view on bk (whose reference count it takes), linked into c's handles. */
shmbuf_buf *cl_view(shmbuf_client *c, cl_backing *bk, uint8_t *data, size_t length,
                    size_t byte_offset);

/* Tells the daemon a buffer is no longer used, without waiting for the answer. */
void cl_send_release(shmbuf_client *c, uint64_t id);

#endif
