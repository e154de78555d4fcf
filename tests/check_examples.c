/* SPDX-License-Identifier: MIT */
/* The examples, the programs in examples/: what README.md and libshmbuf(3) show is what make
 * check builds, byte for byte, and what it builds runs against a real daemon and says what it
 * should.
 *
 * A document shows an example as a code block that holds the file without its SPDX line, and
 * so begins with the comment naming the file ("examples/x.c: ..."): a ```c block in
 * README.md, a .nf/.fi block in the EXAMPLES section of libshmbuf.3. The man page escapes the
 * code for roff, and only with escapes that print the characters the code has: a raw - ' ` ^ ~
 * would print as a hyphen, a curly quote or a modifier letter, and the code would not copy and
 * paste. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define OUT_CAP (64u << 10)

static char out[OUT_CAP], err[OUT_CAP];

static const char *srcdir(void) {
  const char *s = getenv("srcdir");
  return s && s[0] ? s : ".";
}

/* The whole file at srcdir/rel, NUL-terminated. */
static char *slurp(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", srcdir(), rel);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(mem);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;)
    fwrite(buf, 1, n, mem);
  fclose(f);
  fclose(mem);
  return text;
}

/* The examples in srcdir/examples ("hello.c", ...), how many in *n. */
static char **example_files(size_t *n) {
  char path[512], **names = NULL;
  snprintf(path, sizeof path, "%s/examples", srcdir());
  DIR *d = opendir(path);
  ck_assert_msg(d != NULL, "cannot open %s", path);
  *n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
      continue;
    names = realloc(names, (*n + 1) * sizeof *names);
    ck_assert_ptr_nonnull(names);
    names[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  return names;
}

/* Checks that block (len bytes, ending in a newline) shows the example it names, and returns
 * that example's file name. */
static const char *assert_shows_its_file(const char *doc, const char *block, size_t len) {
  static char name[64];
  static const char prefix[] = "/* examples/";
  ck_assert_msg(strncmp(block, prefix, strlen(prefix)) == 0,
                "a C block in %s names no example: %.60s", doc, block);
  const char *start = block + strlen(prefix), *end = strchr(start, ':');
  ck_assert_msg(end && end - start < (long)sizeof name - 1, "%s: a block's name: %.60s", doc,
                block);
  snprintf(name, sizeof name, "%.*s", (int)(end - start), start);
  char rel[128];
  snprintf(rel, sizeof rel, "examples/%s", name);
  char *file = slurp(rel);
  const char *body = strchr(file, '\n'); /* past the SPDX line */
  ck_assert_ptr_nonnull(body);
  body++;
  size_t at = 0;
  while (at < len && body[at] == block[at])
    at++;
  ck_assert_msg(at == len && body[at] == '\0',
                "%s differs from examples/%s at byte %zu: \"%.40s\" against \"%.40s\"",
                doc, name, at, block + at, body + at);
  free(file);
  return name;
}

/* The text a roff line of a no-fill block prints, appended to *o (n bytes so far); false on
 * an escape or a character an example may not use (see above). */
static bool unroff_line(const char *line, size_t len, char *o, size_t *n) {
  static const struct {
    const char *escape, *prints;
  } escapes[] = {{"\\e", "\\"},    {"\\-", "-"},    {"\\&", ""},     {"\\(aq", "'"},
                 {"\\(ga", "`"},   {"\\(ha", "^"},  {"\\(ti", "~"},  {"\\('e", "\xc3\xa9"}};
  if (len > 0 && (line[0] == '.' || line[0] == '\''))
    return false; /* a request, not text */
  for (size_t i = 0; i < len;) {
    if (strchr("-'`^~", line[i]))
      return false;
    if (line[i] != '\\') {
      o[(*n)++] = line[i++];
      continue;
    }
    size_t k = 0;
    while (k < sizeof escapes / sizeof *escapes &&
           strncmp(line + i, escapes[k].escape, strlen(escapes[k].escape)) != 0)
      k++;
    if (k == sizeof escapes / sizeof *escapes)
      return false;
    memcpy(o + *n, escapes[k].prints, strlen(escapes[k].prints));
    *n += strlen(escapes[k].prints);
    i += strlen(escapes[k].escape);
  }
  o[(*n)++] = '\n';
  return true;
}

/* Marks `name` as shown in shown[] (parallel to names[]). */
static void mark(char **names, bool *shown, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0)
      shown[i] = true;
}

START_TEST(readme_shows_the_examples) {
  char *readme = slurp("README.md");
  size_t blocks = 0;
  for (char *p = readme; (p = strstr(p, "\n```c\n")) != NULL;) {
    char *block = p + strlen("\n```c\n"), *end = strstr(block, "\n```\n");
    ck_assert_ptr_nonnull(end);
    assert_shows_its_file("README.md", block, (size_t)(end - block) + 1);
    blocks++;
    p = end + 1;
  }
  ck_assert_msg(blocks > 0, "README.md shows no example");
  free(readme);
}
END_TEST

START_TEST(the_man_page_shows_every_example) {
  size_t n;
  char **names = example_files(&n), *man = slurp("man/libshmbuf.3");
  bool shown[16] = {false};
  ck_assert_uint_le(n, 16);
  char *section = strstr(man, "\n.SH EXAMPLES\n");
  ck_assert_ptr_nonnull(section);
  char *section_end = strstr(section + 1, "\n.SH ");
  ck_assert_ptr_nonnull(section_end);
  section_end[1] = '\0'; /* after the newline that ends the last block */
  for (char *p = section; (p = strstr(p, "\n.nf\n")) != NULL;) {
    char *line = p + strlen("\n.nf\n"), *end = strstr(line, "\n.fi\n");
    ck_assert_ptr_nonnull(end);
    char *text = malloc((size_t)(end - line) + 2);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (char *eol; line <= end; line = eol + 1) {
      eol = strchr(line, '\n');
      ck_assert_msg(unroff_line(line, (size_t)(eol - line), text, &len),
                    "libshmbuf.3: an escape an example may not use: %.*s", (int)(eol - line),
                    line);
    }
    mark(names, shown, n, assert_shows_its_file("libshmbuf.3", text, len));
    free(text);
    p = end + 1;
  }
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(shown[i], "libshmbuf.3 does not show examples/%s", names[i]);
    free(names[i]);
  }
  free(names);
  free(man);
}
END_TEST

/* ---- the examples run ------------------------------------------------------------------- */

static sbt_daemon D;

static void up(void) {
  sbt_start(&D, NULL);
  setenv("SHMBUF_SOCKET", D.sock, 1);
}

static void down(void) { sbt_stop(&D); }

static void assert_runs(const char *name, const char *want) {
  char path[64];
  snprintf(path, sizeof path, "./examples/%s", name);
  const char *argv[] = {path, NULL};
  int status = sbt_run(argv, NULL, out, sizeof out, err, sizeof err);
  ck_assert_msg(status == 0, "%s exited with %d: %s", name, status, err);
  ck_assert_str_eq(out, want);
  ck_assert_str_eq(err, "");
  /* and gave everything back */
  ck_assert_uint_eq(sbt_stat_wait(&D, "connections", 0, 2000), 0);
  ck_assert_uint_eq(sbt_stat(&D, "buffers"), 0);
}

START_TEST(hello) { assert_runs("hello", "<Buffer 74 e9 73 74> in a pool of 8192 bytes\n"); }
END_TEST

START_TEST(pipeline) { assert_runs("pipeline", "100 buffers of 64 KiB, zero-filled\n"); }
END_TEST

/* The socket is non-blocking under a uv_poll_t, and leases block. */
START_TEST(libuv) { assert_runs("libuv", "1000 buffers made, 0 failed\n"); }
END_TEST

/* Two processes: the second maps what the first wrote, by its token. */
START_TEST(share) { assert_runs("share", "hello, reader (read-only: 1)\n"); }
END_TEST

static Suite *examples_suite(void) {
  Suite *s = suite_create("examples");
  TCase *docs = tcase_create("documents");
  tcase_add_test(docs, readme_shows_the_examples);
  tcase_add_test(docs, the_man_page_shows_every_example);
  suite_add_tcase(s, docs);
  TCase *run = tcase_create("run");
  tcase_add_checked_fixture(run, up, down);
  tcase_set_timeout(run, 60);
  tcase_add_test(run, hello);
  tcase_add_test(run, pipeline);
  tcase_add_test(run, libuv);
  tcase_add_test(run, share);
  suite_add_tcase(s, run);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(examples_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
