/* SPDX-License-Identifier: MIT */
/* The fuzz target, shared by the libFuzzer build and the corpus replay in make check. */
#ifndef SBT_FUZZ_H
#define SBT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
