/* SPDX-License-Identifier: MIT */
/* libshmbuf: buf.indexOf(), buf.lastIndexOf() and buf.includes(), Node's bidirectionalIndexOf()
 * and its binding (IndexOfString, IndexOfBuffer, IndexOfNumber) step by step, so that every
 * offset rule and quirk comes out the same. Reads the buffer; writes nothing of it. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "errors.h"
#include "node.h"
#include "shmbuf.h"

#define INT32_LOW (-0x80000000ll)
#define INT32_HIGH 0x7fffffffll

/* What a search looks for: bytes, compared byte by byte or as UTF-16 code units. */
typedef struct needle {
  const uint8_t *p;
  size_t n;     /* bytes */
  bool units;   /* UCS2: whole code units at even indexes */
} needle;

/* bidirectionalIndexOf(): byteOffset clamped to the int32 range; undefined (NaN) searches
 * everything, from the end for lastIndexOf. */
static int64_t start_of(const shmbuf_buf *buf, int64_t byte_offset, bool forward) {
  if (byte_offset == SHMBUF_UNDEFINED)
    return forward ? 0 : (int64_t)shmbuf_length(buf);
  if (byte_offset > INT32_HIGH)
    return INT32_HIGH;
  return byte_offset < INT32_LOW ? INT32_LOW : byte_offset;
}

/* The binding's IndexOfOffset(): where a search starts, or -1 when nothing can match. */
static int64_t search_offset(int64_t length, int64_t offset, int64_t needle_length,
                             bool forward) {
  if (offset < 0) {
    if (offset + length >= 0)
      return length + offset; /* counts back from the end */
    return forward || needle_length == 0 ? 0 : -1;
  }
  if (offset + needle_length <= length)
    return offset;
  if (needle_length == 0)
    return length;
  return forward ? -1 : length - 1;
}

/* SearchString(): the first match at or after `start` (the last at or before it) of n items
 * of `size` bytes in a haystack of `count` items, or `count` when there is none. */
static size_t find(const uint8_t *hay, size_t count, const uint8_t *nd, size_t n, size_t size,
                   size_t start, bool forward) {
  if (count < n)
    return count;
  size_t last = count - n, bytes = n * size;
  if (forward) {
    for (size_t i = start; i <= last;) {
      const uint8_t *at = memmem(hay + i * size, (count - i) * size, nd, bytes);
      if (at == NULL)
        return count;
      size_t pos = (size_t)(at - hay);
      if (pos % size == 0)
        return pos / size;
      i = pos / size + 1; /* a match that straddles two units is none */
    }
    return count;
  }
  for (size_t i = start < last ? start : last;; i--) {
    if (hay[i * size] == nd[0] && memcmp(hay + i * size, nd, bytes) == 0)
      return i;
    if (i == 0)
      return count;
  }
}

/* IndexOfString() and IndexOfBuffer() after the needle is bytes: an empty needle answers the
 * start itself; UCS2 searches code units, turning the result back into bytes. */
static int64_t search(const uint8_t *hay, size_t len, const needle *nd, int64_t offset,
                      bool forward) {
  int64_t at = search_offset((int64_t)len, offset, (int64_t)nd->n, forward);
  if (nd->n == 0)
    return at;
  if (len == 0 || at < 0 || (forward && nd->n + (size_t)at > len) || nd->n > len)
    return -1;
  if (!nd->units) {
    size_t r = find(hay, len, nd->p, nd->n, 1, (size_t)at, forward);
    return r == len ? -1 : (int64_t)r;
  }
  if (len < 2 || nd->n < 2)
    return -1;
  /* Node compares the result, in bytes, with the haystack's length: for an odd length that
   * never matches, and a search that finds nothing reports length - 1. */
  size_t r = 2 * find(hay, len / 2, nd->p, nd->n / 2, 2, (size_t)at / 2, forward);
  return r == len ? -1 : (int64_t)r;
}

static int64_t search_bytes(const shmbuf_buf *buf, const void *value, size_t len,
                            int64_t byte_offset, const char *encoding, bool forward) {
  sb_enc enc = SB_ENC_UTF8;
  /* any encoding is accepted here: an unknown one compares bytes, as utf8 does */
  if (encoding && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    enc = SB_ENC_UTF8;
  needle nd = {value, len, enc == SB_ENC_UTF16LE};
  return search(shmbuf_data(buf), shmbuf_length(buf), &nd,
                start_of(buf, byte_offset, forward), forward);
}

/* A string needle: utf8, utf16le and latin1 go to IndexOfString (utf16le on the haystack cut
 * to an even length); the others are first made into a Buffer and searched as bytes. Either
 * way the needle is the bytes the encoding gives the string. */
static int search_string(const shmbuf_buf *buf, sb_str s, int64_t byte_offset,
                         const char *encoding, bool forward, int64_t *index) {
  sb_enc enc = SB_ENC_UTF8;
  sb_error e;
  if (encoding && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    return errors_fail_node((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  size_t cap = sb_byte_length(s, enc);
  uint8_t *p = malloc(cap ? cap : 1);
  if (p == NULL)
    return errors_no_memory();
  needle nd = {p, sb_encode(s, enc, p, cap), enc == SB_ENC_UTF16LE};
  size_t len = shmbuf_length(buf);
  *index = search(shmbuf_data(buf), nd.units ? len & ~(size_t)1 : len, &nd,
                  start_of(buf, byte_offset, forward), forward);
  free(p);
  return 0;
}

/* IndexOfNumber(): the byte value >>> 0 keeps, sought with memchr or backwards. */
static int64_t search_number(const shmbuf_buf *buf, double value, int64_t byte_offset,
                             bool forward) {
  uint8_t byte = sb_to_uint8(value);
  needle nd = {&byte, 1, false};
  return search(shmbuf_data(buf), shmbuf_length(buf), &nd, start_of(buf, byte_offset, forward),
                forward);
}

static size_t str_len(const char *s, size_t len) { return len == SHMBUF_CSTR ? strlen(s) : len; }

int shmbuf_index_of_string(const shmbuf_buf *buf, const char *value, size_t len,
                           int64_t byte_offset, const char *encoding, int64_t *index) {
  return search_string(buf, sb_str_utf8(value, str_len(value, len)), byte_offset, encoding, true,
                       index);
}

int shmbuf_index_of_utf16(const shmbuf_buf *buf, const uint16_t *units, size_t n,
                          int64_t byte_offset, const char *encoding, int64_t *index) {
  return search_string(buf, sb_str_utf16(units, n), byte_offset, encoding, true, index);
}

int shmbuf_index_of_bytes(const shmbuf_buf *buf, const void *value, size_t len,
                          int64_t byte_offset, const char *encoding, int64_t *index) {
  *index = search_bytes(buf, value, len, byte_offset, encoding, true);
  return 0;
}

int shmbuf_index_of_number(const shmbuf_buf *buf, double value, int64_t byte_offset,
                           int64_t *index) {
  *index = search_number(buf, value, byte_offset, true);
  return 0;
}

int shmbuf_last_index_of_string(const shmbuf_buf *buf, const char *value, size_t len,
                                int64_t byte_offset, const char *encoding, int64_t *index) {
  return search_string(buf, sb_str_utf8(value, str_len(value, len)), byte_offset, encoding,
                       false, index);
}

int shmbuf_last_index_of_utf16(const shmbuf_buf *buf, const uint16_t *units, size_t n,
                               int64_t byte_offset, const char *encoding, int64_t *index) {
  return search_string(buf, sb_str_utf16(units, n), byte_offset, encoding, false, index);
}

int shmbuf_last_index_of_bytes(const shmbuf_buf *buf, const void *value, size_t len,
                               int64_t byte_offset, const char *encoding, int64_t *index) {
  *index = search_bytes(buf, value, len, byte_offset, encoding, false);
  return 0;
}

int shmbuf_last_index_of_number(const shmbuf_buf *buf, double value, int64_t byte_offset,
                                int64_t *index) {
  *index = search_number(buf, value, byte_offset, false);
  return 0;
}

/* includes() is indexOf() !== -1: 1, 0, or indexOf()'s error. */
int shmbuf_includes_string(const shmbuf_buf *buf, const char *value, size_t len,
                           int64_t byte_offset, const char *encoding) {
  int64_t at;
  int rc = shmbuf_index_of_string(buf, value, len, byte_offset, encoding, &at);
  return rc < 0 ? rc : at != -1;
}

int shmbuf_includes_utf16(const shmbuf_buf *buf, const uint16_t *units, size_t n,
                          int64_t byte_offset, const char *encoding) {
  int64_t at;
  int rc = shmbuf_index_of_utf16(buf, units, n, byte_offset, encoding, &at);
  return rc < 0 ? rc : at != -1;
}

int shmbuf_includes_bytes(const shmbuf_buf *buf, const void *value, size_t len,
                          int64_t byte_offset, const char *encoding) {
  return search_bytes(buf, value, len, byte_offset, encoding, true) != -1;
}

int shmbuf_includes_number(const shmbuf_buf *buf, double value, int64_t byte_offset) {
  return search_number(buf, value, byte_offset, true) != -1;
}
