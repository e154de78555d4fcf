/* SPDX-License-Identifier: MIT */
/* libshmbuf: what the daemon reports about itself — its counters and its connections — each
 * copied out of its reply into one allocation that the accessors read, and the client's own
 * gauges of its carved regions. Asks through flight_call(); reads the carve set's totals and
 * touches no handle, pool or mapping. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "errors.h"

typedef struct stats_counter {
  const char *name, *help;
  uint64_t value;
  bool gauge;
} stats_counter;

struct shmbuf_stats {
  size_t n;
  stats_counter at[];
};

typedef struct client_row {
  const char *command;
  int32_t pid;
  uint32_t uid;
  uint64_t buffers, bytes, reserved, slabs, age_ms, requests;
} client_row;

struct shmbuf_clients {
  size_t n;
  client_row at[];
};

/* Asks the daemon for a report: op, with the empty message such a request carries. Returns 0
 * and the reply (free it with wire_reply_free()), or a negative errno. */
static int ask(shmbuf_client *c, Shmbufwire__Request__OpCase op, Shmbufwire__Reply **r) {
  Shmbufwire__Request q;
  Shmbufwire__Stats stats;
  Shmbufwire__ListClients list;
  shmbufwire__request__init(&q);
  shmbufwire__stats__init(&stats);
  shmbufwire__list_clients__init(&list);
  q.op_case = op;
  if (op == SHMBUFWIRE__REQUEST__OP_STATS)
    q.stats = &stats;
  else
    q.list_clients = &list;
  return flight_call(&c->flight, &q, r);
}

/* Room for a snapshot of reply r: `head` bytes, then n rows of `row` bytes, then `strings`
 * bytes of text; or NULL, with r freed, when there is no memory. */
static void *snapshot(Shmbufwire__Reply *r, size_t head, size_t n, size_t row, size_t strings) {
  void *p = malloc(head + n * row + strings);
  if (p == NULL) {
    wire_reply_free(r);
    errors_no_memory();
  }
  return p;
}

/* Copies s to *at, which moves past it; returns the copy. */
static const char *keep_string(char **at, const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = memcpy(*at, s, n);
  *at += n;
  return copy;
}

/* An accessor: row i's field of a snapshot, or `none` past its end (or without one). */
#define REPORT_FIELD(report, type, fn, field, none)                                           \
  type fn(const report *r, size_t i) { return r && i < r->n ? (type)r->at[i].field : none; }

/* ---- counters ------------------------------------------------------------------------------- */

/* The gauges of a client that carves its buffers: what it leased and what of it is used. */
static const struct {
  const char *name, *help;
} own[] = {
    {"client_regions", "Regions this client leased to carve ArrayBuffers out of"},
    {"client_leased_bytes", "Their bytes (each region is one of the daemon's buffers)"},
    {"client_carves", "ArrayBuffers this client carved out of its regions, live"},
    {"client_carved_bytes", "Their bytes: what of the regions is in use"},
};
#define OWN_COUNTERS (sizeof own / sizeof *own)

int shmbuf_stats_get(shmbuf_client *c, shmbuf_stats **out) {
  Shmbufwire__Reply *r;
  int rc = ask(c, SHMBUFWIRE__REQUEST__OP_STATS, &r);
  if (rc < 0)
    return rc;
  const Shmbufwire__StatsReply *reply = r->stats;
  size_t n = reply->n_counters, extra = client_local(c) ? OWN_COUNTERS : 0, strings = 0;
  for (size_t i = 0; i < n; i++)
    strings += strlen(reply->counters[i]->name) + strlen(reply->counters[i]->help) + 2;
  shmbuf_stats *s = snapshot(r, sizeof *s, n + extra, sizeof s->at[0], strings);
  if (s == NULL)
    return -ENOMEM;
  char *text = (char *)&s->at[n + extra];
  s->n = n + extra;
  for (size_t i = 0; i < n; i++) {
    const Shmbufwire__Counter *k = reply->counters[i];
    s->at[i] = (stats_counter){.value = k->value, .gauge = k->gauge};
    s->at[i].name = keep_string(&text, k->name);
    s->at[i].help = keep_string(&text, k->help);
  }
  wire_reply_free(r);
  const carve_set *cs = &c->local.carves;
  const uint64_t values[OWN_COUNTERS] = {cs->nregions, cs->leased, cs->carves, cs->carved};
  for (size_t i = 0; i < extra; i++) /* static strings: nothing to copy */
    s->at[n + i] = (stats_counter){own[i].name, own[i].help, values[i], true};
  *out = s;
  return 0;
}

size_t shmbuf_stats_count(const shmbuf_stats *s) { return s ? s->n : 0; }

REPORT_FIELD(shmbuf_stats, const char *, shmbuf_stats_name, name, NULL)
REPORT_FIELD(shmbuf_stats, const char *, shmbuf_stats_help, help, NULL)
REPORT_FIELD(shmbuf_stats, uint64_t, shmbuf_stats_value, value, 0)
REPORT_FIELD(shmbuf_stats, int, shmbuf_stats_is_gauge, gauge, 0)

int shmbuf_stats_find(const shmbuf_stats *s, const char *name, uint64_t *value) {
  for (size_t i = 0; i < shmbuf_stats_count(s); i++)
    if (strcmp(s->at[i].name, name) == 0) {
      *value = s->at[i].value;
      return 0;
    }
  return -ENOENT;
}

void shmbuf_stats_free(shmbuf_stats *s) { free(s); }

/* ---- connections ---------------------------------------------------------------------------- */

int shmbuf_clients_get(shmbuf_client *c, shmbuf_clients **out) {
  Shmbufwire__Reply *r;
  int rc = ask(c, SHMBUFWIRE__REQUEST__OP_LIST_CLIENTS, &r);
  if (rc < 0)
    return rc;
  const Shmbufwire__ClientList *reply = r->clients;
  size_t n = reply->n_clients, strings = 0;
  for (size_t i = 0; i < n; i++)
    strings += strlen(reply->clients[i]->command) + 1;
  shmbuf_clients *l = snapshot(r, sizeof *l, n, sizeof l->at[0], strings);
  if (l == NULL)
    return -ENOMEM;
  char *text = (char *)&l->at[n];
  l->n = n;
  for (size_t i = 0; i < n; i++) {
    const Shmbufwire__ClientInfo *k = reply->clients[i];
    l->at[i] = (client_row){.pid = k->pid, .uid = k->uid, .buffers = k->buffers,
                            .bytes = k->bytes, .reserved = k->reserved_bytes,
                            .slabs = k->slabs, .age_ms = k->age_ms, .requests = k->requests};
    l->at[i].command = keep_string(&text, k->command);
  }
  wire_reply_free(r);
  *out = l;
  return 0;
}

size_t shmbuf_clients_count(const shmbuf_clients *l) { return l ? l->n : 0; }

REPORT_FIELD(shmbuf_clients, const char *, shmbuf_clients_command, command, NULL)
REPORT_FIELD(shmbuf_clients, int32_t, shmbuf_clients_pid, pid, 0)
REPORT_FIELD(shmbuf_clients, uint32_t, shmbuf_clients_uid, uid, 0)
REPORT_FIELD(shmbuf_clients, uint64_t, shmbuf_clients_buffers, buffers, 0)
REPORT_FIELD(shmbuf_clients, uint64_t, shmbuf_clients_bytes, bytes, 0)
REPORT_FIELD(shmbuf_clients, uint64_t, shmbuf_clients_reserved_bytes, reserved, 0)
REPORT_FIELD(shmbuf_clients, uint64_t, shmbuf_clients_slabs, slabs, 0)
REPORT_FIELD(shmbuf_clients, uint64_t, shmbuf_clients_age_ms, age_ms, 0)
REPORT_FIELD(shmbuf_clients, uint64_t, shmbuf_clients_requests, requests, 0)

void shmbuf_clients_free(shmbuf_clients *l) { free(l); }
