/* SPDX-License-Identifier: MIT */
/* shmbufd: flags and settings, signals, limits, systemd; the rest is server and dispatch. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "conf.h"
#include "host.h"
#include "dispatch.h"
#include "log.h"
#include "server.h"
#include "systemd.h"

typedef struct app {
  uv_loop_t loop;
  uv_signal_t sigterm, sigint, sighup;
  conf_source src;
  conf_settings settings;
  uint64_t memory;     /* what the host lets the daemon use, read at start */
  uint64_t fds;        /* the daemon's fd limit, raised at start */
  session_books books;
  share_registry *shares;
  dispatcher dispatch;
  server *server;
  systemd_notifier sd;
  uv_work_t reload;    /* a reload reads settings (and resolves names) off the loop */
  conf_settings next;  /* what it read */
  int reload_rc;
  bool reloading, reload_again;
  bool stopping; /* SIGTERM or SIGINT came: no more reloads, no READY=1 after STOPPING=1 */
} app;

static uint64_t or_auto64(uint64_t v, uint64_t derived) { return v == CONF_AUTO64 ? derived : v; }
static uint32_t or_auto32(uint32_t v, uint64_t derived) {
  return v == CONF_AUTO32 ? (uint32_t)(derived < UINT32_MAX ? derived : UINT32_MAX - 1) : v;
}

/* The limits in force, with "auto" ones derived from the host (see shmbufd(8)). */
static void limits_from(app *a, const conf_settings *c) {
  session_limits *l = &a->books.limits;
  l->pool_size = c->pool_size;
  l->max_frame = c->max_frame;
  l->max_memory = or_auto64(c->max_memory, a->memory / 2);
  l->conn_max_bytes = or_auto64(c->conn_max_bytes, l->max_memory / 4);
  l->user_max_bytes = or_auto64(c->user_max_bytes, l->max_memory / 2);
  l->conn_max_buffers = c->conn_max_buffers;
  l->conn_max_slabs = or_auto32(c->conn_max_slabs, a->fds / 16);
  l->user_max_slabs = or_auto32(c->user_max_slabs, a->fds / 4);
  l->user_max_connections = c->user_max_connections;
  l->warm_bytes = c->warm_bytes;
  log_set_level(c->log_level);
}

static server_options options_from(const conf_settings *c, int fd) {
  uint64_t twice = 2 * (uint64_t)c->max_frame;
  return (server_options){
      .path = c->socket,
      .fd = fd,
      .mode = c->socket_mode,
      .max_connections = c->max_connections,
      .frame_timeout_ms = c->frame_timeout_ms,
      .handshake_timeout_ms = c->handshake_timeout_ms,
      .idle_timeout_ms = c->idle_timeout_ms,
      .input_budget = or_auto64(c->input_budget, twice > (64u << 20) ? twice : 64u << 20),
      .allow_uids = c->allow_uids,
      .n_allow_uids = c->n_allow_uids,
      .allow_gids = c->allow_gids,
      .n_allow_gids = c->n_allow_gids,
  };
}

/* The default socket lives in /run/shmbuf: create that last directory when it is missing. */
static void make_socket_dir(const char *path) {
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  const char *dir = dirname(copy);
  if (mkdir(dir, 0755) == 0)
    log_info("created %s", dir);
}

static void on_stopped(server *s, void *arg) {
  app *a = arg;
  (void)s;
  uv_close((uv_handle_t *)&a->sigterm, NULL);
  uv_close((uv_handle_t *)&a->sigint, NULL);
  uv_close((uv_handle_t *)&a->sighup, NULL);
  log_notice("stopped");
}

/* Reading the settings may block (a file on slow storage, user and group names through NSS):
 * it happens on libuv's threadpool, and only what it read is applied on the loop. */
static void reload_read(uv_work_t *w) {
  app *a = w->data;
  a->reload_rc = conf_load(&a->next, &a->src, &a->settings);
}

static void reload(app *a);

static void reload_apply(uv_work_t *w, int status) {
  app *a = w->data;
  conf_settings *next = &a->next;
  a->reloading = false;
  if (status < 0 || a->reload_rc < 0)
    log_warn("reload failed; keeping every current setting");
  else if (a->stopping)
    conf_free(next);
  else {
    conf_log_changes(&a->settings, next);
    /* What needs a restart stays as it is. */
    free(next->socket);
    next->socket = strdup(a->settings.socket);
    next->socket_mode = a->settings.socket_mode;
    server_options o = options_from(next, -1);
    if (next->socket == NULL || server_update(a->server, &o) < 0) {
      log_warn("reload: out of memory; keeping every current setting");
      conf_free(next);
    } else {
      conf_free(&a->settings);
      a->settings = *next;
      limits_from(a, &a->settings);
    }
  }
  systemd_reloaded(&a->sd);
  if (a->reload_again && !a->stopping) {
    a->reload_again = false;
    reload(a);
  }
}

static void reload(app *a) {
  if (a->reloading) { /* the one under way may have read the file too early */
    a->reload_again = true;
    return;
  }
  systemd_reloading();
  a->reloading = true;
  a->reload.data = a;
  if (uv_queue_work(&a->loop, &a->reload, reload_read, reload_apply) < 0) {
    a->reloading = false;
    log_warn("reload failed; keeping every current setting");
    systemd_reloaded(&a->sd);
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  app *a = h->data;
  if (signum == SIGHUP) {
    if (a->stopping) {
      log_notice("SIGHUP: stopping already; not reloading");
      return;
    }
    log_notice("SIGHUP: reloading settings");
    reload(a);
    return;
  }
  if (a->stopping)
    return;
  a->stopping = true;
  log_notice("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  systemd_stopping(&a->sd);
  server_shutdown(a->server, on_stopped, a);
}

static int run(app *a, int argc, char **argv) {
  bool exit_now;
  if (conf_parse_args(&a->src, argc, argv, &exit_now) < 0)
    return 2;
  if (exit_now)
    return 0;
  if (a->src.check)
    return conf_check(&a->src) == 0 ? 0 : 1;
  if (conf_load(&a->settings, &a->src, NULL) < 0)
    return 1;
  a->memory = host_memory_bytes();
  a->fds = host_fd_limit();
  limits_from(a, &a->settings);
  signal(SIGPIPE, SIG_IGN);

  int fd;
  char inherited[PATH_MAX];
  if (systemd_listen_fd(&fd, inherited, sizeof inherited) < 0)
    return 1;
  if (fd < 0)
    make_socket_dir(a->settings.socket);
  uv_loop_init(&a->loop);
  if (share_registry_init(&a->shares, &a->books) < 0) {
    log_err("out of memory");
    return 1;
  }
  dispatch_init(&a->dispatch, &a->books, a->shares);
  a->dispatch.now_ms = a->dispatch.started_ms = uv_now(&a->loop);
  server_options o = options_from(&a->settings, fd);
  if (fd >= 0)
    o.path = inherited; /* for messages only: server never binds or unlinks an inherited socket */
  int rc = server_start(&a->server, &a->loop, &a->dispatch, &o);
  if (rc < 0) {
    uv_run(&a->loop, UV_RUN_DEFAULT);
    uv_loop_close(&a->loop);
    dispatch_fini(&a->dispatch);
    return 1;
  }
  uv_signal_t *sigs[] = {&a->sigterm, &a->sigint, &a->sighup};
  int nums[] = {SIGTERM, SIGINT, SIGHUP};
  for (int i = 0; i < 3; i++) {
    uv_signal_init(&a->loop, sigs[i]);
    sigs[i]->data = a;
    uv_signal_start(sigs[i], on_signal, nums[i]);
  }
  const char *where = o.path;
  systemd_ready(&a->sd, &a->loop, &a->books, where);
  log_notice("shmbufd " PACKAGE_VERSION " serving on %s (pool size %u, memory cap %llu bytes)",
             where, a->books.limits.pool_size, (unsigned long long)a->books.limits.max_memory);
  uv_run(&a->loop, UV_RUN_DEFAULT);
  server_free(a->server);
  dispatch_fini(&a->dispatch);
  return uv_loop_close(&a->loop) == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  static app a;
  int status = run(&a, argc, argv);
  conf_free(&a.settings);
  share_registry_free(a.shares);
  session_books_fini(&a.books);
  conf_source_free(&a.src);
  return status;
}
