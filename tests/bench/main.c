/* SPDX-License-Identifier: MIT */
/* shmbuf's benchmark: every case beside the floor or peer it is judged against, measured in
 * the same run, interleaved round by round, and reported as ratios.
 *
 *   bench [--quick] [--out DIR] [--shmbufd PATH] [--node-script PATH]
 *         [--placement NAME,...] [--group NAME,...]
 *
 * It starts a private shmbufd, the echo floor, Redis and memcached (when installed) on
 * private sockets in a temporary directory, and node-peer.js (when node is installed); runs
 * the case groups (groups/groups.h) under each placement (core/place.h), the unpinned one
 * first; prints the rows as they come and writes DIR/bench.json, DIR/bench.md and
 * DIR/bench-scale.png. Timings are reported, never judged: it fails only when it cannot run. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "groups.h"
#include "memcached.h"
#include "place.h"
#include "redis.h"
#include "report.h"
#include "shmbuf.h"
#include "shmbufd.h"

typedef struct options {
  bool quick;
  const char *out, *shmbufd, *node_script, *placements, *groups;
} options;

static int usage(void) {
  fprintf(stderr, "usage: bench [--quick] [--out DIR] [--shmbufd PATH] [--node-script PATH]\n"
                  "             [--placement unpinned,same-cpu,split-cpus] [--group NAME,...]\n"
                  "groups:");
  for (int i = 0; groups_all[i]; i++)
    fprintf(stderr, " %s", groups_all[i]->name);
  fprintf(stderr, "\n");
  return 2;
}

/* Whether name is in the comma-separated list (NULL: every name is). */
static bool listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
    if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == 0))
      return true;
  return list == NULL;
}

static int parse(int argc, char **argv, options *o) {
  *o = (options){false, ".", "./shmbufd", "tests/bench/peers/node-peer.js", NULL, NULL};
  for (int i = 1; i < argc; i++) {
    const char **value = strcmp(argv[i], "--out") == 0           ? &o->out
                         : strcmp(argv[i], "--shmbufd") == 0     ? &o->shmbufd
                         : strcmp(argv[i], "--node-script") == 0 ? &o->node_script
                         : strcmp(argv[i], "--placement") == 0   ? &o->placements
                         : strcmp(argv[i], "--group") == 0       ? &o->groups
                                                                 : NULL;
    if (strcmp(argv[i], "--quick") == 0)
      o->quick = true;
    else if (value && i + 1 < argc)
      *value = argv[++i];
    else
      return -EINVAL;
  }
  for (const char *p = o->placements; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(p, ","), p);
    if (place_parse(name) < 0)
      return -EINVAL;
  }
  return 0;
}

static void describe_machine(report *rep, const options *o, const group_env *env) {
  char line[256], when[64];
  struct utsname u;
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
  report_meta(rep, "run", "%s, %s (%d rounds of %.0f ms samples)", when,
              o->quick ? "quick" : "full", env->rounds, env->sample_ns / 1e6);
  if (proc_first_line("grep -m1 'model name' /proc/cpuinfo", line, sizeof line))
    report_meta(rep, "cpu", "%ld x %s", sysconf(_SC_NPROCESSORS_ONLN),
                strchr(line, ':') ? strchr(line, ':') + 2 : line);
  if (uname(&u) == 0)
    report_meta(rep, "kernel", "%s %s", u.sysname, u.release);
  report_meta(rep, "compiler", "gcc %s", __VERSION__);
  report_meta(rep, "libshmbuf", "%s", shmbuf_version());
  if (env->node->pid > 0)
    report_meta(rep, "node", "%s", env->node->version);
  redis_version(line, sizeof line);
  if (line[0])
    report_meta(rep, "redis", "%s", line);
  memcached_version(line, sizeof line);
  if (line[0])
    report_meta(rep, "memcached", "%s (one worker thread)", line);
}

static void load_average(report *rep, const char *when) {
  double l[3];
  if (getloadavg(l, 3) == 3)
    report_meta(rep, when, "%.2f %.2f %.2f", l[0], l[1], l[2]);
}

/* Runs the chosen groups under each chosen placement, the first placement's once-only
 * groups included. */
static void run_all(const options *o, group_env *env) {
  bool first = true;
  for (int k = 0; k < PLACE_COUNT; k++) {
    if (!listed(o->placements, place_name((place_kind)k)) || !place_possible((place_kind)k))
      continue;
    place_set((place_kind)k);
    report_placement(env->rep, place_name((place_kind)k), place_about((place_kind)k));
    printf("\n== %s\n", place_about((place_kind)k));
    for (int g = 0; groups_all[g]; g++) {
      const group *gr = groups_all[g];
      if (!listed(o->groups, gr->name) || (!gr->every_placement && !first))
        continue;
      printf("-- %s: %s\n", gr->name, gr->about);
      fflush(stdout);
      int rc = gr->run(env);
      if (rc < 0)
        report_note(env->rep, "%s: stopped early: %s (%s)", gr->name, shmbuf_strerror(rc),
                    shmbuf_error_message() ? shmbuf_error_message() : "");
    }
    first = false;
  }
}

int main(int argc, char **argv) {
  options o;
  if (parse(argc, argv, &o) < 0)
    return usage();
  place_init();
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  char dir[] = "/tmp/shmbuf-bench-XXXXXX", path[256];
  if (mkdtemp(dir) == NULL)
    return perror("bench: mkdtemp"), 1;

  proc_server daemon = {0, ""}, echo = {0, ""}, redis = {0, ""}, memcached = {0, ""};
  nodejs_peer node = {0, NULL, NULL, ""};
  report *rep = report_new();
  group_env env = {dir, o.shmbufd, o.quick, o.quick ? 5 : 11, o.quick ? 4e6 : 20e6, &daemon,
                   {{0}}, 0, &node, rep};
  snprintf(path, sizeof path, "%s/echo.sock", dir);
  int rc = rep ? shmbufd_start(&daemon, o.shmbufd, dir, "shmbufd") : -ENOMEM;
  if (rc < 0 || (rc = echo_start(&echo, path)) < 0) {
    fprintf(stderr, "bench: cannot start %s: %s\n", daemon.pid ? "the echo" : o.shmbufd,
            strerror(-rc));
    proc_stop(&daemon);
    return 1;
  }
  env.peers[env.npeers++] = (group_peer){echo.path, &echo_proto};
  if ((rc = redis_start(&redis, dir, "redis")) == 0)
    env.peers[env.npeers++] = (group_peer){redis.path, &redis_get};
  else
    fprintf(stderr, "bench: no Redis rows: redis-server: %s\n", strerror(-rc));
  if ((rc = memcached_start(&memcached, dir, "memcached", 8192)) == 0)
    env.peers[env.npeers++] = (group_peer){memcached.path, &memcached_mg};
  else
    fprintf(stderr, "bench: no memcached rows: memcached: %s\n", strerror(-rc));
  if ((rc = nodejs_start(&node, o.node_script)) < 0)
    fprintf(stderr, "bench: no Node rows: node %s: %s\n", o.node_script, strerror(-rc));
  place_server(daemon.pid);
  place_server(echo.pid);
  place_server(redis.pid);
  place_server(memcached.pid);
  if (node.pid > 0)
    place_client(node.pid);

  describe_machine(rep, &o, &env);
  load_average(rep, "load average before");
  run_all(&o, &env);
  load_average(rep, "load average after");

  place_set(PLACE_UNPINNED);
  nodejs_stop(&node);
  proc_stop(&memcached);
  proc_stop(&redis);
  proc_stop(&echo);
  proc_stop(&daemon);
  rc = report_write(rep, o.out);
  report_free(rep);
  snprintf(path, sizeof path, "rm -rf '%s'", dir);
  if (system(path) != 0)
    fprintf(stderr, "bench: could not remove %s\n", dir);
  return rc < 0 ? 1 : 0;
}
