/*
 * The server end of a WebSocket, by hand, on a blocking socket: for the
 * tests and benches whose peer must do what wvoice serve never does (send
 * fragments, refuse a subprotocol, stay silent, not answer pings) or must
 * time each frame itself. Frames sent are unmasked, frames read must be
 * masked, as RFC 6455 has it for a server.
 *
 * Every function returns false (or -1) when the socket fails; none
 * allocates or logs.
 */
#ifndef WV_TESTS_RAWWS_H
#define WV_TESTS_RAWWS_H

#include <stdbool.h>
#include <stddef.h>

enum {
	RAWWS_CONT = 0x0,
	RAWWS_TEXT = 0x1,
	RAWWS_BINARY = 0x2,
	RAWWS_CLOSE = 0x8,
	RAWWS_PING = 0x9,
	RAWWS_PONG = 0xa,
};

/* The whole buffer out, or in, retrying on EINTR. */
bool rawws_send_all(int fd, const void *buf, size_t len);
bool rawws_recv_all(int fd, void *buf, size_t len);

/* Reads the handshake request, up to its blank line, into req
   (NUL-terminated). */
bool rawws_read_request(int fd, char *req, size_t cap);

/* Answers req with 101, choosing the subprotocol protocol (NULL: none). */
bool rawws_answer_upgrade(int fd, const char *req, const char *protocol);

/* One frame of any length; fin false leaves the message open. */
bool rawws_send_frame(int fd, int opcode, bool fin, const void *data,
		      size_t len);
/* One whole text message, in one frame. */
bool rawws_send_text(int fd, const char *text);

/* Reads one masked frame into buf (NUL-terminated, so under cap bytes) and
   returns its opcode, or -1 when the socket failed or the frame is not
   what a client sends. */
int rawws_read_frame(int fd, char *buf, size_t cap, size_t *len);

#endif
