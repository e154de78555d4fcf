/* SPDX-License-Identifier: MIT */
/* Shares: buffers that one connection makes importable by other processes through tokens.
 *
 * An *object* is a memfd holding one shared ArrayBuffer and nothing else, its size sealed. An
 * ArrayBuffer that has a segment to itself is handed over as it is (no copy); any other is
 * copied once into an object of its own, which the exporter then uses in its place. A sealed
 * object is a fresh copy that F_SEAL_WRITE freezes before any process maps it: no process can
 * write it again, the exporter included.
 *
 * A *record* is a token (128 random bits) for an object's view, with its rights (read-only or
 * writable imports; uids and gids that may import, besides the exporter's) and its lifetime:
 * it stops importing when revoked, past its TTL, once used if single-use, or when its
 * exporter's connection ends — unless it persists, and then lives until its TTL, charged to
 * the exporter's user. Imports already made are not affected by any of this: a view lives as
 * long as the connection that holds it.
 *
 * Every object is charged to exactly one party: while a record of it lives with its exporter
 * connected, that connection; else, while a persisting record lives, the exporter's user;
 * else the oldest connection that maps it. With none left, the object goes (its memory
 * punched, unless sealed: then the kernel frees it with its last mapping). A connection that
 * maps an object without paying for it has it counted against its own limits and its user's
 * (see session.h).
 *
 * Uses sessions (charging, their slabs), segments (the objects) and the heap (buffers over
 * objects); knows nothing of the protocol or of sockets. */
#ifndef SBD_SHARE_H
#define SBD_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "session.h"

#define SHARE_TOKEN_LEN 26 /* "sb1_" and 22 base64url characters */

/* Flags of a share. */
#define SHARE_WRITABLE 1u   /* importers get a writable mapping (not with SHARE_SEALED) */
#define SHARE_SINGLE_USE 2u /* the token imports once */
#define SHARE_PERSIST 4u    /* the token outlives its exporter's connection, until its TTL */

typedef struct share_registry share_registry;
typedef struct share_object share_object;

/* Who may import besides the exporter's uid; both empty: anyone who can reach the daemon. */
typedef struct share_rights {
  const uid_t *uids;
  size_t nuids;
  const gid_t *gids;
  size_t ngids;
} share_rights;

/* What a share_place() left to do before the buffer it made may be used: reserve the new
 * object, copy `len` bytes into it, then seal it when `seal` is set. */
typedef struct share_copy {
  int src, dst;
  uint64_t src_off, len, reserve;
  share_object *seal;
} share_copy;

/* A share as listed. */
typedef struct share_info {
  const char *token;   /* NULL unless the viewer is the exporter's uid */
  uid_t uid;
  pid_t pid;           /* the exporter's, 0 once its connection ended */
  uint64_t length;
  unsigned flags;      /* SHARE_* */
  bool sealed;
  uint32_t importers;  /* connections that map it, besides the exporter's */
  uint64_t age_ms;
  uint64_t ttl_ms;     /* left; 0: none */
} share_info;

/* An empty registry, hooked to the books so it hears when a session stops mapping an object.
 * Returns 0 or -ENOMEM. */
int share_registry_init(share_registry **out, session_books *b);

/* Ends every record and frees the registry; objects go with the sessions that map them.
 * NULL is ignored. */
void share_registry_free(share_registry *r);

/* From now on, objects that go leave their memory to whoever still maps them, unpunched: the
 * daemon is stopping, and leaves its clients their data. */
void share_keep_memory(share_registry *r);

/* Puts a view of buffer `id` in an object of its own, for sharing or sealing: [ab_offset,
 * ab_offset + ab_length) of the buffer's ArrayBuffer becomes the shared ArrayBuffer, and
 * [byte_offset, byte_offset + length) of that the view. When the buffer's ArrayBuffer has a
 * segment to itself and is shared whole, unsealed, its segment is handed over: *out is the
 * same buffer and there is nothing to copy (copy->len 0). Otherwise *out is a new buffer of
 * the session over a new object, and *copy says what to do before it may be used. An
 * ArrayBuffer already in an object is used as it is (sealed only if asked and not already).
 * Returns 0, -ENOENT (no such buffer), -ERANGE (a range outside it), or what the session's
 * limits or the kernel say. */
int share_place(share_registry *r, conn_session *s, uint64_t id, uint64_t ab_offset,
                uint64_t ab_length, uint64_t byte_offset, uint64_t length, bool seal,
                heap_view *out, share_copy *copy);

/* Seals an object share_place() filled: nobody can write it any more. Returns 0 or a
 * negative errno. */
int share_seal(share_object *o);

/* A token for the object buffer `id` lives in (share_place() put it there), with flags,
 * a TTL (0: none; SHARE_PERSIST needs one) and rights (copied), written to token. Returns 0,
 * -ENOENT (the buffer is in no object), -EINVAL (persisting without a TTL), -EPERM (writable
 * imports of a sealed object, or of one the session maps read-only) or -ENOMEM. */
int share_publish(share_registry *r, conn_session *s, uint64_t id, unsigned flags,
                  uint64_t ttl_ms, const share_rights *rights, uint64_t now_ms,
                  char token[SHARE_TOKEN_LEN + 1]);

/* Imports a token as a new buffer of the session (its uid and gid are checked), read-only
 * unless the share is writable. Returns 0, -ENOENT for any token it may not import (unknown,
 * revoked, expired, used, forbidden: one answer for all), or what the limits say. */
int share_import(share_registry *r, conn_session *s, uid_t uid, gid_t gid, const char *token,
                 uint64_t now_ms, heap_view *out, bool *read_only, bool *sealed);

/* Revokes one of uid's tokens. Returns 0 or -ENOENT. */
int share_revoke(share_registry *r, uid_t uid, const char *token);

/* Calls each() with every live share, oldest first; tokens only for `viewer`'s own. */
void share_list(share_registry *r, uid_t viewer, uint64_t now_ms,
                void (*each)(void *arg, const share_info *i), void *arg);

/* The session's connection ends: its records that do not persist end; those that do are
 * charged to its user from now on. Call before session_fini(). */
void share_session_gone(share_registry *r, conn_session *s);

/* Ends the records past their TTL. */
void share_expire(share_registry *r, uint64_t now_ms);

/* Live records, imports (connections mapping an object they did not export) and the bytes of
 * all objects. */
void share_counts(const share_registry *r, uint64_t *records, uint64_t *imports, uint64_t *bytes);

#endif
