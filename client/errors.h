/* SPDX-License-Identifier: MIT */
/* libshmbuf's record of the calling thread's last failure (shmbuf_error_code() and
 * shmbuf_error_message()), and the one place that writes it. Touches nothing else: no
 * connection, no buffer. */
#ifndef SBC_ERRORS_H
#define SBC_ERRORS_H

#include "node.h"
#include "shmbuf.h"

/* Records a failure for shmbuf_error_code()/_message() and returns errnum, so that
 * `return errors_fail(...)` reads well. The code is copied. */
int errors_fail(int errnum, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errors_fail() with a failure proto/node.c built the way Node reports it; e is released. */
int errors_fail_node(sb_error *e);

/* errors_fail() for a call that would change a byte of buffer b when it is read-only (a
 * read-only import, a sealed buffer: the kernel would fault the write). Returns 0 when b is
 * writable. */
int errors_read_only(const shmbuf_buf *b);

/* errors_fail() for memory the library itself could not get. */
int errors_no_memory(void);

#endif
