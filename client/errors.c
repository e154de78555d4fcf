/* SPDX-License-Identifier: MIT */
/* libshmbuf: error names and the calling thread's last failure. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "shmbuf.h"

static _Thread_local struct {
  char code[48];
  char message[SB_ERR_MESSAGE_MAX];
  bool set;
} last;

int cl_fail(int errnum, const char *code, const char *fmt, ...) {
  va_list ap;
  snprintf(last.code, sizeof last.code, "%s", code);
  va_start(ap, fmt);
  vsnprintf(last.message, sizeof last.message, fmt, ap);
  va_end(ap);
  last.set = true;
  return errnum;
}

int cl_fail_err(const sb_error *e) { return cl_fail(e->errnum, e->code, "%s", e->message); }

const char *shmbuf_error_code(void) { return last.set ? last.code : NULL; }

const char *shmbuf_error_message(void) { return last.set ? last.message : NULL; }

/* The errors the API documents, by name. */
#define ERRNOS(X)                                                                             \
  X(EPERM) X(ENOENT) X(EINTR) X(EIO) X(E2BIG) X(EBADF) X(ENOMEM) X(EACCES) X(EFAULT)          \
  X(EEXIST) X(EINVAL) X(EMFILE) X(EFBIG) X(ENOSPC) X(EPIPE) X(ERANGE) X(ENAMETOOLONG)       \
  X(EPROTO) X(EBADMSG) X(EMSGSIZE) X(EPROTONOSUPPORT) X(EADDRINUSE) X(ECONNRESET)           \
  X(ENOTCONN) X(ECONNREFUSED) X(EDQUOT) X(EAGAIN) X(ETIMEDOUT) X(EILSEQ)

const char *shmbuf_err_name(int err) {
  switch (-err) {
#define NAME(e)                                                                               \
  case e:                                                                                     \
    return #e;
    ERRNOS(NAME)
#undef NAME
  case 0:
    return "OK";
  default:
    return "UNKNOWN";
  }
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
    return err < 0 ? strerror(-err) : "not an error code";
  }
}

void shmbuf_free(void *p) { free(p); }

const char *shmbuf_version(void) { return PACKAGE_VERSION; }
