/* SPDX-License-Identifier: MIT */
/* Facts about the host the daemon runs on that its limits derive from: the memory it may use
 * (the machine's, or less when its cgroup says so) and the fds it may hold. Reads /proc and
 * /sys and sets the fd limit; touches nothing else. */
#ifndef SBD_HOST_H
#define SBD_HOST_H

#include <stdint.h>

/* The memory the daemon's processes may use: physical memory, or the lowest memory limit of
 * its cgroup and the cgroups above it (v1 or v2) when that is lower. */
uint64_t host_memory_bytes(void);

/* Raises the soft fd limit to the hard one (each slab and each connection is an fd) and
 * returns it. */
uint64_t host_fd_limit(void);

#endif
