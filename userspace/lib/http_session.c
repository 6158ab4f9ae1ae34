// SPDX-License-Identifier: MIT
/*
 * http_session.c: blocking HTTP requests with libcurl, for `vigil agent` in push mode and
 * `vigil fleet`: HTTPS with TLS 1.3 and mutual authentication against the fleet CA, or plain
 * HTTP on a Unix socket ("unix:/path/to.sock:/http/path").
 *
 * A session is one curl easy handle. curl_easy_reset() before each call clears every option
 * but keeps the handle's live connections and TLS session cache, so consecutive calls reuse
 * one connection. libcurl's global initialisation runs once per process (pthread_once).
 *
 * Invariants: a session with TLS files trusts only their CA (the system's CA path and bundle
 * are switched off) and speaks only https and, on a Unix socket, http; a session without
 * them (webhooks, `vigil fleet`) also speaks plain http and verifies https servers against
 * the system's CAs; the server certificate must always name the URL's host; no redirects; a reply is never buffered beyond @max_reply bytes;
 * out-parameters are written only on success.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "http.h"

#define URL_MAX 4096

struct vigil_http_session {
	CURL *curl;
	char *cert, *key, *ca; /* NULL: Unix socket only */
};

struct reply {
	char *buf;
	size_t len, cap, max;
	bool over;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline void curl_slist_free_allp(struct curl_slist **p)
{
	curl_slist_free_all(*p);
}

/**
 * vigil_http_session_new() - a session for blocking requests
 * @tls: the client certificate, key and the CA the server must chain to; NULL for a session
 *	 that only talks to Unix sockets
 * @ret: on success, the session; vigil_http_session_free() it
 *
 * Return: 0, -EINVAL (incomplete @tls), -ENOMEM, -EIO (libcurl cannot initialise).
 */
int vigil_http_session_new(const struct vigil_http_tls *tls, struct vigil_http_session **ret)
{
	struct vigil_http_session *s;

	if (tls && (!tls->cert || !tls->key || !tls->ca))
		return -EINVAL;
	if (pthread_once(&curl_once, curl_init) != 0 || curl_init_rc != CURLE_OK)
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->curl = curl_easy_init();
	if (s->curl && tls) {
		s->cert = strdup(tls->cert);
		s->key = strdup(tls->key);
		s->ca = strdup(tls->ca);
	}
	if (!s->curl || (tls && (!s->cert || !s->key || !s->ca))) {
		vigil_http_session_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

/**
 * vigil_http_session_free() - close the session's connections and free it
 * @s: the session, or NULL
 */
void vigil_http_session_free(struct vigil_http_session *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->cert);
	free(s->key);
	free(s->ca);
	free(s);
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;

	if (len > r->max - r->len) {
		r->over = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *buf;

		while (cap < r->len + len + 1)
			cap *= 2;
		buf = realloc(r->buf, cap);
		if (!buf)
			return 0;
		r->buf = buf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	r->buf[r->len] = '\0';
	return len;
}

/* "unix:/path/to.sock:/http/path" into the socket path and "http://localhost/http/path". */
static int unix_url(const char *url, char *sock, size_t sock_size, char *http, size_t http_size)
{
	const char *path = url + strlen("unix:");
	const char *sep = strstr(path, ":/");

	if (*path != '/' || !sep || (size_t)(sep - path) >= sock_size)
		return -EINVAL;
	memcpy(sock, path, (size_t)(sep - path));
	sock[sep - path] = '\0';
	if ((size_t)snprintf(http, http_size, "http://localhost%s", sep + 1) >= http_size)
		return -EINVAL;
	return 0;
}

static int set_unix(CURL *c, const char *url, char *sock, size_t size, char *http, size_t http_size)
{
	int r = unix_url(url, sock, size, http, http_size);

	if (r < 0)
		return r;
	if (curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_URL, http) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK)
		return -EINVAL;
	return 0;
}

/* HTTPS, TLS 1.3: the fleet's CA and our certificate, or without them the system's CAs. */
static int set_https(struct vigil_http_session *s, const char *url)
{
	CURL *c = s->curl;

	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
			     (long)(CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_DEFAULT)) !=
		    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK)
		return -EINVAL;
	if (!s->ca)
		return 0;
	if (curl_easy_setopt(c, CURLOPT_CAINFO, s->ca) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLCERT, s->cert) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLKEY, s->key) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM") != CURLE_OK)
		return -EINVAL;
	return 0;
}

static int set_http(CURL *c, const char *url)
{
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK)
		return -EINVAL;
	return 0;
}

/*
 * The URL's scheme decides: "unix:" always; "https://" always (see set_https()); "http://"
 * only for a session without TLS files (a webhook), never for the fleet's own traffic.
 */
static int set_target(struct vigil_http_session *s, const char *url, char *sock, size_t size,
		      char *http, size_t http_size)
{
	if (strlen(url) > URL_MAX)
		return -EINVAL;
	if (!strncmp(url, "unix:", 5))
		return set_unix(s->curl, url, sock, size, http, http_size);
	if (!strncmp(url, "https://", 8))
		return set_https(s, url);
	if (!strncmp(url, "http://", 7) && !s->ca)
		return set_http(s->curl, url);
	return -EINVAL;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): vigil_http_session_call()'s order */
static int set_request(CURL *c, const char *method, const char *body, size_t len,
		       uint32_t timeout_ms, struct curl_slist *headers, struct reply *r,
		       char *errbuf)
{
	/* CURLOPT_NOSIGNAL stays off: curl then ignores SIGPIPE while it writes to a socket */
	if (curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, r) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
		return -EINVAL;
	if (!strcmp(method, "GET"))
		return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : -EINVAL;
	if (strcmp(method, "POST") != 0 &&
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK)
		return -EINVAL;
	if (!body && strcmp(method, "DELETE") == 0)
		return 0;
	if (curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "") != CURLE_OK)
		return -EINVAL;
	return 0;
}

/*
 * curl's result as an errno. A TLS 1.3 server refuses our certificate only after our side of
 * the handshake is complete: curl has sent the request by then and sees the alert on its next
 * read, or, when the server's close outran the alert, a reset or an empty reply. So a new
 * HTTPS connection that failed before any reply byte counts as refused by TLS.
 */
static int map_error(CURLcode rc, const struct reply *r, bool tls_refused)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		return r->over ? -EFBIG : -ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_USE_SSL_FAILED:
		return -EPROTO;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return tls_refused ? -EPROTO : -EIO;
	default:
		return -EIO;
	}
}

/* Did this call open a new TLS connection that failed before any reply byte came back? */
static bool tls_refused(CURL *c, const char *url)
{
	long connects = 0, header_bytes = 0;

	if (strncmp(url, "https://", 8) != 0)
		return false;
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &header_bytes);
	return connects > 0 && header_bytes == 0;
}

static bool method_valid(const char *m)
{
	return m && (!strcmp(m, "GET") || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
		     !strcmp(m, "DELETE"));
}

/**
 * vigil_http_session_call() - one blocking request
 * @s: the session
 * @method: "GET", "POST", "PUT" or "DELETE"
 * @url: "https://host:port/path", "unix:/path/to.sock:/path", or (a session without TLS
 *	 files only) "http://host:port/path"
 * @body: a JSON body, or NULL
 * @len: its length
 * @timeout_ms: deadline for the whole exchange (0: none)
 * @max_reply: largest reply body accepted
 * @ret_status: on success, the HTTP status
 * @ret_body: on success, the reply body, NUL-terminated; free() it
 * @err: on failure, what curl said (may be NULL)
 * @errlen: size of @err
 *
 * Return: 0; -EINVAL (bad arguments or URL, http:// in a session with TLS files), -ECONNREFUSED,
 * -ETIMEDOUT, -EPROTO (TLS: handshake, server certificate, or the server dropped a new
 * connection before replying: it refused our certificate), -EFBIG
 * (reply over @max_reply), -ENOMEM, -EIO (anything else).
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the order http.h fixes */
int vigil_http_session_call(struct vigil_http_session *s, const char *method, const char *url,
			    const char *body, size_t len, uint32_t timeout_ms, size_t max_reply,
			    int *ret_status, char **ret_body, char *err, size_t errlen)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", sock[108], http[URL_MAX + 32];
	struct reply r = { .max = max_reply };
	_cleanup_free_ char *reply = NULL;
	long status = 0;
	CURLcode rc;
	int ret;

	if (!method_valid(method) || !url || (!body && len))
		return -EINVAL;
	curl_easy_reset(s->curl);
	headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (headers)
		headers = curl_slist_append(headers, "Accept: application/json");
	if (!headers)
		return -ENOMEM;
	ret = set_target(s, url, sock, sizeof(sock), http, sizeof(http));
	if (ret < 0 ||
	    (ret = set_request(s->curl, method, body, len, timeout_ms, headers, &r, errbuf)) < 0)
		return ret;
	rc = curl_easy_perform(s->curl);
	reply = r.buf;
	/* the handle outlives this frame: leave it no pointer into it */
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	ret = map_error(rc, &r, rc != CURLE_OK && tls_refused(s->curl, url));
	if (ret < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s%s%s", curl_easy_strerror(rc),
				 errbuf[0] ? ": " : "", errbuf);
		return ret;
	}
	if (!reply && !(reply = strdup("")))
		return -ENOMEM;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	*ret_status = (int)status;
	*ret_body = TAKE_PTR(reply);
	return 0;
}
