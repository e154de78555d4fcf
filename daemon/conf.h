/* SPDX-License-Identifier: MIT */
/* shmbufd's settings: built-in defaults, then /etc/shmbuf/shmbufd.conf (conf_key = value lines),
 * then command-line flags. A reload re-reads the file and re-applies the flags; a value that
 * does not parse keeps its old setting, with a warning. */
#ifndef SBD_CONF_H
#define SBD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CFG_DEFAULT_FILE SYSCONFDIR "/shmbuf/shmbufd.conf"

/* A limit left to the daemon to derive from the host (see shmbufd(8)). */
#define CONF_AUTO64 UINT64_MAX
#define CONF_AUTO32 UINT32_MAX

/* Every limit: 0 is no cap; CONF_AUTO* where the key allows "auto". */
typedef struct conf_settings {
  char *socket;            /* socket path */
  uint32_t socket_mode;    /* file mode of a socket the daemon binds */
  uint32_t pool_size;      /* Buffer.poolSize for new connections */
  uint64_t max_memory;     /* shared memory and bookkeeping, all clients */
  uint32_t max_frame;      /* largest frame accepted */
  uint32_t max_connections;
  uint32_t user_max_connections; /* connections one uid may have */
  uint64_t conn_max_bytes;   /* shared memory and bookkeeping, one connection */
  uint64_t user_max_bytes;   /* the same, all connections of one uid */
  uint64_t conn_max_buffers; /* live buffers, one connection */
  uint32_t conn_max_slabs;   /* shared-memory objects (daemon fds), one connection */
  uint32_t user_max_slabs;   /* the same, all connections of one uid */
  uint32_t frame_timeout_ms; /* waiting time a frame may take to arrive */
  uint32_t handshake_timeout_ms; /* a new connection must say hello within this */
  uint32_t idle_timeout_ms;  /* a connection holding nothing and silent this long goes */
  uint64_t input_budget;     /* all half-received frames together */
  uint64_t warm_bytes;       /* freed memory a connection keeps reserved for reuse */
  int log_level;
  uid_t *allow_uids;
  size_t n_allow_uids;
  gid_t *allow_gids;
  size_t n_allow_gids;
} conf_settings;

/* What main() keeps between loads: the file and the flags, replayed on each reload. */
typedef struct conf_source {
  const char *file;     /* NULL: the default file, which may be missing */
  bool file_explicit;   /* --config was given: a missing file is an error */
  bool check;           /* --check-config: check the settings and exit */
  char **flag_keys;     /* config keys the command line set, with their values */
  char **flag_values;
  size_t nflags;
} conf_source;

/* Parses argv into *src (and handles --help and --version, which print and set *exit_now;
 * --check-config sets src->check, and takes the file as an argument too).
 * Returns 0, or -EINVAL after printing a usage error. */
int conf_parse_args(conf_source *src, int argc, char **argv, bool *exit_now);

/* Loads *c from src: defaults overridden by the file, overridden by the flags. For a
 * reload, pass the current settings as `old`: keys whose new value is invalid keep the old
 * one (with a warning) instead of failing. Returns 0, or a negative errno with a message
 * logged (a first load fails on any invalid value). */
int conf_load(conf_settings *c, const conf_source *src, const conf_settings *old);

/* Reads the settings as conf_load() does, but prints everything wrong in them to stderr as
 * "FILE:LINE: message" (the flags' as "command line: message"), a missing file included,
 * instead of logging it. Returns 0 when nothing is, -EINVAL or another negative errno
 * otherwise. */
int conf_check(const conf_source *src);

/* Logs every runtime-changeable setting that differs, and warns about the ones that need a
 * restart. */
void conf_log_changes(const conf_settings *old, const conf_settings *now);

/* Frees settings (the strings and lists they own). */
void conf_free(conf_settings *c);
void conf_source_free(conf_source *src);

#endif
