/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stddef.h>

#include "groups.h"

#define BENCH_GROUP_ENTRY(name) &group_##name,
const group *const groups_all[] = {BENCH_GROUPS(BENCH_GROUP_ENTRY) NULL};
