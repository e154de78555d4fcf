/* SPDX-License-Identifier: MIT */
/* examples/pipeline.c: a hundred buffers of 64 KiB asked for in one
 * write, and the answers that follow, in order. */
#include <shmbuf.h>
#include <stdio.h>

static void got(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg) {
  (void)c;
  if (status < 0)
    fprintf(stderr, "%s\n", shmbuf_error_message());
  *(shmbuf_buf **)arg = buf;         /* NULL on failure */
}

static int alloc_many(shmbuf_client *c, shmbuf_buf *bufs[100]) {
  int rc = 0, i;
  for (i = 0; i < 100; i++)
    bufs[i] = NULL;
  for (i = 0; i < 100 && rc == 0; i++)
    rc = shmbuf_submit_alloc(c, 65536, got, &bufs[i]);
  i = shmbuf_wait(c);                /* one write; then every callback has run */
  return rc < 0 ? rc : i;
}

int main(void) {
  shmbuf_client *c;
  shmbuf_buf *bufs[100];
  int zeroed = 0, rc = shmbuf_connect(NULL, &c);
  if (rc < 0)
    return fprintf(stderr, "%s\n", shmbuf_strerror(rc)), 1;
  rc = alloc_many(c, bufs);
  for (int i = 0; i < 100; i++)      /* alloc() fills with zeros */
    zeroed += bufs[i] && shmbuf_data(bufs[i])[65535] == 0;
  printf("%d buffers of 64 KiB, zero-filled\n", zeroed);
  shmbuf_close(c);
  return rc < 0 || zeroed < 100;
}
