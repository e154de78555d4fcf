/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "node.h"

typedef enum {
  T_PATH,    /* char * */
  T_MODE,    /* uint32_t, octal */
  T_BYTES32, /* uint32_t, with K/M/G suffixes */
  T_BYTES,   /* uint64_t, with suffixes */
  T_COUNT32, /* uint32_t */
  T_COUNT,   /* uint64_t */
  T_TIME,    /* uint32_t milliseconds; "500ms", "10s", "1min", bare numbers are seconds */
  T_LEVEL,   /* int log level */
  T_UIDS,    /* users, by name or number */
  T_GIDS,    /* groups, by name or number */
} conf_key_type;

typedef struct conf_key {
  const char *name;  /* in the file; the flag is the same with '-' for '_' */
  conf_key_type type;
  size_t off;
  uint64_t min, max; /* numeric bounds */
  bool runtime;      /* a reload applies it */
  bool has_auto;     /* "auto" lets the daemon derive it (CONF_AUTO*) */
  const char *arg, *help;
} conf_key;

#define KB 1024ull
#define MB (1024ull * 1024)
#define GB (1024ull * 1024 * 1024)

static const conf_key keys[] = {
    {"socket", T_PATH, offsetof(conf_settings, socket), 0, 0, false, false, "PATH", "socket path"},
    {"socket_mode", T_MODE, offsetof(conf_settings, socket_mode), 0, 0777, false, false, "MODE",
     "file mode of the socket (default 0660)"},
    {"pool_size", T_BYTES32, offsetof(conf_settings, pool_size), 8, 64 * MB, true, false, "BYTES",
     "Buffer.poolSize for new connections (default 8192)"},
    {"max_memory", T_BYTES, offsetof(conf_settings, max_memory), 0, UINT64_MAX, true, true,
     "BYTES", "shared memory and bookkeeping all clients may have (default auto: half of the "
     "memory the daemon may use, the machine's or its cgroup's limit; 0: no cap)"},
    {"max_frame", T_BYTES32, offsetof(conf_settings, max_frame), 64, 1 * GB, true, false, "BYTES",
     "largest request frame; a connection keeps the limit it was welcomed with (default 16M)"},
    {"max_connections", T_COUNT32, offsetof(conf_settings, max_connections), 0, UINT32_MAX, true,
     false, "N", "connections served at once; more wait (default 4096, 0: no cap)"},
    {"max_connections_per_user", T_COUNT32, offsetof(conf_settings, user_max_connections), 0,
     UINT32_MAX, true, false, "N",
     "connections one user may have at once; more are refused (default 256, 0: no cap)"},
    {"connection_max_bytes", T_BYTES, offsetof(conf_settings, conn_max_bytes), 0, UINT64_MAX,
     true, true, "BYTES",
     "shared memory and bookkeeping one connection may have (default auto: a quarter of "
     "max_memory; 0: no cap)"},
    {"user_max_bytes", T_BYTES, offsetof(conf_settings, user_max_bytes), 0, UINT64_MAX, true,
     true, "BYTES",
     "the same for all connections of one user (default auto: half of max_memory; 0: no cap)"},
    {"connection_max_buffers", T_COUNT, offsetof(conf_settings, conn_max_buffers), 0, UINT64_MAX,
     true, false, "N", "live buffers one connection may hold (default 4194304, 0: no cap)"},
    {"connection_max_slabs", T_COUNT32, offsetof(conf_settings, conn_max_slabs), 0, UINT32_MAX - 1,
     true, true, "N",
     "shared-memory objects (each an fd in the daemon) one connection may hold (default auto: "
     "a sixteenth of the daemon's fd limit; 0: no cap)"},
    {"user_max_slabs", T_COUNT32, offsetof(conf_settings, user_max_slabs), 0, UINT32_MAX - 1, true,
     true, "N",
     "the same for all connections of one user (default auto: a quarter of the fd limit; "
     "0: no cap)"},
    {"frame_timeout", T_TIME, offsetof(conf_settings, frame_timeout_ms), 0, UINT32_MAX, true,
     false, "TIME",
     "longest the daemon waits for the rest of a half-received frame (default 10s, 0: forever)"},
    {"handshake_timeout", T_TIME, offsetof(conf_settings, handshake_timeout_ms), 0, UINT32_MAX,
     true, false, "TIME", "longest a new connection may take to say hello (default 10s, 0: "
     "forever)"},
    {"idle_timeout", T_TIME, offsetof(conf_settings, idle_timeout_ms), 0, UINT32_MAX, true, false,
     "TIME", "a connection that holds nothing and sends nothing this long is closed (default "
     "10min, 0: never)"},
    {"input_budget", T_BYTES, offsetof(conf_settings, input_budget), 0, UINT64_MAX, true, true,
     "BYTES", "memory all half-received frames may take together; the largest users wait past it "
     "(default auto: 64M or twice max_frame, whichever is more; 0: no cap)"},
    {"warm_bytes", T_BYTES, offsetof(conf_settings, warm_bytes), 0, UINT64_MAX, true, false,
     "BYTES", "freed memory a new connection keeps for reuse (default 2M)"},
    {"log_level", T_LEVEL, offsetof(conf_settings, log_level), 0, 0, true, false, "LEVEL",
     "err, warning, notice, info or debug (default info)"},
    {"allow_users", T_UIDS, offsetof(conf_settings, allow_uids), 0, 0, true, false, "USER,...",
     "only these users (plus root and the daemon's) may connect"},
    {"allow_groups", T_GIDS, offsetof(conf_settings, allow_gids), 0, 0, true, false, "GROUP,...",
     "only members of these primary groups (plus the above) may connect"},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static void *field(conf_settings *c, const conf_key *k) { return (char *)c + k->off; }
static const void *cfield(const conf_settings *c, const conf_key *k) { return (const char *)c + k->off; }

/* The count that sits right after each list pointer in struct conf_settings. */
static size_t *list_count(conf_settings *c, const conf_key *k) {
  return k->type == T_UIDS ? &c->n_allow_uids : &c->n_allow_gids;
}

/* Fills *c with built-in defaults (socket path by uid, pool size 8192, ...). */
static int conf_defaults(conf_settings *c) {
  memset(c, 0, sizeof *c);
  const char *rt = getenv("XDG_RUNTIME_DIR");
  char path[PATH_MAX];
  if (geteuid() == 0)
    snprintf(path, sizeof path, "/run/shmbuf/shmbufd.sock");
  else if (rt && rt[0])
    snprintf(path, sizeof path, "%s/shmbuf.sock", rt);
  else
    snprintf(path, sizeof path, "/run/user/%u/shmbuf.sock", (unsigned)geteuid());
  c->socket = strdup(path);
  c->socket_mode = 0660;
  c->pool_size = SB_POOL_SIZE_DEFAULT;
  c->max_memory = c->conn_max_bytes = c->user_max_bytes = c->input_budget = CONF_AUTO64;
  c->conn_max_slabs = c->user_max_slabs = CONF_AUTO32;
  c->max_frame = SB_FRAME_MAX_DEFAULT;
  c->max_connections = 4096;
  c->user_max_connections = 256;
  c->conn_max_buffers = 4u << 20;
  c->frame_timeout_ms = 10000;
  c->handshake_timeout_ms = 10000;
  c->idle_timeout_ms = 600000;
  c->warm_bytes = 2 * MB;
  c->log_level = LOG_INFO;
  return c->socket ? 0 : -ENOMEM;
}

/* "4096", "64K", "16MiB", "1G" ... Returns 0 or -EINVAL. */
static int parse_bytes(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (!isdigit((unsigned char)*s))
    return -EINVAL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno)
    return -EINVAL;
  uint64_t mul = 1;
  if (*end) {
    switch (toupper((unsigned char)*end++)) {
    case 'K':
      mul = KB;
      break;
    case 'M':
      mul = MB;
      break;
    case 'G':
      mul = GB;
      break;
    case 'T':
      mul = GB * KB;
      break;
    default:
      return -EINVAL;
    }
    if (*end == 'i' && end[1] == 'B')
      end += 2;
    else if (*end == 'B')
      end++;
    if (*end)
      return -EINVAL;
  }
  if (v > UINT64_MAX / mul)
    return -EINVAL;
  *out = v * mul;
  return 0;
}

static int parse_time(const char *s, uint64_t *ms) {
  char *end;
  errno = 0;
  if (!isdigit((unsigned char)*s))
    return -EINVAL;
  double v = strtod(s, &end);
  if (errno)
    return -EINVAL;
  double mul = 1000;
  if (strcmp(end, "ms") == 0)
    mul = 1;
  else if (strcmp(end, "min") == 0)
    mul = 60000;
  else if (*end && strcmp(end, "s") != 0)
    return -EINVAL;
  if (v * mul > UINT32_MAX)
    return -EINVAL;
  *ms = (uint64_t)(v * mul);
  return 0;
}

/* Parses a list of names or numbers separated by commas or spaces; a name that resolves to
 * nothing is named in why. */
static int parse_ids(const char *s, bool users, id_t **out, size_t *n, char *why, size_t cap) {
  id_t *ids = NULL;
  size_t count = 0;
  char *copy = strdup(s), *save = NULL;
  if (copy == NULL)
    return -ENOMEM;
  for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
    char *end;
    unsigned long id = strtoul(tok, &end, 10);
    if (*end || end == tok) {
      struct passwd *pw = users ? getpwnam(tok) : NULL;
      struct group *gr = users ? NULL : getgrnam(tok);
      if (!pw && !gr) {
        snprintf(why, cap, "no %s is called \"%s\"", users ? "user" : "group", tok);
        free(copy);
        free(ids);
        return -EINVAL;
      }
      id = pw ? pw->pw_uid : gr->gr_gid;
    }
    id_t *more = realloc(ids, (count + 1) * sizeof *ids);
    if (more == NULL) {
      free(copy);
      free(ids);
      return -ENOMEM;
    }
    ids = more;
    ids[count++] = (id_t)id;
  }
  free(copy);
  *out = ids;
  *n = count;
  return 0;
}

/* What a key of each type takes, for messages. */
static const char *expected(conf_key_type t) {
  switch (t) {
  case T_PATH:
    return "a path";
  case T_MODE:
    return "an octal file mode such as 0660";
  case T_BYTES32:
  case T_BYTES:
    return "a size such as 4096, 64K or 16M";
  case T_COUNT32:
  case T_COUNT:
    return "a whole number";
  case T_TIME:
    return "a time such as 500ms, 10s or 1min";
  case T_LEVEL:
    return "err, warning, notice, info or debug";
  default:
    return "names or numbers separated by commas";
  }
}

/* Sets one key from its text. Returns 0, or -EINVAL with what was wrong in why (the setting
 * is unchanged then). */
static int set_key(conf_settings *c, const conf_key *k, const char *v, char *why, size_t cap) {
  uint64_t n = 0;
  int rc = 0;
  snprintf(why, cap, "expected %s%s", expected(k->type), k->has_auto ? ", or auto" : "");
  if (k->has_auto && strcmp(v, "auto") == 0) {
    if (k->type == T_BYTES || k->type == T_COUNT)
      *(uint64_t *)field(c, k) = CONF_AUTO64;
    else
      *(uint32_t *)field(c, k) = CONF_AUTO32;
    return 0;
  }
  switch (k->type) {
  case T_PATH: {
    if (strlen(v) >= sizeof((struct sockaddr_un *)0)->sun_path) {
      snprintf(why, cap, "expected a path shorter than %zu bytes",
               sizeof((struct sockaddr_un *)0)->sun_path);
      return -EINVAL;
    }
    char *p = strdup(v);
    if (p == NULL || !*v) {
      free(p);
      return -EINVAL;
    }
    free(*(char **)field(c, k));
    *(char **)field(c, k) = p;
    return 0;
  }
  case T_MODE: {
    char *end;
    n = strtoul(v, &end, 8);
    rc = *v && !*end ? 0 : -EINVAL;
    break;
  }
  case T_BYTES32:
  case T_BYTES:
    rc = parse_bytes(v, &n);
    break;
  case T_COUNT32:
  case T_COUNT: {
    char *end;
    errno = 0;
    n = strtoull(v, &end, 10);
    rc = isdigit((unsigned char)*v) && !*end && !errno ? 0 : -EINVAL;
    break;
  }
  case T_TIME:
    rc = parse_time(v, &n);
    break;
  case T_LEVEL: {
    int l = log_level_parse(v);
    if (l < 0)
      return -EINVAL;
    *(int *)field(c, k) = l;
    return 0;
  }
  case T_UIDS:
  case T_GIDS: {
    id_t *ids;
    size_t count;
    rc = parse_ids(v, k->type == T_UIDS, &ids, &count, why, cap);
    if (rc < 0)
      return rc;
    free(*(id_t **)field(c, k));
    *(id_t **)field(c, k) = ids;
    *list_count(c, k) = count;
    return 0;
  }
  }
  if (rc == 0 && k->type == T_MODE && n > k->max)
    snprintf(why, cap, "expected a mode from 0 to %04llo", (unsigned long long)k->max);
  else if (rc == 0 && (n < k->min || n > k->max))
    snprintf(why, cap, "expected %s from %llu to %llu",
             k->type == T_TIME ? "a time in milliseconds" : "a number",
             (unsigned long long)k->min, (unsigned long long)k->max);
  if (rc < 0 || n < k->min || n > k->max)
    return -EINVAL;
  if (k->type == T_BYTES || k->type == T_COUNT)
    *(uint64_t *)field(c, k) = n;
  else
    *(uint32_t *)field(c, k) = (uint32_t)n;
  return 0;
}

static const conf_key *find_key(const char *name, size_t len) {
  for (size_t i = 0; i < NKEYS; i++)
    if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
      return &keys[i];
  return NULL;
}

/* Copies one key's setting from src to dst. */
static int copy_key(conf_settings *dst, const conf_settings *src, const conf_key *k) {
  switch (k->type) {
  case T_PATH: {
    char why[128];
    return set_key(dst, k, *(char *const *)cfield(src, k), why, sizeof why);
  }
  case T_UIDS:
  case T_GIDS: {
    size_t n = *list_count((conf_settings *)src, k);
    id_t *ids = NULL;
    if (n && (ids = malloc(n * sizeof *ids)) == NULL)
      return -ENOMEM;
    if (n)
      memcpy(ids, *(id_t *const *)cfield(src, k), n * sizeof *ids);
    free(*(id_t **)field(dst, k));
    *(id_t **)field(dst, k) = ids;
    *list_count(dst, k) = n;
    return 0;
  }
  case T_BYTES:
  case T_COUNT:
    *(uint64_t *)field(dst, k) = *(const uint64_t *)cfield(src, k);
    return 0;
  case T_LEVEL:
    *(int *)field(dst, k) = *(const int *)cfield(src, k);
    return 0;
  default:
    *(uint32_t *)field(dst, k) = *(const uint32_t *)cfield(src, k);
    return 0;
  }
}

/* One reading of the settings, and what becomes of what is wrong in them: a first load logs
 * it and fails on an invalid value, a reload logs it and keeps the current setting, and a
 * check (--check-config) prints each as "FILE:LINE: message" and goes on. */
typedef struct conf_loader {
  conf_settings *c;
  const conf_settings *old; /* a reload's current settings */
  bool check;
  unsigned problems;        /* a check's count */
} conf_loader;

/* A line that is not used: ignored with a warning, or a problem for a check. */
static void ignored(conf_loader *l, const char *where, const char *what) {
  if (l->check) {
    fprintf(stderr, "%s: %s\n", where, what);
    l->problems++;
  } else
    log_warn("%s: %s; ignored", where, what);
}

/* Applies "key = value"; an invalid value keeps the old setting on a reload, fails a first
 * load, and is one more problem for a check. */
static int apply(conf_loader *l, const conf_key *k, const char *v, const char *where) {
  char why[160];
  if (set_key(l->c, k, v, why, sizeof why) == 0)
    return 0;
  if (l->check) {
    fprintf(stderr, "%s: invalid value \"%s\" for %s (%s)\n", where, v, k->name, why);
    l->problems++;
    return 0;
  }
  if (l->old == NULL) {
    log_err("%s: invalid value \"%s\" for %s (%s)", where, v, k->name, why);
    return -EINVAL;
  }
  log_warn("%s: invalid value \"%s\" for %s (%s); keeping the current setting", where, v, k->name,
           why);
  return copy_key(l->c, l->old, k);
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s))
    s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1]))
    *--e = '\0';
  return s;
}

static int load_file(conf_loader *l, const char *path, bool required) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    if (errno == ENOENT && !required)
      return 0;
    int err = -errno;
    if (l->check)
      fprintf(stderr, "%s: cannot read it: %s\n", path, strerror(errno));
    else
      log_err("cannot read %s: %s", path, strerror(errno));
    return err;
  }
  char line[4096];
  int rc = 0;
  for (unsigned no = 1; fgets(line, sizeof line, f); no++) {
    char where[PATH_MAX + 16];
    snprintf(where, sizeof where, "%s:%u", path, no);
    char *s = trim(line);
    if (*s == '\0' || *s == '#' || *s == ';')
      continue;
    char *eq = strchr(s, '=');
    if (eq == NULL) {
      ignored(l, where, "not a \"key = value\" line");
      continue;
    }
    *eq = '\0';
    char *name = trim(s), *value = trim(eq + 1);
    size_t vl = strlen(value);
    if (vl >= 2 && (value[0] == '"' || value[0] == '\'') && value[vl - 1] == value[0]) {
      value[vl - 1] = '\0';
      value++;
    }
    const conf_key *k = find_key(name, strlen(name));
    if (k == NULL) {
      char what[128];
      snprintf(what, sizeof what, "unknown key \"%.100s\"", name);
      ignored(l, where, what);
      continue;
    }
    if ((rc = apply(l, k, value, where)) < 0)
      break;
  }
  fclose(f);
  return rc;
}

/* The defaults, then the file, then the flags. */
static int load(conf_loader *l, const conf_source *src) {
  int rc = conf_defaults(l->c);
  if (rc == 0)
    rc = load_file(l, src->file ? src->file : CFG_DEFAULT_FILE, src->file_explicit || l->check);
  for (size_t i = 0; rc == 0 && i < src->nflags; i++) {
    const conf_key *k = find_key(src->flag_keys[i], strlen(src->flag_keys[i]));
    rc = apply(l, k, src->flag_values[i], "command line");
  }
  return rc;
}

int conf_load(conf_settings *c, const conf_source *src, const conf_settings *old) {
  conf_loader l = {.c = c, .old = old};
  int rc = load(&l, src);
  if (rc < 0)
    conf_free(c);
  return rc;
}

int conf_check(const conf_source *src) {
  conf_settings c;
  conf_loader l = {.c = &c, .check = true};
  int rc = load(&l, src);
  conf_free(&c);
  return rc < 0 ? rc : l.problems ? -EINVAL : 0;
}

static void show(const conf_settings *c, const conf_key *k, char *out, size_t cap) {
  switch (k->type) {
  case T_PATH:
    snprintf(out, cap, "%s", *(char *const *)cfield(c, k));
    break;
  case T_MODE:
    snprintf(out, cap, "%04o", *(const uint32_t *)cfield(c, k));
    break;
  case T_BYTES:
  case T_COUNT:
    if (k->has_auto && *(const uint64_t *)cfield(c, k) == CONF_AUTO64)
      snprintf(out, cap, "auto");
    else
      snprintf(out, cap, "%llu", (unsigned long long)*(const uint64_t *)cfield(c, k));
    break;
  case T_LEVEL:
    snprintf(out, cap, "%s", log_level_name(*(const int *)cfield(c, k)));
    break;
  case T_UIDS:
  case T_GIDS: {
    size_t n = *list_count((conf_settings *)c, k), o = 0;
    const id_t *ids = *(id_t *const *)cfield(c, k);
    out[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
      o += (size_t)snprintf(out + o, cap - o, "%s%u", i ? "," : "", ids[i]);
    if (n == 0)
      snprintf(out, cap, "(anyone)");
    break;
  }
  default:
    if (k->has_auto && *(const uint32_t *)cfield(c, k) == CONF_AUTO32)
      snprintf(out, cap, "auto");
    else
      snprintf(out, cap, "%u", *(const uint32_t *)cfield(c, k));
  }
}

void conf_log_changes(const conf_settings *old, const conf_settings *now) {
  for (size_t i = 0; i < NKEYS; i++) {
    char a[256], b[256];
    show(old, &keys[i], a, sizeof a);
    show(now, &keys[i], b, sizeof b);
    if (strcmp(a, b) == 0)
      continue;
    if (keys[i].runtime)
      log_notice("reload: %s changed from %s to %s", keys[i].name, a, b);
    else
      log_warn("reload: %s changed from %s to %s, which takes a restart; still using %s",
               keys[i].name, a, b, a);
  }
}

void conf_free(conf_settings *c) {
  free(c->socket);
  free(c->allow_uids);
  free(c->allow_gids);
  memset(c, 0, sizeof *c);
}

void conf_source_free(conf_source *src) {
  for (size_t i = 0; i < src->nflags; i++) {
    free(src->flag_keys[i]);
    free(src->flag_values[i]);
  }
  free(src->flag_keys);
  free(src->flag_values);
  memset(src, 0, sizeof *src);
}

static void usage(FILE *out) {
  fprintf(out,
          "Usage: shmbufd [OPTION]...\n"
          "Serve Node.js-style Buffers in POSIX shared memory over a Unix socket.\n\n"
          "  -c, --config PATH          settings file (default " CFG_DEFAULT_FILE ")\n"
          "  -s, --socket PATH          socket path (default /run/shmbuf/shmbufd.sock as root,\n"
          "                             $XDG_RUNTIME_DIR/shmbuf.sock otherwise)\n"
          "      --check-config [FILE]  check the settings (FILE, else --config's or the\n"
          "                             default file, and the other options) and exit: 0\n"
          "                             and silent when valid, else 1 and FILE:LINE: what\n"
          "                             is wrong, on stderr\n");
  for (size_t i = 1; i < NKEYS; i++) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s %s", keys[i].name, keys[i].arg);
    for (char *p = flag; *p; p++)
      if (*p == '_')
        *p = '-';
    if (strlen(flag) < 23)
      fprintf(out, "      %-23s%s\n", flag, keys[i].help);
    else
      fprintf(out, "      %s\n%29s%s\n", flag, "", keys[i].help);
  }
  fprintf(out, "  -h, --help                 show this help\n"
               "  -V, --version              show the version\n\n"
               "Every option is also a key in the settings file (with '_' for '-').\n"
               "SIGHUP reloads the file; SIGTERM and SIGINT stop the daemon cleanly.\n");
}

static int add_flag(conf_source *src, const char *name, const char *value) {
  char **k = realloc(src->flag_keys, (src->nflags + 1) * sizeof *k);
  if (k)
    src->flag_keys = k;
  char **v = realloc(src->flag_values, (src->nflags + 1) * sizeof *v);
  if (v)
    src->flag_values = v;
  if (!k || !v)
    return -ENOMEM;
  k[src->nflags] = strdup(name);
  v[src->nflags] = strdup(value);
  for (char *p = k[src->nflags]; p && *p; p++)
    if (*p == '-')
      *p = '_';
  src->nflags++;
  return k[src->nflags - 1] && v[src->nflags - 1] ? 0 : -ENOMEM;
}

int conf_parse_args(conf_source *src, int argc, char **argv, bool *exit_now) {
  struct option opts[NKEYS + 5];
  char names[NKEYS][40];
  size_t n = 0;
  for (size_t i = 0; i < NKEYS; i++) {
    snprintf(names[i], sizeof names[i], "%s", keys[i].name);
    for (char *p = names[i]; *p; p++)
      if (*p == '_')
        *p = '-';
    opts[n++] = (struct option){names[i], required_argument, NULL, 1000 + (int)i};
  }
  opts[n++] = (struct option){"config", required_argument, NULL, 'c'};
  opts[n++] = (struct option){"check-config", no_argument, NULL, 't'};
  opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
  opts[n++] = (struct option){"version", no_argument, NULL, 'V'};
  opts[n] = (struct option){0};
  *exit_now = false;
  optind = 1;
  int ch;
  while ((ch = getopt_long(argc, argv, "c:s:hV", opts, NULL)) != -1) {
    switch (ch) {
    case 'c':
      src->file = optarg;
      src->file_explicit = true;
      break;
    case 't':
      src->check = true;
      break;
    case 's':
      if (add_flag(src, "socket", optarg) < 0)
        return -ENOMEM;
      break;
    case 'h':
      usage(stdout);
      *exit_now = true;
      return 0;
    case 'V':
      printf("shmbufd " PACKAGE_VERSION " (protocol %u)\n", SB_PROTOCOL_VERSION);
      *exit_now = true;
      return 0;
    default:
      if (ch >= 1000) {
        if (add_flag(src, keys[ch - 1000].name, optarg) < 0)
          return -ENOMEM;
        break;
      }
      fprintf(stderr, "Try 'shmbufd --help' for more information.\n");
      return -EINVAL;
    }
  }
  if (src->check && optind < argc && !src->file_explicit) { /* --check-config FILE */
    src->file = argv[optind++];
    src->file_explicit = true;
  }
  if (optind < argc) {
    fprintf(stderr, "shmbufd: unexpected argument '%s'%s\nTry 'shmbufd --help' for more "
                    "information.\n", argv[optind],
            src->check ? " (--check-config takes one FILE, or --config's)" : "");
    return -EINVAL;
  }
  return 0;
}
