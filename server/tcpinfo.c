/*
 * What the kernel counted on a call's socket: the bytes the client sent
 * that the server has read, whatever libwebsockets did with them. See
 * server_internal.h.
 *
 * Its own file: <linux/tcp.h> has the counter glibc's <netinet/tcp.h>
 * lacks, and the two do not mix with what libwebsockets.h includes.
 */
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>
#include <linux/tcp.h>

int wvs_tcp_bytes_read(int fd, uint64_t *out);

int wvs_tcp_bytes_read(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int unread;

	/* Received first, then what is still queued: bytes that come in
	   between make the count smaller, never larger. */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) +
			  sizeof ti.tcpi_bytes_received ||
	    ioctl(fd, SIOCINQ, &unread) < 0 || unread < 0 ||
	    (uint64_t)unread > ti.tcpi_bytes_received)
		return -1;
	*out = ti.tcpi_bytes_received - (uint64_t)unread;
	return 0;
}
