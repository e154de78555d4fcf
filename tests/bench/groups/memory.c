/* SPDX-License-Identifier: MIT */
/* What holding things costs in memory, on fresh servers (a process's RSS does not shrink
 * back when memory is freed, so earlier cases would hide growth): the daemon's memory per
 * idle connection (1000 connections that said hello, or sent one GET / mg), and per live
 * 16-byte buffer (1M alloc(16): the daemon's RSS plus the shared memory it reserved)
 * against Redis and memcached holding as many 16-byte values. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fill.h"
#include "groups.h"
#include "memcached.h"
#include "place.h"
#include "redis.h"
#include "shmbufd.h"

#define IDLE 1000

typedef struct server {
  proc_server s;
  const raw_proto *proto; /* NULL: shmbufd */
  const char *name;
  double idle, per_item; /* bytes */
} server;

static void settle(void) { usleep(200000); }

static double kb_delta(long before, long after, long n) {
  return (double)(after - before) * 1024.0 / (double)n;
}

static int idle_cost(server *v) {
  raw_conn *raw = calloc(IDLE, sizeof *raw);
  shmbuf_client **c = calloc(IDLE, sizeof *c);
  int rc = raw && c ? 0 : -ENOMEM, n = 0;
  settle();
  long before = proc_rss_kb(v->s.pid);
  for (; n < IDLE && rc == 0; n++)
    rc = v->proto ? raw_open(&raw[n], v->s.path, v->proto)
                  : shmbuf_connect_ex(v->s.path, SHMBUF_THIN, &c[n]);
  settle();
  v->idle = kb_delta(before, proc_rss_kb(v->s.pid), IDLE);
  while (n-- > 0)
    v->proto ? raw_close(&raw[n]) : shmbuf_close(c[n]);
  free(raw);
  free(c);
  return rc;
}

static int item_cost(const group_env *env, server *v, long items) {
  uint64_t res0 = 0, res1 = 0;
  fill f = {NULL, NULL, 0};
  int rc = v->proto ? 0 : fill_open(&f, v->s.path);
  settle();
  long before = proc_rss_kb(v->s.pid);
  if (rc == 0 && v->proto == NULL && (rc = shmbufd_counter(&v->s, "reserved_bytes", &res0)) == 0)
    rc = fill_to(&f, items);
  else if (rc == 0 && v->proto)
    rc = v->proto == &redis_get ? redis_fill(&v->s, items) : memcached_fill(&v->s, items);
  settle();
  long after = proc_rss_kb(v->s.pid);
  if (rc == 0 && v->proto == NULL)
    rc = shmbufd_counter(&v->s, "reserved_bytes", &res1);
  v->per_item = kb_delta(before, after, items) + (double)(res1 - res0) / (double)items;
  if (rc == 0 && v->proto == NULL)
    report_note(env->rep, "shmbufd: %.0f B per idle connection; per live alloc(16) buffer, "
                "%.1f B of its own memory and %.1f B of shared memory reserved",
                v->idle, kb_delta(before, after, items), (double)(res1 - res0) / (double)items);
  fill_close(&f);
  return rc;
}

/* Starts the three servers afresh (shmbufd must start; a missing peer is left out). */
static int start(const group_env *env, server *v) {
  int rc = shmbufd_start(&v[0].s, env->shmbufd_bin, env->dir, "memory-shmbufd");
  if (rc < 0)
    return rc;
  if (redis_start(&v[1].s, env->dir, "memory-redis") < 0)
    v[1].s.pid = 0;
  if (memcached_start(&v[2].s, env->dir, "memory-memcached", 8192) < 0)
    v[2].s.pid = 0;
  for (int i = 0; i < 3; i++)
    place_server(v[i].s.pid);
  return 0;
}

static void stop(server *v) {
  for (int i = 0; i < 3; i++) {
    place_forget(v[i].s.pid);
    proc_stop(&v[i].s);
  }
}

static int run(const group_env *env) {
  server v[3] = {{{0, ""}, NULL, "shmbufd", 0, 0},
                 {{0, ""}, &redis_get, "Redis", 0, 0},
                 {{0, ""}, &memcached_mg, "memcached", 0, 0}};
  long items = env->quick ? 100000 : 1000000;
  /* each measurement on servers of its own: memory one frees is reused by the next */
  int rc = start(env, v);
  for (int i = 0; i < 3 && rc == 0; i++)
    if (v[i].s.pid > 0)
      rc = idle_cost(&v[i]);
  stop(v);
  if (rc == 0)
    rc = start(env, v);
  for (int i = 0; i < 3 && rc == 0; i++)
    if (v[i].s.pid > 0)
      rc = item_cost(env, &v[i], items);
  char what[96];
  for (int i = 1; i < 3 && rc == 0; i++)
    if (v[i].s.pid > 0) {
      report_value_row(env->rep, "memory", "per idle connection", v[0].idle, v[i].name,
                       v[i].idle, "B");
      snprintf(what, sizeof what, "per live 16-byte buffer, %ld live", items);
      report_value_row(env->rep, "memory", what, v[0].per_item, v[i].name, v[i].per_item, "B");
    }
  stop(v);
  return rc;
}

const group group_memory = {
    "memory", "memory per idle connection and per live buffer, on fresh servers", false, run};
