/* SPDX-License-Identifier: MIT */
/* examples/libuv.c: a thousand buffers asked for from a libuv loop. The
 * client's socket is watched with a uv_poll_t, closed once the last
 * answer is in. Small buffers come from pools the library leases, and
 * waiting for a lease blocks: uv_poll_init() makes the socket
 * non-blocking, and the library waits with poll() then. */
#include <shmbuf.h>
#include <stdio.h>
#include <uv.h>

static uv_poll_t watch;
static int left = 1000, failed;

static void got(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c, (void)arg;
  if (status < 0)
    failed++;
  else
    shmbuf_release(buf);             /* after using it */
  left--;
}

/* Stops watching when every answer is in or the daemon is gone. */
static void done_yet(int lost) {
  if ((lost || left == 0) && !uv_is_closing((uv_handle_t *)&watch))
    uv_close((uv_handle_t *)&watch, NULL);
}

static void readable(uv_poll_t *w, int status, int events) {
  (void)events;
  done_yet(status < 0 || shmbuf_process(w->data) < 0);
}

int main(void) {
  shmbuf_client *c;
  int rc = shmbuf_connect(NULL, &c);
  if (rc < 0)
    return fprintf(stderr, "%s\n", shmbuf_strerror(rc)), 1;
  uv_poll_init(uv_default_loop(), &watch, shmbuf_fd(c));
  watch.data = c;
  uv_poll_start(&watch, UV_READABLE, readable);
  for (int i = 0; i < 1000; i++)
    if (shmbuf_submit_alloc_unsafe(c, i % 2 ? 100 : 1 << 20, got, NULL) < 0)
      failed++, left--;
  shmbuf_flush(c);
  done_yet(shmbuf_process(c) < 0);   /* what needs no answer */
  uv_run(uv_default_loop(), UV_RUN_DEFAULT);
  printf("%d buffers made, %d failed\n", 1000 - failed, failed);
  shmbuf_close(c);
  return failed > 0;
}
