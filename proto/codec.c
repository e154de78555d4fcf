/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "codec.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define REPLACEMENT 0xfffdu
#define ILL_FORMED 0x110000u /* utf8_next()'s code point for a maximal invalid subpart */
#define NO_DIGIT 0xffu

/* ---- names ------------------------------------------------------------------------------- */

static const struct {
  const char *name;
  sb_enc enc;
} ALIASES[] = {
    {"utf8", SB_ENC_UTF8},       {"utf-8", SB_ENC_UTF8},     {"utf16le", SB_ENC_UTF16LE},
    {"utf-16le", SB_ENC_UTF16LE}, {"ucs2", SB_ENC_UTF16LE},   {"ucs-2", SB_ENC_UTF16LE},
    {"latin1", SB_ENC_LATIN1},   {"binary", SB_ENC_LATIN1},  {"ascii", SB_ENC_ASCII},
    {"base64", SB_ENC_BASE64},   {"base64url", SB_ENC_BASE64URL}, {"hex", SB_ENC_HEX},
};

static inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* Node lowercases with String.prototype.toLowerCase(), but no non-ASCII letter lowercases
 * into one of these names while keeping the length Node switches on, so ASCII folding is
 * exact. The empty name, which Node's callers take to mean the default, is not a name. */
int sb_enc_parse(const char *name, size_t len, sb_enc *out) {
  for (size_t a = 0; a < sizeof ALIASES / sizeof ALIASES[0]; a++) {
    const char *alias = ALIASES[a].name;
    if (strlen(alias) != len)
      continue;
    size_t i = 0;
    while (i < len && ascii_lower(name[i]) == alias[i])
      i++;
    if (i == len) {
      *out = ALIASES[a].enc;
      return 0;
    }
  }
  return -EINVAL;
}

/* ---- UTF-8 and UTF-16 ---------------------------------------------------------------------- */

static inline bool ascii_word(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, sizeof w);
  return (w & 0x8080808080808080ull) == 0;
}

/* Whether the 32 bytes at p are ASCII: one test for four words. */
static inline bool ascii_block(const uint8_t *p) {
  uint64_t w[4];
  memcpy(w, p, sizeof w);
  return ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ull) == 0;
}

/* The length of the run of ASCII bytes at the start of [p, p + n). */
static size_t ascii_run(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i + 32 <= n && ascii_block(p + i))
    i += 32;
  while (i + 8 <= n && ascii_word(p + i))
    i += 8;
  while (i < n && p[i] < 0x80)
    i++;
  return i;
}

/* Decodes the code point at p (n > 0) and returns the bytes it takes. An ill-formed
 * sequence gives ILL_FORMED and the length of its maximal subpart (Unicode 3.9, table 3-7),
 * which is what V8 and the WHATWG decoder turn into one U+FFFD. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp) {
  uint8_t c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t need;
  uint32_t v;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
    v = c & 0x1fu;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    v = c & 0x0fu;
    if (c == 0xe0)
      lo = 0xa0; /* overlong */
    else if (c == 0xed)
      hi = 0x9f; /* surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    v = c & 0x07u;
    if (c == 0xf0)
      lo = 0x90; /* overlong */
    else if (c == 0xf4)
      hi = 0x8f; /* above U+10FFFF */
  } else {
    *cp = ILL_FORMED;
    return 1;
  }
  for (size_t i = 1; i <= need; i++) {
    if (i >= n || p[i] < lo || p[i] > hi) {
      *cp = ILL_FORMED;
      return i;
    }
    v = v << 6 | (p[i] & 0x3fu);
    lo = 0x80;
    hi = 0xbf;
  }
  *cp = v;
  return need + 1;
}

size_t sb_utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i += ascii_run(p + i, n - i);
      continue;
    }
    uint32_t cp;
    size_t k = utf8_next(p + i, n - i, &cp);
    if (cp == ILL_FORMED)
      break;
    i += k;
  }
  return i;
}

static inline bool is_high(uint32_t u) { return u >= 0xd800 && u <= 0xdbff; }
static inline bool is_low(uint32_t u) { return u >= 0xdc00 && u <= 0xdfff; }

/* Writes a code point below U+10000 that is not a surrogate, or one above, as UTF-8. */
static inline size_t utf8_put(uint32_t cp, uint8_t *o) {
  if (cp < 0x80) {
    o[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (uint8_t)(0xc0 | cp >> 6);
    o[1] = (uint8_t)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xe0 | cp >> 12);
    o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (uint8_t)(0xf0 | cp >> 18);
  o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
  o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
  o[3] = (uint8_t)(0x80 | (cp & 0x3f));
  return 4;
}

static inline size_t utf8_size(uint32_t cp) {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* UTF-8 in, UTF-8 out with each maximal invalid subpart replaced, stopping before the
 * first character that does not fit in cap (V8's String::WriteUtf8 never splits one).
 * Well-formed stretches go through memcpy. */
static size_t utf8_sanitize(const uint8_t *p, size_t n, uint8_t *out, size_t cap) {
  size_t i = 0, k = 0;
  while (i < n) {
    size_t run = sb_utf8_valid(p + i, n - i);
    if (run > cap - k) {
      run = cap - k;
      while (run > 0 && (p[i + run] & 0xc0) == 0x80) /* back to a character boundary */
        run--;
      if (run > 0)
        memcpy(out + k, p + i, run);
      return k + run;
    }
    if (run > 0)
      memcpy(out + k, p + i, run);
    i += run;
    k += run;
    if (i == n)
      break;
    uint32_t cp;
    i += utf8_next(p + i, n - i, &cp);
    if (cap - k < 3)
      break;
    k += utf8_put(REPLACEMENT, out + k);
  }
  return k;
}

/* A JS string read one UTF-16 code unit at a time, whichever form it came in. */
typedef struct units {
  const uint8_t *p;
  size_t n, i;
  bool utf16;
  uint16_t low; /* the second half of a surrogate pair still to come, or 0 */
} units;

static units units_of(sb_str s) { return (units){s.p, s.n, 0, s.utf16, 0}; }

static inline bool units_next(units *u, uint16_t *out) {
  if (u->low) {
    *out = u->low;
    u->low = 0;
    return true;
  }
  if (u->i >= u->n)
    return false;
  if (u->utf16) {
    *out = ((const uint16_t *)(const void *)u->p)[u->i++];
    return true;
  }
  uint32_t cp = u->p[u->i];
  if (cp < 0x80) {
    u->i++;
  } else {
    u->i += utf8_next(u->p + u->i, u->n - u->i, &cp);
    if (cp == ILL_FORMED) {
      cp = REPLACEMENT;
    } else if (cp >= 0x10000) {
      u->low = (uint16_t)(0xdc00 | (cp & 0x3ff));
      cp = 0xd800 | (cp - 0x10000) >> 10;
    }
  }
  *out = (uint16_t)cp;
  return true;
}

size_t sb_str_units(sb_str s) {
  if (s.utf16)
    return s.n;
  const uint8_t *p = s.p;
  size_t i = 0, count = 0;
  while (i < s.n) {
    size_t run = ascii_run(p + i, s.n - i);
    i += run;
    count += run;
    if (i == s.n)
      break;
    uint32_t cp;
    i += utf8_next(p + i, s.n - i, &cp);
    count += cp != ILL_FORMED && cp >= 0x10000 ? 2 : 1;
  }
  return count;
}

/* UTF-16 units to UTF-8, lone surrogates as U+FFFD, whole characters only. */
static size_t utf16_to_utf8(const uint16_t *u, size_t n, uint8_t *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp = u[i];
    if (is_high(cp) && i + 1 < n && is_low(u[i + 1]))
      cp = 0x10000 + ((cp - 0xd800) << 10) + (u[++i] - 0xdc00u);
    else if (is_high(cp) || is_low(cp))
      cp = REPLACEMENT;
    size_t w = utf8_size(cp);
    if (cap - k < w)
      break;
    k += utf8_put(cp, out + k);
  }
  return k;
}

static size_t utf8_length(sb_str s) {
  size_t len = 0;
  if (s.utf16) {
    const uint16_t *u = s.p;
    for (size_t i = 0; i < s.n; i++) {
      if (u[i] < 0x80)
        len += 1;
      else if (u[i] < 0x800)
        len += 2;
      else if (is_high(u[i]) && i + 1 < s.n && is_low(u[i + 1]))
        len += 4, i++;
      else
        len += 3;
    }
    return len;
  }
  const uint8_t *p = s.p;
  size_t i = 0;
  while (i < s.n) {
    size_t run = sb_utf8_valid(p + i, s.n - i);
    i += run;
    len += run;
    if (i == s.n)
      break;
    uint32_t cp;
    i += utf8_next(p + i, s.n - i, &cp);
    len += 3;
  }
  return len;
}

/* ---- hex and base64 ------------------------------------------------------------------------ */

static const char HEX_DIGITS[] = "0123456789abcdef";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Both alphabets, whatever the encoding asked for, as Node's unbase64() table has them;
 * 64 marks a byte of neither. */
static const uint8_t UNBASE64[128] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 62, 64, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
    64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
};

static inline unsigned unbase64(uint8_t c) { return c < 0x80 ? UNBASE64[c] : 64; }

static inline unsigned unhex(uint8_t c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10u : NO_DIGIT;
}

/* Node's hex_decode(): pairs of units from the start, each unit by its low byte, up to the
 * first pair that is not two hex digits; an odd last unit is ignored. */
static size_t hex_write(sb_str s, uint8_t *out, size_t cap) {
  units u = units_of(s);
  size_t k = 0;
  uint16_t a, b;
  while (k < cap && units_next(&u, &a) && units_next(&u, &b)) {
    unsigned hi = unhex((uint8_t)a), lo = unhex((uint8_t)b);
    if (hi == NO_DIGIT || lo == NO_DIGIT)
      break;
    out[k++] = (uint8_t)(hi << 4 | lo);
  }
  return k;
}

/* Node's base64_decode(), which serves base64url too: each unit by its low byte (so a high
 * surrogate such as U+D83D reads as '='), characters of neither alphabet skipped, and
 * decoding over at the first '='. Leftover characters give what bits they have: two make
 * a byte, three make two, one makes none. */
static size_t base64_write(sb_str s, uint8_t *out, size_t cap) {
  size_t k = 0;
  unsigned q = 0, acc = 0;
  const uint8_t *p = s.p;
  if (!s.utf16) {
    /* The common case first: whole groups of plain ASCII base64. */
    size_t i = 0;
    while (i + 4 <= s.n && cap - k >= 3) {
      unsigned a = unbase64(p[i]), b = unbase64(p[i + 1]), c = unbase64(p[i + 2]),
               d = unbase64(p[i + 3]);
      if ((a | b | c | d) > 63)
        break;
      out[k] = (uint8_t)(a << 2 | b >> 4);
      out[k + 1] = (uint8_t)(b << 4 | c >> 2);
      out[k + 2] = (uint8_t)(c << 6 | d);
      k += 3;
      i += 4;
    }
    s.p = p + i;
    s.n -= i;
  }
  units u = units_of(s);
  uint16_t unit;
  while (k < cap && units_next(&u, &unit)) {
    uint8_t c = (uint8_t)unit;
    unsigned v = unbase64(c);
    if (v == 64) {
      if (c == '=')
        break;
      continue;
    }
    if (q == 1)
      out[k++] = (uint8_t)(acc << 2 | v >> 4);
    else if (q == 2)
      out[k++] = (uint8_t)(acc << 4 | v >> 2);
    else if (q == 3)
      out[k++] = (uint8_t)(acc << 6 | v);
    acc = v;
    q = (q + 1) & 3;
  }
  return k;
}

/* Whether the unit `back` places before the last one is '='. A '=' unit is a lone '=' byte
 * in UTF-8, so as long as the last units are '=', so are the last bytes. */
static inline bool ends_with_eq(sb_str s, size_t back) {
  return s.utf16 ? ((const uint16_t *)s.p)[s.n - 1 - back] == '='
                 : ((const uint8_t *)s.p)[s.n - 1 - back] == '=';
}

/* lib/buffer.js base64ByteLength(): the units less up to two trailing '=', times 3 / 4. */
static size_t base64_length(sb_str s) {
  size_t len = sb_str_units(s);
  if (len > 0 && ends_with_eq(s, 0)) {
    len--;
    if (len > 1 && ends_with_eq(s, 1))
      len--;
  }
  return len * 3 / 4;
}

/* ---- string -> bytes ----------------------------------------------------------------------- */

size_t sb_byte_length(sb_str s, sb_enc enc) {
  switch (enc) {
  case SB_ENC_UTF8:
    return utf8_length(s);
  case SB_ENC_UTF16LE:
    return sb_str_units(s) * 2;
  case SB_ENC_LATIN1:
  case SB_ENC_ASCII:
    return sb_str_units(s);
  case SB_ENC_BASE64:
  case SB_ENC_BASE64URL:
    return base64_length(s);
  case SB_ENC_HEX:
    return sb_str_units(s) >> 1;
  }
  return 0;
}

size_t sb_encode(sb_str s, sb_enc enc, uint8_t *out, size_t cap) {
  if (s.n == 0 || cap == 0)
    return 0;
  units u = units_of(s);
  uint16_t unit;
  size_t k = 0;
  switch (enc) {
  case SB_ENC_UTF8:
    return s.utf16 ? utf16_to_utf8(s.p, s.n, out, cap) : utf8_sanitize(s.p, s.n, out, cap);
  case SB_ENC_UTF16LE:
    /* whole units only, though the last may be half of a pair */
    while (cap - k >= 2 && units_next(&u, &unit)) {
      out[k++] = (uint8_t)unit;
      out[k++] = (uint8_t)(unit >> 8);
    }
    return k;
  case SB_ENC_LATIN1:
  case SB_ENC_ASCII: /* Node writes ascii as latin1: the low byte, top bit and all */
    if (!s.utf16) {
      k = ascii_run(s.p, s.n < cap ? s.n : cap);
      memcpy(out, s.p, k);
      u.i = k;
    }
    while (k < cap && units_next(&u, &unit))
      out[k++] = (uint8_t)unit;
    return k;
  case SB_ENC_BASE64:
  case SB_ENC_BASE64URL:
    return base64_write(s, out, cap);
  case SB_ENC_HEX:
    return hex_write(s, out, cap);
  }
  return 0;
}

/* ---- bytes -> string ----------------------------------------------------------------------- */

size_t sb_decode_utf8_max(size_t n, sb_enc enc) {
  switch (enc) {
  case SB_ENC_UTF8:
    return n * 3; /* each invalid byte may become U+FFFD */
  case SB_ENC_UTF16LE:
    return n / 2 * 3;
  case SB_ENC_LATIN1:
  case SB_ENC_HEX:
    return n * 2;
  case SB_ENC_ASCII:
    return n;
  case SB_ENC_BASE64:
    return (n + 2) / 3 * 4;
  case SB_ENC_BASE64URL:
    return (n * 4 + 2) / 3;
  }
  return 0;
}

size_t sb_decode_utf16_max(size_t n, sb_enc enc) {
  switch (enc) {
  case SB_ENC_UTF8:
  case SB_ENC_LATIN1:
  case SB_ENC_ASCII:
    return n;
  case SB_ENC_UTF16LE:
    return n / 2;
  case SB_ENC_HEX:
  case SB_ENC_BASE64:
  case SB_ENC_BASE64URL:
    return sb_decode_utf8_max(n, enc);
  }
  return 0;
}

static size_t base64_read(const uint8_t *b, size_t n, const char *alphabet, bool pad, char *o) {
  size_t k = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
    o[k++] = alphabet[v >> 18];
    o[k++] = alphabet[v >> 12 & 63];
    o[k++] = alphabet[v >> 6 & 63];
    o[k++] = alphabet[v & 63];
  }
  if (n - i == 1) {
    o[k++] = alphabet[b[i] >> 2];
    o[k++] = alphabet[(b[i] & 3) << 4];
    if (pad) {
      o[k++] = '=';
      o[k++] = '=';
    }
  } else if (n - i == 2) {
    o[k++] = alphabet[b[i] >> 2];
    o[k++] = alphabet[(b[i] & 3) << 4 | b[i + 1] >> 4];
    o[k++] = alphabet[(b[i + 1] & 15) << 2];
    if (pad)
      o[k++] = '=';
  }
  return k;
}

size_t sb_decode_utf8(const uint8_t *b, size_t n, sb_enc enc, char *out) {
  uint8_t *o = (uint8_t *)out;
  size_t k = 0;
  switch (enc) {
  case SB_ENC_UTF8:
    return utf8_sanitize(b, n, o, sb_decode_utf8_max(n, enc));
  case SB_ENC_UTF16LE:
    for (size_t i = 0; i + 1 < n; i += 2) {
      uint32_t cp = b[i] | (uint32_t)b[i + 1] << 8;
      if (is_high(cp) && i + 3 < n && is_low(b[i + 2] | (uint32_t)b[i + 3] << 8)) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + ((b[i + 2] | (uint32_t)b[i + 3] << 8) - 0xdc00);
        i += 2;
      } else if (is_high(cp) || is_low(cp)) {
        cp = REPLACEMENT;
      }
      k += utf8_put(cp, o + k);
    }
    return k;
  case SB_ENC_LATIN1:
    for (size_t i = 0; i < n; i++)
      k += utf8_put(b[i], o + k);
    return k;
  case SB_ENC_ASCII:
    for (size_t i = 0; i < n; i++)
      o[i] = b[i] & 0x7f;
    return n;
  case SB_ENC_BASE64:
    return base64_read(b, n, B64, true, out);
  case SB_ENC_BASE64URL:
    return base64_read(b, n, B64URL, false, out);
  case SB_ENC_HEX:
    for (size_t i = 0; i < n; i++) {
      out[2 * i] = HEX_DIGITS[b[i] >> 4];
      out[2 * i + 1] = HEX_DIGITS[b[i] & 15];
    }
    return 2 * n;
  }
  return 0;
}

size_t sb_decode_utf16(const uint8_t *b, size_t n, sb_enc enc, uint16_t *out) {
  size_t k = 0;
  if (n == 0)
    return 0; /* out may be NULL, and out + max below must not be formed from it */
  switch (enc) {
  case SB_ENC_UTF8:
    for (size_t i = 0; i < n;) {
      uint32_t cp;
      i += utf8_next(b + i, n - i, &cp);
      if (cp == ILL_FORMED) {
        cp = REPLACEMENT;
      } else if (cp >= 0x10000) {
        out[k++] = (uint16_t)(0xd800 | (cp - 0x10000) >> 10);
        cp = 0xdc00 | (cp & 0x3ff);
      }
      out[k++] = (uint16_t)cp;
    }
    return k;
  case SB_ENC_UTF16LE:
    for (; k < n / 2; k++)
      out[k] = (uint16_t)(b[2 * k] | b[2 * k + 1] << 8);
    return k;
  case SB_ENC_LATIN1:
    for (; k < n; k++)
      out[k] = b[k];
    return k;
  case SB_ENC_ASCII:
  case SB_ENC_BASE64:
  case SB_ENC_BASE64URL:
  case SB_ENC_HEX: {
    /* These give ASCII, the same text in one byte a unit: write it into the upper half of
     * out's bytes, then widen it forwards. Unit k lands in bytes 2k and 2k + 1, at or below
     * byte max + k, where character k was and which is read before it is overwritten. */
    size_t max = sb_decode_utf16_max(n, enc);
    const char *text = (const char *)out + max;
    size_t len = sb_decode_utf8(b, n, enc, (char *)out + max);
    for (; k < len; k++)
      out[k] = (uint8_t)text[k];
    return k;
  }
  }
  return 0;
}

/* ---- numbers ------------------------------------------------------------------------------- */

#ifdef __SSE2__
/* Eight numbers at once when each fits in 32 bits: SSE2 truncates two to int32 per
 * instruction and gives INT32_MIN for any that does not fit (NaN too), which sends the eight
 * down the exact path; the low bytes are ToUint8's, packed without saturating. */
static bool to_uint8_eight(const double *v, uint8_t *out) {
  __m128i q[4];
  for (int k = 0; k < 4; k++)
    q[k] = _mm_cvttpd_epi32(_mm_loadu_pd(v + 2 * k)); /* two int32 in the low half */
  __m128i lo = _mm_unpacklo_epi64(q[0], q[1]), hi = _mm_unpacklo_epi64(q[2], q[3]);
  __m128i bad = _mm_or_si128(_mm_cmpeq_epi32(lo, _mm_set1_epi32(INT32_MIN)),
                             _mm_cmpeq_epi32(hi, _mm_set1_epi32(INT32_MIN)));
  if (_mm_movemask_epi8(bad))
    return false;
  __m128i byte = _mm_set1_epi32(0xff);
  __m128i w = _mm_packs_epi32(_mm_and_si128(lo, byte), _mm_and_si128(hi, byte));
  _mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(w, w));
  return true;
}
#endif

void sb_to_uint8_all(const double *v, size_t n, uint8_t *out) {
  size_t i = 0;
#ifdef __SSE2__
  for (; i + 8 <= n; i += 8)
    if (!to_uint8_eight(v + i, out + i))
      for (size_t k = i; k < i + 8; k++)
        out[k] = sb_to_uint8(v[k]);
#endif
  for (; i < n; i++)
    out[i] = sb_to_uint8(v[i]);
}

uint8_t sb_to_uint8_big(double v) {
  if (!isfinite(v))
    return 0;
  double m = fmod(trunc(v), 256.0); /* exact, in (-256, 256) */
  if (m < 0)
    m += 256.0;
  return (uint8_t)m;
}
