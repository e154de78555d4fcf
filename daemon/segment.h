/* SPDX-License-Identifier: MIT */
/* Shared-memory objects: anonymous memfds whose size is sealed the moment they are made
 * (F_SEAL_GROW | F_SEAL_SHRINK), so no process holding an fd can truncate one under a mapping
 * (no SIGBUS) or grow one past what the daemon accounts for, and whose seals are then final
 * (F_SEAL_SEAL), so that no process holding a writable fd can freeze what others write. The daemon handles them only
 * through its own fd and never maps client memory; each peer gets an fd of its own open file
 * description (a reopen of the object, never a dup), so nothing a peer does to its fd — O_APPEND,
 * O_NONBLOCK, a read-only reopen — changes what the daemon's fd does. */
#ifndef SBD_SEGMENT_H
#define SBD_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Creates an object of `size` bytes (sparse: nothing reserved yet), not executable, its size
 * and seals final. Returns 0 and the fd in *fd (O_RDWR, close-on-exec), or a negative errno. */
int segment_create(uint64_t size, int *fd);

/* segment_create(), except that the seals stay open until segment_seal_writes(): for an
 * object the daemon fills, then freezes, before any other process gets an fd for it. */
int segment_create_sealable(uint64_t size, int *fd);

/* Freezes the object's bytes for every process (F_SEAL_WRITE) and makes its seals final. Fails
 * (-EBUSY) while a writable shared mapping of it exists. Returns 0 or a negative errno. */
int segment_seal_writes(int fd);

/* An fd for a peer: the same object through a new open file description, writable or
 * read-only (a read-only one can be mapped only PROT_READ and cannot add seals), close-on-exec.
 * Returns 0 or a negative errno (-EMFILE/-ENFILE when fds run out). */
int segment_open_for_peer(int fd, bool writable, int *out);

/* Reserves [off, off + len) with fallocate, so touching it can never SIGBUS. Returns 0,
 * -ENOMEM/-ENOSPC when the kernel has no memory for it, or another negative errno. */
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

/* Copies len bytes from (src, src_off) to (dst, dst_off). The ranges may be in the same object
 * but must not overlap. Returns 0 or a negative errno. */
int segment_copy(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len);

/* The bytes the kernel really holds for the object (st_blocks), whoever touched them. Returns
 * 0 or a negative errno. */
int segment_resident(int fd, uint64_t *bytes);

void segment_close(int fd);

#endif
