/* SPDX-License-Identifier: MIT */
/* libshmbuf's record of the calling thread's last failure (shmbuf_error_code() and
 * shmbuf_error_message()), and the one place that records it. Touches nothing else: no
 * connection, no buffer. */
#ifndef SBC_ERRORS_H
#define SBC_ERRORS_H

#include "node.h"

/* Records a failure for shmbuf_error_code()/_message() and returns errnum, so that
 * `return cl_fail(...)` reads well. The code is a static or caller-owned string. */
int cl_fail(int errnum, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cl_fail() with a failure that proto/node.c built as Node reports it. */
int cl_fail_err(const sb_error *e);

#endif
