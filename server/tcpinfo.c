/*
 * What the kernel counted on a call's socket: the bytes the client sent,
 * whatever libwebsockets did with them. See server_internal.h.
 *
 * Its own file: <linux/tcp.h> has the counter glibc's <netinet/tcp.h>
 * lacks, and the two do not mix with what libwebsockets.h includes.
 */
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/tcp.h>

int wvs_tcp_bytes_received(int fd, uint64_t *out);

int wvs_tcp_bytes_received(int fd, uint64_t *out)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) +
			  sizeof ti.tcpi_bytes_received)
		return -1;
	*out = ti.tcpi_bytes_received;
	return 0;
}
