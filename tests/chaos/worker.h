/* SPDX-License-Identifier: MIT */
/* make chaos: a well-behaved client. It makes buffers through libshmbuf (alloc, from bytes,
 * from another of its buffers, allocUnsafe), checks every byte of each (zeros, its own pattern,
 * the copy's source) when it is made and again while it lives, releases them, and times every
 * request. It runs in a process of its own and reports into memory its parent shares. */
#ifndef CHAOS_WORKER_H
#define CHAOS_WORKER_H

#include <stdint.h>

/* Latencies kept per worker: a uniform sample (reservoir) of every request timed. */
#define WORKER_SAMPLES (1u << 17)

typedef struct worker_report {
  uint64_t requests;       /* requests made, each timed */
  uint64_t refused;        /* requests that failed, for whatever reason */
  uint64_t lost;           /* buffers whose bytes changed, or that the daemon forgot */
  char first_refusal[160]; /* the first failure's code and message */
  char first_loss[160];
  uint32_t nsamples;
  uint64_t samples_ns[WORKER_SAMPLES]; /* request latencies */
} worker_report;

/* Runs against the daemon at sock until the monotonic clock reaches `until` (seconds), with
 * random choices drawn from seed, then releases everything and closes. */
void worker_run(const char *sock, double until, uint32_t seed, worker_report *out);

/* The monotonic clock in seconds. */
double worker_now(void);

#endif
