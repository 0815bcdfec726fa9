/* A WebSocket server end by hand: see rawws.h. */
#define _GNU_SOURCE /* strcasestr */
#include "rawws.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/sha.h>

#include <wvoice/base64.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

bool rawws_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool rawws_recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

bool rawws_read_request(int fd, char *req, size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return false;
	req[0] = '\0';
	while (!strstr(req, "\r\n\r\n")) {
		ssize_t got;

		if (n + 1 >= cap)
			return false;
		got = recv(fd, req + n, cap - 1 - n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		n += (size_t)got;
		req[n] = '\0';
	}
	return true;
}

/* RFC 6455 4.2.2. */
bool rawws_answer_upgrade(int fd, const char *req, const char *protocol)
{
	static const char field[] = "\r\nSec-WebSocket-Key:";
	const char *k = strcasestr(req, field);
	char both[160], resp[512], chosen[160] = "";
	char accept[WV_BASE64_ENCODED_LEN(SHA_DIGEST_LENGTH) + 1];
	unsigned char digest[SHA_DIGEST_LENGTH];
	size_t klen;
	int n;

	if (!k)
		return false;
	k += strlen(field);
	k += strspn(k, " \t");
	klen = strcspn(k, " \t\r\n");
	if (klen == 0 || klen > 64)
		return false;
	n = snprintf(both, sizeof both, "%.*s%s", (int)klen, k, WS_GUID);
	SHA1((const unsigned char *)both, (size_t)n, digest);
	wv_base64_encode(accept, digest, sizeof digest);
	if (protocol)
		snprintf(chosen, sizeof chosen,
			 "Sec-WebSocket-Protocol: %s\r\n", protocol);
	n = snprintf(resp, sizeof resp,
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n%s\r\n",
		     accept, chosen);
	return n > 0 && (size_t)n < sizeof resp &&
	       rawws_send_all(fd, resp, (size_t)n);
}

bool rawws_send_frame(int fd, int opcode, bool fin, const void *data,
		      size_t len)
{
	unsigned char h[10];
	size_t hl = 2;

	h[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < 126) {
		h[1] = (unsigned char)len;
	} else if (len < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)len >>
						   (56 - 8 * i));
		hl = 10;
	}
	return rawws_send_all(fd, h, hl) && rawws_send_all(fd, data, len);
}

bool rawws_send_text(int fd, const char *text)
{
	return rawws_send_frame(fd, RAWWS_TEXT, true, text, strlen(text));
}

int rawws_read_frame(int fd, char *buf, size_t cap, size_t *len)
{
	unsigned char h[2], ext[8], mask[4];
	uint64_t n;

	if (!rawws_recv_all(fd, h, 2))
		return -1;
	n = h[1] & 0x7f;
	if (n >= 126) {
		size_t el = n == 126 ? 2 : 8;

		if (!rawws_recv_all(fd, ext, el))
			return -1;
		n = 0;
		for (size_t i = 0; i < el; i++)
			n = n << 8 | ext[i];
	}
	if (!(h[1] & 0x80) || n >= cap || !rawws_recv_all(fd, mask, 4) ||
	    !rawws_recv_all(fd, buf, (size_t)n))
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(buf[i] ^ mask[i % 4]);
	buf[n] = '\0';
	*len = (size_t)n;
	return h[0] & 0x0f;
}
