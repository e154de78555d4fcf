/* SPDX-License-Identifier: MIT */
/* libshmbuf: buffers as text (toString, inspect) and Buffer.byteLength. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "errors.h"
#include "handle.h"

/* toString()'s argument handling: the range first (an empty one is '' whatever the encoding),
 * then the encoding (NULL is utf8; "" is unknown, as in Node), then the length of the string
 * it makes. Returns 1 with the range and encoding, 0 for an empty result, or a negative errno. */
static int text_args(const shmbuf_buf *b, const char *encoding, int64_t *start, int64_t *end,
                     sb_enc *enc) {
  int64_t len = (int64_t)b->length;
  if (*start == SHMBUF_UNDEFINED || *start <= 0)
    *start = 0;
  else if (*start >= len)
    return 0;
  if (*end == SHMBUF_UNDEFINED || *end > len)
    *end = len;
  if (*end <= *start)
    return 0;
  *enc = SB_ENC_UTF8;
  sb_error e;
  if (encoding && sb_enc_parse(encoding, strlen(encoding), enc) < 0)
    return errors_fail_node((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  /* V8 makes no string longer than MAX_STRING_LENGTH units. The bound is the exact length but
   * for utf8, whose strings have at most one unit a byte: count them only when it matters. */
  size_t n = (size_t)(*end - *start);
  if (sb_decode_utf16_max(n, *enc) > SB_MAX_STRING_LENGTH &&
      (*enc != SB_ENC_UTF8 || sb_str_units(sb_str_utf8((const char *)b->data + *start, n)) >
                                  SB_MAX_STRING_LENGTH))
    return errors_fail_node((sb_err_string_too_long(&e), &e));
  return 1;
}

int shmbuf_to_string(const shmbuf_buf *b, const char *encoding, int64_t start, int64_t end,
                     char **out, size_t *len) {
  sb_enc enc = SB_ENC_UTF8;
  int rc = text_args(b, encoding, &start, &end, &enc);
  if (rc < 0)
    return rc;
  size_t n = rc ? (size_t)(end - start) : 0;
  char *s = malloc(sb_decode_utf8_max(n, enc) + 1);
  if (s == NULL)
    return errors_no_memory();
  size_t l = n ? sb_decode_utf8(b->data + start, n, enc, s) : 0;
  s[l] = '\0';
  *out = s;
  if (len)
    *len = l;
  return 0;
}

int shmbuf_to_utf16(const shmbuf_buf *b, const char *encoding, int64_t start, int64_t end,
                    uint16_t **out, size_t *count) {
  sb_enc enc = SB_ENC_UTF8;
  int rc = text_args(b, encoding, &start, &end, &enc);
  if (rc < 0)
    return rc;
  size_t n = rc ? (size_t)(end - start) : 0;
  uint16_t *u = malloc((sb_decode_utf16_max(n, enc) + 1) * sizeof *u);
  if (u == NULL)
    return errors_no_memory();
  size_t l = n ? sb_decode_utf16(b->data + start, n, enc, u) : 0;
  u[l] = 0;
  *out = u;
  *count = l;
  return 0;
}

int shmbuf_inspect(const shmbuf_buf *b, char **out) {
  size_t shown = b->length < SB_INSPECT_MAX_BYTES ? b->length : SB_INSPECT_MAX_BYTES;
  char *s = malloc(16 + shown * 3 + 40);
  if (s == NULL)
    return errors_no_memory();
  /* "<Buffer " then the bytes joined by spaces: an empty buffer is "<Buffer >" */
  char *o = s + sprintf(s, "<Buffer ");
  for (size_t i = 0; i < shown; i++)
    o += sprintf(o, i ? " %02x" : "%02x", b->data[i]);
  if (b->length > shown)
    o += sprintf(o, " ... %zu more byte%s", b->length - shown,
                 b->length - shown > 1 ? "s" : "");
  strcpy(o, ">");
  *out = s;
  return 0;
}

int shmbuf_byte_length(const char *str, size_t len, const char *encoding, size_t *out) {
  sb_enc enc = SB_ENC_UTF8;
  if (len == SHMBUF_CSTR)
    len = strlen(str);
  if (encoding && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    enc = SB_ENC_UTF8; /* Node counts an unknown encoding as utf8 */
  *out = sb_byte_length(sb_str_utf8(str, len), enc);
  return 0;
}
