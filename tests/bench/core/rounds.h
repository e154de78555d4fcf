/* SPDX-License-Identifier: MIT */
/* Timing by interleaved rounds. Contenders (a shmbuf case, the floors and peers it is judged
 * against) are calibrated to take about the same time per sample, then run round by round,
 * each once per round and in a rotating order, so that whatever the machine does meanwhile
 * (a neighbour's build, frequency changes, the scheduler's moods) hits them alike; a row's
 * ratio is then taken round by round. This module only runs and times: it starts nothing,
 * pins nothing and prints nothing. */
#ifndef BENCH_ROUNDS_H
#define BENCH_ROUNDS_H

/* Runs n operations (n a multiple of the contender's batch) and returns the nanoseconds they
 * took, as measured by rounds_now_ns() around the part that counts, or a negative errno. */
typedef double (*rounds_fn)(void *ctx, long n);

typedef struct rounds rounds;

/* Nanoseconds on CLOCK_MONOTONIC. */
double rounds_now_ns(void);

/* A set of contenders to run for nrounds rounds of about sample_ns nanoseconds per sample.
 * NULL when out of memory. */
rounds *rounds_new(int nrounds, double sample_ns);
void rounds_free(rounds *r);

/* Adds a contender: fn(ctx, n) with n a multiple of batch, bytes_per_op bytes handled by one
 * operation (0 when that means nothing). Returns its index, or a negative errno. */
int rounds_add(rounds *r, const char *name, rounds_fn fn, void *ctx, long batch,
               double bytes_per_op);

/* Calibrates each contender, then runs the rounds. Returns 0, or the first negative errno a
 * contender returned (the samples are then incomplete). */
int rounds_run(rounds *r);

/* Results, after rounds_run(): how many rounds ran, and contender i's nanoseconds per
 * operation in each. */
int rounds_count(const rounds *r);
const double *rounds_ns(const rounds *r, int i);
const char *rounds_name(const rounds *r, int i);
double rounds_bytes(const rounds *r, int i);

#endif
