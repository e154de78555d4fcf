/* SPDX-License-Identifier: MIT */
/* The shmbuf CLI as it is installed, against a real shmbufd. What it prints for Buffer calls
 * is Node's (tests/vectors/cli.txt, made by gen-cli.js; the format is documented there); the
 * rest of the interface is checked here: help, usage errors, exit statuses, sockets and who
 * may use them, stats (once, live, for Prometheus), clients (also as another user), version,
 * demo, and the daemon's own --check-config.
 *
 * The binary: $SHMBUF_CLI_INSTALLED, the real executable that `make check` stages beside the
 * real libshmbuf.so.0 with automake's own install rules into a private DESTDIR, found through
 * $SHMBUF_CLI_LIBDIR as an installed library in a non-default prefix is; by hand, $SHMBUF_CLI
 * (the libtool wrapper in the build tree) will do. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/* Runs argv[0 .. n) and then the CLI with the arguments in ap (NULL-terminated). */
static int run_after(const char **argv, size_t n, const char *in, va_list ap) {
  argv[n++] = cli_path();
  for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1;)
    argv[n++] = a;
  argv[n] = NULL;
  return sbt_run_input(argv, in, in ? strlen(in) : 0, out, sizeof out, err, sizeof err);
}

/* Runs the CLI with the arguments (NULL-terminated) and standard input (NULL: none). */
static int run(const char *in, ...) {
  const char *argv[MAX_ARGS];
  va_list ap;
  va_start(ap, in);
  int status = run_after(argv, 0, in, ap);
  va_end(ap);
  return status;
}

/* The user every test that needs another one runs as. */
#define NOBODY 65534

/* run(), as the user and group NOBODY with no other groups (setpriv calls setresuid). */
static int run_as_nobody(const char *in, ...) {
  const char *argv[MAX_ARGS] = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups"};
  va_list ap;
  va_start(ap, in);
  int status = run_after(argv, 4, in, ap);
  va_end(ap);
  return status;
}

/* Restarts the daemon with its socket in this mode, in a directory anyone may enter. */
static void restart_with_mode(const char *mode) {
  sbt_stop(&D);
  const char *args[] = {"--socket-mode", mode, NULL};
  sbt_start(&D, args);
  ck_assert_int_eq(chmod(D.dir, 0755), 0);
  setenv("SHMBUF_SOCKET", D.sock, 1);
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
    "Usage: shmbuf [-s PATH] COMMAND [ARG]...",
    "  alloc [--fill STRING [-e ENC] | --fill-number N] SIZE...",
    "                           Buffer.alloc(SIZE[, fill[, ENC]])",
    "  alloc-unsafe SIZE...     Buffer.allocUnsafe(SIZE)",
    "                           Buffer.allocUnsafeSlow(SIZE)",
    "  from [-e ENC] STRING...  Buffer.from(STRING, ENC); \"-\" reads standard input",
    "  from --array N[,N...]... Buffer.from([N, ...])",
    "  byte-length [-e ENC] STRING...",
    "  is-encoding NAME...      Buffer.isEncoding(NAME)",
    "  batch                    run the commands on standard input, one a line;",
    "  stats [--json | --prometheus | --interval SECONDS [--count N]]",
    "  clients [--json]         its connections: process, user, memory, requests",
    "  version                  the versions of shmbuf, libshmbuf and shmbufd",
    "  help [COMMAND]           this text, or all about one command",
    "  -s, --socket PATH        the daemon's socket (default: $SHMBUF_SOCKET, else",
    "  -h, --help               show this help, or the command's",
    "  -V, --version            show the version of shmbuf",
};

START_TEST(help_and_version) {
  static char help[OUT_CAP];
  ck_assert_int_eq(run(NULL, "--help", NULL), 0);
  ck_assert_str_eq(err, "");
  for (size_t i = 0; i < sizeof INTERFACE / sizeof *INTERFACE; i++) {
    char line[256];
    snprintf(line, sizeof line, "%s\n", INTERFACE[i]);
    ck_assert_msg(strstr(out, line) != NULL, "--help lacks the line\n%s", INTERFACE[i]);
  }
  snprintf(help, sizeof help, "%s", out);
  /* help, -h and --help after a command say the same */
  ck_assert_int_eq(run(NULL, "help", NULL), 0);
  ck_assert_str_eq(out, help);
  ck_assert_int_eq(run(NULL, "-h", NULL), 0);
  ck_assert_str_eq(out, help);
  ck_assert_int_eq(run(NULL, "--version", NULL), 0);
  ck_assert_str_eq(out, "shmbuf " PACKAGE_VERSION "\n");
  ck_assert_str_eq(err, "");
  ck_assert_int_eq(run(NULL, "stats", "-V", NULL), 0);
  ck_assert_str_eq(out, "shmbuf " PACKAGE_VERSION "\n");
  /* neither needs a daemon */
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  ck_assert_int_eq(run(NULL, "--help", NULL), 0);
  ck_assert_int_eq(run(NULL, "--version", NULL), 0);
  ck_assert_int_eq(run(NULL, "help", "stats", NULL), 0);
}
END_TEST

/* The commands a command's help is asked for: every one --help lists ("  NAME ..." with two
 * blanks before the name), and the ones batch's help lists ("  show write ..."). */
static size_t listed_commands(char names[][32], size_t cap) {
  size_t n = 0;
  ck_assert_int_eq(run(NULL, "help", NULL), 0);
  for (const char *p = out; *p && n < cap; p = strchr(p, '\n') + 1) {
    char name[32];
    if (p[0] == ' ' && p[1] == ' ' && p[2] >= 'a' && p[2] <= 'z' &&
        sscanf(p + 2, "%31[a-z-]", name) == 1 && strcspn(p, "\n") > 2 + strlen(name) &&
        strchr(" \n", p[2 + strlen(name)])) {
      bool seen = false;
      for (size_t k = 0; k < n; k++)
        seen |= strcmp(names[k], name) == 0;
      if (!seen)
        snprintf(names[n++], 32, "%s", name);
    }
  }
  ck_assert_int_eq(run(NULL, "help", "batch", NULL), 0);
  const char *ops = strstr(out, "\n  show ");
  ck_assert_ptr_nonnull(ops);
  for (ops++; *ops == ' ' && n < cap; ops = strchr(ops, '\n') + 1)
    for (const char *w = ops; *w && *w != '\n';) {
      w += strspn(w, " ");
      size_t len = strcspn(w, " \n");
      if (len)
        snprintf(names[n++], 32, "%.*s", (int)len, w);
      w += len;
    }
  return n;
}

/* Every line of `text` fits in 80 columns and speaks the user's words, not the project's. */
static void assert_readable(const char *what, const char *text) {
  static const char *const internal[] = {"Node's Buffer examples", "session_buffers", "seed",
                                         "the run", "libuv", "protobuf", "dispatch"};
  unsigned no = 1;
  for (const char *p = text; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0), no++)
    ck_assert_msg(strcspn(p, "\n") <= 80, "%s: line %u has %zu columns: %.*s", what, no,
                  strcspn(p, "\n"), (int)strcspn(p, "\n"), p);
  for (size_t i = 0; i < sizeof internal / sizeof *internal; i++)
    ck_assert_msg(strstr(text, internal[i]) == NULL, "%s speaks of \"%s\"", what, internal[i]);
}

START_TEST(help_fits_80_columns_for_every_command) {
  static char names[64][32], via_help[OUT_CAP];
  size_t n = listed_commands(names, 64);
  ck_assert_uint_ge(n, 25);
  ck_assert_int_eq(run(NULL, "--help", NULL), 0);
  assert_readable("--help", out);
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(run(NULL, "help", names[i], NULL) == 0, "help %s: %s", names[i], err);
    ck_assert_str_eq(err, "");
    ck_assert_msg(strncmp(out, "Usage: shmbuf ", 14) == 0, "help %s: %s", names[i], out);
    assert_readable(names[i], out);
    snprintf(via_help, sizeof via_help, "%s", out);
    /* CMD --help and CMD -h say the same, whatever else the line has */
    ck_assert_int_eq(run(NULL, names[i], "--help", NULL), 0);
    ck_assert_str_eq(out, via_help);
    ck_assert_int_eq(run(NULL, names[i], "@0", "-h", NULL), 0);
    ck_assert_str_eq(out, via_help);
  }
  /* a type of read- and write- finds their help too */
  ck_assert_int_eq(run(NULL, "help", "read-uint16le", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "Usage: shmbuf read-TYPE @N"));
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
      {"stats", "--interval", NULL},
      {"stats", "--interval", "0", NULL},
      {"stats", "--interval", "-1", NULL},
      {"stats", "--interval", "soon", NULL},
      {"stats", "--interval", "inf", NULL},
      {"stats", "--count", "2", NULL},
      {"stats", "--interval", "1", "--count", "0", NULL},
      {"stats", "--interval", "1", "--prometheus", NULL},
      {"stats", "extra", NULL},
      {"clients", "extra", NULL},
      {"clients", "--prometheus", NULL},
      {"version", "extra", NULL},
      {"help", "alloc", "from", NULL},
      {"help", "frobnicate", NULL},
      {"read-uint9", "@0", NULL},
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
    ck_assert_msg(strncmp(err, "shmbuf: ", 8) == 0 && strstr(err, "Try 'shmbuf help"),
                  "case %zu: %s", i, err);
  }
}
END_TEST

/* A usage error says which command, which option or argument, and what it expected. */
START_TEST(usage_errors_name_the_right_thing) {
  static const struct {
    const char *args[6];
    const char *says;
  } cases[] = {
      {{"stat", NULL}, "shmbuf: unknown command 'stat' (did you mean 'stats'?)\n"
                       "Try 'shmbuf help' for more information.\n"},
      {{"frobnicate", NULL}, "shmbuf: unknown command 'frobnicate'\n"},
      {{"stats", "--interval", "soon", NULL},
       "shmbuf: stats: --interval takes a number of seconds above 0, not 'soon'\n"
       "Try 'shmbuf help stats' for more information.\n"},
      {{"stats", "--count", "3", NULL}, "shmbuf: stats: --count goes with --interval\n"},
      {{"stats", "--bogus", NULL}, "shmbuf: stats: unknown option '--bogus'\n"},
      {{"alloc", "--fill", NULL}, "shmbuf: alloc: option '--fill' needs a value\n"},
      {{"alloc", "4", "-s", NULL}, "shmbuf: option '-s' needs a value\n"},
      {{"alloc", "four", NULL}, "shmbuf: alloc: SIZE must be an integer, not 'four'\n"},
      {{"from", NULL}, "shmbuf: from: missing argument STRING\n"},
      {{"write", "@0", NULL}, "shmbuf: write: missing argument STRING\n"},
      {{"copy", "@0", NULL}, "shmbuf: copy: missing argument @T\n"},
      {{"write-uint8", "@0", "1", "2", NULL},
       "shmbuf: write-uint8: one argument too many: '2' (the arguments are @N VALUE)\n"},
      {{"read-uint9", "@0", NULL}, "shmbuf: read-uint9: no such TYPE: 'uint9'"},
      {{"show", "0", NULL}, "shmbuf: show: a buffer is @N"},
      {{"demo", "extra", NULL}, "shmbuf: demo: takes no arguments, not 'extra'\n"},
      {{"help", "stat", NULL}, "(did you mean 'stats'?)"},
  };
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *argv[8] = {cli_path()};
    for (size_t k = 0; cases[i].args[k]; k++)
      argv[k + 1] = cases[i].args[k];
    ck_assert_int_eq(sbt_run_input(argv, NULL, 0, out, sizeof out, err, sizeof err), 2);
    ck_assert_msg(strstr(err, cases[i].says) != NULL, "%s: says\n%s", cases[i].args[0], err);
  }
}
END_TEST

/* -s, --socket, --help and --version may come after the command, and a command's option value
 * that looks like one of them is still that option's value. */
START_TEST(global_options_after_the_command) {
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  ck_assert_int_eq(run(NULL, "alloc", "2", "-s", D.sock, NULL), 0);
  ck_assert_str_eq(out, "<Buffer 00 00>\n");
  char opt[192];
  snprintf(opt, sizeof opt, "--socket=%s", D.sock);
  ck_assert_int_eq(run(NULL, "stats", "--json", opt, NULL), 0);
  ck_assert_msg(strncmp(out, "{\"connections\":1,", 17) == 0, "%s", out);
  /* Buffer.alloc(3, '-s'): the fill is "-s", and the socket comes after it */
  ck_assert_int_eq(run(NULL, "alloc", "--fill", "-s", "3", "--socket", D.sock, NULL), 0);
  ck_assert_str_eq(out, "<Buffer 2d 73 2d>\n");
  /* after "--", everything is an argument */
  ck_assert_int_eq(run(NULL, "-s", D.sock, "from", "--", "--help", NULL), 0);
  ck_assert_str_eq(out, "<Buffer 2d 2d 68 65 6c 70>\n");
  /* a batch's lines take --help, not -s (the connection is made already) */
  ck_assert_int_eq(run("alloc --help\nalloc 1\n", "-s", D.sock, "batch", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "Usage: shmbuf alloc"));
  ck_assert_ptr_nonnull(strstr(out, "\n<Buffer 00>\n"));
  ck_assert_int_eq(run("stats -s x\n", "-s", D.sock, "batch", NULL), 2);
  ck_assert_ptr_nonnull(strstr(err, "not in a batch"));
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

/* Where "\nNAME " starts its k-th line (from 0) in out, or NULL. */
static const char *nth_line(const char *name, int k) {
  char pat[64];
  snprintf(pat, sizeof pat, "\n%s ", name);
  const char *p = out - 1;
  for (int i = 0; i <= k && p; i++)
    p = strstr(p + 1, pat);
  return p ? p + 1 : NULL;
}

START_TEST(stats_interval_shows_rates) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ck_assert_int_eq(run(NULL, "stats", "--interval", "0.2", "--count", "2", NULL), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ck_assert_str_eq(err, "");
  /* two rounds, the second one interval after the first */
  ck_assert_double_ge((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                      0.2);
  const char *second = strstr(strstr(out, "COUNTER") + 1, "COUNTER");
  ck_assert_ptr_nonnull(second);
  ck_assert_ptr_null(strstr(second + 1, "COUNTER"));
  char head[256];
  snprintf(head, sizeof head, "shmbufd %s on %s, every 0.2s, at ", PACKAGE_VERSION, D.sock);
  ck_assert_msg(strncmp(out, head, strlen(head)) == 0, "%s", out);
  /* a running total has no rate in the first round, and one in the second: the command's
   * own request in between at least */
  char name[64], value[32], rate[32];
  const char *first = nth_line("requests_total", 0), *then = nth_line("requests_total", 1);
  ck_assert_ptr_nonnull(then);
  ck_assert_int_eq(sscanf(first, "%63s %31s %31s", name, value, rate), 3);
  ck_assert_str_eq(rate, "-");
  ck_assert_int_eq(sscanf(then, "%63s %31s %31s", name, value, rate), 3);
  ck_assert_msg(strtod(rate, NULL) > 0, "requests_total at %s a second", rate);
  ck_assert_ptr_nonnull(nth_line("connections_total", 1));
  /* sizes in units for people; a gauge has no rate */
  const char *pool = nth_line("pool_size_bytes", 1);
  ck_assert_ptr_nonnull(pool);
  ck_assert_int_eq(strncmp(strstr(pool, "8.0 KiB"), "8.0 KiB\n", 8), 0);
  ck_assert_ptr_null(strstr(out, "session_"));

  /* with --json: one object a round, a line each */
  ck_assert_int_eq(run(NULL, "stats", "--json", "--interval", "0.05", "--count", "3", NULL), 0);
  int lines = 0;
  for (const char *p = out; *p; p = strchr(p, '\n') + 1, lines++)
    ck_assert_msg(strncmp(p, "{\"connections\":1,", 17) == 0 && strchr(p, '\n')[-1] == '}',
                  "%s", p);
  ck_assert_int_eq(lines, 3);
}
END_TEST

START_TEST(prometheus_has_build_info_and_no_session_counters) {
  ck_assert_int_eq(run(NULL, "stats", "--prometheus", NULL), 0);
  ck_assert_str_eq(err, "");
  ck_assert_ptr_nonnull(strstr(out, "# HELP shmbuf_build_info The daemon's version\n"
                                    "# TYPE shmbuf_build_info gauge\n"
                                    "shmbuf_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
  ck_assert_ptr_null(strstr(out, "session_"));
  ck_assert_ptr_nonnull(strstr(out, "# TYPE shmbuf_enospc_total counter\nshmbuf_enospc_total 0\n"));
  ck_assert_ptr_nonnull(strstr(out, "# TYPE shmbuf_uptime_seconds gauge\nshmbuf_uptime_seconds "));
  ck_assert_ptr_nonnull(strstr(out, "# TYPE shmbuf_pool_size_bytes gauge\n"));
  ck_assert_ptr_null(strstr(out, "8 KiB"));
  ck_assert_ptr_null(strstr(out, "8KiB"));
  /* and the JSON keeps every counter, the connection's own too */
  ck_assert_int_eq(run(NULL, "stats", "--json", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, ",\"uptime_seconds\":"));
  ck_assert_ptr_nonnull(strstr(out, ",\"session_buffers\":0,"));
}
END_TEST

/* A connection's row in `clients --json`. */
typedef struct client_row {
  int pid;
  unsigned uid;
  char command[16];
  unsigned long long buffers, bytes, reserved, slabs, age_ms, requests;
} client_row;

/* The row of pid in out (clients --json), or false. */
static bool find_row(int pid, client_row *r) {
  char key[32];
  snprintf(key, sizeof key, "{\"pid\":%d,", pid);
  const char *p = strstr(out, key);
  if (p == NULL)
    return false;
  ck_assert_int_eq(sscanf(p,
                          "{\"pid\":%d,\"uid\":%u,\"command\":\"%15[^\"]\",\"buffers\":%llu,"
                          "\"bytes\":%llu,\"reserved_bytes\":%llu,\"slabs\":%llu,\"age_ms\":%llu,"
                          "\"requests\":%llu}",
                          &r->pid, &r->uid, r->command, &r->buffers, &r->bytes, &r->reserved,
                          &r->slabs, &r->age_ms, &r->requests),
                   9);
  return true;
}

/* How many rows out (clients --json) has. */
static int count_rows(void) {
  int n = 0;
  for (const char *p = out; (p = strstr(p, "{\"pid\":")); p++)
    n++;
  return n;
}

START_TEST(clients_lists_connections) {
  shmbuf_client *c;
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_connect_ex(D.sock, SHMBUF_THIN, &c), 0);
  for (int i = 1; i <= 3; i++)
    ck_assert_int_eq(shmbuf_alloc(c, 100 * i, &b), 0); /* kept until the close */
  ck_assert_int_eq(run(NULL, "clients", "--json", NULL), 0);
  ck_assert_str_eq(err, "");
  ck_assert_msg(out[0] == '[' && strcmp(out + strlen(out) - 2, "]\n") == 0, "%s", out);
  client_row r;
  char comm[16];
  sbt_proc_comm(getpid(), comm, sizeof comm);
  ck_assert_msg(find_row((int)getpid(), &r), "no row of pid %d: %s", (int)getpid(), out);
  ck_assert_uint_eq(r.uid, getuid());
  ck_assert_str_eq(r.command, comm);
  ck_assert_uint_eq(r.buffers, 3);
  ck_assert_uint_eq(r.bytes, 600);
  ck_assert_uint_ge(r.reserved, 600);
  ck_assert_uint_ge(r.slabs, 1);
  ck_assert_uint_eq(r.requests, 4); /* hello and three allocs */
  ck_assert_ptr_nonnull(strstr(out, "\"command\":\"shmbuf\",\"buffers\":0,")); /* the CLI's own */
  ck_assert_int_eq(count_rows(), 2);

  /* the table: a header, then a row a connection */
  ck_assert_int_eq(run(NULL, "clients", NULL), 0);
  ck_assert_int_eq(strncmp(out, "    PID USER     COMMAND          BUFFERS      BYTES  SLABS     "
                                "AGE  REQUESTS\n", 77), 0);
  char row[128];
  snprintf(row, sizeof row, "\n%7d root     %-15s        3      600 B ", (int)getpid(), comm);
  ck_assert_msg(strstr(out, row) != NULL, "no row\n%s\nin\n%s", row + 1, out);
  for (const char *p = out; *p; p = strchr(p, '\n') + 1)
    ck_assert_uint_le(strcspn(p, "\n"), 80);
  shmbuf_close(c);
}
END_TEST

/* A process of another user that holds a connection with two buffers until told to go (a
 * thin one: each buffer is one of the daemon's, not carved out of a region). */
typedef struct holder {
  pid_t pid;
  int go; /* closing it lets the process go */
} holder;

static holder hold_as_nobody(void) {
  int ready[2], go[2];
  ck_assert_int_eq(pipe(ready), 0);
  ck_assert_int_eq(pipe(go), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    shmbuf_client *c;
    shmbuf_buf *b;
    char x;
    close(ready[0]);
    close(go[1]);
    if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) < 0 || shmbuf_connect_ex(D.sock, SHMBUF_THIN, &c) < 0 ||
        shmbuf_alloc(c, 10, &b) < 0 || shmbuf_alloc(c, 20, &b) < 0 || write(ready[1], "x", 1) != 1)
      _exit(1);
    _exit(read(go[0], &x, 1) == 0 ? 0 : 1); /* until the test lets go, or ends */
  }
  close(ready[1]);
  close(go[0]);
  char x;
  ck_assert_int_eq(read(ready[0], &x, 1), 1);
  close(ready[0]);
  return (holder){pid, go[1]};
}

static void let_go(holder *h) {
  int status;
  close(h->go);
  ck_assert_int_eq(waitpid(h->pid, &status, 0), h->pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(clients_hides_other_users_rows) {
  restart_with_mode("0666");
  shmbuf_client *c;
  ck_assert_int_eq(shmbuf_connect(D.sock, &c), 0);
  holder h = hold_as_nobody();
  client_row r;
  /* root sees everyone */
  ck_assert_int_eq(run(NULL, "clients", "--json", NULL), 0);
  ck_assert_msg(find_row((int)getpid(), &r), "%s", out);
  ck_assert_msg(find_row((int)h.pid, &r), "%s", out);
  ck_assert_uint_eq(r.uid, NOBODY);
  ck_assert_uint_eq(r.buffers, 2);
  ck_assert_int_eq(count_rows(), 3);
  /* another user sees its own connections only: the holder's and the command's */
  ck_assert_int_eq(run_as_nobody(NULL, "clients", "--json", NULL), 0);
  ck_assert_str_eq(err, "");
  ck_assert_msg(!find_row((int)getpid(), &r), "root's row shows:\n%s", out);
  ck_assert_msg(find_row((int)h.pid, &r), "%s", out);
  ck_assert_int_eq(count_rows(), 2);
  int theirs = 0;
  for (const char *p = out; (p = strstr(p, "\"uid\":65534,")); p++)
    theirs++;
  ck_assert_int_eq(theirs, 2);
  ck_assert_int_eq(run_as_nobody(NULL, "clients", NULL), 0);
  ck_assert_ptr_null(strstr(out, " root "));
  let_go(&h);
  shmbuf_close(c);
}
END_TEST

START_TEST(version_names_library_daemon_and_protocol) {
  char want[512];
  ck_assert_int_eq(run(NULL, "version", NULL), 0);
  snprintf(want, sizeof want,
           "shmbuf " PACKAGE_VERSION "\nlibshmbuf " PACKAGE_VERSION "\nshmbufd " PACKAGE_VERSION
           " (protocol 1) on %s\n",
           D.sock);
  ck_assert_str_eq(out, want);
  ck_assert_str_eq(err, "");
  /* without a daemon, what is known, then why the rest is not */
  setenv("SHMBUF_SOCKET", absent_socket(), 1);
  ck_assert_int_eq(run(NULL, "version", NULL), 1);
  ck_assert_str_eq(out, "shmbuf " PACKAGE_VERSION "\nlibshmbuf " PACKAGE_VERSION "\n");
  ck_assert_ptr_nonnull(strstr(err, absent_socket()));
}
END_TEST

/* ---- sharing ----------------------------------------------------------------------------------- */

/* Runs `shmbuf put` with the arguments and stdin and returns the token it printed. */
static const char *put(const char *in, const char *a, const char *b, const char *c) {
  static char token[64];
  ck_assert_msg(run(in, "put", a, b, c, NULL) == 0, "%s", err);
  ck_assert_uint_eq(strlen(out), 27);
  ck_assert_int_eq(strncmp(out, "sb1_", 4), 0);
  snprintf(token, sizeof token, "%.26s", out);
  return token;
}

START_TEST(put_and_get_make_a_scratch_space_for_pipelines) {
  restart_with_mode("0666");
  char token[64];
  snprintf(token, sizeof token, "%s", put(NULL, "hello, shell", NULL, NULL));
  ck_assert_int_eq(run(NULL, "get", token, NULL), 0);
  ck_assert_str_eq(out, "hello, shell");
  ck_assert_int_eq(run(NULL, "get", token, "--hex", NULL), 0);
  ck_assert_str_eq(out, "68656c6c6f2c207368656c6c\n");
  ck_assert_int_eq(run(NULL, "get", "--inspect", token, NULL), 0);
  ck_assert_str_eq(out, "<Buffer 68 65 6c 6c 6f 2c 20 73 68 65 6c 6c>\n");
  ck_assert_int_eq(run(NULL, "get", token, "-e", "base64", NULL), 0);
  ck_assert_str_eq(out, "aGVsbG8sIHNoZWxs\n");
  /* the command that put it has gone, and another user gets it by the token alone */
  ck_assert_int_eq(run_as_nobody(NULL, "get", token, NULL), 0);
  ck_assert_str_eq(out, "hello, shell");
  /* standard input, a file, an encoding */
  snprintf(token, sizeof token, "%s", put("from stdin", "-", NULL, NULL));
  ck_assert_int_eq(run(NULL, "get", token, NULL), 0);
  ck_assert_str_eq(out, "from stdin");
  char path[256];
  snprintf(path, sizeof path, "%s/payload", D.dir);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fwrite("a\0b", 1, 3, f);
  fclose(f);
  snprintf(token, sizeof token, "%s", put(NULL, "--file", path, NULL));
  ck_assert_int_eq(run(NULL, "get", token, "--inspect", NULL), 0);
  ck_assert_str_eq(out, "<Buffer 61 00 62>\n");
  snprintf(token, sizeof token, "%s", put(NULL, "-e", "hex", "c0ffee"));
  ck_assert_int_eq(run(NULL, "get", token, "--hex", NULL), 0);
  ck_assert_str_eq(out, "c0ffee\n");
}
END_TEST

START_TEST(shares_shows_tokens_to_their_users_alone) {
  restart_with_mode("0666");
  char mine[64];
  snprintf(mine, sizeof mine, "%s", put(NULL, "--writable", "root's", NULL));
  ck_assert_int_eq(run_as_nobody(NULL, "put", "nobody's", NULL), 0);
  char theirs[64];
  snprintf(theirs, sizeof theirs, "%.26s", out);
  ck_assert_int_eq(run(NULL, "shares", "--json", NULL), 0);
  ck_assert_msg(strstr(out, mine) && !strstr(out, theirs), "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "\"token\":null,\"uid\":65534,\"pid\":0,\"length\":8,"
                                    "\"writable\":false"));
  ck_assert_ptr_nonnull(strstr(out, "\"uid\":0,\"pid\":0,\"length\":6,\"writable\":true"));
  ck_assert_int_eq(run_as_nobody(NULL, "shares", NULL), 0);
  ck_assert_msg(strstr(out, theirs) && !strstr(out, mine), "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "TOKEN"));
  ck_assert_int_eq(run(NULL, "shares", "--prometheus", NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "shmbuf_user_shares{uid=\"65534\"} 1\n"));
  ck_assert_ptr_nonnull(strstr(out, "shmbuf_user_share_bytes{uid=\"0\"} 6\n"));
  ck_assert_ptr_null(strstr(out, "sb1_"));
}
END_TEST

START_TEST(put_lives_until_its_ttl) {
  char token[64];
  snprintf(token, sizeof token, "%s", put(NULL, "--ttl", "400ms", "brief"));
  ck_assert_int_eq(run(NULL, "get", token, NULL), 0);
  usleep(600 * 1000);
  ck_assert_int_eq(run(NULL, "get", token, NULL), 1);
  ck_assert_str_eq(out, "");
  ck_assert_str_eq(err, "shmbuf: ERR_SHMBUF_TOKEN: The token names no share this connection may "
                        "import\n");
  ck_assert_int_eq(run(NULL, "shares", "--json", NULL), 0);
  ck_assert_str_eq(out, "[]\n");
}
END_TEST

START_TEST(sharing_usage_errors) {
  static const struct {
    const char *a, *b, *c, *says;
  } cases[] = {
      {"put", NULL, NULL, "shmbuf: put: needs a STRING, --file FILE or -\n"},
      {"put", "a", "b", "shmbuf: put: takes one STRING, not also 'b'\n"},
      {"put", "--ttl", "soon", "shmbuf: put: --ttl takes a duration such as 90s, 15m, 2h or 7d, "
                               "not 'soon'\n"},
      {"put", "-e", "utf9", "shmbuf: put: needs a STRING, --file FILE or -\n"},
      {"get", NULL, NULL, "shmbuf: get: needs a TOKEN (shmbuf put prints one)\n"},
      {"get", "--hex", "--raw", "shmbuf: get: needs a TOKEN (shmbuf put prints one)\n"},
      {"shares", "--json", "--prometheus", "shmbuf: shares: --json and --prometheus exclude "
                                           "each other\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_int_eq(run(NULL, cases[i].a, cases[i].b, cases[i].c, NULL), 2);
    ck_assert_msg(strncmp(err, cases[i].says, strlen(cases[i].says)) == 0, "%s: %s", cases[i].a,
                  err);
  }
  ck_assert_int_eq(run(NULL, "put", "-e", "utf9", "x", NULL), 2);
  ck_assert_msg(strstr(err, "no such encoding: 'utf9'") != NULL, "%s", err);
  ck_assert_int_eq(run(NULL, "get", "--hex", "--raw", "sb1_x", NULL), 2);
  ck_assert_msg(strstr(err, "exclude each other") != NULL, "%s", err);
}
END_TEST

/* Kept out by the socket's file mode: the message says how to get in. */
START_TEST(socket_mode_refusal_tells_how_to_join) {
  restart_with_mode("0660");
  const struct group *users = getgrgid(100);
  ck_assert_ptr_nonnull(users);
  char group[32], join[96];
  snprintf(group, sizeof group, "%s", users->gr_name);
  ck_assert_int_eq(chown(D.sock, (uid_t)-1, 100), 0);
  ck_assert_int_eq(run_as_nobody(NULL, "stats", NULL), 1);
  ck_assert_str_eq(out, "");
  snprintf(join, sizeof join, "sudo usermod -aG %s $USER    and log out and in again", group);
  ck_assert_msg(strstr(err, join) != NULL, "%s", err);
  ck_assert_ptr_nonnull(strstr(err, D.sock));
  ck_assert_ptr_null(strstr(err, "refused this user"));
  /* a socket of its owner's alone */
  ck_assert_int_eq(chmod(D.sock, 0600), 0);
  ck_assert_int_eq(run_as_nobody(NULL, "stats", NULL), 1);
  ck_assert_msg(strstr(err, "(mode 0600) lets in root alone") != NULL, "%s", err);
  ck_assert_ptr_null(strstr(err, "usermod"));
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
  tcase_add_test(t, help_fits_80_columns_for_every_command);
  tcase_add_test(t, usage_errors);
  tcase_add_test(t, usage_errors_name_the_right_thing);
  tcase_add_test(t, global_options_after_the_command);
  tcase_add_test(t, unreachable_daemon);
  tcase_add_test(t, socket_options);
  tcase_add_test(t, stats_formats);
  tcase_add_test(t, stats_interval_shows_rates);
  tcase_add_test(t, prometheus_has_build_info_and_no_session_counters);
  tcase_add_test(t, clients_lists_connections);
  tcase_add_test(t, clients_hides_other_users_rows);
  tcase_add_test(t, version_names_library_daemon_and_protocol);
  tcase_add_test(t, put_and_get_make_a_scratch_space_for_pipelines);
  tcase_add_test(t, shares_shows_tokens_to_their_users_alone);
  tcase_add_test(t, put_lives_until_its_ttl);
  tcase_add_test(t, sharing_usage_errors);
  tcase_add_test(t, socket_mode_refusal_tells_how_to_join);
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
