/* SPDX-License-Identifier: MIT */
/* libshmbuf: sharing buffers with other processes (shmbuf.h, "sharing"). A share or a seal
 * puts the buffer's bytes in a memory object of their own; when the daemon had to copy them
 * there, it answers with a new buffer, and the handles on those bytes move onto it here, so
 * that the exporter goes on writing (or, sealed, reading) what importers map. */
#include "config.h"

#include "client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define SHARE_FLAGS                                                                              \
  (SHMBUF_SHARE_WRITABLE | SHMBUF_SHARE_SEALED | SHMBUF_SHARE_SINGLE_USE | SHMBUF_SHARE_PERSIST)

/* What a share or a seal covers: a dedicated ArrayBuffer whole, with buf's view in it; in a
 * pool, only buf's bytes, which become an ArrayBuffer of their own. An ArrayBuffer carved here
 * is a range of the region the daemon leased (local.h), region_off into it. */
static int range_of(const shmbuf_buf *b, Shmbufwire__ShareRange *r) {
  const handle_backing *bk = b->bk;
  if (bk->id == 0) /* an empty buffer made here: the daemon has nothing to share */
    return errors_fail(-EINVAL, "ERR_INVALID_ARG_VALUE",
                       "The argument 'buffer' is invalid. An empty buffer made without the "
                       "daemon cannot be shared");
  shmbufwire__share_range__init(r);
  r->buffer = bk->id;
  if (bk->pooled) {
    r->ab_offset = bk->region_off + b->byte_offset;
    r->ab_length = r->length = b->length;
  } else {
    r->ab_offset = bk->region_off;
    r->ab_length = bk->ab_length;
    r->byte_offset = b->byte_offset;
    r->length = b->length;
  }
  return 0;
}

/* A request that names a token: import or unshare. */
typedef struct token_request {
  Shmbufwire__Request q;
  Shmbufwire__Import import;
  Shmbufwire__Unshare unshare;
} token_request;

static Shmbufwire__Request *token_request_of(token_request *t, Shmbufwire__Request__OpCase op,
                                             const char *token) {
  shmbufwire__request__init(&t->q);
  shmbufwire__import__init(&t->import);
  shmbufwire__unshare__init(&t->unshare);
  t->import.token = t->unshare.token = (char *)token;
  t->q.op_case = op;
  if (op == SHMBUFWIRE__REQUEST__OP_IMPORT)
    t->q.import = &t->import;
  else
    t->q.unshare = &t->unshare;
  return &t->q;
}

/* Tells the daemon, without waiting, that a token is not wanted after all. */
static void unshare_later(shmbuf_client *c, const char *token) {
  token_request t;
  flight_submit(&c->flight, token_request_of(&t, SHMBUFWIRE__REQUEST__OP_UNSHARE, token), NULL,
                NULL, NULL, NULL);
}

/* Points buf (and, for a dedicated ArrayBuffer, every handle on it) at where the daemon put
 * its bytes: the same buffer, now an object of its own, or a new buffer holding their copy,
 * whose old ArrayBuffer is then given up. Returns 0, -ENOMEM or -EPROTO (recorded; the new
 * buffer is given back then). */
static int move_to(shmbuf_buf *b, const Shmbufwire__Buffer *nb) {
  shmbuf_client *c = b->c;
  handle_backing *old = b->bk, *bk;
  if (nb->buffer == old->id) {
    old->shared = nb->shared;
    old->read_only = nb->read_only;
    old->sealed = nb->sealed;
    return 0;
  }
  const char *why;
  int rc = handle_backing_of(&c->handles, &c->slabs, nb, &bk, &why);
  if (rc < 0) {
    if (rc == -EPROTO)
      return wire_broken(&c->wire, rc, why);
    local_release(c, nb->buffer, nb->ab_length);
    return rc;
  }
  if (old->pooled) {
    handle_move_view(b, bk, nb->byte_offset);
    local_unref(c, old);
    return 0;
  }
  old->refs++; /* held until every view has moved */
  handle_move_views(&c->handles, old, bk);
  local_unref(c, old);
  return 0;
}

/* Sends a share or seal request for buf and moves buf to the reply's buffer; the Shared
 * reply's token goes to `token` (NULL for a seal). */
static int place(shmbuf_buf *b, Shmbufwire__Request *q, char *token) {
  shmbuf_client *c = b->c;
  Shmbufwire__Reply *r;
  int rc = flight_call(&c->flight, q, &r);
  if (rc < 0)
    return rc;
  const Shmbufwire__Buffer *nb = flight_buffer_of(r);
  if (token && strlen(r->shared->token) >= SHMBUF_TOKEN_MAX)
    rc = wire_broken(&c->wire, -EPROTO, "a token longer than any the protocol makes");
  else if ((rc = move_to(b, nb)) == 0 && token)
    strcpy(token, r->shared->token);
  else if (rc < 0 && token)
    unshare_later(c, r->shared->token);
  wire_reply_free(r);
  return rc;
}

int shmbuf_share_ex(shmbuf_buf *b, unsigned flags, uint64_t ttl_ms, const uid_t *uids,
                    size_t nuids, const gid_t *gids, size_t ngids, char token[SHMBUF_TOKEN_MAX]) {
  if (flags & ~SHARE_FLAGS)
    return errors_fail(-EINVAL, "ERR_INVALID_ARG_VALUE",
                       "The argument 'flags' is invalid. Received %u", flags);
  Shmbufwire__Request q;
  Shmbufwire__Share s;
  Shmbufwire__ShareRange range;
  int rc = range_of(b, &range);
  if (rc < 0)
    return rc;
  shmbufwire__request__init(&q);
  shmbufwire__share__init(&s);
  s.range = &range;
  s.writable = flags & SHMBUF_SHARE_WRITABLE;
  s.sealed = flags & SHMBUF_SHARE_SEALED;
  s.single_use = flags & SHMBUF_SHARE_SINGLE_USE;
  s.persist = flags & SHMBUF_SHARE_PERSIST;
  s.ttl_ms = ttl_ms;
  /* uid_t and gid_t are the protocol's uint32 on Linux */
  s.allow_uids = (uint32_t *)uids;
  s.n_allow_uids = uids ? nuids : 0;
  s.allow_gids = (uint32_t *)gids;
  s.n_allow_gids = gids ? ngids : 0;
  q.op_case = SHMBUFWIRE__REQUEST__OP_SHARE;
  q.share = &s;
  return place(b, &q, token);
}

int shmbuf_share(shmbuf_buf *b, unsigned flags, uint64_t ttl_ms, char token[SHMBUF_TOKEN_MAX]) {
  return shmbuf_share_ex(b, flags, ttl_ms, NULL, 0, NULL, 0, token);
}

int shmbuf_seal(shmbuf_buf *b) {
  Shmbufwire__Request q;
  Shmbufwire__Seal s;
  Shmbufwire__ShareRange range;
  int rc = range_of(b, &range);
  if (rc < 0)
    return rc;
  shmbufwire__request__init(&q);
  shmbufwire__seal__init(&s);
  s.range = &range;
  q.op_case = SHMBUFWIRE__REQUEST__OP_SEAL;
  q.seal = &s;
  return place(b, &q, NULL);
}

/* A token as the protocol can carry it (printable ASCII, shorter than SHMBUF_TOKEN_MAX);
 * any other cannot name a share, and gets the daemon's answer without asking it. */
static int token_arg(const char *token) {
  size_t n = 0;
  if (token == NULL)
    return errors_fail(-EINVAL, "ERR_INVALID_ARG_TYPE",
                       "The \"token\" argument must be of type string. Received null");
  for (; token[n]; n++)
    if (n + 1 >= SHMBUF_TOKEN_MAX || token[n] <= ' ' || token[n] > '~')
      return errors_fail(-ENOENT, "ERR_SHMBUF_TOKEN",
                         "The token names no share this connection may import");
  return 0;
}

/* Sends a request naming a checked token and blocks for its reply. */
static int call_with_token(shmbuf_client *c, Shmbufwire__Request__OpCase op, const char *token,
                           Shmbufwire__Reply **r) {
  token_request t;
  int rc = token_arg(token);
  return rc < 0 ? rc : flight_call(&c->flight, token_request_of(&t, op, token), r);
}

int shmbuf_import(shmbuf_client *c, const char *token, shmbuf_buf **out) {
  Shmbufwire__Reply *r;
  int rc = call_with_token(c, SHMBUFWIRE__REQUEST__OP_IMPORT, token, &r);
  if (rc < 0)
    return rc;
  rc = local_adopt(c, r->buffer, out);
  wire_reply_free(r);
  return rc;
}

int shmbuf_unshare(shmbuf_client *c, const char *token) {
  Shmbufwire__Reply *r;
  int rc = call_with_token(c, SHMBUFWIRE__REQUEST__OP_UNSHARE, token, &r);
  if (rc == 0)
    wire_reply_free(r);
  return rc;
}

int shmbuf_is_sealed(const shmbuf_buf *b) { return b->bk->sealed; }

int shmbuf_is_read_only(const shmbuf_buf *b) { return b->bk->read_only || b->bk->sealed; }

int shmbuf_is_shared(const shmbuf_buf *b) { return b->bk->shared; }

/* ---- the list of shares ------------------------------------------------------------------ */

typedef struct share_row {
  char *token; /* NULL: another user's */
  uid_t uid;
  pid_t pid;
  uint64_t length, age_ms, ttl_ms;
  unsigned flags;
  uint32_t importers;
} share_row;

struct shmbuf_share_list {
  size_t n;
  share_row rows[];
};

int shmbuf_list_shares(shmbuf_client *c, shmbuf_share_list **out) {
  Shmbufwire__Request q;
  Shmbufwire__ListShares ls;
  shmbufwire__request__init(&q);
  shmbufwire__list_shares__init(&ls);
  q.op_case = SHMBUFWIRE__REQUEST__OP_LIST_SHARES;
  q.list_shares = &ls;
  Shmbufwire__Reply *r;
  int rc = flight_call(&c->flight, &q, &r);
  if (rc < 0)
    return rc;
  const Shmbufwire__ShareList *sl = r->shares;
  shmbuf_share_list *l = calloc(1, sizeof *l + sl->n_shares * sizeof *l->rows);
  for (size_t i = 0; l && i < sl->n_shares; i++) {
    const Shmbufwire__ShareInfo *s = sl->shares[i];
    share_row *row = &l->rows[l->n];
    *row = (share_row){.uid = s->uid, .pid = s->pid, .length = s->length, .age_ms = s->age_ms,
                       .ttl_ms = s->ttl_ms, .importers = s->importers,
                       .flags = (s->writable ? SHMBUF_SHARE_WRITABLE : 0) |
                                (s->sealed ? SHMBUF_SHARE_SEALED : 0) |
                                (s->single_use ? SHMBUF_SHARE_SINGLE_USE : 0) |
                                (s->persist ? SHMBUF_SHARE_PERSIST : 0)};
    if (s->token[0] && (row->token = strdup(s->token)) == NULL) {
      shmbuf_share_list_free(l);
      l = NULL;
      break;
    }
    l->n++;
  }
  wire_reply_free(r);
  if (l == NULL)
    return errors_no_memory();
  *out = l;
  return 0;
}

size_t shmbuf_share_list_count(const shmbuf_share_list *l) { return l->n; }
const char *shmbuf_share_list_token(const shmbuf_share_list *l, size_t i) {
  return l->rows[i].token;
}
uid_t shmbuf_share_list_uid(const shmbuf_share_list *l, size_t i) { return l->rows[i].uid; }
pid_t shmbuf_share_list_pid(const shmbuf_share_list *l, size_t i) { return l->rows[i].pid; }
uint64_t shmbuf_share_list_length(const shmbuf_share_list *l, size_t i) {
  return l->rows[i].length;
}
unsigned shmbuf_share_list_flags(const shmbuf_share_list *l, size_t i) { return l->rows[i].flags; }
uint32_t shmbuf_share_list_importers(const shmbuf_share_list *l, size_t i) {
  return l->rows[i].importers;
}
uint64_t shmbuf_share_list_age_ms(const shmbuf_share_list *l, size_t i) {
  return l->rows[i].age_ms;
}
uint64_t shmbuf_share_list_ttl_ms(const shmbuf_share_list *l, size_t i) {
  return l->rows[i].ttl_ms;
}

void shmbuf_share_list_free(shmbuf_share_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->n; i++)
    free(l->rows[i].token);
  free(l);
}
