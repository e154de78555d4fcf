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

/* Names in /dev/shm that start with "shmbuf-". */
static int shm_names(char names[][80], int max) {
  DIR *d = opendir("/dev/shm");
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strncmp(de->d_name, "shmbuf-", 7) == 0 && n < max)
      snprintf(names[n++], 80, "%.79s", de->d_name);
  closedir(d);
  return n;
}

static bool name_in(char names[][80], int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0)
      return true;
  return false;
}

/* ---- create -------------------------------------------------------------------------------- */

START_TEST(create_sparse_anonymous) {
  static char before[256][80], after[256][80];
  int nb = shm_names(before, 256);
  int fd = make(4 * MIB);
  ck_assert_uint_eq(file_size(fd), 4 * MIB);
  ck_assert_uint_eq(allocated(fd), 0); /* nothing reserved yet */

  /* an unlinked POSIX shm object, private to us */
  char link[64], target[256];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t l = readlink(link, target, sizeof target - 1);
  ck_assert_int_gt(l, 0);
  target[l] = '\0';
  ck_assert_msg(strncmp(target, "/dev/shm/shmbuf-", 16) == 0, "fd is %s", target);
  ck_assert_msg(strstr(target, "(deleted)") != NULL, "fd is %s", target);
  char name[80];
  snprintf(name, sizeof name, "%.*s", (int)(strcspn(target + 9, " ")), target + 9);
  ck_assert_uint_ge(strlen(name), 7 + 32); /* 128 random bits, in hex */

  /* nothing new in /dev/shm; an entry another process is creating this very moment would
   * be gone on a second look, ours would not */
  for (int look = 0;; look++) {
    int na = shm_names(after, 256), fresh = 0;
    ck_assert(!name_in(after, na, name));
    for (int i = 0; i < na; i++)
      fresh += !name_in(before, nb, after[i]);
    if (fresh == 0)
      break;
    ck_assert_msg(look < 1, "%d new shmbuf- entries in /dev/shm", fresh);
  }

  struct stat st;
  ck_assert_int_eq(fstat(fd, &st), 0);
  ck_assert_uint_eq(st.st_mode & 0777, 0600);
  ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);

  /* a second one gets a different name */
  int fd2 = make(16 * KIB);
  char link2[64], target2[256];
  snprintf(link2, sizeof link2, "/proc/self/fd/%d", fd2);
  l = readlink(link2, target2, sizeof target2 - 1);
  ck_assert_int_gt(l, 0);
  target2[l] = '\0';
  ck_assert_str_ne(target, target2);
  ck_assert_uint_eq(file_size(fd2), 16 * KIB);
  segment_close(fd2);

  /* new pages read as zeros */
  assert_zero(fd, 0, 64 * KIB);
  assert_zero(fd, 4 * MIB - 64 * KIB, 64 * KIB);
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

START_TEST(copy_from_truncated) {
  int src = make(1 * MIB), dst = make(1 * MIB);
  ck_assert_int_eq(segment_reserve(src, 0, 1 * MIB), 0);
  ck_assert_int_eq(segment_reserve(dst, 0, 1 * MIB), 0);
  write_pattern(src, 0, 1 * MIB);
  uint8_t fillb = 0x55;
  ck_assert_int_eq(segment_fill(dst, 0, 1 * MIB, &fillb, 1), 0);
  /* a client shrinks the source under us */
  ck_assert_int_eq(ftruncate(src, 300 * KIB + 5), 0);

  /* [200 KiB, 200 KiB + 600 KiB): the first 100 KiB + 5 bytes exist, the rest is gone */
  ck_assert_int_eq(segment_copy(src, 200 * KIB, dst, 100, 600 * KIB), 0);
  uint8_t *b = read_all(dst, 0, 1 * MIB);
  for (uint64_t i = 0; i < 1 * MIB; i++) {
    uint8_t want;
    if (i < 100 || i >= 100 + 600 * KIB)
      want = 0x55;
    else if (200 * KIB + (i - 100) < 300 * KIB + 5)
      want = pattern_at(200 * KIB + i - 100);
    else
      want = 0;
    if (b[i] != want)
      ck_abort_msg("byte %llu is %u, not %u", (unsigned long long)i, b[i], want);
  }
  free(b);

  /* wholly past the end: all zeros; the source is not grown back */
  ck_assert_int_eq(segment_copy(src, 512 * KIB, dst, 0, 64 * KIB), 0);
  assert_zero(dst, 0, 64 * KIB);
  ck_assert_uint_eq(file_size(src), 300 * KIB + 5);
  ck_assert_int_eq(ftruncate(src, 0), 0);
  ck_assert_int_eq(segment_copy(src, 0, dst, 64 * KIB, 300 * KIB), 0);
  assert_zero(dst, 64 * KIB, 300 * KIB);
  segment_close(src);
  segment_close(dst);
}
END_TEST

/* A destination the client shrank is written anyway (pwrite grows it back), so the daemon
 * never faults and never fails because of it. */
START_TEST(write_to_truncated) {
  int fd = make(256 * KIB);
  ck_assert_int_eq(segment_reserve(fd, 0, 256 * KIB), 0);
  ck_assert_int_eq(ftruncate(fd, 4 * KIB), 0);
  write_pattern(fd, 100 * KIB, 10 * KIB);
  assert_pattern(fd, 100 * KIB, 10 * KIB);
  ck_assert_int_eq(ftruncate(fd, 4 * KIB), 0);
  ck_assert_int_eq(segment_zero(fd, 50 * KIB, 100 * KIB), 0);
  assert_zero(fd, 0, 150 * KIB);
  ck_assert_int_eq(ftruncate(fd, 0), 0);
  const uint8_t pat[3] = {4, 5, 6};
  ck_assert_int_eq(segment_fill(fd, 10, 90000, pat, 3), 0);
  uint8_t *b = read_all(fd, 10, 90000);
  size_t bad = 0;
  for (size_t i = 0; i < 90000; i++)
    bad += b[i] != pat[i % 3];
  ck_assert_uint_eq(bad, 0);
  free(b);
  segment_close(fd);
}
END_TEST

/* ---- errors -------------------------------------------------------------------------------- */

/* A full /dev/shm: reserving fails with ENOSPC, and what was reserved before stays usable.
 * The test process gets a private mount namespace with a 1 MiB tmpfs on /dev/shm. */
START_TEST(reserve_on_a_full_dev_shm) {
  ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
  ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
  ck_assert_int_eq(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=1m"), 0);
  int fd;
  ck_assert_int_eq(segment_create(8u << 20, &fd), 0); /* sparse: larger than the fs is fine */
  ck_assert_int_eq(segment_reserve(fd, 0, 512u << 10), 0);
  ck_assert_int_eq(segment_reserve(fd, 512u << 10, 1u << 20), -ENOSPC);
  ck_assert_int_eq(segment_reserve(fd, 512u << 10, 256u << 10), 0); /* a failure takes nothing */
  uint8_t *p = mmap(NULL, 768u << 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ck_assert_ptr_ne(p, MAP_FAILED);
  memset(p, 0x77, 768u << 10); /* every reserved byte can be touched */
  ck_assert_int_eq(segment_punch(fd, 0, 512u << 10), 0);
  ck_assert_int_eq(segment_reserve(fd, 1u << 20, 512u << 10), 0); /* punched memory is free again */
  munmap(p, 768u << 10);
  segment_close(fd);
}
END_TEST

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
  tcase_add_test(tc, reserve_allocates);
  tcase_add_test(tc, punch_reads_zero);
  tcase_add_test(tc, zero_keeps_pages);
  tcase_add_test(tc, write_at_offsets);
  tcase_add_test(tc, fill_one_byte);
  tcase_add_test(tc, fill_three_bytes);
  tcase_add_test(tc, fill_long_pattern);
  tcase_add_test(tc, fill_nothing);
  tcase_add_test(tc, reserve_on_a_full_dev_shm);
  tcase_add_test(tc, copy_between_objects);
  tcase_add_test(tc, copy_within_object);
  tcase_add_test(tc, copy_from_truncated);
  tcase_add_test(tc, write_to_truncated);
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
