/* SPDX-License-Identifier: MIT */
/* libshmbuf: error names and the calling thread's last failure. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "shmbuf.h"

/* Node's messages are never cut, so one that outgrows the inline room lives on the heap (the
 * thread keeps the latest, and frees it when the next failure is recorded). */
static _Thread_local struct {
  char code[48];
  char *message;
  char inline_message[512];
  bool set;
} last;

int errors_fail(int errnum, const char *code, const char *fmt, ...) {
  va_list ap;
  snprintf(last.code, sizeof last.code, "%s", code);
  if (last.message != last.inline_message)
    free(last.message);
  last.message = last.inline_message;
  va_start(ap, fmt);
  int n = vsnprintf(last.inline_message, sizeof last.inline_message, fmt, ap);
  va_end(ap);
  char *whole;
  if (n >= (int)sizeof last.inline_message && (whole = malloc((size_t)n + 1)) != NULL) {
    va_start(ap, fmt);
    vsnprintf(whole, (size_t)n + 1, fmt, ap);
    va_end(ap);
    last.message = whole;
  }
  last.set = true;
  return errnum;
}

int errors_fail_node(sb_error *e) {
  int rc = errors_fail(e->errnum, e->code, "%s", e->message);
  sb_error_release(e);
  return rc;
}

int errors_read_only(const shmbuf_buf *b) {
  if (!shmbuf_is_read_only(b))
    return 0;
  return errors_fail(-EPERM, "ERR_SHMBUF_READ_ONLY", "Cannot write to a read-only buffer");
}

int errors_no_memory(void) { return errors_fail(-ENOMEM, "ERR_SHMBUF_NO_MEMORY", "out of memory"); }

const char *shmbuf_error_code(void) { return last.set ? last.code : NULL; }

const char *shmbuf_error_message(void) { return last.set ? last.message : NULL; }

/* The kernel's errnos are 1 .. 4095; anything else is no errno (and INT_MIN has no negation). */
static bool is_errno(int err) { return err < 0 && err >= -4095; }

const char *shmbuf_err_name(int err) {
  const char *name = is_errno(err) ? strerrorname_np(-err) : NULL;
  return err == 0 ? "OK" : name ? name : "UNKNOWN";
}

const char *shmbuf_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
  case -EDQUOT:
    return "limit reached";
  case -EPROTO:
    return "protocol error";
  case -ENOTCONN:
    return "not connected to shmbufd";
  case -EPROTONOSUPPORT:
    return "protocol version not supported";
  default:
    return is_errno(err) ? strerror(-err) : "not an error code";
  }
}

void shmbuf_free(void *p) { free(p); }

const char *shmbuf_version(void) { return PACKAGE_VERSION; }
