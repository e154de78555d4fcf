/* SPDX-License-Identifier: MIT */
/* examples/hello.c: Buffer.from('tést', 'latin1'), made by shmbufd.
 * Build: cc hello.c $(pkg-config --cflags --libs shmbuf) */
#include <shmbuf.h>
#include <stdio.h>

int main(void) {
  shmbuf_client *c;
  shmbuf_buf *b;
  char *text;
  int rc = shmbuf_connect(NULL, &c); /* $SHMBUF_SOCKET or the default */
  if (rc < 0)
    return fprintf(stderr, "%s\n", shmbuf_strerror(rc)), 1;
  rc = shmbuf_from_string(c, "tést", SHMBUF_CSTR, "latin1", &b);
  if (rc == 0)
    rc = shmbuf_inspect(b, &text);  /* <Buffer 74 e9 73 74> */
  if (rc < 0) {
    fprintf(stderr, "%s: %s\n", shmbuf_error_code(),
            shmbuf_error_message());
    shmbuf_close(c);
    return 1;
  }
  printf("%s in a pool of %zu bytes\n", text,
         shmbuf_buffer_byte_length(b));
  shmbuf_free(text);
  shmbuf_close(c);                   /* releases b too */
  return 0;
}
