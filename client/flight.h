/* SPDX-License-Identifier: MIT */
/* Requests in flight: one ring, in request order, of requests waiting for their replies and
 * of results waiting to be handed to their callbacks. A reply settles the oldest waiting
 * request as soon as any call reads it: a slab it brings is mapped then (fds arrive in reply
 * order), slabs it retires are unmapped, and the request's settle function turns it into a
 * result. Before any of that, the reply is checked: it must answer the oldest request, be of
 * the kind that answers it (or an error with an errno), and its slabs must hold up
 * (slabs.h); the fds that came must not outnumber the replies still to come. A reply that
 * fails a check breaks the connection with -EPROTO, and its request fails with it.
 * Callbacks run only from flight_process() and flight_wait(), in order, so that no blocking
 * call ever runs user code in the middle of its own work.
 *
 * With a daemon that takes batch frames (proto/README.md, Batches), the hot requests — the
 * creations that carry only a size, and releases — are gathered into the batch being built,
 * which goes out as one frame before any other request and whenever the queue is flushed.
 * A release there has no reply; each creation is answered by its part of a Made frame, which
 * settles as many requests as it describes buffers, each as a Buffer reply would.
 *
 * Uses the wire and the slab table; knows nothing of handles, pools or what a settle function
 * does with its reply. */
#ifndef SBC_FLIGHT_H
#define SBC_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "shmbuf.h"
#include "shmbuf.pb-c.h"
#include "slabs.h"
#include "wire.h"


/* What a settled request leaves for its callback. */
typedef struct flight_outcome {
  bool deliver;      /* run the request's callback in its turn with the two below */
  int status;        /* 0, or a negative errno recorded with its code */
  shmbuf_buf *ready; /* the callback's handle (status 0) */
  bool kept;         /* the settle function keeps the reply (it frees it with wire_reply_free()) */
} flight_outcome;

/* Turns a reply into an outcome (all false/0/NULL when called). r lives until it returns,
 * unless it sets out->kept (only for replies to flight_submit(): a batch creation's reply is
 * made of a Made frame's part and cannot be kept). r is NULL when the connection was lost
 * before the reply came, or the reply was refused; otherwise it is an error (see
 * flight_error()) or the kind of reply that answers the request (a Buffer for the requests
 * that make one). It may queue further requests. */
typedef void (*flight_settle_fn)(shmbuf_client *c, Shmbufwire__Reply *r, void *arg,
                                 flight_outcome *out);

typedef struct flight_entry flight_entry;

/* The batch being built, as its words (proto/shmbuf.proto, Batch): the id, op and count of
 * its creations, room for SB_BATCH_MAX sizes, then the releases. */
typedef struct flight_batch {
  uint64_t *words;
  size_t nsizes, nreleases, cap; /* cap: words allocated */
  uint64_t bytes;                 /* what its sizes add up to */
  uint64_t released;              /* what its releases give back */
} flight_batch;

typedef struct flight {
  wire *w;
  slab_table *slabs;
  shmbuf_client *owner;  /* passed to settle functions and callbacks */
  flight_entry *ring;
  size_t head, len, cap;
  size_t waiting;        /* entries still waiting for their replies */
  size_t next_answer;    /* ring position of the oldest of them */
  uint64_t next_id;
  int delivering;        /* callbacks are running (nested calls count) */
  bool closing;          /* the client is to close once the callbacks are done */
  bool batches;          /* the daemon takes batch frames */
  flight_batch batch;
  sb_arena arena;        /* what a Made frame unpacks into, for as long as it is read */
} flight;

void flight_init(flight *f, wire *w, slab_table *slabs, shmbuf_client *owner);

/* Frees the ring. Results never handed out are dropped; their handles belong to the client's
 * handle set, which frees them. */
void flight_fini(flight *f);

/* Queues request q (its id is set here) to be settled by settle(arg) (NULL: the reply is only
 * read) and, when the outcome says so, handed to cb(cb_arg). Bounds what both sides hold by
 * settling earlier replies when too many are in flight. Returns 0 or a negative errno,
 * recorded (nothing was queued then). */
int flight_submit(flight *f, Shmbufwire__Request *q, flight_settle_fn settle, void *arg,
                  shmbuf_cb cb, void *cb_arg);

/* Whether a creation of `size` may go in a batch: the daemon takes them, and the size is one
 * a batch carries. */
bool flight_batchable(const flight *f, int64_t size);

/* flight_submit() of a creation that flight_batchable() allows — `op` is its Request op:
 * alloc (zero-filled, no fill), alloc_unsafe, alloc_unsafe_slow or lease — gathered into the
 * batch. The settle function gets a Buffer reply (or an error, or NULL) that it may not keep. */
int flight_submit_batched(flight *f, uint32_t op, int64_t size, flight_settle_fn settle,
                          void *arg, shmbuf_cb cb, void *cb_arg);

/* Whether the batch being built holds all the creations one batch may: it is worth sending
 * now, so that the daemon works on it while more are queued. */
bool flight_batch_full(const flight *f);

/* Queues the release of daemon buffer id, which gives back `bytes`: in the batch when the
 * daemon takes batches (no reply; it goes out with the next request or flight_flush(), or by
 * itself once many are waiting or what they give back reaches 1 MiB), otherwise as a Release
 * request whose reply is only read. Returns 0 or a negative errno, recorded (-ENOTCONN is
 * not: the daemon lets go of everything with the connection). */
int flight_release(flight *f, uint64_t id, uint64_t bytes);

/* Queues the batch being built as a frame, then writes everything queued (wire_flush()).
 * Returns 0 or a negative errno. */
int flight_flush(flight *f);

/* Queues a result made without the daemon (or a failure, recorded now and reported to cb),
 * for callback cb in its turn. Returns 0 or -ENOMEM. */
int flight_ready(flight *f, int status, shmbuf_buf *b, shmbuf_cb cb, void *cb_arg);

/* Records an error reply's code and message. Returns its errnum, a negative errno (settling
 * checked it). */
int flight_error(const Shmbufwire__Error *e);

/* Sends q and blocks for its reply, settling earlier replies on the way (their callbacks wait
 * for flight_process() or flight_wait()). Returns 0 and the reply (free it with
 * wire_reply_free()), of the kind that answers q, or a negative errno; an error reply is
 * turned into its errnum and recorded with its code. */
int flight_call(flight *f, Shmbufwire__Request *q, Shmbufwire__Reply **out);

/* flight_call() of a batched creation: blocks for it and copies the buffer it made into
 * *out. */
int flight_call_batched(flight *f, uint32_t op, int64_t size, Shmbufwire__Buffer *out);

/* Writes what is queued, then blocks until one more reply is settled (no callback runs).
 * Returns 0 or a negative errno. */
int flight_settle_one(flight *f);

/* Reads and settles every reply already received, then runs the callbacks that are due.
 * Returns how many ran, or -ENOTCONN once the connection is lost (the callbacks of what was
 * in flight have then run with -ENOTCONN). */
int flight_process(flight *f);

/* Writes what is queued and blocks until every request in flight is answered and its
 * callback has run. Returns 0 or a negative errno. */
int flight_wait(flight *f);

/* The buffer a reply describes (a Buffer, or a Shared reply's), or NULL. */
Shmbufwire__Buffer *flight_buffer_of(const Shmbufwire__Reply *r);

/* Requests still waiting for their replies. */
static inline size_t flight_waiting(const flight *f) { return f->waiting; }

#endif
