/* SPDX-License-Identifier: MIT */
/* The byte stream to shmbufd: one Unix stream socket, request frames queued and written,
 * reply frames read and cut, and the fds that ride with replies (SCM_RIGHTS), kept in
 * arrival order until a reply claims one. It moves bytes and fds only: it knows nothing of
 * requests in flight, buffers or slabs, and never runs a callback. */
#ifndef SBC_WIRE_H
#define SBC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "shmbuf.pb-c.h"

typedef struct wire {
  int fd;
  bool broken;          /* the stream failed or lost step: nothing more goes in or out */
  int error;            /* why it broke (a negative errno), once broken */
  uint32_t max_frame;   /* the daemon's limit on a request frame (0 until the handshake) */
  sb_bytes in, out;
  int *fds;             /* received fds that no reply has claimed yet, oldest first */
  size_t nfds, cap_fds;
} wire;

/* Connects to the Unix socket at path. Returns 0, or a negative errno recorded with code
 * ERR_SHMBUF_CONNECT. */
int wire_connect(wire *w, const char *path);

/* Closes the socket and every unclaimed fd, and frees the queues. */
void wire_close(wire *w);

/* Marks the stream broken for errnum and closes the fds no reply has claimed (none ever
 * will), recording nothing. The first errnum stays in w->error. Returns errnum. */
int wire_stop(wire *w, int errnum);

/* wire_stop(), recording `why`: code ERR_SHMBUF_PROTOCOL for -EPROTO (the daemon said
 * something the library must not believe), ERR_SHMBUF_DISCONNECTED otherwise. */
int wire_broken(wire *w, int errnum, const char *why);

/* Queues msg as one frame (a batch frame when `batch`: proto/README.md, Batches). Returns 0,
 * -E2BIG (larger than the daemon's frame limit) or -ENOMEM, recorded. */
int wire_queue(wire *w, const ProtobufCMessage *msg, bool batch);

/* Bytes queued and not yet written. */
static inline size_t wire_queued(const wire *w) { return w->out.len; }

/* Writes everything queued. While the socket is full, replies are read meanwhile (not cut):
 * a daemon whose replies go unread stops reading, and both would wait forever. Returns 0 or
 * a negative errno (the stream is broken then; -ENOTCONN when it already was). */
int wire_flush(wire *w);

/* Reads what has arrived, without waiting. Returns 1 when bytes came, 0 when none were
 * there, or a negative errno (broken). */
int wire_poll_in(wire *w);

/* One frame from the daemon: its payload (NULL when no whole frame is there yet), and
 * whether it is a batch frame (a Made) rather than a Reply. */
typedef struct wire_frame {
  const uint8_t *payload;
  uint32_t len;
  bool batch;
  size_t size; /* header included */
} wire_frame;

/* Cuts the next whole frame, which stays in place until wire_frame_done(). A reply may be
 * 3 x max_frame + 64 KiB long (it may quote a request); a longer header breaks the stream
 * with -EPROTO. With `wait`,
 * blocks until one is there, with poll() when the socket is non-blocking (an event loop's
 * watcher, such as libuv's uv_poll_t, makes it so). Returns 0 or a negative errno (broken). */
int wire_next_frame(wire *w, bool wait, wire_frame *out);

/* The frame wire_next_frame() cut is used up. */
void wire_frame_done(wire *w, const wire_frame *f);

/* Frees a Reply unpacked with the default allocator. */
void wire_reply_free(Shmbufwire__Reply *r);

/* Takes the oldest unclaimed fd. Returns 0, or -EPROTO (broken) when none came. */
int wire_take_fd(wire *w, int *fd);

#endif
