// SPDX-License-Identifier: MIT
/*
 * test_http.c: unit tests of the fleet transport (lib/http.c, http_client.c,
 * http_session.c) over real sockets on 127.0.0.1 and a Unix socket.
 *
 * The group setup makes a test PKI with tests/fleet/certs (a fleet CA, verifierd's server
 * certificate, devices plc-1 and plc-2, a foreign CA with its own "plc-1") and starts a
 * server on its own event loop in a thread. Everything the server does happens on that
 * thread: the test asks it for its counters with GET /stats on the server's Unix socket (plain
 * HTTP, answered by the test's handler), and stops it through a pipe watched by the loop.
 * Tests that need other limits (rate, connections) start a second server the same way.
 *
 * Clients: the blocking session (libcurl) for ordinary calls, a raw OpenSSL client for what
 * libcurl will not do (no certificate, TLS 1.2, oversized headers, a trickle of bytes, a
 * disconnect in the middle), plain TCP for a silent peer, and the asynchronous client on an
 * event loop of the test thread. Every failure test is followed by a good request, so a server
 * that fell over fails too; run under ASan, the server's use-after-free would abort.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "http.h"

#ifndef VIGIL_FIXTURES
#error "VIGIL_FIXTURES must name tests/fixtures"
#endif

#define REQUEST_MS 1500
#define IDLE_MS 5000
#define MAX_BODY 4096
#define MAX_HEADERS 2048

struct server {
	struct event_base *base;
	struct vigil_http_server *srv;
	struct event *stop;
	pthread_t thread;
	int pipe[2];
	uint16_t port;
	char sock[96];
	char last_log[512];
	struct vigil_http_request *held; /* /hold: answered only after the server is freed */
};

static struct {
	char dir[64];
	char ca[96], cert[96], key[96];
	struct server main;
} g;

static void path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", g.dir, name);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the server thread ---- */

static void on_log(void *arg, int prio, const char *msg)
{
	struct server *s = arg;

	(void)prio;
	snprintf(s->last_log, sizeof(s->last_log), "%s", msg);
	if (getenv("VIGIL_TEST_VERBOSE"))
		fprintf(stderr, "# server: %s\n", msg);
}

static void reply_late(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	vigil_http_reply(arg, 200, "{\"late\":true}");
}

static void reply_stats(struct server *s, struct vigil_http_request *req)
{
	struct vigil_http_stats st;
	struct json_object *o = json_object_new_object();

	vigil_http_server_stats(s->srv, &st);
	json_object_object_add(o, "tls_failed", json_object_new_int64((int64_t)st.tls_failed));
	json_object_object_add(o, "too_large", json_object_new_int64((int64_t)st.too_large));
	json_object_object_add(o, "timed_out", json_object_new_int64((int64_t)st.timed_out));
	json_object_object_add(o, "rate_limited", json_object_new_int64((int64_t)st.rate_limited));
	json_object_object_add(o, "over_capacity",
			       json_object_new_int64((int64_t)st.over_capacity));
	json_object_object_add(o, "requests", json_object_new_int64((int64_t)st.requests));
	json_object_object_add(o, "last_log", json_object_new_string(s->last_log));
	vigil_http_reply(req, 200, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void reply_echo(struct vigil_http_request *req)
{
	struct json_object *o = json_object_new_object();
	const char *peer = vigil_http_peer(req);
	size_t len;

	(void)vigil_http_body(req, &len);
	json_object_object_add(o, "peer", peer ? json_object_new_string(peer) : NULL);
	json_object_object_add(o, "method", json_object_new_string(vigil_http_method(req)));
	json_object_object_add(o, "path", json_object_new_string(vigil_http_path(req)));
	json_object_object_add(o, "len", json_object_new_int64((int64_t)len));
	vigil_http_reply(req, 200, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void later(struct server *s, struct vigil_http_request *req, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (event_base_once(s->base, -1, EV_TIMEOUT, reply_late, req, &tv) < 0)
		vigil_http_reply(req, 500, NULL);
}

static void handler(struct vigil_http_request *req, void *arg)
{
	struct server *s = arg;
	const char *path = vigil_http_path(req);

	if (!strcmp(path, "/stats")) {
		reply_stats(s, req);
	} else if (!strcmp(path, "/late")) {
		later(s, req, 300);
	} else if (!strcmp(path, "/slow")) {
		later(s, req, 1200);
	} else if (!strcmp(path, "/hold") && !s->held) {
		s->held = req;
	} else if (!strcmp(path, "/big")) {
		static char big[8300];

		memset(big, 'x', sizeof(big) - 1);
		memcpy(big, "{\"x\":\"", 6);
		memcpy(big + sizeof(big) - 3, "\"}", 3);
		vigil_http_reply(req, 200, big);
	} else {
		reply_echo(req);
	}
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

/* A server with the certificate @who (a file stem in the PKI directory). */
static void server_start_as(struct server *s, const struct vigil_http_limits *lim, const char *name,
			    const char *who)
{
	char cert[96], key[96];
	struct vigil_http_tls tls = { .cert = cert, .key = key, .ca = g.ca };

	snprintf(cert, sizeof(cert), "%s/%s.pem", g.dir, who);
	snprintf(key, sizeof(key), "%s/%s.key", g.dir, who);

	memset(s, 0, sizeof(*s));
	s->base = event_base_new();
	assert_non_null(s->base);
	assert_int_equal(pipe2(s->pipe, O_CLOEXEC), 0);
	s->stop = event_new(s->base, s->pipe[0], EV_READ, on_stop, s->base);
	assert_int_equal(event_add(s->stop, NULL), 0);
	assert_int_equal(vigil_http_server_new(s->base, &tls, lim, handler, on_log, s, &s->srv), 0);
	assert_int_equal(vigil_http_server_listen(s->srv, "127.0.0.1", 0, &s->port), 0);
	assert_true(s->port > 0);
	snprintf(s->sock, sizeof(s->sock), "%s/%s.sock", g.dir, name);
	assert_int_equal(vigil_http_server_listen_unix(s->srv, s->sock, 0600), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_start(struct server *s, const struct vigil_http_limits *lim, const char *name)
{
	server_start_as(s, lim, name, "server");
}

/* Stop the loop, free the server; a held request is answered after (and only released). */
static int server_stop(struct server *s)
{
	struct stat st;
	int ok;

	if (!s->base)
		return 0;
	if (write(s->pipe[1], "x", 1) != 1 || pthread_join(s->thread, NULL) != 0)
		return -1;
	vigil_http_server_free(s->srv);
	ok = stat(s->sock, &st) < 0 && errno == ENOENT; /* the socket file is gone */
	if (s->held)
		vigil_http_reply(s->held, 200, "{}");
	event_free(s->stop);
	event_base_free(s->base);
	close(s->pipe[0]);
	close(s->pipe[1]);
	memset(s, 0, sizeof(*s));
	return ok ? 0 : -1;
}

/* ---- blocking calls ---- */

static int call(const struct vigil_http_tls *tls, const char *method, const char *url,
		const char *body, size_t max_reply, int *status, char **reply)
{
	struct vigil_http_session *sess;
	char err[256] = "";
	int r;

	assert_int_equal(vigil_http_session_new(tls, &sess), 0);
	r = vigil_http_session_call(sess, method, url, body, body ? strlen(body) : 0, 5000,
				    max_reply, status, reply, err, sizeof(err));
	if (r < 0 && getenv("VIGIL_TEST_VERBOSE"))
		fprintf(stderr, "# call %s: %d %s\n", url, r, err);
	vigil_http_session_free(sess);
	return r;
}

static const struct vigil_http_tls *device(const char *name)
{
	static char cert[96], key[96];
	static struct vigil_http_tls tls;

	snprintf(cert, sizeof(cert), "%s/%s.pem", g.dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", g.dir, name);
	tls = (struct vigil_http_tls){ .cert = cert, .key = key, .ca = g.ca };
	return &tls;
}

static void url(char *buf, size_t size, const struct server *s, const char *path)
{
	snprintf(buf, size, "https://localhost:%u%s", s->port, path);
}

/* A good device gets 200 from @s, and the handler saw its CN. */
static void good_call(const struct server *s)
{
	char u[128], *reply = NULL;
	int status = 0;

	url(u, sizeof(u), s, "/echo");
	assert_int_equal(call(device("plc-1"), "POST", u, "{\"a\":1}", 4096, &status, &reply), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(reply, "\"peer\":\"plc-1\""));
	free(reply);
}

static int64_t stat_of(const struct server *s, const char *name, char *last_log, size_t size)
{
	char u[160], *reply = NULL;
	struct json_object *o, *v;
	int status = 0;
	int64_t n;

	snprintf(u, sizeof(u), "unix:%s:/stats", s->sock);
	assert_int_equal(call(NULL, "GET", u, NULL, 65536, &status, &reply), 0);
	assert_int_equal(status, 200);
	o = json_tokener_parse(reply);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, name, &v));
	n = json_object_get_int64(v);
	if (last_log && json_object_object_get_ex(o, "last_log", &v))
		snprintf(last_log, size, "%s", json_object_get_string(v));
	json_object_put(o);
	free(reply);
	return n;
}

/* Wait up to 3 s for counter @name of @s to reach @want; return its last value. */
static int64_t wait_stat(const struct server *s, const char *name, int64_t want)
{
	uint64_t end = now_ms() + 3000;
	int64_t n;

	while ((n = stat_of(s, name, NULL, 0)) < want && now_ms() < end)
		usleep(20000);
	return n;
}

/* ---- raw clients ---- */

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 6 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* A TLS connection to @port with @tls's certificate (NULL: none), at most @max_version. */
static SSL *tls_open(uint16_t port, const struct vigil_http_tls *tls, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, g.ca, NULL), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	if (tls) {
		assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, tls->cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM), 1);
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	assert_non_null(ssl);
	SSL_set_fd(ssl, tcp_connect(port));
	SSL_set_tlsext_host_name(ssl, "localhost");
	return ssl;
}

static void tls_close(SSL *ssl)
{
	int fd = SSL_get_fd(ssl);

	SSL_free(ssl);
	close(fd);
}

/* Send @req over TLS and read the reply's status; -1 for any TLS or connection failure. */
static int tls_status(SSL *ssl, const char *req, size_t len)
{
	char buf[4096];
	int n, status;

	if (SSL_connect(ssl) != 1 || SSL_write(ssl, req, (int)len) != (int)len)
		return -1;
	n = SSL_read(ssl, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return sscanf(buf, "HTTP/1.1 %d", &status) == 1 ? status : -1;
}

static int raw_status(uint16_t port, const struct vigil_http_tls *tls, int max_version)
{
	static const char req[] = "GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n";
	SSL *ssl = tls_open(port, tls, max_version);
	int status = tls_status(ssl, req, strlen(req));

	tls_close(ssl);
	ERR_clear_error();
	return status;
}

/* Block until @fd is closed by the peer (read gives 0 or an error); ms it took, or -1. */
static int64_t wait_closed(int fd, int timeout_ms)
{
	uint64_t start = now_ms();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];

	while (poll(&p, 1, timeout_ms) == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return (int64_t)(now_ms() - start);
	}
	return -1;
}

/* ---- setup ---- */

static int setup(void **state)
{
	char cmd[512], fixtures[] = VIGIL_FIXTURES;
	char *slash = strrchr(fixtures, '/');
	struct vigil_http_limits lim = { .max_body = MAX_BODY,
					 .max_headers = MAX_HEADERS,
					 .idle_ms = IDLE_MS,
					 .request_ms = REQUEST_MS,
					 .rate_per_s = 1000,
					 .burst = 1000 };

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	strcpy(g.dir, "/tmp/vigil-test-http.XXXXXX");
	if (!mkdtemp(g.dir) || !slash)
		return -1;
	*slash = '\0';
	snprintf(cmd, sizeof(cmd), "%s/fleet/certs %s plc-1 plc-2 plc-3", fixtures, g.dir);
	if (system(cmd) != 0)
		return -1;
	path_in(g.ca, sizeof(g.ca), "ca.pem");
	path_in(g.cert, sizeof(g.cert), "server.pem");
	path_in(g.key, sizeof(g.key), "server.key");
	server_start(&g.main, &lim, "main");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	int r = server_stop(&g.main);

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g.dir);
	return system(cmd) == 0 && r == 0 ? 0 : -1;
}

/* ---- server: TLS and peers ---- */

static void test_good_client(void **state)
{
	struct vigil_http_session *sess;
	char u[128], *reply = NULL;
	int status = 0;

	(void)state;
	good_call(&g.main);
	/* one session, several calls and methods, one connection reused */
	assert_int_equal(vigil_http_session_new(device("plc-2"), &sess), 0);
	url(u, sizeof(u), &g.main, "/echo?x=1");
	for (int i = 0; i < 3; i++) {
		static const char *const methods[] = { "GET", "PUT", "DELETE" };

		assert_int_equal(vigil_http_session_call(sess, methods[i], u, NULL, 0, 5000, 4096,
							 &status, &reply, NULL, 0),
				 0);
		assert_int_equal(status, 200);
		assert_non_null(strstr(reply, "\"peer\":\"plc-2\""));
		assert_non_null(strstr(reply, methods[i]));
		assert_non_null(strstr(reply, "\"path\":\"\\/echo\""));
		free(reply);
	}
	vigil_http_session_free(sess);
}

static void test_no_client_cert(void **state)
{
	int64_t before = stat_of(&g.main, "tls_failed", NULL, 0);
	char log[512];

	(void)state;
	assert_int_equal(raw_status(g.main.port, NULL, 0), -1);
	assert_true(wait_stat(&g.main, "tls_failed", before + 1) == before + 1);
	stat_of(&g.main, "tls_failed", log, sizeof(log));
	assert_non_null(strstr(log, "127.0.0.1:"));
	assert_non_null(strstr(log, "TLS handshake failed"));
	good_call(&g.main);
}

static void test_foreign_ca(void **state)
{
	int64_t before = stat_of(&g.main, "tls_failed", NULL, 0);
	struct vigil_http_tls foreign = *device("foreign");
	char u[128], log[512], *reply = NULL;
	int status = 0;

	(void)state;
	url(u, sizeof(u), &g.main, "/echo");
	assert_int_equal(call(&foreign, "GET", u, NULL, 4096, &status, &reply), -EPROTO);
	assert_null(reply);
	assert_true(wait_stat(&g.main, "tls_failed", before + 1) == before + 1);
	stat_of(&g.main, "tls_failed", log, sizeof(log));
	assert_non_null(strstr(log, "client certificate"));
	good_call(&g.main);
}

static void test_tls12_refused(void **state)
{
	int64_t before = stat_of(&g.main, "tls_failed", NULL, 0);

	(void)state;
	assert_int_equal(raw_status(g.main.port, device("plc-1"), TLS1_2_VERSION), -1);
	assert_true(wait_stat(&g.main, "tls_failed", before + 1) == before + 1);
	/* the same client allowed TLS 1.3 is served: the refusal was the version */
	assert_int_equal(raw_status(g.main.port, device("plc-1"), 0), 200);
}

static void test_server_name_checked(void **state)
{
	char u[128], *reply = NULL;
	struct server s;
	int status = 0;

	(void)state;
	/* a server whose certificate (CN=plc-1, no SAN) does not name localhost */
	server_start_as(&s, NULL, "named", "plc-1");
	url(u, sizeof(u), &s, "/echo");
	assert_int_equal(call(device("plc-2"), "GET", u, NULL, 4096, &status, &reply), -EPROTO);
	assert_null(reply);
	assert_int_equal(server_stop(&s), 0);
	/* the main server's names: localhost (tested everywhere) and 127.0.0.1 */
	snprintf(u, sizeof(u), "https://127.0.0.1:%u/echo", g.main.port);
	assert_int_equal(call(device("plc-1"), "GET", u, NULL, 4096, &status, &reply), 0);
	assert_int_equal(status, 200);
	free(reply);
	reply = NULL;
	/* a session with TLS files never speaks plain HTTP */
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/echo", g.main.port);
	assert_int_equal(call(device("plc-1"), "GET", u, NULL, 4096, &status, &reply), -EINVAL);
	/* one without (webhooks) trusts the system's CAs, not the fleet's, and has no certificate */
	url(u, sizeof(u), &g.main, "/echo");
	assert_int_equal(call(NULL, "GET", u, NULL, 4096, &status, &reply), -EPROTO);
	assert_null(reply);
}

/* ---- server: sizes ---- */

static void test_body_too_large(void **state)
{
	int64_t before = stat_of(&g.main, "too_large", NULL, 0);
	char *body = malloc(MAX_BODY * 2 + 1), u[128], *reply = NULL;
	int status = 0, r;

	(void)state;
	assert_non_null(body);
	memset(body, ' ', MAX_BODY * 2);
	body[MAX_BODY * 2] = '\0';
	url(u, sizeof(u), &g.main, "/echo");
	r = call(device("plc-1"), "POST", u, body, 4096, &status, &reply);
	assert_true((r == 0 && status == 413) || r == -EIO);
	free(reply);
	assert_int_equal(wait_stat(&g.main, "too_large", before + 1), before + 1);
	/* exactly the bound is fine */
	body[MAX_BODY] = '\0';
	reply = NULL;
	assert_int_equal(call(device("plc-1"), "POST", u, body, 4096, &status, &reply), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(reply, "\"len\":4096"));
	free(reply);
	free(body);
	good_call(&g.main);
}

static void test_headers_too_large(void **state)
{
	int64_t before = stat_of(&g.main, "too_large", NULL, 0);
	static char req[MAX_HEADERS * 2 + 128];
	size_t pad = MAX_HEADERS * 2;
	SSL *ssl = tls_open(g.main.port, device("plc-1"), 0);
	int n, status;

	(void)state;
	n = sprintf(req, "GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Pad: ");
	memset(req + n, 'a', pad);
	memcpy(req + n + pad, "\r\n\r\n", 5);
	status = tls_status(ssl, req, strlen(req));
	assert_true(status == 400 || status == -1);
	tls_close(ssl);
	assert_int_equal(wait_stat(&g.main, "too_large", before + 1), before + 1);
	good_call(&g.main);
}

/* ---- server: deadlines ---- */

static void test_silent_peer_dropped(void **state)
{
	int64_t before = stat_of(&g.main, "timed_out", NULL, 0);
	int fd = tcp_connect(g.main.port);
	int64_t ms;

	(void)state;
	good_call(&g.main); /* served meanwhile */
	ms = wait_closed(fd, 5000);
	close(fd);
	assert_true(ms >= 0);
	assert_true(ms < REQUEST_MS + 1000);
	assert_true(wait_stat(&g.main, "timed_out", before + 1) >= before + 1);
}

static void test_slow_loris_dropped(void **state)
{
	static const char req[] = "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n";
	int64_t before = stat_of(&g.main, "timed_out", NULL, 0);
	SSL *ssl = tls_open(g.main.port, device("plc-3"), 0);
	uint64_t start;
	size_t i;

	(void)state;
	assert_int_equal(SSL_connect(ssl), 1);
	start = now_ms();
	/* one byte every 300 ms never completes a request; idle_ms alone would never fire */
	for (i = 0; i < sizeof(req) - 1; i++) {
		if (SSL_write(ssl, req + i, 1) != 1)
			break;
		if (i == 2)
			good_call(&g.main); /* others are served meanwhile */
		usleep(300000);
		if (now_ms() - start > REQUEST_MS + 2000)
			break;
	}
	assert_true(i < sizeof(req) - 1); /* the server cut it short */
	assert_true(now_ms() - start < REQUEST_MS + 1500);
	tls_close(ssl);
	ERR_clear_error();
	assert_true(wait_stat(&g.main, "timed_out", before + 1) >= before + 1);
	good_call(&g.main);
}

/* ---- server: asynchronous handlers ---- */

static void test_async_reply(void **state)
{
	char u[128], *reply = NULL;
	int status = 0;
	uint64_t start = now_ms();

	(void)state;
	url(u, sizeof(u), &g.main, "/late");
	assert_int_equal(call(device("plc-1"), "POST", u, "{}", 4096, &status, &reply), 0);
	assert_int_equal(status, 200);
	assert_string_equal(reply, "{\"late\":true}");
	assert_true(now_ms() - start >= 300);
	free(reply);
}

static void test_disconnect_before_reply(void **state)
{
	static const char get[] = "GET /late HTTP/1.1\r\nHost: localhost\r\n\r\n";
	static const char post[] = "POST /late HTTP/1.1\r\nHost: localhost\r\n"
				   "Content-Length: 2\r\n\r\n{}";
	static const char more[] = "GET /echo HTTP/1.1\r\nHo";
	SSL *a = tls_open(g.main.port, device("plc-1"), 0);
	SSL *b = tls_open(g.main.port, device("plc-2"), 0);
	SSL *c = tls_open(g.main.port, device("plc-3"), 0);

	(void)state;
	assert_int_equal(SSL_connect(a), 1);
	assert_int_equal(SSL_connect(b), 1);
	assert_int_equal(SSL_connect(c), 1);
	assert_int_equal(SSL_write(a, get, sizeof(get) - 1), (int)sizeof(get) - 1);
	assert_int_equal(SSL_write(b, post, sizeof(post) - 1), (int)sizeof(post) - 1);
	/* c: a request, then more bytes while the handler still holds it */
	assert_int_equal(SSL_write(c, get, sizeof(get) - 1), (int)sizeof(get) - 1);
	usleep(100000);
	assert_int_equal(SSL_write(c, more, sizeof(more) - 1), (int)sizeof(more) - 1);
	tls_close(a);
	tls_close(b);
	usleep(500000); /* the replies come for nobody */
	good_call(&g.main);
	tls_close(c);
	good_call(&g.main);
}

/* ---- server: Unix socket ---- */

static void test_unix_socket(void **state)
{
	char u[160], *reply = NULL;
	struct stat st;
	int status = 0;

	(void)state;
	assert_int_equal(stat(g.main.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(u, sizeof(u), "unix:%s:/echo", g.main.sock);
	assert_int_equal(call(NULL, "PUT", u, "{\"b\":2}", 4096, &status, &reply), 0);
	assert_int_equal(status, 200);
	assert_non_null(strstr(reply, "\"peer\":null"));
	assert_non_null(strstr(reply, "\"len\":7"));
	free(reply);
	/* a second server cannot take a live socket; a regular file is never removed */
	{
		struct vigil_http_server *srv;
		struct event_base *base = event_base_new();
		char file[96];
		FILE *f;

		assert_int_equal(vigil_http_server_new(base, NULL, NULL, handler, NULL, NULL, &srv),
				 0);
		assert_int_equal(vigil_http_server_listen_unix(srv, g.main.sock, 0600),
				 -EADDRINUSE);
		path_in(file, sizeof(file), "regular");
		f = fopen(file, "w");
		assert_non_null(f);
		fclose(f);
		assert_int_equal(vigil_http_server_listen_unix(srv, file, 0600), -EEXIST);
		assert_int_equal(vigil_http_server_listen(srv, "127.0.0.1", 0, NULL), -EINVAL);
		vigil_http_server_free(srv);
		event_base_free(base);
		assert_int_equal(stat(file, &st), 0);
	}
	/* the reply bound holds for the session too */
	snprintf(u, sizeof(u), "unix:%s:/big", g.main.sock);
	reply = NULL;
	assert_int_equal(call(NULL, "GET", u, NULL, 1024, &status, &reply), -EFBIG);
	assert_null(reply);
	snprintf(u, sizeof(u), "unix:%s/none.sock:/echo", g.dir);
	assert_int_equal(call(NULL, "GET", u, NULL, 1024, &status, &reply), -ECONNREFUSED);
}

/* ---- server: rate and connection limits (servers of their own) ---- */

static void test_rate_limited(void **state)
{
	struct vigil_http_limits lim = { .rate_per_s = 1, .burst = 3 };
	struct vigil_http_session *sess;
	struct server s;
	char u[128], *reply = NULL;
	int status = 0, ok = 0, limited = 0;

	(void)state;
	server_start(&s, &lim, "rate");
	assert_int_equal(vigil_http_session_new(device("plc-1"), &sess), 0);
	url(u, sizeof(u), &s, "/echo");
	for (int i = 0; i < 6; i++) {
		assert_int_equal(vigil_http_session_call(sess, "GET", u, NULL, 0, 5000, 4096,
							 &status, &reply, NULL, 0),
				 0);
		if (status == 200)
			ok++;
		if (status == 429) {
			limited++;
			assert_non_null(strstr(reply, "\"error\":\"rate_limited\""));
		}
		free(reply);
	}
	vigil_http_session_free(sess);
	assert_true(ok >= 3 && ok <= 4);
	assert_int_equal(ok + limited, 6);
	assert_int_equal(stat_of(&s, "rate_limited", NULL, 0), limited);
	/* buckets are per peer: another device is served at once */
	status = 0;
	assert_int_equal(call(device("plc-2"), "GET", u, NULL, 4096, &status, &reply), 0);
	assert_int_equal(status, 200);
	free(reply);
	assert_int_equal(server_stop(&s), 0);
}

static void test_max_connections(void **state)
{
	struct vigil_http_limits lim = { .max_connections = 2 };
	struct server s;
	SSL *a, *b;
	int fd;

	(void)state;
	server_start(&s, &lim, "cap");
	a = tls_open(s.port, device("plc-1"), 0);
	b = tls_open(s.port, device("plc-2"), 0);
	assert_int_equal(SSL_connect(a), 1);
	assert_int_equal(SSL_connect(b), 1);
	fd = tcp_connect(s.port);
	assert_true(wait_closed(fd, 2000) >= 0);
	close(fd);
	tls_close(a);
	tls_close(b);
	assert_int_equal(wait_stat(&s, "over_capacity", 1), 1);
	usleep(100000);
	good_call(&s);
	assert_int_equal(stat_of(&s, "over_capacity", NULL, 0), 1);
	assert_int_equal(server_stop(&s), 0);
}

/* A request the handler still holds when the server is freed: its reply only releases it. */
static void test_free_with_request_held(void **state)
{
	struct server s;
	SSL *ssl;
	static const char req[] = "GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n";

	(void)state;
	server_start(&s, NULL, "held");
	ssl = tls_open(s.port, device("plc-1"), 0);
	assert_int_equal(SSL_connect(ssl), 1);
	assert_int_equal(SSL_write(ssl, req, sizeof(req) - 1), (int)sizeof(req) - 1);
	assert_int_equal(wait_stat(&s, "requests", 2), 2); /* /hold, then this /stats */
	assert_int_equal(server_stop(&s), 0);
	tls_close(ssl);
}

/* ---- asynchronous client ---- */

struct outcome {
	bool called;
	int calls;
	int status;
	char body[256];
	char err[256];
	uint64_t at;
	struct event_base *base;
};

static void on_done(void *arg, int status, const uint8_t *body, size_t len, const char *err)
{
	struct outcome *o = arg;

	o->called = true;
	o->calls++;
	o->status = status;
	o->at = now_ms();
	snprintf(o->body, sizeof(o->body), "%.*s", (int)len, body ? (const char *)body : "");
	snprintf(o->err, sizeof(o->err), "%s", err ? err : "");
	event_base_loopbreak(o->base);
}

static void post_and_wait(struct vigil_http_client *cl, struct event_base *base,
			  const char *host_port, const char *peer, const char *path,
			  uint32_t timeout_ms, size_t max_reply, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->base = base;
	assert_int_equal(vigil_http_post(cl, host_port, peer, path, "{\"q\":1}", 7, timeout_ms,
					 max_reply, on_done, o),
			 0);
	assert_false(o->called); /* never from within vigil_http_post() */
	while (!o->called)
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
	assert_int_equal(o->calls, 1);
}

static void test_async_client(void **state)
{
	struct vigil_http_tls tls = { .cert = g.cert, .key = g.key, .ca = g.ca };
	struct event_base *base = event_base_new();
	struct vigil_http_client *cl;
	struct outcome o;
	char hp[64];

	(void)state;
	assert_non_null(base);
	assert_int_equal(vigil_http_client_new(base, &tls, &cl), 0);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", g.main.port);
	for (int i = 0; i < 3; i++) { /* the connection is reused */
		post_and_wait(cl, base, hp, "localhost", "/echo", 3000, 4096, &o);
		assert_int_equal(o.status, 200);
		assert_non_null(strstr(o.body, "\"peer\":\"verifierd\""));
		assert_non_null(strstr(o.body, "\"len\":7"));
	}
	post_and_wait(cl, base, hp, "127.0.0.1", "/late", 3000, 4096, &o);
	assert_int_equal(o.status, 200);
	assert_string_equal(o.body, "{\"late\":true}");
	vigil_http_client_free(cl);
	event_base_free(base);
}

static void test_async_client_failures(void **state)
{
	struct vigil_http_tls tls = { .cert = g.cert, .key = g.key, .ca = g.ca };
	struct event_base *base = event_base_new();
	struct vigil_http_client *cl;
	struct outcome o;
	char hp[64], dead[64];
	uint64_t start;

	(void)state;
	assert_non_null(base);
	assert_int_equal(vigil_http_client_new(base, &tls, &cl), 0);
	snprintf(hp, sizeof(hp), "127.0.0.1:%u", g.main.port);
	/* the wrong name */
	post_and_wait(cl, base, hp, "plc-9", "/echo", 3000, 4096, &o);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.err, "certificate"));
	/* nobody listening: a port bound and closed again */
	{
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);
		int l = socket(AF_INET, SOCK_STREAM, 0);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
		snprintf(dead, sizeof(dead), "127.0.0.1:%u", ntohs(sin.sin_port));
		close(l);
	}
	post_and_wait(cl, base, dead, "localhost", "/echo", 3000, 4096, &o);
	assert_int_equal(o.status, 0);
	assert_true(o.err[0] != '\0');
	/* a deadline */
	start = now_ms();
	post_and_wait(cl, base, hp, "localhost", "/slow", 400, 4096, &o);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.err, "timeout"));
	assert_true(o.at - start >= 350 && o.at - start < 1100);
	/* a reply over the bound */
	post_and_wait(cl, base, hp, "localhost", "/big", 3000, 1024, &o);
	assert_int_equal(o.status, 0);
	assert_non_null(strstr(o.err, "too large"));
	/* and after all that, still fine */
	post_and_wait(cl, base, hp, "localhost", "/echo", 3000, 4096, &o);
	assert_int_equal(o.status, 200);
	/* bad arguments: no callback promised */
	assert_int_equal(vigil_http_post(cl, "127.0.0.1", "localhost", "/", NULL, 0, 100, 10,
					 on_done, &o),
			 -EINVAL);
	assert_int_equal(vigil_http_post(cl, hp, "localhost", "nopath", NULL, 0, 100, 10, on_done,
					 &o),
			 -EINVAL);
	/* freeing with a call in flight calls it back, once */
	memset(&o, 0, sizeof(o));
	o.base = base;
	assert_int_equal(
		vigil_http_post(cl, hp, "localhost", "/slow", NULL, 0, 3000, 4096, on_done, &o), 0);
	vigil_http_client_free(cl);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.status, 0);
	event_base_free(base);
	usleep(1300000); /* let the server answer /slow before teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_client),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_foreign_ca),
		cmocka_unit_test(test_tls12_refused),
		cmocka_unit_test(test_server_name_checked),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_headers_too_large),
		cmocka_unit_test(test_async_reply),
		cmocka_unit_test(test_disconnect_before_reply),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_async_client),
		cmocka_unit_test(test_async_client_failures),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_free_with_request_held),
		cmocka_unit_test(test_silent_peer_dropped),
		cmocka_unit_test(test_slow_loris_dropped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
