/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "share.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "segment.h"

#define OBJECT_ALIGN 4096u

/* One connection's mapping of an object (a segment adopted or handed over). */
typedef struct share_adopter {
  conn_session *s;
  const slab_seg *seg; /* the segment of s over the object */
  bool exporter; /* the object was made from this connection's buffer */
  bool counted;  /* counted as imported (mapped, not paid for) by s */
} share_adopter;

struct share_object {
  int fd;
  uint64_t size;          /* what it takes: its whole size */
  bool sealed;
  uint32_t nrecords;
  share_adopter *adopters;
  size_t nadopters, cap_adopters;
  conn_session *payer;     /* who pays, a connection ... */
  session_user *payer_user; /* ... or, with none, a user (a persisting record's) */
  share_object *prev, *next;
};

typedef struct share_record {
  char token[SHARE_TOKEN_LEN + 1];
  share_object *obj;
  uint64_t byte_offset, length; /* the view importers get */
  uint64_t ab_length;
  unsigned flags;
  conn_session *exporter;       /* NULL once its connection ended */
  session_user *exporter_user;
  uid_t uid;
  pid_t pid;
  uint64_t created_ms, expires_ms; /* 0: never */
  uid_t *uids;
  size_t nuids;
  gid_t *gids;
  size_t ngids;
  struct share_record *prev, *next;  /* the registry's, oldest first */
  struct share_record *hnext;        /* its hash bucket */
} share_record;

struct share_registry {
  session_books *books;
  share_record *first, *last;
  share_record **buckets;
  size_t nbuckets, nrecords;
  share_object *objects;
  uint64_t bytes;
  bool keep_memory;
};

/* ---- objects and who pays --------------------------------------------------------------- */

static void object_free(share_registry *r, share_object *o);

/* Moves the charge of o to `s` (a connection) or, with none, to `u` (a user), or nowhere. */
static void set_payer(share_object *o, conn_session *s, session_user *u, session_books *b) {
  if (s)
    u = NULL;
  if (o->payer == s && o->payer_user == u)
    return;
  int64_t size = (int64_t)o->size;
  if (o->payer) {
    session_pay(o->payer, -size);
    for (size_t i = 0; i < o->nadopters; i++)
      if (o->adopters[i].s == o->payer && !o->adopters[i].counted) {
        session_import(o->payer, size);
        o->adopters[i].counted = true;
      }
  } else if (o->payer_user)
    session_user_pay(b, o->payer_user, -size);
  o->payer = s;
  o->payer_user = u;
  if (s) {
    for (size_t i = 0; i < o->nadopters; i++)
      if (o->adopters[i].s == s && o->adopters[i].counted) {
        session_import(s, -size);
        o->adopters[i].counted = false;
      }
    session_pay(s, size);
  } else if (u)
    session_user_pay(b, u, size);
}

/* Picks who pays for o now (see share.h), or lets it go when nothing holds it. */
static void rehome(share_registry *r, share_object *o) {
  conn_session *s = NULL;
  session_user *u = NULL;
  for (share_record *rec = r->first; rec && !s; rec = rec->next)
    if (rec->obj == o) {
      if (rec->exporter && !rec->exporter->leaving)
        s = rec->exporter;
      else if (!u)
        u = rec->exporter_user;
    }
  for (size_t i = 0; !s && !u && i < o->nadopters; i++)
    if (!o->adopters[i].s->leaving)
      s = o->adopters[i].s;
  if (!s && !u && o->nrecords == 0 && o->nadopters == 0) {
    object_free(r, o);
    return;
  }
  set_payer(o, s, u, r->books);
}

static int adopt(share_object *o, conn_session *s, const slab_seg *seg, bool exporter) {
  if (o->nadopters == o->cap_adopters) {
    size_t cap = o->cap_adopters ? o->cap_adopters * 2 : 2;
    share_adopter *a = realloc(o->adopters, cap * sizeof *a);
    if (a == NULL)
      return -ENOMEM;
    o->adopters = a;
    o->cap_adopters = cap;
  }
  bool counted = o->payer != s;
  o->adopters[o->nadopters++] = (share_adopter){s, seg, exporter, counted};
  if (counted)
    session_import(s, (int64_t)o->size);
  return 0;
}

/* Connections that map o and did not export it (one that imports what it exported maps it
 * twice, and is no importer for that). */
static uint32_t importers(const share_object *o) {
  uint32_t n = 0;
  for (size_t k = 0; k < o->nadopters; k++) {
    bool exported = false;
    for (size_t e = 0; e < o->nadopters && !exported; e++)
      exported = o->adopters[e].exporter && o->adopters[e].s == o->adopters[k].s;
    n += !exported;
  }
  return n;
}

/* The session hook: s no longer maps o through seg (it is being destroyed). */
static void unadopt(void *registry, void *object, conn_session *s, const slab_seg *seg) {
  share_registry *r = registry;
  share_object *o = object;
  for (size_t i = 0; i < o->nadopters; i++)
    if (o->adopters[i].s == s && o->adopters[i].seg == seg) {
      if (o->adopters[i].counted)
        session_import(s, -(int64_t)o->size);
      o->adopters[i] = o->adopters[--o->nadopters];
      break;
    }
  rehome(r, o);
}

static share_object *object_new(share_registry *r, int fd, uint64_t size) {
  share_object *o = calloc(1, sizeof *o);
  if (o == NULL)
    return NULL;
  o->fd = fd;
  o->size = size;
  o->next = r->objects;
  if (r->objects)
    r->objects->prev = o;
  r->objects = o;
  r->bytes += size;
  return o;
}

static void object_free(share_registry *r, share_object *o) {
  set_payer(o, NULL, NULL, r->books);
  if (!o->sealed && !r->keep_memory) /* a view a process that left still maps reads zeros */
    segment_punch(o->fd, 0, o->size);
  segment_close(o->fd);
  if (o->prev)
    o->prev->next = o->next;
  else
    r->objects = o->next;
  if (o->next)
    o->next->prev = o->prev;
  r->bytes -= o->size;
  free(o->adopters);
  free(o);
}

int share_seal(share_object *o) {
  int rc = segment_seal_writes(o->fd);
  if (rc < 0)
    return rc;
  o->sealed = true;
  return 0;
}

/* ---- records ------------------------------------------------------------------------------ */

static size_t token_hash(const char *token, size_t nbuckets) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *p = token; *p; p++)
    h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return (size_t)(h & (nbuckets - 1));
}

static int table_grow(share_registry *r) {
  size_t n = r->nbuckets ? r->nbuckets * 2 : 64;
  share_record **b = calloc(n, sizeof *b);
  if (b == NULL)
    return -ENOMEM;
  for (share_record *rec = r->first; rec; rec = rec->next) {
    size_t h = token_hash(rec->token, n);
    rec->hnext = b[h];
    b[h] = rec;
  }
  free(r->buckets);
  r->buckets = b;
  r->nbuckets = n;
  return 0;
}

static share_record *record_find(const share_registry *r, const char *token) {
  if (r->nbuckets == 0 || strlen(token) != SHARE_TOKEN_LEN)
    return NULL;
  for (share_record *rec = r->buckets[token_hash(token, r->nbuckets)]; rec; rec = rec->hnext)
    if (strcmp(rec->token, token) == 0)
      return rec;
  return NULL;
}

static void record_end(share_registry *r, share_record *rec) {
  share_record **p = &r->buckets[token_hash(rec->token, r->nbuckets)];
  while (*p != rec)
    p = &(*p)->hnext;
  *p = rec->hnext;
  if (rec->prev)
    rec->prev->next = rec->next;
  else
    r->first = rec->next;
  if (rec->next)
    rec->next->prev = rec->prev;
  else
    r->last = rec->prev;
  r->nrecords--;
  share_object *o = rec->obj;
  o->nrecords--;
  free(rec->uids);
  free(rec->gids);
  free(rec);
  rehome(r, o);
}

/* A token: "sb1_" and 16 bytes from getrandom(), base64url. */
static int token_make(char out[SHARE_TOKEN_LEN + 1]) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint8_t rnd[16];
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return -EIO;
  memcpy(out, "sb1_", 4);
  char *o = out + 4;
  for (size_t i = 0; i < sizeof rnd; i += 3) {
    uint32_t v = (uint32_t)rnd[i] << 16 | (i + 1 < sizeof rnd ? (uint32_t)rnd[i + 1] << 8 : 0) |
                 (i + 2 < sizeof rnd ? rnd[i + 2] : 0);
    size_t chars = i + 2 < sizeof rnd ? 4 : i + 1 < sizeof rnd ? 3 : 2;
    for (size_t k = 0; k < chars; k++)
      *o++ = b64[v >> (18 - 6 * k) & 63];
  }
  *o = '\0';
  return 0;
}

static bool may_import(const share_record *rec, uid_t uid, gid_t gid) {
  if ((rec->nuids == 0 && rec->ngids == 0) || uid == rec->uid)
    return true;
  for (size_t i = 0; i < rec->nuids; i++)
    if (rec->uids[i] == uid)
      return true;
  for (size_t i = 0; i < rec->ngids; i++)
    if (rec->gids[i] == gid)
      return true;
  return false;
}

/* ---- the registry ----------------------------------------------------------------------- */

int share_registry_init(share_registry **out, session_books *b) {
  share_registry *r = calloc(1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->books = b;
  b->unshare = unadopt;
  b->registry = r;
  *out = r;
  return 0;
}

void share_keep_memory(share_registry *r) { r->keep_memory = true; }

void share_registry_free(share_registry *r) {
  if (r == NULL)
    return;
  while (r->first)
    record_end(r, r->first);
  free(r->buckets);
  free(r);
}

/* The object buffer id's ArrayBuffer lives in, or NULL. */
int share_place(share_registry *r, conn_session *s, uint64_t id, uint64_t ab_offset,
                uint64_t ab_length, uint64_t byte_offset, uint64_t length, bool seal,
                heap_view *out, share_copy *copy) {
  heap_view v;
  *copy = (share_copy){.src = -1, .dst = -1};
  if (heap_get(&s->heap, id, &v) < 0)
    return -ENOENT;
  if (ab_offset > v.ab_length || ab_length > v.ab_length - ab_offset ||
      byte_offset > ab_length || length > ab_length - byte_offset)
    return -ERANGE;
  slab_seg *seg = heap_own_segment(&s->heap, id);
  bool whole = seg && ab_offset == 0 && ab_length == v.ab_length;
  if (whole && seg->shared && (!seal || ((share_object *)seg->shared)->sealed)) {
    *out = v; /* already an object of its own */
    return 0;
  }
  if (whole && !seal) { /* a segment to itself: handed over, no copy */
    share_object *o = object_new(r, seg->fd, seg->size);
    if (o == NULL || adopt(o, s, seg, true) < 0) {
      if (o)
        object_free(r, o);
      return -ENOMEM;
    }
    /* nothing past the ArrayBuffer may show: its page's tail reads as zeros */
    int rc = ab_length < seg->size ? segment_zero(seg->fd, ab_length, seg->size - ab_length) : 0;
    if (rc < 0) {
      o->nadopters = 0;
      object_free(r, o);
      return rc;
    }
    slab_hand_over(&s->heap.slab, seg, o); /* the session pays as the object's payer now */
    set_payer(o, s, NULL, r->books);
    *out = v;
    return 0;
  }
  uint64_t size = (ab_length + OBJECT_ALIGN - 1) / OBJECT_ALIGN * OBJECT_ALIGN;
  size = size ? size : OBJECT_ALIGN;
  int rc = session_admit_shared(s, size, true), fd = -1;
  if (rc < 0)
    return rc;
  if ((rc = seal ? segment_create_sealable(size, &fd) : segment_create(size, &fd)) < 0)
    return rc;
  share_object *o = object_new(r, fd, size);
  slab_seg *mine = NULL;
  if (o == NULL) {
    segment_close(fd);
    return -ENOMEM;
  }
  set_payer(o, s, NULL, r->books);
  if ((rc = slab_adopt(&s->heap.slab, o, fd, size, seal, &mine)) < 0) {
    object_free(r, o); /* no segment of the session points at it yet */
    return rc;
  }
  if ((rc = adopt(o, s, mine, true)) < 0 ||
      (rc = heap_adopt(&s->heap, mine, ab_length, byte_offset, length, out)) < 0) {
    slab_free(&s->heap.slab, mine, 0); /* unadopt() lets the object go */
    return rc;
  }
  *copy = (share_copy){.src = v.seg ? v.seg->fd : -1, .dst = fd, .src_off = v.ab_offset + ab_offset,
                       .len = ab_length, .reserve = size, .seal = seal ? o : NULL};
  return 0;
}

int share_publish(share_registry *r, conn_session *s, uint64_t id, unsigned flags,
                  uint64_t ttl_ms, const share_rights *rights, uint64_t now_ms,
                  char token[SHARE_TOKEN_LEN + 1]) {
  heap_view v;
  slab_seg *seg = heap_own_segment(&s->heap, id);
  share_object *o = seg ? seg->shared : NULL;
  if (o == NULL || heap_get(&s->heap, id, &v) < 0)
    return -ENOENT;
  if ((flags & SHARE_PERSIST) && ttl_ms == 0)
    return -EINVAL;
  /* nobody hands on more than they hold: a read-only importer gives read-only imports */
  if ((flags & SHARE_WRITABLE) && (o->sealed || seg->read_only))
    return -EPERM;
  if (r->nrecords >= r->nbuckets && table_grow(r) < 0)
    return -ENOMEM;
  share_record *rec = calloc(1, sizeof *rec);
  if (rec == NULL)
    return -ENOMEM;
  if ((rights->nuids && !(rec->uids = malloc(rights->nuids * sizeof *rec->uids))) ||
      (rights->ngids && !(rec->gids = malloc(rights->ngids * sizeof *rec->gids)))) {
    free(rec->uids);
    free(rec);
    return -ENOMEM;
  }
  int rc;
  do /* 128 random bits do not collide, but a registry never hands out one token twice */
    rc = token_make(rec->token);
  while (rc == 0 && record_find(r, rec->token));
  if (rc < 0) {
    free(rec->uids);
    free(rec->gids);
    free(rec);
    return rc;
  }
  if (rights->nuids)
    memcpy(rec->uids, rights->uids, rights->nuids * sizeof *rec->uids);
  if (rights->ngids)
    memcpy(rec->gids, rights->gids, rights->ngids * sizeof *rec->gids);
  rec->nuids = rights->nuids;
  rec->ngids = rights->ngids;
  rec->obj = o;
  rec->byte_offset = v.byte_offset;
  rec->length = v.length;
  rec->ab_length = v.ab_length;
  rec->flags = flags;
  rec->exporter = s;
  rec->exporter_user = s->user;
  rec->uid = s->user->uid;
  rec->pid = s->pid;
  rec->created_ms = now_ms;
  /* a TTL past the clock's end is no limit at all, not a wrap to the past */
  rec->expires_ms = ttl_ms && ttl_ms < UINT64_MAX - now_ms ? now_ms + ttl_ms : 0;
  size_t h = token_hash(rec->token, r->nbuckets);
  rec->hnext = r->buckets[h];
  r->buckets[h] = rec;
  rec->prev = r->last;
  if (r->last)
    r->last->next = rec;
  else
    r->first = rec;
  r->last = rec;
  r->nrecords++;
  o->nrecords++;
  memcpy(token, rec->token, sizeof rec->token);
  rehome(r, o);
  return 0;
}

int share_import(share_registry *r, conn_session *s, uid_t uid, gid_t gid, const char *token,
                 uint64_t now_ms, heap_view *out, bool *read_only, bool *sealed) {
  share_record *rec = record_find(r, token);
  if (rec == NULL || (rec->expires_ms && now_ms >= rec->expires_ms) ||
      !may_import(rec, uid, gid))
    return -ENOENT;
  share_object *o = rec->obj;
  int rc = session_admit_shared(s, o->size, false);
  if (rc < 0)
    return rc;
  bool ro = !(rec->flags & SHARE_WRITABLE) || o->sealed;
  slab_seg *seg;
  if ((rc = slab_adopt(&s->heap.slab, o, o->fd, o->size, ro, &seg)) < 0)
    return rc;
  if ((rc = adopt(o, s, seg, false)) < 0) {
    seg->shared = NULL; /* not adopted: nothing to tell the registry */
    slab_free(&s->heap.slab, seg, 0);
    return rc;
  }
  if ((rc = heap_adopt(&s->heap, seg, rec->ab_length, rec->byte_offset, rec->length, out)) < 0) {
    slab_free(&s->heap.slab, seg, 0);
    return rc;
  }
  *read_only = ro;
  *sealed = o->sealed;
  if (rec->flags & SHARE_SINGLE_USE)
    record_end(r, rec);
  return 0;
}

int share_revoke(share_registry *r, uid_t uid, const char *token) {
  share_record *rec = record_find(r, token);
  if (rec == NULL || rec->uid != uid)
    return -ENOENT;
  record_end(r, rec);
  return 0;
}

void share_list(share_registry *r, uid_t viewer, uint64_t now_ms,
                void (*each)(void *arg, const share_info *i), void *arg) {
  for (share_record *rec = r->first; rec; rec = rec->next) {
    share_info i = {.token = rec->uid == viewer ? rec->token : NULL,
                    .uid = rec->uid,
                    .pid = rec->exporter ? rec->pid : 0,
                    .length = rec->length,
                    .flags = rec->flags,
                    .sealed = rec->obj->sealed,
                    .age_ms = now_ms - rec->created_ms,
                    .ttl_ms = rec->expires_ms > now_ms ? rec->expires_ms - now_ms : 0};
    i.importers = importers(rec->obj);
    each(arg, &i);
  }
}

void share_session_gone(share_registry *r, conn_session *s) {
  s->leaving = true;
  for (share_record *rec = r->first, *next; rec; rec = next) {
    next = rec->next;
    if (rec->exporter != s)
      continue;
    if (rec->flags & SHARE_PERSIST) {
      rec->exporter = NULL;
      rehome(r, rec->obj);
    } else
      record_end(r, rec);
  }
  for (share_object *o = r->objects, *next; o; o = next) {
    next = o->next;
    if (o->payer == s)
      rehome(r, o);
  }
}

void share_expire(share_registry *r, uint64_t now_ms) {
  for (share_record *rec = r->first, *next; rec; rec = next) {
    next = rec->next;
    if (rec->expires_ms && now_ms >= rec->expires_ms)
      record_end(r, rec);
  }
}

void share_counts(const share_registry *r, uint64_t *records, uint64_t *imports,
                  uint64_t *bytes) {
  *records = r->nrecords;
  *imports = 0;
  for (const share_object *o = r->objects; o; o = o->next)
    *imports += importers(o);
  *bytes = r->bytes;
}
