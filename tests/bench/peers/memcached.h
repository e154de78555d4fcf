/* SPDX-License-Identifier: MIT */
/* memcached as a peer: memcached (Debian: memcached) on a private Unix socket with one worker
 * thread (shmbufd and Redis serve requests on one thread too), and the meta-protocol
 * requests the benchmark sends it: mg of a 16-byte value, and ms to fill it. */
#ifndef BENCH_MEMCACHED_H
#define BENCH_MEMCACHED_H

#include "proc.h"
#include "raw.h"

/* mg (value) of the 16-byte value that memcached_start() stores. */
extern const raw_proto memcached_mg;

/* Starts memcached on DIR/NAME.sock (log: DIR/NAME.log), with room for a few million small
 * items and `conns` connections, and stores the value. memcached sets both fd limits to
 * `conns`, which must then not exceed the hard limit (under valgrind, equal it). Returns 0,
 * -ENOENT when memcached is not installed, or another negative errno. */
int memcached_start(proc_server *s, const char *dir, const char *name, long conns);

/* Stores n 16-byte values under the keys k0000000 ..., pipelined. Returns 0 or a negative errno. */
int memcached_fill(const proc_server *s, long n);

/* "1.6.18", or "" when memcached is not installed. */
void memcached_version(char *out, size_t cap);

#endif
