/* SPDX-License-Identifier: MIT */
/* Instructions per request, counted by callgrind: shmbufd, libshmbuf (the client side) and
 * the peers' servers, each for operations made one at a time and RAW_DEPTH pipelined.
 *
 *   bench-profile [--quick] [--out DIR] [--shmbufd PATH]
 *   bench-profile --load shmbuf|redis|memcached single|pipelined N SOCKET
 *
 * Callgrind counts instructions executed in user space, so they repeat from run to run
 * whatever the machine's load. Each figure comes from two runs that differ only in their
 * request count, N and 2N (after the same warm-up): the difference, over N, is the cost of
 * one request, without start-up, connection, warm-up and shutdown. Only the thread of the
 * counted process that executed the most instructions counts: the one that serves the
 * requests (memcached's maintenance threads wake with wall-clock time, which the two runs do
 * not share under callgrind). The process counted runs under callgrind; the other runs
 * natively. --load is the load generator itself. Writes DIR/bench-profile.md. */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "memcached.h"
#include "proc.h"
#include "raw.h"
#include "redis.h"
#include "shmbuf.h"
#include "shmbufd.h"

#define WARMUP (4 * RAW_DEPTH)

/* ---- the load ----------------------------------------------------------------------------- */

static void keep(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c;
  *(shmbuf_buf **)arg = status < 0 ? NULL : buf;
}

/* n thin allocUnsafe(16) + release, one at a time or RAW_DEPTH at once. */
static int shmbuf_load(shmbuf_client *c, bool pipelined, long n) {
  shmbuf_buf *b[RAW_DEPTH] = {0};
  int rc = 0;
  for (long i = 0; i < n && rc == 0; i += pipelined ? RAW_DEPTH : 1) {
    int depth = pipelined ? RAW_DEPTH : 1;
    for (int k = 0; k < depth && rc == 0; k++)
      rc = pipelined ? shmbuf_submit_alloc_unsafe(c, 16, keep, &b[k])
                     : shmbuf_alloc_unsafe(c, 16, &b[k]);
    if (rc == 0 && pipelined)
      rc = shmbuf_wait(c);
    for (int k = 0; k < depth; k++)
      shmbuf_release(b[k]), b[k] = NULL;
  }
  return rc < 0 ? rc : shmbuf_wait(c);
}

static int load(const char *kind, const char *mode, long n, const char *path) {
  bool pipelined = strcmp(mode, "pipelined") == 0;
  int rc;
  if (strcmp(kind, "shmbuf") == 0) {
    shmbuf_client *c;
    if ((rc = shmbuf_connect_ex(path, SHMBUF_THIN, &c)) == 0) {
      if ((rc = shmbuf_load(c, pipelined, WARMUP)) == 0)
        rc = shmbuf_load(c, pipelined, n);
      shmbuf_close(c);
    }
    return rc;
  }
  raw_conn c;
  double (*fn)(void *, long) = pipelined ? raw_pipelined : raw_rtt;
  if ((rc = raw_open(&c, path, strcmp(kind, "redis") == 0 ? &redis_get : &memcached_mg)) < 0)
    return rc;
  double t = fn(&c, WARMUP);
  if (t >= 0)
    t = fn(&c, n);
  raw_close(&c);
  return t < 0 ? (int)t : 0;
}

/* ---- counting ----------------------------------------------------------------------------- */

typedef struct setup {
  const char *dir, *shmbufd, *self;
  long fd_limit; /* the hard fd limit a program sees under valgrind */
} setup;

/* The "summary:" (or "totals:") line of a callgrind output file: instructions executed. */
static double thread_instructions(const char *path) {
  char line[512];
  double n = -1;
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "summary:", 8) == 0 || (n < 0 && strncmp(line, "totals:", 7) == 0))
      n = atof(strchr(line, ':') + 1);
  fclose(f);
  return n;
}

/* The most instructions one thread executed, of the files callgrind wrote for each thread
 * (PREFIX-01, PREFIX-02, ...), which it removes. */
static double instructions(const char *prefix) {
  char pattern[600];
  glob_t g;
  double most = -1;
  snprintf(pattern, sizeof pattern, "%s-*", prefix);
  if (glob(pattern, 0, NULL, &g) != 0)
    return -1;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    double n = thread_instructions(g.gl_pathv[i]);
    most = n > most ? n : most;
    unlink(g.gl_pathv[i]);
  }
  globfree(&g);
  return most;
}

static int start_server(const setup *s, const char *server, bool wrapped, proc_server *p) {
  if (strcmp(server, "shmbuf") == 0)
    return shmbufd_start(p, s->shmbufd, s->dir, "shmbufd");
  return strcmp(server, "redis") == 0
             ? redis_start(p, s->dir, "redis")
             : memcached_start(p, s->dir, "memcached", wrapped ? s->fd_limit : 1024);
}

/* Runs the load `kind mode n` against a fresh server of that kind, with either the server
 * or the load under callgrind; returns the instructions it executed, or a negative errno. */
static double count(const setup *s, const char *kind, const char *mode, long n,
                    bool count_server) {
  char out[512], opt[600], num[32];
  static int runs;
  snprintf(out, sizeof out, "%s/callgrind.%d", s->dir, ++runs);
  snprintf(opt, sizeof opt, "--callgrind-out-file=%s", out);
  snprintf(num, sizeof num, "%ld", n);
  char *wrap[] = {"valgrind", "--tool=callgrind", "--quiet", "--separate-threads=yes", opt, NULL};
  proc_server p;
  proc_wrap(count_server ? wrap : NULL);
  int rc = start_server(s, kind, count_server, &p);
  proc_wrap(NULL);
  if (rc < 0)
    return rc;
  char *argv[] = {"valgrind", "--tool=callgrind", "--quiet", "--separate-threads=yes", opt,
                  (char *)s->self, "--load", (char *)kind, (char *)mode, num, p.path, NULL};
  char **run = count_server ? argv + 5 : argv;
  pid_t pid = fork();
  if (pid == 0) {
    execvp(run[0], run);
    _exit(127);
  }
  int st = -1;
  if (pid > 0)
    waitpid(pid, &st, 0);
  proc_stop(&p);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return -ECHILD;
  double total = instructions(out);
  return total < 0 ? -ENOENT : total;
}

/* Instructions per operation: the difference between 2n and n operations, over n. */
static double per_op(const setup *s, const char *kind, const char *mode, long n,
                     bool count_server) {
  double one = count(s, kind, mode, n, count_server);
  double two = one < 0 ? one : count(s, kind, mode, 2 * n, count_server);
  return two < 0 ? two : (two - one) / (double)n;
}

typedef struct line {
  const char *what, *kind;
  bool count_server;
  double single, pipelined;
} line;

static void print_table(FILE *f, const line *l, int n, long ops) {
  fprintf(f, "| instructions per operation (callgrind; %ld and %ld operations, difference) "
             "| one at a time | %d pipelined |\n|---|---|---|\n",
          ops, 2 * ops, RAW_DEPTH);
  for (int i = 0; i < n; i++) {
    if (l[i].single < 0 || l[i].pipelined < 0)
      fprintf(f, "| %s | not measured (%s) | |\n", l[i].what,
              strerror((int)-(l[i].single < 0 ? l[i].single : l[i].pipelined)));
    else
      fprintf(f, "| %s | %.0f | %.0f |\n", l[i].what, l[i].single, l[i].pipelined);
  }
  if (l[0].single > 0 && l[2].single > 0 && l[2].pipelined > 0)
    fprintf(f, "\nshmbufd per operation over Redis per GET: %.2f one at a time, %.2f pipelined "
               "(an operation is two requests: allocUnsafe and release).\n",
            l[0].single / l[2].single, l[0].pipelined / l[2].pipelined);
  if (l[1].single > 0 && l[1].pipelined > 0)
    fprintf(f, "libshmbuf per request: %.0f one at a time, %.0f pipelined (each frame carries "
               "the allocUnsafe and the release before it).\n",
            l[1].single / 2, l[1].pipelined / 2);
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--load") == 0)
    return load(argv[2], argv[3], atol(argv[4]), argv[5]) < 0;
  setup s = {NULL, "./shmbufd", NULL, 0};
  const char *out = ".";
  bool quick = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
      out = argv[++i];
    else if (strcmp(argv[i], "--shmbufd") == 0 && i + 1 < argc)
      s.shmbufd = argv[++i];
    else {
      fprintf(stderr, "usage: bench-profile [--quick] [--out DIR] [--shmbufd PATH]\n");
      return 2;
    }
  }
  char self[4096], dir[] = "/tmp/shmbuf-profile-XXXXXX";
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len < 0 || mkdtemp(dir) == NULL)
    return perror("bench-profile"), 1;
  self[len] = 0;
  s.self = self;
  s.dir = dir;
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl; /* memcached wants room for its connections, and cannot ask under valgrind */
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  char limit[64];
  if (proc_first_line("valgrind --tool=none --quiet sh -c 'ulimit -Hn'", limit, sizeof limit))
    s.fd_limit = atol(limit);

  long ops = quick ? 2048 : 16384;
  line l[] = {
      {"shmbufd: thin allocUnsafe(16) + release", "shmbuf", true, 0, 0},
      {"libshmbuf (client side): thin allocUnsafe(16) + release", "shmbuf", false, 0, 0},
      {"Redis server: GET of a 16-byte value", "redis", true, 0, 0},
      {"memcached server: mg of a 16-byte value", "memcached", true, 0, 0},
      {"the raw peer client: Redis GET", "redis", false, 0, 0},
  };
  int n = (int)(sizeof l / sizeof l[0]);
  for (int i = 0; i < n; i++) {
    printf("counting %s ...\n", l[i].what);
    fflush(stdout);
    l[i].single = per_op(&s, l[i].kind, "single", ops, l[i].count_server);
    l[i].pipelined = per_op(&s, l[i].kind, "pipelined", ops, l[i].count_server);
  }
  print_table(stdout, l, n, ops);
  char path[4096], rm[128];
  snprintf(path, sizeof path, "%s/bench-profile.md", out);
  FILE *f = fopen(path, "w");
  if (f) {
    print_table(f, l, n, ops);
    fclose(f);
    printf("wrote %s\n", path);
  }
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  if (system(rm) != 0)
    fprintf(stderr, "bench-profile: could not remove %s\n", dir);
  return f ? 0 : 1;
}
