/* SPDX-License-Identifier: MIT */
/* libshmbuf: Node.js Buffers in POSIX shared memory, served by shmbufd.
 *
 * A client is one connection to the daemon. Each buffer it creates is a view (pointer,
 * length, byteOffset) on a backing ArrayBuffer that lives in shared memory the daemon made
 * for this connection alone, mapped once per slab. Placement and every observable fact follow
 * Node v20's Buffer: Buffer.alloc(4).buffer.byteLength is 4, a pooled Buffer.allocUnsafe(4)
 * sits in an 8 KiB pool, errors carry Node's codes.
 *
 * Conventions:
 * - Functions return 0 (or a documented non-negative value) or a negative errno, as libuv's
 *   do. shmbuf_strerror() and shmbuf_err_name() name it; shmbuf_error_code() and
 *   shmbuf_error_message() give Node's code and message for the calling thread's last
 *   failure (e.g. "ERR_OUT_OF_RANGE").
 * - JS strings are passed as UTF-8 (len bytes, or SHMBUF_CSTR for a NUL-terminated string),
 *   standing for the JS string with the same code points, or as UTF-16 code units.
 * - Integer arguments that Node takes as optional use SHMBUF_UNDEFINED for "not given".
 * - Strings the library returns are allocated; free them with shmbuf_free().
 * - The library never logs, never aborts and never raises SIGPIPE.
 *
 * Threads: a client, and every buffer handle made through it, must be used by one thread at
 * a time; distinct clients are independent. The bytes of a buffer are ordinary shared memory:
 * any thread or process that can see them may read and write them.
 *
 * Lifetime: handles stay valid until shmbuf_release() or shmbuf_close(). If the daemon goes
 * away, requests fail with -ENOTCONN (code ERR_SHMBUF_DISCONNECTED) but held buffers stay
 * mapped and readable.
 *
 * A reply the library must not believe (a slab larger than its fd, a range beyond its slab, a
 * slab announced twice or retired under live views, a buffer without its slab or fd, a reply
 * longer than the daemon's frame limit allows, an impossible welcome) fails the call that
 * reads it with -EPROTO, code ERR_SHMBUF_PROTOCOL, and breaks the connection: the stream can
 * no longer be trusted, so every later request fails with -ENOTCONN. Held buffers stay mapped
 * and readable, and no fd that came with the bad reply stays open. */
#ifndef SHMBUF_H
#define SHMBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SHMBUF_EXTERN __attribute__((visibility("default")))
#else
#define SHMBUF_EXTERN
#endif

#define SHMBUF_VERSION_MAJOR 0
#define SHMBUF_VERSION_MINOR 1
#define SHMBUF_VERSION_PATCH 0

/* A string argument's length when the string is NUL-terminated. */
#define SHMBUF_CSTR ((size_t)-1)

/* An optional integer argument that is not given (JS undefined). */
#define SHMBUF_UNDEFINED INT64_MIN

typedef struct shmbuf_client shmbuf_client;
typedef struct shmbuf_buf shmbuf_buf;

/* ---- connection ------------------------------------------------------------------------- */

/* Flags for shmbuf_connect_ex(). */
#define SHMBUF_THIN 1u /* every operation goes to the daemon (no client-side pools or copies) */

/* Connects to the daemon at socket_path (NULL: $SHMBUF_SOCKET; else, for root, the system
 * socket /run/shmbuf/shmbufd.sock; for others $XDG_RUNTIME_DIR/shmbuf.sock, or the system
 * socket when that one does not exist) and performs the version handshake. Returns 0 and a client in *out, -ENOENT or
 * -ECONNREFUSED when no daemon listens, -EACCES when the daemon refuses this user,
 * -EPROTONOSUPPORT on a version mismatch, -EPROTO when the welcome breaks the protocol, or
 * another negative errno. */
SHMBUF_EXTERN int shmbuf_connect(const char *socket_path, shmbuf_client **out);
SHMBUF_EXTERN int shmbuf_connect_ex(const char *socket_path, unsigned flags, shmbuf_client **out);

/* Releases every buffer the client still holds, unmaps its memory, closes the connection
 * and frees the client. Every handle made through it becomes invalid. NULL is ignored. */
SHMBUF_EXTERN void shmbuf_close(shmbuf_client *c);

/* The socket path shmbuf_connect(NULL, ...) uses. Returns the path's length, or -ENAMETOOLONG
 * when it does not fit in cap bytes (NUL included). */
SHMBUF_EXTERN int shmbuf_default_socket(char *out, size_t cap);

/* Buffer.poolSize on this connection (8192 unless the daemon was told otherwise). */
SHMBUF_EXTERN uint32_t shmbuf_pool_size(const shmbuf_client *c);

/* The daemon's name and version as its welcome gave them (e.g. "shmbufd 0.1.0"), and the
 * protocol version the connection speaks. */
SHMBUF_EXTERN const char *shmbuf_daemon_version(const shmbuf_client *c);
SHMBUF_EXTERN uint32_t shmbuf_protocol_version(const shmbuf_client *c);

/* ---- creating buffers ---------------------------------------------------------------------
 * Each returns 0 and a new handle in *out, or a negative errno (*out is then untouched).
 * Sizes outside 0 .. 4294967296 fail with -ERANGE, code ERR_OUT_OF_RANGE, as in Node. */

/* Buffer.alloc(size): a dedicated, zero-filled buffer (buffer.byteLength == size). */
SHMBUF_EXTERN int shmbuf_alloc(shmbuf_client *c, int64_t size, shmbuf_buf **out);

/* Buffer.alloc(size, fill[, encoding]) with a string, bytes or number fill. A fill that
 * encodes to no bytes fails with ERR_INVALID_ARG_VALUE; an empty string fills with zeros.
 * The size is checked first, and size 0 never looks at the fill or the encoding. */
SHMBUF_EXTERN int shmbuf_alloc_fill_string(shmbuf_client *c, int64_t size, const char *fill,
                                           size_t len, const char *encoding, shmbuf_buf **out);
SHMBUF_EXTERN int shmbuf_alloc_fill_bytes(shmbuf_client *c, int64_t size, const void *fill,
                                          size_t len, shmbuf_buf **out);
SHMBUF_EXTERN int shmbuf_alloc_fill_number(shmbuf_client *c, int64_t size, double fill,
                                           shmbuf_buf **out);

/* Buffer.allocUnsafe(size): from the pool when 0 < size < poolSize >>> 1. The bytes are not
 * initialised; they never hold another client's data. */
SHMBUF_EXTERN int shmbuf_alloc_unsafe(shmbuf_client *c, int64_t size, shmbuf_buf **out);

/* Buffer.allocUnsafeSlow(size): dedicated, not initialised. */
SHMBUF_EXTERN int shmbuf_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_buf **out);

/* Buffer.from(uint8Array): a copy of len bytes, pooled under poolSize >>> 1. */
SHMBUF_EXTERN int shmbuf_from_bytes(shmbuf_client *c, const void *data, size_t len,
                                    shmbuf_buf **out);

/* Buffer.from(string, encoding): encoding NULL means utf8. An unknown encoding fails with
 * -EINVAL, code ERR_UNKNOWN_ENCODING. */
SHMBUF_EXTERN int shmbuf_from_string(shmbuf_client *c, const char *str, size_t len,
                                     const char *encoding, shmbuf_buf **out);
SHMBUF_EXTERN int shmbuf_from_utf16(shmbuf_client *c, const uint16_t *units, size_t n,
                                    const char *encoding, shmbuf_buf **out);

/* Buffer.from([v, ...]): each byte is v & 255 the way Uint8Array stores numbers (NaN and
 * infinities give 0, fractions truncate). */
SHMBUF_EXTERN int shmbuf_from_array(shmbuf_client *c, const double *values, size_t n,
                                    shmbuf_buf **out);

/* Buffer.from(buffer): a copy, made by the daemon when src belongs to c. */
SHMBUF_EXTERN int shmbuf_from_buffer(shmbuf_client *c, const shmbuf_buf *src, shmbuf_buf **out);

/* Buffer.from(src.buffer, byteOffset, length): a new view on src's backing ArrayBuffer,
 * sharing its memory; no copy and no round trip. byte_offset SHMBUF_UNDEFINED means 0,
 * length SHMBUF_UNDEFINED the rest, and a negative length 0. Fails with -ERANGE, code
 * ERR_BUFFER_OUT_OF_BOUNDS, past the ArrayBuffer's end, and for a negative byte_offset with
 * V8's RangeError, which has no code: shmbuf_error_code() is then "RangeError". */
SHMBUF_EXTERN int shmbuf_from_arraybuffer(const shmbuf_buf *src, int64_t byte_offset,
                                          int64_t length, shmbuf_buf **out);

/* buf.subarray(start, end) (and buf.slice): a view sharing buf's memory; negative indexes
 * count from the end, as in Node. */
SHMBUF_EXTERN int shmbuf_subarray(const shmbuf_buf *buf, int64_t start, int64_t end,
                                  shmbuf_buf **out);

/* Buffer.concat(list, totalLength): a new buffer (pooled under poolSize >>> 1) holding the
 * list's bytes, cut or zero-padded to total_length (SHMBUF_UNDEFINED: the sum). An empty
 * list gives an empty buffer whatever total_length is; otherwise total_length outside
 * 0 .. 4294967296 fails with -ERANGE, code ERR_OUT_OF_RANGE. */
SHMBUF_EXTERN int shmbuf_concat(shmbuf_client *c, const shmbuf_buf *const *list, size_t n,
                                int64_t total_length, shmbuf_buf **out);

/* Gives a handle back. When no handle uses its backing ArrayBuffer any more, the memory goes
 * back: an ArrayBuffer the library carved (see shmbuf_trim()) to the region it was carved
 * from (a few of 2 KiB or less are kept, per size class, for the next of their class), one
 * the daemon made to the daemon (one bigger than 2 MiB may be kept for reuse instead). A thin client tells the daemon with its next request, shmbuf_flush() or
 * shmbuf_trim(), or at once when the releases waiting give back 1 MiB or more; a release
 * needs no answer. NULL is ignored. */
SHMBUF_EXTERN void shmbuf_release(shmbuf_buf *buf);

/* Gives back what the client holds ahead of need, and tells the daemon of the releases that
 * wait for a request to ride with. A client that is not SHMBUF_THIN leases regions of shared
 * memory from the daemon (64 KiB, twice as much each time, up to 2 MiB; each one of the
 * daemon's buffers, charged whole to the connection) and carves the ArrayBuffers of
 * alloc(), allocUnsafeSlow() and Node's pools, up to 2 MiB, out of them itself: no round trip,
 * and alloc() clears only memory that held bytes before. The regions that hold nothing go
 * back here, as do the released ArrayBuffers over 2 MiB it keeps for reuse (up to four, 16 MiB
 * in all, mapped and faulted in, so that the next alloc() or allocUnsafe() of the same size
 * costs a memset or nothing), and the small carved ones kept for their size class (eight
 * each). The library does this by itself when the daemon runs out of
 * memory for it, and a region goes back by itself once it holds nothing and a newer one took
 * its place. */
SHMBUF_EXTERN void shmbuf_trim(shmbuf_client *c);

/* ---- pipelining ---------------------------------------------------------------------------
 * Requests can be queued without waiting for their answers, and answered later in the order
 * they were made. A callback gets status 0 and a new handle, which it owns, or a negative
 * errno and NULL (shmbuf_error_code() then tells Node's code). Callbacks run only inside
 * shmbuf_process() and shmbuf_wait(), in the order the requests were made; a blocking call
 * reads the answers before its own but leaves their callbacks for then. A callback may call
 * anything on the client, shmbuf_close() included: the client then goes when the outermost
 * shmbuf_process()/shmbuf_wait() returns, which returns -ECANCELED. Nothing runs after
 * shmbuf_close(), which drops what is still in flight. */

typedef void (*shmbuf_cb)(shmbuf_client *c, int status, shmbuf_buf *buf, void *arg);

/* Queue alloc(size), allocUnsafe(size), allocUnsafeSlow(size). Requests go out with
 * shmbuf_flush(), shmbuf_wait(), the next blocking call, or once 64 KiB of them wait or they
 * fill a batch frame (64 creations of up to 2 MiB, or 8 MiB of them). What
 * the library makes itself (a buffer carved out of a leased region, a kept ArrayBuffer) is
 * made at once and only its callback waits its turn. Returns 0, or a negative errno when
 * nothing was queued (the callback will not run). */
SHMBUF_EXTERN int shmbuf_submit_alloc(shmbuf_client *c, int64_t size, shmbuf_cb cb, void *arg);
SHMBUF_EXTERN int shmbuf_submit_alloc_unsafe(shmbuf_client *c, int64_t size, shmbuf_cb cb,
                                             void *arg);
SHMBUF_EXTERN int shmbuf_submit_alloc_unsafe_slow(shmbuf_client *c, int64_t size, shmbuf_cb cb,
                                                  void *arg);

/* Writes the queued requests. Returns 0 or a negative errno. */
SHMBUF_EXTERN int shmbuf_flush(shmbuf_client *c);

/* Runs the callbacks of every answer already received, and of what the library made itself,
 * without blocking. Returns how many ran, or -ENOTCONN once the connection is lost (the
 * callbacks still in flight have then run with -ENOTCONN: stop watching shmbuf_fd()). Call it
 * when shmbuf_fd() is readable, and once after submitting: what the library makes itself
 * brings nothing to read. */
SHMBUF_EXTERN int shmbuf_process(shmbuf_client *c);

/* Flushes, then blocks until every request in flight is answered and its callback has run.
 * Returns 0, or a negative errno when the connection failed (the callbacks still in flight
 * then run with -ENOTCONN). */
SHMBUF_EXTERN int shmbuf_wait(shmbuf_client *c);

/* The connection's socket, to watch for POLLIN in an event loop (epoll, a libuv uv_poll_t)
 * and call shmbuf_process(). Do not read, write or close it. */
SHMBUF_EXTERN int shmbuf_fd(const shmbuf_client *c);

/* ---- views --------------------------------------------------------------------------------- */

SHMBUF_EXTERN uint8_t *shmbuf_data(const shmbuf_buf *buf);          /* buf's first byte */
SHMBUF_EXTERN size_t shmbuf_length(const shmbuf_buf *buf);          /* buf.length */
SHMBUF_EXTERN size_t shmbuf_byte_offset(const shmbuf_buf *buf);     /* buf.byteOffset */
SHMBUF_EXTERN size_t shmbuf_buffer_byte_length(const shmbuf_buf *buf); /* buf.buffer.byteLength */
/* 1 when the backing ArrayBuffer is a pool shared by small buffers, 0 otherwise. */
SHMBUF_EXTERN int shmbuf_is_pooled(const shmbuf_buf *buf);
/* Equal for two handles of one client exactly when they share a backing ArrayBuffer. */
SHMBUF_EXTERN uint64_t shmbuf_arraybuffer_id(const shmbuf_buf *buf);

/* ---- sharing with other processes -------------------------------------------------------
 * A buffer is shared by a token, a capability: "sb1_" and 22 base64url characters (128
 * random bits) that the exporter passes to other processes by any channel it likes. An
 * importer maps the same physical pages: no copy, and the exporter's later writes show. What
 * is shared is the buffer's ArrayBuffer when it is dedicated (an importer's view has the
 * exporter's byteOffset and byteLength, and its pages hold only that ArrayBuffer), or only the
 * buffer's bytes when it sits in a pool (the importer's view then starts its own
 * ArrayBuffer). The shared ArrayBuffer lives in a memory object of its own, which no process
 * can shrink or grow: a dedicated ArrayBuffer with a slab to itself (over 2 MiB) becomes that
 * object as it is; any other is copied into one once, and the exporter's handles on it move
 * there (shmbuf_data() changes; handle contents do not). The memory stays while any process
 * maps it, whatever becomes of the exporter. */

/* Flags for shmbuf_share() (and, in a share list, SHMBUF_SHARE_SEALED for a sealed object). */
#define SHMBUF_SHARE_WRITABLE 1u   /* importers may write (the default: read-only imports) */
#define SHMBUF_SHARE_SEALED 2u     /* seal first: no process can write it, the exporter too */
#define SHMBUF_SHARE_SINGLE_USE 4u /* the token imports once */
#define SHMBUF_SHARE_PERSIST 8u    /* the token outlives this connection, until its TTL */

/* Room for a token and its NUL. */
#define SHMBUF_TOKEN_MAX 64

/* Makes buf importable and writes its token to `token`. A token stops importing when
 * shmbuf_unshare() revokes it, after ttl_ms milliseconds (0: no limit), after its first import
 * when SHMBUF_SHARE_SINGLE_USE, or when this connection ends, unless SHMBUF_SHARE_PERSIST
 * (which needs a TTL): then it lives until its TTL and the shared memory is charged to this
 * user meanwhile. Imports already made are not affected. Anyone who can reach the daemon and
 * holds the token may import it; shmbuf_share_ex() restricts that to users and groups.
 * Returns 0 or a negative errno: -EINVAL (ERR_INVALID_ARG_VALUE) for a persisting share
 * without a TTL, writable and sealed together, or a zero-length buffer the daemon never
 * made; -ENOMEM, -EDQUOT or -ENOSPC when the copy does not fit the limits. */
SHMBUF_EXTERN int shmbuf_share(shmbuf_buf *buf, unsigned flags, uint64_t ttl_ms,
                               char token[SHMBUF_TOKEN_MAX]);

/* shmbuf_share(), importable only by the exporter's user and by the nuids users and the
 * ngids groups listed (a process is in a group when it is its primary group, as the daemon
 * sees it through SO_PEERCRED). */
SHMBUF_EXTERN int shmbuf_share_ex(shmbuf_buf *buf, unsigned flags, uint64_t ttl_ms,
                                  const uid_t *uids, size_t nuids, const gid_t *gids,
                                  size_t ngids, char token[SHMBUF_TOKEN_MAX]);

/* Imports a token: a new handle on the shared bytes, read-only unless the share is writable
 * (the kernel enforces it: the mapping is PROT_READ, from a descriptor opened read-only, and
 * library calls that would write fail with -EPERM, ERR_SHMBUF_READ_ONLY). Returns 0, or
 * -ENOENT, code ERR_SHMBUF_TOKEN, for every token this process may not import (unknown,
 * revoked, expired, used up, forbidden: the answer does not say which), or what the
 * importer's limits say: the imported memory counts against them. */
SHMBUF_EXTERN int shmbuf_import(shmbuf_client *c, const char *token, shmbuf_buf **out);

/* Revokes one of this user's tokens (imports made stay). Returns 0 or -ENOENT
 * (ERR_SHMBUF_TOKEN). */
SHMBUF_EXTERN int shmbuf_unshare(shmbuf_client *c, const char *token);

/* Freezes buf's bytes for every process, this one included: they move into a memory object
 * that the kernel seals against writes (F_SEAL_WRITE), and buf and the other handles on the
 * same bytes (the whole ArrayBuffer when it is dedicated) move there. The move is one copy.
 * Returns 0 or a negative errno, as shmbuf_share(). */
SHMBUF_EXTERN int shmbuf_seal(shmbuf_buf *buf);

/* 1 when no process can write buf's bytes (sealed), 0 otherwise. */
SHMBUF_EXTERN int shmbuf_is_sealed(const shmbuf_buf *buf);
/* 1 when this process cannot write buf's bytes (a read-only import, or sealed), 0 otherwise. */
SHMBUF_EXTERN int shmbuf_is_read_only(const shmbuf_buf *buf);
/* 1 when buf's bytes are in a shared object (shared, imported or sealed), 0 otherwise. */
SHMBUF_EXTERN int shmbuf_is_shared(const shmbuf_buf *buf);

/* The live shares, oldest first: every user sees every share, and tokens only of their own. */
typedef struct shmbuf_share_list shmbuf_share_list;

/* Asks the daemon for the list. Returns 0 and a list to free with shmbuf_share_list_free(),
 * or a negative errno. */
SHMBUF_EXTERN int shmbuf_list_shares(shmbuf_client *c, shmbuf_share_list **out);
SHMBUF_EXTERN size_t shmbuf_share_list_count(const shmbuf_share_list *l);
/* Share i's token, or NULL when it is another user's. */
SHMBUF_EXTERN const char *shmbuf_share_list_token(const shmbuf_share_list *l, size_t i);
SHMBUF_EXTERN uid_t shmbuf_share_list_uid(const shmbuf_share_list *l, size_t i);
/* The exporter's pid, 0 once its connection ended (a persisting share). */
SHMBUF_EXTERN pid_t shmbuf_share_list_pid(const shmbuf_share_list *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_share_list_length(const shmbuf_share_list *l, size_t i);
/* SHMBUF_SHARE_* flags of share i. */
SHMBUF_EXTERN unsigned shmbuf_share_list_flags(const shmbuf_share_list *l, size_t i);
/* Connections that import it, besides the exporter's. */
SHMBUF_EXTERN uint32_t shmbuf_share_list_importers(const shmbuf_share_list *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_share_list_age_ms(const shmbuf_share_list *l, size_t i);
/* Milliseconds before the token stops importing, 0 when it has no TTL. */
SHMBUF_EXTERN uint64_t shmbuf_share_list_ttl_ms(const shmbuf_share_list *l, size_t i);
SHMBUF_EXTERN void shmbuf_share_list_free(shmbuf_share_list *l);

/* ---- reading and writing ------------------------------------------------------------------- */

/* buf.toString(encoding, start, end) as a NUL-terminated UTF-8 string in *out (its length in
 * *len when len is not NULL). Lone surrogates come out as U+FFFD. */
SHMBUF_EXTERN int shmbuf_to_string(const shmbuf_buf *buf, const char *encoding, int64_t start,
                                   int64_t end, char **out, size_t *len);
/* The same as UTF-16 code units, exact. */
SHMBUF_EXTERN int shmbuf_to_utf16(const shmbuf_buf *buf, const char *encoding, int64_t start,
                                  int64_t end, uint16_t **out, size_t *n);

/* util.inspect(buf): "<Buffer 61 62 63 64>" ("<Buffer >" when empty), at most 50 bytes then
 * " ... N more bytes" (" ... 1 more byte"). */
SHMBUF_EXTERN int shmbuf_inspect(const shmbuf_buf *buf, char **out);

/* buf.fill(value, offset, end, encoding). Returns 0 or a negative errno with Node's code:
 * ERR_OUT_OF_RANGE (-ERANGE) for offset outside 0 .. 4294967296 or end outside 0 .. length,
 * ERR_UNKNOWN_ENCODING (-EINVAL), and ERR_INVALID_ARG_VALUE (-EINVAL) for a value that gives
 * no bytes (an empty string fills with zeros; an empty bytes value shows as <Buffer >).
 * offset SHMBUF_UNDEFINED fills the whole buffer and ignores end, as Node does; the encoding
 * still applies then, as in buf.fill(value, encoding). An empty range does nothing, not even
 * look at the value, but an unknown encoding fails first. The bytes of a string are repeated
 * and the last repeat may stop inside a character, as in Node. */
SHMBUF_EXTERN int shmbuf_fill_string(shmbuf_buf *buf, const char *value, size_t len,
                                     int64_t offset, int64_t end, const char *encoding);
SHMBUF_EXTERN int shmbuf_fill_bytes(shmbuf_buf *buf, const void *value, size_t len,
                                    int64_t offset, int64_t end);
SHMBUF_EXTERN int shmbuf_fill_number(shmbuf_buf *buf, double value, int64_t offset,
                                     int64_t end);

/* Buffer.byteLength(string, encoding), Node's base64 estimate included. Like Node, an
 * unknown encoding counts as utf8. Returns 0 and the length in *out. */
SHMBUF_EXTERN int shmbuf_byte_length(const char *str, size_t len, const char *encoding,
                                     size_t *out);

/* Buffer.compare(a, b): -1, 0 or 1. buf.equals(other): 1 or 0. */
SHMBUF_EXTERN int shmbuf_compare(const shmbuf_buf *a, const shmbuf_buf *b);
SHMBUF_EXTERN int shmbuf_equals(const shmbuf_buf *a, const shmbuf_buf *b);

/* ---- the rest of Node's Buffer: writing strings, searching, typed access, ranges -----------
 * Node v20's rules, arguments and error messages, worked out on the mapped memory in this
 * process: no round trip in either client mode (shmbuf_transcode() alone makes a buffer).
 * JS numbers are doubles (NaN and the infinities included) and BigInts int64_t or uint64_t;
 * offsets and lengths are int64_t, SHMBUF_UNDEFINED standing for undefined (a fraction or NaN
 * cannot be said). Errors: ERR_OUT_OF_RANGE and ERR_BUFFER_OUT_OF_BOUNDS (-ERANGE),
 * ERR_INVALID_ARG_TYPE, ERR_UNKNOWN_ENCODING and ERR_INVALID_BUFFER_SIZE (-EINVAL), in the
 * order Node checks the arguments. */

#define SHMBUF_MAX_LENGTH 4294967296ull  /* buffer.constants.MAX_LENGTH */
#define SHMBUF_MAX_STRING_LENGTH 536870888u /* buffer.constants.MAX_STRING_LENGTH (2 ** 29 - 24) */
#define SHMBUF_INSPECT_MAX_BYTES 50u     /* buffer.INSPECT_MAX_BYTES */
/* shmbuf_to_string() and shmbuf_to_utf16() of a range whose string would have more than
 * SHMBUF_MAX_STRING_LENGTH UTF-16 units fail with -ERANGE, code ERR_STRING_TOO_LONG. */

/* buf.write(string, offset, length, encoding): encodes the string into buf at offset and
 * returns the number of bytes written, at most length (SHMBUF_UNDEFINED: the rest of buf).
 * utf8 never writes part of a character; utf16le writes whole code units, so it may end with
 * the first half of a surrogate pair, as Node does. offset SHMBUF_UNDEFINED is buf.write(string),
 * utf8 over all of buf whatever length and encoding say; with length SHMBUF_UNDEFINED too and
 * an encoding, it is buf.write(string, encoding). NULL and "" mean utf8. Errors: offset, then
 * length, outside 0 .. buf.length (ERR_OUT_OF_RANGE), then an unknown encoding. */
SHMBUF_EXTERN int64_t shmbuf_write_string(shmbuf_buf *buf, const char *str, size_t len,
                                          int64_t offset, int64_t length, const char *encoding);
SHMBUF_EXTERN int64_t shmbuf_write_utf16(shmbuf_buf *buf, const uint16_t *units, size_t n,
                                         int64_t offset, int64_t length, const char *encoding);

/* buf.indexOf(value, byteOffset, encoding) and buf.lastIndexOf(...): the index of the first
 * match at or after byte_offset (the last at or before it) in *index, or -1; buf.includes()
 * returns 1 or 0. The value is a string in an encoding (NULL: utf8; unknown: -EINVAL, code
 * ERR_UNKNOWN_ENCODING), bytes (a Uint8Array: utf16le matches whole code units at even
 * indexes, any other encoding, known or not, bytes), or a number, whose low byte is sought.
 * byte_offset is taken Node's way: negative counts from the end, the value is clamped to the
 * int32 range, SHMBUF_UNDEFINED searches all of buf, and an empty needle is found at the
 * offset (at most buf.length). A utf16le string is sought at even indexes, odd offsets
 * rounded down. Unlike Node's, an ascii, base64, base64url or hex needle takes no pool room. */
SHMBUF_EXTERN int shmbuf_index_of_string(const shmbuf_buf *buf, const char *value, size_t len,
                                         int64_t byte_offset, const char *encoding,
                                         int64_t *index);
SHMBUF_EXTERN int shmbuf_index_of_utf16(const shmbuf_buf *buf, const uint16_t *units, size_t n,
                                        int64_t byte_offset, const char *encoding,
                                        int64_t *index);
SHMBUF_EXTERN int shmbuf_index_of_bytes(const shmbuf_buf *buf, const void *value, size_t len,
                                        int64_t byte_offset, const char *encoding,
                                        int64_t *index);
SHMBUF_EXTERN int shmbuf_index_of_number(const shmbuf_buf *buf, double value,
                                         int64_t byte_offset, int64_t *index);
SHMBUF_EXTERN int shmbuf_last_index_of_string(const shmbuf_buf *buf, const char *value,
                                              size_t len, int64_t byte_offset,
                                              const char *encoding, int64_t *index);
SHMBUF_EXTERN int shmbuf_last_index_of_utf16(const shmbuf_buf *buf, const uint16_t *units,
                                             size_t n, int64_t byte_offset,
                                             const char *encoding, int64_t *index);
SHMBUF_EXTERN int shmbuf_last_index_of_bytes(const shmbuf_buf *buf, const void *value,
                                             size_t len, int64_t byte_offset,
                                             const char *encoding, int64_t *index);
SHMBUF_EXTERN int shmbuf_last_index_of_number(const shmbuf_buf *buf, double value,
                                              int64_t byte_offset, int64_t *index);
SHMBUF_EXTERN int shmbuf_includes_string(const shmbuf_buf *buf, const char *value, size_t len,
                                         int64_t byte_offset, const char *encoding);
SHMBUF_EXTERN int shmbuf_includes_utf16(const shmbuf_buf *buf, const uint16_t *units, size_t n,
                                        int64_t byte_offset, const char *encoding);
SHMBUF_EXTERN int shmbuf_includes_bytes(const shmbuf_buf *buf, const void *value, size_t len,
                                        int64_t byte_offset, const char *encoding);
SHMBUF_EXTERN int shmbuf_includes_number(const shmbuf_buf *buf, double value,
                                         int64_t byte_offset);

/* buf.readUInt8(offset) ... buf.readBigUInt64BE(offset): the value at offset in *out (a float
 * as float32: the JS number is that value). offset SHMBUF_UNDEFINED is 0, but the variable-size
 * reads (byte_length 1 to 6) require it, as Node's do: ERR_INVALID_ARG_TYPE. A value that does
 * not fit at offset fails with ERR_OUT_OF_RANGE (offset >= 0 and <= buf.length - size), or
 * ERR_BUFFER_OUT_OF_BOUNDS when buf is shorter than the value. */
SHMBUF_EXTERN int shmbuf_read_uint8(const shmbuf_buf *buf, int64_t offset, uint8_t *out);
SHMBUF_EXTERN int shmbuf_read_int8(const shmbuf_buf *buf, int64_t offset, int8_t *out);
SHMBUF_EXTERN int shmbuf_read_uint16_le(const shmbuf_buf *buf, int64_t offset, uint16_t *out);
SHMBUF_EXTERN int shmbuf_read_uint16_be(const shmbuf_buf *buf, int64_t offset, uint16_t *out);
SHMBUF_EXTERN int shmbuf_read_int16_le(const shmbuf_buf *buf, int64_t offset, int16_t *out);
SHMBUF_EXTERN int shmbuf_read_int16_be(const shmbuf_buf *buf, int64_t offset, int16_t *out);
SHMBUF_EXTERN int shmbuf_read_uint32_le(const shmbuf_buf *buf, int64_t offset, uint32_t *out);
SHMBUF_EXTERN int shmbuf_read_uint32_be(const shmbuf_buf *buf, int64_t offset, uint32_t *out);
SHMBUF_EXTERN int shmbuf_read_int32_le(const shmbuf_buf *buf, int64_t offset, int32_t *out);
SHMBUF_EXTERN int shmbuf_read_int32_be(const shmbuf_buf *buf, int64_t offset, int32_t *out);
SHMBUF_EXTERN int shmbuf_read_uint_le(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                                      uint64_t *out);
SHMBUF_EXTERN int shmbuf_read_uint_be(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                                      uint64_t *out);
SHMBUF_EXTERN int shmbuf_read_int_le(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                                     int64_t *out);
SHMBUF_EXTERN int shmbuf_read_int_be(const shmbuf_buf *buf, int64_t offset, int64_t byte_length,
                                     int64_t *out);
SHMBUF_EXTERN int shmbuf_read_float_le(const shmbuf_buf *buf, int64_t offset, float *out);
SHMBUF_EXTERN int shmbuf_read_float_be(const shmbuf_buf *buf, int64_t offset, float *out);
SHMBUF_EXTERN int shmbuf_read_double_le(const shmbuf_buf *buf, int64_t offset, double *out);
SHMBUF_EXTERN int shmbuf_read_double_be(const shmbuf_buf *buf, int64_t offset, double *out);
SHMBUF_EXTERN int shmbuf_read_big_int64_le(const shmbuf_buf *buf, int64_t offset, int64_t *out);
SHMBUF_EXTERN int shmbuf_read_big_int64_be(const shmbuf_buf *buf, int64_t offset, int64_t *out);
SHMBUF_EXTERN int shmbuf_read_big_uint64_le(const shmbuf_buf *buf, int64_t offset,
                                            uint64_t *out);
SHMBUF_EXTERN int shmbuf_read_big_uint64_be(const shmbuf_buf *buf, int64_t offset,
                                            uint64_t *out);

/* buf.writeUInt8(value, offset) ... buf.writeBigUInt64BE(value, offset): stores the value and
 * returns the offset after it. offset as for the reads, and a value outside the type's range
 * fails with Node's message (">= 0 and <= 65535", ">= -(2 ** 39) and < 2 ** 39"), checked
 * before the offset except in one-byte writes; byte_length before both. Within the range, the
 * bytes are Node's: fractions go toward zero and NaN stores 0 (for 5 and 6 bytes the top bytes
 * come from Math.floor(value / 2 ** 32), so -0.5 is stored as -(2 ** 32)); floats round to
 * float32 (1e39 becomes Infinity) and doubles keep their bits. BigInts cannot be out of range:
 * int64_t and uint64_t hold exactly the values Node takes. */
SHMBUF_EXTERN int64_t shmbuf_write_uint8(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_int8(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_uint16_le(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_uint16_be(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_int16_le(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_int16_be(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_uint32_le(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_uint32_be(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_int32_le(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_int32_be(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_uint_le(shmbuf_buf *buf, double value, int64_t offset,
                                           int64_t byte_length);
SHMBUF_EXTERN int64_t shmbuf_write_uint_be(shmbuf_buf *buf, double value, int64_t offset,
                                           int64_t byte_length);
SHMBUF_EXTERN int64_t shmbuf_write_int_le(shmbuf_buf *buf, double value, int64_t offset,
                                          int64_t byte_length);
SHMBUF_EXTERN int64_t shmbuf_write_int_be(shmbuf_buf *buf, double value, int64_t offset,
                                          int64_t byte_length);
SHMBUF_EXTERN int64_t shmbuf_write_float_le(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_float_be(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_double_le(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_double_be(shmbuf_buf *buf, double value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_big_int64_le(shmbuf_buf *buf, int64_t value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_big_int64_be(shmbuf_buf *buf, int64_t value, int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_big_uint64_le(shmbuf_buf *buf, uint64_t value,
                                                 int64_t offset);
SHMBUF_EXTERN int64_t shmbuf_write_big_uint64_be(shmbuf_buf *buf, uint64_t value,
                                                 int64_t offset);

/* source.copy(target, targetStart, sourceStart, sourceEnd): copies what fits of the range into
 * target (overlapping views of one ArrayBuffer included) and returns how many bytes. Errors:
 * target_start < 0, source_start outside 0 .. source.length, source_end < 0. */
SHMBUF_EXTERN int64_t shmbuf_copy(const shmbuf_buf *source, shmbuf_buf *target,
                                  int64_t target_start, int64_t source_start,
                                  int64_t source_end);

/* source.compare(target, targetStart, targetEnd, sourceStart, sourceEnd): -1, 0 or 1 in *order.
 * Starts outside 0 .. 4294967296 and ends outside 0 .. that buffer's length fail; an empty
 * source range orders before a non-empty target range, as in Node. */
SHMBUF_EXTERN int shmbuf_compare_range(const shmbuf_buf *source, const shmbuf_buf *target,
                                       int64_t target_start, int64_t target_end,
                                       int64_t source_start, int64_t source_end, int *order);

/* buf.swap16(), buf.swap32(), buf.swap64(): reverses the bytes of each 2-, 4- or 8-byte unit in
 * place; a length that is not a multiple fails with ERR_INVALID_BUFFER_SIZE. */
SHMBUF_EXTERN int shmbuf_swap16(shmbuf_buf *buf);
SHMBUF_EXTERN int shmbuf_swap32(shmbuf_buf *buf);
SHMBUF_EXTERN int shmbuf_swap64(shmbuf_buf *buf);

/* Buffer.isEncoding(encoding): 1 for a name Node knows, in any letter case; 0 otherwise, NULL
 * and "" included. buffer.isUtf8() and buffer.isAscii() of len bytes: 1 or 0. */
SHMBUF_EXTERN int shmbuf_is_encoding(const char *encoding);
SHMBUF_EXTERN int shmbuf_is_utf8(const void *data, size_t len);
SHMBUF_EXTERN int shmbuf_is_ascii(const void *data, size_t len);

/* buffer.transcode(source, from, to) between utf8, utf16le (ucs2), latin1 (binary) and ascii
 * (NULL or "": utf8): a new buffer on c, dedicated as Node makes it (buffer.byteLength ==
 * length). A character the target cannot hold becomes '?', ill-formed input U+FFFD, as Node's
 * ICU does; but utf8 to utf16le fails on ill-formed input, and utf16le to utf8 on a lone
 * surrogate or a single byte, with -EILSEQ, code U_INVALID_CHAR_FOUND (message "Unable to
 * transcode Buffer [U_INVALID_CHAR_FOUND]"); any other encoding fails with -EINVAL, code
 * U_ILLEGAL_ARGUMENT_ERROR. An empty source gives an empty buffer whatever the encodings. */
SHMBUF_EXTERN int shmbuf_transcode(shmbuf_client *c, const void *source, size_t len,
                                   const char *from, const char *to, shmbuf_buf **out);

/* ---- what the daemon reports ----------------------------------------------------------------
 * Each report is a snapshot in one allocation, read through accessors (so that a later release
 * can report more without changing what programs were compiled against) and freed with its
 * _free() function. An index past the end reads as NULL or 0. */

typedef struct shmbuf_stats shmbuf_stats;

/* The daemon's counters now: 0 and a snapshot in *out, or a negative errno. A client that
 * carves its buffers itself (not SHMBUF_THIN) adds its own gauges after the daemon's:
 * client_regions and client_leased_bytes (what it leased, each region one of the daemon's
 * buffers), client_carves and client_carved_bytes (the ArrayBuffers it carved out of them that
 * are live, and their bytes). */
SHMBUF_EXTERN int shmbuf_stats_get(shmbuf_client *c, shmbuf_stats **out);

/* How many counters the snapshot holds, and counter i's name (e.g. "buffers",
 * "reserved_bytes"), one-line description, value, and kind: 1 for a gauge (a level that goes
 * up and down), 0 for a running total. */
SHMBUF_EXTERN size_t shmbuf_stats_count(const shmbuf_stats *s);
SHMBUF_EXTERN const char *shmbuf_stats_name(const shmbuf_stats *s, size_t i);
SHMBUF_EXTERN const char *shmbuf_stats_help(const shmbuf_stats *s, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_stats_value(const shmbuf_stats *s, size_t i);
SHMBUF_EXTERN int shmbuf_stats_is_gauge(const shmbuf_stats *s, size_t i);

/* The value of the counter called name in *value: 0, or -ENOENT when there is none. */
SHMBUF_EXTERN int shmbuf_stats_find(const shmbuf_stats *s, const char *name, uint64_t *value);

/* Frees a snapshot. NULL is ignored. */
SHMBUF_EXTERN void shmbuf_stats_free(shmbuf_stats *s);

typedef struct shmbuf_clients shmbuf_clients;

/* The daemon's connections now (the asking one included): every one for root and the
 * daemon's own user, the caller's user's own for anyone else. 0 and a snapshot in *out, or a
 * negative errno. */
SHMBUF_EXTERN int shmbuf_clients_get(shmbuf_client *c, shmbuf_clients **out);

/* How many connections the snapshot holds, and of connection i: the pid and uid of the
 * process that connected, its command name (/proc/PID/comm in printable ASCII, "" when the
 * daemon cannot read it), its live buffers, the sum of their lengths, the shared memory
 * reserved for it, its shared-memory objects, milliseconds since its handshake, and the
 * requests the daemon has served it. */
SHMBUF_EXTERN size_t shmbuf_clients_count(const shmbuf_clients *l);
SHMBUF_EXTERN int32_t shmbuf_clients_pid(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint32_t shmbuf_clients_uid(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN const char *shmbuf_clients_command(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_clients_buffers(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_clients_bytes(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_clients_reserved_bytes(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_clients_slabs(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_clients_age_ms(const shmbuf_clients *l, size_t i);
SHMBUF_EXTERN uint64_t shmbuf_clients_requests(const shmbuf_clients *l, size_t i);

/* Frees a snapshot. NULL is ignored. */
SHMBUF_EXTERN void shmbuf_clients_free(shmbuf_clients *l);

/* ---- errors and the rest -------------------------------------------------------------------- */

SHMBUF_EXTERN const char *shmbuf_strerror(int err);
SHMBUF_EXTERN const char *shmbuf_err_name(int err);
/* Node's error code and message of the calling thread's last failed call, or NULL. */
SHMBUF_EXTERN const char *shmbuf_error_code(void);
SHMBUF_EXTERN const char *shmbuf_error_message(void);

SHMBUF_EXTERN void shmbuf_free(void *p);

/* The library's version, e.g. "0.1.0" (SHMBUF_VERSION_* are the header's). */
SHMBUF_EXTERN const char *shmbuf_version(void);

#ifdef __cplusplus
}
#endif

#endif
