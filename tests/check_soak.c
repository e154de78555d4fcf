/* SPDX-License-Identifier: MIT */
/* The chaos soak: dozens of client processes make and release buffers of every kind against
 * one shmbufd, each writing its own canary into its buffers and checking every new buffer for
 * another client's canary, every alloc for zeros and its live buffers for overlaps, while the
 * parent kill -9s clients at random. At the end the daemon must hold nothing: no buffers,
 * bytes, pools, slabs or reserved memory, no more fds than idle, and no growth in memory.
 * SHMBUF_SOAK_SECONDS sets the length (default 20; `make soak` runs ten minutes). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "shmbuf.h"

#define CLIENTS 24
#define MAX_LIVE 256
#define CANARY "CNRY" /* then the id, its complement, and "YRNC": 16 bytes */

typedef struct counters {
  unsigned long ops[CLIENTS * 512]; /* by client id; killed clients are replaced by new ids */
  unsigned long failures;
  char why[512];
} counters;

static sbt_daemon D;
static counters *shared;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void soak_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void soak_fail(const char *fmt, ...) {
  if (__sync_fetch_and_add(&shared->failures, 1) == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(shared->why, sizeof shared->why, fmt, ap);
    va_end(ap);
  }
  _exit(3);
}

/* Writes this client's canary over a buffer, as often as it fits. A canary checks itself: a
 * copy of a buffer's ragged end next to alignment padding can leave pieces of canaries
 * behind, but never a whole one with a foreign id. */
static void stamp(shmbuf_buf *b, uint32_t id) {
  uint8_t *p = shmbuf_data(b);
  size_t n = shmbuf_length(b);
  uint32_t not_id = ~id;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    memcpy(p + i, CANARY, 4);
    memcpy(p + i + 4, &id, 4);
    memcpy(p + i + 8, &not_id, 4);
    memcpy(p + i + 12, "YRNC", 4);
  }
}

/* A new buffer may hold this client's old canaries, never another's. One pass over the
 * bytes: memchr() finds each candidate start, and each call is charged (ASan checks what a
 * call reads) only up to what it found, where memmem() is charged the whole rest of the buffer
 * every time, which made a buffer full of canaries quadratic. */
static void inspect_new(shmbuf_buf *b, uint32_t id) {
  const uint8_t *p = shmbuf_data(b), *end = p + shmbuf_length(b);
  while (p && end - p >= 4 && (p = memchr(p, CANARY[0], (size_t)(end - p) - 3)) != NULL) {
    if (memcmp(p, CANARY, 4) != 0) {
      p++;
      continue;
    }
    uint32_t who, not_who;
    if (end - p >= 16 && memcmp(p + 12, "YRNC", 4) == 0) {
      memcpy(&who, p + 4, 4);
      memcpy(&not_who, p + 8, 4);
      if (who == ~not_who && who != id)
        soak_fail("client %u: a new buffer holds client %u's canary", id, who);
    }
    p += 4;
  }
}

static int by_start(const void *a, const void *b) {
  const uint8_t *x = shmbuf_data(*(shmbuf_buf *const *)a), *y = shmbuf_data(*(shmbuf_buf *const *)b);
  return x < y ? -1 : x > y;
}

static void assert_disjoint(shmbuf_buf **live, size_t n, unsigned id) {
  static shmbuf_buf *sorted[MAX_LIVE];
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (shmbuf_length(live[i]) > 0)
      sorted[k++] = live[i];
  qsort(sorted, k, sizeof *sorted, by_start);
  for (size_t i = 1; i < k; i++)
    if (shmbuf_data(sorted[i - 1]) + shmbuf_length(sorted[i - 1]) > shmbuf_data(sorted[i]))
      soak_fail("client %u: live buffers overlap", id);
}

static void client_main(unsigned id, const char *sock, double until) {
  unsigned long *ops = &shared->ops[id];
  uint32_t seed = id * 2654435761u + (uint32_t)getpid();
  shmbuf_client *c;
  id += 1000; /* no canary id is 0, the value of fresh memory */
  if (shmbuf_connect(sock, &c) < 0)
    soak_fail("client %u: cannot connect: %s", id, shmbuf_error_message());
  static shmbuf_buf *live[MAX_LIVE];
  size_t n = 0;
  while (now() < until) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 8, what = r % 10;
    if ((n == MAX_LIVE || what < 3) && n > 0) {
      size_t i = (r >> 4) % n;
      shmbuf_release(live[i]);
      live[i] = live[--n];
      (*ops)++;
      continue;
    }
    int64_t size = r % 13 == 0 ? 5000 + r % 300000 : r % 97 == 0 ? 3 << 20 : 1 + r % 5000;
    shmbuf_buf *b;
    int rc;
    bool zero = false;
    switch (what) {
    case 3:
    case 4:
      rc = shmbuf_alloc(c, size, &b);
      zero = true;
      break;
    case 5:
    case 6:
      rc = shmbuf_alloc_unsafe(c, size, &b);
      break;
    case 7:
      rc = shmbuf_alloc_unsafe_slow(c, size, &b);
      break;
    case 8:
      rc = shmbuf_from_string(c, "soak soak soak", SHMBUF_CSTR, r % 2 ? "latin1" : "utf8", &b);
      break;
    default:
      rc = n ? shmbuf_from_buffer(c, live[r % n], &b) : shmbuf_alloc_unsafe(c, 8, &b);
    }
    if (rc < 0)
      soak_fail("client %u: a request failed: %s", id, shmbuf_error_message());
    if (zero)
      for (size_t k = 0; k < shmbuf_length(b); k++)
        if (shmbuf_data(b)[k] != 0)
          soak_fail("client %u: alloc is not zero-filled", id);
    if (what != 9 && what != 8) /* copies and strings bring their own bytes */
      inspect_new(b, id);
    stamp(b, id);
    live[n++] = b;
    if (n % 32 == 0)
      assert_disjoint(live, n, id);
    (*ops)++;
  }
  for (size_t i = 0; i < n; i++)
    shmbuf_release(live[i]);
  shmbuf_close(c);
  _exit(0);
}

static long daemon_rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1)
      break;
  if (f)
    fclose(f);
  return kb;
}

static pid_t spawn(unsigned id, double until) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    client_main(id, D.sock, until);
  return pid;
}

/* Runs the clients for `seconds`, killing one at random every few milliseconds. */
static unsigned long run(double seconds, unsigned *kills) {
  double until = now() + seconds;
  pid_t pids[CLIENTS];
  unsigned next_id = CLIENTS;
  for (unsigned i = 0; i < CLIENTS; i++)
    pids[i] = spawn(i, until);
  uint32_t seed = 12345;
  while (now() < until) {
    struct timespec t = {0, 20 * 1000000};
    nanosleep(&t, NULL);
    seed = seed * 1103515245u + 12345u;
    unsigned i = (seed >> 8) % CLIENTS;
    if ((seed >> 20) % 4 == 0 && next_id < sizeof shared->ops / sizeof *shared->ops) {
      kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
      (*kills)++;
      pids[i] = spawn(next_id++, until);
    }
  }
  for (unsigned i = 0; i < CLIENTS; i++) {
    int status;
    waitpid(pids[i], &status, 0);
    ck_assert_msg(shared->failures == 0, "%s", shared->why);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client %u ended with 0x%x", i,
                  status);
  }
  unsigned long total = 0;
  for (unsigned i = 0; i < next_id; i++)
    total += shared->ops[i];
  return total;
}

START_TEST(chaos) {
  const char *env = getenv("SHMBUF_SOAK_SECONDS");
  double seconds = env ? atof(env) : 20;
  shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(shared, MAP_FAILED);
  int idle_fds = sbt_count_fds_settled(D.pid);
  unsigned kills = 0;
  /* A short warm-up first: the daemon's memory after it is the baseline for growth. */
  run(seconds / 10 < 2 ? 2 : seconds / 10, &kills);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 5000), 0);
  long rss0 = daemon_rss_kb(D.pid);
  memset(shared, 0, sizeof *shared);
  kills = 0;
  unsigned long ops = run(seconds, &kills);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 5000), 0);
  const char *names[] = {"buffers", "bytes", "pools", "slabs", "reserved_bytes", "warm_bytes"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    ck_assert_msg(sbt_stat(&D, names[i]) == 0, "%s is %llu after the soak", names[i],
                  (unsigned long long)sbt_stat(&D, names[i]));
  ck_assert_int_le(sbt_count_fds_settled(D.pid), idle_fds);
  ck_assert_int_eq(sbt_count_shm_maps(D.pid), 0);
  long rss1 = daemon_rss_kb(D.pid);
  printf("# soak: %lu operations by %u clients in %.0f s, %u killed with SIGKILL; daemon RSS "
         "%ld kB after warm-up, %ld kB at the end; %d fds (idle %d)\n",
         ops, CLIENTS, seconds, kills, rss0, rss1, sbt_count_fds_settled(D.pid), idle_fds);
#if defined(__SANITIZE_ADDRESS__)
  /* ASan's quarantine holds freed memory back on purpose: only a gross leak shows */
  ck_assert_int_le(rss1, rss0 + 256 * 1024);
#else
  ck_assert_int_le(rss1, rss0 + 4096); /* no growth beyond allocator noise */
#endif
  munmap(shared, sizeof *shared);
}
END_TEST

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

int main(void) {
  Suite *s = suite_create("soak");
  TCase *t = tcase_create("chaos");
  tcase_add_checked_fixture(t, up, down);
  const char *env = getenv("SHMBUF_SOAK_SECONDS");
  tcase_set_timeout(t, (env ? atof(env) : 20) * 1.1 + 60);
  tcase_add_test(t, chaos);
  suite_add_tcase(s, t);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
