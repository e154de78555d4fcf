/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int max_level = LOG_INFO;

static const char *const names[] = {"emerg", "alert", "crit", "err",
                                    "warning", "notice", "info", "debug"};

void log_set_level(int level) { max_level = level; }

int log_level_parse(const char *name) {
  for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
    if (strcmp(name, names[i]) == 0)
      return i;
  if (name[0] >= '3' && name[0] <= '7' && name[1] == '\0')
    return name[0] - '0';
  return -1;
}

const char *log_level_name(int level) { return names[level & 7]; }

void log_msg(int prio, const char *fmt, ...) {
  if (prio > max_level)
    return;
  /* One fprintf per line keeps lines whole when stderr is a pipe shared with others. */
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "<%d>%s\n", prio, line);
}
