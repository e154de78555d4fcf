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
 * Uses the wire and the slab table; knows nothing of handles, pools or what a settle function
 * does with its reply. */
#ifndef SBC_FLIGHT_H
#define SBC_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmbuf.h"
#include "shmbuf.pb-c.h"
#include "slabs.h"
#include "wire.h"

/* What a settled request leaves for its callback. */
typedef struct flight_outcome {
  bool deliver;      /* run the request's callback in its turn with the two below */
  int status;        /* 0, or a negative errno recorded with its code */
  shmbuf_buf *ready; /* the callback's handle (status 0) */
} flight_outcome;

/* Turns a reply into an outcome (all false/0/NULL when called). It owns r and frees it with
 * wire_reply_free(). r is NULL when the connection was lost before the reply came, or the
 * reply was refused; otherwise it is an error (see flight_error()) or the kind of reply that
 * answers the request (a Buffer for the requests that make one). It may queue further
 * requests. */
typedef void (*flight_settle_fn)(shmbuf_client *c, Shmbufwire__Reply *r, void *arg,
                                 flight_outcome *out);

typedef struct flight_entry flight_entry;

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
