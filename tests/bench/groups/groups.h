/* SPDX-License-Identifier: MIT */
/* Case groups: each file in groups/ measures one family of shmbuf cases against their
 * floors and peers, and reports rows through report.h. A group gets the running servers and
 * the settings in a group_env and may start private servers of its own (and must stop
 * them); it never pins anything (the placement is set around it).
 *
 * Adding a group: write groups/NAME.c defining `const group group_NAME`, add X(NAME) to
 * BENCH_GROUPS below and the file to the bench's sources in Makefile.am. */
#ifndef BENCH_GROUPS_H
#define BENCH_GROUPS_H

#include <stdbool.h>

#include "nodejs.h"
#include "proc.h"
#include "raw.h"
#include "report.h"

/* A running request/reply peer and what to ask it. */
typedef struct group_peer {
  const char *path;
  const raw_proto *proto;
} group_peer;

typedef struct group_env {
  const char *dir;         /* a private temporary directory: sockets and logs */
  const char *shmbufd_bin; /* for groups that start a daemon of their own */
  bool quick;              /* a short run: fewer rounds, shorter samples, smaller counts */
  int rounds;              /* rounds per rounds_run() */
  double sample_ns;        /* time per sample */
  const proc_server *daemon;                   /* shmbufd, shared by the groups */
  group_peer peers[3]; /* those running of the echo (the floor), Redis, memcached */
  int npeers;
  nodejs_peer *node;      /* pid 0: not available */
  report *rep;
} group_env;

typedef struct group {
  const char *name;
  const char *about;
  bool every_placement; /* false: runs once, under the first placement */
  /* Returns 0, or a negative errno when the group could not run to the end. */
  int (*run)(const group_env *env);
} group;

/* The groups, in the order they run (groups that run once come last). */
#define BENCH_GROUPS(X) \
  X(node_api) X(buffer_api) X(rtt) X(bulk) X(share) X(scale) X(growth) X(memory)

#define BENCH_GROUP_DECLARE(name) extern const group group_##name;
BENCH_GROUPS(BENCH_GROUP_DECLARE)

/* Every group, NULL-terminated. */
extern const group *const groups_all[];

#endif
