/* SPDX-License-Identifier: MIT */
/* The results: rows that compare a shmbuf case with a floor or a peer as a ratio, charts of
 * points (e.g. operations per second against connection count), and notes, grouped by
 * placement. Prints each row as it comes, and at the end a table per placement and
 * DIR/bench.json, DIR/bench.md and a gnuplot PNG per chart (DIR/bench-<chart>.png). It
 * measures nothing. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdbool.h>

#include "rounds.h"
#include "stats.h"

typedef struct report report;

report *report_new(void);
void report_free(report *rep);

/* A fact about the run for the header (machine, versions, load), in insertion order. */
void report_meta(report *rep, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The rows, points and notes that follow belong to this placement (a name and a phrase). */
void report_placement(report *rep, const char *name, const char *about);

/* A row from interleaved rounds: contender `subject` against contender `reference`, the
 * ratio being subject's time per operation over reference's, round by round. */
void report_row(report *rep, const char *group, const rounds *r, int subject, int reference);

/* A row of one measured quantity each (e.g. bytes of memory), not timed in rounds. */
void report_value_row(report *rep, const char *group, const char *subject, double value,
                      const char *reference, double reference_value, const char *unit);

/* Declares a chart: its axes, and whether x is on a log scale. */
void report_chart(report *rep, const char *chart, const char *xlabel, const char *ylabel,
                  bool logx);

/* A point of a series on a chart, in the current placement. */
void report_point(report *rep, const char *chart, const char *series, double x,
                  stats_summary y);

/* A line of text for the current placement. */
void report_note(report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints the tables and writes DIR/bench.json, DIR/bench.md and the charts' PNGs (when
 * gnuplot is installed; the charts of the first placement). Returns 0 or a negative errno. */
int report_write(report *rep, const char *dir);

#endif
