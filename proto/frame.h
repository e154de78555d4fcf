/* Stream framing: a 4-byte big-endian payload length, then one protobuf message of that
 * length. A zero length is not a frame. Both ends check the length against their limit
 * before buffering the payload. */
#ifndef SB_FRAME_H
#define SB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "shmbuf.pb-c.h"

#define SB_PROTOCOL_VERSION 1u
#define SB_FRAME_HEADER 4u
#define SB_FRAME_MAX_DEFAULT (16u << 20)

/* Looks for one frame at the start of [p, p + n).
 * Returns the frame's total size (header included) and sets *payload and *len when the whole
 * frame is there; 0 when more bytes are needed; -EMSGSIZE when the header announces more
 * than max bytes; -EBADMSG for a zero length. */
long sb_frame_next(const uint8_t *p, size_t n, uint32_t max, const uint8_t **payload,
                   uint32_t *len);

/* Appends msg to out as one frame. Returns 0, -EMSGSIZE when it is larger than max, or
 * -ENOMEM. */
int sb_frame_append(sb_bytes *out, const ProtobufCMessage *msg, uint32_t max);

#endif
