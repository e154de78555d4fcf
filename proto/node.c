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
  uint64_t units = sb_str_units(s);
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

/* util.inspect()'s strEscape(): quote choice and escapes. */
size_t sb_js_quote(const char *s, size_t n, char *out, size_t cap) {
  bool has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
  bool has_back = memchr(s, '`', n) != NULL;
  char q = '\'';
  if (has_single) {
    if (!has_double)
      q = '"';
    else if (!has_back && !memmem(s, n, "${", 2))
      q = '`';
  }
  size_t o = 0;
#define PUT(ch)                                                                           \
  do {                                                                                    \
    if (o + 1 < cap)                                                                      \
      out[o++] = (ch);                                                                    \
  } while (0)
  PUT(q);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char hex[8];
    if (c == (unsigned char)q && q == '\'')
      esc = "\\'";
    else if (c == '\\')
      esc = "\\\\";
    else if (c == '\b')
      esc = "\\b";
    else if (c == '\t')
      esc = "\\t";
    else if (c == '\n')
      esc = "\\n";
    else if (c == '\f')
      esc = "\\f";
    else if (c == '\r')
      esc = "\\r";
    else if (c < 0x20 || c == 0x7f) {
      snprintf(hex, sizeof hex, "\\x%02X", c);
      esc = hex;
    } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
               (unsigned char)s[i + 1] <= 0x9f) {
      snprintf(hex, sizeof hex, "\\x%02X", (unsigned char)s[++i]); /* C1 controls */
      esc = hex;
    }
    if (esc)
      for (; *esc; esc++)
        PUT(*esc);
    else
      PUT((char)c);
  }
  PUT(q);
#undef PUT
  out[o] = '\0';
  return o;
}

int sb_err_set(sb_error *e, int errnum, const char *code, const char *fmt, ...) {
  va_list ap;
  e->errnum = errnum;
  e->code = code;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
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
  return sb_err_set(e, -EINVAL, "ERR_UNKNOWN_ENCODING", "Unknown encoding: %.*s",
                    (int)(len > 400 ? 400 : len), name);
}

int sb_err_arg_value(sb_error *e, int errnum, const char *name, const char *shown) {
  /* lib/internal/errors.js cuts the inspected value at 128 UTF-16 units */
  size_t units = 0, cut = strlen(shown);
  for (size_t i = 0; shown[i]; i++) {
    unsigned char c = (unsigned char)shown[i];
    if ((c & 0xc0) == 0x80)
      continue;
    size_t w = c >= 0xf0 ? 2 : 1;
    if (units + w > 128) {
      cut = i;
      break;
    }
    units += w;
  }
  return sb_err_set(e, errnum, "ERR_INVALID_ARG_VALUE",
                    "The argument '%s' is invalid. Received %.*s%s", name, (int)cut, shown,
                    shown[cut] ? "..." : "");
}

int sb_err_fill_value(sb_error *e, sb_str value) {
  /* Only the first 128 units can show; decode a little more than that. */
  char text[600], shown[SB_ERR_MESSAGE_MAX];
  size_t n;
  if (value.utf16)
    n = sb_decode_utf8((const uint8_t *)value.p, (value.n > 190 ? 190 : value.n) * 2,
                       SB_ENC_UTF16LE, text);
  else {
    n = value.n > 500 ? 500 : value.n;
    memcpy(text, value.p, n);
  }
  sb_js_quote(text, n, shown, sizeof shown);
  return sb_err_arg_value(e, -EINVAL, "value", shown);
}

int sb_err_bounds(sb_error *e, const char *name) {
  if (name == NULL)
    return sb_err_set(e, -ERANGE, "ERR_BUFFER_OUT_OF_BOUNDS",
                      "Attempt to access memory outside buffer bounds");
  return sb_err_set(e, -ERANGE, "ERR_BUFFER_OUT_OF_BOUNDS", "\"%s\" is outside of buffer bounds",
                    name);
}
