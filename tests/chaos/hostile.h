/* SPDX-License-Identifier: MIT */
/* make chaos: hostile clients. Each kind runs in a process of its own, over raw frames (no
 * libshmbuf), doing to shmbufd what one client must not be able to do to the others: hoarding
 * fds, queuing huge copies, reading slowly, half-sending huge frames, sending frames of tiny
 * unknown fields, millions of empty buffers, silent and idle sockets up to the per-user cap,
 * tampering with its slab fds, garbage. Whatever the daemon does to it (refuse, close), it
 * connects again and goes on until the end. */
#ifndef CHAOS_HOSTILE_H
#define CHAOS_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* What a hostile process did, in memory its parent shares. */
typedef struct hostile_report {
  uint64_t connections; /* connections it made */
  uint64_t ended;       /* of them, those the daemon ended or refused */
  uint64_t replies;     /* replies it received (notices included) */
} hostile_report;

typedef struct hostile_ctx {
  const char *sock;
  double until;          /* the monotonic clock (worker_now()) at which to stop */
  uint32_t user_cap;     /* connections one user may hold */
  hostile_report *report;
} hostile_ctx;

typedef struct hostile_kind {
  const char *name;
  int processes;         /* how many of this kind run at once */
  bool own_user;         /* runs as a user of its own (when chaos runs as root) */
  bool greet;            /* says hello before its mischief */
  /* What it does to one connection, made again each time one ends; returns whether the daemon
   * ended it. Or, for a kind that holds many connections at once, run does everything. */
  bool (*mischief)(const hostile_ctx *ctx, int fd, sb_bytes *in);
  void (*run)(const hostile_ctx *ctx);
} hostile_kind;

extern const hostile_kind hostile_kinds[];
extern const size_t hostile_nkinds;

/* Runs one process of kind k until ctx->until. */
void hostile_run(const hostile_kind *k, const hostile_ctx *ctx);

#endif
