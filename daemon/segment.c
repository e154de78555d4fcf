/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "segment.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define ZERO_CHUNK (64u << 10)
#define ZERO_IOV 16
#define COPY_CHUNK (256u << 10)

static const uint8_t zeros[ZERO_CHUNK];

/* Executable mappings of client memory are never needed; where the kernel knows the flag
 * (6.3+), the object can never be made executable either. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

/* A memfd of `size` bytes with `seals` added. */
static int create(uint64_t size, int seals, int *fd_out) {
  int fd = memfd_create("shmbuf", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create("shmbuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -errno;
  if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, seals) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  *fd_out = fd;
  return 0;
}

int segment_create(uint64_t size, int *fd_out) {
  return create(size, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL, fd_out);
}

int segment_create_sealable(uint64_t size, int *fd_out) {
  return create(size, F_SEAL_GROW | F_SEAL_SHRINK, fd_out);
}

int segment_seal_writes(int fd) {
  return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) < 0 ? -errno : 0;
}

int segment_open_for_peer(int fd, bool writable, int *out) {
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int peer = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (peer < 0)
    return -errno;
  *out = peer;
  return 0;
}

int segment_resident(int fd, uint64_t *bytes) {
  struct stat st;
  if (fstat(fd, &st) < 0)
    return -errno;
  *bytes = (uint64_t)st.st_blocks * 512;
  return 0;
}

int segment_reserve(int fd, uint64_t off, uint64_t len) {
  int err = posix_fallocate(fd, (off_t)off, (off_t)len);
  return err == 0 ? 0 : -err;
}

int segment_punch(int fd, uint64_t off, uint64_t len) {
  if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
    return -errno;
  return 0;
}

/* pwritev until done: a short write is retried from where it stopped. */
static int write_all(int fd, uint64_t off, struct iovec *iov, int n, uint64_t len) {
  while (len > 0) {
    ssize_t w = pwritev(fd, iov, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (w == 0)
      return -EIO;
    off += (uint64_t)w;
    len -= (uint64_t)w;
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
  return 0;
}

int segment_zero(int fd, uint64_t off, uint64_t len) {
  struct iovec iov[ZERO_IOV];
  while (len > 0) {
    int n = 0;
    uint64_t batch = 0;
    while (n < ZERO_IOV && batch < len) {
      size_t l = len - batch < ZERO_CHUNK ? (size_t)(len - batch) : ZERO_CHUNK;
      iov[n++] = (struct iovec){(void *)zeros, l};
      batch += l;
    }
    int rc = write_all(fd, off, iov, n, batch);
    if (rc < 0)
      return rc;
    off += batch;
    len -= batch;
  }
  return 0;
}

int segment_write(int fd, uint64_t off, const void *data, size_t n) {
  struct iovec iov = {(void *)data, n};
  return write_all(fd, off, &iov, 1, n);
}

int segment_fill(int fd, uint64_t off, uint64_t len, const uint8_t *pat, size_t n) {
  if (n == 1 && pat[0] == 0)
    return segment_zero(fd, off, len);
  /* Repeat the pattern into one block of whole periods, then write that block. */
  uint8_t block[ZERO_CHUNK];
  size_t per = n <= sizeof block ? sizeof block / n * n : 0;
  if (per == 0) /* a pattern longer than the block: write it as it is, period by period */
    for (uint64_t done = 0; done < len; done += n) {
      size_t l = len - done < n ? (size_t)(len - done) : n;
      int rc = segment_write(fd, off + done, pat, l);
      if (rc < 0)
        return rc;
    }
  else {
    for (size_t i = 0; i < per; i += n)
      memcpy(block + i, pat, n);
    for (uint64_t done = 0; done < len; done += per) {
      size_t l = len - done < per ? (size_t)(len - done) : per;
      int rc = segment_write(fd, off + done, block, l);
      if (rc < 0)
        return rc;
    }
  }
  return 0;
}

int segment_copy(int src, uint64_t src_off, int dst, uint64_t dst_off, uint64_t len) {
  static uint8_t bounce[COPY_CHUNK];
  while (len > 0) {
    size_t l = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
    ssize_t r = pread(src, bounce, l, (off_t)src_off);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0) /* past the end: the size is sealed, so the range was never inside */
      return -EIO;
    int rc = segment_write(dst, dst_off, bounce, (size_t)r);
    if (rc < 0)
      return rc;
    src_off += (uint64_t)r;
    dst_off += (uint64_t)r;
    len -= (uint64_t)r;
  }
  return 0;
}

void segment_close(int fd) {
  if (fd >= 0)
    close(fd);
}
