/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "replay.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORTED 25 /* mismatches listed before the replay stops listing them */
#define GUARD 4         /* bytes on each side of a guarded view */
#define GUARD_BYTE 0xee

bool rp_wrong(rp_case *v, const char *fmt, ...) {
  if (v->why[0] == '\0') {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->why, sizeof v->why, fmt, ap);
    va_end(ap);
  }
  return false;
}

void *rp_keep_mem(rp_case *v, void *p) {
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_lt(v->nmem, sizeof v->mem / sizeof *v->mem);
  return v->mem[v->nmem++] = p;
}

shmbuf_buf *rp_keep(rp_case *v, shmbuf_buf *b) {
  ck_assert_uint_lt(v->nmade, sizeof v->made / sizeof *v->made);
  return v->made[v->nmade++] = b;
}

/* HEX: pairs of digits, "hh*N" runs, pieces joined by '/'. Counts only when out is NULL.
 * Returns the count, or -1 when h is not HEX. */
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

uint8_t *rp_hex(rp_case *v, const char *h, size_t *n) {
  long len = unhex(h, NULL);
  ck_assert_msg(len >= 0, "%s:%u: bad hex '%s'", v->file, v->line, h);
  uint8_t *out = rp_keep_mem(v, malloc((size_t)len + 1));
  unhex(h, out);
  *n = (size_t)len;
  return out;
}

int64_t rp_integer(const char *s) {
  return strcmp(s, "-") == 0 ? SHMBUF_UNDEFINED : strtoll(s, NULL, 10);
}

double rp_number(const char *s) {
  uint64_t bits = strtoull(s, NULL, 16);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

const char *rp_encoding(const char *s) {
  if (strcmp(s, "-") == 0)
    return NULL;
  ck_assert_msg(strncmp(s, "e:", 2) == 0, "bad encoding field '%s'", s);
  return s + 2;
}

rp_text rp_text_of(rp_case *v, const char *field) {
  size_t n;
  const uint8_t *p = rp_hex(v, field + 2, &n);
  if (strncmp(field, "s:", 2) == 0)
    return (rp_text){p, n, false};
  ck_assert_msg(strncmp(field, "u:", 2) == 0, "%s:%u: bad text '%s'", v->file, v->line,
                field);
  uint16_t *u = rp_keep_mem(v, malloc(n + 2)); /* the units are written big-endian, 4 digits each */
  for (size_t i = 0; i < n / 2; i++)
    u[i] = (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
  return (rp_text){u, n / 2, true};
}

shmbuf_buf *rp_buffer(rp_case *v, const char *hex) {
  size_t n;
  const uint8_t *p = rp_hex(v, hex, &n);
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_from_bytes(v->c, p, n, &b), 0);
  return rp_keep(v, b);
}

shmbuf_buf *rp_guarded(rp_case *v, const char *hex) {
  size_t n;
  const uint8_t *init = rp_hex(v, hex, &n);
  uint8_t *all = rp_keep_mem(v, malloc(n + 2 * GUARD));
  memset(all, GUARD_BYTE, GUARD);
  if (n)
    memcpy(all + GUARD, init, n);
  memset(all + GUARD + n, GUARD_BYTE, GUARD);
  shmbuf_buf *whole, *b;
  ck_assert_int_eq(shmbuf_from_bytes(v->c, all, n + 2 * GUARD, &whole), 0);
  rp_keep(v, whole);
  ck_assert_int_eq(shmbuf_subarray(whole, GUARD, (int64_t)(GUARD + n), &b), 0);
  return rp_keep(v, b);
}

bool rp_guards_intact(rp_case *v, const shmbuf_buf *b) {
  /* the view sits GUARD bytes into the buffer rp_guarded() made for it, even when empty */
  const uint8_t *p = shmbuf_data(b) - GUARD;
  size_t n = shmbuf_length(b);
  for (size_t i = 0; i < GUARD; i++)
    if (p[i] != GUARD_BYTE || p[GUARD + n + i] != GUARD_BYTE)
      return rp_wrong(v, "wrote outside the buffer it was given");
  return true;
}

void rp_poison(rp_case *v) {
  shmbuf_buf *b;
  ck_assert_int_eq(shmbuf_alloc(v->c, 1, &b), 0);
  ck_assert_int_eq(shmbuf_fill_number(b, 0, -7, SHMBUF_UNDEFINED), -ERANGE);
  shmbuf_release(b);
}

/* The errno the header promises for each code. */
static int errno_of(const char *code) {
  static const struct {
    const char *code;
    int errnum;
  } MAP[] = {
      {"ERR_OUT_OF_RANGE", -ERANGE},          {"ERR_BUFFER_OUT_OF_BOUNDS", -ERANGE},
      {"RangeError", -ERANGE},                {"ERR_INVALID_ARG_VALUE", -EINVAL},
      {"ERR_UNKNOWN_ENCODING", -EINVAL},      {"ERR_INVALID_ARG_TYPE", -EINVAL},
      {"ERR_INVALID_BUFFER_SIZE", -EINVAL},   {"U_ILLEGAL_ARGUMENT_ERROR", -EINVAL},
      {"U_INVALID_CHAR_FOUND", -EILSEQ},
  };
  for (size_t i = 0; i < sizeof MAP / sizeof *MAP; i++)
    if (strcmp(MAP[i].code, code) == 0)
      return MAP[i].errnum;
  ck_abort_msg("no errno known for %s", code);
  return 0;
}

const char *rp_string(rp_case *v, const char *s) {
  char *out = rp_keep_mem(v, malloc(strlen(s) + 1)), *o = out;
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

bool rp_expects_ok(const rp_case *v) { return strcmp(v->res[0], "ok") == 0; }

bool rp_outcome(rp_case *v, int64_t rc) {
  if (rp_expects_ok(v)) {
    if (rc < 0)
      return rp_wrong(v, "failed with %" PRId64 " (%s: %s), Node succeeds", rc,
                      shmbuf_error_code(), shmbuf_error_message());
    return true;
  }
  ck_assert_int_eq(v->nres, 3);
  const char *code = v->res[1], *msg = rp_string(v, v->res[2]);
  if (rc >= 0)
    return rp_wrong(v, "succeeded (%" PRId64 "), Node throws %s: %s", rc, code, msg);
  if (rc != errno_of(code))
    rp_wrong(v, "returned %" PRId64 ", not %d for %s", rc, errno_of(code), code);
  else if (shmbuf_error_code() == NULL || strcmp(shmbuf_error_code(), code) != 0)
    rp_wrong(v, "code %s, Node: %s", shmbuf_error_code(), code);
  else if (shmbuf_error_message() == NULL || strcmp(shmbuf_error_message(), msg) != 0)
    rp_wrong(v, "message\n#   got  %s\n#   Node %s", shmbuf_error_message(), msg);
  return false;
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

bool rp_same_bytes(rp_case *v, const char *what, const uint8_t *p, size_t n, const char *want) {
  size_t wn;
  const uint8_t *w = rp_hex(v, want, &wn);
  if (n != wn || (n && memcmp(p, w, n) != 0))
    return rp_wrong(v, "%s: %s (%zu bytes), Node: %.300s", what, hexdump(p, n), n, want);
  return true;
}

bool rp_same_int(rp_case *v, const char *what, int64_t got, const char *want) {
  if (got != strtoll(want, NULL, 10))
    return rp_wrong(v, "%s is %" PRId64 ", Node: %s", what, got, want);
  return true;
}

/* ---- the replay ------------------------------------------------------------------------------ */

typedef struct tally {
  unsigned cases, failed;
  unsigned by_op[32];
} tally;

/* Runs one line, whose module field (if `module`) is already known to match. */
static void run_line(tally *t, shmbuf_client *c, unsigned flags, const char *file, bool module,
                     const rp_op *ops, size_t nops, char *line, unsigned no) {
  static rp_case v;
  memset(&v, 0, sizeof v);
  v.file = file;
  v.line = no;
  v.c = c;
  v.flags = flags;
  int n = 0;
  char *s2, *tok = strtok_r(line, "\t", &s2);
  for (tok = module ? strtok_r(NULL, "\t", &s2) : tok; tok; tok = strtok_r(NULL, "\t", &s2)) {
    ck_assert_msg(n < RP_MAX_FIELDS, "%s:%u: too many fields", file, no);
    v.f[n++] = tok;
  }
  for (v.nf = 0; v.nf < n && strcmp(v.f[v.nf], "=") != 0; v.nf++)
    ;
  ck_assert_msg(v.nf < n - 1, "%s:%u: no result", file, no);
  v.res = v.f + v.nf + 1;
  v.nres = n - v.nf - 1;
  size_t op = 0;
  while (op < nops && strcmp(ops[op].name, v.f[0]) != 0)
    op++;
  ck_assert_msg(op < nops, "%s:%u: unknown operation %s", file, no, v.f[0]);
  ops[op].run(&v);
  for (size_t i = 0; i < v.nmade; i++)
    shmbuf_release(v.made[i]);
  for (size_t i = 0; i < v.nmem; i++)
    free(v.mem[i]);
  t->cases++;
  t->by_op[op]++;
  if (v.why[0] && t->failed++ < MAX_REPORTED) {
    printf("# %s:%u: %s: %s\n", file, no, v.f[0], v.why);
    fflush(stdout); /* a failing test ends without flushing */
  }
}

unsigned rp_replay(const sbt_daemon *d, const char *file, const char *module, const rp_op *ops,
                   size_t nops, unsigned flags) {
  char path[512];
  ck_assert_uint_le(nops, sizeof ((tally *)0)->by_op / sizeof(unsigned));
  snprintf(path, sizeof path, "%s/%s", sbt_vectors(), file);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  shmbuf_client *c;
  int rc = shmbuf_connect_ex(d->sock, flags, &c);
  ck_assert_msg(rc == 0, "connect: %s", shmbuf_strerror(rc));
  tally t = {0};
  char *line = NULL;
  size_t cap = 0, mlen = module ? strlen(module) : 0;
  unsigned no = 0;
  while (getline(&line, &cap, f) > 0) {
    no++;
    line[strcspn(line, "\n")] = '\0';
    if (module ? strncmp(line, module, mlen) == 0 && line[mlen] == '\t'
               : line[0] != '#' && line[0] != '\0')
      run_line(&t, c, flags, file, module != NULL, ops, nops, line, no);
  }
  free(line);
  fclose(f);
  shmbuf_close(c);
  printf("# %s: %u Node-generated cases through the %s path\n", module ? module : file, t.cases,
         flags & SHMBUF_THIN ? "daemon-only" : "default");
  fflush(stdout);
  ck_assert_msg(t.failed == 0, "%u of %u cases differ from Node (the first %d are listed above)",
                t.failed, t.cases, MAX_REPORTED);
  for (size_t op = 0; op < nops; op++)
    ck_assert_msg(t.by_op[op] > 0, "%s has no %s case", file, ops[op].name);
  ck_assert_uint_eq(sbt_stat_wait(d, "buffers", 0, 2000), 0);
  return t.cases;
}
