/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "codec.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Vectors come from tests/vectors/codec.txt, which gen-codec.js writes from Node itself;
 * its header describes the line kinds. A loop iteration checks CHUNK of them: one fork a
 * vector is slow under the sanitizers. */

#define ENCODINGS 7

/* Node's canonical names, as the vectors spell them. */
static const char *enc_name(sb_enc enc) {
  static const char *const names[] = {
      [SB_ENC_UTF8] = "utf8",     [SB_ENC_UTF16LE] = "utf16le", [SB_ENC_LATIN1] = "latin1",
      [SB_ENC_ASCII] = "ascii",   [SB_ENC_BASE64] = "base64",   [SB_ENC_BASE64URL] = "base64url",
      [SB_ENC_HEX] = "hex",
  };
  return names[enc];
}
#define GUARD 16
#define CHUNK 64
#define SENTINEL 0xa5

typedef struct vector {
  int line;
  int nf;
  char *f[6];
} vector;

static vector *vectors;
static int nvectors;
static char load_error[256];

/* ---- helpers ------------------------------------------------------------------------------- */

static uint8_t *hex_bytes(const char *h, size_t *n) {
  size_t len = strlen(h) / 2;
  uint8_t *b = malloc(len + 1);
  ck_assert_ptr_nonnull(b);
  for (size_t i = 0; i < len; i++) {
    unsigned v;
    ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
    b[i] = (uint8_t)v;
  }
  *n = len;
  return b;
}

static uint16_t *hex_units(const char *h, size_t *n) {
  size_t len = strlen(h) / 4;
  uint16_t *u = malloc((len + 1) * sizeof *u);
  ck_assert_ptr_nonnull(u);
  for (size_t i = 0; i < len; i++) {
    unsigned v;
    ck_assert_int_eq(sscanf(h + 4 * i, "%4x", &v), 1);
    u[i] = (uint16_t)v;
  }
  *n = len;
  return u;
}

static char *to_hex(const uint8_t *b, size_t n) {
  char *h = malloc(2 * n + 1);
  ck_assert_ptr_nonnull(h);
  for (size_t i = 0; i < n; i++)
    snprintf(h + 2 * i, 3, "%02x", b[i]);
  h[2 * n] = '\0';
  return h;
}

static sb_enc enc_of(const vector *v, const char *name) {
  sb_enc enc;
  ck_assert_msg(sb_enc_parse(name, strlen(name), &enc) == 0, "codec.txt:%d: encoding %s",
                v->line, name);
  return enc;
}

/* Allocates n bytes and a guard after them, all SENTINEL. */
static uint8_t *guarded(size_t n) {
  uint8_t *p = malloc(n + GUARD);
  ck_assert_ptr_nonnull(p);
  memset(p, SENTINEL, n + GUARD);
  return p;
}

static bool guard_intact(const uint8_t *p, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (p[i] != SENTINEL)
      return false;
  return true;
}

/* sb_encode(s, enc, cap) must write exactly `want`, and nothing at or after cap. */
static void check_encode(const vector *v, const char *path, sb_str s, sb_enc enc, size_t cap,
                         const char *want) {
  uint8_t *out = guarded(cap);
  size_t n = sb_encode(s, enc, out, cap);
  char *got = to_hex(out, n <= cap ? n : cap);
  ck_assert_msg(n <= cap && strcmp(got, want) == 0,
                "codec.txt:%d: %s sb_encode(%s, cap %zu) = %zu bytes %s, want %s", v->line, path,
                enc_name(enc), cap, n, got, want);
  ck_assert_msg(guard_intact(out, cap, cap + GUARD), "codec.txt:%d: %s %s wrote past cap %zu",
                v->line, path, enc_name(enc), cap);
  free(got);
  free(out);
}

/* ---- one vector a line --------------------------------------------------------------------- */

static void check_name(const vector *v) {
  size_t n;
  uint8_t *name = hex_bytes(v->f[1], &n);
  sb_enc enc;
  int rc = sb_enc_parse((const char *)name, n, &enc);
  if (strcmp(v->f[2], "-") == 0)
    ck_assert_msg(rc == -EINVAL, "codec.txt:%d: sb_enc_parse(%s) = %d, want -EINVAL", v->line,
                  v->f[1], rc);
  else
    ck_assert_msg(rc == 0 && strcmp(enc_name(enc), v->f[2]) == 0,
                  "codec.txt:%d: sb_enc_parse(%s) = %d %s, want %s", v->line, v->f[1], rc,
                  rc == 0 ? enc_name(enc) : "", v->f[2]);
  free(name);
}

/* S enc units utf8 byteLength bytes: through both input forms where the UTF-8 exists. */
static void check_string(const vector *v) {
  sb_enc enc = enc_of(v, v->f[1]);
  size_t nu, n8, nb = strlen(v->f[5]) / 2;
  uint16_t *u = hex_units(v->f[2], &nu);
  bool has8 = strcmp(v->f[3], "-") != 0;
  uint8_t *b8 = has8 ? hex_bytes(v->f[3], &n8) : NULL;
  size_t blen = strtoull(v->f[4], NULL, 10);

  for (int form = 0; form < 2; form++) {
    if (form == 1 && !has8)
      break;
    sb_str s = form == 0 ? sb_str_utf16(u, nu) : sb_str_utf8((const char *)b8, n8);
    const char *path = form == 0 ? "utf16" : "utf8";
    ck_assert_msg(sb_str_units(s) == nu, "codec.txt:%d: %s sb_str_units = %zu, want %zu",
                  v->line, path, sb_str_units(s), nu);
    ck_assert_msg(sb_byte_length(s, enc) == blen,
                  "codec.txt:%d: %s sb_byte_length(%s) = %zu, want %zu", v->line, path,
                  enc_name(enc), sb_byte_length(s, enc), blen);
    check_encode(v, path, s, enc, 3 * nu + 8, v->f[5]);
    check_encode(v, path, s, enc, nb, v->f[5]);
    check_encode(v, path, s, enc, blen, v->f[5]); /* what Buffer.from() asks for */
  }
  free(b8);
  free(u);
}

/* W enc cap units utf8 bytes */
static void check_write(const vector *v) {
  sb_enc enc = enc_of(v, v->f[1]);
  size_t cap = strtoull(v->f[2], NULL, 10);
  size_t nu, n8;
  uint16_t *u = hex_units(v->f[3], &nu);
  check_encode(v, "utf16", sb_str_utf16(u, nu), enc, cap, v->f[5]);
  if (strcmp(v->f[4], "-") != 0) {
    uint8_t *b8 = hex_bytes(v->f[4], &n8);
    check_encode(v, "utf8", sb_str_utf8((const char *)b8, n8), enc, cap, v->f[5]);
    free(b8);
  }
  free(u);
}

/* D enc bytes units utf8 */
static void check_decode(const vector *v) {
  sb_enc enc = enc_of(v, v->f[1]);
  size_t n, nu, n8;
  uint8_t *b = hex_bytes(v->f[2], &n);
  uint16_t *want16 = hex_units(v->f[3], &nu);
  uint8_t *want8 = hex_bytes(v->f[4], &n8);

  size_t max16 = sb_decode_utf16_max(n, enc);
  uint16_t *o16 = (uint16_t *)(void *)guarded(max16 * 2);
  size_t got16 = sb_decode_utf16(b, n, enc, o16);
  ck_assert_msg(got16 == nu && memcmp(o16, want16, nu * 2) == 0,
                "codec.txt:%d: sb_decode_utf16(%s) = %zu units, want %zu (%s)", v->line,
                enc_name(enc), got16, nu, v->f[3]);
  ck_assert_msg(got16 <= max16 && guard_intact((uint8_t *)o16, max16 * 2, max16 * 2 + GUARD),
                "codec.txt:%d: sb_decode_utf16(%s) past sb_decode_utf16_max %zu", v->line,
                enc_name(enc), max16);

  size_t max8 = sb_decode_utf8_max(n, enc);
  uint8_t *o8 = guarded(max8);
  size_t got8 = sb_decode_utf8(b, n, enc, (char *)o8);
  char *got = to_hex(o8, got8 <= max8 ? got8 : max8);
  ck_assert_msg(strcmp(got, v->f[4]) == 0, "codec.txt:%d: sb_decode_utf8(%s) = %s, want %s",
                v->line, enc_name(enc), got, v->f[4]);
  ck_assert_msg(got8 <= max8 && guard_intact(o8, max8, max8 + GUARD),
                "codec.txt:%d: sb_decode_utf8(%s) past sb_decode_utf8_max %zu", v->line,
                enc_name(enc), max8);
  free(got);
  free(o8);
  free(o16);
  free(want8);
  free(want16);
  free(b);
}

/* T float64-bits uint8 */
static void check_uint8(const vector *v) {
  uint64_t bits = strtoull(v->f[1], NULL, 16);
  double d;
  memcpy(&d, &bits, sizeof d);
  unsigned want = (unsigned)strtoul(v->f[2], NULL, 10);
  ck_assert_msg(sb_to_uint8(d) == want, "codec.txt:%d: sb_to_uint8(%.17g) = %u, want %u",
                v->line, d, sb_to_uint8(d), want);
  /* and among small numbers, in every place of a block of eight and of the tail */
  enum { N = 19 };
  double a[N];
  uint8_t out[N];
  for (size_t at = 0; at < N; at++) {
    for (size_t i = 0; i < N; i++)
      a[i] = i == at ? d : (double)i - 3.5;
    sb_to_uint8_all(a, N, out);
    for (size_t i = 0; i < N; i++)
      ck_assert_msg(out[i] == (i == at ? want : sb_to_uint8(a[i])),
                    "codec.txt:%d: sb_to_uint8_all(), %.17g at %zu: byte %zu is %u", v->line, d,
                    at, i, out[i]);
  }
}

static const struct {
  char kind;
  int nf;
  void (*check)(const vector *);
} KINDS[] = {
    {'N', 3, check_name},  {'S', 6, check_string}, {'W', 6, check_write},
    {'D', 5, check_decode}, {'T', 3, check_uint8},
};

static void check_vector(const vector *v) {
  for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++) {
    if (v->f[0][0] != KINDS[k].kind || v->f[0][1] != '\0')
      continue;
    ck_assert_msg(v->nf == KINDS[k].nf, "codec.txt:%d: %d fields, want %d", v->line, v->nf,
                  KINDS[k].nf);
    KINDS[k].check(v);
    return;
  }
  ck_abort_msg("codec.txt:%d: unknown kind %s", v->line, v->f[0]);
}

START_TEST(test_vectors) {
  ck_assert_msg(load_error[0] == '\0', "%s", load_error);
  for (int i = _i * CHUNK; i < nvectors && i < (_i + 1) * CHUNK; i++)
    check_vector(&vectors[i]);
}
END_TEST

/* Reads every vector into memory before the runner forks, so each test sees them. */
static void load_vectors(void) {
  const char *dir = getenv("SHMBUF_VECTORS");
  char path[4096];
  snprintf(path, sizeof path, "%s/codec.txt", dir ? dir : ".");
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(load_error, sizeof load_error, "cannot open %.200s (set SHMBUF_VECTORS)", path);
    return;
  }
  char *text = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (cap - len < 65536) {
      cap = cap ? cap * 2 : 1 << 20;
      text = realloc(text, cap + 1);
      if (text == NULL)
        abort();
    }
    got = fread(text + len, 1, cap - len, f);
    len += got;
  } while (got > 0);
  fclose(f);
  text[len] = '\0';

  int line = 0, room = 0;
  for (char *p = text, *next; p < text + len; p = next) {
    char *nl = strchr(p, '\n');
    next = nl ? nl + 1 : text + len;
    if (nl)
      *nl = '\0';
    line++;
    if (*p == '#' || *p == '\0')
      continue;
    if (nvectors == room) {
      room = room ? room * 2 : 4096;
      vectors = realloc(vectors, (size_t)room * sizeof *vectors);
      if (vectors == NULL)
        abort();
    }
    vector *v = &vectors[nvectors++];
    *v = (vector){.line = line};
    for (char *field = p;; field++) {
      if (v->nf < 6)
        v->f[v->nf] = field;
      v->nf++; /* counts them all, so that a long line fails its check */
      field = strchr(field, '\t');
      if (field == NULL)
        break;
      *field = '\0';
    }
  }
}

/* ---- what the vectors cannot say ----------------------------------------------------------- */

START_TEST(test_names) {
  for (int e = 0; e < ENCODINGS; e++) {
    const char *name = enc_name((sb_enc)e);
    sb_enc got;
    ck_assert_int_eq(sb_enc_parse(name, strlen(name), &got), 0);
    ck_assert_int_eq(got, e);
  }
  sb_enc got = SB_ENC_HEX;
  ck_assert_int_eq(sb_enc_parse("utf8x", 4, &got), 0); /* len, not the NUL, ends the name */
  ck_assert_int_eq(got, SB_ENC_UTF8);
  ck_assert_int_eq(sb_enc_parse("hex", 2, &got), -EINVAL);
  ck_assert_int_eq(sb_enc_parse(NULL, 0, &got), -EINVAL);
}
END_TEST

/* Nothing is read or written through the pointers of empty input. */
START_TEST(test_empty) {
  for (int e = 0; e < ENCODINGS; e++) {
    sb_enc enc = (sb_enc)e;
    for (int form = 0; form < 2; form++) {
      sb_str s = form ? sb_str_utf16(NULL, 0) : sb_str_utf8(NULL, 0);
      ck_assert_uint_eq(sb_str_units(s), 0);
      ck_assert_uint_eq(sb_byte_length(s, enc), 0);
      ck_assert_uint_eq(sb_encode(s, enc, NULL, 0), 0);
    }
    uint8_t b[4] = {0x41, 0x42, 0x43, 0x44};
    ck_assert_uint_eq(sb_encode(sb_str_utf8("QUJD", 4), enc, b, 0), 0);
    ck_assert_uint_eq(sb_decode_utf8_max(0, enc), 0);
    ck_assert_uint_eq(sb_decode_utf16_max(0, enc), 0);
    ck_assert_uint_eq(sb_decode_utf8(NULL, 0, enc, NULL), 0);
    ck_assert_uint_eq(sb_decode_utf16(NULL, 0, enc, NULL), 0);
  }
}
END_TEST

/* The bounds are tight where the worst case is plain: every byte invalid UTF-8, every unit
 * a lone surrogate, every latin1 byte above 0x7f, and base64 of any length. */
START_TEST(test_decode_max) {
  enum { N = 99 };
  uint8_t b[N];
  char out[4 * N];
  memset(b, 0xff, N);
  for (size_t n = 0; n <= N; n++) {
    ck_assert_uint_eq(sb_decode_utf8(b, n, SB_ENC_UTF8, out), sb_decode_utf8_max(n, SB_ENC_UTF8));
    ck_assert_uint_eq(sb_decode_utf8(b, n, SB_ENC_LATIN1, out),
                      sb_decode_utf8_max(n, SB_ENC_LATIN1));
    for (int e = SB_ENC_ASCII; e < ENCODINGS; e++)
      ck_assert_uint_eq(sb_decode_utf8(b, n, (sb_enc)e, out), sb_decode_utf8_max(n, (sb_enc)e));
  }
  for (size_t i = 0; i + 1 < N; i += 2) {
    b[i] = 0x00;
    b[i + 1] = 0xdc;
  }
  for (size_t n = 0; n < N; n++)
    ck_assert_uint_eq(sb_decode_utf8(b, n, SB_ENC_UTF16LE, out),
                      sb_decode_utf8_max(n, SB_ENC_UTF16LE));
}
END_TEST

static uint32_t rng = 12345;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Long input crosses the ASCII fast paths at every alignment: one invalid byte anywhere in
 * a megabyte of ASCII becomes EF BF BD right there. */
START_TEST(test_long_utf8) {
  enum { N = (1 << 20) + 13 };
  char *s = malloc(N);
  uint8_t *out = malloc(N + 2);
  ck_assert_ptr_nonnull(s);
  ck_assert_ptr_nonnull(out);
  for (size_t i = 0; i < N; i++)
    s[i] = (char)(' ' + i % 95);
  sb_str str = sb_str_utf8(s, N);
  ck_assert_uint_eq(sb_encode(str, SB_ENC_UTF8, out, N), N);
  ck_assert_mem_eq(out, s, N);
  size_t at[] = {0,  1,  7,  8,  9,    15,    16,     17,     31,     32,    33,
                 39, 40, 63, 64, 4095, 65536, N - 33, N - 17, N - 16, N - 9, N - 1};
  for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
    char was = s[at[k]];
    s[at[k]] = (char)0x80;
    ck_assert_uint_eq(sb_str_units(str), N);
    ck_assert_uint_eq(sb_byte_length(str, SB_ENC_UTF8), N + 2);
    ck_assert_uint_eq(sb_encode(str, SB_ENC_UTF8, out, N + 2), N + 2);
    ck_assert_mem_eq(out, s, at[k]);
    ck_assert_mem_eq(out + at[k], "\xef\xbf\xbd", 3);
    ck_assert_mem_eq(out + at[k] + 3, s + at[k] + 1, N - at[k] - 1);
    ck_assert_uint_eq(sb_decode_utf8((const uint8_t *)s, N, SB_ENC_UTF8, (char *)out), N + 2);
    ck_assert_mem_eq(out + at[k], "\xef\xbf\xbd", 3);
    ck_assert_uint_eq(sb_encode(str, SB_ENC_LATIN1, out, N), N);
    ck_assert_uint_eq(out[at[k]], 0xfd);
    s[at[k]] = was;
  }
  free(out);
  free(s);
}
END_TEST

/* A long mixed string cut at every cap keeps the longest whole-character prefix, in UTF-8
 * from both input forms. */
START_TEST(test_caps_long) {
  enum { MAXLEN = 3000 };
  static const char *const chars[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  static const uint16_t units16[][2] = {{0x61}, {0xe9}, {0x20ac}, {0xd83d, 0xde00}};
  char *s = malloc(MAXLEN + 4);
  uint16_t *u = malloc((MAXLEN + 4) * sizeof *u);
  bool *starts = calloc(MAXLEN + 5, 1);
  uint8_t *out = malloc(MAXLEN + 4);
  ck_assert(s && u && starts && out);
  size_t n = 0, nu = 0;
  while (n < MAXLEN) {
    uint32_t r = next_rand();
    int c = r % 8 < 5 ? 0 : (int)(r % 8) - 4; /* mostly ASCII runs, then 2, 3 and 4 bytes */
    size_t w = strlen(chars[c]);
    starts[n] = true;
    memcpy(s + n, chars[c], w);
    n += w;
    u[nu++] = units16[c][0];
    if (c == 3)
      u[nu++] = units16[c][1];
  }
  starts[n] = true;
  for (size_t cap = 0; cap <= n + 1; cap++) {
    size_t want = cap < n ? cap : n;
    while (!starts[want])
      want--;
    ck_assert_uint_eq(sb_encode(sb_str_utf8(s, n), SB_ENC_UTF8, out, cap), want);
    ck_assert_mem_eq(out, s, want);
    ck_assert_uint_eq(sb_encode(sb_str_utf16(u, nu), SB_ENC_UTF8, out, cap), want);
    ck_assert_mem_eq(out, s, want);
  }
  free(out);
  free(starts);
  free(u);
  free(s);
}
END_TEST

/* Lossless encodings give back the bytes their toString() gave, at any length and with the
 * string in either form; base64 also with line breaks every 76 characters. */
START_TEST(test_round_trip) {
  enum { N = 5000 };
  static const sb_enc lossless[] = {SB_ENC_UTF16LE, SB_ENC_LATIN1, SB_ENC_BASE64,
                                    SB_ENC_BASE64URL, SB_ENC_HEX};
  uint8_t *b = malloc(N), *back = malloc(N + 1);
  char *text = malloc(4 * N), *wrapped = malloc(6 * N);
  uint16_t *u = malloc(4 * N * sizeof *u);
  ck_assert(b && back && text && wrapped && u);
  for (size_t i = 0; i < N; i++)
    b[i] = (uint8_t)next_rand();
  for (size_t n = 0; n < N; n += n < 64 ? 1 : 997) {
    for (size_t e = 0; e < sizeof lossless / sizeof lossless[0]; e++) {
      sb_enc enc = lossless[e];
      size_t whole = enc == SB_ENC_UTF16LE ? n & ~(size_t)1 : n;
      size_t len = sb_decode_utf8(b, n, enc, text);
      if (enc != SB_ENC_UTF16LE) { /* lone surrogates are lost in UTF-8 */
        ck_assert_uint_eq(sb_encode(sb_str_utf8(text, len), enc, back, N + 1), whole);
        ck_assert_mem_eq(back, b, whole);
      }
      size_t nu = sb_decode_utf16(b, n, enc, u);
      ck_assert_uint_eq(sb_encode(sb_str_utf16(u, nu), enc, back, N + 1), whole);
      ck_assert_mem_eq(back, b, whole);
      if (enc != SB_ENC_BASE64)
        continue;
      size_t w = 0;
      for (size_t i = 0; i < len; i++) {
        if (i > 0 && i % 76 == 0)
          wrapped[w++] = '\n';
        wrapped[w++] = text[i];
      }
      ck_assert_uint_eq(sb_encode(sb_str_utf8(wrapped, w), enc, back, N + 1), n);
      ck_assert_mem_eq(back, b, n);
    }
  }
  free(u);
  free(wrapped);
  free(text);
  free(back);
  free(b);
}
END_TEST

static Suite *codec_suite(void) {
  Suite *s = suite_create("codec");
  TCase *tc = tcase_create("vectors");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, test_vectors, 0, nvectors > 0 ? (nvectors + CHUNK - 1) / CHUNK : 1);
  suite_add_tcase(s, tc);

  tc = tcase_create("api");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_names);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_decode_max);
  tcase_add_test(tc, test_long_utf8);
  tcase_add_test(tc, test_caps_long);
  tcase_add_test(tc, test_round_trip);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  load_vectors();
  if (nvectors == 0 && load_error[0] == '\0')
    snprintf(load_error, sizeof load_error, "codec.txt holds no vectors");
  SRunner *sr = srunner_create(codec_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
