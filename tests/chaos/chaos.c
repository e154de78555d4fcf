/* SPDX-License-Identifier: MIT */
/* make chaos: well-behaved clients beside every hostile client at once, against a private
 * shmbufd, and the same well-behaved clients alone against another, fresh one. Reports what
 * the hostile ones cost the others: the well-behaved clients' p99 latency under attack over
 * their p99 alone (a ratio, measured in the same run), the requests they had refused and the
 * buffers they lost (bytes changed, or the daemon forgot them); the last two must be 0, and so
 * the exit status says. When run as root, the hostile clients run as other users (nobody, and
 * one more for the sockets up to the per-user cap), as they would on a real host.
 *
 * Usage: chaos --shmbufd PATH [--seconds N] [--workers N] */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "proc.h"
#include "worker.h"

#define MAX_WORKERS 16
#define MAX_HOSTILE 32
#define RAMP_SECONDS 3 /* the hostile clients get going before the measured clients start */
#define USER_CAP 256   /* shmbufd's default max_connections_per_user */

typedef struct options {
  const char *shmbufd;
  double seconds;
  int workers;
} options;

/* What one phase saw. */
typedef struct phase {
  uint64_t requests, refused, lost;
  double p50_us, p99_us, p999_us, max_us;
  bool daemon_survived;
  char first_refusal[160], first_loss[160];
} phase;

/* Everything the children report into, shared with them. */
typedef struct board {
  worker_report workers[MAX_WORKERS];
  hostile_report hostile[MAX_HOSTILE];
} board;

static board *shared;

typedef struct hostile_child {
  const hostile_kind *kind;
  hostile_ctx ctx;
} hostile_child;

typedef struct worker_child {
  const char *sock;
  double until;
  uint32_t seed;
  worker_report *out;
} worker_child;

/* As root, a hostile client runs as another user: nobody, or the one after it for a kind
 * that needs a user of its own. */
static void run_hostile(void *arg) {
  const hostile_child *h = arg;
  if (geteuid() == 0) {
    uid_t id = h->kind->own_user ? 65533 : 65534;
    if (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)
      _exit(10);
  }
  hostile_run(h->kind, &h->ctx);
}

static void run_worker(void *arg) {
  const worker_child *w = arg;
  worker_run(w->sock, w->until, w->seed, w->out);
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The latency below which a fraction q of the samples lie, in microseconds. */
static double quantile_us(const uint64_t *sorted, size_t n, double q) {
  if (n == 0)
    return 0;
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return (double)sorted[i] / 1e3;
}

static void summarize(const options *o, phase *ph) {
  size_t total = 0;
  for (int i = 0; i < o->workers; i++)
    total += shared->workers[i].nsamples;
  uint64_t *all = malloc((total ? total : 1) * sizeof *all);
  if (all == NULL) {
    fprintf(stderr, "chaos: out of memory\n");
    exit(2);
  }
  size_t k = 0;
  for (int i = 0; i < o->workers; i++) {
    const worker_report *w = &shared->workers[i];
    memcpy(all + k, w->samples_ns, w->nsamples * sizeof *all);
    k += w->nsamples;
    ph->requests += w->requests;
    ph->refused += w->refused;
    ph->lost += w->lost;
    if (ph->first_refusal[0] == '\0')
      snprintf(ph->first_refusal, sizeof ph->first_refusal, "%s", w->first_refusal);
    if (ph->first_loss[0] == '\0')
      snprintf(ph->first_loss, sizeof ph->first_loss, "%s", w->first_loss);
  }
  qsort(all, total, sizeof *all, by_value);
  ph->p50_us = quantile_us(all, total, 0.50);
  ph->p99_us = quantile_us(all, total, 0.99);
  ph->p999_us = quantile_us(all, total, 0.999);
  ph->max_us = quantile_us(all, total, 1.0);
  free(all);
}

static void reap(pid_t *pids, int n, bool kill_first) {
  for (int i = 0; i < n; i++)
    if (pids[i] > 0) {
      if (kill_first)
        kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
    }
}

/* One phase: a fresh daemon, the hostile clients when `attack`, the well-behaved ones for
 * o->seconds. */
static void run_phase(const options *o, bool attack, phase *ph) {
  char dir[64] = "/tmp/shmbuf-chaos-XXXXXX", sock[128], log[128];
  if (mkdtemp(dir) == NULL || chmod(dir, 0755) < 0) {
    perror("chaos: mkdtemp");
    exit(2);
  }
  snprintf(sock, sizeof sock, "%s/shmbufd.sock", dir);
  snprintf(log, sizeof log, "%s/shmbufd.log", dir);
  char *argv[] = {(char *)o->shmbufd, "--socket", sock, "--config", "/dev/null", "--log-level",
                  "warning", "--socket-mode", "0666", NULL};
  proc_server srv;
  int rc = proc_start(&srv, argv, sock, log);
  if (rc < 0) {
    fprintf(stderr, "chaos: cannot start %s: %s\n", o->shmbufd, strerror(-rc));
    exit(2);
  }
  memset(shared, 0, sizeof *shared);

  static hostile_child hostile[MAX_HOSTILE];
  pid_t hostile_pids[MAX_HOSTILE] = {0};
  int nhostile = 0;
  double start = worker_now();
  /* Not root: the hostile clients share the user of the well-behaved ones, whose
   * connections the per-user cap must leave room for. */
  uint32_t cap = geteuid() == 0 ? USER_CAP : USER_CAP - 64;
  for (size_t k = 0; attack && k < hostile_nkinds; k++)
    for (int i = 0; i < hostile_kinds[k].processes && nhostile < MAX_HOSTILE; i++) {
      hostile_child *h = &hostile[nhostile];
      *h = (hostile_child){&hostile_kinds[k],
                           {sock, start + RAMP_SECONDS + o->seconds + 5, cap,
                            &shared->hostile[nhostile]}};
      hostile_pids[nhostile++] = proc_fork(run_hostile, h);
    }
  if (attack)
    sleep(RAMP_SECONDS);

  static worker_child workers[MAX_WORKERS];
  pid_t worker_pids[MAX_WORKERS] = {0};
  double until = worker_now() + o->seconds;
  for (int i = 0; i < o->workers; i++) {
    workers[i] = (worker_child){sock, until, 0x9e3779b9u * (uint32_t)(i + 1),
                                &shared->workers[i]};
    worker_pids[i] = proc_fork(run_worker, &workers[i]);
  }
  reap(worker_pids, o->workers, false);
  ph->daemon_survived = waitpid(srv.pid, NULL, WNOHANG) == 0;
  reap(hostile_pids, nhostile, true);
  summarize(o, ph);

  if (attack) {
    printf("%-54s %11s %9s %10s\n", "hostile clients", "connections", "ended", "replies");
    int at = 0;
    for (size_t k = 0; k < hostile_nkinds; k++) {
      uint64_t made = 0, ended = 0, replies = 0;
      for (int i = 0; i < hostile_kinds[k].processes; i++, at++) {
        made += shared->hostile[at].connections;
        ended += shared->hostile[at].ended;
        replies += shared->hostile[at].replies;
      }
      printf("  %-52s %11llu %9llu %10llu\n", hostile_kinds[k].name, (unsigned long long)made,
             (unsigned long long)ended, (unsigned long long)replies);
    }
    printf("(ended: closed or refused by the daemon)\n");
  }
  if (!ph->daemon_survived) {
    char cmd[256];
    fprintf(stderr, "chaos: shmbufd died; its log:\n");
    snprintf(cmd, sizeof cmd, "tail -n 20 '%s' >&2", log);
    (void)!system(cmd);
    srv.pid = 0;
  }
  proc_stop(&srv);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  (void)!system(cmd);
}

static void usage(void) {
  fprintf(stderr, "usage: chaos --shmbufd PATH [--seconds N] [--workers N]\n");
  exit(2);
}

static options parse(int argc, char **argv) {
  options o = {NULL, 30, 4};
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      usage();
    if (strcmp(argv[i], "--shmbufd") == 0)
      o.shmbufd = argv[++i];
    else if (strcmp(argv[i], "--seconds") == 0)
      o.seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--workers") == 0)
      o.workers = atoi(argv[++i]);
    else
      usage();
  }
  if (o.shmbufd == NULL || o.seconds <= 0 || o.workers < 1 || o.workers > MAX_WORKERS)
    usage();
  return o;
}

int main(int argc, char **argv) {
  options o = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    perror("chaos: mmap");
    return 2;
  }
  printf("make chaos: %d well-behaved clients (thin: every call a request) for %.0f s, alone, "
         "then beside every hostile client at once%s\n",
         o.workers, o.seconds, geteuid() == 0 ? " (running as other users)" : "");
  phase alone = {0}, attacked = {0};
  run_phase(&o, false, &alone);
  run_phase(&o, true, &attacked);

  printf("\n%-28s %14s %14s %8s\n", "well-behaved clients", "alone", "under attack", "ratio");
  printf("%-28s %14llu %14llu %8.2f\n", "requests", (unsigned long long)alone.requests,
         (unsigned long long)attacked.requests,
         alone.requests ? (double)attacked.requests / (double)alone.requests : 0);
  printf("%-28s %14.1f %14.1f %8.2f\n", "p50 latency (us)", alone.p50_us, attacked.p50_us,
         alone.p50_us > 0 ? attacked.p50_us / alone.p50_us : 0);
  printf("%-28s %14.1f %14.1f %8.2f\n", "p99 latency (us)", alone.p99_us, attacked.p99_us,
         alone.p99_us > 0 ? attacked.p99_us / alone.p99_us : 0);
  printf("%-28s %14.1f %14.1f %8.2f\n", "p99.9 latency (us)", alone.p999_us, attacked.p999_us,
         alone.p999_us > 0 ? attacked.p999_us / alone.p999_us : 0);
  printf("%-28s %14.1f %14.1f %8.2f\n", "longest (ms)", alone.max_us / 1e3, attacked.max_us / 1e3,
         alone.max_us > 0 ? attacked.max_us / alone.max_us : 0);
  printf("%-28s %14llu %14llu %8s\n", "requests refused (want 0)",
         (unsigned long long)alone.refused, (unsigned long long)attacked.refused, "");
  printf("%-28s %14llu %14llu %8s\n", "buffers lost (want 0)", (unsigned long long)alone.lost,
         (unsigned long long)attacked.lost, "");
  const phase *both[] = {&alone, &attacked};
  for (int i = 0; i < 2; i++) {
    if (both[i]->first_refusal[0])
      printf("first refusal %s: %s\n", i ? "under attack" : "alone", both[i]->first_refusal);
    if (both[i]->first_loss[0])
      printf("first loss %s: %s\n", i ? "under attack" : "alone", both[i]->first_loss);
    if (!both[i]->daemon_survived)
      printf("shmbufd died %s\n", i ? "under attack" : "alone");
  }
  bool ok = alone.refused + attacked.refused + alone.lost + attacked.lost == 0 &&
            alone.daemon_survived && attacked.daemon_survived;
  printf("%s\n", ok ? "PASS: no request refused, no buffer lost" : "FAIL");
  return ok ? 0 : 1;
}
