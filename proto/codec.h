/* SPDX-License-Identifier: MIT */
/* Node's Buffer encodings, byte for byte: one implementation linked into shmbufd and libshmbuf.
 *
 * A JS string comes in as UTF-8 (each code point stands for itself; each maximal invalid
 * subpart of ill-formed UTF-8 stands for one U+FFFD, as Node would have decoded those bytes)
 * or as UTF-16 code units (which can carry lone surrogates). A JS string goes out as UTF-8,
 * with lone surrogates written as U+FFFD the way process.stdout.write() writes them, or as
 * UTF-16 code units, exactly. */
#ifndef SB_CODEC_H
#define SB_CODEC_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sb_enc {
  SB_ENC_UTF8,
  SB_ENC_UTF16LE,
  SB_ENC_LATIN1,
  SB_ENC_ASCII,
  SB_ENC_BASE64,
  SB_ENC_BASE64URL,
  SB_ENC_HEX,
} sb_enc;

/* A borrowed JS string: n is a byte count for UTF-8, a code-unit count for UTF-16. */
typedef struct sb_str {
  const void *p;
  size_t n;
  bool utf16;
} sb_str;

static inline sb_str sb_str_utf8(const char *s, size_t n) { return (sb_str){s, n, false}; }
static inline sb_str sb_str_utf16(const uint16_t *u, size_t n) { return (sb_str){u, n, true}; }

/* Parses an encoding name as Node's normalizeEncoding() does: the aliases listed for each
 * encoding, in any letter case. Returns 0, or -EINVAL for a name Node does not know. */
int sb_enc_parse(const char *name, size_t len, sb_enc *out);

/* The length of the longest prefix of [p, p + n) that is well-formed UTF-8 (no overlong
 * forms, surrogates or code points past U+10FFFF): n exactly when buffer.isUtf8() is true. */
size_t sb_utf8_valid(const uint8_t *p, size_t n);

/* string.length: the number of UTF-16 code units. */
size_t sb_str_units(sb_str s);

/* Buffer.byteLength(string, enc), estimates included (base64 and base64url count padding
 * the way Node does, hex is units >>> 1). */
size_t sb_byte_length(sb_str s, sb_enc enc);

/* buf.write(string, 0, cap, enc) on a buffer of at least cap bytes: the bytes Node writes,
 * never a partial character. Returns the number of bytes written. */
size_t sb_encode(sb_str s, sb_enc enc, uint8_t *out, size_t cap);

/* An upper bound of the output of sb_decode_utf8() for n bytes. */
size_t sb_decode_utf8_max(size_t n, sb_enc enc);

/* buf.toString(enc) of [b, b + n), written as UTF-8 into out, which holds at least
 * sb_decode_utf8_max(n, enc) bytes. Returns the length written (no NUL is added). */
size_t sb_decode_utf8(const uint8_t *b, size_t n, sb_enc enc, char *out);

/* An upper bound of the output of sb_decode_utf16() for n bytes, in code units. */
size_t sb_decode_utf16_max(size_t n, sb_enc enc);

/* buf.toString(enc) of [b, b + n) as UTF-16 code units, into out, which holds at least
 * sb_decode_utf16_max(n, enc) units. Returns the number of units written. */
size_t sb_decode_utf16(const uint8_t *b, size_t n, sb_enc enc, uint16_t *out);

/* sb_to_uint8() of each of n numbers, into out: Buffer.from(array)'s bytes. */
void sb_to_uint8_all(const double *v, size_t n, uint8_t *out);

/* sb_to_uint8() of a number whose integer part may not fit in 62 bits. */
uint8_t sb_to_uint8_big(double v);

/* ToUint8 of a JS number, as Uint8Array element assignment does: NaN and infinities are 0,
 * others truncate towards zero and wrap modulo 256. */
static inline uint8_t sb_to_uint8(double v) {
  if (fabs(v) < 0x1p62) /* the integer part fits (NaN does not): wrap it as a conversion does */
    return (uint8_t)(int64_t)v;
  return sb_to_uint8_big(v);
}

#endif
