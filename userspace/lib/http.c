// SPDX-License-Identifier: MIT
/*
 * http.c: the fleet service's HTTP/1.1 server on libevent's evhttp, with TLS 1.3 from
 * bufferevent_openssl (agents, mutually authenticated) and plain HTTP on a Unix socket (the
 * local operator), and the bounds http.h promises.
 *
 * evhttp parses and answers; what it lacks is done around it without replacing any of its
 * bufferevent callbacks (evhttp owns those):
 *	- Every connection gets a struct conn from the bufferevent callback (evhttp_set_bevcb),
 *	  which runs at accept. The conn holds a reference on the bufferevent, so it can always
 *	  look at it; it finds the evhttp_connection through bufferevent_getcb() (evhttp's
 *	  callback argument) as soon as it runs again ("attach"), and hangs its close callback on
 *	  it. evhttp calls that callback from evhttp_connection_free(); the conn then drops its
 *	  reference and is freed. A NULL callback argument means evhttp let go before the attach:
 *	  the conn ends there. Conns are found from a request by their bufferevent (a hash).
 *	- One timer per conn is the request deadline (armed at accept, and again at the first
 *	  byte of each further request, seen by a callback on the input evbuffer) or, after a
 *	  reply, the idle timeout. It expires by shutdown(fd, SHUT_RDWR): evhttp sees the error
 *	  and frees the connection itself. evhttp's own timeouts are not used.
 *	- Connections beyond max_connections are shut down by that timer at once (evhttp cannot
 *	  refuse one in its bufferevent callback: a NULL bufferevent makes it use a plain one).
 *	- TLS failures are known from the verify and info callbacks (certificate error, alert
 *	  sent or received) and the bufferevent's stored OpenSSL errors; a connection that ends
 *	  before a usable handshake, and that we did not drop, counts as tls_failed and is logged
 *	  with the peer's address and that reason. The client's CN becomes the peer name at the
 *	  end of the handshake; a certificate without exactly one valid CN is refused there.
 *	- evhttp answers size violations itself (413 for a body, 400 for headers: libevent 2.1
 *	  has no 431) without calling us; a callback on the output evbuffer sees every reply that
 *	  we did not write and counts 413, and 400 after more than max_headers bytes, as
 *	  too_large.
 * A request handed to the handler has reading disabled on its connection until the reply, so
 * a client cannot pile up input (pipelined requests, which evhttp would buffer unparsed)
 * while its request is being answered and no deadline runs. If the client
 * goes away, evhttp detaches the request from the connection and frees it when it is
 * answered; the struct vigil_http_request learns through its conn's close callback.
 *
 * Invariants: a request reaches the handler only over TLS with a verified client certificate
 * whose CN passed vigil's device-name rule, or over the Unix socket (peer NULL); every
 * request handed out is released exactly once, by vigil_http_reply(), even after the server
 * is freed; the server never prints (the log callback does). Not thread-safe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "http.h"
#include "http_internal.h"
#include "proto.h"

#define CONN_BUCKETS 4096u
#define RATE_BUCKETS 4096u
#define RATE_MAX 65536u /* peers whose bucket is not full; idle ones are evicted */
#define ADDR_MAX 64
#define WHY_MAX 160
#define STATUS_LINE 12 /* "HTTP/1.1 413" */

_Static_assert(offsetof(struct sockaddr_in, sin_port) == offsetof(struct sockaddr_in6, sin6_port),
	       "vigil_http_server_listen() reads either family's port as sin6_port");

enum phase { PH_REQUEST, PH_HANDLER, PH_IDLE };

struct conn {
	struct vigil_http_server *srv;
	struct conn *hnext; /* srv->by_bev chain */
	struct conn *prev, *next; /* srv->conns */
	struct bufferevent *bev; /* we hold a reference */
	struct event *timer;
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct vigil_http_request *req; /* the one the handler holds, if any */
	uint64_t start_ms; /* of the current request deadline */
	size_t req_bytes; /* received since the last request went to the handler */
	enum phase phase;
	bool tls, attached, over, dropped, handshake_ok, reply_ours;
	char peer[VIGIL_HTTP_PEER_MAX + 1];
	char addr[ADDR_MAX];
	char why[WHY_MAX]; /* the first TLS failure seen */
};

struct vigil_http_request {
	struct evhttp_request *er; /* NULL once evhttp freed it (server freed) */
	struct vigil_http_server *srv; /* NULL once the server is freed */
	struct conn *conn; /* NULL once the connection is gone */
	struct vigil_http_request *prev, *next; /* srv->reqs */
	const char *method;
	bool has_peer;
	char peer[VIGIL_HTTP_PEER_MAX + 1];
};

struct rate {
	struct rate *next;
	uint64_t last_ms;
	uint64_t milli; /* tokens * 1000 */
	char name[VIGIL_HTTP_PEER_MAX + 1];
};

struct vigil_http_server {
	struct event_base *base;
	SSL_CTX *ssl; /* NULL without TLS */
	struct evhttp *tls_http, *unix_http;
	struct vigil_http_limits lim;
	vigil_http_handler_fn handler;
	vigil_http_log_fn log;
	void *arg;
	struct vigil_http_stats stats;
	struct conn *conns;
	uint32_t nconns;
	struct vigil_http_request *reqs;
	uint32_t nrates;
	bool freeing;
	char *unix_path;
	struct conn *by_bev[CONN_BUCKETS];
	struct rate *rates[RATE_BUCKETS];
};

static void srv_log(struct vigil_http_server *srv, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void srv_log(struct vigil_http_server *srv, int prio, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!srv->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	srv->log(srv->arg, prio, msg);
}

/* ---- TLS contexts (shared with http_client.c) ---- */

static int file_readable(const char *path)
{
	if (!path || !*path)
		return -EINVAL;
	return access(path, R_OK) == 0 ? 0 : -errno;
}

/**
 * vigil_http_tls_ctx() - a TLS 1.3 context with this side's certificate and the peer's CA
 * @tls: PEM files: certificate chain, private key, CA certificate(s)
 * @server: a server context (requires and verifies a client certificate; session tickets
 *	    with a fixed session id context) or a client context (verifies the server)
 * @ret: on success, the context; SSL_CTX_free() it
 *
 * Only @tls->ca is trusted; the system's store is never loaded.
 *
 * Return: 0; -EINVAL for missing fields or files OpenSSL cannot use; -errno when a file
 * cannot be read; -ENOMEM.
 */
int vigil_http_tls_ctx(const struct vigil_http_tls *tls, bool server, SSL_CTX **ret)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	int r;

	if (!tls)
		return -EINVAL;
	if ((r = file_readable(tls->cert)) < 0 || (r = file_readable(tls->key)) < 0 ||
	    (r = file_readable(tls->ca)) < 0)
		return r;
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx)
		return -ENOMEM;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, tls->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, tls->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, tls->ca, NULL) != 1)
		return -EINVAL;
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (server) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(tls->ca);

		if (!names)
			return -EINVAL;
		SSL_CTX_set_client_CA_list(ctx, names);
		/* Resumed sessions carry the client certificate; OpenSSL needs a context id. */
		if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"vigil", 5) != 1)
			return -ENOMEM;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
			   NULL);
	ERR_clear_error();
	*ret = TAKE_PTR(ctx);
	return 0;
}

/* ---- peer names ---- */

/* vigil's device-name rule (store.h): [A-Za-z0-9._-], 1..64, not starting with '.' or '-'. */
static bool name_valid(const unsigned char *s, size_t len)
{
	if (len < 1 || len > VIGIL_HTTP_PEER_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* The subject's one CN, if it is a valid name; a string type whose bytes are its characters. */
static int cert_cn(X509 *cert, char *buf, size_t size)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	const ASN1_STRING *s;
	int type, len;

	if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return -EINVAL;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	type = ASN1_STRING_type(s);
	len = ASN1_STRING_length(s);
	if ((type != V_ASN1_UTF8STRING && type != V_ASN1_PRINTABLESTRING &&
	     type != V_ASN1_IA5STRING) ||
	    len < 1 || (size_t)len >= size || !name_valid(ASN1_STRING_get0_data(s), (size_t)len))
		return -EINVAL;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
	buf[len] = '\0';
	return 0;
}

/* ---- connections ---- */

static size_t conn_bucket(const struct bufferevent *bev)
{
	return (size_t)(((uint64_t)(uintptr_t)bev * 0x9e3779b97f4a7c15ull) >> 52) % CONN_BUCKETS;
}

static struct conn *conn_find(struct vigil_http_server *srv, const struct bufferevent *bev)
{
	struct conn *c = srv->by_bev[conn_bucket(bev)];

	while (c && c->bev != bev)
		c = c->hnext;
	return c;
}

static void conn_unlink(struct conn *c)
{
	struct vigil_http_server *srv = c->srv;
	struct conn **pp = &srv->by_bev[conn_bucket(c->bev)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	c->srv = NULL;
}

static void note_addr(struct conn *c, int fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned int port = 0;

	if (c->addr[0] || fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	} else {
		snprintf(c->addr, sizeof(c->addr), "unix");
		return;
	}
	snprintf(c->addr, sizeof(c->addr), "%s:%u", host, port);
}

static const char *conn_who(const struct conn *c)
{
	return c->peer[0] ? c->peer : c->addr[0] ? c->addr : "?";
}

/* Make evhttp notice nothing but a dead socket: it frees the connection itself. */
static void conn_drop(struct conn *c)
{
	int fd = (int)bufferevent_getfd(c->bev);

	c->dropped = true;
	if (fd >= 0)
		(void)shutdown(fd, SHUT_RDWR);
}

static void tls_failure_reason(struct conn *c)
{
	unsigned long e;

	if (c->why[0])
		return;
	e = bufferevent_get_openssl_error(c->bev);
	if (e) {
		char buf[WHY_MAX - 16];

		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(c->why, sizeof(c->why), "OpenSSL: %s", buf);
	} else {
		snprintf(c->why, sizeof(c->why), "closed during the handshake");
	}
}

/* The connection is gone (or the server is): account for it, release the bufferevent. */
static void conn_end(struct conn *c)
{
	struct vigil_http_server *srv = c->srv;

	if (srv) {
		if (c->tls && !c->handshake_ok && !c->dropped && !srv->freeing) {
			tls_failure_reason(c);
			srv->stats.tls_failed++;
			srv_log(srv, LOG_WARNING, "%s: TLS handshake failed: %s",
				c->addr[0] ? c->addr : "?", c->why);
		}
		conn_unlink(c);
	}
	if (c->req) {
		c->req->conn = NULL;
		if (srv && srv->freeing) /* evhttp frees the request with its connection */
			c->req->er = NULL;
	}
	event_free(c->timer);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	if (c->tls)
		SSL_set_app_data(bufferevent_openssl_get_ssl(c->bev), NULL);
	bufferevent_decref(c->bev);
	free(c);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	conn_end(arg);
}

static void arm(struct conn *c, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

	event_add(c->timer, &tv);
}

/* Arm the request deadline with what is left of it since c->start_ms. */
static void arm_deadline(struct conn *c)
{
	uint64_t spent = vigil_http_now_ms() - c->start_ms;
	uint32_t ms = c->srv->lim.request_ms;

	arm(c, spent >= ms ? 0 : ms - (uint32_t)spent);
}

/*
 * Find the evhttp_connection (evhttp's callback argument on our bufferevent) and hang our
 * close callback on it. Return false if evhttp already freed it: then @c is freed too.
 */
static bool conn_attach(struct conn *c)
{
	struct vigil_http_server *srv = c->srv;
	void *evcon = NULL;

	if (c->attached)
		return true;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &evcon);
	if (!evcon) {
		conn_end(c);
		return false;
	}
	evhttp_connection_set_closecb(evcon, on_close, c);
	c->attached = true;
	note_addr(c, (int)bufferevent_getfd(c->bev));
	if (c->over) {
		srv->stats.over_capacity++;
		srv_log(srv, LOG_WARNING, "%s: connection refused: over %u connections", c->addr,
			srv->lim.max_connections);
		conn_drop(c);
	} else if (c->phase == PH_REQUEST) {
		arm_deadline(c);
	}
	return true;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's event_callback_fn */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct vigil_http_server *srv = c->srv;

	(void)fd;
	(void)what;
	if (!c->attached) {
		(void)conn_attach(c);
		return;
	}
	if (c->dropped || c->phase == PH_HANDLER)
		return;
	srv->stats.timed_out++;
	if (c->phase == PH_REQUEST)
		srv_log(srv, LOG_WARNING, "%s: dropped: no complete request within %u ms",
			conn_who(c), srv->lim.request_ms);
	else
		srv_log(srv, LOG_INFO, "%s: closed: idle for %u ms", conn_who(c), srv->lim.idle_ms);
	conn_drop(c);
}

/* Input arrived: the first byte of a request after a reply starts that request's deadline. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;

	(void)buf;
	if (!info->n_added)
		return;
	c->req_bytes += info->n_added;
	if (!conn_attach(c))
		return;
	if (c->phase == PH_IDLE && !c->dropped) {
		c->phase = PH_REQUEST;
		c->start_ms = vigil_http_now_ms();
		arm_deadline(c);
	}
}

/* A reply we did not write is evhttp's own rejection: count and log the size ones. */
static void on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	struct vigil_http_server *srv = c->srv;
	char line[STATUS_LINE + 1] = "";
	int status;

	if (c->reply_ours || info->orig_size || info->n_added < STATUS_LINE || !srv)
		return;
	if (evbuffer_copyout(buf, line, STATUS_LINE) != STATUS_LINE ||
	    strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return;
	status = (int)strtol(line + 9, NULL, 10);
	if (status == 413 || (status == 400 && c->req_bytes > srv->lim.max_headers)) {
		srv->stats.too_large++;
		srv_log(srv, LOG_WARNING, "%s: request refused: %s over %zu bytes", conn_who(c),
			status == 413 ? "body" : "headers",
			status == 413 ? srv->lim.max_body : srv->lim.max_headers);
	} else if (status >= 400) {
		srv_log(srv, LOG_WARNING, "%s: request refused by the HTTP parser: %d", conn_who(c),
			status);
	}
}

static struct bufferevent *conn_bev(struct vigil_http_server *srv, bool tls)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (!tls)
		return bufferevent_socket_new(srv->base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(srv->ssl);
	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(srv->base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev)
		SSL_free(ssl);
	return bev;
}

/*
 * evhttp's bufferevent callback, at accept. A NULL return makes evhttp use a plain
 * bufferevent; a request arriving that way finds no conn and is refused (on_request).
 */
static struct bufferevent *conn_new(struct vigil_http_server *srv, bool tls)
{
	struct conn *c = calloc(1, sizeof(*c));
	size_t b;

	if (!c)
		return NULL;
	c->bev = conn_bev(srv, tls);
	c->timer = c->bev ? evtimer_new(srv->base, on_timer, c) : NULL;
	if (c->timer) {
		c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
		c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), on_output, c);
	}
	if (!c->in_cb || !c->out_cb) {
		if (c->timer)
			event_free(c->timer);
		if (c->bev)
			bufferevent_free(c->bev);
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->tls = tls;
	if (tls)
		SSL_set_app_data(bufferevent_openssl_get_ssl(c->bev), c);
	bufferevent_incref(c->bev);
	b = conn_bucket(c->bev);
	c->hnext = srv->by_bev[b];
	srv->by_bev[b] = c;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	c->over = ++srv->nconns > srv->lim.max_connections;
	c->phase = PH_REQUEST;
	c->start_ms = vigil_http_now_ms();
	arm(c, 0); /* attach as soon as evhttp has set the connection up */
	return c->bev;
}

static struct bufferevent *on_accept_tls(struct event_base *base, void *arg)
{
	(void)base;
	return conn_new(arg, true);
}

static struct bufferevent *on_accept_unix(struct event_base *base, void *arg)
{
	(void)base;
	return conn_new(arg, false);
}

/* ---- TLS callbacks ---- */

static int on_verify(int ok, X509_STORE_CTX *store)
{
	const SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn *c = ssl ? SSL_get_app_data(ssl) : NULL;

	if (!ok && c && !c->why[0])
		snprintf(c->why, sizeof(c->why), "client certificate (depth %d): %s",
			 X509_STORE_CTX_get_error_depth(store),
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
	return ok;
}

static void handshake_done(struct conn *c, const SSL *ssl)
{
	struct vigil_http_server *srv = c->srv;
	X509 *cert = SSL_get0_peer_certificate(ssl);

	if (cert && cert_cn(cert, c->peer, sizeof(c->peer)) == 0) {
		c->handshake_ok = true;
		return;
	}
	c->peer[0] = '\0';
	srv->stats.tls_failed++;
	srv_log(srv, LOG_WARNING, "%s: TLS client refused: certificate without one valid CN",
		c->addr[0] ? c->addr : "?");
	conn_drop(c);
}

static void on_tls_info(const SSL *ssl, int where, int ret)
{
	struct conn *c = SSL_get_app_data(ssl);

	if (!c || !c->srv)
		return;
	if (where & SSL_CB_HANDSHAKE_START)
		note_addr(c, SSL_get_fd(ssl));
	if ((where & SSL_CB_ALERT) && !c->why[0])
		snprintf(c->why, sizeof(c->why), "TLS alert %s: %s (%d)",
			 (where & SSL_CB_WRITE) ? "sent" : "received",
			 SSL_alert_desc_string_long(ret), ret & 0xff);
	if ((where & SSL_CB_HANDSHAKE_DONE) && !c->handshake_ok && !c->dropped)
		handshake_done(c, ssl);
}

/* ---- requests ---- */

static void send_json(struct conn *c, struct evhttp_request *er, int status, const char *body,
		      bool close)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(er);

	evhttp_add_header(h, "Content-Type", "application/json");
	if (close)
		evhttp_add_header(h, "Connection", "close");
	if (body)
		evbuffer_add(evhttp_request_get_output_buffer(er), body, strlen(body));
	if (c)
		c->reply_ours = true;
	evhttp_send_reply(er, status, NULL, NULL);
	if (c)
		c->reply_ours = false;
}

/* After a reply: the connection idles until the next request's first byte. */
static void conn_replied(struct conn *c)
{
	c->req = NULL;
	c->req_bytes = 0;
	if (c->dropped)
		return;
	c->phase = PH_IDLE;
	arm(c, c->srv->lim.idle_ms);
}

static size_t rate_bucket(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % RATE_BUCKETS;
}

/* Refill @r up to @now; true if the bucket is then full (the entry carries no state). */
static bool rate_refill(const struct vigil_http_limits *lim, struct rate *r, uint64_t now)
{
	uint64_t cap = (uint64_t)lim->burst * 1000u, elapsed = now - r->last_ms;

	if (elapsed > (1ull << 31))
		elapsed = 1ull << 31;
	r->milli += elapsed * lim->rate_per_s;
	if (r->milli > cap)
		r->milli = cap;
	r->last_ms = now;
	return r->milli == cap;
}

static void rate_evict_idle(struct vigil_http_server *srv, uint64_t now)
{
	for (size_t b = 0; b < RATE_BUCKETS; b++) {
		struct rate **pp = &srv->rates[b];

		while (*pp) {
			struct rate *r = *pp;

			if (rate_refill(&srv->lim, r, now)) {
				*pp = r->next;
				free(r);
				srv->nrates--;
			} else {
				pp = &r->next;
			}
		}
	}
}

static void rate_evict_all(struct vigil_http_server *srv)
{
	for (size_t b = 0; b < RATE_BUCKETS; b++) {
		while (srv->rates[b]) {
			struct rate *r = srv->rates[b];

			srv->rates[b] = r->next;
			free(r);
		}
	}
	srv->nrates = 0;
}

/* Take a token for @name; false (and *ret_wait_ms) when its bucket is empty or no room. */
static bool rate_take(struct vigil_http_server *srv, const char *name, uint64_t *ret_wait_ms)
{
	uint64_t now = vigil_http_now_ms();
	size_t b = rate_bucket(name);
	struct rate *r = srv->rates[b];

	while (r && strcmp(r->name, name) != 0)
		r = r->next;
	if (!r) {
		if (srv->nrates >= RATE_MAX)
			rate_evict_idle(srv, now);
		r = srv->nrates < RATE_MAX ? calloc(1, sizeof(*r)) : NULL;
		if (!r) {
			*ret_wait_ms = 1000;
			return false;
		}
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->milli = (uint64_t)srv->lim.burst * 1000u;
		r->last_ms = now;
		r->next = srv->rates[b];
		srv->rates[b] = r;
		srv->nrates++;
	}
	rate_refill(&srv->lim, r, now);
	if (r->milli < 1000) {
		*ret_wait_ms = (1000 - r->milli + srv->lim.rate_per_s - 1) / srv->lim.rate_per_s;
		return false;
	}
	r->milli -= 1000;
	return true;
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return NULL;
	}
}

/* Refuse what must not reach the handler; true if @er was answered. */
static bool refuse(struct vigil_http_server *srv, struct conn *c, struct evhttp_request *er)
{
	char body[96];
	uint64_t wait_ms;

	if (c->over || c->dropped || (c->tls && !c->handshake_ok) ||
	    !method_name(evhttp_request_get_command(er))) {
		send_json(c, er, 403, "{\"error\":\"refused\"}", true);
		return true;
	}
	if (!c->tls || rate_take(srv, c->peer, &wait_ms))
		return false;
	srv->stats.rate_limited++;
	srv_log(srv, LOG_WARNING, "%s: request refused: over %u requests/s (burst %u)", c->peer,
		srv->lim.rate_per_s, srv->lim.burst);
	snprintf(body, sizeof(body), "{\"error\":\"rate_limited\",\"retry_after_ms\":%llu}",
		 (unsigned long long)wait_ms);
	send_json(c, er, 429, body, false);
	conn_replied(c);
	return true;
}

static void on_request(struct evhttp_request *er, void *arg)
{
	struct vigil_http_server *srv = arg;
	struct bufferevent *bev =
		evhttp_connection_get_bufferevent(evhttp_request_get_connection(er));
	struct conn *c = conn_find(srv, bev);
	struct vigil_http_request *r;

	if (!c || !conn_attach(c)) {
		send_json(NULL, er, 500, "{\"error\":\"internal\"}", true);
		return;
	}
	event_del(c->timer);
	c->phase = PH_HANDLER;
	bufferevent_disable(bev, EV_READ);
	if (refuse(srv, c, er))
		return;
	r = calloc(1, sizeof(*r));
	if (!r) {
		send_json(c, er, 503, "{\"error\":\"out_of_memory\"}", true);
		return;
	}
	r->er = er;
	r->srv = srv;
	r->conn = c;
	r->method = method_name(evhttp_request_get_command(er));
	r->has_peer = c->tls;
	memcpy(r->peer, c->peer, sizeof(r->peer));
	r->next = srv->reqs;
	if (srv->reqs)
		srv->reqs->prev = r;
	srv->reqs = r;
	c->req = r;
	srv->stats.requests++;
	srv->handler(r, srv->arg);
}

/**
 * vigil_http_method() - the request's method
 * @req: a request handed to the handler
 *
 * Return: "GET", "POST", "PUT" or "DELETE" (evhttp refuses every other method).
 */
const char *vigil_http_method(const struct vigil_http_request *req)
{
	return req->method;
}

/**
 * vigil_http_path() - the request's path, without the query
 * @req: a request handed to the handler
 *
 * Return: the path as sent (not percent-decoded); "" if the server was freed meanwhile.
 */
const char *vigil_http_path(const struct vigil_http_request *req)
{
	const struct evhttp_uri *uri = req->er ? evhttp_request_get_evhttp_uri(req->er) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	return path ? path : "";
}

/**
 * vigil_http_body() - the request's body
 * @req: a request handed to the handler
 * @ret_len: its length
 *
 * Return: the body (at most the server's max_body bytes), valid until the reply; not
 * NUL-terminated; an empty body is a valid pointer with length 0.
 */
const uint8_t *vigil_http_body(const struct vigil_http_request *req, size_t *ret_len)
{
	struct evbuffer *in = req->er ? evhttp_request_get_input_buffer(req->er) : NULL;
	size_t len = in ? evbuffer_get_length(in) : 0;
	const uint8_t *p = len ? evbuffer_pullup(in, -1) : NULL;

	*ret_len = p ? len : 0;
	return p ? p : (const uint8_t *)"";
}

/**
 * vigil_http_peer() - who sent the request
 * @req: a request handed to the handler
 *
 * Return: the CN of the client certificate (TLS; a valid device name), or NULL for a request
 * on the Unix socket.
 */
const char *vigil_http_peer(const struct vigil_http_request *req)
{
	return req->has_peer ? req->peer : NULL;
}

/**
 * vigil_http_reply() - answer a request and release it
 * @req: a request handed to the handler; invalid after this call
 * @status: the HTTP status
 * @body: a JSON text, or NULL for an empty body
 *
 * The reply has Content-Type application/json. If the client went away, or the server was
 * freed, the reply is dropped and only the request is released.
 */
void vigil_http_reply(struct vigil_http_request *req, int status, const char *body)
{
	struct vigil_http_server *srv = req->srv;

	if (req->er)
		send_json(req->conn, req->er, status, body, false);
	if (req->conn)
		conn_replied(req->conn);
	if (srv) {
		if (req->prev)
			req->prev->next = req->next;
		else
			srv->reqs = req->next;
		if (req->next)
			req->next->prev = req->prev;
	}
	free(req);
}

/**
 * vigil_http_reply_error() - answer (and release) @req with the protocol's error body
 * @req: the request
 * @status: the HTTP status (>= 400)
 * @error: the error code (docs/fleet-protocol.md "Errors")
 * @detail: a text for people, or NULL
 */
void vigil_http_reply_error(struct vigil_http_request *req, int status, const char *error,
			    const char *detail)
{
	_cleanup_free_ char *body = NULL;

	if (vigil_msg_error_format(error, detail, &body) < 0)
		body = NULL; /* still the status, with an empty body */
	vigil_http_reply(req, status, body);
}

/* ---- the server ---- */

static void limits_defaults(struct vigil_http_limits *l, const struct vigil_http_limits *in)
{
	static const struct vigil_http_limits def = {
		.max_body = 16u << 20,
		.max_headers = 8u << 10,
		.idle_ms = 30000,
		.request_ms = 10000,
		.max_connections = 20000,
		.rate_per_s = 10,
		.burst = 20,
	};

	*l = in ? *in : def;
	l->max_body = l->max_body ? l->max_body : def.max_body;
	l->max_headers = l->max_headers ? l->max_headers : def.max_headers;
	l->idle_ms = l->idle_ms ? l->idle_ms : def.idle_ms;
	l->request_ms = l->request_ms ? l->request_ms : def.request_ms;
	l->max_connections = l->max_connections ? l->max_connections : def.max_connections;
	l->rate_per_s = l->rate_per_s ? l->rate_per_s : def.rate_per_s;
	l->burst = l->burst ? l->burst : def.burst;
}

/* The server context, with the callbacks that note why a handshake failed and who it was. */
static int server_tls(struct vigil_http_server *srv, const struct vigil_http_tls *tls)
{
	int r;

	if (!tls)
		return 0;
	r = vigil_http_tls_ctx(tls, true, &srv->ssl);
	if (r < 0)
		return r;
	SSL_CTX_set_verify(srv->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, on_verify);
	SSL_CTX_set_info_callback(srv->ssl, on_tls_info);
	return 0;
}

/**
 * vigil_http_server_new() - a server on @base, not yet listening
 * @base: the event loop everything runs on
 * @tls: the server's certificate, key and the fleet CA (NULL: Unix socket only)
 * @limits: the bounds (NULL or 0 fields: defaults, see struct vigil_http_limits)
 * @handler: gets every request that passed the bounds
 * @log: gets every rejection (may be NULL)
 * @arg: for @handler and @log
 * @ret: on success, the server; vigil_http_server_free() it
 *
 * Return: 0, -EINVAL (no @base or @handler, unusable TLS files), -errno (unreadable files),
 * -ENOMEM.
 */
int vigil_http_server_new(struct event_base *base, const struct vigil_http_tls *tls,
			  const struct vigil_http_limits *limits, vigil_http_handler_fn handler,
			  vigil_http_log_fn log, void *arg, struct vigil_http_server **ret)
{
	struct vigil_http_server *srv;
	int r;

	if (!base || !handler)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->base = base;
	limits_defaults(&srv->lim, limits);
	if (srv->lim.max_body > (size_t)INT32_MAX || srv->lim.max_headers > (size_t)INT32_MAX) {
		free(srv);
		return -EINVAL;
	}
	srv->handler = handler;
	srv->log = log;
	srv->arg = arg;
	r = server_tls(srv, tls);
	if (r < 0) {
		free(srv);
		return r;
	}
	*ret = srv;
	return 0;
}

static struct evhttp *server_http(struct vigil_http_server *srv, bool tls)
{
	struct evhttp *http = evhttp_new(srv->base);

	if (!http)
		return NULL;
	evhttp_set_max_body_size(http, (ev_ssize_t)srv->lim.max_body);
	evhttp_set_max_headers_size(http, (ev_ssize_t)srv->lim.max_headers);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
						 EVHTTP_REQ_DELETE);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_gencb(http, on_request, srv);
	evhttp_set_bevcb(http, tls ? on_accept_tls : on_accept_unix, srv);
	return http;
}

/**
 * vigil_http_server_listen() - accept TLS connections on @host:@port
 * @srv: a server made with TLS files
 * @host: a numeric address ("127.0.0.1", "::", "0.0.0.0")
 * @port: the port, 0 for any
 * @ret_port: on success, the port bound (may be NULL)
 *
 * Return: 0; -EINVAL without TLS; -EADDRINUSE or -errno when the socket cannot be bound;
 * -ENOMEM.
 */
int vigil_http_server_listen(struct vigil_http_server *srv, const char *host, uint16_t port,
			     uint16_t *ret_port)
{
	struct evhttp_bound_socket *bound;
	/* big enough for either family; sin_port and sin6_port share their offset */
	struct sockaddr_in6 sa = { 0 };
	socklen_t len = sizeof(sa);

	if (!srv->ssl || !host)
		return -EINVAL;
	if (!srv->tls_http && !(srv->tls_http = server_http(srv, true)))
		return -ENOMEM;
	errno = 0;
	bound = evhttp_bind_socket_with_handle(srv->tls_http, host, port);
	if (!bound)
		return errno ? -errno : -EADDRINUSE;
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sa, &len) < 0)
		return -errno;
	if (ret_port)
		*ret_port = ntohs(sa.sin6_port);
	return 0;
}

/* Remove a stale socket at @path: one nobody accepts on. Anything else stays. */
static int unix_clear(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	_cleanup_close_ int fd = -1;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return -errno;
	return unlink(path) < 0 ? -errno : 0;
}

/* A listening Unix socket at @path with @mode, set before listen() so no one connects first. */
static int unix_socket(const char *path, mode_t mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	r = unix_clear(path, &sun);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -errno;
	if (chmod(path, mode) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		(void)unlink(path);
		return r;
	}
	return TAKE_FD(fd);
}

/**
 * vigil_http_server_listen_unix() - accept plain HTTP on a Unix socket
 * @srv: the server
 * @path: the socket's path; a stale socket there is replaced, anything else is an error
 * @mode: the socket file's mode (its access control), set before any client can connect
 *
 * Requests on it have no peer name and no rate limit; the other bounds apply. The file is
 * removed by vigil_http_server_free(). One Unix socket per server.
 *
 * Return: 0; -EEXIST (not a socket at @path), -EADDRINUSE (a server answers there),
 * -ENAMETOOLONG, -EBUSY (already listening on one), -errno, -ENOMEM.
 */
int vigil_http_server_listen_unix(struct vigil_http_server *srv, const char *path, mode_t mode)
{
	struct evconnlistener *l;
	int fd;

	if (!path || !*path)
		return -EINVAL;
	if (srv->unix_path)
		return -EBUSY;
	if (!srv->unix_http && !(srv->unix_http = server_http(srv, false)))
		return -ENOMEM;
	fd = unix_socket(path, mode);
	if (fd < 0)
		return fd;
	srv->unix_path = strdup(path);
	l = srv->unix_path ?
		    evconnlistener_new(srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, 0, fd) :
		    NULL;
	if (!l || !evhttp_bind_listener(srv->unix_http, l)) {
		if (l)
			evconnlistener_free(l);
		else
			close(fd);
		(void)unlink(path);
		free(TAKE_PTR(srv->unix_path));
		return -ENOMEM;
	}
	return 0;
}

/**
 * vigil_http_server_stats() - what the server refused so far
 * @srv: the server
 * @ret: the counters
 */
void vigil_http_server_stats(const struct vigil_http_server *srv, struct vigil_http_stats *ret)
{
	*ret = srv->stats;
}

/**
 * vigil_http_server_free() - close every connection and listener, release the server
 * @srv: the server, or NULL
 *
 * Requests the handler still holds stay valid: answering them only releases them.
 */
void vigil_http_server_free(struct vigil_http_server *srv)
{
	if (!srv)
		return;
	srv->freeing = true;
	if (srv->tls_http)
		evhttp_free(srv->tls_http);
	if (srv->unix_http)
		evhttp_free(srv->unix_http);
	/* Conns evhttp never let us attach to: their bufferevents are ours alone now. */
	for (struct conn *c = srv->conns, *next; c; c = next) {
		next = c->next;
		conn_end(c);
	}
	for (struct vigil_http_request *r = srv->reqs; r; r = r->next)
		r->srv = NULL;
	rate_evict_all(srv);
	if (srv->unix_path)
		(void)unlink(srv->unix_path);
	free(srv->unix_path);
	SSL_CTX_free(srv->ssl);
	free(srv);
}
