/* SPDX-License-Identifier: MIT */
/* shmbuf: the operators' and scripts' window onto shmbufd. A libshmbuf user like any other:
 * it links the public API only. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
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
    "  is-encoding NAME...                                       Buffer.isEncoding(NAME); needs "
    "no daemon\n"
    "  Operations on the buffers a run has made (in a batch), each named @N: the N-th made,\n"
    "  from @0 (@-1: the last). An option left out is undefined; numbers print as String().\n"
    "  show @N [--to ENC [--start N] [--end N] | --json]         print it as above\n"
    "  write @N STRING [--offset N] [--length N] [-e ENC]        buf.write(): bytes written\n"
    "  read-TYPE @N [--offset N] [--byte-length N]               buf.readTYPE(): the value\n"
    "  write-TYPE @N VALUE [--offset N] [--byte-length N]        buf.writeTYPE(): offset after it\n"
    "      TYPE: uint8, int8, uint16le, uint16be, int16le, ..., int32be, uintle, uintbe,\n"
    "      intle, intbe (--byte-length 1 to 6), floatle, floatbe, doublele, doublebe,\n"
    "      bigint64le, bigint64be, biguint64le, biguint64be\n"
    "  index-of|last-index-of|includes @N (STRING [-e ENC] | --number N | --buffer @M)\n"
    "      [--offset N]                                          the index, or true/false\n"
    "  copy @S @T [--target-start N] [--source-start N] [--source-end N]\n"
    "                                                            S.copy(T, ...): bytes copied\n"
    "  compare @S @T [--target-start N] [--target-end N] [--source-start N] [--source-end N]\n"
    "                                                            S.compare(T, ...): -1, 0 or 1\n"
    "  swap16|swap32|swap64 @N                                   swap in place, print the buffer\n"
    "  is-utf8|is-ascii @N                                       buffer.isUtf8(), isAscii()\n"
    "  transcode @N FROM TO [--to ENC ... | --json]              buffer.transcode(): a new buffer\n"
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

/* A number as JS's Number() reads it: one that overflows is an infinity, one that underflows
 * is as small as a double goes (5e-324 is a number), whatever errno says. */
static bool parse_number(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end)
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

/* ---- operations on the buffers of a run ------------------------------------------------------ */

/* "@N": the N-th buffer the run made, from 0, or counted from the end when negative. */
static int buffer_arg(const session *s, const char *arg, shmbuf_buf **out) {
  int64_t n;
  if (arg == NULL || arg[0] != '@' || !parse_int(arg + 1, &n))
    return usage_error("a buffer is @N, the N-th this run made (@0 the first, @-1 the last): "
                       "'%s'", arg ? arg : "");
  if (n < 0)
    n += (int64_t)s->nbufs;
  if (n < 0 || (uint64_t)n >= s->nbufs)
    return usage_error("no buffer %s: this run has made %zu", arg, s->nbufs);
  *out = s->bufs[n];
  return 0;
}

/* What an operation's arguments say; an option left out is undefined. */
typedef struct op_args {
  const char *pos[4];
  int npos;
  int64_t offset, length, byte_length, target_start, target_end, source_start, source_end;
  const char *enc, *number, *needle; /* -e, --number N, --buffer @M */
  output out;
} op_args;

/* The options an operation takes. */
#define O_OFFSET 1u
#define O_LENGTH 2u
#define O_BYTE_LENGTH 4u
#define O_RANGES 8u /* --target-start ... --source-end */
#define O_ENC 16u
#define O_NEEDLE 32u
#define O_OUTPUT 64u

static const struct {
  const char *name;
  unsigned flag;
  size_t at;
} INT_OPTIONS[] = {
    {"--offset", O_OFFSET, offsetof(op_args, offset)},
    {"--length", O_LENGTH, offsetof(op_args, length)},
    {"--byte-length", O_BYTE_LENGTH, offsetof(op_args, byte_length)},
    {"--target-start", O_RANGES, offsetof(op_args, target_start)},
    {"--target-end", O_RANGES, offsetof(op_args, target_end)},
    {"--source-start", O_RANGES, offsetof(op_args, source_start)},
    {"--source-end", O_RANGES, offsetof(op_args, source_end)},
    {"--start", O_OUTPUT, offsetof(op_args, out.start)},
    {"--end", O_OUTPUT, offsetof(op_args, out.end)},
};

/* Parses an operation's words after its name: `least` to `npos` arguments (numbers, -5 among
 * them, count as arguments; "--" ends the options) and the options `allowed`. */
static int parse_op(const char *cmd, int argc, char **argv, unsigned allowed, int least, int npos,
                    op_args *a) {
  *a = (op_args){.offset = SHMBUF_UNDEFINED, .length = SHMBUF_UNDEFINED,
                 .byte_length = SHMBUF_UNDEFINED, .target_start = SHMBUF_UNDEFINED,
                 .target_end = SHMBUF_UNDEFINED, .source_start = SHMBUF_UNDEFINED,
                 .source_end = SHMBUF_UNDEFINED, .out = {NULL, SHMBUF_UNDEFINED,
                                                         SHMBUF_UNDEFINED, false}};
  bool dashdash = false;
  for (int i = 0; i < argc; i++) {
    const char *x = argv[i], *v = NULL;
    bool missing = false, known = false;
    double number;
    if (dashdash || x[0] != '-' || strcmp(x, "-") == 0 || parse_number(x, &number)) {
      if (a->npos == npos)
        return usage_error("%s takes %d argument%s, not '%s'", cmd, npos, npos == 1 ? "" : "s",
                           x);
      a->pos[a->npos++] = x;
      continue;
    }
    if (strcmp(x, "--") == 0) {
      dashdash = true;
      continue;
    }
    for (size_t k = 0; !known && !missing && k < sizeof INT_OPTIONS / sizeof *INT_OPTIONS; k++)
      if ((allowed & INT_OPTIONS[k].flag) &&
          (v = opt_value(argc, argv, &i, INT_OPTIONS[k].name, NULL, &missing))) {
        if (!parse_int(v, (int64_t *)(void *)((char *)a + INT_OPTIONS[k].at)))
          return usage_error("%s takes an integer: '%s'", INT_OPTIONS[k].name, v);
        known = true;
      }
    if (known)
      continue;
    if ((allowed & O_ENC) && (v = opt_value(argc, argv, &i, "--encoding", "-e", &missing)))
      a->enc = v;
    else if ((allowed & O_NEEDLE) && (v = opt_value(argc, argv, &i, "--number", NULL, &missing)))
      a->number = v;
    else if ((allowed & O_NEEDLE) && (v = opt_value(argc, argv, &i, "--buffer", NULL, &missing)))
      a->needle = v;
    else if ((allowed & O_OUTPUT) && (v = opt_value(argc, argv, &i, "--to", NULL, &missing)))
      a->out.to = v;
    else if ((allowed & O_OUTPUT) && strcmp(x, "--json") == 0)
      a->out.json = true;
    else
      return usage_error(missing ? "option '%s' needs a value" : "unknown option '%s'", x);
  }
  if (a->npos < least)
    return usage_error("%s needs %d argument%s", cmd, least, least == 1 ? "" : "s");
  if (a->out.json && a->out.to)
    return usage_error("--json and --to exclude each other");
  if ((a->out.start != SHMBUF_UNDEFINED || a->out.end != SHMBUF_UNDEFINED) && !a->out.to)
    return usage_error("--start and --end go with --to");
  return 0;
}

/* A JS number as String() writes it: the shortest digits that read back, in plain notation
 * from 1e-6 up to 1e21, else as d.ddde+N. */
static void print_number(double v) {
  char e[40];
  int digits;
  if (isnan(v) || isinf(v) || v == 0) {
    puts(isnan(v) ? "NaN" : isinf(v) ? (v < 0 ? "-Infinity" : "Infinity") : "0");
    return;
  }
  for (digits = 1; digits < 17; digits++) {
    snprintf(e, sizeof e, "%.*e", digits - 1, v);
    if (strtod(e, NULL) == v)
      break;
  }
  snprintf(e, sizeof e, "%.*e", digits - 1, v);
  char *mark = strchr(e, 'e');
  int exponent = atoi(mark + 1);
  *mark = '\0';
  if (exponent < -6 || exponent >= 21) {
    printf("%se%c%d\n", e, exponent < 0 ? '-' : '+', abs(exponent));
  } else if (exponent < digits - 1) {
    printf("%.*f\n", digits - 1 - exponent, v);
  } else { /* an integer: its digits, then zeros */
    for (const char *c = e; *c; c++)
      if (*c != '.')
        putchar(*c);
    for (int zeros = exponent - digits + 1; zeros > 0; zeros--)
      putchar('0');
    putchar('\n');
  }
}

/* The typed reads and writes, by the name after read- and write-. */
typedef union typed_value {
  double number;
  int64_t big;
  uint64_t ubig;
} typed_value;

typedef enum { T_INTEGER, T_FLOAT, T_BIG, T_UBIG } typed_kind;

typedef struct typed_op {
  const char *name;
  typed_kind kind;
  bool variable; /* takes --byte-length */
  int (*read)(const shmbuf_buf *b, int64_t offset, int64_t byte_length, typed_value *out);
  int64_t (*write)(shmbuf_buf *b, typed_value v, int64_t offset, int64_t byte_length);
} typed_op;

/* Adapters to one signature: the value read goes to out->field, as a JS number for Numbers. */
#define TYPED_FIXED(fn, ctype, field, in)                                                    \
  static int read_##fn(const shmbuf_buf *b, int64_t offset, int64_t byte_length,             \
                       typed_value *out) {                                                   \
    ctype x = 0;                                                                             \
    int rc = shmbuf_read_##fn(b, offset, &x);                                                \
    (void)byte_length;                                                                       \
    out->field = x;                                                                          \
    return rc;                                                                               \
  }                                                                                          \
  static int64_t write_##fn(shmbuf_buf *b, typed_value v, int64_t offset, int64_t byte_length) { \
    (void)byte_length;                                                                       \
    return shmbuf_write_##fn(b, v.in, offset);                                               \
  }
#define TYPED_VARIABLE(fn, ctype)                                                            \
  static int read_##fn(const shmbuf_buf *b, int64_t offset, int64_t byte_length,             \
                       typed_value *out) {                                                   \
    ctype x = 0;                                                                             \
    int rc = shmbuf_read_##fn(b, offset, byte_length, &x);                                   \
    out->number = (double)x;                                                                 \
    return rc;                                                                               \
  }                                                                                          \
  static int64_t write_##fn(shmbuf_buf *b, typed_value v, int64_t offset, int64_t byte_length) { \
    return shmbuf_write_##fn(b, v.number, offset, byte_length);                              \
  }

TYPED_FIXED(uint8, uint8_t, number, number)
TYPED_FIXED(int8, int8_t, number, number)
TYPED_FIXED(uint16_le, uint16_t, number, number)
TYPED_FIXED(uint16_be, uint16_t, number, number)
TYPED_FIXED(int16_le, int16_t, number, number)
TYPED_FIXED(int16_be, int16_t, number, number)
TYPED_FIXED(uint32_le, uint32_t, number, number)
TYPED_FIXED(uint32_be, uint32_t, number, number)
TYPED_FIXED(int32_le, int32_t, number, number)
TYPED_FIXED(int32_be, int32_t, number, number)
TYPED_FIXED(float_le, float, number, number)
TYPED_FIXED(float_be, float, number, number)
TYPED_FIXED(double_le, double, number, number)
TYPED_FIXED(double_be, double, number, number)
TYPED_FIXED(big_int64_le, int64_t, big, big)
TYPED_FIXED(big_int64_be, int64_t, big, big)
TYPED_FIXED(big_uint64_le, uint64_t, ubig, ubig)
TYPED_FIXED(big_uint64_be, uint64_t, ubig, ubig)
TYPED_VARIABLE(uint_le, uint64_t)
TYPED_VARIABLE(uint_be, uint64_t)
TYPED_VARIABLE(int_le, int64_t)
TYPED_VARIABLE(int_be, int64_t)

static const typed_op TYPED_OPS[] = {
#define T(name, kind, variable, fn) {name, kind, variable, read_##fn, write_##fn}
    T("uint8", T_INTEGER, false, uint8),         T("int8", T_INTEGER, false, int8),
    T("uint16le", T_INTEGER, false, uint16_le),  T("uint16be", T_INTEGER, false, uint16_be),
    T("int16le", T_INTEGER, false, int16_le),    T("int16be", T_INTEGER, false, int16_be),
    T("uint32le", T_INTEGER, false, uint32_le),  T("uint32be", T_INTEGER, false, uint32_be),
    T("int32le", T_INTEGER, false, int32_le),    T("int32be", T_INTEGER, false, int32_be),
    T("uintle", T_INTEGER, true, uint_le),       T("uintbe", T_INTEGER, true, uint_be),
    T("intle", T_INTEGER, true, int_le),         T("intbe", T_INTEGER, true, int_be),
    T("floatle", T_FLOAT, false, float_le),      T("floatbe", T_FLOAT, false, float_be),
    T("doublele", T_FLOAT, false, double_le),    T("doublebe", T_FLOAT, false, double_be),
    T("bigint64le", T_BIG, false, big_int64_le), T("bigint64be", T_BIG, false, big_int64_be),
    T("biguint64le", T_UBIG, false, big_uint64_le),
    T("biguint64be", T_UBIG, false, big_uint64_be),
#undef T
};

static const typed_op *typed_of(const char *name) {
  for (size_t i = 0; i < sizeof TYPED_OPS / sizeof *TYPED_OPS; i++)
    if (strcmp(TYPED_OPS[i].name, name) == 0)
      return &TYPED_OPS[i];
  return NULL;
}

/* read-TYPE @N and write-TYPE @N VALUE */
static int cmd_typed(session *s, const typed_op *t, bool write, int argc, char **argv) {
  op_args a;
  shmbuf_buf *b;
  typed_value v = {0};
  int npos = write ? 2 : 1;
  int rc = parse_op(argv[0], argc - 1, argv + 1, O_OFFSET | (t->variable ? O_BYTE_LENGTH : 0),
                    npos, npos, &a);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &b)) != 0)
    return rc;
  if (write && t->kind == T_UBIG) {
    char *end;
    errno = 0;
    v.ubig = strtoull(a.pos[1], &end, 10);
    if (errno || end == a.pos[1] || *end || a.pos[1][0] == '-')
      return usage_error("%s takes an integer from 0 to 2 ** 64 - 1: '%s'", argv[0], a.pos[1]);
  } else if (write && t->kind == T_BIG && !parse_int(a.pos[1], &v.big)) {
    return usage_error("%s takes an integer from -(2 ** 63) to 2 ** 63 - 1: '%s'", argv[0],
                       a.pos[1]);
  } else if (write && t->kind != T_BIG && !parse_number(a.pos[1], &v.number)) {
    return usage_error("%s takes a number: '%s'", argv[0], a.pos[1]);
  }
  if (write) {
    int64_t at = t->write(b, v, a.offset, a.byte_length);
    if (at < 0)
      return failed((int)at);
    printf("%" PRId64 "\n", at);
    return 0;
  }
  if ((rc = t->read(b, a.offset, a.byte_length, &v)) < 0)
    return failed(rc);
  if (t->kind == T_BIG)
    printf("%" PRId64 "\n", v.big);
  else if (t->kind == T_UBIG)
    printf("%" PRIu64 "\n", v.ubig);
  else
    print_number(v.number);
  return 0;
}

/* write @N STRING */
static int cmd_write(session *s, int argc, char **argv) {
  op_args a;
  shmbuf_buf *b;
  int rc = parse_op(argv[0], argc - 1, argv + 1, O_OFFSET | O_LENGTH | O_ENC, 2, 2, &a);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &b)) != 0)
    return rc;
  int64_t n = shmbuf_write_string(b, a.pos[1], SHMBUF_CSTR, a.offset, a.length, a.enc);
  if (n < 0)
    return failed((int)n);
  printf("%" PRId64 "\n", n);
  return 0;
}

/* index-of, last-index-of, includes @N (STRING | --number N | --buffer @M) */
static int cmd_search(session *s, int argc, char **argv) {
  op_args a;
  shmbuf_buf *b, *needle = NULL;
  double number = 0;
  int rc = parse_op(argv[0], argc - 1, argv + 1, O_OFFSET | O_ENC | O_NEEDLE, 1, 2, &a);
  bool string = a.npos == 2;
  if (rc == 0 && (string + !!a.number + !!a.needle) != 1)
    rc = usage_error("%s looks for one STRING, --number N or --buffer @M", argv[0]);
  if (rc == 0 && a.number && !parse_number(a.number, &number))
    rc = usage_error("--number takes a number: '%s'", a.number);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &b)) != 0 ||
      (a.needle && (rc = buffer_arg(s, a.needle, &needle)) != 0))
    return rc;
  int64_t at = -1;
  bool includes = strcmp(argv[0], "includes") == 0, last = strcmp(argv[0], "last-index-of") == 0;
  if (a.number && includes)
    rc = shmbuf_includes_number(b, number, a.offset);
  else if (a.number)
    rc = (last ? shmbuf_last_index_of_number : shmbuf_index_of_number)(b, number, a.offset, &at);
  else if (needle && includes)
    rc = shmbuf_includes_bytes(b, shmbuf_data(needle), shmbuf_length(needle), a.offset, a.enc);
  else if (needle)
    rc = (last ? shmbuf_last_index_of_bytes : shmbuf_index_of_bytes)(
        b, shmbuf_data(needle), shmbuf_length(needle), a.offset, a.enc, &at);
  else if (includes)
    rc = shmbuf_includes_string(b, a.pos[1], SHMBUF_CSTR, a.offset, a.enc);
  else
    rc = (last ? shmbuf_last_index_of_string : shmbuf_index_of_string)(b, a.pos[1], SHMBUF_CSTR,
                                                                        a.offset, a.enc, &at);
  if (rc < 0)
    return failed(rc);
  if (includes)
    puts(rc ? "true" : "false");
  else
    printf("%" PRId64 "\n", at);
  return 0;
}

/* copy @S @T and compare @S @T */
static int cmd_range(session *s, int argc, char **argv) {
  op_args a;
  shmbuf_buf *src, *dst;
  int rc = parse_op(argv[0], argc - 1, argv + 1, O_RANGES, 2, 2, &a);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &src)) != 0 ||
      (rc = buffer_arg(s, a.pos[1], &dst)) != 0)
    return rc;
  if (strcmp(argv[0], "copy") == 0) {
    if (a.target_end != SHMBUF_UNDEFINED)
      return usage_error("copy takes no --target-end");
    int64_t n = shmbuf_copy(src, dst, a.target_start, a.source_start, a.source_end);
    if (n < 0)
      return failed((int)n);
    printf("%" PRId64 "\n", n);
    return 0;
  }
  int order;
  if ((rc = shmbuf_compare_range(src, dst, a.target_start, a.target_end, a.source_start,
                                 a.source_end, &order)) < 0)
    return failed(rc);
  printf("%d\n", order);
  return 0;
}

/* show, swap16/32/64, is-utf8, is-ascii @N; transcode @N FROM TO */
static int cmd_buffer(session *s, int argc, char **argv) {
  const char *cmd = argv[0];
  bool transcode = strcmp(cmd, "transcode") == 0, show = strcmp(cmd, "show") == 0;
  op_args a;
  shmbuf_buf *b;
  int npos = transcode ? 3 : 1;
  int rc = parse_op(cmd, argc - 1, argv + 1, transcode || show ? O_OUTPUT : 0, npos, npos, &a);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &b)) != 0)
    return rc;
  if (strncmp(cmd, "is-", 3) == 0) {
    bool utf8 = strcmp(cmd, "is-utf8") == 0;
    int r = utf8 ? shmbuf_is_utf8(shmbuf_data(b), shmbuf_length(b))
                 : shmbuf_is_ascii(shmbuf_data(b), shmbuf_length(b));
    puts(r ? "true" : "false");
    return 0;
  }
  if (transcode) {
    shmbuf_buf *t;
    if ((rc = connect_once(s)) != 0)
      return rc;
    if ((rc = shmbuf_transcode(s->c, shmbuf_data(b), shmbuf_length(b), a.pos[1], a.pos[2],
                               &t)) < 0)
      return failed(rc);
    if ((rc = keep(s, t)) != 0)
      return rc;
    b = t;
  } else if (!show) {
    rc = strcmp(cmd, "swap16") == 0   ? shmbuf_swap16(b)
         : strcmp(cmd, "swap32") == 0 ? shmbuf_swap32(b)
                                      : shmbuf_swap64(b);
    if (rc < 0)
      return failed(rc);
  }
  return print_buffer(b, &a.out);
}

static int cmd_is_encoding(int argc, char **argv) {
  if (argc == 0)
    return usage_error("is-encoding needs at least one NAME");
  for (int i = 0; i < argc; i++)
    puts(shmbuf_is_encoding(argv[i]) ? "true" : "false");
  return 0;
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
  shmbuf_stats *st;
  if ((rc = shmbuf_stats_get(s->c, &st)) < 0)
    return failed(rc);
  if (json)
    putchar('{');
  for (size_t i = 0; i < shmbuf_stats_count(st); i++) {
    const char *name = shmbuf_stats_name(st, i);
    uint64_t value = shmbuf_stats_value(st, i);
    if (json)
      printf("%s\"%s\":%" PRIu64, i ? "," : "", name, value);
    else if (prom)
      printf("# HELP shmbuf_%s %s\n# TYPE shmbuf_%s %s\nshmbuf_%s %" PRIu64 "\n", name,
             shmbuf_stats_help(st, i), name, shmbuf_stats_is_gauge(st, i) ? "gauge" : "counter",
             name, value);
    else
      printf("%-28s %" PRIu64 "\n", name, value);
  }
  if (json)
    puts("}");
  shmbuf_stats_free(st);
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
  if (strcmp(cmd, "is-encoding") == 0)
    return cmd_is_encoding(argc - 1, argv + 1);
  if (strcmp(cmd, "write") == 0)
    return cmd_write(s, argc, argv);
  if (strncmp(cmd, "read-", 5) == 0 && typed_of(cmd + 5))
    return cmd_typed(s, typed_of(cmd + 5), false, argc, argv);
  if (strncmp(cmd, "write-", 6) == 0 && typed_of(cmd + 6))
    return cmd_typed(s, typed_of(cmd + 6), true, argc, argv);
  if (strcmp(cmd, "index-of") == 0 || strcmp(cmd, "last-index-of") == 0 ||
      strcmp(cmd, "includes") == 0)
    return cmd_search(s, argc, argv);
  if (strcmp(cmd, "copy") == 0 || strcmp(cmd, "compare") == 0)
    return cmd_range(s, argc, argv);
  if (strcmp(cmd, "show") == 0 || strcmp(cmd, "transcode") == 0 || strcmp(cmd, "swap16") == 0 ||
      strcmp(cmd, "swap32") == 0 || strcmp(cmd, "swap64") == 0 || strcmp(cmd, "is-utf8") == 0 ||
      strcmp(cmd, "is-ascii") == 0)
    return cmd_buffer(s, argc, argv);
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
