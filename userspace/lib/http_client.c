// SPDX-License-Identifier: MIT
/*
 * http_client.c: asynchronous HTTPS POSTs for verifierd's pull mode, on the server's event
 * loop: evhttp connections over bufferevent_openssl (TLS 1.3, our certificate presented, the
 * server's verified against the fleet CA and its name against the expected peer).
 *
 * A connection (struct pconn) serves one request at a time and is kept for the next POST to
 * the same host, port and peer name (keep-alive); a second concurrent POST there opens a
 * second connection. A bufferevent_openssl cannot reconnect (its SSL object is spent), so a
 * connection evhttp closed or reset is never reused: its close callback marks it, and a
 * zero-delay event ("reaper") frees it from the top of the loop, never from inside evhttp.
 *
 * Each POST (struct call) has one event: the deadline while in flight, then, once evhttp
 * reported the outcome, the delivery of @done from the top of the loop; so @done runs exactly
 * once and never inside vigil_http_post() (which can fail a connection synchronously). A
 * deadline cancels the request (evhttp then runs no callback) and delivers "timeout".
 *
 * Invariants: a call is in cl->calls from vigil_http_post() until its @done returned; its
 * request pointer is cleared as soon as evhttp owns or frees the request; a pconn is freed
 * only by its reaper or vigil_http_client_free(), with its close callback removed first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cleanup.h"
#include "hmap.h"
#include "http.h"
#include "http_internal.h"

#define HOST_MAX 255
#define ERR_MAX 256
#define REPLY_HEADERS_MAX (16u << 10)

struct pconn {
	struct vigil_http_client *cl;
	struct vigil_hnode node; /* in cl->by_peer, by host, port and peer */
	struct evhttp_connection *evcon;
	struct bufferevent *bev; /* evcon's */
	struct event *reaper;
	struct call *call; /* the request in flight, if any */
	bool closed;
	uint16_t port;
	char host[HOST_MAX + 1];
	char peer[HOST_MAX + 1];
};

struct call {
	struct vigil_http_client *cl;
	struct call *prev, *next;
	struct pconn *pc; /* NULL once the request is over */
	struct evhttp_request *req; /* NULL once evhttp is done with it */
	struct event *ev; /* the deadline, then the delivery */
	vigil_http_done_fn done;
	void *arg;
	size_t max_reply;
	uint32_t timeout_ms;
	bool finished, has_error;
	enum evhttp_request_error error;
	int status;
	uint8_t *body;
	size_t len;
	char err[ERR_MAX];
};

struct vigil_http_client {
	struct event_base *base;
	SSL_CTX *ssl;
	struct vigil_hmap by_peer; /* every connection */
	struct call *calls;
	bool freeing;
};

/* ---- connections ---- */

/* Close and free a connection already out of the table. */
static void pconn_release(struct pconn *pc)
{
	if (pc->evcon) {
		evhttp_connection_set_closecb(pc->evcon, NULL, NULL);
		evhttp_connection_free(pc->evcon); /* frees the bufferevent and its SSL */
	}
	if (pc->reaper)
		event_free(pc->reaper);
	free(pc);
}

static void pconn_free(struct pconn *pc)
{
	vigil_hmap_del(&pc->cl->by_peer, &pc->node);
	pconn_release(pc);
}

static bool pconn_drop(struct vigil_hnode *n, void *ctx)
{
	(void)ctx;
	pconn_release(vigil_hnode_entry(n, struct pconn, node));
	return true;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's event_callback_fn */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pconn_free(arg);
}

static void reap_later(struct pconn *pc)
{
	if (!event_pending(pc->reaper, EV_TIMEOUT, NULL))
		event_active(pc->reaper, EV_TIMEOUT, 0);
}

static void on_pconn_close(struct evhttp_connection *evcon, void *arg)
{
	struct pconn *pc = arg;

	(void)evcon;
	pc->closed = true;
	if (!pc->call)
		reap_later(pc);
}

/* The server certificate must name @peer: a DNS SAN, or the CN when it has none; or an IP. */
static struct bufferevent *tls_bev(struct vigil_http_client *cl, const char *peer)
{
	unsigned char ip[sizeof(struct in6_addr)];
	SSL *ssl = SSL_new(cl->ssl);
	struct bufferevent *bev;
	bool ok;

	if (!ssl)
		return NULL;
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, peer, ip) == 1 || inet_pton(AF_INET6, peer, ip) == 1)
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), peer) == 1;
	else
		ok = SSL_set1_host(ssl, peer) == 1 && SSL_set_tlsext_host_name(ssl, peer) == 1;
	bev = ok ? bufferevent_openssl_socket_new(cl->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						  BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS) :
		   NULL;
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* Our server closes without close_notify; the reply's length already delimits it. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* The connection table's key: host, port and peer name, each with its terminator. */
static uint64_t peer_hash(struct vigil_http_client *cl, const char *host, uint16_t port,
			  const char *peer)
{
	char key[2 * (HOST_MAX + 1) + 6];
	int n = snprintf(key, sizeof(key), "%s%c%u%c%s", host, 0, port, 0, peer);

	return vigil_hmap_hash(&cl->by_peer, key, n > 0 ? (size_t)n : 0);
}

static struct pconn *pconn_new(struct vigil_http_client *cl, const char *host, uint16_t port,
			       const char *peer, uint64_t hash)
{
	struct pconn *pc = calloc(1, sizeof(*pc));
	struct bufferevent *bev;

	if (!pc)
		return NULL;
	pc->cl = cl;
	pc->port = port;
	snprintf(pc->host, sizeof(pc->host), "%s", host);
	snprintf(pc->peer, sizeof(pc->peer), "%s", peer);
	pc->reaper = event_new(cl->base, -1, 0, on_reap, pc);
	bev = pc->reaper ? tls_bev(cl, peer) : NULL;
	pc->evcon = bev ? evhttp_connection_base_bufferevent_new(cl->base, NULL, bev, host, port) :
			  NULL;
	if (!pc->evcon) {
		if (bev)
			bufferevent_free(bev);
		if (pc->reaper)
			event_free(pc->reaper);
		free(pc);
		return NULL;
	}
	if (vigil_hmap_add(&cl->by_peer, &pc->node, hash) < 0) {
		evhttp_connection_free(pc->evcon);
		event_free(pc->reaper);
		free(pc);
		return NULL;
	}
	pc->bev = bev;
	evhttp_connection_set_closecb(pc->evcon, on_pconn_close, pc);
	evhttp_connection_set_retries(pc->evcon, 0);
	evhttp_connection_set_max_headers_size(pc->evcon, REPLY_HEADERS_MAX);
	return pc;
}

/* An idle, open connection to @host:@port naming @peer, or a new one. */
static struct pconn *pconn_get(struct vigil_http_client *cl, const char *host, uint16_t port,
			       const char *peer)
{
	uint64_t hash = peer_hash(cl, host, port, peer);

	for (struct vigil_hnode *e = vigil_hmap_first(&cl->by_peer, hash); e;
	     e = vigil_hmap_next(e)) {
		struct pconn *pc = vigil_hnode_entry(e, struct pconn, node);

		if (!pc->call && !pc->closed && pc->port == port && !strcmp(pc->host, host) &&
		    !strcmp(pc->peer, peer))
			return pc;
	}
	return pconn_new(cl, host, port, peer, hash);
}

/* ---- calls ---- */

static void call_deliver(struct call *call)
{
	struct vigil_http_client *cl = call->cl;

	if (call->prev)
		call->prev->next = call->next;
	else
		cl->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->done(call->arg, call->status, call->body, call->len, call->status ? NULL : call->err);
	event_free(call->ev);
	free(call->body);
	free(call);
}

/* The request is over (evhttp reported it, or we gave up): detach it from its connection. */
static void call_finish(struct call *call)
{
	struct pconn *pc = call->pc;

	call->finished = true;
	call->req = NULL;
	call->pc = NULL;
	if (pc) {
		pc->call = NULL;
		if (pc->closed)
			reap_later(pc);
	}
}

/* Why a request failed: evhttp's error, and what OpenSSL said about the handshake. */
static void describe_failure(struct call *call, const struct pconn *pc)
{
	static const char *const kinds[] = {
		[EVREQ_HTTP_TIMEOUT] = "timeout",
		[EVREQ_HTTP_EOF] = "connection failed or closed",
		[EVREQ_HTTP_INVALID_HEADER] = "invalid reply",
		[EVREQ_HTTP_BUFFER_ERROR] = "I/O error",
		[EVREQ_HTTP_REQUEST_CANCEL] = "cancelled",
		[EVREQ_HTTP_DATA_TOO_LONG] = "reply too large",
	};
	const char *kind = "connection failed";
	char tls[160] = "";
	unsigned long e = pc ? bufferevent_get_openssl_error(pc->bev) : 0;
	SSL *ssl = pc ? bufferevent_openssl_get_ssl(pc->bev) : NULL;
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (call->has_error && (size_t)call->error < sizeof(kinds) / sizeof(kinds[0]) &&
	    kinds[call->error])
		kind = kinds[call->error];
	if (vr != X509_V_OK)
		snprintf(tls, sizeof(tls), ": server certificate: %s",
			 X509_verify_cert_error_string(vr));
	else if (e)
		snprintf(tls, sizeof(tls), ": TLS: %s", ERR_reason_error_string(e));
	snprintf(call->err, sizeof(call->err), "%s%s", kind, tls);
}

static void on_error(enum evhttp_request_error error, void *arg)
{
	struct call *call = arg;

	call->has_error = true;
	call->error = error;
}

static void on_reply(struct evhttp_request *req, void *arg)
{
	struct call *call = arg;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	struct evbuffer *in = req ? evhttp_request_get_input_buffer(req) : NULL;
	size_t len = in ? evbuffer_get_length(in) : 0;

	if (call->finished)
		return;
	if (code > 0 && len <= call->max_reply) {
		call->body = malloc(len + 1);
		if (call->body) {
			evbuffer_copyout(in, call->body, len);
			call->body[len] = '\0';
			call->len = len;
			call->status = code;
		} else {
			snprintf(call->err, sizeof(call->err), "out of memory");
		}
	} else if (code > 0) {
		snprintf(call->err, sizeof(call->err), "reply over %zu bytes", call->max_reply);
	} else {
		describe_failure(call, call->pc);
	}
	call_finish(call);
	event_del(call->ev);
	event_active(call->ev, EV_TIMEOUT, 0);
}

/* The deadline (request still out), or the delivery (evhttp reported the outcome). */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's event_callback_fn */
static void on_call_event(evutil_socket_t fd, short what, void *arg)
{
	struct call *call = arg;

	(void)fd;
	(void)what;
	if (!call->finished) {
		struct evhttp_request *req = call->req;

		snprintf(call->err, sizeof(call->err), "timeout after %u ms", call->timeout_ms);
		call_finish(call);
		if (req)
			evhttp_cancel_request(req); /* runs no callback of ours but on_error */
	}
	call_deliver(call);
}

/* "host:port" or "[v6]:port" into @host and *@port. */
static int parse_host_port(const char *hp, char *host, size_t size, uint16_t *port)
{
	const char *colon = strrchr(hp, ':');
	const char *h = hp, *end = colon;
	char *e;
	unsigned long p;

	if (!colon)
		return -EINVAL;
	if (*hp == '[') {
		h = hp + 1;
		end = strchr(h, ']');
		if (!end || end + 1 != colon)
			return -EINVAL;
	}
	if (end == h || (size_t)(end - h) >= size)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &e, 10);
	if (errno || *e || e == colon + 1 || p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static struct evhttp_request *make_request(struct call *call, const char *host, const char *body,
					   size_t len)
{
	struct evhttp_request *req = evhttp_request_new(on_reply, call);
	struct evkeyvalq *h;

	if (!req)
		return NULL;
	evhttp_request_set_error_cb(req, on_error);
	h = evhttp_request_get_output_headers(req);
	if (evhttp_add_header(h, "Host", host) < 0 ||
	    evhttp_add_header(h, "Content-Type", "application/json") < 0 ||
	    evhttp_add_header(h, "Accept", "application/json") < 0 ||
	    (len && evbuffer_add(evhttp_request_get_output_buffer(req), body, len) < 0)) {
		evhttp_request_free(req);
		return NULL;
	}
	return req;
}

static int post_args_valid(const char *host_port, const char *peer, const char *path,
			   const char *body, size_t len, vigil_http_done_fn done)
{
	if (!host_port || !peer || !*peer || strlen(peer) > HOST_MAX || !path || path[0] != '/' ||
	    strpbrk(path, " \r\n") || (!body && len) || !done)
		return -EINVAL;
	return 0;
}

/* Hand @call's request to @pc's connection; any outcome is delivered from the loop. */
static void call_start(struct vigil_http_client *c, struct pconn *pc, struct call *call,
		       const char *path, const struct timeval *tv)
{
	pc->call = call;
	evhttp_connection_set_timeout_tv(pc->evcon, tv);
	evhttp_connection_set_max_body_size(pc->evcon, (ev_ssize_t)call->max_reply);
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	event_add(call->ev, tv);
	if (evhttp_make_request(pc->evcon, call->req, EVHTTP_REQ_POST, path) != 0 &&
	    !call->finished) {
		/* only on allocation failure in evhttp, which then freed the request itself */
		snprintf(call->err, sizeof(call->err), "cannot start the request");
		call_finish(call);
		event_del(call->ev);
		event_active(call->ev, EV_TIMEOUT, 0);
	}
}

/**
 * vigil_http_post() - POST a JSON body over TLS 1.3, asynchronously
 * @c: the client
 * @host_port: "host:port" or "[v6]:port"; a name is resolved with getaddrinfo (blocking the
 *	       loop): prefer numeric addresses
 * @peer: the name the server certificate must carry (DNS SAN, or CN without SANs; an IP
 *	  address is matched against IP SANs)
 * @path: the request path, starting with '/'
 * @body: the JSON body (may be NULL when @len is 0)
 * @len: its length
 * @timeout_ms: deadline for the whole exchange, connection and handshake included
 * @max_reply: largest reply body accepted
 * @done: called exactly once, from the event loop (never from within this call): with the
 *	  HTTP status and the reply body (NUL-terminated, valid during the call), or status 0
 *	  and a reason
 * @arg: for @done
 *
 * Return: 0 (@done will be called); -EINVAL, -ESHUTDOWN (client being freed), -ENOMEM (@done
 * will not be called).
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the order http.h fixes */
int vigil_http_post(struct vigil_http_client *c, const char *host_port, const char *peer,
		    const char *path, const char *body, size_t len, uint32_t timeout_ms,
		    size_t max_reply, vigil_http_done_fn done, void *arg)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	char host[HOST_MAX + 1];
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	struct call *call;
	struct pconn *pc;
	uint16_t port;
	int r;

	if ((r = post_args_valid(host_port, peer, path, body, len, done)) < 0 ||
	    (r = parse_host_port(host_port, host, sizeof(host), &port)) < 0)
		return r;
	if (c->freeing)
		return -ESHUTDOWN;
	if (!timeout_ms || max_reply > (size_t)INT32_MAX)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->ev = evtimer_new(c->base, on_call_event, call);
	pc = call->ev ? pconn_get(c, host, port, peer) : NULL;
	call->req = pc ? make_request(call, host, body, len) : NULL;
	if (!call->req) {
		if (call->ev)
			event_free(call->ev);
		free(call);
		return -ENOMEM;
	}
	*call = (struct call){ .cl = c,
			       .pc = pc,
			       .req = call->req,
			       .ev = call->ev,
			       .done = done,
			       .arg = arg,
			       .max_reply = max_reply,
			       .timeout_ms = timeout_ms };
	call_start(c, pc, call, path, &tv);
	return 0;
}

/**
 * vigil_http_client_new() - an HTTPS client on @base
 * @base: the event loop
 * @tls: this side's certificate and key (presented to servers) and the CA servers chain to
 * @ret: on success, the client; vigil_http_client_free() it
 *
 * Return: 0; -EINVAL (unusable files), -errno (unreadable files), -ENOMEM.
 */
int vigil_http_client_new(struct event_base *base, const struct vigil_http_tls *tls,
			  struct vigil_http_client **ret)
{
	struct vigil_http_client *cl;
	int r;

	if (!base || !tls)
		return -EINVAL;
	cl = calloc(1, sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	r = vigil_http_tls_ctx(tls, false, &cl->ssl);
	if (r < 0) {
		free(cl);
		return r;
	}
	cl->base = base;
	*ret = cl;
	return 0;
}

/**
 * vigil_http_client_free() - cancel what is in flight, close every connection
 * @c: the client, or NULL
 *
 * Every outstanding @done is called now (status 0, "cancelled" unless its outcome was already
 * known); it must not post on @c.
 */
void vigil_http_client_free(struct vigil_http_client *c)
{
	if (!c)
		return;
	c->freeing = true;
	for (struct call *call = c->calls, *next; call; call = next) {
		next = call->next;
		if (!call->finished) {
			struct evhttp_request *req = call->req;

			snprintf(call->err, sizeof(call->err), "cancelled");
			call_finish(call);
			if (req)
				evhttp_cancel_request(req);
		}
		call_deliver(call);
	}
	vigil_hmap_prune(&c->by_peer, pconn_drop, NULL);
	vigil_hmap_free(&c->by_peer);
	SSL_CTX_free(c->ssl);
	free(c);
}
