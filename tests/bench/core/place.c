/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "place.h"

#define PLACE_MAX_PROCS 32

typedef struct placed {
  pid_t pid;
  bool server;
} placed;

static cpu_set_t all_cpus;
static int first_cpu = -1, last_cpu = -1;
static place_kind current = PLACE_UNPINNED;
static placed procs[PLACE_MAX_PROCS];
static int nprocs;

static const char *const names[PLACE_COUNT] = {"unpinned", "same-cpu", "split-cpus"};
static const char *const abouts[PLACE_COUNT] = {
    "unpinned: the scheduler places every process",
    "same CPU: servers and clients pinned to one CPU",
    "split CPUs: servers on one CPU, clients on another"};

void place_init(void) {
  CPU_ZERO(&all_cpus);
  sched_getaffinity(0, sizeof all_cpus, &all_cpus);
  for (int i = 0; i < CPU_SETSIZE; i++)
    if (CPU_ISSET(i, &all_cpus)) {
      if (first_cpu < 0)
        first_cpu = i;
      last_cpu = i;
    }
}

const char *place_name(place_kind k) { return names[k]; }
const char *place_about(place_kind k) { return abouts[k]; }

bool place_possible(place_kind k) { return k != PLACE_SPLIT_CPUS || first_cpu != last_cpu; }

int place_parse(const char *name) {
  for (int k = 0; k < PLACE_COUNT; k++)
    if (strcmp(name, names[k]) == 0)
      return k;
  return -1;
}

static cpu_set_t cpus_for(place_kind k, bool server) {
  cpu_set_t set;
  if (k == PLACE_UNPINNED)
    return all_cpus;
  CPU_ZERO(&set);
  /* the last CPU for everyone, or servers on the first and clients on the last */
  CPU_SET(k == PLACE_SPLIT_CPUS && server ? first_cpu : last_cpu, &set);
  return set;
}

/* Every thread of pid (0: this process): affinity is per thread, and threads a process
 * starts later inherit it from the one that starts them. */
static void apply(pid_t pid, bool server) {
  cpu_set_t set = cpus_for(current, server);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid ? (int)pid : (int)getpid());
  DIR *d = opendir(path);
  if (d == NULL)
    return;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.')
      sched_setaffinity((pid_t)atoi(e->d_name), sizeof set, &set);
  closedir(d);
}

void place_set(place_kind k) {
  current = k;
  apply(0, false);
  for (int i = 0; i < nprocs; i++)
    apply(procs[i].pid, procs[i].server);
}

static void add(pid_t pid, bool server) {
  if (pid <= 0)
    return;
  if (nprocs < PLACE_MAX_PROCS)
    procs[nprocs++] = (placed){pid, server};
  apply(pid, server);
}

void place_server(pid_t pid) { add(pid, true); }
void place_client(pid_t pid) { add(pid, false); }

void place_forget(pid_t pid) {
  for (int i = 0; i < nprocs; i++)
    if (procs[i].pid == pid) {
      procs[i] = procs[--nprocs];
      return;
    }
}
