/* SPDX-License-Identifier: MIT */
/* examples/share.c: one process writes a buffer, another maps the same memory by its token.
 * Build: cc share.c $(pkg-config --cflags --libs shmbuf) */
#include <shmbuf.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The reader: any process that is given the token, here through a pipe. */
static int reader(int from_writer) {
  char token[SHMBUF_TOKEN_MAX] = "";
  shmbuf_client *c;
  shmbuf_buf *view;
  if (read(from_writer, token, sizeof token - 1) <= 0 || shmbuf_connect(NULL, &c) < 0)
    return 1;
  if (shmbuf_import(c, token, &view) < 0) {
    fprintf(stderr, "import: %s\n", shmbuf_error_message());
    return 1;
  }
  printf("%.*s (read-only: %d)\n", (int)shmbuf_length(view), (char *)shmbuf_data(view),
         shmbuf_is_read_only(view));
  shmbuf_close(c);
  return 0;
}

int main(void) {
  int pipe_fds[2], status;
  if (pipe(pipe_fds) < 0)
    return 1;
  pid_t pid = fork();
  if (pid == 0)
    return reader(pipe_fds[0]);

  shmbuf_client *c;
  shmbuf_buf *b;
  char token[SHMBUF_TOKEN_MAX];
  if (shmbuf_connect(NULL, &c) < 0 ||
      shmbuf_from_string(c, "hello, reader", SHMBUF_CSTR, NULL, &b) < 0 ||
      shmbuf_share(b, SHMBUF_SHARE_SINGLE_USE, 60000, token) < 0) {
    fprintf(stderr, "share: %s\n", shmbuf_error_message());
    return 1;
  }
  if (write(pipe_fds[1], token, strlen(token)) < 0 || waitpid(pid, &status, 0) < 0)
    return 1;
  shmbuf_close(c);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
