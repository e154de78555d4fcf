/* SPDX-License-Identifier: MIT */
/* The client: one connection to shmbufd and everything the library keeps for it. Each part
 * belongs to the module that declares its type — the byte stream (wire.h), the mapped slabs
 * (slabs.h), the requests in flight (flight.h), the handles (handle.h) and the local
 * allocator (local.h) — and this header only ties them together for the files that serve the
 * public calls. */
#ifndef SBC_CLIENT_H
#define SBC_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flight.h"
#include "handle.h"
#include "local.h"
#include "shmbuf.h"
#include "slabs.h"
#include "wire.h"

struct shmbuf_client {
  unsigned flags;       /* SHMBUF_THIN ... */
  uint32_t pool_size;   /* Buffer.poolSize, from the daemon's welcome */
  uint32_t protocol;    /* the protocol version it welcomed */
  char daemon[64];      /* its name and version, as it said them (cut to fit) */
  wire wire;
  slab_table slabs;
  flight flight;
  handle_set handles;
  local_state local;
};

/* A string argument's length in bytes (SHMBUF_CSTR: up to its NUL). */
static inline size_t client_cstr_len(const char *s, size_t len) {
  return len == SHMBUF_CSTR ? strlen(s) : len;
}

/* By default the library makes what it can itself (local.h); SHMBUF_THIN sends every request
 * to the daemon, and so does a client whose daemon leases no regions (it takes no batches)
 * or whose pools are bigger than a region. */
static inline bool client_local(const shmbuf_client *c) {
  return !(c->flags & SHMBUF_THIN) && c->flight.batches && c->pool_size <= CARVE_REGION_MAX;
}

#endif
