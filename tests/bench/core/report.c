/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define REPORT_MAX 1024

typedef struct row {
  int placement;
  char *group, *subject, *reference, *unit; /* unit NULL: ns per operation */
  stats_summary value, reference_value, ratio;
  double bytes; /* per operation, for GB/s */
} row;

typedef struct point {
  int placement, chart;
  char *series;
  double x;
  stats_summary y;
} point;

typedef struct chart {
  char *name, *xlabel, *ylabel;
  bool logx;
} chart;

typedef struct note {
  int placement;
  char *text;
} note;

typedef struct meta {
  char *key, *value;
} meta;

struct report {
  char *placements[8], *abouts[8];
  int nplacements;
  row rows[REPORT_MAX];
  int nrows;
  point points[REPORT_MAX];
  int npoints;
  chart charts[8];
  int ncharts;
  note notes[REPORT_MAX / 4];
  int nnotes;
  meta metas[32];
  int nmetas;
};

report *report_new(void) { return calloc(1, sizeof(report)); }

void report_free(report *rep) {
  if (rep == NULL)
    return;
  for (int i = 0; i < rep->nplacements; i++)
    free(rep->placements[i]), free(rep->abouts[i]);
  for (int i = 0; i < rep->nrows; i++) {
    row *w = &rep->rows[i];
    free(w->group), free(w->subject), free(w->reference), free(w->unit);
  }
  for (int i = 0; i < rep->npoints; i++)
    free(rep->points[i].series);
  for (int i = 0; i < rep->ncharts; i++)
    free(rep->charts[i].name), free(rep->charts[i].xlabel), free(rep->charts[i].ylabel);
  for (int i = 0; i < rep->nnotes; i++)
    free(rep->notes[i].text);
  for (int i = 0; i < rep->nmetas; i++)
    free(rep->metas[i].key), free(rep->metas[i].value);
  free(rep);
}

static char *vformat(const char *fmt, va_list ap) {
  char *s;
  return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

void report_meta(report *rep, const char *key, const char *fmt, ...) {
  if (rep->nmetas == (int)(sizeof rep->metas / sizeof rep->metas[0]))
    return;
  va_list ap;
  va_start(ap, fmt);
  rep->metas[rep->nmetas++] = (meta){strdup(key), vformat(fmt, ap)};
  va_end(ap);
}

void report_placement(report *rep, const char *name, const char *about) {
  if (rep->nplacements == 8)
    return;
  rep->placements[rep->nplacements] = strdup(name);
  rep->abouts[rep->nplacements++] = strdup(about);
}

static int placement(const report *rep) { return rep->nplacements - 1; }

/* "12.3 µs", "850 ns", "1.02 ms" */
static void fmt_ns(char *out, size_t cap, double ns) {
  if (ns < 1e3)
    snprintf(out, cap, "%.3g ns", ns);
  else if (ns < 1e6)
    snprintf(out, cap, "%.3g µs", ns / 1e3);
  else
    snprintf(out, cap, "%.3g ms", ns / 1e6);
}

static void fmt_value(char *out, size_t cap, const row *w, stats_summary v) {
  if (w->unit) {
    snprintf(out, cap, "%.4g %s", v.median, w->unit);
    return;
  }
  char t[32];
  fmt_ns(t, sizeof t, v.median);
  if (w->bytes > 0)
    snprintf(out, cap, "%s (%.3g GB/s)", t, w->bytes / v.median);
  else
    snprintf(out, cap, "%s", t);
}

static void print_row(FILE *f, const report *rep, const row *w, bool md) {
  char v[64], r[64];
  fmt_value(v, sizeof v, w, w->value);
  fmt_value(r, sizeof r, w, w->reference_value);
  if (md)
    fprintf(f, "| %s | %s | %s | %s | %s | **%.2f** (%.2f..%.2f) |\n", w->group, w->subject,
            w->reference, v, r, w->ratio.median, w->ratio.lo, w->ratio.hi);
  else
    fprintf(f, "%-10s %-8s %-44s %-30s %22s %22s %8.2f  %.2f..%.2f\n",
            rep->placements[w->placement], w->group, w->subject, w->reference, v, r,
            w->ratio.median, w->ratio.lo, w->ratio.hi);
}

static row *new_row(report *rep, const char *group, const char *subject,
                    const char *reference, const char *unit) {
  if (rep->nrows == REPORT_MAX || rep->nplacements == 0)
    return NULL;
  row *w = &rep->rows[rep->nrows++];
  *w = (row){placement(rep), strdup(group), strdup(subject), strdup(reference),
             unit ? strdup(unit) : NULL, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, 0};
  return w;
}

void report_row(report *rep, const char *group, const rounds *r, int subject, int reference) {
  int n = rounds_count(r);
  if (n == 0)
    return;
  row *w = new_row(rep, group, rounds_name(r, subject), rounds_name(r, reference), NULL);
  if (w == NULL)
    return;
  w->value = stats_summarize(rounds_ns(r, subject), n);
  w->reference_value = stats_summarize(rounds_ns(r, reference), n);
  w->ratio = stats_ratios(rounds_ns(r, subject), rounds_ns(r, reference), n);
  w->bytes = rounds_bytes(r, subject);
  print_row(stdout, rep, w, false);
  fflush(stdout);
}

void report_value_row(report *rep, const char *group, const char *subject, double value,
                      const char *reference, double reference_value, const char *unit) {
  row *w = new_row(rep, group, subject, reference, unit);
  if (w == NULL)
    return;
  w->value = (stats_summary){value, value, value, 1};
  w->reference_value = (stats_summary){reference_value, reference_value, reference_value, 1};
  double q = value / reference_value;
  w->ratio = (stats_summary){q, q, q, 1};
  print_row(stdout, rep, w, false);
  fflush(stdout);
}

static int chart_index(const report *rep, const char *name) {
  for (int i = 0; i < rep->ncharts; i++)
    if (strcmp(rep->charts[i].name, name) == 0)
      return i;
  return -1;
}

void report_chart(report *rep, const char *name, const char *xlabel, const char *ylabel,
                  bool logx) {
  if (chart_index(rep, name) >= 0 || rep->ncharts == 8)
    return;
  rep->charts[rep->ncharts++] = (chart){strdup(name), strdup(xlabel), strdup(ylabel), logx};
}

void report_point(report *rep, const char *name, const char *series, double x,
                  stats_summary y) {
  int c = chart_index(rep, name);
  if (c < 0 || rep->npoints == REPORT_MAX || rep->nplacements == 0)
    return;
  rep->points[rep->npoints++] = (point){placement(rep), c, strdup(series), x, y};
}

void report_note(report *rep, const char *fmt, ...) {
  if (rep->nnotes == (int)(sizeof rep->notes / sizeof rep->notes[0]) || rep->nplacements == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  rep->notes[rep->nnotes++] = (note){placement(rep), vformat(fmt, ap)};
  va_end(ap);
  printf("  %s\n", rep->notes[rep->nnotes - 1].text);
}

/* ---- writing -------------------------------------------------------------------------------- */

/* The distinct series of chart c in placement p, in order of appearance. */
static int series_of(const report *rep, int p, int c, const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < rep->npoints; i++) {
    const point *q = &rep->points[i];
    if (q->placement != p || q->chart != c)
      continue;
    int k = 0;
    while (k < n && strcmp(out[k], q->series) != 0)
      k++;
    if (k == n && n < cap)
      out[n++] = q->series;
  }
  return n;
}

static const point *find_point(const report *rep, int p, int c, const char *series, double x) {
  for (int i = 0; i < rep->npoints; i++) {
    const point *q = &rep->points[i];
    if (q->placement == p && q->chart == c && q->x == x && strcmp(q->series, series) == 0)
      return q;
  }
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The distinct x of chart c in placement p, ascending. */
static int xs_of(const report *rep, int p, int c, double *out, int cap) {
  int n = 0, distinct = 0;
  for (int i = 0; i < rep->npoints && n < cap; i++)
    if (rep->points[i].placement == p && rep->points[i].chart == c)
      out[n++] = rep->points[i].x;
  qsort(out, (size_t)n, sizeof *out, cmp_double);
  for (int i = 0; i < n; i++)
    if (distinct == 0 || out[distinct - 1] != out[i])
      out[distinct++] = out[i];
  return distinct;
}

static void write_chart_table(FILE *f, const report *rep, int p, int c) {
  const char *series[8];
  double xs[64];
  int ns = series_of(rep, p, c, series, 8), nx = xs_of(rep, p, c, xs, 64);
  if (ns == 0)
    return;
  const chart *ch = &rep->charts[c];
  fprintf(f, "\n%s against %s (median, lowest..highest):\n\n| %s |", ch->ylabel, ch->xlabel,
          ch->xlabel);
  for (int s = 0; s < ns; s++)
    fprintf(f, " %s |", series[s]);
  fprintf(f, "\n|---|");
  for (int s = 0; s < ns; s++)
    fprintf(f, "---|");
  fprintf(f, "\n");
  for (int i = 0; i < nx; i++) {
    fprintf(f, "| %g |", xs[i]);
    for (int s = 0; s < ns; s++) {
      const point *q = find_point(rep, p, c, series[s], xs[i]);
      if (q && q->y.median >= 100)
        fprintf(f, " %.0f (%.0f..%.0f) |", q->y.median, q->y.lo, q->y.hi);
      else if (q)
        fprintf(f, " %.3g (%.3g..%.3g) |", q->y.median, q->y.lo, q->y.hi);
      else
        fprintf(f, " |");
    }
    fprintf(f, "\n");
  }
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void json_summary(FILE *f, const char *name, stats_summary s) {
  fprintf(f, "\"%s\":{\"median\":%.6g,\"lo\":%.6g,\"hi\":%.6g,\"n\":%d}", name, s.median, s.lo,
          s.hi, s.n);
}

/* DIR/NAME, opened for writing. */
static FILE *create(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return fopen(path, "w");
}

static int write_json(const report *rep, const char *dir) {
  FILE *f = create(dir, "bench.json");
  if (f == NULL)
    return -errno;
  fprintf(f, "{\n  \"meta\": {");
  for (int i = 0; i < rep->nmetas; i++) {
    fprintf(f, "%s\n    ", i ? "," : "");
    json_string(f, rep->metas[i].key);
    fputc(':', f);
    json_string(f, rep->metas[i].value);
  }
  fprintf(f, "\n  },\n  \"placements\": [");
  for (int p = 0; p < rep->nplacements; p++) {
    fprintf(f, "%s\n    {\"name\":", p ? "," : "");
    json_string(f, rep->placements[p]);
    fprintf(f, ",\n     \"rows\": [");
    bool first = true;
    for (int i = 0; i < rep->nrows; i++) {
      const row *w = &rep->rows[i];
      if (w->placement != p)
        continue;
      fprintf(f, "%s\n      {\"group\":", first ? "" : ",");
      first = false;
      json_string(f, w->group);
      fprintf(f, ",\"subject\":");
      json_string(f, w->subject);
      fprintf(f, ",\"reference\":");
      json_string(f, w->reference);
      fprintf(f, ",\"unit\":");
      json_string(f, w->unit ? w->unit : "ns/op");
      fprintf(f, ",\"bytes_per_op\":%g,", w->bytes);
      json_summary(f, "value", w->value);
      fputc(',', f);
      json_summary(f, "reference_value", w->reference_value);
      fputc(',', f);
      json_summary(f, "ratio", w->ratio);
      fputc('}', f);
    }
    fprintf(f, "],\n     \"charts\": [");
    first = true;
    for (int i = 0; i < rep->npoints; i++) {
      const point *q = &rep->points[i];
      if (q->placement != p)
        continue;
      fprintf(f, "%s\n      {\"chart\":", first ? "" : ",");
      first = false;
      json_string(f, rep->charts[q->chart].name);
      fprintf(f, ",\"series\":");
      json_string(f, q->series);
      fprintf(f, ",\"x\":%g,", q->x);
      json_summary(f, "y", q->y);
      fputc('}', f);
    }
    fprintf(f, "],\n     \"notes\": [");
    first = true;
    for (int i = 0; i < rep->nnotes; i++)
      if (rep->notes[i].placement == p) {
        fprintf(f, "%s", first ? "" : ",");
        first = false;
        json_string(f, rep->notes[i].text);
      }
    fprintf(f, "]}");
  }
  fprintf(f, "\n  ]\n}\n");
  return fclose(f) == 0 ? 0 : -EIO;
}

static int write_md(const report *rep, const char *dir) {
  FILE *f = create(dir, "bench.md");
  if (f == NULL)
    return -errno;
  for (int i = 0; i < rep->nmetas; i++)
    fprintf(f, "%s%s: %s", i ? "; " : "", rep->metas[i].key, rep->metas[i].value);
  fprintf(f, "\n\nRatio: the case's cost over the reference's (time per operation, or bytes), "
             "taken round by round with the two interleaved; the median, and the lowest and "
             "highest over the rounds. Below 1, the case is cheaper.\n");
  for (int p = 0; p < rep->nplacements; p++) {
    fprintf(f, "\n### %s\n\n", rep->abouts[p]);
    fprintf(f, "| group | case | against | case | reference | ratio (median, spread) |\n"
               "|---|---|---|---|---|---|\n");
    for (int i = 0; i < rep->nrows; i++)
      if (rep->rows[i].placement == p)
        print_row(f, rep, &rep->rows[i], true);
    for (int c = 0; c < rep->ncharts; c++)
      write_chart_table(f, rep, p, c);
    bool any = false;
    for (int i = 0; i < rep->nnotes; i++)
      if (rep->notes[i].placement == p) {
        fprintf(f, "%s- %s\n", any ? "" : "\n", rep->notes[i].text);
        any = true;
      }
  }
  return fclose(f) == 0 ? 0 : -EIO;
}

/* One data file per series (x, median, lowest, highest), then gnuplot draws them. */
static int write_png(const report *rep, const char *dir, int c) {
  const char *series[8];
  double xs[64];
  int ns = series_of(rep, 0, c, series, 8), nx = xs_of(rep, 0, c, xs, 64);
  const chart *ch = &rep->charts[c];
  char path[4096], plot[8192];
  if (ns == 0)
    return 0;
  int len = snprintf(plot, sizeof plot,
                     "set terminal png size 900,560; set output '%s/bench-%s.png'; "
                     "set xlabel '%s'; set ylabel '%s'; set yrange [0:*]; set key top left; "
                     "set grid; set title '%s (%s)'; %s plot ",
                     dir, ch->name, ch->xlabel, ch->ylabel, ch->ylabel, rep->placements[0],
                     ch->logx ? "set logscale x;" : "");
  for (int s = 0; s < ns; s++) {
    snprintf(path, sizeof path, "%s/bench-%s-%d.dat", dir, ch->name, s);
    FILE *d = fopen(path, "w");
    if (d == NULL)
      return -errno;
    for (int i = 0; i < nx; i++) {
      const point *q = find_point(rep, 0, c, series[s], xs[i]);
      if (q)
        fprintf(d, "%g %g %g %g\n", xs[i], q->y.median, q->y.lo, q->y.hi);
    }
    fclose(d);
    len += snprintf(plot + len, sizeof plot - (size_t)len,
                    "%s'%s' using 1:2:3:4 with yerrorlines lw 2 title '%s'", s ? ", " : "",
                    path, series[s]);
  }
  snprintf(path, sizeof path, "%s/bench-%s.gp", dir, ch->name);
  FILE *g = fopen(path, "w");
  if (g == NULL)
    return -errno;
  fprintf(g, "%s\n", plot);
  fclose(g);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "command -v gnuplot >/dev/null && gnuplot '%s'", path);
  if (system(cmd) != 0)
    return -ENOENT;
  printf("wrote %s/bench-%s.png\n", dir, ch->name);
  return 0;
}

int report_write(report *rep, const char *dir) {
  int rc;
  printf("\n%-10s %-8s %-44s %-30s %22s %22s %8s  %s\n", "placement", "group", "case",
         "against", "case", "reference", "ratio", "spread");
  for (int i = 0; i < rep->nrows; i++)
    print_row(stdout, rep, &rep->rows[i], false);
  for (int p = 0; p < rep->nplacements; p++)
    for (int c = 0; c < rep->ncharts; c++) {
      if (series_of(rep, p, c, (const char *[1]){0}, 1) > 0)
        printf("\n[%s]", rep->placements[p]);
      write_chart_table(stdout, rep, p, c);
    }
  if ((rc = write_json(rep, dir)) < 0 || (rc = write_md(rep, dir)) < 0)
    return rc;
  printf("\nwrote %s/bench.json and %s/bench.md\n", dir, dir);
  for (int c = 0; c < rep->ncharts; c++)
    if (write_png(rep, dir, c) == -ENOENT)
      printf("no gnuplot: no %s/bench-%s.png\n", dir, rep->charts[c].name);
  return 0;
}
