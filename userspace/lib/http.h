/* SPDX-License-Identifier: MIT */
/*
 * http.h: vigil's HTTP/1.1 transport for the fleet service, on libevent 2.1 (evhttp) with
 * OpenSSL (bufferevent_openssl): TLS 1.3 only, mutual authentication against one fleet CA,
 * bounded everything. docs/fleet-protocol.md says why these libraries.
 *
 * Server: listens on TCP with TLS (agents) and/or on a Unix socket without TLS (the local
 * operator's `vigil fleet`; the socket file's mode is the access control). A TLS client must
 * present a certificate that chains to the CA; its subject CN is the peer's name, handed to the
 * handler. Limits, each enforced by the server and counted in struct vigil_http_stats:
 *	- headers and body sizes (evhttp: 400 for headers -- libevent 2.1 has no 431 -- and 413
 *	  for a body, connection closed);
 *	- an idle timeout between requests, and a deadline per request from the connection's
 *	  accept (or the first byte of a later request) to the complete request, TLS handshake
 *	  included, so a peer that trickles bytes (slow loris) is dropped at the deadline however
 *	  it paces them;
 *	- a maximum number of open connections (beyond it new ones are closed at once);
 *	- a token bucket of requests per peer name (429 when empty).
 * Every rejection is reported through the log callback with the peer and the reason; one bad
 * peer never stalls the event loop for the others.
 *
 * Client (asynchronous, on the same event loop): POST to "host:port" over TLS 1.3, verifying
 * the server certificate against the CA and its CN (or a DNS SAN) against the expected name;
 * one persistent connection per peer, reused; a deadline per request; the reply body bounded.
 *
 * libvigil conventions: 0 or a negative errno; nothing here prints (the log callback does).
 * Not thread-safe: one event loop, one thread.
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct vigil_http_server;
struct vigil_http_client;
struct vigil_http_request;

/* A peer name is its certificate's one CN: [A-Za-z0-9._-], 1..64, not starting '.' or '-'. */
#define VIGIL_HTTP_PEER_MAX 64

/**
 * struct vigil_http_tls - PEM files of one TLS endpoint
 * @cert: this side's certificate (chain), PEM
 * @key: its private key, PEM
 * @ca: the CA certificate(s) the peer's certificate must chain to, PEM
 */
struct vigil_http_tls {
	const char *cert;
	const char *key;
	const char *ca;
};

/**
 * struct vigil_http_limits - the server's bounds; 0 in any field takes the default
 * @max_body: bytes of a request body (default 16 MiB)
 * @max_headers: bytes of a request's headers (default 8 KiB)
 * @idle_ms: a connection idle longer is closed (default 30 s)
 * @request_ms: deadline for one complete request (default 10 s)
 * @max_connections: open connections (default 20000)
 * @rate_per_s: requests per second per peer name (default 10)
 * @burst: the bucket's size (default 20)
 */
struct vigil_http_limits {
	size_t max_body;
	size_t max_headers;
	uint32_t idle_ms;
	uint32_t request_ms;
	uint32_t max_connections;
	uint32_t rate_per_s;
	uint32_t burst;
};

/**
 * struct vigil_http_stats - what the server refused, since it started
 * @tls_failed: handshakes that failed (no, or an untrusted, client certificate)
 * @too_large: requests over a size bound
 * @timed_out: connections dropped at the request deadline or idle timeout
 * @rate_limited: requests answered 429
 * @over_capacity: connections closed for max_connections
 * @requests: requests handed to the handler
 */
struct vigil_http_stats {
	uint64_t tls_failed;
	uint64_t too_large;
	uint64_t timed_out;
	uint64_t rate_limited;
	uint64_t over_capacity;
	uint64_t requests;
};

/* Log callback: @prio is a syslog priority (LOG_WARNING for rejections). */
typedef void (*vigil_http_log_fn)(void *arg, int prio, const char *msg);

/*
 * The handler gets every request; it must eventually answer it with vigil_http_reply(), now
 * or later from the same event loop (an asynchronous verification). If the client goes away
 * first, or the server is freed, the request stays valid until replied to (the reply is then
 * dropped). Reading on its connection is paused until the reply.
 */
typedef void (*vigil_http_handler_fn)(struct vigil_http_request *req, void *arg);

int vigil_http_server_new(struct event_base *base, const struct vigil_http_tls *tls,
			  const struct vigil_http_limits *limits, vigil_http_handler_fn handler,
			  vigil_http_log_fn log, void *arg, struct vigil_http_server **ret)
	__attribute__((warn_unused_result));
/* TLS listener on @host:@port (port 0: any; *@ret_port the one bound). Needs @tls. */
int vigil_http_server_listen(struct vigil_http_server *srv, const char *host, uint16_t port,
			     uint16_t *ret_port) __attribute__((warn_unused_result));
/*
 * Plain HTTP on a Unix socket at @path (replaced if a stale socket is there), mode @mode.
 * Requests there have no peer and no rate limit; the other bounds apply.
 */
int vigil_http_server_listen_unix(struct vigil_http_server *srv, const char *path, mode_t mode)
	__attribute__((warn_unused_result));
void vigil_http_server_stats(const struct vigil_http_server *srv, struct vigil_http_stats *ret);
void vigil_http_server_free(struct vigil_http_server *srv);

/* The request's method ("GET", "POST", "PUT", "DELETE"), path (no query), body. */
const char *vigil_http_method(const struct vigil_http_request *req);
const char *vigil_http_path(const struct vigil_http_request *req);
const uint8_t *vigil_http_body(const struct vigil_http_request *req, size_t *ret_len);
/* The client certificate's CN (TLS), or NULL on the Unix socket. */
const char *vigil_http_peer(const struct vigil_http_request *req);
/* Answer (and release) @req: @status, a JSON @body (may be NULL: empty). */
void vigil_http_reply(struct vigil_http_request *req, int status, const char *body);
/* Answer (and release) @req: @status with the error body of docs/fleet-protocol.md. */
void vigil_http_reply_error(struct vigil_http_request *req, int status, const char *error,
			    const char *detail);

/* Client completion: @status 0 when no reply came (@err says why: connect, TLS, timeout). */
typedef void (*vigil_http_done_fn)(void *arg, int status, const uint8_t *body, size_t len,
				   const char *err);

int vigil_http_client_new(struct event_base *base, const struct vigil_http_tls *tls,
			  struct vigil_http_client **ret) __attribute__((warn_unused_result));
/*
 * vigil_http_post() - POST @body to https://@host_port@path, expecting the server certificate
 * to name @peer; @done is called exactly once (also on failure, also from within this call
 * never: always from the event loop), with a reply of at most @max_reply bytes.
 */
int vigil_http_post(struct vigil_http_client *c, const char *host_port, const char *peer,
		    const char *path, const char *body, size_t len, uint32_t timeout_ms,
		    size_t max_reply, vigil_http_done_fn done, void *arg)
	__attribute__((warn_unused_result));
void vigil_http_client_free(struct vigil_http_client *c);

/*
 * Blocking requests (libcurl), for `vigil agent` in push mode and `vigil fleet`. A session keeps
 * its connection (and TLS session) open between calls, so a push agent attesting every few
 * seconds costs the verifier one handshake, not one per attestation.
 *
 * vigil_http_session_call() - @method "GET", "POST", "PUT" or "DELETE" to @url:
 * "https://host:port/path" (TLS 1.3; the server certificate must name the URL's host and chain
 * to the session's CA, or, in a session made without @tls, to the system's CAs),
 * "unix:/path/to.sock:/path" (plain HTTP on a Unix socket), or "http://host:port/path" (plain
 * HTTP, only in a session made without @tls: a webhook; -EINVAL otherwise). @body
 * may be NULL. *@ret_body (NUL-terminated, free()) is the reply of at most @max_reply bytes,
 * *@ret_status its status. Errors: -ECONNREFUSED, -ETIMEDOUT, -EPROTO (TLS, including a new
 * connection the server dropped before any reply: it refused our certificate), -EFBIG (reply
 * too large), -EIO; @err (may be NULL) says more.
 */
struct vigil_http_session;

int vigil_http_session_new(const struct vigil_http_tls *tls, struct vigil_http_session **ret)
	__attribute__((warn_unused_result));
int vigil_http_session_call(struct vigil_http_session *s, const char *method, const char *url,
			    const char *body, size_t len, uint32_t timeout_ms, size_t max_reply,
			    int *ret_status, char **ret_body, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void vigil_http_session_free(struct vigil_http_session *s);

#endif /* VIGIL_HTTP_H */
