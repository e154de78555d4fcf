/* SPDX-License-Identifier: MIT */
/* Redis as a peer: redis-server (Debian: redis-server) on a private Unix socket, no TCP, no
 * persistence, and the RESP requests the benchmark sends it: GET of a 16-byte value, and
 * SETs to fill it. */
#ifndef BENCH_REDIS_H
#define BENCH_REDIS_H

#include "proc.h"
#include "raw.h"

/* GET of the 16-byte value that redis_start() stores. */
extern const raw_proto redis_get;

/* Starts redis-server on DIR/NAME.sock (log: DIR/NAME.log) and stores the value. Returns 0,
 * -ENOENT when redis-server is not installed, or another negative errno. */
int redis_start(proc_server *s, const char *dir, const char *name);

/* Stores n 16-byte values under the keys k0000000 ..., pipelined. Returns 0 or a negative errno. */
int redis_fill(const proc_server *s, long n);

/* "7.0.15", or "" when redis-server is not installed. */
void redis_version(char *out, size_t cap);

#endif
