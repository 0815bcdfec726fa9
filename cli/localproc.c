/* The built-in agent server as a child process. See localproc.h. */
#include "localproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 15000
#define HEALTH_TIMEOUT_MS 3000
#define HEALTH_MAX 65536

static int make_key(char *key, size_t cap)
{
	unsigned char raw[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, raw, sizeof raw) : -1;

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof raw || cap < 2 * sizeof raw + 1)
		return -1;
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(key + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads its output up to the line 'listening on ws://HOST:PORT'. */
static int wait_listening(struct cli_serve_child *s, char *err, size_t errlen)
{
	char buf[4096];
	size_t used = 0;
	int64_t until = now_ms() + START_TIMEOUT_MS;

	while (now_ms() < until) {
		struct pollfd p = { s->out, POLLIN, 0 };
		ssize_t n;
		char *line;

		if (poll(&p, 1, (int)(until - now_ms())) <= 0)
			break;
		n = read(s->out, buf + used, sizeof buf - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		line = strstr(buf, "listening on ws://");
		if (line && strchr(line, '\n')) {
			unsigned port;

			if (sscanf(line, "listening on ws://127.0.0.1:%u", &port) != 1 ||
			    port == 0 || port > 65535)
				break;
			s->port = (unsigned short)port;
			snprintf(s->url, sizeof s->url, "ws://127.0.0.1:%u", port);
			return 0;
		}
		if (used == sizeof buf - 1)
			used = 0;
	}
	snprintf(err, errlen, "the built-in server did not start listening");
	return -1;
}

int cli_serve_child_start(struct cli_serve_child *s, unsigned max_calls,
			  char *err, size_t errlen)
{
	char max[16], self[4096];
	int fds[2];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	memset(s, 0, sizeof *s);
	s->out = -1;
	if (n <= 0 || make_key(s->key, sizeof s->key) < 0) {
		snprintf(err, errlen, "cannot find this program to run the "
				      "built-in server");
		return -1;
	}
	self[n] = '\0';
	snprintf(max, sizeof max, "%u", max_calls);
	if (pipe(fds) < 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the built-in server: %s",
			 strerror(errno));
		return -1;
	}
	s->pid = fork();
	if (s->pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execl(self, self, "serve", "--port", "0", "--quiet",
		      "--max-calls", max, "--api-key", s->key, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (s->pid < 0) {
		snprintf(err, errlen, "cannot start the built-in server: %s",
			 strerror(errno));
		close(fds[0]);
		s->pid = 0;
		return -1;
	}
	s->out = fds[0];
	if (wait_listening(s, err, errlen) < 0) {
		cli_serve_child_stop(s, NULL, 0);
		return -1;
	}
	fcntl(s->out, F_SETFL, fcntl(s->out, F_GETFL) | O_NONBLOCK);
	return 0;
}

void cli_serve_child_drain(struct cli_serve_child *s)
{
	char buf[4096];

	if (s->out >= 0)
		while (read(s->out, buf, sizeof buf) > 0)
			;
}

char *cli_serve_child_health(const struct cli_serve_child *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(s->port) };
	static const char req[] = "GET /healthz HTTP/1.0\r\n"
				  "Host: 127.0.0.1\r\n\r\n";
	char *buf = NULL, *body;
	size_t used = 0;
	int64_t until = now_ms() + HEALTH_TIMEOUT_MS;
	int fd = -1;

	if (!s->pid)
		return NULL;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	buf = malloc(HEALTH_MAX + 1);
	if (fd < 0 || !buf ||
	    connect(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    write(fd, req, sizeof req - 1) != (ssize_t)sizeof req - 1)
		goto fail;
	while (used < HEALTH_MAX && now_ms() < until) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, (int)(until - now_ms())) <= 0)
			break;
		n = read(fd, buf + used, HEALTH_MAX - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	body = strstr(buf, "\r\n\r\n");
	if (!body || strncmp(buf, "HTTP/1.", 7) || !strstr(buf, " 200 "))
		goto fail;
	memmove(buf, body + 4, strlen(body + 4) + 1);
	close(fd);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* The last line of its output that starts with "wvoice serve:". */
static void read_summary(int fd, char *summary, size_t cap)
{
	char buf[8192], *line, *end;
	size_t used = 0;
	ssize_t n;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	while ((n = read(fd, buf + used, sizeof buf - 1 - used)) > 0) {
		used += (size_t)n;
		if (used == sizeof buf - 1) { /* keep the tail */
			memmove(buf, buf + used / 2, used - used / 2);
			used -= used / 2;
		}
	}
	buf[used] = '\0';
	for (line = buf; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		if (!strncmp(line, "wvoice serve: ", 14))
			snprintf(summary, cap, "%s", line + 14);
	}
}

void cli_serve_child_stop(struct cli_serve_child *s, char *summary,
			  size_t cap)
{
	if (summary && cap)
		summary[0] = '\0';
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		if (summary && s->out >= 0)
			read_summary(s->out, summary, cap);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (s->out >= 0)
		close(s->out);
	s->pid = 0;
	s->out = -1;
}
