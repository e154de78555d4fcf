/* SPDX-License-Identifier: MIT */
/* The fuzz target, shared by the libFuzzer build and the corpus replay in make check. */
#ifndef SBT_FUZZ_H
#define SBT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "dispatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Answers one request the way the server does, minus the socket: handles it, runs its job (if
 * any) to the end, and closes the fd that would have gone to the peer. */
void fuzz_answer(dispatcher *d, conn_session *s, const uint8_t *payload, size_t len,
                 dispatch_reply *r);

#endif
