/* SPDX-License-Identifier: MIT */
/* A test-only preload (LD_PRELOAD) for shmbufd: getpwnam() and getgrnam() that first sleep for
 * $SHMBUF_SLOW_NSS_MS milliseconds, as a lookup through a slow directory service does, and then
 * ask the real ones. tests/check_systemd runs a reload through it. */
#include "config.h"

#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <time.h>

/* Exported whatever the build's default visibility, or nothing is interposed. */
#define INTERPOSED __attribute__((visibility("default")))

INTERPOSED struct group *getgrnam(const char *name);
INTERPOSED struct passwd *getpwnam(const char *name);

static void take_long(void) {
  const char *text = getenv("SHMBUF_SLOW_NSS_MS");
  long ms = text ? strtol(text, NULL, 10) : 0;
  struct timespec left = {ms / 1000, ms % 1000 * 1000000};
  while (ms > 0 && nanosleep(&left, &left) < 0)
    ;
}

struct group *getgrnam(const char *name) {
  static struct group *(*real)(const char *);
  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "getgrnam");
  take_long();
  return real(name);
}

struct passwd *getpwnam(const char *name) {
  static struct passwd *(*real)(const char *);
  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "getpwnam");
  take_long();
  return real(name);
}
