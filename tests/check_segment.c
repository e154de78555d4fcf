/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "segment.h"

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

/* ---- helpers ------------------------------------------------------------------------------- */

static int make(uint64_t size) {
  int fd = -1;
  ck_assert_int_eq(segment_create(size, &fd), 0);
  ck_assert_int_ge(fd, 0);
  return fd;
}

static uint64_t file_size(int fd) {
  struct stat st;
  ck_assert_int_eq(fstat(fd, &st), 0);
  return (uint64_t)st.st_size;
}

/* Bytes the object really holds in the kernel. */
static uint64_t allocated(int fd) {
  struct stat st;
  ck_assert_int_eq(fstat(fd, &st), 0);
  return (uint64_t)st.st_blocks * 512;
}

static uint8_t *read_all(int fd, uint64_t off, size_t n) {
  uint8_t *b = malloc(n ? n : 1);
  ck_assert_ptr_nonnull(b);
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(fd, b + done, n - done, (off_t)(off + done));
    ck_assert_int_ge(r, 0);
    if (r == 0) { /* past the end reads as zeros, as a mapping of a grown file would */
      memset(b + done, 0, n - done);
      break;
    }
    done += (size_t)r;
  }
  return b;
}

static void assert_zero(int fd, uint64_t off, size_t n) {
  uint8_t *b = read_all(fd, off, n);
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0)
      ck_abort_msg("byte %llu is %u, not 0", (unsigned long long)(off + i), b[i]);
  free(b);
}

static uint8_t pattern_at(uint64_t i) { return (uint8_t)(i * 131 + (i >> 11) + 1); }

static void write_pattern(int fd, uint64_t off, size_t n) {
  uint8_t *b = malloc(n);
  for (size_t i = 0; i < n; i++)
    b[i] = pattern_at(off + i);
  ck_assert_int_eq(segment_write(fd, off, b, n), 0);
  free(b);
}

static void assert_pattern(int fd, uint64_t off, size_t n) {
  uint8_t *b = read_all(fd, off, n);
  for (size_t i = 0; i < n; i++)
    if (b[i] != pattern_at(off + i))
      ck_abort_msg("byte %llu is %u, not %u", (unsigned long long)(off + i), b[i],
                   pattern_at(off + i));
  free(b);
}

/* ---- create -------------------------------------------------------------------------------- */

START_TEST(create_sparse_anonymous) {
  int fd = make(4 * MIB);
  ck_assert_uint_eq(file_size(fd), 4 * MIB);
  ck_assert_uint_eq(allocated(fd), 0); /* nothing reserved yet */

  /* an anonymous memfd: no name in any filesystem, so a crash leaves nothing behind */
  char link[64], target[256];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t l = readlink(link, target, sizeof target - 1);
  ck_assert_int_gt(l, 0);
  target[l] = '\0';
  ck_assert_msg(strncmp(target, "/memfd:shmbuf", 13) == 0, "fd is %s", target);
  ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  /* its size is sealed from the start: nobody can shrink it under a mapping, or grow it */
  int seals = fcntl(fd, F_GET_SEALS);
  ck_assert_int_eq(seals & (F_SEAL_GROW | F_SEAL_SHRINK), F_SEAL_GROW | F_SEAL_SHRINK);
  ck_assert_int_eq(seals & F_SEAL_WRITE, 0);
  /* and the seals are final: a writable fd cannot freeze what others write */
  ck_assert_int_eq(seals & F_SEAL_SEAL, F_SEAL_SEAL);
  ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
  ck_assert_int_eq(errno, EPERM);

  /* new pages read as zeros */
  assert_zero(fd, 0, 64 * KIB);
  assert_zero(fd, 4 * MIB - 64 * KIB, 64 * KIB);
  segment_close(fd);
}
END_TEST

START_TEST(sealable_objects_freeze_for_everyone) {
  int fd;
  ck_assert_int_eq(segment_create_sealable(8192, &fd), 0);
  ck_assert_int_eq(pwrite(fd, "frozen", 6, 0), 6);
  void *w = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ck_assert_ptr_ne(w, MAP_FAILED);
  ck_assert_int_eq(segment_seal_writes(fd), -EBUSY); /* a writable mapping is still there */
  munmap(w, 8192);
  ck_assert_int_eq(segment_seal_writes(fd), 0);
  ck_assert_int_eq(fcntl(fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_SEAL), F_SEAL_WRITE | F_SEAL_SEAL);
  ck_assert_ptr_eq(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  ck_assert_int_eq(pwrite(fd, "x", 1, 0), -1);
  ck_assert_int_eq(errno, EPERM);
  char back[6];
  ck_assert_int_eq(pread(fd, back, 6, 0), 6);
  ck_assert_mem_eq(back, "frozen", 6);
  segment_close(fd);
}
END_TEST

START_TEST(create_zero_and_close) {
  int fd = make(0);
  ck_assert_uint_eq(file_size(fd), 0);
  segment_close(fd);
  ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
  ck_assert_int_eq(errno, EBADF);
  segment_close(-1); /* a no-op */
}
END_TEST

/* ---- reserve, punch, zero ------------------------------------------------------------------ */

START_TEST(reserve_allocates) {
  int fd = make(4 * MIB);
  ck_assert_int_eq(segment_reserve(fd, 1 * MIB, 512 * KIB), 0);
  uint64_t a = allocated(fd);
  ck_assert_uint_ge(a, 512 * KIB);
  ck_assert_uint_lt(a, 1 * MIB); /* only the range */
  ck_assert_uint_eq(file_size(fd), 4 * MIB);
  assert_zero(fd, 1 * MIB, 512 * KIB);
  /* reserving again is harmless and keeps what is there */
  write_pattern(fd, 1 * MIB, 4 * KIB);
  ck_assert_int_eq(segment_reserve(fd, 1 * MIB, 512 * KIB), 0);
  assert_pattern(fd, 1 * MIB, 4 * KIB);
  ck_assert_uint_eq(allocated(fd), a);
  /* the whole object */
  ck_assert_int_eq(segment_reserve(fd, 0, 4 * MIB), 0);
  ck_assert_uint_ge(allocated(fd), 4 * MIB);
  segment_close(fd);
}
END_TEST

START_TEST(punch_reads_zero) {
  int fd = make(1 * MIB);
  ck_assert_int_eq(segment_reserve(fd, 0, 1 * MIB), 0);
  uint8_t *m = mmap(NULL, 1 * MIB, PROT_READ, MAP_SHARED, fd, 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  write_pattern(fd, 0, 1 * MIB);
  ck_assert_uint_eq(m[300 * KIB], pattern_at(300 * KIB)); /* fault the page in */
  uint64_t before = allocated(fd);

  ck_assert_int_eq(segment_punch(fd, 256 * KIB, 128 * KIB), 0);
  assert_zero(fd, 256 * KIB, 128 * KIB);
  assert_pattern(fd, 0, 256 * KIB);
  assert_pattern(fd, 384 * KIB, 640 * KIB);
  ck_assert_uint_eq(allocated(fd), before - 128 * KIB); /* given back */
  ck_assert_uint_eq(file_size(fd), 1 * MIB);            /* size kept */
  /* an existing mapping sees the zeros too */
  for (size_t i = 256 * KIB; i < 384 * KIB; i += 512)
    ck_assert_uint_eq(m[i], 0);
  ck_assert_uint_eq(m[255 * KIB], pattern_at(255 * KIB));
  munmap(m, 1 * MIB);
  segment_close(fd);
}
END_TEST

START_TEST(zero_keeps_pages) {
  int fd = make(4 * MIB);
  ck_assert_int_eq(segment_reserve(fd, 0, 4 * MIB), 0);
  write_pattern(fd, 0, 4 * MIB);
  uint8_t *m = mmap(NULL, 4 * MIB, PROT_READ, MAP_SHARED, fd, 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  uint64_t before = allocated(fd);

  /* unaligned, and longer than one batch of iovecs (16 * 64 KiB) */
  uint64_t off = 12345, len = 3 * MIB + 4321;
  ck_assert_int_eq(segment_zero(fd, off, len), 0);
  assert_pattern(fd, 0, off);
  assert_zero(fd, off, len);
  assert_pattern(fd, off + len, 4 * MIB - off - len);
  ck_assert_uint_eq(m[off], 0);
  ck_assert_uint_eq(m[off - 1], pattern_at(off - 1));
  ck_assert_uint_eq(m[off + len - 1], 0);
  ck_assert_uint_eq(m[off + len], pattern_at(off + len));
  ck_assert_uint_eq(allocated(fd), before); /* nothing given back */
  ck_assert_uint_eq(file_size(fd), 4 * MIB);

  /* small, and nothing at all */
  ck_assert_int_eq(segment_zero(fd, 7, 1), 0);
  ck_assert_uint_eq(m[7], 0);
  ck_assert_uint_eq(m[6], pattern_at(6));
  ck_assert_uint_eq(m[8], pattern_at(8));
  ck_assert_int_eq(segment_zero(fd, 9, 0), 0);
  ck_assert_uint_eq(m[9], pattern_at(9));
  munmap(m, 4 * MIB);
  segment_close(fd);
}
END_TEST

/* ---- write and fill ------------------------------------------------------------------------ */

START_TEST(write_at_offsets) {
  int fd = make(256 * KIB);
  ck_assert_int_eq(segment_reserve(fd, 0, 256 * KIB), 0);
  ck_assert_int_eq(segment_write(fd, 100, "hello", 5), 0);
  ck_assert_int_eq(segment_write(fd, 256 * KIB - 3, "end", 3), 0);
  ck_assert_int_eq(segment_write(fd, 50, "", 0), 0);
  uint8_t *b = read_all(fd, 0, 256 * KIB);
  ck_assert_mem_eq(b + 100, "hello", 5);
  ck_assert_mem_eq(b + 256 * KIB - 3, "end", 3);
  ck_assert_uint_eq(b[99], 0);
  ck_assert_uint_eq(b[105], 0);
  free(b);
  write_pattern(fd, 1000, 200 * KIB);
  assert_pattern(fd, 1000, 200 * KIB);
  ck_assert_uint_eq(file_size(fd), 256 * KIB);
  segment_close(fd);
}
END_TEST

static void check_fill(const uint8_t *pat, size_t n, uint64_t off, uint64_t len) {
  uint64_t size = off + len + 5000;
  int fd = make(size);
  ck_assert_int_eq(segment_reserve(fd, 0, size), 0);
  write_pattern(fd, 0, size);
  ck_assert_int_eq(segment_fill(fd, off, len, pat, n), 0);
  uint8_t *b = read_all(fd, 0, size);
  for (uint64_t i = 0; i < size; i++) {
    uint8_t want = i >= off && i < off + len ? pat[(i - off) % n] : pattern_at(i);
    if (b[i] != want)
      ck_abort_msg("pattern of %zu over [%llu, +%llu): byte %llu is %u, not %u", n,
                   (unsigned long long)off, (unsigned long long)len, (unsigned long long)i, b[i],
                   want);
  }
  free(b);
  ck_assert_uint_eq(file_size(fd), size);
  segment_close(fd);
}

START_TEST(fill_one_byte) {
  const uint8_t ab = 0xab, zero = 0;
  check_fill(&ab, 1, 3, 200 * KIB + 1);
  check_fill(&zero, 1, 17, 70 * KIB);
  check_fill(&ab, 1, 0, 1);
}
END_TEST

START_TEST(fill_three_bytes) {
  const uint8_t pat[3] = {1, 2, 3};
  /* the period must carry on across the 64 KiB blocks (65535 is 3 * 21845) */
  check_fill(pat, 3, 5, 3 * 64 * KIB + 2);
  check_fill(pat, 3, 64 * KIB - 1, 2);
  const uint8_t pat7[7] = {'a', 'b', 'c', 'd', 'e', 'f', 'g'};
  check_fill(pat7, 7, 1, 300 * KIB + 3); /* 65536 is not a multiple of 7 */
}
END_TEST

START_TEST(fill_long_pattern) {
  size_t n = 64 * KIB + 4097; /* longer than the repeat block */
  uint8_t *pat = malloc(n);
  for (size_t i = 0; i < n; i++)
    pat[i] = (uint8_t)(i * 7 + (i >> 8));
  check_fill(pat, n, 11, 3 * n + 1234);
  check_fill(pat, n, 0, n - 1); /* less than one period */
  check_fill(pat, 64 * KIB, 3, 200 * KIB); /* exactly the block */
  check_fill(pat, 64 * KIB - 1, 3, 200 * KIB);
  free(pat);
}
END_TEST

START_TEST(fill_nothing) {
  int fd = make(16 * KIB);
  write_pattern(fd, 0, 16 * KIB);
  const uint8_t pat[2] = {9, 9};
  ck_assert_int_eq(segment_fill(fd, 100, 0, pat, 2), 0);
  assert_pattern(fd, 0, 16 * KIB);
  segment_close(fd);
}
END_TEST

/* ---- copy ---------------------------------------------------------------------------------- */

START_TEST(copy_between_objects) {
  uint64_t len = 700 * KIB + 77; /* more than the 256 KiB bounce buffer, twice */
  int src = make(1 * MIB), dst = make(2 * MIB);
  ck_assert_int_eq(segment_reserve(src, 0, 1 * MIB), 0);
  ck_assert_int_eq(segment_reserve(dst, 0, 2 * MIB), 0);
  write_pattern(src, 0, 1 * MIB);
  uint8_t fillb = 0xee;
  ck_assert_int_eq(segment_fill(dst, 0, 2 * MIB, &fillb, 1), 0);

  ck_assert_int_eq(segment_copy(src, 1000, dst, 500 * KIB + 3, len), 0);
  uint8_t *b = read_all(dst, 0, 2 * MIB);
  for (uint64_t i = 0; i < 2 * MIB; i++) {
    uint8_t want = i >= 500 * KIB + 3 && i < 500 * KIB + 3 + len
                       ? pattern_at(1000 + i - (500 * KIB + 3))
                       : 0xee;
    if (b[i] != want)
      ck_abort_msg("byte %llu is %u, not %u", (unsigned long long)i, b[i], want);
  }
  free(b);
  assert_pattern(src, 0, 1 * MIB); /* the source is untouched */
  ck_assert_int_eq(segment_copy(src, 0, dst, 0, 0), 0);
  segment_close(src);
  segment_close(dst);
}
END_TEST

START_TEST(copy_within_object) {
  int fd = make(1 * MIB);
  ck_assert_int_eq(segment_reserve(fd, 0, 1 * MIB), 0);
  write_pattern(fd, 0, 300 * KIB);
  ck_assert_int_eq(segment_copy(fd, 10, fd, 600 * KIB, 300 * KIB - 10), 0);
  uint8_t *b = read_all(fd, 600 * KIB, 300 * KIB - 10);
  for (uint64_t i = 0; i < 300 * KIB - 10; i++)
    if (b[i] != pattern_at(10 + i))
      ck_abort_msg("byte %llu is %u, not %u", (unsigned long long)i, b[i], pattern_at(10 + i));
  free(b);
  assert_pattern(fd, 0, 300 * KIB);
  assert_zero(fd, 300 * KIB, 300 * KIB);
  segment_close(fd);
}
END_TEST

/* Whoever holds an fd, the size stays what it was made: no truncation can turn a mapped
 * page into a SIGBUS, and no growth can take memory the daemon does not account for. */
START_TEST(size_is_sealed) {
  int fd = make(256 * KIB), peer;
  ck_assert_int_eq(segment_reserve(fd, 0, 256 * KIB), 0);
  ck_assert_int_eq(segment_open_for_peer(fd, true, &peer), 0);
  ck_assert_int_eq(ftruncate(peer, 4 * KIB), -1);
  ck_assert_int_eq(errno, EPERM);
  ck_assert_int_eq(ftruncate(peer, 1 * MIB), -1);
  ck_assert_int_eq(fallocate(peer, 0, 256 * KIB, 4 * KIB), -1);
  ck_assert_int_eq(file_size(fd), 256 * KIB);
  uint8_t x = 1;
  ck_assert_int_lt(segment_write(fd, 256 * KIB, &x, 1), 0); /* the daemon cannot grow it either */
  ck_assert_int_eq(segment_copy(fd, 200 * KIB, fd, 0, 100 * KIB), -EIO); /* nor read past it */
  close(peer);
  segment_close(fd);
}
END_TEST

/* A peer's fd is its own open file description: what it does to its fd leaves the daemon's
 * alone, and a read-only one gives no way to write. */
START_TEST(peer_fds_are_their_own) {
  int fd = make(64 * KIB), rw, ro;
  ck_assert_int_eq(segment_reserve(fd, 0, 64 * KIB), 0);
  ck_assert_int_eq(segment_open_for_peer(fd, true, &rw), 0);
  ck_assert_int_eq(segment_open_for_peer(fd, false, &ro), 0);
  ck_assert_int_eq(fcntl(rw, F_SETFL, O_APPEND | O_NONBLOCK), 0);
  ck_assert_int_eq(fcntl(fd, F_GETFL) & (O_APPEND | O_NONBLOCK), 0);
  write_pattern(fd, 1000, 100); /* lands where it is aimed, not appended */
  assert_pattern(fd, 1000, 100);
  ck_assert_uint_eq(file_size(fd), 64 * KIB);
  uint8_t *w = mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
  ck_assert_ptr_ne(w, MAP_FAILED);
  ck_assert_uint_eq(w[1000], pattern_at(1000)); /* the same bytes */
  ck_assert_int_eq(fcntl(ro, F_GETFL) & O_ACCMODE, O_RDONLY);
  ck_assert_ptr_eq(mmap(NULL, 64 * KIB, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), MAP_FAILED);
  uint8_t *r = mmap(NULL, 64 * KIB, PROT_READ, MAP_SHARED, ro, 0);
  ck_assert_ptr_ne(r, MAP_FAILED);
  ck_assert_int_eq(mprotect(r, 64 * KIB, PROT_READ | PROT_WRITE), -1);
  ck_assert_int_eq(fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE), -1);
  uint8_t x = 1;
  ck_assert_int_eq(segment_write(ro, 0, &x, 1), -EBADF);
  munmap(w, 64 * KIB);
  munmap(r, 64 * KIB);
  close(rw);
  close(ro);
  segment_close(fd);
}
END_TEST

/* What the kernel holds, whoever touched it: the daemon's reservations and a peer's touches. */
START_TEST(resident_counts_every_touch) {
  int fd = make(1 * MIB);
  uint64_t bytes;
  ck_assert_int_eq(segment_resident(fd, &bytes), 0);
  ck_assert_uint_eq(bytes, 0);
  ck_assert_int_eq(segment_reserve(fd, 0, 64 * KIB), 0);
  ck_assert_int_eq(segment_resident(fd, &bytes), 0);
  ck_assert_uint_eq(bytes, 64 * KIB);
  uint8_t *m = mmap(NULL, 1 * MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ck_assert_ptr_ne(m, MAP_FAILED);
  memset(m + 512 * KIB, 1, 256 * KIB); /* holes a peer filled */
  ck_assert_int_eq(segment_resident(fd, &bytes), 0);
  ck_assert_uint_eq(bytes, 320 * KIB);
  munmap(m, 1 * MIB);
  ck_assert_int_eq(segment_punch(fd, 0, 1 * MIB), 0);
  ck_assert_int_eq(segment_resident(fd, &bytes), 0);
  ck_assert_uint_eq(bytes, 0);
  ck_assert_int_eq(segment_resident(-1, &bytes), -EBADF);
  segment_close(fd);
}
END_TEST

/* ---- errors -------------------------------------------------------------------------------- */

START_TEST(errors_are_negative_errno) {
  uint8_t x = 1;
  ck_assert_int_eq(segment_reserve(-1, 0, 4096), -EBADF);
  ck_assert_int_eq(segment_punch(-1, 0, 4096), -EBADF);
  ck_assert_int_eq(segment_zero(-1, 0, 4096), -EBADF);
  ck_assert_int_eq(segment_write(-1, 0, &x, 1), -EBADF);
  ck_assert_int_eq(segment_fill(-1, 0, 10, &x, 1), -EBADF);
  int fd = make(4096);
  ck_assert_int_eq(segment_copy(-1, 0, fd, 0, 10), -EBADF);
  ck_assert_int_eq(segment_copy(fd, 0, -1, 0, 10), -EBADF);
  /* a read-only fd (what a client would hold) cannot be written through */
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  int ro = open(link, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge(ro, 0);
  ck_assert_int_eq(segment_write(ro, 0, &x, 1), -EBADF);
  ck_assert_int_lt(segment_reserve(ro, 0, 4096), 0);
  close(ro);
  ck_assert_int_lt(segment_create((uint64_t)1 << 63, &ro), 0); /* no such size */
  segment_close(fd);
}
END_TEST

static Suite *segment_suite(void) {
  Suite *s = suite_create("segment");
  TCase *tc = tcase_create("segment");
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, create_sparse_anonymous);
  tcase_add_test(tc, create_zero_and_close);
  tcase_add_test(tc, sealable_objects_freeze_for_everyone);
  tcase_add_test(tc, reserve_allocates);
  tcase_add_test(tc, punch_reads_zero);
  tcase_add_test(tc, zero_keeps_pages);
  tcase_add_test(tc, write_at_offsets);
  tcase_add_test(tc, fill_one_byte);
  tcase_add_test(tc, fill_three_bytes);
  tcase_add_test(tc, fill_long_pattern);
  tcase_add_test(tc, fill_nothing);
  tcase_add_test(tc, copy_between_objects);
  tcase_add_test(tc, copy_within_object);
  tcase_add_test(tc, size_is_sealed);
  tcase_add_test(tc, peer_fds_are_their_own);
  tcase_add_test(tc, resident_counts_every_touch);
  tcase_add_test(tc, errors_are_negative_errno);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(segment_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
