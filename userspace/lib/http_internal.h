/* SPDX-License-Identifier: MIT */
/*
 * http_internal.h: what http.c (server) and http_client.c (asynchronous client) share: the
 * TLS 1.3 context both build from a struct vigil_http_tls, and a monotonic clock.
 *
 * Invariants: a context made here has TLS 1.3 as its minimum and only version, trusts exactly
 * the CA file it was given (never the system's store), and verifies the peer; a server
 * context also requires a client certificate.
 */
#ifndef VIGIL_HTTP_INTERNAL_H
#define VIGIL_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "http.h"

int vigil_http_tls_ctx(const struct vigil_http_tls *tls, bool server, SSL_CTX **ret)
	__attribute__((warn_unused_result));

/* Milliseconds on the monotonic clock: deadlines and token buckets never jump with the date. */
static inline uint64_t vigil_http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void SSL_CTX_freep(SSL_CTX **p)
{
	SSL_CTX_free(*p);
}

#endif /* VIGIL_HTTP_INTERNAL_H */
