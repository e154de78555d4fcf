/* SPDX-License-Identifier: MIT */
/* POSIX shared-memory objects, handled only through their fd: the daemon never maps client
 * memory, so a client that truncates its slab can make these calls fail, never fault. */
#ifndef SBD_SEGMENT_H
#define SBD_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

/* Creates an anonymous shm object of `size` bytes (sparse: nothing reserved yet): shm_open
 * with O_CREAT|O_EXCL and mode 0600 under an unguessable name, unlinked at once, so a crash
 * leaves nothing in /dev/shm. Returns 0 and the fd in *fd (O_RDWR, close-on-exec), or a
 * negative errno. */
int segment_create(uint64_t size, int *fd);

/* Reserves [off, off + len) with posix_fallocate, so touching it can never SIGBUS.
 * Returns 0, -ENOSPC when /dev/shm is full, or another negative errno. */
int segment_reserve(int fd, uint64_t off, uint64_t len);

/* Gives [off, off + len) back to the kernel; it reads as zeros afterwards, in every process
 * that maps it. Returns 0 or a negative errno. */
int segment_punch(int fd, uint64_t off, uint64_t len);

/* Writes zeros over [off, off + len) without giving the pages back, so mappings that have
 * them faulted in stay warm. Returns 0 or a negative errno. */
int segment_zero(int fd, uint64_t off, uint64_t len);

/* Writes n bytes at off. Returns 0 or a negative errno. */
int segment_write(int fd, uint64_t off, const void *data, size_t n);

/* Writes the pattern [pat, pat + n) repeatedly over [off, off + len); n > 0. Returns 0 or a
 * negative errno. */
int segment_fill(int fd, uint64_t off, uint64_t len, const uint8_t *pat, size_t n);

/* Copies len bytes from (src, src_off) to (dst, dst_off); bytes a truncation removed from the
 * source read as zeros. The ranges may be in the same object but must not overlap.
 * Returns 0 or a negative errno. */
int segment_copy(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len);

void segment_close(int fd);

#endif
