/* SPDX-License-Identifier: MIT */
/* The Buffer API of libshmbuf against a real shmbufd, replaying what Node v20 does
 * (tests/vectors/buffer.txt, made by gen-buffer.js; the format is documented there). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "shmbuf.h"

#define MAX_FIELDS 16
#define MAX_REPORTED 25 /* mismatches printed before the test gives up listing them */
#define GUARD 4         /* bytes on each side of a fill target that must survive */

static sbt_daemon D;

static void up(void) { sbt_start(&D, NULL); }
static void down(void) { sbt_stop(&D); }

static shmbuf_client *client(unsigned flags) {
  shmbuf_client *c;
  int rc = shmbuf_connect_ex(D.sock, flags, &c);
  ck_assert_msg(rc == 0, "connect: %s", shmbuf_strerror(rc));
  return c;
}

/* ---- one vector ------------------------------------------------------------------------------ */

/* A case being replayed: its fields, what it made (released at the end), and the first thing
 * found wrong with it. */
typedef struct vcase {
  unsigned line;
  char *f[MAX_FIELDS];
  int nf;        /* fields before "=" */
  char **res;    /* the fields after "=" */
  int nres;
  shmbuf_client *c;
  unsigned flags;
  shmbuf_buf *made[64];
  size_t nmade;
  void *mem[16]; /* decoded fields */
  size_t nmem;
  char why[1024];
} vcase;

static bool wrong(vcase *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool wrong(vcase *v, const char *fmt, ...) {
  if (v->why[0] == '\0') {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
  }
  return false;
}

static void *keep_mem(vcase *v, void *p) {
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_lt(v->nmem, sizeof v->mem / sizeof *v->mem);
  return v->mem[v->nmem++] = p;
}

static shmbuf_buf *keep_buf(vcase *v, shmbuf_buf *b) {
  ck_assert_uint_lt(v->nmade, sizeof v->made / sizeof *v->made);
  return v->made[v->nmade++] = b;
}

/* Decodes HEX (pairs of digits, "hh*N" runs, pieces joined by '/') into out, or only counts
 * the bytes when out is NULL. Returns the count, or -1 when h is not HEX. */
static long unhex(const char *h, uint8_t *out) {
  long k = 0;
  if (strcmp(h, "-") == 0)
    return 0;
  for (const char *p = h; *p;) {
    unsigned byte;
    if (sscanf(p, "%2x", &byte) != 1)
      return -1;
    p += 2;
    long count = 1;
    if (*p == '*') {
      char *end;
      count = strtol(p + 1, &end, 10);
      p = end;
    }
    if (out)
      memset(out + k, (int)byte, (size_t)count);
    k += count;
    if (*p == '/')
      p++;
  }
  return k;
}

static uint8_t *hex(vcase *v, const char *h, size_t *n) {
  long len = unhex(h, NULL);
  ck_assert_msg(len >= 0, "buffer.txt:%u: bad hex '%s'", v->line, h);
  uint8_t *out = keep_mem(v, malloc((size_t)len + 1));
  unhex(h, out);
  *n = (size_t)len;
  return out;
}

static int64_t integer(const char *s) {
  return strcmp(s, "-") == 0 ? SHMBUF_UNDEFINED : strtoll(s, NULL, 10);
}

static double number(const char *s) {
  uint64_t bits = strtoull(s, NULL, 16);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

static const char *encoding(const char *s) {
  if (strcmp(s, "-") == 0)
    return NULL;
  ck_assert_msg(strncmp(s, "e:", 2) == 0, "bad encoding field '%s'", s);
  return s + 2;
}

static char *unescape(vcase *v, const char *s) {
  char *out = keep_mem(v, malloc(strlen(s) + 1)), *o = out;
  for (; *s; s++) {
    if (*s == '\\' && s[1]) {
      s++;
      *o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s == 's' ? ' ' : *s;
    } else
      *o++ = *s;
  }
  *o = '\0';
  return out;
}

static const char *hexdump(const uint8_t *p, size_t n) {
  static char s[512];
  size_t k = 0;
  for (size_t i = 0; i < n && k + 3 < sizeof s; i++)
    k += (size_t)snprintf(s + k, sizeof s - k, "%02x", p[i]);
  if (n == 0)
    strcpy(s, "-");
  return s;
}

static bool expect_ok(const vcase *v) { return strcmp(v->res[0], "ok") == 0; }

/* The errno the header promises for each of Node's codes. */
static int errno_of(const char *code) {
  if (strcmp(code, "ERR_OUT_OF_RANGE") == 0 || strcmp(code, "ERR_BUFFER_OUT_OF_BOUNDS") == 0 ||
      strcmp(code, "RangeError") == 0)
    return -ERANGE;
  if (strcmp(code, "ERR_UNKNOWN_ENCODING") == 0 || strcmp(code, "ERR_INVALID_ARG_VALUE") == 0)
    return -EINVAL;
  ck_abort_msg("no errno known for %s", code);
  return 0;
}

/* A failure no vector expects, recorded before each call that should fail, so that a call
 * which fails without saying why cannot pass on an earlier failure's code. */
static void poison_error(vcase *v) {
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_alloc(v->c, 1, &b), 0);
  ck_assert_int_eq(shmbuf_fill_number(b, 0, -7, SHMBUF_UNDEFINED), -ERANGE);
  shmbuf_release(b);
}

/* Checks a call's outcome against the vector: true when it succeeded as Node did. */
static bool outcome(vcase *v, int rc) {
  if (expect_ok(v)) {
    if (rc != 0)
      return wrong(v, "failed with %d (%s: %s), Node succeeds", rc, shmbuf_error_code(),
                   shmbuf_error_message());
    return true;
  }
  ck_assert_int_eq(v->nres, 3);
  const char *code = v->res[1], *msg = unescape(v, v->res[2]);
  if (rc == 0)
    return wrong(v, "succeeded, Node throws %s: %s", code, msg);
  if (rc != errno_of(code))
    wrong(v, "returned %d, not %d for %s", rc, errno_of(code), code);
  else if (shmbuf_error_code() == NULL || strcmp(shmbuf_error_code(), code) != 0)
    wrong(v, "code %s, Node: %s", shmbuf_error_code(), code);
  else if (shmbuf_error_message() == NULL || strcmp(shmbuf_error_message(), msg) != 0)
    wrong(v, "message\n#   got  %s\n#   Node %s", shmbuf_error_message(), msg);
  return false;
}

/* Checks bytes against a HEX result field. */
static bool same_bytes(vcase *v, const char *what, const uint8_t *p, size_t n, const char *want) {
  size_t wn;
  const uint8_t *w = hex(v, want, &wn);
  if (n != wn || (n && memcmp(p, w, n) != 0))
    return wrong(v, "%s: %s (%zu bytes), Node: %s", what, hexdump(p, n), n, want);
  return true;
}

static bool same_size(vcase *v, const char *what, size_t got, const char *want) {
  if (got != strtoull(want, NULL, 10))
    return wrong(v, "%s is %zu, Node: %s", what, got, want);
  return true;
}

/* A made buffer whose creation failed must leave *out alone. */
#define UNSET ((shmbuf_buf *)&D)

static shmbuf_buf *made(vcase *v, int rc, shmbuf_buf *b) {
  if (rc == 0)
    return keep_buf(v, b);
  if (b != UNSET)
    wrong(v, "*out was written by a failing call");
  return NULL;
}

static shmbuf_buf *from_hex(vcase *v, const char *h) {
  size_t n;
  const uint8_t *p = hex(v, h, &n);
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_from_bytes(v->c, p, n, &b), 0);
  return keep_buf(v, b);
}

/* ---- the operations -------------------------------------------------------------------------- */

/* alloc INT FILL|- ENC = ok HEX */
static void op_alloc(vcase *v) {
  int64_t size = integer(v->f[1]);
  const char *fill = v->f[2], *enc = encoding(v->f[3]);
  shmbuf_buf *b = UNSET;
  size_t n;
  int rc;
  if (!expect_ok(v))
    poison_error(v);
  if (strcmp(fill, "-") == 0) {
    ck_assert_ptr_null(enc);
    rc = shmbuf_alloc(v->c, size, &b);
  } else if (strncmp(fill, "s:", 2) == 0) {
    const uint8_t *s = hex(v, fill + 2, &n);
    rc = shmbuf_alloc_fill_string(v->c, size, (const char *)s, n, enc, &b);
  } else if (strncmp(fill, "b:", 2) == 0) {
    const uint8_t *s = hex(v, fill + 2, &n);
    rc = shmbuf_alloc_fill_bytes(v->c, size, s, n, &b);
  } else {
    ck_assert_msg(strncmp(fill, "n:", 2) == 0, "line %u: bad fill", v->line);
    rc = shmbuf_alloc_fill_number(v->c, size, number(fill + 2), &b);
  }
  if (!outcome(v, rc) || !made(v, rc, b))
    return;
  if (same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]) &&
      shmbuf_buffer_byte_length(b) != shmbuf_length(b))
    wrong(v, "buffer.byteLength %zu for a length of %zu", shmbuf_buffer_byte_length(b),
          shmbuf_length(b));
  if (shmbuf_is_pooled(b))
    wrong(v, "Buffer.alloc() is never pooled");
}

/* size alloc|unsafe|slow INT = ok LEN */
static void op_size(vcase *v) {
  int64_t size = integer(v->f[2]);
  shmbuf_buf *b = UNSET;
  int rc;
  if (!expect_ok(v))
    poison_error(v);
  if (strcmp(v->f[1], "alloc") == 0)
    rc = shmbuf_alloc(v->c, size, &b);
  else if (strcmp(v->f[1], "unsafe") == 0)
    rc = shmbuf_alloc_unsafe(v->c, size, &b);
  else
    rc = shmbuf_alloc_unsafe_slow(v->c, size, &b);
  if (outcome(v, rc) && made(v, rc, b))
    same_size(v, "length", shmbuf_length(b), v->res[1]);
}

/* fill HEX FILL INT INT ENC = ok HEX: the target is a view with guard bytes around it. */
static void op_fill(vcase *v) {
  size_t n, vn;
  const uint8_t *init = hex(v, v->f[1], &n);
  uint8_t *all = keep_mem(v, malloc(n + 2 * GUARD));
  memset(all, 0xee, GUARD);
  if (n)
    memcpy(all + GUARD, init, n);
  memset(all + GUARD + n, 0xee, GUARD);
  shmbuf_buf *whole, *b;
  ck_assert_int_eq(shmbuf_from_bytes(v->c, all, n + 2 * GUARD, &whole), 0);
  keep_buf(v, whole);
  ck_assert_int_eq(shmbuf_subarray(whole, GUARD, (int64_t)(GUARD + n), &b), 0);
  keep_buf(v, b);
  const char *fill = v->f[2], *enc = encoding(v->f[5]);
  int64_t offset = integer(v->f[3]), end = integer(v->f[4]);
  int rc;
  if (!expect_ok(v))
    poison_error(v);
  if (strncmp(fill, "s:", 2) == 0) {
    const uint8_t *s = hex(v, fill + 2, &vn);
    rc = shmbuf_fill_string(b, (const char *)s, vn, offset, end, enc);
  } else if (strncmp(fill, "b:", 2) == 0) {
    const uint8_t *s = hex(v, fill + 2, &vn);
    ck_assert_ptr_null(enc);
    rc = shmbuf_fill_bytes(b, s, vn, offset, end);
  } else {
    ck_assert_ptr_null(enc);
    rc = shmbuf_fill_number(b, number(fill + 2), offset, end);
  }
  bool ok = outcome(v, rc);
  const uint8_t *p = shmbuf_data(whole);
  for (size_t i = 0; i < GUARD; i++)
    if (p[i] != 0xee || p[GUARD + n + i] != 0xee)
      wrong(v, "wrote outside the range it was given");
  if (ok)
    same_bytes(v, "contents", shmbuf_data(b), n, v->res[1]);
  else if (n && memcmp(shmbuf_data(b), init, n) != 0)
    wrong(v, "a failing fill changed the buffer: %s", hexdump(shmbuf_data(b), n));
}

/* from STR ENC = ok HEX */
static void op_from(vcase *v) {
  size_t n;
  const uint8_t *s = hex(v, v->f[1], &n);
  shmbuf_buf *b = UNSET;
  if (!expect_ok(v))
    poison_error(v);
  int rc = shmbuf_from_string(v->c, (const char *)s, n, encoding(v->f[2]), &b);
  if (outcome(v, rc) && made(v, rc, b))
    same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]);
}

/* from16 UNITS ENC = ok HEX */
static void op_from16(vcase *v) {
  size_t n;
  const uint8_t *be = hex(v, v->f[1], &n);
  uint16_t *u = keep_mem(v, malloc(n + 2));
  for (size_t i = 0; i < n / 2; i++)
    u[i] = (uint16_t)(be[2 * i] << 8 | be[2 * i + 1]);
  shmbuf_buf *b = UNSET;
  if (!expect_ok(v))
    poison_error(v);
  int rc = shmbuf_from_utf16(v->c, u, n / 2, encoding(v->f[2]), &b);
  if (outcome(v, rc) && made(v, rc, b))
    same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]);
}

/* array NUM,NUM,...|- = ok HEX */
static void op_array(vcase *v) {
  double *vals = keep_mem(v, malloc((strlen(v->f[1]) / 16 + 1) * sizeof *vals));
  size_t n = 0;
  if (strcmp(v->f[1], "-") != 0)
    for (char *s2, *t = strtok_r(v->f[1], ",", &s2); t; t = strtok_r(NULL, ",", &s2))
      vals[n++] = number(t);
  shmbuf_buf *b;
  int rc = shmbuf_from_array(v->c, vals, n, &b);
  if (outcome(v, rc) && made(v, rc, b))
    same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[1]);
}

/* bytelen STR ENC = ok N */
static void op_bytelen(vcase *v) {
  size_t n, len = 12345;
  const uint8_t *s = hex(v, v->f[1], &n);
  int rc = shmbuf_byte_length((const char *)s, n, encoding(v->f[2]), &len);
  if (outcome(v, rc))
    same_size(v, "byteLength", len, v->res[1]);
}

/* tostring HEX ENC INT INT = ok STR UNITS, through both the UTF-8 and the UTF-16 calls */
static void op_tostring(vcase *v) {
  shmbuf_buf *b = from_hex(v, v->f[1]);
  const char *enc = encoding(v->f[2]);
  int64_t start = integer(v->f[3]), end = integer(v->f[4]);
  char *s = NULL;
  size_t len = 0;
  if (!expect_ok(v))
    poison_error(v);
  int rc = shmbuf_to_string(b, enc, start, end, &s, &len);
  if (outcome(v, rc)) {
    keep_mem(v, s);
    if (s[len] != '\0')
      wrong(v, "the string is not NUL-terminated");
    same_bytes(v, "UTF-8", (const uint8_t *)s, len, v->res[1]);
  }
  if (v->why[0])
    return;
  uint16_t *u = NULL;
  size_t nu = 0;
  if (!expect_ok(v))
    poison_error(v);
  rc = shmbuf_to_utf16(b, enc, start, end, &u, &nu);
  if (!outcome(v, rc))
    return;
  keep_mem(v, u);
  size_t wn;
  const uint8_t *w = hex(v, v->res[2], &wn);
  bool same = nu * 2 == wn;
  for (size_t i = 0; same && i < nu; i++)
    same = u[i] == (uint16_t)(w[2 * i] << 8 | w[2 * i + 1]);
  if (!same)
    wrong(v, "UTF-16: %zu units differ from Node's %s", nu, v->res[2]);
  else if (u[nu] != 0)
    wrong(v, "the UTF-16 string is not 0-terminated");
}

/* inspect HEX = ok TEXT */
static void op_inspect(vcase *v) {
  shmbuf_buf *b = from_hex(v, v->f[1]);
  char *s;
  int rc = shmbuf_inspect(b, &s);
  if (!outcome(v, rc))
    return;
  keep_mem(v, s);
  const char *want = unescape(v, v->res[1]);
  if (strcmp(s, want) != 0)
    wrong(v, "inspect\n#   got  %s\n#   Node %s", s, want);
}

/* subarray|slice LEN INT INT = ok OFF LEN: a view on the same memory */
static void op_subarray(vcase *v) {
  int64_t n = integer(v->f[1]);
  shmbuf_buf *parent, *b = UNSET;
  ck_assert_int_eq(shmbuf_alloc_unsafe(v->c, n, &parent), 0);
  keep_buf(v, parent);
  int rc = shmbuf_subarray(parent, integer(v->f[2]), integer(v->f[3]), &b);
  if (!outcome(v, rc) || !made(v, rc, b))
    return;
  size_t off = shmbuf_byte_offset(b) - shmbuf_byte_offset(parent);
  if (!same_size(v, "relative byteOffset", off, v->res[1]) ||
      !same_size(v, "length", shmbuf_length(b), v->res[2]))
    return;
  if (shmbuf_arraybuffer_id(b) != shmbuf_arraybuffer_id(parent) ||
      shmbuf_buffer_byte_length(b) != shmbuf_buffer_byte_length(parent))
    wrong(v, "the view is not on its parent's ArrayBuffer");
  else if (shmbuf_length(b) > 0) {
    if (shmbuf_data(b) != shmbuf_data(parent) + off)
      wrong(v, "the view's bytes are not its parent's");
    shmbuf_data(b)[0] = 0x5a;
    if (shmbuf_data(parent)[off] != 0x5a)
      wrong(v, "a write through the view does not show in its parent");
  }
}

/* fromab alloc:N|unsafe:N INT INT = ok OFF LEN */
static void op_fromab(vcase *v) {
  int64_t n = strtoll(strchr(v->f[1], ':') + 1, NULL, 10);
  shmbuf_buf *src, *b = UNSET;
  ck_assert_int_eq(strncmp(v->f[1], "alloc:", 6) == 0 ? shmbuf_alloc(v->c, n, &src)
                                                       : shmbuf_alloc_unsafe(v->c, n, &src),
                   0);
  keep_buf(v, src);
  if (!expect_ok(v))
    poison_error(v);
  int rc = shmbuf_from_arraybuffer(src, integer(v->f[2]), integer(v->f[3]), &b);
  if (!outcome(v, rc) || !made(v, rc, b))
    return;
  if (!same_size(v, "byteOffset", shmbuf_byte_offset(b), v->res[1]) ||
      !same_size(v, "length", shmbuf_length(b), v->res[2]))
    return;
  if (shmbuf_arraybuffer_id(b) != shmbuf_arraybuffer_id(src) ||
      shmbuf_buffer_byte_length(b) != shmbuf_buffer_byte_length(src))
    wrong(v, "not a view on the source's ArrayBuffer");
  else if (shmbuf_length(b) > 0 && shmbuf_data(b) - shmbuf_byte_offset(b) !=
                                       shmbuf_data(src) - shmbuf_byte_offset(src))
    wrong(v, "the view's bytes are not in the source's ArrayBuffer");
}

/* concat HEX,...|- INT = ok LEN OFF ABLEN POOLED HEX, on a connection of its own (a fresh
 * pool, as the generator starts from) */
static void op_concat(vcase *v) {
  shmbuf_client *outer = v->c;
  v->c = client(v->flags);
  const shmbuf_buf *list[16];
  size_t n = 0;
  if (strcmp(v->f[1], "-") != 0)
    for (char *s2, *t = strtok_r(v->f[1], ",", &s2); t; t = strtok_r(NULL, ",", &s2)) {
      ck_assert_uint_lt(n, 16);
      list[n++] = from_hex(v, t);
    }
  shmbuf_buf *b = UNSET;
  if (!expect_ok(v))
    poison_error(v);
  int rc = shmbuf_concat(v->c, list, n, integer(v->f[2]), &b);
  if (outcome(v, rc) && made(v, rc, b) && same_size(v, "length", shmbuf_length(b), v->res[1]) &&
      same_size(v, "byteOffset", shmbuf_byte_offset(b), v->res[2]) &&
      same_size(v, "buffer.byteLength", shmbuf_buffer_byte_length(b), v->res[3]) &&
      same_size(v, "pooled", (size_t)shmbuf_is_pooled(b), v->res[4]))
    same_bytes(v, "contents", shmbuf_data(b), shmbuf_length(b), v->res[5]);
  for (size_t i = 0; i < v->nmade; i++)
    shmbuf_release(v->made[i]);
  v->nmade = 0;
  shmbuf_close(v->c);
  v->c = outer;
}

/* compare|equals HEX HEX = ok N */
static void op_compare(vcase *v) {
  shmbuf_buf *a = from_hex(v, v->f[1]), *b = from_hex(v, v->f[2]);
  int r = strcmp(v->f[0], "compare") == 0 ? shmbuf_compare(a, b) : shmbuf_equals(a, b);
  if (r != atoi(v->res[1]))
    wrong(v, "%s gives %d, Node: %s", v->f[0], r, v->res[1]);
}

static const struct {
  const char *name;
  void (*run)(vcase *v);
} OPS[] = {
    {"alloc", op_alloc},       {"size", op_size},       {"fill", op_fill},
    {"from", op_from},         {"from16", op_from16},   {"array", op_array},
    {"bytelen", op_bytelen},
    {"tostring", op_tostring}, {"inspect", op_inspect}, {"subarray", op_subarray},
    {"slice", op_subarray},    {"fromab", op_fromab},   {"concat", op_concat},
    {"compare", op_compare},   {"equals", op_compare},
};

/* ---- the replay ------------------------------------------------------------------------------ */

typedef struct tally {
  unsigned cases, failed;
  unsigned by_op[sizeof OPS / sizeof *OPS];
} tally;

static void run_line(tally *t, shmbuf_client *c, unsigned flags, char *line, unsigned no) {
  static vcase v;
  memset(&v, 0, sizeof v);
  v.line = no;
  v.c = c;
  v.flags = flags;
  int n = 0;
  for (char *s2, *tok = strtok_r(line, "\t", &s2); tok; tok = strtok_r(NULL, "\t", &s2)) {
    ck_assert_msg(n < MAX_FIELDS, "buffer.txt:%u: too many fields", no);
    v.f[n++] = tok;
  }
  for (v.nf = 0; v.nf < n && strcmp(v.f[v.nf], "=") != 0; v.nf++)
    ;
  ck_assert_msg(v.nf < n - 1, "buffer.txt:%u: no result", no);
  v.res = v.f + v.nf + 1;
  v.nres = n - v.nf - 1;
  size_t op = 0;
  while (op < sizeof OPS / sizeof *OPS && strcmp(OPS[op].name, v.f[0]) != 0)
    op++;
  ck_assert_msg(op < sizeof OPS / sizeof *OPS, "buffer.txt:%u: unknown op %s", no, v.f[0]);
  OPS[op].run(&v);
  for (size_t i = 0; i < v.nmade; i++)
    shmbuf_release(v.made[i]);
  for (size_t i = 0; i < v.nmem; i++)
    free(v.mem[i]);
  t->cases++;
  t->by_op[op]++;
  if (v.why[0]) {
    if (t->failed++ < MAX_REPORTED)
      printf("# buffer.txt:%u: %s: %s\n", no, v.f[0], v.why);
    fflush(stdout); /* a failing test ends without flushing */
  }
}

static tally replay(unsigned flags) {
  char path[512];
  snprintf(path, sizeof path, "%s/buffer.txt", sbt_vectors());
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  shmbuf_client *c = client(flags);
  tally t = {0};
  char *line = NULL;
  size_t cap = 0;
  unsigned no = 0;
  while (getline(&line, &cap, f) > 0) {
    no++;
    line[strcspn(line, "\n")] = '\0';
    if (line[0] != '#' && line[0] != '\0')
      run_line(&t, c, flags, line, no);
  }
  free(line);
  fclose(f);
  shmbuf_close(c);
  /* every operation is exercised, and nothing was left behind */
  for (size_t op = 0; op < sizeof OPS / sizeof *OPS; op++)
    ck_assert_msg(t.by_op[op] > 0, "buffer.txt has no %s case", OPS[op].name);
  ck_assert_uint_eq(sbt_stat_wait(&D, "buffers", 0, 2000), 0);
  return t;
}

static void report(const tally *t, const char *path) {
  printf("# buffer API: %u Node-generated cases through the %s path\n", t->cases, path);
  fflush(stdout);
  ck_assert_msg(t->failed == 0, "%u of %u cases differ from Node (the first %d are listed above)",
                t->failed, t->cases, MAX_REPORTED);
  ck_assert_uint_gt(t->cases, 5000);
}

START_TEST(buffer_api_matches_node) {
  tally t = replay(0);
  report(&t, "default");
}
END_TEST

START_TEST(buffer_api_matches_node_thin) {
  tally t = replay(SHMBUF_THIN);
  report(&t, "daemon-only");
}
END_TEST

/* ---- beyond the vectors: sharing and lifetimes ---------------------------------------------- */

START_TEST(views_of_views_share_memory) {
  shmbuf_client *c = client(0);
  shmbuf_buf *b, *v, *w, *ab;
  ck_assert_int_eq(shmbuf_from_string(c, "0123456789", SHMBUF_CSTR, NULL, &b), 0);
  ck_assert_int_eq(shmbuf_subarray(b, 2, -2, &v), 0);     /* "234567" */
  ck_assert_int_eq(shmbuf_subarray(v, -3, SHMBUF_UNDEFINED, &w), 0); /* "567" */
  ck_assert_uint_eq(shmbuf_byte_offset(w), shmbuf_byte_offset(b) + 5);
  ck_assert_int_eq(shmbuf_fill_string(w, "xy", SHMBUF_CSTR, 1, SHMBUF_UNDEFINED, NULL), 0);
  char *s;
  ck_assert_int_eq(shmbuf_to_string(b, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL), 0);
  ck_assert_str_eq(s, "012345xy89");
  shmbuf_free(s);
  /* Buffer.from(w.buffer, w.byteOffset, 2) is the same memory again */
  ck_assert_int_eq(shmbuf_from_arraybuffer(w, (int64_t)shmbuf_byte_offset(w), 2, &ab), 0);
  ck_assert_ptr_eq(shmbuf_data(ab), shmbuf_data(w));
  ck_assert_int_eq(shmbuf_equals(ab, w), 0);
  ck_assert_int_eq(shmbuf_compare(ab, w), -1);
  shmbuf_release(b);
  shmbuf_release(v);
  ck_assert_int_eq(shmbuf_to_string(w, "latin1", SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL),
                   0);
  ck_assert_str_eq(s, "5xy");
  shmbuf_free(s);
  shmbuf_close(c);
}
END_TEST

/* concat copies: later writes to its sources do not show, and a source may be a view on the
 * pool the result goes into. */
START_TEST(concat_copies) {
  shmbuf_client *c = client(0);
  shmbuf_buf *a, *v, *r;
  ck_assert_int_eq(shmbuf_from_string(c, "abcdef", SHMBUF_CSTR, NULL, &a), 0);
  ck_assert_int_eq(shmbuf_subarray(a, 1, 3, &v), 0);
  const shmbuf_buf *list[] = {v, a, v};
  ck_assert_int_eq(shmbuf_concat(c, list, 3, SHMBUF_UNDEFINED, &r), 0);
  shmbuf_data(a)[1] = 'X';
  char *s;
  ck_assert_int_eq(shmbuf_to_string(r, NULL, SHMBUF_UNDEFINED, SHMBUF_UNDEFINED, &s, NULL), 0);
  ck_assert_str_eq(s, "bcabcdefbc");
  shmbuf_free(s);
  ck_assert_uint_eq(shmbuf_arraybuffer_id(r), shmbuf_arraybuffer_id(a));
  shmbuf_close(c);
}
END_TEST

static Suite *buf_suite(void) {
  Suite *s = suite_create("buf");
  TCase *t = tcase_create("node");
  tcase_add_checked_fixture(t, up, down);
  tcase_set_timeout(t, 300);
  tcase_add_test(t, buffer_api_matches_node);
  tcase_add_test(t, buffer_api_matches_node_thin);
  tcase_add_test(t, views_of_views_share_memory);
  tcase_add_test(t, concat_copies);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(buf_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
