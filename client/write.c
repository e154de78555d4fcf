/* SPDX-License-Identifier: MIT */
/* libshmbuf: buf.write(string, offset, length, encoding), strings encoded into a buffer's own
 * memory. Reads and writes only the bytes of the buffer it is given. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "errors.h"
#include "node.h"
#include "shmbuf.h"

/* Buffer.prototype.write(): the argument forms first, then validateOffset() of offset and
 * length against buf.length, then the encoding; the binding writes at most the rest. */
static int64_t write_str(shmbuf_buf *buf, sb_str s, int64_t offset, int64_t length,
                         const char *encoding) {
  int64_t buf_len = (int64_t)shmbuf_length(buf);
  sb_enc enc = SB_ENC_UTF8;
  sb_error e;
  if (offset == SHMBUF_UNDEFINED) {
    if (length != SHMBUF_UNDEFINED || encoding == NULL)
      encoding = NULL; /* buf.write(string): utf8, whatever follows */
    offset = 0;
    length = buf_len;
  } else {
    char range[48];
    snprintf(range, sizeof range, ">= 0 && <= %" PRId64, buf_len);
    if (offset < 0 || offset > buf_len)
      return errors_fail_node((sb_err_range(&e, "offset", range, (double)offset), &e));
    if (length == SHMBUF_UNDEFINED)
      length = buf_len - offset;
    else if (length < 0 || length > buf_len)
      return errors_fail_node((sb_err_range(&e, "length", range, (double)length), &e));
    else if (length > buf_len - offset)
      length = buf_len - offset;
  }
  /* `!encoding` in Node: "" is utf8 here, unlike toString()'s */
  if (encoding && encoding[0] && sb_enc_parse(encoding, strlen(encoding), &enc) < 0)
    return errors_fail_node((sb_err_encoding(&e, encoding, strlen(encoding)), &e));
  if (length == 0)
    return 0;
  int rc = errors_read_only(buf);
  if (rc < 0)
    return rc;
  return (int64_t)sb_encode(s, enc, shmbuf_data(buf) + offset, (size_t)length);
}

int64_t shmbuf_write_string(shmbuf_buf *buf, const char *str, size_t len, int64_t offset,
                            int64_t length, const char *encoding) {
  return write_str(buf, sb_str_utf8(str, len == SHMBUF_CSTR ? strlen(str) : len), offset, length,
                   encoding);
}

int64_t shmbuf_write_utf16(shmbuf_buf *buf, const uint16_t *units, size_t n, int64_t offset,
                           int64_t length, const char *encoding) {
  return write_str(buf, sb_str_utf16(units, n), offset, length, encoding);
}
