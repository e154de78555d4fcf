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
 *   - a new dedicated ArrayBuffer.
 * JavaScript makes the Buffer itself, with Node's own class, as Node does. A new pool is set
 * in `pool` when the first buffer carved from it comes out. */
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

/* Throws libshmbuf's record of the failure rc: an Error with its code and message, and
 * errno (the negative errno, as in Node's system errors). */
static napi_value shmbuf_failed(napi_env env, int rc) {
  const char *code = shmbuf_error_code(), *message = shmbuf_error_message();
  napi_value c, m, err, num;
  if (napi_create_string_utf8(env, code ? code : shmbuf_err_name(rc), NAPI_AUTO_LENGTH, &c) ||
      napi_create_string_utf8(env, message ? message : shmbuf_strerror(rc), NAPI_AUTO_LENGTH,
                              &m) ||
      napi_create_error(env, c, m, &err) || napi_create_int32(env, rc, &num) ||
      napi_set_named_property(env, err, "errno", num))
    return napi_failed(env);
  napi_throw(env, err);
  return NULL;
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
  return s ? boolean(env, region_owns(s->regions, env, argv[0])) : NULL;
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
    {"poolSize", js_pool_size},
    {"stats", js_stats},
    {"close", js_close},
    {"setSocketPath", js_set_socket_path},
};

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
