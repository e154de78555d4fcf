/* SPDX-License-Identifier: MIT */
/* libshmbuf: what bytes are as text, and from one character encoding to another:
 * Buffer.isEncoding(), buffer.isUtf8(), buffer.isAscii() and buffer.transcode(). Reads the
 * bytes it is given; transcode() makes its result through the public API, as any caller would. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "errors.h"
#include "node.h"
#include "shmbuf.h"

#define REPLACEMENT 0xfffdu
#define SUBSTITUTE '?' /* what Node has ICU write for a character the target lacks */

_Static_assert(SHMBUF_MAX_LENGTH == SB_MAX_LENGTH, "buffer.constants.MAX_LENGTH");
_Static_assert(SHMBUF_MAX_STRING_LENGTH == SB_MAX_STRING_LENGTH, "MAX_STRING_LENGTH");
_Static_assert(SHMBUF_INSPECT_MAX_BYTES == SB_INSPECT_MAX_BYTES, "INSPECT_MAX_BYTES");

int shmbuf_is_encoding(const char *encoding) {
  sb_enc enc;
  return encoding != NULL && sb_enc_parse(encoding, strlen(encoding), &enc) == 0;
}

int shmbuf_is_utf8(const void *data, size_t len) { return sb_utf8_valid(data, len) == len; }

int shmbuf_is_ascii(const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++)
    if (p[i] >= 0x80)
      return 0;
  return 1;
}

/* ---- transcode ------------------------------------------------------------------------------- */

static bool is_surrogate(uint16_t u) { return u >= 0xd800 && u <= 0xdfff; }
static bool is_high(uint16_t u) { return u >= 0xd800 && u <= 0xdbff; }
static bool is_low(uint16_t u) { return u >= 0xdc00 && u <= 0xdfff; }

/* Whether units[i] starts a surrogate pair. */
static bool pair_at(const uint16_t *u, size_t n, size_t i) {
  return is_high(u[i]) && i + 1 < n && is_low(u[i + 1]);
}

/* The encodings transcode() takes: normalizeEncoding(name) || name, then the binding's
 * ParseEncoding(); NULL and "" are utf8. */
static int supported(const char *name, sb_enc *enc) {
  *enc = SB_ENC_UTF8;
  if (name && name[0] && sb_enc_parse(name, strlen(name), enc) < 0)
    return -EINVAL;
  return *enc == SB_ENC_UTF8 || *enc == SB_ENC_UTF16LE || *enc == SB_ENC_LATIN1 ||
                 *enc == SB_ENC_ASCII
             ? 0
             : -EINVAL;
}

static int invalid_char(void) {
  sb_error e;
  return errors_fail_node((sb_err_transcode(&e, -EILSEQ, "U_INVALID_CHAR_FOUND"), &e));
}

/* The source as UTF-16 code units, in *u (n + 1 units), the way each of Node's ICU paths reads
 * it for the target: ill-formed UTF-8 becomes U+FFFD per maximal subpart (or fails, for
 * utf16le, which u_strFromUTF8() makes); ASCII past 0x7f becomes U+FFFD, except that
 * ucnv_toUChars() widens it as latin1 for utf16le; UTF-16 loses an odd last byte (lone
 * surrogates and that byte become U+FFFD for utf16le, and fail for utf8). */
static int decode(const uint8_t *b, size_t n, sb_enc from, sb_enc to, uint16_t *u, size_t *k) {
  switch (from) {
  case SB_ENC_UTF8:
    if (to == SB_ENC_UTF16LE && sb_utf8_valid(b, n) != n)
      return invalid_char();
    *k = sb_decode_utf16(b, n, SB_ENC_UTF8, u);
    return 0;
  case SB_ENC_ASCII:
    for (*k = 0; *k < n; ++*k)
      u[*k] = b[*k] < 0x80 || to == SB_ENC_UTF16LE ? b[*k] : REPLACEMENT;
    return 0;
  case SB_ENC_UTF16LE:
    *k = sb_decode_utf16(b, n, SB_ENC_UTF16LE, u);
    if (to == SB_ENC_UTF8 && *k == 0)
      return invalid_char();
    if (to == SB_ENC_UTF8 || to == SB_ENC_UTF16LE)
      for (size_t i = 0; i < *k; i += pair_at(u, *k, i) ? 2 : 1)
        if (is_surrogate(u[i]) && !pair_at(u, *k, i)) {
          if (to == SB_ENC_UTF8)
            return invalid_char();
          u[i] = REPLACEMENT;
        }
    if (to == SB_ENC_UTF16LE && n % 2)
      u[(*k)++] = REPLACEMENT;
    return 0;
  default: /* latin1 */
    *k = sb_decode_utf16(b, n, SB_ENC_LATIN1, u);
    return 0;
  }
}

/* Unicode's Default_Ignorable_Code_Point, as ICU's substitution callback lists it: a code point
 * the target lacks that is one of these is left out instead of becoming '?'. */
static bool default_ignorable(uint32_t c) {
  return c == 0x00ad || c == 0x034f || c == 0x061c || c == 0x115f || c == 0x1160 ||
         (c >= 0x17b4 && c <= 0x17b5) || (c >= 0x180b && c <= 0x180f) ||
         (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2060 && c <= 0x206f) || c == 0x3164 || (c >= 0xfe00 && c <= 0xfe0f) ||
         c == 0xfeff || c == 0xffa0 || (c >= 0xfff0 && c <= 0xfff8) ||
         (c >= 0x1bca0 && c <= 0x1bca3) || (c >= 0x1d173 && c <= 0x1d17a) ||
         (c >= 0xe0000 && c <= 0xe0fff);
}

/* The units in the target encoding, into out (3 bytes a unit at most). For latin1 and ascii,
 * a code point past the target's range, a surrogate pair's included, becomes one '?', unless
 * it is default ignorable; a lone surrogate is ill-formed rather than missing, and always '?'. */
static size_t encode(const uint16_t *u, size_t k, sb_enc to, uint8_t *out) {
  size_t o = 0;
  if (to == SB_ENC_UTF8)
    return sb_encode(sb_str_utf16(u, k), SB_ENC_UTF8, out, 3 * k);
  if (to == SB_ENC_UTF16LE) {
    for (size_t i = 0; i < k; i++) {
      out[o++] = (uint8_t)u[i];
      out[o++] = (uint8_t)(u[i] >> 8);
    }
    return o;
  }
  uint32_t top = to == SB_ENC_LATIN1 ? 0xff : 0x7f;
  for (size_t i = 0; i < k;) {
    uint32_t cp = u[i];
    bool lone = false;
    if (pair_at(u, k, i)) {
      cp = 0x10000 + ((cp - 0xd800u) << 10) + (u[i + 1] - 0xdc00u);
      i += 2;
    } else {
      lone = is_surrogate(u[i]);
      i++;
    }
    if (cp <= top)
      out[o++] = (uint8_t)cp;
    else if (lone || !default_ignorable(cp))
      out[o++] = SUBSTITUTE;
  }
  return o;
}

/* buffer.transcode(): an empty source is Buffer.alloc(0) before the encodings are looked at;
 * the binding makes its result with Buffer::New(), a dedicated ArrayBuffer of its length. */
int shmbuf_transcode(shmbuf_client *c, const void *source, size_t len, const char *from,
                     const char *to, shmbuf_buf **out) {
  sb_enc f, t;
  sb_error e;
  if (len == 0)
    return shmbuf_alloc(c, 0, out);
  if (supported(from, &f) < 0 || supported(to, &t) < 0)
    return errors_fail_node((sb_err_transcode(&e, -EINVAL, "U_ILLEGAL_ARGUMENT_ERROR"), &e));
  uint16_t *u = malloc((len + 1) * sizeof *u);
  uint8_t *bytes = malloc(3 * (len + 1));
  size_t k = 0;
  int rc = u && bytes ? decode(source, len, f, t, u, &k)
                      : errors_no_memory();
  shmbuf_buf *b = NULL;
  if (rc == 0) {
    size_t n = encode(u, k, t, bytes);
    if ((rc = shmbuf_alloc_unsafe_slow(c, (int64_t)n, &b)) == 0 && n > 0)
      memcpy(shmbuf_data(b), bytes, n);
  }
  free(u);
  free(bytes);
  if (rc == 0)
    *out = b;
  return rc;
}
