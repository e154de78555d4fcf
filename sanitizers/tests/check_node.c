/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "codec.h"
#include "node.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every expected string below was printed by Node v20 (node -e ...), not written by hand:
 * pool placements by Buffer.allocUnsafe/Buffer.from on a fresh pool, numbers by
 * ERR_OUT_OF_RANGE and util.inspect, quotes by util.inspect, messages by the errors Node
 * throws. */

/* ---- pool rules ---------------------------------------------------------------------------- */

START_TEST(pool_takes) {
  ck_assert(!sb_pool_takes(0, 8192));
  ck_assert(sb_pool_takes(1, 8192));
  ck_assert(sb_pool_takes(4095, 8192));
  ck_assert(!sb_pool_takes(4096, 8192)); /* size < poolSize >>> 1, strictly */
  ck_assert(!sb_pool_takes(4097, 8192));
  ck_assert(!sb_pool_takes(UINT64_MAX, 8192));
  ck_assert(!sb_pool_takes((1ull << 32) + 1, 8192)); /* no truncation to 32 bits */
  ck_assert(sb_pool_takes(7, 16));
  ck_assert(!sb_pool_takes(8, 16));
  ck_assert(!sb_pool_takes(8, 17)); /* >>> 1 rounds down */
  ck_assert(!sb_pool_takes(1, 1));
  ck_assert(!sb_pool_takes(1, 0));
}
END_TEST

START_TEST(pool_full) {
  sb_pool p = {8192, 0};
  ck_assert(!sb_pool_full(&p, 0));
  ck_assert(!sb_pool_full(&p, 8192));
  ck_assert(sb_pool_full(&p, 8193));
  p.offset = 8184;
  ck_assert(!sb_pool_full(&p, 8)); /* an exact fit still fits */
  ck_assert(sb_pool_full(&p, 9));
  ck_assert(sb_pool_full(&p, (1ull << 32) + 1));
  p.offset = 8192;
  ck_assert(!sb_pool_full(&p, 0));
  ck_assert(sb_pool_full(&p, 1));
}
END_TEST

START_TEST(pool_take) {
  sb_pool p = {8192, 0};
  ck_assert_uint_eq(sb_pool_take(&p, 1), 0);
  ck_assert_uint_eq(p.offset, 8);
  ck_assert_uint_eq(sb_pool_take(&p, 7), 8);
  ck_assert_uint_eq(p.offset, 16);
  ck_assert_uint_eq(sb_pool_take(&p, 8), 16);
  ck_assert_uint_eq(p.offset, 24);
  ck_assert_uint_eq(sb_pool_take(&p, 9), 24);
  ck_assert_uint_eq(p.offset, 40);
  ck_assert_uint_eq(sb_pool_take(&p, 0), 40); /* a zero-length result takes nothing */
  ck_assert_uint_eq(p.offset, 40);
  ck_assert_uint_eq(sb_pool_take(&p, 4095), 40);
  ck_assert_uint_eq(p.offset, 4136);
  p.offset = 8096;
  ck_assert_uint_eq(sb_pool_take(&p, 96), 8096);
  ck_assert_uint_eq(p.offset, 8192);
  p.offset = 4096;
  ck_assert_uint_eq(sb_pool_take(&p, 4090), 4096);
  ck_assert_uint_eq(p.offset, 8192); /* 8186 aligns past the end: the pool is full */
  ck_assert(sb_pool_full(&p, 1));
  /* near the top of uint32 the alignment must not wrap */
  p = (sb_pool){UINT32_MAX, UINT32_MAX - 15};
  ck_assert_uint_eq(sb_pool_take(&p, 1), UINT32_MAX - 15);
  ck_assert_uint_eq(p.offset, UINT32_MAX - 7);
}
END_TEST

/* ---- Buffer.from(string): plans replayed against Node's placements -------------------------- */

typedef struct piece {
  uint16_t u[4];
  size_t n;
  size_t times;
} piece;

/* A test string: up to three repeated pieces of UTF-16. */
typedef struct tstr {
  piece p[3];
  int np;
} tstr;

static uint16_t *tstr_units(const tstr *t, size_t *n) {
  size_t len = 0;
  for (int i = 0; i < t->np; i++)
    len += t->p[i].n * t->p[i].times;
  uint16_t *u = malloc((len + 1) * sizeof *u);
  ck_assert_ptr_nonnull(u);
  size_t k = 0;
  for (int i = 0; i < t->np; i++)
    for (size_t r = 0; r < t->p[i].times; r++)
      for (size_t j = 0; j < t->p[i].n; j++)
        u[k++] = t->p[i].u[j];
  *n = len;
  return u;
}

/* The UTF-8 form, or NULL when the string holds a lone surrogate (UTF-8 cannot carry it). */
static char *utf8_of(const uint16_t *u, size_t n, size_t *len) {
  char *s = malloc(n * 3 + 1);
  ck_assert_ptr_nonnull(s);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = u[i];
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] <= 0xdfff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (u[++i] - 0xdc00u);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      free(s);
      return NULL;
    }
    if (c < 0x80)
      s[k++] = (char)c;
    else if (c < 0x800) {
      s[k++] = (char)(0xc0 | c >> 6);
      s[k++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      s[k++] = (char)(0xe0 | c >> 12);
      s[k++] = (char)(0x80 | (c >> 6 & 0x3f));
      s[k++] = (char)(0x80 | (c & 0x3f));
    } else {
      s[k++] = (char)(0xf0 | c >> 18);
      s[k++] = (char)(0x80 | (c >> 12 & 0x3f));
      s[k++] = (char)(0x80 | (c >> 6 & 0x3f));
      s[k++] = (char)(0x80 | (c & 0x3f));
    }
  }
  s[k] = '\0';
  *len = k;
  return s;
}

/* One call in a Node script: allocUnsafe(size) when enc is NULL, else Buffer.from(str, enc),
 * and what Node answered: length, byteOffset, buffer.byteLength, and which pool (-1: none). */
typedef struct call {
  const char *enc;
  uint64_t size;
  tstr str;
  uint64_t length, offset, ab_length;
  int pool;
} call;

#define U(...) {__VA_ARGS__}
#define S1(a, na, ta) {{{U a, na, ta}}, 1}
#define S2(a, na, ta, b, nb, tb) {{{U a, na, ta}, {U b, nb, tb}}, 2}
#define S3(a, na, ta, b, nb, tb, c, nc, tc) {{{U a, na, ta}, {U b, nb, tb}, {U c, nc, tc}}, 3}
#define ALLOC(size, len, off, ab, pool) {NULL, size, {{{{0}, 0, 0}}, 0}, len, off, ab, pool}
#define FROM(enc, s, len, off, ab, pool) {enc, 0, s, len, off, ab, pool}
#define END {NULL, 0, {{{{0}, 0, 0}}, 0}, 0, 0, 0, -2}

/* for (let b; (b = Buffer.allocUnsafe(4095)).byteOffset !== 4096;); then the calls, with the
 * results collected before printing anything. */
static const call from_scripts[][16] = {
    {FROM("utf8", S1((0xe9), 1, 1500), 3000, 0, 8192, 0),
     FROM("utf8", S1((0xe9), 1, 2100), 4200, 0, 4200, -1),
     FROM("utf8", S1((0x61), 1, 4096), 4096, 0, 4096, -1),
     FROM("latin1", S1((0x61), 1, 4095), 4095, 3000, 8192, 0),
     FROM("hex", S1((0x7a, 0x7a), 2, 3000), 0, 0, 3000, -1),
     FROM("base64", S1((0x51, 0x55, 0x4a, 0x44), 4, 300), 900, 7096, 8192, 0),
     FROM("utf8", S1((0x61), 1, 1023), 1023, 0, 8192, 1),
     FROM("utf8", S1((0x61), 1, 1024), 1024, 1024, 8192, 1),
     FROM("ucs2", S1((0x61), 1, 1024), 2048, 2048, 8192, 1),
     FROM("ucs2", S1((0x61), 1, 2048), 4096, 0, 4096, -1),
     FROM("ucs2", S1((0x61), 1, 2047), 4094, 4096, 8192, 1),
     FROM("base64", S1((0x61), 1, 2047), 1535, 0, 8192, 2),
     FROM("utf8", S1((0xd83d, 0xde00), 2, 1023), 4092, 1536, 8192, 2),
     FROM("utf8", S1((0xd83d, 0xde00), 2, 1024), 4096, 0, 4096, -1), END},
    {FROM("utf8", S1((0xd800), 1, 1100), 3300, 0, 8192, 0),
     FROM("hex", S1((0x61, 0x62, 0x63), 3, 1), 1, 3304, 8192, 0),
     FROM("latin1", S1((0x61), 1, 1024), 1024, 3312, 8192, 0),
     FROM("ascii", S1((0x61, 0x62), 2, 1), 2, 4336, 8192, 0),
     FROM("base64url", S1((0x2d, 0x5f), 2, 700), 1050, 4344, 8192, 0),
     FROM("utf16le", S1((0xd83d, 0xde00), 2, 511), 2044, 0, 8192, 1),
     FROM("utf8", S1((0x78), 1, 1), 1, 2048, 8192, 1),
     FROM("latin1", S1((0xe9), 1, 1023), 1023, 2056, 8192, 1),
     FROM("base64", S1((0x61, 0x3d), 2, 1500), 0, 3080, 8192, 1),
     FROM("hex", S1((0x66, 0x66), 2, 2047), 2047, 3080, 8192, 1),
     FROM("hex", S1((0x66, 0x66), 2, 2048), 2048, 0, 2048, -1),
     FROM("utf8", S1((0x800), 1, 1365), 4095, 0, 8192, 2),
     FROM("utf8", S1((0x800), 1, 1366), 4098, 0, 4098, -1), END},
    /* the room is the estimate (4 per unit), not the bytes written: 'abcd' hex asks for 16 */
    {ALLOC(4095, 4095, 0, 8192, 0), ALLOC(4000, 4000, 4096, 8192, 0),
     ALLOC(88, 88, 8096, 8192, 0), FROM("latin1", S1((0x61, 0x62), 2, 1), 2, 8184, 8192, 0),
     ALLOC(1, 1, 0, 8192, 1), END},
    {ALLOC(4095, 4095, 0, 8192, 0), ALLOC(4000, 4000, 4096, 8192, 0),
     ALLOC(88, 88, 8096, 8192, 0), FROM("hex", S1((0x61, 0x62, 0x63, 0x64), 4, 1), 2, 0, 8192, 1),
     ALLOC(1, 1, 8, 8192, 1), END},
    {ALLOC(8, 8, 0, 8192, 0), FROM("hex", S1((0x61, 0x62, 0x63, 0x64), 4, 1), 2, 8, 8192, 0),
     ALLOC(1, 1, 16, 8192, 0), END},
};

/* Replays a script with Node's rules (allocate() and fromStringFast()) and the plan. */
static void replay(const call *calls, bool utf16) {
  sb_pool pool = {SB_POOL_SIZE_DEFAULT, SB_POOL_SIZE_DEFAULT}; /* the fresh-pool loop leaves it full */
  int pool_index = -1;
  for (int i = 0; calls[i].pool != -2; i++) {
    const call *c = &calls[i];
    bool pooled;
    uint64_t room, used = c->length, ab;
    if (c->enc == NULL) {
      pooled = sb_pool_takes(c->size, pool.size);
      room = c->size;
    } else {
      size_t n, n8;
      uint16_t *u = tstr_units(&c->str, &n);
      char *s8 = utf8_of(u, n, &n8);
      sb_enc enc;
      ck_assert_int_eq(sb_enc_parse(c->enc, strlen(c->enc), &enc), 0);
      sb_from_string_plan plan;
      if (utf16 || s8 == NULL)
        plan = sb_from_string_plan_for(sb_str_utf16(u, n), enc, pool.size);
      else
        plan = sb_from_string_plan_for(sb_str_utf8(s8, n8), enc, pool.size);
      free(u);
      free(s8);
      pooled = plan.pooled;
      room = plan.room;
      ck_assert_uint_ge(room, used);
    }
    uint64_t at = 0;
    int idx = -1;
    if (pooled) {
      if (sb_pool_full(&pool, room)) {
        pool.offset = 0;
        pool_index++;
      }
      at = sb_pool_take(&pool, (uint32_t)used);
      ab = pool.size;
      idx = pool_index;
    } else {
      ab = room;
    }
    ck_assert_msg(at == c->offset && ab == c->ab_length && idx == c->pool,
                  "call %d (%s): offset %llu ab %llu pool %d, Node: %llu %llu %d", i,
                  c->enc ? c->enc : "allocUnsafe", (unsigned long long)at,
                  (unsigned long long)ab, idx, (unsigned long long)c->offset,
                  (unsigned long long)c->ab_length, c->pool);
  }
}

START_TEST(from_string_matches_node) {
  replay(from_scripts[_i], false);
  replay(from_scripts[_i], true);
}
END_TEST

START_TEST(from_string_plan) {
  sb_from_string_plan p;
  p = sb_from_string_plan_for(sb_str_utf8("abcd", 4), SB_ENC_HEX, 8192);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.room, 16); /* the estimate, though 2 bytes get written */
  p = sb_from_string_plan_for(sb_str_utf8("abcd", 4), SB_ENC_UTF8, 8192);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.room, 16);
  /* 1023 units * 4 = 4092 < 4096 stays an estimate; 1024 * 4 = 4096 asks byteLength */
  char *a = malloc(5000);
  memset(a, 'a', 5000);
  p = sb_from_string_plan_for(sb_str_utf8(a, 1023), SB_ENC_UTF8, 8192);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.room, 4092);
  p = sb_from_string_plan_for(sb_str_utf8(a, 1024), SB_ENC_UTF8, 8192);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.room, 1024);
  p = sb_from_string_plan_for(sb_str_utf8(a, 1024), SB_ENC_UTF16LE, 8192);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.room, 2048);
  p = sb_from_string_plan_for(sb_str_utf8(a, 2048), SB_ENC_UTF16LE, 8192);
  ck_assert(!p.pooled);
  ck_assert_uint_eq(p.room, 4096);
  /* 4096 units are never pooled, and the room is the exact byteLength */
  p = sb_from_string_plan_for(sb_str_utf8(a, 4096), SB_ENC_HEX, 8192);
  ck_assert(!p.pooled);
  ck_assert_uint_eq(p.room, 2048);
  p = sb_from_string_plan_for(sb_str_utf8(a, 5000), SB_ENC_LATIN1, 8192);
  ck_assert(!p.pooled);
  ck_assert_uint_eq(p.room, 5000);
  /* a bigger pool moves every threshold */
  p = sb_from_string_plan_for(sb_str_utf8(a, 4096), SB_ENC_LATIN1, 65536);
  ck_assert(p.pooled);
  ck_assert_uint_eq(p.room, 16384);
  free(a);
}
END_TEST

/* ---- sb_js_number ---------------------------------------------------------------------------- */

typedef struct num_case {
  double v;
  const char *sep;   /* inside ERR_OUT_OF_RANGE */
  const char *plain; /* util.inspect(v) */
} num_case;

static const num_case num_cases[] = {
    {-1, "-1", "-1"},
    {9223372036854775808.0, "9_223_372_036_854_776_000", "9223372036854776000"},
    {4294967297, "4_294_967_297", "4294967297"},
    {NAN, "NaN", "NaN"},
    {1.5, "1.5", "1.5"},
    {-0.0, "-0", "-0"},
    {0, "0", "0"},
    {1e21, "1e_+21", "1e+21"},
    {1e-7, "1e-7", "1e-7"},
    {4294967296, "4294967296", "4294967296"},
    {-4294967296, "-4294967296", "-4294967296"},
    {-4294967297, "-4_294_967_297", "-4294967297"},
    {4294967296.5, "4294967296.5", "4294967296.5"},
    {1e300, "1e+_300", "1e+300"},
    {-1e21, "-1e_+21", "-1e+21"},
    {123456789012, "123_456_789_012", "123456789012"},
    {INFINITY, "Infinity", "Infinity"},
    {-INFINITY, "-Infinity", "-Infinity"},
    {0.1, "0.1", "0.1"},
    {1e-6, "0.000001", "0.000001"},
    {123e-20, "1.23e-18", "1.23e-18"},
    {5e-324, "5e-324", "5e-324"},
    {1.7976931348623157e308, "1._797_693_134_862_315_7e+_308", "1.7976931348623157e+308"},
    {9007199254740992, "9_007_199_254_740_992", "9007199254740992"},
    {9007199254740994, "9_007_199_254_740_994", "9007199254740994"},
    {-9007199254740992, "-9_007_199_254_740_992", "-9007199254740992"},
    {1e20, "100_000_000_000_000_000_000", "100000000000000000000"},
    {12345678901234567890.0, "12_345_678_901_234_567_000", "12345678901234567000"},
    {0.000001234, "0.000001234", "0.000001234"},
    {100, "100", "100"},
    {1234567.125, "1234567.125", "1234567.125"},
    {9.5367431640625e-7, "9.5367431640625e-7", "9.5367431640625e-7"},
    {1.0 / 3, "0.3333333333333333", "0.3333333333333333"},
    {-1e-7, "-1e-7", "-1e-7"},
    {1e16, "10_000_000_000_000_000", "10000000000000000"},
    {-1.5e-300, "-1.5e-300", "-1.5e-300"},
    {2147483648, "2147483648", "2147483648"},
    {4294967295, "4294967295", "4294967295"},
    {1e15 + 0.5, "1000000000000000.5", "1000000000000000.5"},
    {99999, "99999", "99999"},
    {12345.678, "12345.678", "12345.678"},
};

START_TEST(js_number) {
  const num_case *c = &num_cases[_i];
  char out[64];
  memset(out, 'X', sizeof out);
  size_t n = sb_js_number(c->v, true, out);
  ck_assert_str_eq(out, c->sep);
  ck_assert_uint_eq(n, strlen(c->sep));
  ck_assert_uint_le(n, 39); /* the header promises 40 bytes do */
  memset(out, 'X', sizeof out);
  n = sb_js_number(c->v, false, out);
  ck_assert_str_eq(out, c->plain);
  ck_assert_uint_eq(n, strlen(c->plain));
}
END_TEST

/* The longest outputs fit in the 40 bytes the header promises. */
START_TEST(js_number_fits) {
  static const num_case worst[] = {
      {-1.7976931348623157e308, "-1._797_693_134_862_315_7e+_308", NULL},
      {-2.2250738585072014e-308, "-2.2250738585072014e-308", NULL},
      {-1.2345678901234567e-300, "-1.2345678901234568e-300", NULL},
      {-9.87654321012345e20, "-987_654_321_012_345_000_000", NULL},
      {-123456789012345680000.0, "-123_456_789_012_345_680_000", NULL},
  };
  for (size_t i = 0; i < sizeof worst / sizeof *worst; i++) {
    char out[40 + 24];
    memset(out, 'X', sizeof out);
    size_t n = sb_js_number(worst[i].v, true, out);
    ck_assert_str_eq(out, worst[i].sep);
    ck_assert_uint_le(n + 1, 40);
    for (size_t k = 40; k < sizeof out; k++)
      ck_assert_int_eq(out[k], 'X');
  }
}
END_TEST

/* ---- util.inspect() quoting, as ERR_INVALID_ARG_VALUE shows a fill string ---------------------- */

typedef struct quote_case {
  const char *in;
  size_t n;
  const char *want; /* util.inspect(in) */
} quote_case;

static const quote_case quote_cases[] = {
    {"abc", 3, "'abc'"},
    {"it's", 4, "\"it's\""},
    {"a'b\"c", 5, "`a'b\"c`"},
    {"a'b\"c`d", 7, "'a\\'b\"c`d'"},
    {"a'b\"c${", 7, "'a\\'b\"c${'"},
    {"a'b\"c$", 6, "`a'b\"c$`"},
    {"a'b\"c$ {", 8, "`a'b\"c$ {`"},
    {"a\012b\011c\000d\\e", 9, "'a\\nb\\tc\\x00d\\\\e'"},
    {"\010\014\015\001\013\037\177", 7, "'\\b\\f\\r\\x01\\x0B\\x1F\\x7F'"},
    {"\302\200\302\237\302\240\303\251\302\255\303\202", 12, "'\\x80\\x9F\302\240\303\251\302\255\303\202'"},
    {"\360\237\230\200", 4, "'\360\237\230\200'"},
    {"'", 1, "\"'\""},
    {"\"", 1, "'\"'"},
    {"`", 1, "'`'"},
    {"", 0, "''"},
    {"a'b\"${x}`", 9, "'a\\'b\"${x}`'"},
    {"\\'", 2, "\"\\\\'\""},
    {"it's \\ \012", 8, "\"it's \\\\ \\n\""},
    {"\346\227\245\346\234\254\350\252\236'", 10, "\"\346\227\245\346\234\254\350\252\236'\""},
    {"\357\273\277\342\200\250", 6, "'\357\273\277\342\200\250'"},
};

START_TEST(js_quote) {
  const quote_case *c = &quote_cases[_i];
  sb_error e;
  char want[256];
  snprintf(want, sizeof want, "The argument 'value' is invalid. Received %s", c->want);
  ck_assert_int_eq(sb_err_fill_value(&e, sb_str_utf8(c->in, c->n)), -EINVAL);
  ck_assert_str_eq(e.message, want);
}
END_TEST

/* ---- error builders -------------------------------------------------------------------------- */

START_TEST(err_range) {
  sb_error e;
  ck_assert_int_eq(sb_err_range(&e, "offset", ">= 0 and <= 0", 1), -ERANGE);
  ck_assert_int_eq(e.errnum, -ERANGE);
  ck_assert_str_eq(e.code, "ERR_OUT_OF_RANGE");
  ck_assert_str_eq(e.message,
                   "The value of \"offset\" is out of range. It must be >= 0 and <= 0. Received 1");
  ck_assert_int_eq(sb_err_range(&e, "value", ">= -(2 ** 63) and < 2 ** 63", 9223372036854775808.0),
                   -ERANGE);
  ck_assert_str_eq(e.message, "The value of \"value\" is out of range. It must be >= -(2 ** 63) "
                              "and < 2 ** 63. Received 9_223_372_036_854_776_000");
  sb_err_range(&e, "x", "an integer", -0.0);
  ck_assert_str_eq(e.message,
                   "The value of \"x\" is out of range. It must be an integer. Received -0");
}
END_TEST

START_TEST(err_size) {
  static const struct {
    double v;
    const char *msg;
  } cases[] = {
      /* Buffer.alloc(v) / allocUnsafe(v) / allocUnsafeSlow(v) */
      {-1, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received -1"},
      {9007199254740992, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
                         "Received 9_007_199_254_740_992"},
      {-0.5, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received -0.5"},
      {NAN, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. Received NaN"},
      {4294967297, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
                   "Received 4_294_967_297"},
      {1e21, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
             "Received 1e_+21"},
      {-INFINITY, "The value of \"size\" is out of range. It must be >= 0 && <= 4294967296. "
                  "Received -Infinity"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    sb_error e;
    ck_assert_int_eq(sb_err_size(&e, cases[i].v), -ERANGE);
    ck_assert_str_eq(e.code, "ERR_OUT_OF_RANGE");
    ck_assert_str_eq(e.message, cases[i].msg);
  }
}
END_TEST

START_TEST(err_encoding) {
  sb_error e;
  ck_assert_int_eq(sb_err_encoding(&e, "UTF-32", 6), -EINVAL);
  ck_assert_int_eq(e.errnum, -EINVAL);
  ck_assert_str_eq(e.code, "ERR_UNKNOWN_ENCODING");
  ck_assert_str_eq(e.message, "Unknown encoding: UTF-32");
  /* the name is a counted string, not NUL-terminated */
  sb_err_encoding(&e, "utf-7 and more", 5);
  ck_assert_str_eq(e.message, "Unknown encoding: utf-7");
  /* a huge name comes whole, as Node prints it */
  char *big = malloc(100000);
  memset(big, 'z', 100000);
  sb_err_encoding(&e, big, 100000);
  ck_assert_uint_eq(strlen(e.message), 18 + 100000);
  ck_assert(strncmp(e.message, "Unknown encoding: zzz", 21) == 0);
  sb_error_release(&e);
  free(big);
  /* bytes that are not UTF-8 stand for U+FFFD each, so the message is valid UTF-8 */
  sb_err_encoding(&e, "ab\xff\xc3", 4);
  ck_assert_str_eq(e.message, "Unknown encoding: ab\xef\xbf\xbd\xef\xbf\xbd");
  sb_error_release(&e);
  ck_assert_ptr_null(e.message);
}
END_TEST

START_TEST(err_arg_value) {
  sb_error e;
  ck_assert_int_eq(sb_err_arg_value(&e, -ENOENT, "buffer", "'abc'"), -ENOENT);
  ck_assert_int_eq(e.errnum, -ENOENT);
  ck_assert_str_eq(e.code, "ERR_INVALID_ARG_VALUE");
  ck_assert_str_eq(e.message, "The argument 'buffer' is invalid. Received 'abc'");

  /* inspected values longer than 128 UTF-16 units are cut at 128 and get "..." */
  char shown[300];
  memset(shown, 'x', sizeof shown);
  shown[0] = shown[127] = '\'';
  shown[128] = '\0'; /* exactly 128: whole */
  sb_err_arg_value(&e, -EINVAL, "encoding", shown);
  ck_assert_str_eq(e.message + strlen("The argument 'encoding' is invalid. Received "), shown);
  shown[128] = 'y';
  shown[129] = '\'';
  shown[130] = '\0';
  sb_err_arg_value(&e, -EINVAL, "encoding", shown);
  char want[300];
  snprintf(want, sizeof want, "The argument 'encoding' is invalid. Received %.128s...", shown);
  ck_assert_str_eq(e.message, want);
  /* units, not bytes: 127 units of 'é' (2 bytes each) and a quote fit */
  char wide[400];
  size_t k = 0;
  wide[k++] = '\'';
  for (int i = 0; i < 126; i++) {
    wide[k++] = '\303';
    wide[k++] = '\251';
  }
  wide[k++] = '\'';
  wide[k] = '\0';
  sb_err_arg_value(&e, -EINVAL, "value", wide);
  ck_assert_str_eq(e.message + strlen("The argument 'value' is invalid. Received "), wide);
  sb_err_arg_value(&e, -EINVAL, "value", "<Buffer >");
  ck_assert_str_eq(e.message, "The argument 'value' is invalid. Received <Buffer >");
}
END_TEST

/* Node cuts the UTF-16 string: a pair cut in half leaves a lone surrogate, which goes out as
 * U+FFFD (node -e 'new (require("internal/errors").codes.ERR_INVALID_ARG_VALUE)("value",
 * "\u{1F600}".repeat(100)).message' with --expose-internals). */
START_TEST(err_arg_value_split_pair) {
  char shown[600];
  size_t k = 0;
  shown[k++] = '\'';
  for (int i = 0; i < 100; i++) {
    memcpy(shown + k, "\360\237\230\200", 4);
    k += 4;
  }
  shown[k++] = '\'';
  shown[k] = '\0';
  sb_error e;
  sb_err_arg_value(&e, -EINVAL, "value", shown);
  char want[600];
  snprintf(want, sizeof want, "The argument 'value' is invalid. Received %.253s\357\277\275...",
           shown);
  ck_assert_str_eq(e.message, want);
}
END_TEST

START_TEST(err_bounds) {
  sb_error e;
  ck_assert_int_eq(sb_err_bounds(&e, NULL), -ERANGE);
  ck_assert_str_eq(e.code, "ERR_BUFFER_OUT_OF_BOUNDS");
  ck_assert_str_eq(e.message, "Attempt to access memory outside buffer bounds");
  ck_assert_int_eq(sb_err_bounds(&e, "offset"), -ERANGE);
  ck_assert_str_eq(e.code, "ERR_BUFFER_OUT_OF_BOUNDS");
  ck_assert_str_eq(e.message, "\"offset\" is outside of buffer bounds");
}
END_TEST

START_TEST(err_set) {
  sb_error e;
  ck_assert_int_eq(sb_err_set(&e, -EIO, "ERR_SHMBUF_IO", "%s %d", "lost", 42), -EIO);
  ck_assert_int_eq(e.errnum, -EIO);
  ck_assert_str_eq(e.code, "ERR_SHMBUF_IO");
  ck_assert_str_eq(e.message, "lost 42");
  char big[2000];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  sb_err_set(&e, -EIO, "X", "%s", big);
  ck_assert_uint_eq(strlen(e.message), sizeof big - 1); /* whole: Node cuts nothing */
  sb_error_release(&e);
}
END_TEST

/* ---- sb_err_fill_value: Buffer.alloc(1, value, 'hex') for strings that encode to nothing ------ */

typedef struct fill_case {
  tstr s;
  const char *shown; /* after "The argument 'value' is invalid. Received " */
} fill_case;

#define FILL1(a, na, ta, shown) {S1(a, na, ta), shown}
#define FILL2(a, na, ta, b, nb, tb, shown) {S2(a, na, ta, b, nb, tb), shown}
#define FILL3(a, na, ta, b, nb, tb, c, nc, tc, shown) {S3(a, na, ta, b, nb, tb, c, nc, tc), shown}

static const fill_case fill_cases[] = {
    FILL1((0x7a, 0x7a), 2, 1,
          "'zz'"),
    FILL1((0x69, 0x74, 0x27, 0x7a), 4, 1,
          "\"it'z\""),
    FILL1((0x67), 1, 200,
          "'ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg..."),
    FILL1((0xe9, 0xa), 2, 1,
          "'\303\251\\n'"),
    FILL1((0x0), 1, 50,
          "'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0..."),
    FILL1((0x61, 0x85, 0x62), 3, 1,
          "'a\\x85b'"),
    FILL1((0x61, 0xd800, 0x62), 3, 1,
          "'a\\ud800b'"),
    FILL2((0x67), 1, 600, (0x27), 1, 1,
          "\"ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg..."),
    FILL1((0x67, 0xa), 2, 100,
          "'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012  'g\\n' +\012..."),
    FILL2((0x67), 1, 126, (0xa), 1, 1,
          "'gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\\..."),
    FILL1((0xd83d, 0xde00), 2, 100,
          "'\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\360\237\230\200\357\277\275..."),
    FILL3((0x78), 1, 20, (0xa), 1, 1, (0x79), 1, 104,
          "'xxxxxxxxxxxxxxxxxxxx\\n' +\012  'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy..."),
    FILL3((0x78), 1, 20, (0xa), 1, 1, (0x79), 1, 103,
          "'xxxxxxxxxxxxxxxxxxxx\\n' +\012  'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy..."),
    FILL2((0x67), 1, 10001, (0x27), 1, 1,
          "'ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg..."),
    FILL2((0x67), 1, 9999, (0x27), 1, 1,
          "\"ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg..."),
    FILL2((0x27, 0xa), 2, 1, (0x67), 1, 130,
          "\"'\\n\" +\012  'ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg..."),
    FILL2((0x22, 0xa), 2, 1, (0x67, 0x27), 2, 70,
          "'\"\\n' +\012  \"g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g'g..."),
    FILL1((0xd83d), 1, 1,
          "'\\ud83d'"),
    FILL2((0x67), 1, 126, (0xd83d, 0xde00), 2, 2,
          "'gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\357\277\275..."),
    FILL2((0x67), 1, 125, (0xd83d, 0xde00), 2, 2,
          "'ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\360\237\230\200..."),
    FILL1((0x85), 1, 100,
          "'\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x85\\x8..."),
    FILL1((0x9), 1, 70,
          "'\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\t\\..."),
    FILL3((0x67), 1, 16, (0xa), 1, 1, (0x78), 1, 200,
          "'gggggggggggggggg\\n' +\012  'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."),
};

static void check_fill(const fill_case *c, bool utf16) {
  size_t n, n8;
  uint16_t *u = tstr_units(&c->s, &n);
  char *s8 = utf8_of(u, n, &n8);
  if (!utf16 && s8 == NULL) { /* a lone surrogate: only UTF-16 can carry it */
    free(u);
    return;
  }
  sb_error e;
  memset(&e, 0, sizeof e);
  int rc = utf16 ? sb_err_fill_value(&e, sb_str_utf16(u, n))
                 : sb_err_fill_value(&e, sb_str_utf8(s8, n8));
  ck_assert_int_eq(rc, -EINVAL);
  ck_assert_int_eq(e.errnum, -EINVAL);
  ck_assert_str_eq(e.code, "ERR_INVALID_ARG_VALUE");
  char want[1024];
  snprintf(want, sizeof want, "The argument 'value' is invalid. Received %s", c->shown);
  ck_assert_msg(strcmp(e.message, want) == 0, "%s:\n got  %s\n want %s", utf16 ? "utf16" : "utf8",
                e.message, want);
  free(u);
  free(s8);
}

START_TEST(err_fill_value) {
  check_fill(&fill_cases[_i], false);
  check_fill(&fill_cases[_i], true);
}
END_TEST

/* A 16 MiB string of quotes: only the start counts (util.inspect stops at 10000 units), and
 * the message still fits. */
START_TEST(err_fill_value_huge) {
  size_t n = 16u << 20;
  char *s = malloc(n);
  memset(s, '\'', n);
  sb_error e;
  ck_assert_int_eq(sb_err_fill_value(&e, sb_str_utf8(s, n)), -EINVAL);
  char want[300];
  snprintf(want, sizeof want, "The argument 'value' is invalid. Received \"%.127s...", s);
  ck_assert_str_eq(e.message, want);
  free(s);
}
END_TEST

static Suite *node_suite(void) {
  Suite *s = suite_create("node");
  TCase *tc = tcase_create("pool");
  tcase_add_test(tc, pool_takes);
  tcase_add_test(tc, pool_full);
  tcase_add_test(tc, pool_take);
  tcase_add_loop_test(tc, from_string_matches_node, 0,
                      (int)(sizeof from_scripts / sizeof *from_scripts));
  tcase_add_test(tc, from_string_plan);
  suite_add_tcase(s, tc);

  tc = tcase_create("format");
  tcase_add_loop_test(tc, js_number, 0, (int)(sizeof num_cases / sizeof *num_cases));
  tcase_add_test(tc, js_number_fits);
  tcase_add_loop_test(tc, js_quote, 0, (int)(sizeof quote_cases / sizeof *quote_cases));
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_test(tc, err_range);
  tcase_add_test(tc, err_size);
  tcase_add_test(tc, err_encoding);
  tcase_add_test(tc, err_arg_value);
  tcase_add_test(tc, err_arg_value_split_pair);
  tcase_add_test(tc, err_bounds);
  tcase_add_test(tc, err_set);
  tcase_add_loop_test(tc, err_fill_value, 0, (int)(sizeof fill_cases / sizeof *fill_cases));
  tcase_add_test(tc, err_fill_value_huge);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(node_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
