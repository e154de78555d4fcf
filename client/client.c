/* SPDX-License-Identifier: MIT */
/* libshmbuf: a client's life — connecting and the handshake, running callbacks, giving back
 * what is held ahead of need, and closing. */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "errors.h"
#include "frame.h"

int shmbuf_default_socket(char *out, size_t cap) {
  const char *env = getenv("SHMBUF_SOCKET"), *rt = getenv("XDG_RUNTIME_DIR");
  static const char system_socket[] = "/run/shmbuf/shmbufd.sock";
  char own[256];
  int n;
  if (rt && rt[0])
    snprintf(own, sizeof own, "%s/shmbuf.sock", rt);
  else
    snprintf(own, sizeof own, "/run/user/%u/shmbuf.sock", (unsigned)geteuid());
  if (env && env[0])
    n = snprintf(out, cap, "%s", env);
  else if (geteuid() == 0 || (access(own, F_OK) != 0 && access(system_socket, F_OK) == 0))
    n = snprintf(out, cap, "%s", system_socket); /* a user without a daemon of their own */
  else
    n = snprintf(out, cap, "%s", own);
  return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : n;
}

/* What a Welcome may say. A pool holds at least one aligned buffer, and its offsets, rounded
 * up to 8 (node.h's sb_pool), stay within 32 bits; a frame holds at least any request the
 * library sends without a payload (shmbufd takes --max-frame from 64). */
#define WELCOME_MIN_POOL 8u
#define WELCOME_MAX_POOL (UINT32_MAX - (SB_POOL_ALIGN - 1))
#define WELCOME_MIN_FRAME 64u

static int hello(shmbuf_client *c) {
  Shmbufwire__Request q;
  Shmbufwire__Hello h;
  shmbufwire__request__init(&q);
  shmbufwire__hello__init(&h);
  h.version = SB_PROTOCOL_VERSION;
  h.client = "libshmbuf " PACKAGE_VERSION;
  q.op_case = SHMBUFWIRE__REQUEST__OP_HELLO;
  q.hello = &h;
  Shmbufwire__Reply *r;
  int rc = flight_call(&c->flight, &q, &r);
  if (rc < 0)
    return rc;
  const Shmbufwire__Welcome *w = r->welcome;
  if (w->version != SB_PROTOCOL_VERSION)
    rc = wire_broken(&c->wire, -EPROTO, "the daemon welcomed another protocol version");
  else if (w->pool_size < WELCOME_MIN_POOL || w->pool_size > WELCOME_MAX_POOL)
    rc = wire_broken(&c->wire, -EPROTO, "the daemon announced an impossible pool size");
  else if (w->max_frame < WELCOME_MIN_FRAME)
    rc = wire_broken(&c->wire, -EPROTO, "the daemon announced an impossible frame limit");
  else {
    c->pool_size = w->pool_size;
    c->wire.max_frame = w->max_frame;
    c->protocol = w->version;
    snprintf(c->daemon, sizeof c->daemon, "%s", w->server ? w->server : "");
    c->flight.batches = w->batches;
  }
  wire_reply_free(r);
  return rc;
}

static void really_close(shmbuf_client *c) {
  /* Closing the socket gives everything back in the daemon: no release messages needed.
   * Requests in flight are dropped, their callbacks never run. */
  handle_fini(&c->handles);
  local_fini(&c->local);
  slabs_fini(&c->slabs);
  wire_close(&c->wire);
  flight_fini(&c->flight);
  free(c);
}

int shmbuf_connect_ex(const char *socket_path, unsigned flags, shmbuf_client **out) {
  char path[sizeof((struct sockaddr_un *)0)->sun_path];
  if (socket_path == NULL) {
    if (shmbuf_default_socket(path, sizeof path) < 0)
      return errors_fail(-ENAMETOOLONG, "ERR_SHMBUF_CONNECT", "the socket path is too long");
  } else if (snprintf(path, sizeof path, "%s", socket_path) >= (int)sizeof path)
    return errors_fail(-ENAMETOOLONG, "ERR_SHMBUF_CONNECT", "the socket path is too long: %s",
                       socket_path);
  shmbuf_client *c = calloc(1, sizeof *c);
  if (c == NULL)
    return errors_no_memory();
  int rc = wire_connect(&c->wire, path);
  if (rc < 0) {
    free(c);
    return rc;
  }
  c->flags = flags;
  flight_init(&c->flight, &c->wire, &c->slabs, c);
  if ((rc = hello(c)) < 0) {
    really_close(c);
    return rc;
  }
  *out = c;
  return 0;
}

int shmbuf_connect(const char *socket_path, shmbuf_client **out) {
  return shmbuf_connect_ex(socket_path, 0, out);
}

void shmbuf_close(shmbuf_client *c) {
  if (c == NULL)
    return;
  if (c->flight.delivering) { /* inside a callback: when the callbacks are done */
    c->flight.closing = true;
    return;
  }
  really_close(c);
}

/* After the callbacks: a shmbuf_close() one of them asked for happens now. */
static int after_callbacks(shmbuf_client *c, int rc) {
  if (c->flight.closing && c->flight.delivering == 0) {
    really_close(c);
    return -ECANCELED;
  }
  return rc;
}

int shmbuf_process(shmbuf_client *c) { return after_callbacks(c, flight_process(&c->flight)); }

int shmbuf_wait(shmbuf_client *c) { return after_callbacks(c, flight_wait(&c->flight)); }

int shmbuf_flush(shmbuf_client *c) { return flight_flush(&c->flight); }

int shmbuf_fd(const shmbuf_client *c) { return c->wire.fd; }

uint32_t shmbuf_pool_size(const shmbuf_client *c) { return c->pool_size; }

const char *shmbuf_daemon_version(const shmbuf_client *c) { return c->daemon; }

uint32_t shmbuf_protocol_version(const shmbuf_client *c) { return c->protocol; }

void shmbuf_trim(shmbuf_client *c) { local_trim(c); }
