/* SPDX-License-Identifier: MIT */
/* shmbuf: the operators' and scripts' window onto shmbufd. A libshmbuf user like any other:
 * it links the public API only. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmbuf.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* ---- help -------------------------------------------------------------------------------------
 * Every line of help fits in 80 columns. */

static const char overview[] =
    "Usage: shmbuf [-s PATH] COMMAND [ARG]...\n"
    "Make Node.js Buffers through shmbufd, and look into the daemon.\n"
    "\n"
    "Making buffers (each SIZE or STRING makes one, all on one connection):\n"
    "  alloc [--fill STRING [-e ENC] | --fill-number N] SIZE...\n"
    "                           Buffer.alloc(SIZE[, fill[, ENC]])\n"
    "  alloc-unsafe SIZE...     Buffer.allocUnsafe(SIZE)\n"
    "  alloc-unsafe-slow SIZE...\n"
    "                           Buffer.allocUnsafeSlow(SIZE)\n"
    "  from [-e ENC] STRING...  Buffer.from(STRING, ENC); \"-\" reads standard input\n"
    "  from --array N[,N...]... Buffer.from([N, ...])\n"
    "    Each prints util.inspect(buf); --to ENC [--start N] [--end N] prints\n"
    "    buf.toString(ENC, start, end) instead, and --json the buffer as JSON.\n"
    "\n"
    "Without a daemon:\n"
    "  byte-length [-e ENC] STRING...\n"
    "                           Buffer.byteLength(STRING, ENC)\n"
    "  is-encoding NAME...      Buffer.isEncoding(NAME)\n"
    "\n"
    "Several commands on one connection:\n"
    "  batch                    run the commands on standard input, one a line;\n"
    "                           these act on the buffers made so far (@0, @1, ...):\n"
    "    show write read-TYPE write-TYPE index-of last-index-of includes copy\n"
    "    compare swap16 swap32 swap64 is-utf8 is-ascii transcode\n"
    "\n"
    "Sharing with other processes:\n"
    "  put [--ttl DURATION] [--writable] [-e ENC] (STRING | --file FILE | -)\n"
    "                           put bytes in shared memory; prints their token\n"
    "  get TOKEN [--raw | --hex | -e ENC | --inspect]\n"
    "                           print the bytes a token shares\n"
    "  shares [--json | --prometheus]\n"
    "                           the live shares (tokens only of your own)\n"
    "\n"
    "The daemon:\n"
    "  stats [--json | --prometheus | --interval SECONDS [--count N]]\n"
    "                           its counters, once or live with rates per second\n"
    "  clients [--json]         its connections: process, user, memory, requests\n"
    "  version                  the versions of shmbuf, libshmbuf and shmbufd\n"
    "  demo                     a dozen Buffer calls made through the daemon,\n"
    "                           printed as Node v20 prints them\n"
    "\n"
    "  help [COMMAND]           this text, or all about one command\n"
    "\n"
    "Options, before or after the command:\n"
    "  -s, --socket PATH        the daemon's socket (default: $SHMBUF_SOCKET, else\n"
    "                           your own daemon's, else the system's)\n"
    "  -h, --help               show this help, or the command's\n"
    "  -V, --version            show the version of shmbuf\n";

/* What the commands that print buffers add to their help. */
static const char output_options[] =
    "\n"
    "Each buffer prints one line: util.inspect(buf), e.g. <Buffer 61 62 63 64>, or\n"
    "  --to ENC            buf.toString(ENC, start, end)\n"
    "  --start N, --end N  where --to starts and ends\n"
    "  --json              {\"length\":4,\"byteOffset\":0,\"bufferByteLength\":8192,\n"
    "                      \"pooled\":true,\"arrayBuffer\":ID,\"hex\":\"61626364\"},\n"
    "                      ID equal for buffers that share an ArrayBuffer\n";

typedef struct command_help {
  const char *names; /* the command, or the commands that share this help, blank-separated */
  bool output;       /* it prints buffers: output_options follow */
  const char *text;
} command_help;

static const command_help HELP[] = {
    {"alloc", true,
     "Usage: shmbuf alloc [OPTION]... SIZE...\n"
     "Buffer.alloc(SIZE[, fill[, encoding]]) for each SIZE, in order: a buffer of its\n"
     "own, zero-filled unless a fill is given.\n"
     "\n"
     "  --fill STRING       fill with STRING, in the encoding -e names\n"
     "  -e, --encoding ENC  the fill's encoding (default utf8)\n"
     "  --fill-number N     fill with the byte N & 255\n"},
    {"alloc-unsafe", true,
     "Usage: shmbuf alloc-unsafe [OPTION]... SIZE...\n"
     "Buffer.allocUnsafe(SIZE) for each SIZE, in order: from the connection's pool\n"
     "when 0 < SIZE < poolSize / 2, else a buffer of its own. The bytes are not\n"
     "initialised, but never hold another program's data.\n"},
    {"alloc-unsafe-slow", true,
     "Usage: shmbuf alloc-unsafe-slow [OPTION]... SIZE...\n"
     "Buffer.allocUnsafeSlow(SIZE) for each SIZE, in order: always a buffer of its\n"
     "own, not initialised.\n"},
    {"from", true,
     "Usage: shmbuf from [OPTION]... STRING...\n"
     "       shmbuf from --array [OPTION]... N[,N...]...\n"
     "Buffer.from(STRING, encoding) for each STRING, in order; \"-\" reads standard\n"
     "input to its end as one string. With --array, Buffer.from([N, ...]) for each\n"
     "list: each byte is N as a Uint8Array stores it (257 is 1, -255 is 1).\n"
     "\n"
     "  -e, --encoding ENC  the strings' encoding (default utf8)\n"
     "  --array             the arguments are lists of numbers\n"},
    {"byte-length", false,
     "Usage: shmbuf byte-length [-e ENC] STRING...\n"
     "Buffer.byteLength(STRING, encoding), one number a line; \"-\" reads standard\n"
     "input. Needs no daemon.\n"
     "\n"
     "  -e, --encoding ENC  the encoding (default utf8)\n"},
    {"is-encoding", false,
     "Usage: shmbuf is-encoding NAME...\n"
     "Buffer.isEncoding(NAME): true or false, one a line. Needs no daemon.\n"},
    {"batch", false,
     "Usage: shmbuf batch\n"
     "Runs the commands on standard input, one a line, all on one connection, so\n"
     "that pool placement carries on from one to the next as in one Node process.\n"
     "Blanks separate words, '...' and \"...\" quote, a backslash escapes the next\n"
     "character; lines that start with # are skipped. The exit status is the worst\n"
     "of the lines'.\n"
     "\n"
     "The buffers made so far are @0, @1, ... in order (@-1 is the last one); these\n"
     "commands act on them (shmbuf help COMMAND tells more):\n"
     "  show write read-TYPE write-TYPE index-of last-index-of includes copy\n"
     "  compare swap16 swap32 swap64 is-utf8 is-ascii transcode\n"
     "An option left out is undefined, as an argument left out in Node.\n"
     "\n"
     "Example:\n"
     "  printf 'alloc 8\\nwrite-doublebe @0 0.1\\nread-uint32be @0\\n' | shmbuf batch\n"},
    {"show", true,
     "Usage: shmbuf show @N [OPTION]...\n"
     "Prints buffer @N of the batch the way the commands that make buffers do.\n"},
    {"write", false,
     "Usage: shmbuf write @N STRING [--offset N] [--length N] [-e ENC]\n"
     "buf.write(STRING, offset, length, encoding): prints how many bytes it wrote.\n"},
    {"read-TYPE write-TYPE", false,
     "Usage: shmbuf read-TYPE @N [--offset N] [--byte-length N]\n"
     "       shmbuf write-TYPE @N VALUE [--offset N] [--byte-length N]\n"
     "buf.readTYPE(offset) prints the value; buf.writeTYPE(VALUE, offset) prints the\n"
     "offset after it. TYPE is the method's name in lower case:\n"
     "  uint8 int8 uint16le uint16be int16le int16be uint32le uint32be int32le\n"
     "  int32be floatle floatbe doublele doublebe bigint64le bigint64be\n"
     "  biguint64le biguint64be, and uintle uintbe intle intbe, which take\n"
     "  --byte-length (1 to 6).\n"
     "Numbers print as JavaScript's String() prints them.\n"},
    {"index-of last-index-of includes", false,
     "Usage: shmbuf index-of @N (STRING [-e ENC] | --number N | --buffer @M)\n"
     "                 [--offset N]\n"
     "       shmbuf last-index-of ... and shmbuf includes ..., the same way\n"
     "buf.indexOf() and buf.lastIndexOf() print the index, or -1; buf.includes()\n"
     "prints true or false. What they look for is a string, a number, or the bytes\n"
     "of buffer @M.\n"},
    {"copy", false,
     "Usage: shmbuf copy @S @T [--target-start N] [--source-start N]\n"
     "                        [--source-end N]\n"
     "S.copy(T, targetStart, sourceStart, sourceEnd): prints how many bytes it\n"
     "copied.\n"},
    {"compare", false,
     "Usage: shmbuf compare @S @T [--target-start N] [--target-end N]\n"
     "                           [--source-start N] [--source-end N]\n"
     "S.compare(T, targetStart, targetEnd, sourceStart, sourceEnd): -1, 0 or 1.\n"},
    {"swap16 swap32 swap64", false,
     "Usage: shmbuf swap16 @N, shmbuf swap32 @N, shmbuf swap64 @N\n"
     "buf.swap16(), swap32(), swap64(): swap the bytes in place, then print the\n"
     "buffer.\n"},
    {"is-utf8 is-ascii", false,
     "Usage: shmbuf is-utf8 @N, shmbuf is-ascii @N\n"
     "buffer.isUtf8(buf), buffer.isAscii(buf): true or false.\n"},
    {"transcode", true,
     "Usage: shmbuf transcode @N FROM TO [OPTION]...\n"
     "buffer.transcode(buf, FROM, TO): a new buffer of the batch, printed like the\n"
     "others. FROM and TO: utf8, utf16le (ucs2), latin1 (binary), ascii.\n"},
    {"stats", false,
     "Usage: shmbuf stats [--json | --prometheus]\n"
     "       shmbuf stats --interval SECONDS [--count N] [--json]\n"
     "The daemon's counters: a \"name value\" line each (sizes in KiB, MiB, GiB too),\n"
     "one JSON object, or the Prometheus text format.\n"
     "\n"
     "  --json              {\"name\":value,...} on one line\n"
     "  --prometheus        for a Prometheus scrape: the daemon's counters (not\n"
     "                      the session_* ones of this command's own connection)\n"
     "                      and shmbuf_build_info{version=\"...\"} 1\n"
     "  --interval SECONDS  every SECONDS (0.5 will do), the counters in KiB, MiB\n"
     "                      and GiB, and each running total's rate per second,\n"
     "                      until interrupted; with --json, an object a line\n"
     "  --count N           stop after N rounds\n"},
    {"clients", false,
     "Usage: shmbuf clients [--json]\n"
     "The daemon's connections: the process that connected (pid, user, command),\n"
     "its live buffers and their bytes, its shared-memory objects (slabs), how long\n"
     "it has been connected, and how many requests it has made. Root and the\n"
     "daemon's own user see every connection, other users their own.\n"
     "\n"
     "  --json   a JSON array of {\"pid\", \"uid\", \"command\", \"buffers\", \"bytes\",\n"
     "           \"reserved_bytes\", \"slabs\", \"age_ms\", \"requests\"}\n"},
    {"put", false,
     "Usage: shmbuf put [OPTION]... (STRING | --file FILE | -)\n"
     "Puts bytes in shared memory for other processes and prints the token that\n"
     "imports them (shmbuf get, shmbuf_import()). The share outlives this command,\n"
     "until its TTL, charged to your user meanwhile.\n"
     "\n"
     "  --ttl DURATION      how long the token imports: 90, 90s, 15m, 2h, 7d, 500ms\n"
     "                      (default 1h)\n"
     "  --read-only         importers may only read (the default)\n"
     "  --writable          importers may write too\n"
     "  -e, --encoding ENC  STRING's encoding, as Buffer.from(STRING, ENC) takes it\n"
     "                      (default utf8)\n"
     "  --file FILE         the bytes of FILE; - reads standard input\n"},
    {"get", false,
     "Usage: shmbuf get TOKEN [--raw | --hex | -e ENC | --inspect]\n"
     "Imports a token and prints the bytes: as they are (--raw, the default), in hex,\n"
     "decoded as buf.toString(ENC) does (a newline follows), or as util.inspect().\n"},
    {"shares", false,
     "Usage: shmbuf shares [--json | --prometheus]\n"
     "The live shares: the exporter's user and pid (0 once it has gone), the size,\n"
     "read-only or writable, sealed, single-use, persisting, how many connections\n"
     "import it, its age and the TTL left. A token shows only to its exporter's\n"
     "user.\n"
     "\n"
     "  --json        a JSON array of {\"token\" (or null), \"uid\", \"pid\", \"length\",\n"
     "                \"writable\", \"sealed\", \"single_use\", \"persist\",\n"
     "                \"importers\", \"age_ms\", \"ttl_ms\"}\n"
     "  --prometheus  shares, their bytes and their importers, per user\n"},
    {"version", false,
     "Usage: shmbuf version\n"
     "The versions of shmbuf, of the libshmbuf it runs with, and of the daemon, with\n"
     "the protocol they speak. shmbuf --version shows the first alone, and needs no\n"
     "daemon.\n"},
    {"demo", false,
     "Usage: shmbuf demo\n"
     "Makes a dozen buffers through the daemon (Buffer.alloc, from, allocUnsafe,\n"
     "toString, with fills and encodings) and prints them as Node v20 prints them.\n"},
    {"help", false,
     "Usage: shmbuf help [COMMAND]\n"
     "The commands in short, or all about one; shmbuf COMMAND --help does the same.\n"},
};

/* The command parsed at the moment, which usage errors name. */
static const char *topic;

/* The connection, opened on first use and shared by every command of a run. */
typedef struct session {
  const char *socket; /* as given, or NULL for the default */
  shmbuf_client *c;
  shmbuf_buf **bufs;  /* every buffer made, kept until the end so pool placement carries on */
  size_t nbufs, cap;
} session;

/* A usage error: what is wrong, in the command being parsed, and where help is. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "shmbuf: %s%s", topic ? topic : "", topic ? ": " : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'shmbuf help%s%s' for more information.\n", topic ? " " : "",
          topic ? topic : "");
  return EXIT_USAGE;
}

/* An option that is not one, or that lacks its value. */
static int bad_option(const char *option, bool missing) {
  return usage_error(missing ? "option '%s' needs a value" : "unknown option '%s'", option);
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

/* The socket the session uses, for messages. */
static const char *socket_path(const session *s, char *out, size_t cap) {
  if (s->socket)
    snprintf(out, cap, "%s", s->socket);
  else if (shmbuf_default_socket(out, cap) < 0)
    snprintf(out, cap, "(the default path, which is too long)");
  return out;
}

/* The socket's file mode kept this user out: say who may use it, and how to become one. */
static void denied_by_mode(const char *path) {
  struct stat st;
  fprintf(stderr, "shmbuf: no permission to use %s\n", path);
  if (stat(path, &st) < 0)
    return; /* a directory on the way is closed: nothing more to tell */
  const struct group *g = getgrgid(st.st_gid);
  const struct passwd *pw = getpwuid(st.st_uid);
  char owner[32], group[32];
  snprintf(owner, sizeof owner, "%s", pw ? pw->pw_name : "");
  snprintf(group, sizeof group, "%s", g ? g->gr_name : "");
  if (!owner[0])
    snprintf(owner, sizeof owner, "uid %u", (unsigned)st.st_uid);
  if ((st.st_mode & 0060) == 0060 && group[0])
    fprintf(stderr,
            "shmbuf: the socket (mode %04o) lets in %s and the group %s; to join the group:\n"
            "  sudo usermod -aG %s $USER    and log out and in again (or: newgrp %s)\n",
            (unsigned)(st.st_mode & 07777), owner, group, group, group);
  else
    fprintf(stderr,
            "shmbuf: the socket (mode %04o) lets in %s alone; run a daemon of your own\n"
            "  (systemctl --user enable --now shmbufd.socket) or pass -s PATH\n",
            (unsigned)(st.st_mode & 07777), owner);
}

/* Says why connecting failed, naming the socket. */
static int connect_failed(const session *s, int rc) {
  char path[256];
  const char *code = shmbuf_error_code(), *msg = shmbuf_error_message();
  socket_path(s, path, sizeof path);
  if (rc == -ENOENT || rc == -ECONNREFUSED)
    fprintf(stderr, "shmbuf: no shmbufd is listening on %s (%s); start it, or pass -s PATH\n",
            path, shmbuf_strerror(rc));
  else if (rc == -EACCES && code && strcmp(code, "ERR_SHMBUF_CONNECT") == 0)
    denied_by_mode(path);
  else if (rc == -EACCES)
    fprintf(stderr, "shmbuf: shmbufd at %s does not let this user in (allow_users, "
            "allow_groups): %s\n", path, msg ? msg : shmbuf_strerror(rc));
  else
    fprintf(stderr, "shmbuf: cannot use shmbufd at %s: %s\n", path,
            msg ? msg : shmbuf_strerror(rc));
  return EXIT_FAILED;
}

static int connect_once(session *s) {
  if (s->c)
    return 0;
  /* thin: each buffer the CLI makes is a request the daemon sees and counts */
  int rc = shmbuf_connect_ex(s->socket, SHMBUF_THIN, &s->c);
  return rc == 0 ? 0 : connect_failed(s, rc);
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
    return parse_int(arg, &size) ? 0 : usage_error("SIZE must be an integer, not '%s'", arg);
  if (!m->array)
    return 0;
  double *v;
  long n = parse_array(arg, &v);
  if (n == -EINVAL)
    return usage_error("--array takes numbers separated by commas, not '%s'", arg);
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
        rc = usage_error("--fill-number takes a number, not '%s'", v);
        break;
      }
      m.fill_number = true;
    } else if (kind == CMD_FROM && strcmp(a, "--array") == 0) {
      m.array = true;
    } else if ((v = opt_value(argc, argv, &i, "--to", NULL, &missing))) {
      m.out.to = v;
    } else if ((v = opt_value(argc, argv, &i, "--start", NULL, &missing))) {
      if (!parse_int(v, &m.out.start)) {
        rc = usage_error("--start takes an integer, not '%s'", v);
        break;
      }
    } else if ((v = opt_value(argc, argv, &i, "--end", NULL, &missing))) {
      if (!parse_int(v, &m.out.end)) {
        rc = usage_error("--end takes an integer, not '%s'", v);
        break;
      }
    } else if (strcmp(a, "--json") == 0) {
      m.out.json = true;
    } else {
      rc = bad_option(a, missing);
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
    rc = usage_error(kind == CMD_FROM && m.array ? "missing argument N[,N...]"
                     : kind == CMD_FROM              ? "missing argument STRING"
                                                     : "missing argument SIZE");
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
    return usage_error("a buffer is @N, the N-th made so far (@0 the first, @-1 the last), "
                       "not '%s'", arg ? arg : "");
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

/* The k-th word of an operation's argument names ("@N STRING"), for messages. */
static const char *arg_name(const char *names, int k, char *out, size_t cap) {
  for (; k > 0 && strchr(names, ' '); k--)
    names = strchr(names, ' ') + 1;
  snprintf(out, cap, "%.*s", (int)strcspn(names, " "), names);
  return out;
}

/* Parses an operation's words after its name: `least` to `npos` arguments, called `names`
 * (numbers, -5 among them, count as arguments; "--" ends the options), and the options
 * `allowed`. */
static int parse_op(const char *names, int argc, char **argv, unsigned allowed, int least,
                    int npos, op_args *a) {
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
        return usage_error("one argument too many: '%s' (the arguments are %s)", x, names);
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
          return usage_error("%s takes an integer, not '%s'", INT_OPTIONS[k].name, v);
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
      return bad_option(x, missing);
  }
  char name[16];
  if (a->npos < least)
    return usage_error("missing argument %s", arg_name(names, a->npos, name, sizeof name));
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
  int rc = parse_op(write ? "@N VALUE" : "@N", argc - 1, argv + 1,
                    O_OFFSET | (t->variable ? O_BYTE_LENGTH : 0), npos, npos, &a);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &b)) != 0)
    return rc;
  if (write && t->kind == T_UBIG) {
    char *end;
    errno = 0;
    v.ubig = strtoull(a.pos[1], &end, 10);
    if (errno || end == a.pos[1] || *end || a.pos[1][0] == '-')
      return usage_error("VALUE must be an integer from 0 to 2 ** 64 - 1, not '%s'", a.pos[1]);
  } else if (write && t->kind == T_BIG && !parse_int(a.pos[1], &v.big)) {
    return usage_error("VALUE must be an integer from -(2 ** 63) to 2 ** 63 - 1, not '%s'",
                       a.pos[1]);
  } else if (write && t->kind != T_BIG && !parse_number(a.pos[1], &v.number)) {
    return usage_error("VALUE must be a number, not '%s'", a.pos[1]);
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
  int rc = parse_op("@N STRING", argc - 1, argv + 1, O_OFFSET | O_LENGTH | O_ENC, 2, 2, &a);
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
  int rc = parse_op("@N STRING", argc - 1, argv + 1, O_OFFSET | O_ENC | O_NEEDLE, 1, 2, &a);
  bool string = a.npos == 2;
  if (rc == 0 && (string + !!a.number + !!a.needle) != 1)
    rc = usage_error("give one of STRING, --number N or --buffer @M to look for");
  if (rc == 0 && a.number && !parse_number(a.number, &number))
    rc = usage_error("--number takes a number, not '%s'", a.number);
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
  int rc = parse_op("@S @T", argc - 1, argv + 1, O_RANGES, 2, 2, &a);
  if (rc != 0 || (rc = buffer_arg(s, a.pos[0], &src)) != 0 ||
      (rc = buffer_arg(s, a.pos[1], &dst)) != 0)
    return rc;
  if (strcmp(argv[0], "copy") == 0) {
    if (a.target_end != SHMBUF_UNDEFINED)
      return usage_error("unknown option '--target-end' (copy takes no end in the target)");
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
  int rc = parse_op(transcode ? "@N FROM TO" : "@N", argc - 1, argv + 1,
                    transcode || show ? O_OUTPUT : 0, npos, npos, &a);
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
    return usage_error("missing argument NAME");
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
      return bad_option(argv[i], missing);
    else
      argv[nargs++] = argv[i];
  }
  if (nargs == 0)
    return usage_error("missing argument STRING");
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

/* ---- the daemon ------------------------------------------------------------------------------- */

/* Takes no arguments: 0, or a usage error naming the first. */
static int no_arguments(int argc, char **argv) {
  if (argc == 0)
    return 0;
  if (argv[0][0] == '-' && argv[0][1])
    return bad_option(argv[0], false);
  return usage_error("takes no arguments, not '%s'", argv[0]);
}

/* Bytes for people, in powers of 1024 as free -h and ls -h count: "512 B", "1.5 MiB". */
static const char *human_bytes(double n, char *out, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  for (; n >= 1024 && u < 6; u++)
    n /= 1024;
  snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", n, units[u]);
  return out;
}

/* A duration for people: "45s", "3m05s", "2h03m", "4d03h". */
static const char *human_time(uint64_t seconds, char *out, size_t cap) {
  unsigned long long t = seconds;
  if (t < 60)
    snprintf(out, cap, "%llus", t);
  else if (t < 3600)
    snprintf(out, cap, "%llum%02llus", t / 60, t % 60);
  else if (t < 86400)
    snprintf(out, cap, "%lluh%02llum", t / 3600, t / 60 % 60);
  else
    snprintf(out, cap, "%llud%02lluh", t / 86400, t / 3600 % 24);
  return out;
}

static bool ends_with(const char *s, const char *end) {
  size_t n = strlen(s), m = strlen(end);
  return n >= m && strcmp(s + n - m, end) == 0;
}

/* A counter's value for people, or "" when the number says it best. */
static const char *human_counter(const char *name, uint64_t v, char *out, size_t cap) {
  if (ends_with(name, "_bytes") && v >= 1024)
    return human_bytes((double)v, out, cap);
  if (strcmp(name, "uptime_seconds") == 0 && v >= 60)
    return human_time(v, out, cap);
  out[0] = '\0';
  return out;
}

/* The counters of the asking connection itself (session_*), which say nothing of the daemon. */
static bool own_counter(const char *name) { return strncmp(name, "session_", 8) == 0; }

/* Text for the Prometheus format: a HELP text (backslash and newline escaped) or a label
 * value (the double quote too). */
static void prometheus_text(const char *s, bool label) {
  for (; *s; s++) {
    if (*s == '\\' || (label && *s == '"'))
      printf("\\%c", *s);
    else if (*s == '\n')
      fputs("\\n", stdout);
    else
      putchar(*s);
  }
}

static void print_prometheus(const shmbuf_client *c, const shmbuf_stats *st) {
  for (size_t i = 0; i < shmbuf_stats_count(st); i++) {
    const char *name = shmbuf_stats_name(st, i);
    if (own_counter(name))
      continue;
    printf("# HELP shmbuf_%s ", name);
    prometheus_text(shmbuf_stats_help(st, i), false);
    printf("\n# TYPE shmbuf_%s %s\nshmbuf_%s %" PRIu64 "\n", name,
           shmbuf_stats_is_gauge(st, i) ? "gauge" : "counter", name, shmbuf_stats_value(st, i));
  }
  /* "shmbufd 0.1.0": the version is the last word */
  const char *daemon = shmbuf_daemon_version(c), *version = strrchr(daemon, ' ');
  fputs("# HELP shmbuf_build_info The daemon's version\n# TYPE shmbuf_build_info gauge\n"
        "shmbuf_build_info{version=\"", stdout);
  prometheus_text(version ? version + 1 : daemon, true);
  puts("\"} 1");
}

static void print_json_stats(const shmbuf_stats *st) {
  putchar('{');
  for (size_t i = 0; i < shmbuf_stats_count(st); i++)
    printf("%s\"%s\":%" PRIu64, i ? "," : "", shmbuf_stats_name(st, i), shmbuf_stats_value(st, i));
  puts("}");
}

static void print_stats(const shmbuf_stats *st) {
  for (size_t i = 0; i < shmbuf_stats_count(st); i++) {
    const char *name = shmbuf_stats_name(st, i);
    char human[32];
    uint64_t v = shmbuf_stats_value(st, i);
    human_counter(name, v, human, sizeof human);
    printf("%-28s %" PRIu64 "%s%s\n", name, v, human[0] ? "  " : "", human);
  }
}

static double monotonic_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double at) {
  struct timespec t = {.tv_sec = (time_t)at, .tv_nsec = (long)((at - floor(at)) * 1e9)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
    ;
}

/* One round of the live view: every counter of the daemon's in units for people, and for a
 * running total its rate per second since `before` (NULL in the first round). */
static void print_round(const session *s, const shmbuf_stats *st, const shmbuf_stats *before,
                        double elapsed, double interval) {
  char path[256], stamp[16];
  time_t now = time(NULL);
  strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
  if (isatty(STDOUT_FILENO))
    fputs("\033[H\033[2J", stdout); /* the screen is the view: it starts afresh */
  else if (before)
    putchar('\n');
  printf("%s on %s, every %gs, at %s\n", shmbuf_daemon_version(s->c),
         socket_path(s, path, sizeof path), interval, stamp);
  printf("%-28s %16s %14s\n", "COUNTER", "VALUE", "PER SECOND");
  for (size_t i = 0; i < shmbuf_stats_count(st); i++) {
    const char *name = shmbuf_stats_name(st, i);
    uint64_t v = shmbuf_stats_value(st, i), old;
    char value[32], rate[32] = "";
    if (own_counter(name))
      continue;
    if (!human_counter(name, v, value, sizeof value)[0])
      snprintf(value, sizeof value, "%" PRIu64, v);
    if (!shmbuf_stats_is_gauge(st, i) && before == NULL)
      snprintf(rate, sizeof rate, "-");
    else if (!shmbuf_stats_is_gauge(st, i) && shmbuf_stats_find(before, name, &old) == 0)
      snprintf(rate, sizeof rate, "%.1f", (double)(v - old) / elapsed);
    printf(rate[0] ? "%-28s %16s %14s\n" : "%-28s %16s\n", name, value, rate);
  }
}

typedef struct stats_args {
  bool json, prometheus;
  double interval; /* 0: once */
  int64_t count;   /* rounds; 0: until interrupted */
} stats_args;

static int parse_stats(int argc, char **argv, stats_args *a) {
  *a = (stats_args){0};
  for (int i = 0; i < argc; i++) {
    const char *v;
    bool missing = false;
    if (strcmp(argv[i], "--json") == 0)
      a->json = true;
    else if (strcmp(argv[i], "--prometheus") == 0)
      a->prometheus = true;
    else if ((v = opt_value(argc, argv, &i, "--interval", NULL, &missing))) {
      if (!parse_number(v, &a->interval) || !isfinite(a->interval) || a->interval <= 0)
        return usage_error("--interval takes a number of seconds above 0, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--count", NULL, &missing))) {
      if (!parse_int(v, &a->count) || a->count <= 0)
        return usage_error("--count takes a whole number above 0, not '%s'", v);
    } else if (argv[i][0] == '-' || missing)
      return bad_option(argv[i], missing);
    else
      return usage_error("takes no arguments, not '%s'", argv[i]);
  }
  if (a->json && a->prometheus)
    return usage_error("--json and --prometheus exclude each other");
  if (a->prometheus && a->interval > 0)
    return usage_error("--prometheus and --interval exclude each other (a scrape is one read)");
  if (a->count && a->interval == 0)
    return usage_error("--count goes with --interval");
  return 0;
}

static int cmd_stats(session *s, int argc, char **argv) {
  stats_args a;
  int rc = parse_stats(argc, argv, &a);
  if (rc != 0 || (rc = connect_once(s)) != 0)
    return rc;
  shmbuf_stats *before = NULL, *st;
  double start = monotonic_seconds(), then = start;
  for (int64_t round = 0; a.interval == 0 ? round < 1 : !a.count || round < a.count; round++) {
    if (round > 0)
      sleep_until(start + (double)round * a.interval);
    if ((rc = shmbuf_stats_get(s->c, &st)) < 0) {
      shmbuf_stats_free(before);
      return failed(rc);
    }
    double now = monotonic_seconds();
    if (a.json)
      print_json_stats(st);
    else if (a.prometheus)
      print_prometheus(s->c, st);
    else if (a.interval > 0)
      print_round(s, st, before, now - then, a.interval);
    else
      print_stats(st);
    fflush(stdout);
    shmbuf_stats_free(before);
    before = st;
    then = now;
  }
  shmbuf_stats_free(before);
  return 0;
}

/* A user's name when it fits the column, else the number. */
static const char *user_name(uint32_t uid, char *out, size_t cap) {
  const struct passwd *pw = getpwuid((uid_t)uid);
  if (pw && strlen(pw->pw_name) < cap && strlen(pw->pw_name) <= 8)
    snprintf(out, cap, "%s", pw->pw_name);
  else
    snprintf(out, cap, "%u", (unsigned)uid);
  return out;
}

static void print_clients_json(const shmbuf_clients *l) {
  putchar('[');
  for (size_t i = 0; i < shmbuf_clients_count(l); i++) {
    printf("%s{\"pid\":%" PRId32 ",\"uid\":%" PRIu32 ",\"command\":", i ? "," : "",
           shmbuf_clients_pid(l, i), shmbuf_clients_uid(l, i));
    json_string(shmbuf_clients_command(l, i));
    printf(",\"buffers\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"reserved_bytes\":%" PRIu64
           ",\"slabs\":%" PRIu64 ",\"age_ms\":%" PRIu64 ",\"requests\":%" PRIu64 "}",
           shmbuf_clients_buffers(l, i), shmbuf_clients_bytes(l, i),
           shmbuf_clients_reserved_bytes(l, i), shmbuf_clients_slabs(l, i),
           shmbuf_clients_age_ms(l, i), shmbuf_clients_requests(l, i));
  }
  puts("]");
}

static void print_clients(const shmbuf_clients *l) {
  printf("%7s %-8s %-15s %8s %10s %6s %7s %9s\n", "PID", "USER", "COMMAND", "BUFFERS", "BYTES",
         "SLABS", "AGE", "REQUESTS");
  for (size_t i = 0; i < shmbuf_clients_count(l); i++) {
    char user[16], bytes[16], age[16];
    const char *command = shmbuf_clients_command(l, i);
    printf("%7" PRId32 " %-8s %-15s %8" PRIu64 " %10s %6" PRIu64 " %7s %9" PRIu64 "\n",
           shmbuf_clients_pid(l, i), user_name(shmbuf_clients_uid(l, i), user, sizeof user),
           command[0] ? command : "-", shmbuf_clients_buffers(l, i),
           human_bytes((double)shmbuf_clients_bytes(l, i), bytes, sizeof bytes),
           shmbuf_clients_slabs(l, i),
           human_time(shmbuf_clients_age_ms(l, i) / 1000, age, sizeof age),
           shmbuf_clients_requests(l, i));
  }
}

static int cmd_clients(session *s, int argc, char **argv) {
  bool json = false;
  shmbuf_clients *l;
  int rc;
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else
      return no_arguments(argc - i, argv + i);
  if ((rc = connect_once(s)) != 0)
    return rc;
  if ((rc = shmbuf_clients_get(s->c, &l)) < 0)
    return failed(rc);
  if (json)
    print_clients_json(l);
  else
    print_clients(l);
  shmbuf_clients_free(l);
  return 0;
}

/* ---- sharing --------------------------------------------------------------------------------- */

/* A duration: a number with ms, s, m, h or d (none: seconds). Returns false when it is none. */
static bool parse_duration_ms(const char *s, uint64_t *out) {
  static const struct {
    const char *unit;
    double ms;
  } units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !isfinite(v) || v <= 0)
    return false;
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (strcmp(end, units[i].unit) == 0 && v * units[i].ms < 1e18) {
      *out = (uint64_t)ceil(v * units[i].ms);
      return true;
    }
  return false;
}

/* The whole of a file, or of standard input for "-". */
static char *read_file(const char *path, size_t *len) {
  if (strcmp(path, "-") == 0)
    return read_stdin(len);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  FILE *saved = stdin; /* read_stdin() reads any stream put there */
  stdin = f;
  char *data = read_stdin(len);
  stdin = saved;
  fclose(f);
  return data;
}

static int cmd_put(session *s, int argc, char **argv) {
  uint64_t ttl_ms = 3600000;
  unsigned flags = SHMBUF_SHARE_PERSIST;
  const char *enc = NULL, *file = NULL, *text = NULL, *v;
  for (int i = 0; i < argc; i++) {
    bool missing = false;
    if (strcmp(argv[i], "--read-only") == 0)
      flags &= ~SHMBUF_SHARE_WRITABLE;
    else if (strcmp(argv[i], "--writable") == 0)
      flags |= SHMBUF_SHARE_WRITABLE;
    else if ((v = opt_value(argc, argv, &i, "--ttl", NULL, &missing))) {
      if (!parse_duration_ms(v, &ttl_ms))
        return usage_error("--ttl takes a duration such as 90s, 15m, 2h or 7d, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--encoding", "-e", &missing)))
      enc = v;
    else if ((v = opt_value(argc, argv, &i, "--file", NULL, &missing)))
      file = v;
    else if (strcmp(argv[i], "-") == 0)
      file = "-";
    else if ((argv[i][0] == '-' && argv[i][1]) || missing)
      return bad_option(argv[i], missing);
    else if (text)
      return usage_error("takes one STRING, not also '%s'", argv[i]);
    else
      text = argv[i];
  }
  if ((text != NULL) == (file != NULL))
    return usage_error(text ? "takes a STRING or --file, not both" : "needs a STRING, --file FILE or -");
  if (file && enc)
    return usage_error("--encoding goes with a STRING, not with --file");
  if (enc && !shmbuf_is_encoding(enc))
    return usage_error("no such encoding: '%s'", enc);
  size_t len = 0;
  char *data = file ? read_file(file, &len) : NULL;
  if (file && data == NULL) {
    fprintf(stderr, "shmbuf: put: %s: %s\n", file, strerror(errno ? errno : ENOMEM));
    return EXIT_FAILED;
  }
  int rc = connect_once(s);
  shmbuf_buf *b = NULL;
  char token[SHMBUF_TOKEN_MAX];
  if (rc == 0 && file && (rc = shmbuf_alloc_unsafe_slow(s->c, (int64_t)len, &b)) == 0 && len)
    memcpy(shmbuf_data(b), data, len);
  else if (rc == 0 && text)
    rc = shmbuf_from_string(s->c, text, SHMBUF_CSTR, enc, &b);
  free(data);
  if (rc > 0) /* connect_once() said why */
    return rc;
  if (rc < 0 || (rc = shmbuf_share(b, flags, ttl_ms, token)) < 0)
    return failed(rc);
  shmbuf_release(b);
  puts(token);
  return 0;
}

static int cmd_get(session *s, int argc, char **argv) {
  const char *token = NULL, *enc = NULL, *v;
  enum { RAW, HEX, ENCODING, INSPECT } how = RAW;
  int kinds = 0;
  for (int i = 0; i < argc; i++) {
    bool missing = false;
    if (strcmp(argv[i], "--raw") == 0)
      how = RAW, kinds++;
    else if (strcmp(argv[i], "--hex") == 0)
      how = HEX, kinds++;
    else if (strcmp(argv[i], "--inspect") == 0)
      how = INSPECT, kinds++;
    else if ((v = opt_value(argc, argv, &i, "--encoding", "-e", &missing)))
      how = ENCODING, enc = v, kinds++;
    else if ((argv[i][0] == '-' && argv[i][1]) || missing)
      return bad_option(argv[i], missing);
    else if (token)
      return usage_error("takes one TOKEN, not also '%s'", argv[i]);
    else
      token = argv[i];
  }
  if (token == NULL)
    return usage_error("needs a TOKEN (shmbuf put prints one)");
  if (kinds > 1)
    return usage_error("--raw, --hex, --encoding and --inspect exclude each other");
  shmbuf_buf *b;
  char *text = NULL;
  size_t len = 0;
  int rc = connect_once(s);
  if (rc != 0)
    return rc;
  if ((rc = shmbuf_import(s->c, token, &b)) < 0)
    return failed(rc);
  if (how == RAW)
    fwrite(shmbuf_data(b), 1, shmbuf_length(b), stdout);
  else if (how == INSPECT)
    rc = shmbuf_inspect(b, &text);
  else
    rc = shmbuf_to_string(b, how == HEX ? "hex" : enc, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &text,
                          &len);
  if (rc < 0)
    return failed(rc);
  if (text) {
    fwrite(text, 1, how == INSPECT ? strlen(text) : len, stdout);
    putchar('\n');
  }
  shmbuf_free(text);
  shmbuf_release(b);
  return 0;
}

static const char *share_mode(unsigned flags) {
  return flags & SHMBUF_SHARE_SEALED ? "sealed" : flags & SHMBUF_SHARE_WRITABLE ? "rw" : "ro";
}

static void print_shares_json(const shmbuf_share_list *l) {
  putchar('[');
  for (size_t i = 0; i < shmbuf_share_list_count(l); i++) {
    unsigned f = shmbuf_share_list_flags(l, i);
    const char *token = shmbuf_share_list_token(l, i);
    printf("%s{\"token\":", i ? "," : "");
    if (token)
      json_string(token);
    else
      fputs("null", stdout);
    printf(",\"uid\":%u,\"pid\":%d,\"length\":%" PRIu64 ",\"writable\":%s,\"sealed\":%s,"
           "\"single_use\":%s,\"persist\":%s,\"importers\":%" PRIu32 ",\"age_ms\":%" PRIu64
           ",\"ttl_ms\":%" PRIu64 "}",
           (unsigned)shmbuf_share_list_uid(l, i), (int)shmbuf_share_list_pid(l, i),
           shmbuf_share_list_length(l, i), f & SHMBUF_SHARE_WRITABLE ? "true" : "false",
           f & SHMBUF_SHARE_SEALED ? "true" : "false",
           f & SHMBUF_SHARE_SINGLE_USE ? "true" : "false",
           f & SHMBUF_SHARE_PERSIST ? "true" : "false", shmbuf_share_list_importers(l, i),
           shmbuf_share_list_age_ms(l, i), shmbuf_share_list_ttl_ms(l, i));
  }
  puts("]");
}

static void print_shares(const shmbuf_share_list *l) {
  printf("%-26s %-8s %7s %10s %-6s %5s %7s %7s\n", "TOKEN", "USER", "PID", "SIZE", "MODE",
         "USERS", "AGE", "TTL");
  for (size_t i = 0; i < shmbuf_share_list_count(l); i++) {
    char user[16], size[16], age[16], ttl[16];
    const char *token = shmbuf_share_list_token(l, i);
    uint64_t left = shmbuf_share_list_ttl_ms(l, i);
    unsigned f = shmbuf_share_list_flags(l, i);
    char mode[16];
    snprintf(mode, sizeof mode, "%s%s", share_mode(f), f & SHMBUF_SHARE_SINGLE_USE ? ",1" : "");
    printf("%-26s %-8s %7d %10s %-6s %5" PRIu32 " %7s %7s\n", token ? token : "-",
           user_name(shmbuf_share_list_uid(l, i), user, sizeof user),
           (int)shmbuf_share_list_pid(l, i),
           human_bytes((double)shmbuf_share_list_length(l, i), size, sizeof size), mode,
           shmbuf_share_list_importers(l, i),
           human_time(shmbuf_share_list_age_ms(l, i) / 1000, age, sizeof age),
           left ? human_time((left + 999) / 1000, ttl, sizeof ttl) : "-");
  }
}

/* Per user: how many shares, their bytes, their importers. */
static void print_shares_prometheus(const shmbuf_share_list *l) {
  static const struct {
    const char *name, *help;
  } metrics[] = {{"shmbuf_user_shares", "Live share tokens of the user"},
                 {"shmbuf_user_share_bytes", "Bytes the user's live shares show"},
                 {"shmbuf_user_share_importers", "Connections importing the user's shares"}};
  size_t n = shmbuf_share_list_count(l);
  for (int m = 0; m < 3; m++) {
    printf("# HELP %s %s\n# TYPE %s gauge\n", metrics[m].name, metrics[m].help, metrics[m].name);
    for (size_t i = 0; i < n; i++) {
      uid_t uid = shmbuf_share_list_uid(l, i);
      bool first = true;
      for (size_t k = 0; k < i && first; k++)
        first = shmbuf_share_list_uid(l, k) != uid;
      if (!first)
        continue;
      uint64_t v = 0;
      for (size_t k = i; k < n; k++)
        if (shmbuf_share_list_uid(l, k) == uid)
          v += m == 0 ? 1 : m == 1 ? shmbuf_share_list_length(l, k)
                                   : shmbuf_share_list_importers(l, k);
      printf("%s{uid=\"%u\"} %" PRIu64 "\n", metrics[m].name, (unsigned)uid, v);
    }
  }
}

static int cmd_shares(session *s, int argc, char **argv) {
  bool json = false, prometheus = false;
  shmbuf_share_list *l;
  int rc;
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--json") == 0)
      json = true;
    else if (strcmp(argv[i], "--prometheus") == 0)
      prometheus = true;
    else
      return no_arguments(argc - i, argv + i);
  if (json && prometheus)
    return usage_error("--json and --prometheus exclude each other");
  if ((rc = connect_once(s)) != 0)
    return rc;
  if ((rc = shmbuf_list_shares(s->c, &l)) < 0)
    return failed(rc);
  if (json)
    print_shares_json(l);
  else if (prometheus)
    print_shares_prometheus(l);
  else
    print_shares(l);
  shmbuf_share_list_free(l);
  return 0;
}

static int cmd_version(session *s, int argc, char **argv) {
  char path[256];
  int rc = no_arguments(argc, argv);
  if (rc != 0)
    return rc;
  printf("shmbuf %s\nlibshmbuf %s\n", PACKAGE_VERSION, shmbuf_version());
  if ((rc = connect_once(s)) != 0)
    return rc;
  printf("%s (protocol %" PRIu32 ") on %s\n", shmbuf_daemon_version(s->c),
         shmbuf_protocol_version(s->c), socket_path(s, path, sizeof path));
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

static int run_words(session *s, int argc, char **argv, bool in_batch);

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
    if (split_line(line, &words, &n) < 0) {
      topic = "batch";
      rc = usage_error("line %u: unbalanced quotes", no);
    } else {
      rc = n == 0 || words[0][0] == '#' ? 0 : run_words(s, n, words, true);
      free(words);
    }
    if (rc > worst)
      worst = rc;
    fflush(stdout);
  }
  free(line);
  return worst;
}

/* ---- commands and help ------------------------------------------------------------------------ */

/* The next name of a blank-separated list at *p (*len its length), or NULL at the end. */
static const char *next_name(const char **p, size_t *len) {
  *p += strspn(*p, " ");
  if (**p == '\0')
    return NULL;
  const char *name = *p;
  *len = strcspn(name, " ");
  *p += *len;
  return name;
}

/* The help of a command, by any of its names (read-uint8 as read-TYPE), or NULL. */
static const command_help *help_of(const char *cmd) {
  if (strncmp(cmd, "read-", 5) == 0)
    cmd = "read-TYPE";
  else if (strncmp(cmd, "write-", 6) == 0)
    cmd = "write-TYPE";
  size_t n = strlen(cmd), len;
  for (size_t i = 0; i < sizeof HELP / sizeof *HELP; i++)
    for (const char *p = HELP[i].names, *name; (name = next_name(&p, &len));)
      if (len == n && strncmp(name, cmd, n) == 0)
        return &HELP[i];
  return NULL;
}

/* How many one-character edits turn a into b (Levenshtein); names of up to 31 characters. */
static size_t edit_distance(const char *a, const char *b, size_t nb) {
  size_t row[32], na = strlen(a);
  if (na > 31 || nb > 31)
    return SIZE_MAX;
  for (size_t j = 0; j <= nb; j++)
    row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j], best = diagonal + (a[i - 1] != b[j - 1]);
      best = up + 1 < best ? up + 1 : best;
      best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
      diagonal = up;
      row[j] = best;
    }
  }
  return row[nb];
}

/* An unknown command, and the nearest known one when it is a typo away. */
static int unknown_command(const char *cmd) {
  const char *near = NULL;
  size_t near_len = 0, fewest = 3, len;
  for (size_t i = 0; i < sizeof HELP / sizeof *HELP; i++)
    for (const char *p = HELP[i].names, *name; (name = next_name(&p, &len));) {
      size_t d = edit_distance(cmd, name, len);
      if (d < fewest && !memchr(name, 'T', len)) { /* not read-TYPE: no command has that name */
        fewest = d;
        near = name;
        near_len = len;
      }
    }
  topic = NULL;
  if (near)
    return usage_error("unknown command '%s' (did you mean '%.*s'?)", cmd, (int)near_len, near);
  return usage_error("unknown command '%s'", cmd);
}

static int show_help(const char *cmd) {
  const command_help *h = help_of(cmd);
  if (h == NULL)
    return unknown_command(cmd);
  fputs(h->text, stdout);
  if (h->output)
    fputs(output_options, stdout);
  return 0;
}

static int cmd_help(int argc, char **argv) {
  if (argc == 0) {
    fputs(overview, stdout);
    return 0;
  }
  if (argc > 1)
    return usage_error("takes one COMMAND, not '%s' too", argv[1]);
  return show_help(argv[0]);
}

static int run_command(session *s, int argc, char **argv, bool in_batch) {
  const char *cmd = argv[0];
  int rc;
  if (cmd[0] == '-')
    return bad_option(cmd, false);
  if (help_of(cmd) == NULL)
    return unknown_command(cmd);
  topic = cmd;
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
  if (strcmp(cmd, "clients") == 0)
    return cmd_clients(s, argc - 1, argv + 1);
  if (strcmp(cmd, "version") == 0)
    return cmd_version(s, argc - 1, argv + 1);
  if (strcmp(cmd, "put") == 0)
    return cmd_put(s, argc - 1, argv + 1);
  if (strcmp(cmd, "get") == 0)
    return cmd_get(s, argc - 1, argv + 1);
  if (strcmp(cmd, "shares") == 0)
    return cmd_shares(s, argc - 1, argv + 1);
  if (strcmp(cmd, "help") == 0)
    return cmd_help(argc - 1, argv + 1);
  if (strcmp(cmd, "demo") == 0)
    return (rc = no_arguments(argc - 1, argv + 1)) != 0 ? rc : cmd_demo(s);
  if (strcmp(cmd, "batch") == 0 && in_batch)
    return usage_error("a batch cannot run another");
  if (strcmp(cmd, "batch") == 0)
    return (rc = no_arguments(argc - 1, argv + 1)) != 0 ? rc : cmd_batch(s);
  /* read-TYPE or write-TYPE with a TYPE there is none of */
  return usage_error("no such TYPE: '%s' (shmbuf help read-TYPE lists them)", strchr(cmd, '-') + 1);
}

/* The commands' options that take a value: the word after one is that value, never an option
 * of shmbuf's own. */
static bool takes_value(const char *word) {
  static const char *const valued[] = {
      "-e",         "--encoding",     "--fill",         "--fill-number", "--to",
      "--start",    "--end",          "--offset",       "--length",      "--byte-length",
      "--number",   "--buffer",       "--target-start", "--target-end",  "--source-start",
      "--source-end", "--interval",   "--count",        "--ttl",         "--file",
  };
  for (size_t i = 0; i < sizeof valued / sizeof *valued; i++)
    if (strcmp(word, valued[i]) == 0)
      return true;
  return false;
}

/* shmbuf's own options. */
typedef struct globals {
  const char *socket;
  bool help, version;
} globals;

/* Takes shmbuf's own options out of the words, before the command or after it (up to "--"),
 * and keeps the rest in order. Returns how many words are left, or -1 after a usage error. */
static int take_globals(int argc, char **argv, globals *g) {
  int n = 0;
  bool dashdash = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    bool missing = false;
    if (dashdash || strcmp(a, "--") == 0) {
      dashdash = true;
      argv[n++] = argv[i];
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      g->help = true;
    } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
      g->version = true;
    } else if ((v = opt_value(argc, argv, &i, "--socket", "-s", &missing))) {
      g->socket = v;
    } else if (missing) {
      return bad_option(a, true), -1;
    } else {
      argv[n++] = argv[i];
      if (takes_value(a) && i + 1 < argc)
        argv[n++] = argv[++i];
    }
  }
  return n;
}

/* Runs one command line, the program's or a batch's. */
static int run_words(session *s, int argc, char **argv, bool in_batch) {
  globals g = {0};
  topic = NULL;
  int n = take_globals(argc, argv, &g);
  if (n < 0)
    return EXIT_USAGE;
  if (g.socket && in_batch)
    return usage_error("-s and --socket go on the command line, not in a batch");
  if (g.socket)
    s->socket = g.socket;
  if (g.version) {
    printf("shmbuf %s\n", PACKAGE_VERSION);
    return 0;
  }
  if (n == 0 && g.help)
    return cmd_help(0, NULL);
  if (n == 0)
    return usage_error("no command given");
  if (g.help)
    return argv[0][0] == '-' ? bad_option(argv[0], false) : show_help(argv[0]);
  return run_command(s, n, argv, in_batch);
}

int main(int argc, char **argv) {
  session s = {0};
  /* each line out as it is made, so that an error on stderr comes after the output before it,
   * also when both go to one pipe */
  setvbuf(stdout, NULL, _IOLBF, 0);
  int rc = run_words(&s, argc - 1, argv + 1, false);
  fflush(stdout);
  for (size_t k = 0; k < s.nbufs; k++)
    shmbuf_release(s.bufs[k]);
  free(s.bufs);
  shmbuf_close(s.c);
  return rc;
}
