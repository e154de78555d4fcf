/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* A limit file's value: a number of bytes, or "max" (none). */
static uint64_t read_limit(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return UINT64_MAX;
  unsigned long long v;
  uint64_t limit = fscanf(f, "%llu", &v) == 1 ? (uint64_t)v : UINT64_MAX;
  fclose(f);
  return limit;
}

/* The lowest `file` among the cgroup at `dir` + `path` and its ancestors. */
static uint64_t lowest_limit(const char *dir, char *path, const char *file) {
  uint64_t low = UINT64_MAX;
  for (;;) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s%s/%s", dir, path, file);
    uint64_t v = read_limit(p);
    low = v < low ? v : low;
    char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
      break;
    *slash = '\0';
  }
  return low;
}

/* The memory limit of this process's cgroup, v2 or v1 (UINT64_MAX: none found). */
static uint64_t cgroup_memory_limit(void) {
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (f == NULL)
    return UINT64_MAX;
  char line[PATH_MAX + 64];
  uint64_t low = UINT64_MAX;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *controllers = strchr(line, ':'), *path = controllers ? strchr(controllers + 1, ':') : NULL;
    if (path == NULL)
      continue;
    *path++ = '\0';
    controllers++;
    uint64_t v = UINT64_MAX;
    if (strcmp(line, "0") == 0 && controllers[0] == '\0') /* v2 */
      v = lowest_limit("/sys/fs/cgroup", path, "memory.max");
    else if (strstr(controllers, "memory")) /* v1 */
      v = lowest_limit("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
    low = v < low ? v : low;
  }
  fclose(f);
  return low;
}

uint64_t host_memory_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t phys = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
  uint64_t cg = cgroup_memory_limit();
  return cg < phys ? cg : phys;
}

uint64_t host_fd_limit(void) {
  struct rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) < 0)
    return 1024;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) < 0)
      getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur == RLIM_INFINITY ? UINT32_MAX : (uint64_t)r.rlim_cur;
}

int host_process_name(pid_t pid, char *out, size_t cap) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, out, cap - 1);
  int err = errno;
  close(fd);
  if (n < 0)
    return -err;
  if (n > 0 && out[n - 1] == '\n')
    n--;
  out[n] = '\0';
  for (unsigned char *p = (unsigned char *)out; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      *p = '?';
  return 0;
}
