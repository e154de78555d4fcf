/* SPDX-License-Identifier: MIT */
/* Facts about the host the daemon runs on: the memory it may use (the machine's, or less when
 * its cgroup says so) and the fds it may hold, which its limits derive from, and the names of
 * the processes it serves. Reads /proc and /sys and sets the fd limit; touches nothing else. */
#ifndef SBD_HOST_H
#define SBD_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The memory the daemon's processes may use: physical memory, or the lowest memory limit of
 * its cgroup and the cgroups above it (v1 or v2) when that is lower. */
uint64_t host_memory_bytes(void);

/* Raises the soft fd limit to the hard one (each slab and each connection is an fd) and
 * returns it. */
uint64_t host_fd_limit(void);

/* The command name of process pid (/proc/PID/comm) in out, cut to cap - 1 bytes, every byte
 * outside printable ASCII replaced by '?' (a process names itself, and the name ends up on
 * an operator's terminal). Returns 0 or a negative errno: no such process, or /proc hides it
 * from the daemon (hidepid, systemd's ProtectProc=). */
int host_process_name(pid_t pid, char *out, size_t cap);

#endif
