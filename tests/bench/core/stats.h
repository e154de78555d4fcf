/* SPDX-License-Identifier: MIT */
/* Statistics of a benchmark's samples: the median and the spread (lowest, highest). Pure
 * arithmetic: no clock, no I/O. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

typedef struct stats_summary {
  double median, lo, hi;
  int n;
} stats_summary;

/* The median, lowest and highest of v[0..n-1] (n >= 1); v itself is left as it was. */
stats_summary stats_summarize(const double *v, int n);

/* The same of the element-wise quotients a[i] / b[i]. */
stats_summary stats_ratios(const double *a, const double *b, int n);

#endif
