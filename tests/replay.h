/* SPDX-License-Identifier: MIT */
/* Replaying Node-generated vectors (the files in tests/vectors, each made by its gen-*.js
 * generator, which documents its format) through libshmbuf against a real shmbufd. Each test program
 * replays its lines with the operations it knows, on a client of either mode. Failures abort
 * the current Check test. */
#ifndef SBT_REPLAY_H
#define SBT_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "shmbuf.h"

#define RP_MAX_FIELDS 16

/* A case being replayed: its fields, what it made (released at the end), and the first thing
 * found wrong with it. */
typedef struct rp_case {
  const char *file;       /* the vector file, for messages */
  unsigned line;
  char *f[RP_MAX_FIELDS]; /* the fields before "=", after the module: f[0] is the operation */
  int nf;
  char **res;             /* the fields after "=" */
  int nres;
  shmbuf_client *c;
  unsigned flags;         /* c's */
  shmbuf_buf *made[64];
  size_t nmade;
  void *mem[16];
  size_t nmem;
  char why[1024];
} rp_case;

typedef struct rp_op {
  const char *name;
  void (*run)(rp_case *v);
} rp_op;

/* Replays every case of `module` in the vector file `file` through ops (every case of a file
 * whose lines have no module field when module is NULL), on one client of the given flags (0
 * or SHMBUF_THIN) connected to d, then prints how many ran and fails the test if any differs
 * from Node (listing the first ones), if an operation had no case, or if the client's buffers
 * did not all go back to the daemon. Returns the number of cases. */
unsigned rp_replay(const sbt_daemon *d, const char *file, const char *module, const rp_op *ops,
                   size_t nops, unsigned flags);

/* Records why the case differs from Node (the first reason only) and returns false. */
bool rp_wrong(rp_case *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fields. HEX is decoded into memory the case owns; INT "-" is SHMBUF_UNDEFINED; ENC "-" NULL. */
uint8_t *rp_hex(rp_case *v, const char *hex, size_t *n);
int64_t rp_integer(const char *s);
double rp_number(const char *s);
const char *rp_encoding(const char *s);

/* A TEXT field: "s:" UTF-8 bytes or "u:" UTF-16 units. */
typedef struct rp_text {
  const void *p;
  size_t n; /* bytes, or units */
  bool utf16;
} rp_text;
rp_text rp_text_of(rp_case *v, const char *field);

/* A STR field with its escapes (\\n, \\t, \\s for a space, \\ before any other byte) undone,
 * in memory the case owns. */
const char *rp_string(rp_case *v, const char *field);

/* Whether the case expects the call to succeed. */
bool rp_expects_ok(const rp_case *v);

/* Keeps a buffer the case made, to release with the case. Returns it. */
shmbuf_buf *rp_keep(rp_case *v, shmbuf_buf *b);

/* Keeps memory (not NULL) the case allocated, to free with the case. Returns it. */
void *rp_keep_mem(rp_case *v, void *p);

/* Buffer.from(HEX) on the case's client, released with the case. */
shmbuf_buf *rp_buffer(rp_case *v, const char *hex);

/* Buffer.from(HEX) as a view with guard bytes on each side in its ArrayBuffer, so that
 * rp_guards_intact() can tell whether an operation wrote outside the view. */
shmbuf_buf *rp_guarded(rp_case *v, const char *hex);
bool rp_guards_intact(rp_case *v, const shmbuf_buf *b);

/* Before a call the case expects to fail: records a failure no case expects, so that a call
 * which fails without saying why cannot pass on an earlier call's error. */
void rp_poison(rp_case *v);

/* Checks a call's outcome (rc < 0: it failed) against the case's: true when both succeeded.
 * A failure must match Node's code and message and the errno the header gives that code. */
bool rp_outcome(rp_case *v, int64_t rc);

bool rp_same_bytes(rp_case *v, const char *what, const uint8_t *p, size_t n, const char *want);
bool rp_same_int(rp_case *v, const char *what, int64_t got, const char *want);

#endif
