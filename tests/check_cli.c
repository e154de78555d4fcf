/* SPDX-License-Identifier: MIT */
/* The shmbuf CLI as it is installed, against a real shmbufd. What it prints for Buffer calls
 * is Node's (tests/vectors/cli.txt, made by gen-cli.js; the format is documented there); the
 * rest of the interface (usage, exit statuses, sockets, stats, demo) is checked here.
 *
 * The binary: $SHMBUF_CLI_INSTALLED, the real executable that `make check` stages beside the
 * real libshmbuf.so.0 with automake's own install rules into a private DESTDIR, found through
 * $SHMBUF_CLI_LIBDIR as an installed library in a non-default prefix is; by hand, $SHMBUF_CLI
 * (the libtool wrapper in the build tree) will do. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "shmbuf.h"

#define OUT_CAP (1u << 20)
#define MAX_ARGS 64
#define MAX_REPORTED 20

static sbt_daemon D;
static char out[OUT_CAP], err[OUT_CAP];

static const char *cli_path(void) {
  const char *p = getenv("SHMBUF_CLI_INSTALLED");
  if (p && p[0])
    return p;
  p = getenv("SHMBUF_CLI");
  return p ? p : "./shmbuf";
}

static void up(void) {
  sbt_start(&D, NULL);
  const char *libdir = getenv("SHMBUF_CLI_LIBDIR");
  if (libdir && libdir[0])
    setenv("LD_LIBRARY_PATH", libdir, 1);
  setenv("SHMBUF_SOCKET", D.sock, 1);
}

static void down(void) { sbt_stop(&D); }

/* A socket path in the daemon's directory that nobody listens on. */
static const char *absent_socket(void) {
  static char path[192];
  snprintf(path, sizeof path, "%s/absent.sock", D.dir);
  return path;
}

/* Runs the CLI with the arguments (NULL-terminated) and standard input (NULL: none). */
static int run(const char *in, ...) {
  const char *argv[MAX_ARGS] = {cli_path()};
  size_t n = 1;
  va_list ap;
  va_start(ap, in);
  for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1;)
    argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  return sbt_run_input(argv, in, in ? strlen(in) : 0, out, sizeof out, err, sizeof err);
}

/* ---- the installed layout -------------------------------------------------------------------- */

START_TEST(runs_the_installed_binary) {
  const char *bin = cli_path(), *libdir = getenv("SHMBUF_CLI_LIBDIR");
  if (getenv("SHMBUF_CLI_INSTALLED") == NULL) {
    printf("# SHMBUF_CLI_INSTALLED is not set: running %s, not an installed layout\n", bin);
    return;
  }
  printf("# the CLI as installed: %s with libshmbuf from %s\n", bin, libdir);
  /* the executable itself, not a libtool wrapper script */
  FILE *f = fopen(bin, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", bin);
  char magic[4] = {0};
  ck_assert_uint_eq(fread(magic, 1, 4, f), 4);
  fclose(f);
  ck_assert_msg(memcmp(magic, "\177ELF", 4) == 0, "%s is not an ELF executable", bin);
  /* and the dynamic loader finds the staged library by its soname */
  setenv("LD_TRACE_LOADED_OBJECTS", "1", 1);
  ck_assert_int_eq(run(NULL, NULL), 0);
  unsetenv("LD_TRACE_LOADED_OBJECTS");
  char want[512];
  snprintf(want, sizeof want, "libshmbuf.so.0 => %s/libshmbuf.so.0 ", libdir);
  ck_assert_msg(strstr(out, want) != NULL, "loads libshmbuf from elsewhere:\n%s", out);
}
END_TEST

/* ---- Node's vectors -------------------------------------------------------------------------- */

/* Undoes cli.txt's escapes into a new string; *len gets its length. */
static char *unescape(const char *s, size_t *len) {
  char *o = malloc(strlen(s) + 1), *w = o;
  ck_assert_ptr_nonnull(o);
  if (strcmp(s, "\\e") == 0)
    s = "";
  for (; *s; s++) {
    if (*s != '\\' || !s[1]) {
      *w++ = *s;
      continue;
    }
    s++;
    if (*s == 'n')
      *w++ = '\n';
    else if (*s == 't')
      *w++ = '\t';
    else if (*s == 'x') {
      unsigned byte;
      ck_assert_int_eq(sscanf(s + 1, "%2x", &byte), 1);
      *w++ = (char)byte;
      s += 2;
    } else
      *w++ = *s;
  }
  *w = '\0';
  if (len)
    *len = (size_t)(w - o);
  return o;
}

typedef struct cli_case {
  char name[128];
  unsigned line;
  bool nodaemon;
  char *args[MAX_ARGS];
  int nargs;
  char *in, *want_out, *want_err;
  size_t in_len;
  int status;
} cli_case;

/* The value of "key" in a JSON line the CLI printed, as [*at, *at + *n), or false. */
static bool json_field(const char *line, const char *key, const char **at, size_t *n) {
  char pat[32];
  snprintf(pat, sizeof pat, "\"%s\":\"", key);
  const char *p = strstr(line, pat);
  if (p == NULL)
    return false;
  *at = p + strlen(pat);
  *n = strcspn(*at, "\"");
  return true;
}

/* Rewrites the CLI's --json lines the way cli.txt writes them: each arrayBuffer id as "#K" by
 * order of appearance, and the hex as "?" where Node's is (after checking its length). */
static char *normalize(const char *got, const char *want, char *why, size_t whylen) {
  char ids[64][32];
  size_t nids = 0, cap = strlen(got) + 1;
  char *o = malloc(cap), *w = o;
  ck_assert_ptr_nonnull(o);
  const char *g = got, *x = want;
  while (*g) {
    size_t gl = strcspn(g, "\n"), xl = strcspn(x, "\n");
    char line[OUT_CAP / 8];
    if (strncmp(g, "{\"length\":", 10) != 0 || gl >= sizeof line) {
      memcpy(w, g, gl);
      w += gl;
    } else {
      memcpy(line, g, gl);
      line[gl] = '\0';
      const char *at, *xat;
      size_t n, xn;
      char *p = line;
      if (json_field(line, "arrayBuffer", &at, &n) && n < 32) {
        size_t k = 0;
        while (k < nids && (strlen(ids[k]) != n || strncmp(ids[k], at, n) != 0))
          k++;
        if (k == nids && nids < 64)
          snprintf(ids[nids++], 32, "%.*s", (int)n, at);
        w += sprintf(w, "%.*s#%zu", (int)(at - p), p, k);
        p = (char *)at + n;
      }
      if (json_field(p, "hex", &at, &n) && json_field(x, "hex", &xat, &xn) && xn == 1 &&
          *xat == '?' && xat < x + xl) {
        unsigned long length = strtoul(line + 10, NULL, 10);
        if (n != 2 * length)
          snprintf(why, whylen, "%zu hex digits for %lu bytes", n, length);
        w += sprintf(w, "%.*s?", (int)(at - p), p);
        p = (char *)at + n;
      }
      w += sprintf(w, "%s", p);
    }
    g += gl;
    x += xl;
    if (*g == '\n')
      *w++ = *g++;
    if (*x == '\n')
      x++;
  }
  *w = '\0';
  return o;
}

static void case_free(cli_case *c) {
  for (int i = 0; i < c->nargs; i++)
    free(c->args[i]);
  free(c->in);
  free(c->want_out);
  free(c->want_err);
  memset(c, 0, sizeof *c);
}

/* Where two outputs first differ: that line of each (at most 300 bytes of it). */
static void first_difference(const char *got, const char *want, char *why, size_t whylen) {
  size_t i = 0, line = 1, start = 0;
  for (; got[i] && got[i] == want[i]; i++)
    if (got[i] == '\n') {
      line++;
      start = i + 1;
    }
  snprintf(why, whylen, "stdout line %zu\n#   got  %.*s\n#   Node %.*s", line,
           (int)(strcspn(got + start, "\n") < 300 ? strcspn(got + start, "\n") : 300), got + start,
           (int)(strcspn(want + start, "\n") < 300 ? strcspn(want + start, "\n") : 300),
           want + start);
}

/* Runs one case: returns NULL when it matches Node, else why not. */
static const char *check_case(const cli_case *c) {
  static char why[4096];
  why[0] = '\0';
  const char *argv[MAX_ARGS + 1] = {cli_path()};
  for (int i = 0; i < c->nargs; i++)
    argv[i + 1] = c->args[i];
  argv[c->nargs + 1] = NULL;
  setenv("SHMBUF_SOCKET", c->nodaemon ? absent_socket() : D.sock, 1);
  int status = sbt_run_input(argv, c->in, c->in_len, out, sizeof out, err, sizeof err);
  char *got = normalize(out, c->want_out, why, sizeof why);
  if (why[0] == '\0') {
    if (status != c->status)
      snprintf(why, sizeof why, "exit status %d, not %d (stderr: %.1500s)", status, c->status,
               err);
    else if (strcmp(got, c->want_out) != 0)
      first_difference(got, c->want_out, why, sizeof why);
    else if (strcmp(err, c->want_err) != 0)
      snprintf(why, sizeof why, "stderr\n#   got  %.1500s\n#   Node %.1500s", err, c->want_err);
  }
  free(got);
  return why[0] ? why : NULL;
}

START_TEST(prints_what_node_prints) {
  char path[512];
  snprintf(path, sizeof path, "%s/cli.txt", sbt_vectors());
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  static cli_case c;
  char *line = NULL;
  size_t cap = 0;
  unsigned no = 0, cases = 0, failed = 0;
  while (getline(&line, &cap, f) > 0) {
    no++;
    line[strcspn(line, "\n")] = '\0';
    char *value = strchr(line, ' ');
    if (value)
      *value++ = '\0';
    if (line[0] == '#' || line[0] == '\0')
      continue;
    if (strcmp(line, "case") == 0) {
      case_free(&c);
      snprintf(c.name, sizeof c.name, "%s", value);
      c.line = no;
    } else if (strcmp(line, "nodaemon") == 0)
      c.nodaemon = true;
    else if (strcmp(line, "arg") == 0) {
      ck_assert_int_lt(c.nargs, MAX_ARGS - 1);
      c.args[c.nargs++] = unescape(value, NULL);
    } else if (strcmp(line, "stdin") == 0)
      c.in = unescape(value, &c.in_len);
    else if (strcmp(line, "status") == 0)
      c.status = atoi(value);
    else if (strcmp(line, "out") == 0)
      c.want_out = unescape(value, NULL);
    else if (strcmp(line, "err") == 0)
      c.want_err = unescape(value, NULL);
    else {
      ck_assert_msg(strcmp(line, "end") == 0, "cli.txt:%u: unknown key %s", no, line);
      ck_assert_msg(c.want_out && c.want_err, "cli.txt:%u: a case without its outputs", no);
      const char *why = check_case(&c);
      cases++;
      if (why && failed++ < MAX_REPORTED) {
        printf("# cli.txt:%u: %s: %s\n", c.line, c.name, why);
        fflush(stdout);
      }
    }
  }
  case_free(&c);
  free(line);
  fclose(f);
  printf("# CLI: %u Node-generated cases\n", cases);
  fflush(stdout);
  ck_assert_msg(failed == 0, "%u of %u CLI cases differ from Node", failed, cases);
  ck_assert_uint_gt(cases, 50);
}
END_TEST

/* ---- the rest of the interface --------------------------------------------------------------- */

/* The documented interface, line for line. */
static const char *const INTERFACE[] = {
    "shmbuf [-s|--socket PATH] COMMAND ...",
    "  default socket: $SHMBUF_SOCKET, else the daemon's default path",
    "  alloc [--fill STRING [-e ENC] | --fill-number N] SIZE...   Buffer.alloc(SIZE[, fill[, ENC]])",
    "  alloc-unsafe SIZE...                                      Buffer.allocUnsafe(SIZE)",
    "  alloc-unsafe-slow SIZE...                                 Buffer.allocUnsafeSlow(SIZE)",
    "  from [-e ENC] STRING...                                   Buffer.from(STRING, ENC)",
    "  from --array N[,N...]                                     Buffer.from([N, ...])",
    "      Each SIZE or STRING makes one buffer, in order, on one connection.",
    "      STRING \"-\" reads standard input to EOF as one string.",
    "      Output, one line per buffer:",
    "        (default)                    util.inspect(buf), e.g. <Buffer 61 62 63 64>",
    "        --to ENC [--start N] [--end N]   buf.toString(ENC, start, end)",
    "        --json    {\"length\":4,\"byteOffset\":0,\"bufferByteLength\":8192,\"pooled\":true,",
    "                   \"arrayBuffer\":\"<id, equal for buffers sharing one backing ArrayBuffer>\","
    "\"hex\":\"61626364\"}",
    "  byte-length [-e ENC] STRING...                            Buffer.byteLength(STRING, ENC); "
    "needs no daemon",
    "  batch                                                     read commands (same syntax, one "
    "per line) from",
    "                                                            standard input and run them all "
    "on one connection",
    "  stats [--json | --prometheus]                             the daemon's counters",
    "  demo                                                      Node's Buffer examples, printed as "
    "Node prints them",
    "  --help, --version",
};

START_TEST(help_and_version) {
  ck_assert_int_eq(run(NULL, "--help", NULL), 0);
  ck_assert_str_eq(err, "");
  for (size_t i = 0; i < sizeof INTERFACE / sizeof *INTERFACE; i++) {
    char line[256];
    snprintf(line, sizeof line, "%s\n", INTERFACE[i]);
    ck_assert_msg(strstr(out, line) != NULL, "--help lacks the line\n%s", INTERFACE[i]);
  }
  ck_assert_int_eq(run(NULL, "--version", NULL), 0);
  ck_assert_str_eq(out, "shmbuf " PACKAGE_VERSION "\n");
  ck_assert_str_eq(err, "");
  /* neither needs a daemon */
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  ck_assert_int_eq(run(NULL, "--help", NULL), 0);
  ck_assert_int_eq(run(NULL, "--version", NULL), 0);
}
END_TEST

/* Usage errors exit 2, say so on stderr, print nothing else, and are found before connecting. */
START_TEST(usage_errors) {
  static const char *const cases[][8] = {
      {NULL},
      {"frobnicate", NULL},
      {"--bogus", "alloc", "1", NULL},
      {"-s", NULL},
      {"alloc", NULL},
      {"alloc", "abc", NULL},
      {"alloc", "1.5", NULL},
      {"alloc", "--fill", "a", "--fill-number", "1", "4", NULL},
      {"alloc", "--fill-number", "x", "4", NULL},
      {"alloc", "--fill", NULL},
      {"alloc", "--bogus", "4", NULL},
      {"alloc-unsafe", "--fill", "a", "4", NULL},
      {"from", NULL},
      {"from", "-x", NULL},
      {"from", "--array", "1,x", NULL},
      {"from", "--array", "1,,2", NULL},
      {"from", "--array", "1,", NULL},
      /* found before the first, good, argument is made (which would fail to connect) */
      {"from", "--array", "1", "x", NULL},
      {"alloc", "1", "x", NULL},
      {"from", "--json", "--to", "hex", "abc", NULL},
      {"from", "--start", "1", "abc", NULL},
      {"from", "--to", "hex", "--start", "one", "abc", NULL},
      {"from", "-e", NULL},
      {"byte-length", NULL},
      {"byte-length", "--bogus", "abc", NULL},
      {"stats", "--bogus", NULL},
      {"stats", "--json", "--prometheus", NULL},
      {"demo", "extra", NULL},
      {"batch", "extra", NULL},
  };
  /* a daemon that is not there must not matter */
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *argv[10] = {cli_path()};
    for (size_t k = 0; cases[i][k]; k++)
      argv[k + 1] = cases[i][k];
    int status = sbt_run_input(argv, NULL, 0, out, sizeof out, err, sizeof err);
    ck_assert_msg(status == 2, "case %zu (%s %s): status %d, stderr %s", i, argv[1], argv[2],
                  status, err);
    ck_assert_str_eq(out, "");
    ck_assert_msg(strncmp(err, "shmbuf: ", 8) == 0 && strstr(err, "--help"), "case %zu: %s", i,
                  err);
  }
}
END_TEST

/* An unreachable daemon: status 1 and one line that names the socket. */
static void assert_unreachable(const char *path) {
  ck_assert_int_eq(run(NULL, "alloc", "1", NULL), 1);
  ck_assert_str_eq(out, "");
  ck_assert_msg(strstr(err, path) != NULL, "the message does not name %s: %s", path, err);
  ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
  ck_assert_msg(strncmp(err, "shmbuf: ", 8) == 0, "%s", err);
}

START_TEST(unreachable_daemon) {
  const char *absent = absent_socket();
  setenv("SHMBUF_SOCKET", absent, 1);
  assert_unreachable(absent);
  ck_assert_int_eq(run(NULL, "-s", "/nonexistent/dir/x.sock", "from", "abc", NULL), 1);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/x.sock"));
  ck_assert_int_eq(run(NULL, "stats", NULL), 1);
  ck_assert_ptr_nonnull(strstr(err, absent));
  /* a socket file nobody listens on any more */
  char stale[192];
  snprintf(stale, sizeof stale, "%s/stale.sock", D.dir);
  FILE *f = fopen(stale, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  setenv("SHMBUF_SOCKET", stale, 1);
  assert_unreachable(stale);
  unlink(stale);
  /* the default path, when neither $SHMBUF_SOCKET nor -s gives one */
  unsetenv("SHMBUF_SOCKET");
  setenv("XDG_RUNTIME_DIR", D.dir, 1);
  char def[256];
  ck_assert_int_gt(shmbuf_default_socket(def, sizeof def), 0);
  if (access(def, F_OK) == 0)
    printf("# %s exists: the default-path case is skipped\n", def);
  else
    assert_unreachable(def);
  /* byte-length needs no daemon at all */
  ck_assert_int_eq(run(NULL, "-s", absent, "byte-length", "t\xc3\xa9st", NULL), 0);
  ck_assert_str_eq(out, "5\n");
}
END_TEST

START_TEST(socket_options) {
  /* -s and --socket win over $SHMBUF_SOCKET */
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  ck_assert_int_eq(run(NULL, "-s", D.sock, "alloc", "2", NULL), 0);
  ck_assert_str_eq(out, "<Buffer 00 00>\n");
  ck_assert_int_eq(run(NULL, "--socket", D.sock, "from", "ab", NULL), 0);
  ck_assert_str_eq(out, "<Buffer 61 62>\n");
  char opt[192];
  snprintf(opt, sizeof opt, "--socket=%s", D.sock);
  ck_assert_int_eq(run(NULL, opt, "alloc-unsafe-slow", "--json", "3", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "\"length\":3,\"byteOffset\":0,\"bufferByteLength\":3"));
  ck_assert_int_eq(run(NULL, "-s", absent_socket(), "alloc", "2", NULL), 1);
  /* and $SHMBUF_SOCKET alone is enough */
  setenv("SHMBUF_SOCKET", D.sock, 1);
  ck_assert_int_eq(run(NULL, "from", "-e", "latin1", "--to", "latin1", "t\xc3\xa9st", NULL), 0);
  ck_assert_str_eq(out, "t\xc3\xa9st\n");
}
END_TEST

/* A counter's value in `stats` default output ("name   value" lines). */
static long long stat_line(const char *name) {
  char pat[64];
  snprintf(pat, sizeof pat, "\n%s ", name);
  char *text = malloc(strlen(out) + 2);
  ck_assert_ptr_nonnull(text);
  sprintf(text, "\n%s", out);
  const char *p = strstr(text, pat);
  long long v = p ? strtoll(p + strlen(pat), NULL, 10) : -1;
  free(text);
  return v;
}

START_TEST(stats_formats) {
  /* stats in a batch sees the buffers the same connection holds */
  ck_assert_int_eq(run("alloc 1 2 3\nfrom abc\nstats\n", "batch", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "<Buffer 61 62 63>\n"));
  ck_assert_int_eq(stat_line("session_buffers"), 4);
  ck_assert_int_eq(stat_line("buffers"), 4);
  ck_assert_int_eq(stat_line("pool_size_bytes"), 8192);

  ck_assert_int_eq(run("alloc 1 2\nstats --json\n", "batch", NULL), 0);
  const char *j = strchr(out, '{');
  ck_assert_ptr_nonnull(j);
  ck_assert_msg(j[strlen(j) - 2] == '}' && j[strlen(j) - 1] == '\n', "%s", j);
  ck_assert_ptr_nonnull(strstr(j, "\"session_buffers\":2,"));
  ck_assert_msg(strncmp(j, "{\"connections\":", 15) == 0, "%s", j);
  ck_assert_ptr_nonnull(strstr(j, ",\"buffers\":2,"));
  ck_assert_ptr_nonnull(strstr(j, "\"pool_size_bytes\":8192,"));

  ck_assert_int_eq(run(NULL, "stats", "--prometheus", NULL), 0);
  ck_assert_str_eq(err, "");
  ck_assert_ptr_nonnull(strstr(out, "# HELP shmbuf_buffers Live buffers\n"
                                    "# TYPE shmbuf_buffers gauge\nshmbuf_buffers 0\n"));
  ck_assert_ptr_nonnull(strstr(out, "# TYPE shmbuf_requests_total counter\n"));
  /* every line is a comment or "name value" */
  for (const char *p = out; *p; p = strchr(p, '\n') + 1) {
    unsigned long long v;
    char name[64];
    ck_assert_msg(p[0] == '#' || sscanf(p, "shmbuf_%63s %llu", name, &v) == 2, "%.60s", p);
  }
}
END_TEST

/* shmbufd --check-config: silent and 0 for good settings, FILE:LINE: message for bad ones. */
START_TEST(daemon_checks_its_settings) {
  const char *daemon = getenv("SHMBUFD") ? getenv("SHMBUFD") : "./shmbufd";
  const char *src = getenv("srcdir") ? getenv("srcdir") : ".";
  char sample[512], bad[256], want[1024];
  snprintf(sample, sizeof sample, "%s/systemd/shmbufd.conf", src);
  const char *good[] = {daemon, "--check-config", sample, NULL};
  ck_assert_int_eq(sbt_run_input(good, NULL, 0, out, sizeof out, err, sizeof err), 0);
  ck_assert_str_eq(out, "");
  ck_assert_str_eq(err, "");

  snprintf(bad, sizeof bad, "%s/bad.conf", D.dir);
  FILE *f = fopen(bad, "w");
  ck_assert_ptr_nonnull(f);
  fputs("# a comment\nmax_memory = lots\npool_size = 16K\nno_such_key = 1\nlog_level\n", f);
  fclose(f);
  snprintf(want, sizeof want,
           "%s:2: invalid value \"lots\" for max_memory (expected a size such as 4096, 64K or "
           "16M, or auto)\n%s:4: unknown key \"no_such_key\"\n%s:5: not a \"key = value\" line\n",
           bad, bad, bad);
  const char *check[] = {daemon, "--check-config", bad, NULL};
  ck_assert_int_eq(sbt_run_input(check, NULL, 0, out, sizeof out, err, sizeof err), 1);
  ck_assert_str_eq(out, "");
  ck_assert_str_eq(err, want);
  const char *via_config[] = {daemon, "--config", bad, "--check-config", NULL};
  ck_assert_int_eq(sbt_run_input(via_config, NULL, 0, out, sizeof out, err, sizeof err), 1);
  ck_assert_str_eq(err, want);
  /* the flags are checked too, and a missing file is an error */
  const char *flags[] = {daemon, "--check-config", sample, "--pool-size", "3", NULL};
  ck_assert_int_eq(sbt_run_input(flags, NULL, 0, out, sizeof out, err, sizeof err), 1);
  ck_assert_str_eq(err, "command line: invalid value \"3\" for pool_size (expected a number from 8 "
                        "to 67108864)\n");
  const char *missing[] = {daemon, "--check-config", "/nonexistent/shmbufd.conf", NULL};
  ck_assert_int_eq(sbt_run_input(missing, NULL, 0, out, sizeof out, err, sizeof err), 1);
  ck_assert_str_eq(err, "/nonexistent/shmbufd.conf: cannot read it: No such file or directory\n");
  unlink(bad);
}
END_TEST

START_TEST(demo_matches_node) {
  char path[512];
  snprintf(path, sizeof path, "%s/demo.out", sbt_vectors());
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  static char want[1 << 16];
  want[fread(want, 1, sizeof want - 1, f)] = '\0';
  fclose(f);
  ck_assert_int_eq(run(NULL, "demo", NULL), 0);
  ck_assert_str_eq(err, "");
  ck_assert_str_eq(out, want);
}
END_TEST

/* A batch runs every line on one connection: a usage error on one line is reported, the
 * others run, and the worst status is the batch's. */
START_TEST(batch_goes_on) {
  ck_assert_int_eq(run("alloc-unsafe --json 8\nfrobnicate\nfrom -e utf9 x\n"
                       "alloc-unsafe --json 8\nalloc 'unbalanced\n",
                       "batch", NULL),
                   2);
  const char *second = strchr(out, '\n');
  ck_assert_ptr_nonnull(second);
  ck_assert_ptr_nonnull(strstr(out, "\"byteOffset\":0,"));
  ck_assert_ptr_nonnull(strstr(second, "\"byteOffset\":8,"));
  ck_assert_ptr_nonnull(strstr(err, "shmbuf: ERR_UNKNOWN_ENCODING: Unknown encoding: utf9\n"));
  ck_assert_ptr_nonnull(strstr(err, "frobnicate"));
  ck_assert_ptr_nonnull(strstr(err, "line 5"));
  /* a failing call alone is status 1 */
  ck_assert_int_eq(run("from x\nfrom -e utf9 x\nfrom y\n", "batch", NULL), 1);
  ck_assert_str_eq(out, "<Buffer 78>\n<Buffer 79>\n");
  /* nothing to do is fine */
  ck_assert_int_eq(run("", "batch", NULL), 0);
  ck_assert_str_eq(out, "");
}
END_TEST

/* With stdout and stderr in one pipe (2>&1), an error comes after what was printed before it:
 * earlier lines of a batch, and earlier buffers of the same command. */
START_TEST(errors_come_after_earlier_output) {
  const char *argv[] = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", cli_path(), "batch", NULL};
  const char *in = "from x\nalloc 1 -5\nfrom y\n";
  ck_assert_int_eq(sbt_run_input(argv, in, strlen(in), out, sizeof out, err, sizeof err), 1);
  ck_assert_str_eq(out, "<Buffer 78>\n<Buffer 00>\n"
                        "shmbuf: ERR_OUT_OF_RANGE: The value of \"size\" is out of range. It must "
                        "be >= 0 && <= 4294967296. Received -5\n<Buffer 79>\n");
  ck_assert_str_eq(err, "");
}
END_TEST

/* Every buffer the CLI made goes back when it exits. */
START_TEST(leaves_nothing_behind) {
  ck_assert_int_eq(run("alloc 100000\nfrom abc\nalloc-unsafe 5 6000\n", "batch", NULL), 0);
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 0);
  ck_assert_uint_eq(sbt_stat(&D, "reserved_bytes"), 0);
}
END_TEST

static Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  TCase *t = tcase_create("installed");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, runs_the_installed_binary);
  tcase_add_test(t, prints_what_node_prints);
  tcase_add_test(t, help_and_version);
  tcase_add_test(t, usage_errors);
  tcase_add_test(t, unreachable_daemon);
  tcase_add_test(t, socket_options);
  tcase_add_test(t, stats_formats);
  tcase_add_test(t, daemon_checks_its_settings);
  tcase_add_test(t, demo_matches_node);
  tcase_add_test(t, batch_goes_on);
  tcase_add_test(t, errors_come_after_earlier_output);
  tcase_add_test(t, leaves_nothing_behind);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(cli_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
