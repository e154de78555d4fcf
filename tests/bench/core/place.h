/* SPDX-License-Identifier: MIT */
/* Where the benchmark's processes run. On a 2-vCPU VM a wake-up across CPUs costs tens of
 * microseconds and pinning a server and its client to different CPUs inflates every floor
 * several times, so each case runs under three placements: unpinned (the scheduler
 * decides, as for a real user: the headline), everything on one CPU, and servers on the
 * first CPU with clients on the second. This module sets CPU affinity of the processes it
 * is told about (every thread of each) and of the calling process; nothing else. */
#ifndef BENCH_PLACE_H
#define BENCH_PLACE_H

#include <stdbool.h>
#include <sys/types.h>

typedef enum place_kind {
  PLACE_UNPINNED,
  PLACE_SAME_CPU,
  PLACE_SPLIT_CPUS,
  PLACE_COUNT
} place_kind;

/* Records the CPUs this process may use: "unpinned" means all of them. Call once, first. */
void place_init(void);

/* The placement's name ("unpinned", "same-cpu", "split-cpus") and a phrase for reports. */
const char *place_name(place_kind k);
const char *place_about(place_kind k);

/* Whether the machine has the CPUs the placement needs. */
bool place_possible(place_kind k);

/* Parses a name as place_name() gives it. Returns the kind or -1. */
int place_parse(const char *name);

/* Applies placement k to this process and to every process registered below. */
void place_set(place_kind k);

/* Registers a server (shmbufd, the echo, Redis, memcached) or a client-side helper (the
 * Node peer) and applies the current placement to it at once; place_forget() when it has
 * stopped. */
void place_server(pid_t pid);
void place_client(pid_t pid);
void place_forget(pid_t pid);

#endif
