/* SPDX-License-Identifier: MIT */
/* shmbuf: the operators' and scripts' window onto shmbufd. A libshmbuf user like any other:
 * it links the public API only. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmbuf.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage_text[] =
    "Usage: shmbuf [-s|--socket PATH] COMMAND ...\n"
    "  default socket: $SHMBUF_SOCKET, else the daemon's default path\n"
    "\n"
    "  alloc [--fill STRING [-e ENC] | --fill-number N] SIZE...   Buffer.alloc(SIZE[, fill[, ENC]])\n"
    "  alloc-unsafe SIZE...                                      Buffer.allocUnsafe(SIZE)\n"
    "  alloc-unsafe-slow SIZE...                                 Buffer.allocUnsafeSlow(SIZE)\n"
    "  from [-e ENC] STRING...                                   Buffer.from(STRING, ENC)\n"
    "  from --array N[,N...]                                     Buffer.from([N, ...])\n"
    "      Each SIZE or STRING makes one buffer, in order, on one connection.\n"
    "      STRING \"-\" reads standard input to EOF as one string.\n"
    "      Output, one line per buffer:\n"
    "        (default)                    util.inspect(buf), e.g. <Buffer 61 62 63 64>\n"
    "        --to ENC [--start N] [--end N]   buf.toString(ENC, start, end)\n"
    "        --json    {\"length\":4,\"byteOffset\":0,\"bufferByteLength\":8192,\"pooled\":true,\n"
    "                   \"arrayBuffer\":\"<id, equal for buffers sharing one backing ArrayBuffer>\","
    "\"hex\":\"61626364\"}\n"
    "  byte-length [-e ENC] STRING...                            Buffer.byteLength(STRING, ENC); "
    "needs no daemon\n"
    "  batch                                                     read commands (same syntax, one "
    "per line) from\n"
    "                                                            standard input and run them all "
    "on one connection\n"
    "  stats [--json | --prometheus]                             the daemon's counters\n"
    "  demo                                                      Node's Buffer examples, printed as "
    "Node prints them\n"
    "  --help, --version\n";

/* The connection, opened on first use and shared by every command of a run. */
typedef struct session {
  const char *socket; /* as given, or NULL for the default */
  shmbuf_client *c;
  shmbuf_buf **bufs;  /* every buffer made, kept until the end so pool placement carries on */
  size_t nbufs, cap;
} session;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  fputs("shmbuf: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'shmbuf --help' for more information.\n", stderr);
  return EXIT_USAGE;
}

/* A failed call: Node's code and message when there is one. */
static int failed(int rc) {
  const char *code = shmbuf_error_code(), *msg = shmbuf_error_message();
  if (code && msg)
    fprintf(stderr, "shmbuf: %s: %s\n", code, msg);
  else
    fprintf(stderr, "shmbuf: %s\n", shmbuf_strerror(rc));
  return EXIT_FAILED;
}

static int connect_once(session *s) {
  if (s->c)
    return 0;
  /* thin: each buffer the CLI makes is a request the daemon sees and counts */
  int rc = shmbuf_connect_ex(s->socket, SHMBUF_THIN, &s->c);
  if (rc == 0)
    return 0;
  char path[256];
  if (s->socket)
    snprintf(path, sizeof path, "%s", s->socket);
  else if (shmbuf_default_socket(path, sizeof path) < 0)
    snprintf(path, sizeof path, "(default path too long)");
  if (rc == -ENOENT || rc == -ECONNREFUSED)
    fprintf(stderr, "shmbuf: no shmbufd is listening on %s (%s); start it, or pass -s PATH\n",
            path, shmbuf_strerror(rc));
  else if (rc == -EACCES)
    fprintf(stderr, "shmbuf: shmbufd at %s refused this user: %s\n", path,
            shmbuf_error_message() ? shmbuf_error_message() : shmbuf_strerror(rc));
  else
    fprintf(stderr, "shmbuf: cannot use shmbufd at %s: %s\n", path,
            shmbuf_error_message() ? shmbuf_error_message() : shmbuf_strerror(rc));
  return EXIT_FAILED;
}

static int keep(session *s, shmbuf_buf *b) {
  if (s->nbufs == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    shmbuf_buf **n = realloc(s->bufs, cap * sizeof *n);
    if (n == NULL) {
      shmbuf_release(b);
      fprintf(stderr, "shmbuf: out of memory\n");
      return EXIT_FAILED;
    }
    s->bufs = n;
    s->cap = cap;
  }
  s->bufs[s->nbufs++] = b;
  return 0;
}

/* ---- parsing -------------------------------------------------------------------------------- */

static bool parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end)
    return false;
  *out = v;
  return true;
}

static bool parse_number(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || (errno && !isinf(v)))
    return false;
  *out = v;
  return true;
}

/* --array's "N[,N...]", every element a number ("" is the empty array: Buffer.from([])).
 * Returns the count and the numbers in *out (to free), -EINVAL when an element is not a
 * number (an empty one neither), or -ENOMEM. */
static long parse_array(const char *arg, double **out) {
  size_t n = arg[0] ? 1 : 0;
  for (const char *p = arg; *p; p++)
    n += *p == ',';
  double *v = malloc((n ? n : 1) * sizeof *v);
  if (v == NULL)
    return -ENOMEM;
  const char *p = arg;
  for (size_t i = 0; i < n; i++) {
    size_t len = strcspn(p, ",");
    char *tok = strndup(p, len);
    int rc = tok == NULL ? -ENOMEM : parse_number(tok, &v[i]) ? 0 : -EINVAL;
    free(tok);
    if (rc < 0) {
      free(v);
      return rc;
    }
    p += len + 1;
  }
  *out = v;
  return (long)n;
}

/* Reads standard input to EOF. */
static char *read_stdin(size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (buf == NULL)
      return NULL;
    size_t r = fread(buf + n, 1, cap - n, stdin);
    n += r;
    if (r == 0)
      break;
    if (n == cap) {
      char *more = realloc(buf, cap *= 2);
      if (more == NULL)
        free(buf);
      buf = more;
    }
  }
  *len = n;
  return buf;
}

/* ---- output ----------------------------------------------------------------------------------- */

typedef struct output {
  const char *to; /* --to ENC, or NULL */
  int64_t start, end;
  bool json;
} output;

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      printf("\\%c", ch);
    else if (ch < 0x20)
      printf("\\u%04x", ch);
    else
      putchar(ch);
  }
  putchar('"');
}

static int print_buffer(const shmbuf_buf *b, const output *o) {
  char *s;
  size_t len;
  int rc;
  if (o->to) {
    if ((rc = shmbuf_to_string(b, o->to, o->start, o->end, &s, &len)) < 0)
      return failed(rc);
    fwrite(s, 1, len, stdout);
    putchar('\n');
  } else if (o->json) {
    if ((rc = shmbuf_to_string(b, "hex", SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, &len)) < 0)
      return failed(rc);
    printf("{\"length\":%zu,\"byteOffset\":%zu,\"bufferByteLength\":%zu,\"pooled\":%s,"
           "\"arrayBuffer\":\"%016" PRIx64 "\",\"hex\":",
           shmbuf_length(b), shmbuf_byte_offset(b), shmbuf_buffer_byte_length(b),
           shmbuf_is_pooled(b) ? "true" : "false", shmbuf_arraybuffer_id(b));
    json_string(s);
    puts("}");
  } else {
    if ((rc = shmbuf_inspect(b, &s)) < 0)
      return failed(rc);
    puts(s);
  }
  shmbuf_free(s);
  return 0;
}

/* ---- buffer-making commands ------------------------------------------------------------------ */

typedef enum { CMD_ALLOC, CMD_UNSAFE, CMD_UNSAFE_SLOW, CMD_FROM } cmd_kind;

typedef struct make_args {
  cmd_kind kind;
  const char *enc;
  const char *fill;    /* --fill */
  bool fill_number;    /* --fill-number */
  double number;
  bool array;          /* from --array */
  output out;
} make_args;

/* A usage error in any argument stops a command before it makes its first buffer. */
static int check_arg(const make_args *m, const char *arg) {
  int64_t size;
  if (m->kind != CMD_FROM)
    return parse_int(arg, &size) ? 0 : usage_error("SIZE must be an integer: '%s'", arg);
  if (!m->array)
    return 0;
  double *v;
  long n = parse_array(arg, &v);
  if (n == -EINVAL)
    return usage_error("--array takes numbers separated by commas: '%s'", arg);
  if (n >= 0)
    free(v);
  return 0; /* out of memory is for make_one() to say */
}

static int make_one(session *s, const make_args *m, const char *arg) {
  shmbuf_buf *b = NULL;
  int rc;
  int64_t size = 0;
  if (m->kind != CMD_FROM)
    parse_int(arg, &size); /* check_arg() saw to it */
  if (m->kind == CMD_FROM && m->array) {
    double *v;
    long n = parse_array(arg, &v);
    if (n < 0) {
      fprintf(stderr, "shmbuf: out of memory\n");
      return EXIT_FAILED;
    }
    if ((rc = connect_once(s)) != 0) {
      free(v);
      return rc;
    }
    rc = shmbuf_from_array(s->c, v, (size_t)n, &b);
    free(v);
  } else {
    if ((rc = connect_once(s)) != 0)
      return rc;
    if (m->kind == CMD_FROM) {
      size_t len = strlen(arg);
      char *in = NULL;
      if (strcmp(arg, "-") == 0 && (arg = in = read_stdin(&len)) == NULL) {
        fprintf(stderr, "shmbuf: cannot read standard input\n");
        return EXIT_FAILED;
      }
      rc = shmbuf_from_string(s->c, arg, len, m->enc, &b);
      free(in);
    } else if (m->kind == CMD_UNSAFE)
      rc = shmbuf_alloc_unsafe(s->c, size, &b);
    else if (m->kind == CMD_UNSAFE_SLOW)
      rc = shmbuf_alloc_unsafe_slow(s->c, size, &b);
    else if (m->fill)
      rc = shmbuf_alloc_fill_string(s->c, size, m->fill, SHMBUF_CSTR, m->enc, &b);
    else if (m->fill_number)
      rc = shmbuf_alloc_fill_number(s->c, size, m->number, &b);
    else
      rc = shmbuf_alloc(s->c, size, &b);
  }
  if (rc < 0)
    return failed(rc);
  if ((rc = keep(s, b)) != 0)
    return rc;
  return print_buffer(b, &m->out);
}

/* The value of option `name` at argv[*i] ("--name V" or "--name=V"), or NULL when argv[*i] is
 * not that option. Sets *missing when the value is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, const char *alias,
                             bool *missing) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) == 0 && a[n] == '=')
    return a + n + 1;
  if (strcmp(a, name) != 0 && !(alias && strcmp(a, alias) == 0))
    return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

static int cmd_make(session *s, cmd_kind kind, int argc, char **argv) {
  make_args m = {.kind = kind, .out = {NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, false}};
  const char **args = calloc((size_t)argc + 1, sizeof *args);
  int nargs = 0, rc = 0;
  bool dashdash = false;
  if (args == NULL)
    return EXIT_FAILED;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    int64_t n;
    if (dashdash || a[0] != '-' || strcmp(a, "-") == 0 || parse_int(a, &n)) {
      args[nargs++] = a;
    } else if (strcmp(a, "--") == 0) {
      dashdash = true;
    } else if ((v = opt_value(argc, argv, &i, "--encoding", "-e", &missing))) {
      m.enc = v;
    } else if (kind == CMD_ALLOC && (v = opt_value(argc, argv, &i, "--fill", NULL, &missing))) {
      m.fill = v;
    } else if (kind == CMD_ALLOC &&
               (v = opt_value(argc, argv, &i, "--fill-number", NULL, &missing))) {
      if (!parse_number(v, &m.number)) {
        rc = usage_error("--fill-number takes a number: '%s'", v);
        break;
      }
      m.fill_number = true;
    } else if (kind == CMD_FROM && strcmp(a, "--array") == 0) {
      m.array = true;
    } else if ((v = opt_value(argc, argv, &i, "--to", NULL, &missing))) {
      m.out.to = v;
    } else if ((v = opt_value(argc, argv, &i, "--start", NULL, &missing))) {
      if (!parse_int(v, &m.out.start)) {
        rc = usage_error("--start takes an integer: '%s'", v);
        break;
      }
    } else if ((v = opt_value(argc, argv, &i, "--end", NULL, &missing))) {
      if (!parse_int(v, &m.out.end)) {
        rc = usage_error("--end takes an integer: '%s'", v);
        break;
      }
    } else if (strcmp(a, "--json") == 0) {
      m.out.json = true;
    } else {
      rc = usage_error(missing ? "option '%s' needs a value" : "unknown option '%s'", a);
      break;
    }
  }
  if (rc == 0 && m.fill && m.fill_number)
    rc = usage_error("--fill and --fill-number exclude each other");
  else if (rc == 0 && m.out.json && m.out.to)
    rc = usage_error("--json and --to exclude each other");
  else if (rc == 0 && (m.out.start != SHMBUF_UNDEFINED || m.out.end != SHMBUF_UNDEFINED) &&
           !m.out.to)
    rc = usage_error("--start and --end go with --to");
  else if (rc == 0 && nargs == 0)
    rc = usage_error(kind == CMD_FROM ? "from needs at least one STRING"
                                      : "this command needs at least one SIZE");
  for (int i = 0; rc == 0 && i < nargs; i++)
    rc = check_arg(&m, args[i]);
  for (int i = 0; rc == 0 && i < nargs; i++)
    rc = make_one(s, &m, args[i]);
  free(args);
  return rc;
}

/* ---- other commands --------------------------------------------------------------------------- */

static int cmd_byte_length(int argc, char **argv) {
  const char *enc = NULL;
  int nargs = 0;
  bool dashdash = false;
  for (int i = 0; i < argc; i++) {
    const char *v;
    bool missing = false;
    if (!dashdash && strcmp(argv[i], "--") == 0)
      dashdash = true;
    else if (!dashdash && argv[i][0] == '-' && argv[i][1] &&
             (v = opt_value(argc, argv, &i, "--encoding", "-e", &missing)))
      enc = v;
    else if (!dashdash && argv[i][0] == '-' && argv[i][1])
      return usage_error(missing ? "option '%s' needs a value" : "unknown option '%s'", argv[i]);
    else
      argv[nargs++] = argv[i];
  }
  if (nargs == 0)
    return usage_error("byte-length needs at least one STRING");
  for (int i = 0; i < nargs; i++) {
    size_t len = strlen(argv[i]), n;
    char *in = NULL;
    const char *str = argv[i];
    if (strcmp(str, "-") == 0 && (str = in = read_stdin(&len)) == NULL) {
      fprintf(stderr, "shmbuf: cannot read standard input\n");
      return EXIT_FAILED;
    }
    shmbuf_byte_length(str, len, enc, &n);
    free(in);
    printf("%zu\n", n);
  }
  return 0;
}

static int cmd_stats(session *s, int argc, char **argv) {
  bool json = false, prom = false;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else if (strcmp(argv[i], "--prometheus") == 0)
      prom = true;
    else
      return usage_error("stats takes --json or --prometheus, not '%s'", argv[i]);
  }
  if (json && prom)
    return usage_error("--json and --prometheus exclude each other");
  int rc = connect_once(s);
  if (rc != 0)
    return rc;
  shmbuf_counter *k;
  size_t n;
  if ((rc = shmbuf_stats(s->c, &k, &n)) < 0)
    return failed(rc);
  if (json)
    putchar('{');
  for (size_t i = 0; i < n; i++) {
    if (json)
      printf("%s\"%s\":%" PRIu64, i ? "," : "", k[i].name, k[i].value);
    else if (prom)
      printf("# HELP shmbuf_%s %s\n# TYPE shmbuf_%s %s\nshmbuf_%s %" PRIu64 "\n", k[i].name,
             k[i].help, k[i].name, k[i].gauge ? "gauge" : "counter", k[i].name, k[i].value);
    else
      printf("%-28s %" PRIu64 "\n", k[i].name, k[i].value);
  }
  if (json)
    puts("}");
  shmbuf_free(k);
  return 0;
}

/* Prints a label padded to 42 UTF-16 units, as String.prototype.padEnd counts. */
static void print_label(const char *label) {
  size_t units = 0;
  for (const unsigned char *p = (const unsigned char *)label; *p; p++)
    if ((*p & 0xc0) != 0x80)
      units += *p >= 0xf0 ? 2 : 1;
  printf("%s%*s ", label, units < 42 ? (int)(42 - units) : 0, "");
}

/* The examples client/demo.js prints with Node, made through shmbufd. */
static int demo_show(session *s, const char *label, int rc, shmbuf_buf *b, bool contents) {
  if (rc < 0)
    return failed(rc);
  if ((rc = keep(s, b)) != 0)
    return rc;
  print_label(label);
  if (contents) {
    char *text;
    if ((rc = shmbuf_inspect(b, &text)) < 0)
      return failed(rc);
    printf("%s  ", text);
    shmbuf_free(text);
  }
  printf("length=%zu  byteOffset=%zu  buffer.byteLength=%zu\n", shmbuf_length(b),
         shmbuf_byte_offset(b), shmbuf_buffer_byte_length(b));
  return 0;
}

static int demo_text(const shmbuf_buf *b, const char *label, const char *enc) {
  char *text;
  int rc = shmbuf_to_string(b, enc, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &text, NULL);
  if (rc < 0)
    return failed(rc);
  print_label(label);
  printf("%s\n", text);
  shmbuf_free(text);
  return 0;
}

static int cmd_demo(session *s) {
  int rc = connect_once(s);
  shmbuf_buf *b;
  static const double abcd[] = {97, 98, 99, 100}, odd[] = {257, 257.5, -255, 1};
  if (rc != 0)
    return rc;
#define SHOW(label, call, contents)                                                          \
  rc = (call);                                                                               \
  if ((rc = demo_show(s, label, rc, b, contents)) != 0)                                      \
    return rc;
  SHOW("Buffer.alloc(4)", shmbuf_alloc(s->c, 4, &b), true);
  SHOW("Buffer.from([97, 98, 99, 100])", shmbuf_from_array(s->c, abcd, 4, &b), true);
  SHOW("Buffer.allocUnsafe(4)", shmbuf_alloc_unsafe(s->c, 4, &b), false);
  SHOW("Buffer.from('abcd', 'utf-8')", shmbuf_from_string(s->c, "abcd", 4, "utf-8", &b), true);
  if ((rc = demo_text(b, "  .toString('hex')", "hex")) != 0)
    return rc;
  SHOW("Buffer.alloc(10, 1)", shmbuf_alloc_fill_number(s->c, 10, 1, &b), true);
  SHOW("Buffer.from([257, 257.5, -255, 1])", shmbuf_from_array(s->c, odd, 4, &b), true);
  SHOW("Buffer.from('tést')", shmbuf_from_string(s->c, "tést", SHMBUF_CSTR, NULL, &b), true);
  SHOW("Buffer.from('tést', 'latin1')",
       shmbuf_from_string(s->c, "tést", SHMBUF_CSTR, "latin1", &b), true);
  SHOW("Buffer.from('aGVsbG8gd29ybGQ=', 'base64')",
       shmbuf_from_string(s->c, "aGVsbG8gd29ybGQ=", SHMBUF_CSTR, "base64", &b), true);
  if ((rc = demo_text(b, "  .toString()", NULL)) != 0)
    return rc;
  if ((rc = shmbuf_alloc_unsafe_slow(s->c, 16, &b)) == 0)
    shmbuf_fill_number(b, 0x2a, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED);
  SHOW("Buffer.allocUnsafeSlow(16).fill(0x2a)", rc, true);
  SHOW("Buffer.alloc(60, 0xab)", shmbuf_alloc_fill_number(s->c, 60, 0xab, &b), true);
#undef SHOW
  return 0;
}

static int run_command(session *s, int argc, char **argv, bool in_batch);

/* Splits a line into words: blanks separate, quotes group ('...' literally, "..." with \\
 * escapes), a backslash outside single quotes escapes the next character. */
static int split_line(char *line, char ***out, int *count) {
  char **words = NULL;
  int n = 0;
  char *r = line, *w = line;
  for (;;) {
    while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
      r++;
    if (*r == '\0')
      break;
    char *start = w, q = 0;
    while (*r && (q || (*r != ' ' && *r != '\t' && *r != '\n' && *r != '\r'))) {
      if (!q && (*r == '\'' || *r == '"'))
        q = *r++;
      else if (q && *r == q) {
        q = 0;
        r++;
      } else if (*r == '\\' && q != '\'' && r[1])
        *w++ = *++r, r++;
      else
        *w++ = *r++;
    }
    if (q) {
      free(words);
      return -1;
    }
    bool at_end = *r == '\0';
    *w++ = '\0';
    if (!at_end)
      r++;
    char **more = realloc(words, (size_t)(n + 2) * sizeof *more);
    if (more == NULL) {
      free(words);
      return -1;
    }
    words = more;
    words[n++] = start;
    words[n] = NULL;
    if (at_end)
      break;
  }
  *out = words;
  *count = n;
  return 0;
}

static int cmd_batch(session *s) {
  char *line = NULL;
  size_t cap = 0;
  int worst = 0;
  unsigned no = 0;
  while (getline(&line, &cap, stdin) > 0) {
    no++;
    char **words;
    int n, rc;
    if (split_line(line, &words, &n) < 0)
      rc = usage_error("line %u: unbalanced quotes", no);
    else {
      rc = n == 0 || words[0][0] == '#' ? 0 : run_command(s, n, words, true);
      free(words);
    }
    if (rc > worst)
      worst = rc;
    fflush(stdout);
  }
  free(line);
  return worst;
}

static int run_command(session *s, int argc, char **argv, bool in_batch) {
  const char *cmd = argv[0];
  if (strcmp(cmd, "alloc") == 0)
    return cmd_make(s, CMD_ALLOC, argc - 1, argv + 1);
  if (strcmp(cmd, "alloc-unsafe") == 0)
    return cmd_make(s, CMD_UNSAFE, argc - 1, argv + 1);
  if (strcmp(cmd, "alloc-unsafe-slow") == 0)
    return cmd_make(s, CMD_UNSAFE_SLOW, argc - 1, argv + 1);
  if (strcmp(cmd, "from") == 0)
    return cmd_make(s, CMD_FROM, argc - 1, argv + 1);
  if (strcmp(cmd, "byte-length") == 0)
    return cmd_byte_length(argc - 1, argv + 1);
  if (strcmp(cmd, "stats") == 0)
    return cmd_stats(s, argc - 1, argv + 1);
  if (strcmp(cmd, "demo") == 0 && argc == 1)
    return cmd_demo(s);
  if (strcmp(cmd, "batch") == 0 && argc == 1 && !in_batch)
    return cmd_batch(s);
  return usage_error("unknown command or arguments: '%s'", cmd);
}

int main(int argc, char **argv) {
  session s = {0};
  int i = 1;
  /* each line out as it is made, so that an error on stderr comes after the output before it,
   * also when both go to one pipe */
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (; i < argc && argv[i][0] == '-'; i++) {
    bool missing = false;
    const char *v;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
      printf("shmbuf %s\n", shmbuf_version());
      return 0;
    }
    if ((v = opt_value(argc, argv, &i, "--socket", "-s", &missing)))
      s.socket = v;
    else
      return usage_error(missing ? "option '%s' needs a value" : "unknown option '%s'", argv[i]);
  }
  if (i >= argc)
    return usage_error("no command given");
  int rc = run_command(&s, argc - i, argv + i, false);
  fflush(stdout);
  for (size_t k = 0; k < s.nbufs; k++)
    shmbuf_release(s.bufs[k]);
  free(s.bufs);
  shmbuf_close(s.c);
  return rc;
}
