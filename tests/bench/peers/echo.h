/* SPDX-License-Identifier: MIT */
/* The floor for anything that crosses a Unix socket: a server that answers each small frame
 * (ECHO_REQUEST bytes, about a thin allocUnsafe(16) request) with a small frame (ECHO_REPLY
 * bytes, about its reply) and does nothing else. It runs in a child process. */
#ifndef BENCH_ECHO_H
#define BENCH_ECHO_H

#include "proc.h"
#include "raw.h"

#define ECHO_REQUEST 16
#define ECHO_REPLY 32

/* The echo's request and reply, for raw_open(). */
extern const raw_proto echo_proto;

/* Starts the echo on socket_path. Returns 0 or a negative errno. */
int echo_start(proc_server *s, const char *socket_path);

#endif
