/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define STATS_MAX 64

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

stats_summary stats_summarize(const double *v, int n) {
  double s[STATS_MAX];
  if (n > STATS_MAX)
    n = STATS_MAX;
  memcpy(s, v, (size_t)n * sizeof *s);
  qsort(s, (size_t)n, sizeof *s, cmp_double);
  double median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  return (stats_summary){median, s[0], s[n - 1], n};
}

stats_summary stats_ratios(const double *a, const double *b, int n) {
  double q[STATS_MAX];
  if (n > STATS_MAX)
    n = STATS_MAX;
  for (int i = 0; i < n; i++)
    q[i] = a[i] / b[i];
  return stats_summarize(q, n);
}
