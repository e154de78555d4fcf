/* SPDX-License-Identifier: MIT */
/* shmbuf's Node-API addon: libshmbuf calls for lib/index.js, one client per env.
 *
 * Each env (the main thread, each worker thread) gets its own state and its own libshmbuf
 * client, connected at the first call that needs one, so that a client is only ever used by
 * the thread that owns it. lib/index.js validates every argument the way Node's lib/buffer.js
 * does before it calls in here; these functions trust their argument types.
 *
 * A buffer is handed to JavaScript in one of three ways, so that the common case costs no
 * object creation here (see deliver()): the functions that make buffers write its byteOffset
 * and length to `scratch` and return
 *   - undefined: the buffer lies in the pool ArrayBuffer at `pool`;
 *   - null: it is empty and has no memory;
 *   - a new dedicated ArrayBuffer, which it views at that byteOffset.
 * JavaScript makes the Buffer itself, with Node's own class, as Node does. A new pool is set
 * in `pool` when the first buffer carved from it comes out. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <node_api.h>
#include <shmbuf.h>

#include "region.h"

typedef struct binding {
  shmbuf_client *client; /* NULL until first needed, and after close() */
  char *socket_path;     /* NULL: libshmbuf's default ($SHMBUF_SOCKET, ...) */
  region_set *regions;
  uint8_t *pool_base;    /* the memory of the ArrayBuffer at exports.pool, or NULL */
  double *scratch;       /* [byteOffset, length] of the last buffer made */
  napi_ref exports;      /* strong: where `pool` is set */
} binding;

/* Throws for a failed Node-API call, unless it left an exception pending already. */
static napi_value napi_failed(napi_env env) {
  bool pending = false;
  const napi_extended_error_info *info = NULL;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, "ERR_SHMBUF_NODE_API",
                     info && info->error_message ? info->error_message : "Node-API call failed");
  }
  return NULL;
}

static napi_value out_of_memory(napi_env env) {
  napi_throw_error(env, "ERR_SHMBUF_NO_MEMORY", "out of memory");
  return NULL;
}

/* Throws an Error with code and message, and errno rc (the negative errno, as in Node's
 * system errors). */
static napi_value throw_error(napi_env env, const char *code, const char *message, int rc) {
  napi_value c, m, err, num;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &m) ||
      napi_create_error(env, c, m, &err) || napi_create_int32(env, rc, &num) ||
      napi_set_named_property(env, err, "errno", num))
    return napi_failed(env);
  napi_throw(env, err);
  return NULL;
}

/* Throws libshmbuf's record of the failure rc. */
static napi_value shmbuf_failed(napi_env env, int rc) {
  const char *code = shmbuf_error_code(), *message = shmbuf_error_message();
  return throw_error(env, code ? code : shmbuf_err_name(rc),
                     message ? message : shmbuf_strerror(rc), rc);
}

/* The call's state and up to n arguments (missing ones are undefined). */
static binding *args_of(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  void *data = NULL;
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) {
    napi_failed(env);
    return NULL;
  }
  return data;
}

/* The env's client, connecting on first use. NULL (with an exception) on failure. */
static shmbuf_client *client_of(napi_env env, binding *s) {
  if (s->client == NULL) {
    int rc = shmbuf_connect(s->socket_path, &s->client);
    if (rc < 0) {
      s->client = NULL;
      shmbuf_failed(env, rc);
    }
  }
  return s->client;
}

static napi_status set_pool(napi_env env, binding *s, napi_value ab, uint8_t *base) {
  napi_value exports;
  napi_status st = napi_get_reference_value(env, s->exports, &exports);
  if (st == napi_ok)
    st = napi_set_named_property(env, exports, "pool", ab);
  if (st == napi_ok)
    s->pool_base = base;
  return st;
}

/* Hands a new handle b (or the failure rc) to JavaScript, as the file's comment says. */
static napi_value deliver(napi_env env, binding *s, int rc, shmbuf_buf *b) {
  if (rc < 0)
    return shmbuf_failed(env, rc);
  s->scratch[0] = (double)shmbuf_byte_offset(b);
  s->scratch[1] = (double)shmbuf_length(b);
  napi_value out;
  napi_status st;
  if (shmbuf_buffer_byte_length(b) == 0) {
    shmbuf_release(b);
    return napi_get_null(env, &out) == napi_ok ? out : napi_failed(env);
  }
  if (!shmbuf_is_pooled(b)) {
    st = region_wrap(s->regions, env, b, &out);
    return st == napi_ok ? out : napi_failed(env);
  }
  uint8_t *base = shmbuf_data(b) - shmbuf_byte_offset(b);
  if (base == s->pool_base) { /* the ArrayBuffer at exports.pool holds the pool already */
    shmbuf_release(b);
    return NULL;
  }
  /* The first buffer of a new pool: its handle keeps the pool while the ArrayBuffer lives,
   * and exports.pool keeps the ArrayBuffer while the pool is current, as allocPool in Node. */
  if ((st = region_wrap(s->regions, env, b, &out)) != napi_ok ||
      (st = set_pool(env, s, out, base)) != napi_ok)
    return napi_failed(env);
  return NULL;
}

typedef int (*sized_fn)(shmbuf_client *, int64_t, shmbuf_buf **);

/* alloc(size), allocUnsafe(size), allocUnsafeSlow(size): size is a number in range (a
 * fraction is cut). */
static napi_value make_sized(napi_env env, napi_callback_info info, sized_fn make) {
  napi_value argv[1];
  binding *s = args_of(env, info, 1, argv);
  int64_t size;
  shmbuf_client *c;
  shmbuf_buf *b = NULL;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  napi_status st = napi_get_value_int64(env, argv[0], &size);
  if (st != napi_ok)
    return napi_failed(env);
  int rc = make(c, size, &b);
  return deliver(env, s, rc, b);
}

static napi_value js_alloc(napi_env env, napi_callback_info info) {
  return make_sized(env, info, shmbuf_alloc);
}

static napi_value js_alloc_unsafe(napi_env env, napi_callback_info info) {
  return make_sized(env, info, shmbuf_alloc_unsafe);
}

static napi_value js_alloc_unsafe_slow(napi_env env, napi_callback_info info) {
  return make_sized(env, info, shmbuf_alloc_unsafe_slow);
}

/* Reads string v as UTF-8 (utf8) or UTF-16 code units into small (cap units) when it surely
 * fits, else into a new allocation (*heap, to free). Returns the text, its length in units in
 * *n, or NULL with an exception. V8 cuts a UTF-8 string before a character that does not
 * fit, so up to 4 bytes short of cap may mean cut. */
static void *string_of(napi_env env, napi_value v, bool utf8, void *small, size_t cap,
                       void **heap, size_t *n) {
  napi_status st = utf8 ? napi_get_value_string_utf8(env, v, small, cap, n)
                        : napi_get_value_string_utf16(env, v, small, cap, n);
  *heap = NULL;
  if (st == napi_ok && *n + (utf8 ? 5 : 1) < cap)
    return small;
  if (st == napi_ok)
    st = utf8 ? napi_get_value_string_utf8(env, v, NULL, 0, n)
              : napi_get_value_string_utf16(env, v, NULL, 0, n);
  if (st != napi_ok)
    return napi_failed(env);
  if ((*heap = malloc((*n + 1) * (utf8 ? 1 : 2))) == NULL)
    return out_of_memory(env);
  st = utf8 ? napi_get_value_string_utf8(env, v, *heap, *n + 1, n)
            : napi_get_value_string_utf16(env, v, *heap, *n + 1, n);
  if (st == napi_ok)
    return *heap;
  free(*heap);
  return napi_failed(env);
}

/* fromString(string, encoding): encoding is one of Node's canonical names. UTF-8 is what
 * V8 writes fastest, and exact for utf8 (a lone surrogate becomes U+FFFD, as Node writes it);
 * the other encodings need the exact UTF-16 code units. */
static napi_value js_from_string(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  binding *s = args_of(env, info, 2, argv);
  shmbuf_client *c;
  char encoding[16];
  uint16_t small[4096];
  void *heap;
  size_t n;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  if (napi_get_value_string_utf8(env, argv[1], encoding, sizeof encoding, &n) != napi_ok)
    return napi_failed(env);
  bool utf8 = strcmp(encoding, "utf8") == 0;
  void *text = string_of(env, argv[0], utf8, small, utf8 ? sizeof small : 4096, &heap, &n);
  if (text == NULL)
    return NULL;
  shmbuf_buf *b = NULL;
  int rc = utf8 ? shmbuf_from_string(c, text, n, encoding, &b)
                : shmbuf_from_utf16(c, text, n, encoding, &b);
  free(heap);
  return deliver(env, s, rc, b);
}

/* fromBytes(uint8Array): a copy of its bytes, placed as Node's fromArrayLike() places them. */
static napi_value js_from_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  binding *s = args_of(env, info, 1, argv);
  shmbuf_client *c;
  size_t length;
  void *data;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  napi_status st = napi_get_typedarray_info(env, argv[0], NULL, &length, &data, NULL, NULL);
  if (st != napi_ok)
    return napi_failed(env);
  shmbuf_buf *b = NULL;
  int rc = shmbuf_from_bytes(c, data, length, &b);
  return deliver(env, s, rc, b);
}

static napi_value boolean(napi_env env, bool value) {
  napi_value out;
  return napi_get_boolean(env, value, &out) == napi_ok ? out
                                                        : napi_failed(env);
}

/* owns(arrayBuffer): true when this env's client made it and it is still live. */
static napi_value js_owns(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  binding *s = args_of(env, info, 1, argv);
  return s ? boolean(env, region_anchor(s->regions, env, argv[0]) != NULL) : NULL;
}

/* ---- sharing -------------------------------------------------------------------------------
 * V8 keeps an external ArrayBuffer's memory where it was made, so a region's ArrayBuffer
 * cannot follow its bytes when libshmbuf moves them into a shared object; and moving the bytes
 * of a dedicated ArrayBuffer takes every handle on it along, the region's anchor included, and
 * gives the old memory back. Hence share() moves nothing a region holds: it shares a region's
 * memory in place when that is a shared object already, and otherwise a copy (a view of a
 * pool, which moves alone, or a dedicated copy of a dedicated region's bytes). shareable() and
 * seal() do move bytes and hand over a new ArrayBuffer: a pooled view becomes a region of its
 * own; a dedicated region gets a new ArrayBuffer and its old one is detached (region_moved())
 * before any JavaScript can reach the memory given back. The functions below take an
 * ArrayBuffer that owns() accepted, and a byteOffset and length inside it. */

/* The ArrayBuffer argv[0]'s anchor and a new view on [argv[1], argv[1] + argv[2]) of it, in
 * *view. Returns 0, a negative errno (recorded by libshmbuf), or 1 after a Node-API failure,
 * with an exception pending. */
static int view_of(napi_env env, binding *s, const napi_value *argv, shmbuf_buf **anchor,
                   shmbuf_buf **view) {
  int64_t offset, length;
  if (napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok) {
    napi_failed(env);
    return 1;
  }
  *anchor = region_anchor(s->regions, env, argv[0]);
  return shmbuf_from_arraybuffer(*anchor, offset, length, view);
}

/* A string argument as libshmbuf takes a token: one that holds a NUL, which no token does,
 * becomes one that libshmbuf refuses on sight, with its usual error. NULL with an exception
 * on failure; *heap is to free. */
static const char *token_of(napi_env env, napi_value v, char small[SHMBUF_TOKEN_MAX],
                            void **heap) {
  size_t n;
  const char *text = string_of(env, v, true, small, SHMBUF_TOKEN_MAX, heap, &n);
  return text && strlen(text) != n ? "\x01" : text;
}

/* The Uint32Array argv (or undefined: none) as an array of ids. */
static napi_status ids_of(napi_env env, napi_value v, const uint32_t **ids, size_t *n) {
  napi_valuetype type;
  void *data = NULL;
  napi_status st = napi_typeof(env, v, &type);
  *n = 0;
  if (st == napi_ok && type == napi_object)
    st = napi_get_typedarray_info(env, v, NULL, n, &data, NULL, NULL);
  *ids = data;
  return st;
}

/* share(arrayBuffer, byteOffset, length, flags, ttlMs, uids, gids): a token for those bytes
 * (SHMBUF_SHARE_* flags; uids and gids Uint32Arrays or undefined). In place when the
 * ArrayBuffer is a shared object already, sealed if the share seals; otherwise a copy holds
 * just the view's bytes (see the section's comment). */
static napi_value js_share(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  binding *s = args_of(env, info, 7, argv);
  uint32_t flags;
  int64_t offset, length, ttl_ms;
  const uint32_t *uids, *gids;
  size_t nuids, ngids;
  if (s == NULL)
    return NULL;
  if (napi_get_value_int64(env, argv[1], &offset) != napi_ok ||
      napi_get_value_int64(env, argv[2], &length) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &flags) != napi_ok ||
      napi_get_value_int64(env, argv[4], &ttl_ms) != napi_ok ||
      ids_of(env, argv[5], &uids, &nuids) != napi_ok ||
      ids_of(env, argv[6], &gids, &ngids) != napi_ok)
    return napi_failed(env);
  shmbuf_buf *anchor = region_anchor(s->regions, env, argv[0]), *h = NULL;
  /* Importers would get what this process may not do. */
  if ((flags & SHMBUF_SHARE_WRITABLE) && shmbuf_is_read_only(anchor))
    return throw_error(env, "ERR_SHMBUF_READ_ONLY", "Cannot share a read-only buffer writable",
                       -EPERM);
  bool in_place = shmbuf_is_shared(anchor) &&
                  (!(flags & SHMBUF_SHARE_SEALED) || shmbuf_is_sealed(anchor));
  int rc;
  if (in_place || shmbuf_is_pooled(anchor)) {
    rc = shmbuf_from_arraybuffer(anchor, offset, length, &h);
  } else if ((rc = shmbuf_alloc_unsafe_slow(s->client, length, &h)) == 0 && length > 0) {
    /* dedicated, so that the copy takes no room in the pool, as Node would not */
    memcpy(shmbuf_data(h), shmbuf_data(anchor) - shmbuf_byte_offset(anchor) + offset,
           (size_t)length);
  }
  char token[SHMBUF_TOKEN_MAX];
  if (rc == 0)
    rc = shmbuf_share_ex(h, flags, (uint64_t)ttl_ms, uids, nuids, gids, ngids, token);
  napi_value out = rc < 0 ? shmbuf_failed(env, rc) : NULL;
  /* The exporter need not map a copy: the token keeps it until it stops importing. */
  shmbuf_release(h);
  if (rc < 0)
    return out;
  return napi_create_string_utf8(env, token, NAPI_AUTO_LENGTH, &out) == napi_ok
             ? out : napi_failed(env);
}

/* Where the bytes of view h, a view of region arrayBuffer, are now that libshmbuf may have moved
 * them from `was` (the anchor's first byte before): true when they stayed (the caller's view
 * will do), else their new ArrayBuffer, as deliver() hands one over. h is released. */
static napi_value placed(napi_env env, binding *s, napi_value arraybuffer, shmbuf_buf *anchor,
                         uint8_t *was, shmbuf_buf *h) {
  napi_value out;
  if (shmbuf_is_pooled(anchor) && shmbuf_is_shared(h))
    return deliver(env, s, 0, h); /* moved alone, out of the pool */
  s->scratch[0] = (double)shmbuf_byte_offset(h);
  s->scratch[1] = (double)shmbuf_length(h);
  shmbuf_release(h);
  if (shmbuf_data(anchor) == was)
    return boolean(env, true);
  return region_moved(s->regions, env, arraybuffer, &out) == napi_ok ? out : napi_failed(env);
}

/* shareable(arrayBuffer, byteOffset, length) and seal(...): the view's bytes in a shared
 * object of their own (sealed for seal). Returns true when the ArrayBuffer already is one, or
 * became one where it lies (a dedicated ArrayBuffer with a slab to itself), else the bytes'
 * new ArrayBuffer (see placed()); a dedicated one's old ArrayBuffer is detached then. */
static napi_value place(napi_env env, napi_callback_info info, bool seal) {
  napi_value argv[3];
  binding *s = args_of(env, info, 3, argv);
  shmbuf_buf *anchor, *h = NULL;
  char token[SHMBUF_TOKEN_MAX];
  if (s == NULL)
    return NULL;
  int rc = view_of(env, s, argv, &anchor, &h);
  if (rc != 0)
    return rc < 0 ? shmbuf_failed(env, rc) : NULL;
  uint8_t *was = shmbuf_data(anchor);
  bool there = !shmbuf_is_pooled(anchor) &&
               (seal ? shmbuf_is_sealed(anchor) : shmbuf_is_shared(anchor));
  if (!there && (rc = seal ? shmbuf_seal(h) : shmbuf_share(h, 0, 0, token)) < 0) {
    napi_value err = shmbuf_failed(env, rc); /* nothing moved */
    shmbuf_release(h);
    return err;
  }
  napi_value out = placed(env, s, argv[0], anchor, was, h);
  /* The token only served to move the bytes: nobody may import it. */
  if (!there && !seal && (rc = shmbuf_unshare(s->client, token)) < 0 && out)
    return shmbuf_failed(env, rc);
  return out;
}

static napi_value js_shareable(napi_env env, napi_callback_info info) {
  return place(env, info, false);
}

static napi_value js_seal(napi_env env, napi_callback_info info) {
  return place(env, info, true);
}

/* import(token), a buffer over the shared bytes delivered as dedicated ones are, and
 * unshare(token). */
static napi_value by_token(napi_env env, napi_callback_info info, bool import) {
  napi_value argv[1];
  binding *s = args_of(env, info, 1, argv);
  shmbuf_client *c;
  char small[SHMBUF_TOKEN_MAX];
  void *heap;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  const char *token = token_of(env, argv[0], small, &heap);
  if (token == NULL)
    return NULL;
  shmbuf_buf *b = NULL;
  int rc = import ? shmbuf_import(c, token, &b) : shmbuf_unshare(c, token);
  free(heap);
  if (import)
    return deliver(env, s, rc, b);
  return rc < 0 ? shmbuf_failed(env, rc) : NULL;
}

static napi_value js_import(napi_env env, napi_callback_info info) {
  return by_token(env, info, true);
}

static napi_value js_unshare(napi_env env, napi_callback_info info) {
  return by_token(env, info, false);
}

/* state(arrayBuffer): 1 shared | 2 read-only | 4 sealed, for an ArrayBuffer owns() accepts. */
static napi_value js_state(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  binding *s = args_of(env, info, 1, argv);
  if (s == NULL)
    return NULL;
  shmbuf_buf *anchor = region_anchor(s->regions, env, argv[0]);
  uint32_t state = (uint32_t)shmbuf_is_shared(anchor) |
                   (uint32_t)shmbuf_is_read_only(anchor) << 1 |
                   (uint32_t)shmbuf_is_sealed(anchor) << 2;
  return napi_create_uint32(env, state, &out) == napi_ok ? out : napi_failed(env);
}

static napi_status set_number(napi_env env, napi_value o, const char *name, double value) {
  napi_value v;
  napi_status st = napi_create_double(env, value, &v);
  return st == napi_ok ? napi_set_named_property(env, o, name, v) : st;
}

static napi_status set_boolean(napi_env env, napi_value o, const char *name, bool value) {
  napi_value v;
  napi_status st = napi_get_boolean(env, value, &v);
  return st == napi_ok ? napi_set_named_property(env, o, name, v) : st;
}

/* One share of the list as { token?, uid, pid, length, writable, ... }. */
static napi_status share_info(napi_env env, const shmbuf_share_list *l, size_t i,
                              napi_value *out) {
  const char *token = shmbuf_share_list_token(l, i);
  unsigned flags = shmbuf_share_list_flags(l, i);
  napi_value t;
  napi_status st = napi_create_object(env, out);
  if (st == napi_ok && token && (st = napi_create_string_utf8(env, token, NAPI_AUTO_LENGTH,
                                                               &t)) == napi_ok)
    st = napi_set_named_property(env, *out, "token", t);
  if (st == napi_ok)
    st = set_number(env, *out, "uid", shmbuf_share_list_uid(l, i));
  if (st == napi_ok)
    st = set_number(env, *out, "pid", shmbuf_share_list_pid(l, i));
  if (st == napi_ok)
    st = set_number(env, *out, "length", (double)shmbuf_share_list_length(l, i));
  if (st == napi_ok)
    st = set_boolean(env, *out, "writable", flags & SHMBUF_SHARE_WRITABLE);
  if (st == napi_ok)
    st = set_boolean(env, *out, "sealed", flags & SHMBUF_SHARE_SEALED);
  if (st == napi_ok)
    st = set_boolean(env, *out, "singleUse", flags & SHMBUF_SHARE_SINGLE_USE);
  if (st == napi_ok)
    st = set_boolean(env, *out, "persist", flags & SHMBUF_SHARE_PERSIST);
  if (st == napi_ok)
    st = set_number(env, *out, "importers", shmbuf_share_list_importers(l, i));
  if (st == napi_ok)
    st = set_number(env, *out, "ageMs", (double)shmbuf_share_list_age_ms(l, i));
  if (st == napi_ok)
    st = set_number(env, *out, "ttlMs", (double)shmbuf_share_list_ttl_ms(l, i));
  return st;
}

/* shares(): the daemon's list of live shares, oldest first. */
static napi_value js_shares(napi_env env, napi_callback_info info) {
  binding *s = args_of(env, info, 0, NULL);
  shmbuf_client *c;
  shmbuf_share_list *l;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  int rc = shmbuf_list_shares(c, &l);
  if (rc < 0)
    return shmbuf_failed(env, rc);
  size_t n = shmbuf_share_list_count(l);
  napi_value out, row;
  napi_status st = napi_create_array_with_length(env, n, &out);
  for (size_t i = 0; i < n && st == napi_ok; i++)
    if ((st = share_info(env, l, i, &row)) == napi_ok)
      st = napi_set_element(env, out, (uint32_t)i, row);
  shmbuf_share_list_free(l);
  return st == napi_ok ? out : napi_failed(env);
}

/* release(arrayBuffer): see region_release(). */
static napi_value js_release(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  binding *s = args_of(env, info, 1, argv);
  bool released;
  if (s == NULL)
    return NULL;
  napi_status st = region_release(s->regions, env, argv[0], &released);
  return st == napi_ok ? boolean(env, released) : napi_failed(env);
}

/* stats(): the daemon's counters as { name: value }. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  binding *s = args_of(env, info, 0, NULL);
  shmbuf_client *c;
  shmbuf_stats *stats;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  int rc = shmbuf_stats_get(c, &stats);
  if (rc < 0)
    return shmbuf_failed(env, rc);
  napi_value out, value;
  napi_status st = napi_create_object(env, &out);
  for (size_t i = 0; i < shmbuf_stats_count(stats) && st == napi_ok; i++)
    if ((st = napi_create_double(env, (double)shmbuf_stats_value(stats, i), &value)) == napi_ok)
      st = napi_set_named_property(env, out, shmbuf_stats_name(stats, i), value);
  shmbuf_stats_free(stats);
  return st == napi_ok ? out : napi_failed(env);
}

/* poolSize(): Buffer.poolSize on this connection. */
static napi_value js_pool_size(napi_env env, napi_callback_info info) {
  binding *s = args_of(env, info, 0, NULL);
  shmbuf_client *c;
  napi_value out;
  if (s == NULL || (c = client_of(env, s)) == NULL)
    return NULL;
  return napi_create_uint32(env, shmbuf_pool_size(c), &out) == napi_ok ? out : napi_failed(env);
}

/* Lets go of everything the client made and closes it; detach says whether JavaScript may
 * still hold views (see region_set_drop()). */
static napi_status close_client(napi_env env, binding *s, bool detach) {
  if (s->client == NULL)
    return napi_ok;
  napi_status st = region_set_drop(s->regions, env, detach);
  if (st != napi_ok)
    return st;
  shmbuf_close(s->client);
  s->client = NULL;
  s->pool_base = NULL;
  return napi_ok;
}

/* close(): every ArrayBuffer made through the client is detached, then the client closes;
 * the next call connects again. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  binding *s = args_of(env, info, 0, NULL);
  napi_value undefined;
  if (s == NULL)
    return NULL;
  napi_status st = close_client(env, s, true);
  if (st == napi_ok && (st = napi_get_undefined(env, &undefined)) == napi_ok)
    st = set_pool(env, s, undefined, NULL);
  return st == napi_ok ? NULL : napi_failed(env);
}

/* setSocketPath(path | undefined): the socket the next connection uses. */
static napi_value js_set_socket_path(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  binding *s = args_of(env, info, 1, argv);
  napi_valuetype type;
  size_t n;
  if (s == NULL)
    return NULL;
  napi_status st = napi_typeof(env, argv[0], &type);
  if (st != napi_ok)
    return napi_failed(env);
  free(s->socket_path);
  s->socket_path = NULL;
  if (type != napi_string)
    return NULL;
  if ((st = napi_get_value_string_utf8(env, argv[0], NULL, 0, &n)) != napi_ok)
    return napi_failed(env);
  if ((s->socket_path = malloc(n + 1)) == NULL)
    return out_of_memory(env);
  st = napi_get_value_string_utf8(env, argv[0], s->socket_path, n + 1, &n);
  return st == napi_ok ? NULL : napi_failed(env);
}

/* The env is going away: no JavaScript runs any more, so nothing needs detaching. */
static void teardown(void *arg) {
  binding *s = arg;
  close_client(NULL, s, false);
  region_set_unref(s->regions);
  free(s->socket_path);
  free(s);
}

/* The functions lib/index.js calls. A new operation is one more line here. */
static const struct {
  const char *name;
  napi_callback fn;
} functions[] = {
    {"alloc", js_alloc},
    {"allocUnsafe", js_alloc_unsafe},
    {"allocUnsafeSlow", js_alloc_unsafe_slow},
    {"fromString", js_from_string},
    {"fromBytes", js_from_bytes},
    {"owns", js_owns},
    {"release", js_release},
    {"share", js_share},
    {"shareable", js_shareable},
    {"seal", js_seal},
    {"import", js_import},
    {"unshare", js_unshare},
    {"state", js_state},
    {"shares", js_shares},
    {"poolSize", js_pool_size},
    {"stats", js_stats},
    {"close", js_close},
    {"setSocketPath", js_set_socket_path},
};

/* share()'s flags, named as its options are. */
static const struct {
  const char *name;
  unsigned value;
} share_flags[] = {
    {"writable", SHMBUF_SHARE_WRITABLE},
    {"sealed", SHMBUF_SHARE_SEALED},
    {"singleUse", SHMBUF_SHARE_SINGLE_USE},
    {"persist", SHMBUF_SHARE_PERSIST},
};

static napi_status make_share_flags(napi_env env, napi_value exports) {
  napi_value flags, v;
  napi_status st = napi_create_object(env, &flags);
  for (size_t i = 0; i < sizeof share_flags / sizeof *share_flags && st == napi_ok; i++)
    if ((st = napi_create_uint32(env, share_flags[i].value, &v)) == napi_ok)
      st = napi_set_named_property(env, flags, share_flags[i].name, v);
  return st == napi_ok ? napi_set_named_property(env, exports, "shareFlags", flags) : st;
}

/* The scratch array: a Float64Array that this state reads and writes directly. */
static napi_status make_scratch(napi_env env, binding *s, napi_value exports) {
  napi_value ab, view;
  void *data;
  napi_status st = napi_create_arraybuffer(env, 2 * sizeof(double), &data, &ab);
  if (st == napi_ok)
    st = napi_create_typedarray(env, napi_float64_array, 2, ab, 0, &view);
  if (st == napi_ok)
    st = napi_set_named_property(env, exports, "scratch", view);
  if (st == napi_ok)
    s->scratch = data; /* kept alive by exports.scratch, which exports (held by s) keeps */
  return st;
}

NAPI_MODULE_EXPORT int32_t NODE_API_MODULE_GET_API_VERSION(void);

NAPI_MODULE_INIT() {
  binding *s = calloc(1, sizeof *s);
  napi_status st = napi_ok;
  if (s == NULL || (s->regions = region_set_new()) == NULL) {
    free(s);
    return out_of_memory(env);
  }
  for (size_t i = 0; i < sizeof functions / sizeof *functions; i++) {
    napi_value fn;
    if ((st = napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, s,
                                   &fn)) != napi_ok ||
        (st = napi_set_named_property(env, exports, functions[i].name, fn)) != napi_ok)
      break;
  }
  napi_value undefined;
  if (st == napi_ok)
    st = make_scratch(env, s, exports);
  if (st == napi_ok)
    st = make_share_flags(env, exports);
  if (st == napi_ok && (st = napi_get_undefined(env, &undefined)) == napi_ok)
    st = napi_set_named_property(env, exports, "pool", undefined);
  if (st == napi_ok)
    st = napi_create_reference(env, exports, 1, &s->exports);
  if (st == napi_ok)
    st = napi_add_env_cleanup_hook(env, teardown, s);
  if (st != napi_ok) {
    teardown(s);
    return napi_failed(env);
  }
  return exports;
}
