/* SPDX-License-Identifier: MIT */
/* The ArrayBuffers the binding gives JavaScript. Each one is external memory of a shmbuf
 * buffer: the whole backing ArrayBuffer of a libshmbuf handle (its anchor), which keeps the
 * memory until V8 collects the ArrayBuffer, region_release() detaches it, region_moved()
 * hands the anchor (whose bytes libshmbuf moved) to a new region, or region_set_drop() lets
 * every region of a client go before the client closes.
 *
 * Knows Node-API values and libshmbuf handles; does not know the client, requests or the
 * arguments of the JavaScript API. All calls belong to the thread of the Node-API env. */
#ifndef SBN_REGION_H
#define SBN_REGION_H

#include <stdbool.h>

#include <node_api.h>
#include <shmbuf.h>

/* Every live region of one client. */
typedef struct region_set region_set;

/* A new, empty set, or NULL when out of memory. */
region_set *region_set_new(void);

/* Lets every region go before its client closes: their anchors are forgotten (closing the
 * client releases them) and, when detach is true, their ArrayBuffers are detached, so that
 * no JavaScript view reaches memory that is about to be unmapped. Pass detach = false only
 * when no JavaScript can run any more (the env is being torn down). Returns napi_ok or the
 * failure of a detach (the regions stay then). */
napi_status region_set_drop(region_set *set, napi_env env, bool detach);

/* The env is done with the set: it frees itself once the finalizers of its regions have run
 * (they may come after the env's own cleanup). Call region_set_drop() first. */
void region_set_unref(region_set *set);

/* Makes the whole backing ArrayBuffer of anchor (*out), which the new region owns from now on
 * even on failure. The ArrayBuffer must not be empty. Returns napi_ok or a failure. */
napi_status region_wrap(region_set *set, napi_env env, shmbuf_buf *anchor, napi_value *out);

/* The anchor of the live region whose ArrayBuffer is arraybuffer, or NULL. The region keeps
 * it: views made from it are the caller's to release. */
shmbuf_buf *region_anchor(region_set *set, napi_env env, napi_value arraybuffer);

/* libshmbuf has moved the bytes of arraybuffer's anchor (a dedicated region) to a new place:
 * arraybuffer, whose memory is gone, is detached (every view of it becomes empty) and the
 * anchor becomes a new region at its new place (*out). Call it before any JavaScript runs
 * again. Returns napi_ok or a failure. */
napi_status region_moved(region_set *set, napi_env env, napi_value arraybuffer, napi_value *out);

/* Gives a dedicated region back now: detaches arraybuffer (every view of it becomes empty)
 * and releases its anchor. *released is false, and nothing changes, for a pool, which other
 * views share, and for anything that is not a live region of the set. */
napi_status region_release(region_set *set, napi_env env, napi_value arraybuffer,
                           bool *released);

#endif
