/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "node.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sb_from_string_plan sb_from_string_plan_for(sb_str s, sb_enc enc, uint32_t pool_size) {
  uint64_t max = pool_size >> 1;
  /* UTF-8 takes at most three bytes per UTF-16 unit: a long one needs no counting */
  uint64_t units = !s.utf16 && s.n / 3 >= max ? max : sb_str_units(s);
  if (units >= max)
    return (sb_from_string_plan){false, sb_byte_length(s, enc)};
  uint64_t room = units * 4;
  if (room >= max)
    room = sb_byte_length(s, enc);
  return (sb_from_string_plan){room < max, room};
}

/* Number::toString(): the shortest digits that read back as v, laid out by the ECMAScript
 * rules (plain up to 21 integer digits, 0.000001 down to 1e-7, exponent otherwise). */
static size_t js_number_plain(double v, char *out) {
  if (isnan(v))
    return (size_t)sprintf(out, "NaN");
  if (isinf(v))
    return (size_t)sprintf(out, v < 0 ? "-Infinity" : "Infinity");
  if (v == 0)
    return (size_t)sprintf(out, signbit(v) ? "-0" : "0"); /* inspect() shows -0 */

  char sci[40];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
    if (strtod(sci, NULL) == v)
      break;
  }
  /* sci is [-]d[.ddd]e[+-]xx */
  char digits[24];
  size_t k = 0;
  const char *c = sci;
  bool neg = *c == '-';
  if (neg)
    c++;
  for (; *c != 'e'; c++)
    if (*c != '.')
      digits[k++] = *c;
  while (k > 1 && digits[k - 1] == '0')
    k--;
  long n = strtol(c + 1, NULL, 10) + 1;

  char *o = out;
  if (neg)
    *o++ = '-';
  if ((long)k <= n && n <= 21) {
    memcpy(o, digits, k);
    o += k;
    for (long i = (long)k; i < n; i++)
      *o++ = '0';
  } else if (0 < n && n <= 21) {
    memcpy(o, digits, (size_t)n);
    o += n;
    *o++ = '.';
    memcpy(o, digits + n, k - (size_t)n);
    o += k - (size_t)n;
  } else if (-6 < n && n <= 0) {
    *o++ = '0';
    *o++ = '.';
    for (long i = 0; i < -n; i++)
      *o++ = '0';
    memcpy(o, digits, k);
    o += k;
  } else {
    *o++ = digits[0];
    if (k > 1) {
      *o++ = '.';
      memcpy(o, digits + 1, k - 1);
      o += k - 1;
    }
    o += sprintf(o, "e%c%ld", n - 1 < 0 ? '-' : '+', labs(n - 1));
  }
  *o = '\0';
  return (size_t)(o - out);
}

size_t sb_js_number(double v, bool separators, char *out) {
  size_t len = js_number_plain(v, out);
  if (!separators || !(isfinite(v) && v == trunc(v) && fabs(v) > 4294967296.0))
    return len;
  /* addNumericalSeparator() from lib/internal/errors.js, applied to String(v) */
  char tmp[64];
  memcpy(tmp, out, len + 1);
  size_t start = tmp[0] == '-' ? 1 : 0;
  size_t i = len, groups = 0;
  while (i >= start + 4) {
    i -= 3;
    groups++;
  }
  char *o = out;
  memcpy(o, tmp, i);
  o += i;
  for (size_t g = 0; g < groups; g++, i += 3) {
    *o++ = '_';
    memcpy(o, tmp + i, 3);
    o += 3;
  }
  *o = '\0';
  return (size_t)(o - out);
}

void sb_error_release(sb_error *e) {
  if (e->message != e->inline_message)
    free(e->message);
  e->message = NULL;
}

/* Sets code and errnum, and points the message at the inline room. */
static void err_begin(sb_error *e, int errnum, const char *code) {
  e->errnum = errnum;
  e->code = code;
  e->message = e->inline_message;
}

int sb_err_set(sb_error *e, int errnum, const char *code, const char *fmt, ...) {
  va_list ap;
  err_begin(e, errnum, code);
  va_start(ap, fmt);
  int n = vsnprintf(e->inline_message, sizeof e->inline_message, fmt, ap);
  va_end(ap);
  char *whole;
  if (n >= (int)sizeof e->inline_message && (whole = malloc((size_t)n + 1)) != NULL) {
    va_start(ap, fmt);
    vsnprintf(whole, (size_t)n + 1, fmt, ap);
    va_end(ap);
    e->message = whole;
  }
  return errnum;
}

int sb_err_range(sb_error *e, const char *name, const char *range, double received) {
  char num[64];
  sb_js_number(received, true, num);
  return sb_err_set(e, -ERANGE, "ERR_OUT_OF_RANGE",
                    "The value of \"%s\" is out of range. It must be %s. Received %s", name, range,
                    num);
}

int sb_err_size(sb_error *e, double received) {
  return sb_err_range(e, "size", ">= 0 && <= 4294967296", received);
}

int sb_err_encoding(sb_error *e, const char *name, size_t len) {
  static const char prefix[] = "Unknown encoding: ";
  size_t max = sizeof prefix - 1 + sb_decode_utf8_max(len, SB_ENC_UTF8) + 1;
  char *m = max <= sizeof e->inline_message ? e->inline_message : malloc(max);
  err_begin(e, -EINVAL, "ERR_UNKNOWN_ENCODING");
  if (m == NULL) { /* out of memory: the name's start, on a character boundary */
    size_t room = (sizeof e->inline_message - sizeof prefix) / 3;
    while (room > 0 && room < len && ((uint8_t)name[room] & 0xc0) == 0x80)
      room--;
    len = len < room ? len : room;
    m = e->inline_message;
  }
  memcpy(m, prefix, sizeof prefix - 1);
  m[sizeof prefix - 1 + sb_decode_utf8((const uint8_t *)name, len, SB_ENC_UTF8,
                                       m + sizeof prefix - 1)] = '\0';
  e->message = m;
  return e->errnum;
}

int sb_err_arg_value(sb_error *e, int errnum, const char *name, const char *shown) {
  /* lib/internal/errors.js cuts the inspected value at 128 UTF-16 units */
  size_t units = 0, cut = strlen(shown);
  bool half = false;
  for (size_t i = 0; shown[i]; i++) {
    unsigned char c = (unsigned char)shown[i];
    if ((c & 0xc0) == 0x80)
      continue;
    size_t w = c >= 0xf0 ? 2 : 1;
    if (units + w > 128) {
      cut = i;
      /* A cut through a surrogate pair keeps its high half, which goes out as U+FFFD the
       * way the codec writes lone surrogates. */
      half = units < 128;
      break;
    }
    units += w;
  }
  return sb_err_set(e, errnum, "ERR_INVALID_ARG_VALUE",
                    "The argument '%s' is invalid. Received %.*s%s%s", name, (int)cut, shown,
                    half ? "\xef\xbf\xbd" : "", shown[cut] ? "..." : "");
}

/* ---- util.inspect() of a string, as ERR_INVALID_ARG_VALUE shows it -------------------------- */

#define INSPECT_MAX_STRING 10000u /* inspect's maxStringLength */
#define INSPECT_MIN_LINE 16u      /* kMinLineLength */
#define INSPECT_BREAK 80u         /* breakLength; a string longer than breakLength - 4 is split */
#define SHOWN_UNITS 128u          /* ERR_INVALID_ARG_VALUE keeps this many units */

/* The start of an inspected string, in UTF-16 units: enough to tell whether it is longer
 * than SHOWN_UNITS and to cut it there, a surrogate pair included. */
typedef struct inspected {
  uint16_t u[SHOWN_UNITS + 16];
  size_t n;
  bool full;
} inspected;

static void ins_put(inspected *o, const uint16_t *u, size_t n) {
  if (o->full || o->n + n > sizeof o->u / sizeof *o->u) {
    o->full = true;
    return;
  }
  memcpy(o->u + o->n, u, n * sizeof *u);
  o->n += n;
  if (o->n > SHOWN_UNITS + 1)
    o->full = true; /* the rest is cut away anyway */
}

static void ins_ascii(inspected *o, const char *s) {
  uint16_t u[8];
  size_t n = 0;
  while (*s)
    u[n++] = (uint16_t)(unsigned char)*s++;
  ins_put(o, u, n);
}

static bool units_have(const uint16_t *u, size_t n, uint16_t a, uint16_t b) {
  for (size_t i = 0; i < n; i++)
    if (u[i] == a && (b == 0 || (i + 1 < n && u[i + 1] == b)))
      return true;
  return false;
}

/* strEscape(): one quoted piece. Only the piece decides its quotes, all of it. */
static void ins_piece(inspected *o, const uint16_t *u, size_t n) {
  uint16_t q = '\'';
  if (units_have(u, n, '\'', 0)) {
    if (!units_have(u, n, '"', 0))
      q = '"';
    else if (!units_have(u, n, '`', 0) && !units_have(u, n, '$', '{'))
      q = '`';
  }
  ins_put(o, &q, 1);
  for (size_t i = 0; i < n && !o->full; i++) {
    uint16_t c = u[i];
    char esc[8];
    if ((c == '\'' && q == '\'') || c == '\\')
      snprintf(esc, sizeof esc, "\\%c", (char)c);
    else if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r')
      snprintf(esc, sizeof esc, "\\%c", "btn?fr"[c - '\b']);
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
      snprintf(esc, sizeof esc, "\\x%02X", c);
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] <= 0xdfff) {
      ins_put(o, u + i, 2); /* a pair stands for itself */
      i++;
      continue;
    } else if (c >= 0xd800 && c <= 0xdfff)
      snprintf(esc, sizeof esc, "\\u%x", c); /* a lone surrogate is shown, in lower case */
    else {
      ins_put(o, &c, 1);
      continue;
    }
    ins_ascii(o, esc);
  }
  ins_put(o, &q, 1);
}

/* formatPrimitive(): a string longer than breakLength - 4 is shown as one quoted piece per
 * line, joined by " +\n  ". */
static void ins_string(inspected *o, const uint16_t *u, size_t n) {
  if (n <= INSPECT_MIN_LINE || n <= INSPECT_BREAK - 4) {
    ins_piece(o, u, n);
    return;
  }
  for (size_t start = 0; start < n && !o->full;) {
    size_t end = start;
    while (end < n && u[end++] != '\n')
      ;
    if (start > 0)
      ins_ascii(o, " +\n  ");
    ins_piece(o, u + start, end - start);
    start = end;
  }
}

int sb_err_fill_value(sb_error *e, sb_str value) {
  /* inspect() looks at the first maxStringLength units only: the quotes and the line split
   * depend on all of those, not just on what the message ends up showing. */
  const uint16_t *u;
  uint16_t *decoded = NULL, fallback[512];
  size_t n;
  if (value.utf16) {
    u = value.p;
    n = value.n < INSPECT_MAX_STRING ? value.n : INSPECT_MAX_STRING;
  } else {
    /* 4 bytes a unit is more than enough; stop on a character boundary, so the cut leaves
     * no U+FFFD behind. */
    const uint8_t *b = value.p;
    size_t bytes = value.n < 4 * INSPECT_MAX_STRING ? value.n : 4 * INSPECT_MAX_STRING;
    decoded = malloc(sb_decode_utf16_max(bytes, SB_ENC_UTF8) * sizeof *decoded + 1);
    if (decoded == NULL && bytes > sizeof fallback / sizeof *fallback)
      bytes = sizeof fallback / sizeof *fallback; /* out of memory: judge by the start */
    for (int back = 0; bytes < value.n && back < 3 && (b[bytes] & 0xc0) == 0x80; back++)
      bytes--;
    n = sb_decode_utf16(b, bytes, SB_ENC_UTF8, decoded ? decoded : fallback);
    u = decoded ? decoded : fallback;
    if (n > INSPECT_MAX_STRING)
      n = INSPECT_MAX_STRING;
  }
  inspected o = {.n = 0};
  ins_string(&o, u, n);
  free(decoded);
  char shown[(SHOWN_UNITS + 16) * 3 + 1];
  shown[sb_encode(sb_str_utf16(o.u, o.n), SB_ENC_UTF8, (uint8_t *)shown, sizeof shown - 1)] = '\0';
  return sb_err_arg_value(e, -EINVAL, "value", shown);
}

int sb_err_bounds(sb_error *e, const char *name) {
  if (name == NULL)
    return sb_err_set(e, -ERANGE, "ERR_BUFFER_OUT_OF_BOUNDS",
                      "Attempt to access memory outside buffer bounds");
  return sb_err_set(e, -ERANGE, "ERR_BUFFER_OUT_OF_BOUNDS", "\"%s\" is outside of buffer bounds",
                    name);
}

int sb_err_arg_type(sb_error *e, const char *name) {
  return sb_err_set(e, -EINVAL, "ERR_INVALID_ARG_TYPE",
                    "The \"%s\" argument must be of type number. Received undefined", name);
}

int sb_err_buffer_size(sb_error *e, unsigned bits) {
  return sb_err_set(e, -EINVAL, "ERR_INVALID_BUFFER_SIZE",
                    "Buffer size must be a multiple of %u-bits", bits);
}

int sb_err_string_too_long(sb_error *e) {
  return sb_err_set(e, -ERANGE, "ERR_STRING_TOO_LONG",
                    "Cannot create a string longer than 0x%x characters", SB_MAX_STRING_LENGTH);
}

int sb_err_transcode(sb_error *e, int errnum, const char *icu_code) {
  return sb_err_set(e, errnum, icu_code, "Unable to transcode Buffer [%s]", icu_code);
}
