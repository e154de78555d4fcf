/* SPDX-License-Identifier: MIT */
/* The daemon under test as the benchmark runs it: a private shmbufd on its own socket, with
 * room for the connections and buffers the cases make, and its counters. */
#ifndef BENCH_SHMBUFD_H
#define BENCH_SHMBUFD_H

#include <stdint.h>

#include "proc.h"

/* Starts the shmbufd program `bin` on DIR/NAME.sock (log: DIR/NAME.log), with no settings
 * file, warnings only, 4096 connections and 4M live buffers per connection. Returns 0 or a
 * negative errno. */
int shmbufd_start(proc_server *s, const char *bin, const char *dir, const char *name);

/* The daemon counter `name` (see `shmbuf stats`), asked over a connection of its own.
 * Returns 0 or a negative errno (-ENOENT: no such counter). */
int shmbufd_counter(const proc_server *s, const char *name, uint64_t *out);

#endif
