// SPDX-License-Identifier: MIT
/*
 * tsa.c: RFC 3161 time-stamp tokens for archive entries: ask a time-stamping authority for
 * one (a TimeStampReq over the SHA-256 of the entry file, POSTed with libcurl), and check one
 * (granted, over these bytes, and, given the TSA's CA, signed by a time-stamping certificate
 * that chains to it).
 *
 * A request carries a random 64-bit nonce and asks for the TSA's certificate (certReq), so
 * the token can be checked later from the archive and a CA certificate alone. The signature
 * is checked by OpenSSL's TS_RESP_verify_response() with VERSION, SIGNATURE and IMPRINT; the
 * certificate chain is validated at the token's own genTime, so a token stays checkable after
 * the TSA's certificate expired (what an archive needs; a TSA key compromised later could
 * back-date tokens, which no offline check can tell). The imprint (in constant time) and the
 * nonce are also compared here, independently of OpenSSL's flags.
 *
 * libcurl initializes itself at the first curl_easy_init() (its own global state, not
 * libvigil's); a program calling this from several threads at once calls curl_global_init()
 * first, as libcurl asks.
 *
 * Invariants: a response is read up to VIGIL_ARCHIVE_TSR_MAX bytes and must be exactly one
 * DER TimeStampResp; only http:// and https:// URLs, no redirects; a check's outcome is an
 * enum vigil_tsa_verdict with a detail, an errno only when the check could not run; libvigil
 * prints nothing: OpenSSL's and curl's reasons go into @detail / @err.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "archive_internal.h"
#include "cleanup.h"

#define TSA_TIMEOUT_MS 10000L /* when the caller gives none */
#define REQUEST_MAX 256 /* bytes of our TimeStampReq: about 70 */

static inline void TS_REQ_freep(TS_REQ **p)
{
	TS_REQ_free(*p);
}

static inline void TS_RESP_freep(TS_RESP **p)
{
	TS_RESP_free(*p);
}

static inline void TS_VERIFY_CTX_freep(TS_VERIFY_CTX **p)
{
	TS_VERIFY_CTX_free(*p);
}

static inline void X509_STORE_freep(X509_STORE **p)
{
	X509_STORE_free(*p);
}

static inline void ASN1_INTEGER_freep(ASN1_INTEGER **p)
{
	ASN1_INTEGER_free(*p);
}

static inline void curl_easy_cleanupp(CURL **p)
{
	if (*p)
		curl_easy_cleanup(*p);
}

static inline void curl_slist_free_allp(struct curl_slist **p)
{
	curl_slist_free_all(*p);
}

/* OpenSSL's oldest queued reason (with its data, e.g. the X.509 verify error), then clear. */
static void openssl_reason(const char *what, char *buf, size_t size)
{
	const char *data = NULL;
	int flags = 0;
	unsigned long e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, size, "%s%s%s%s%s", what, reason ? ": " : "", reason ? reason : "",
		 data && *data && (flags & ERR_TXT_STRING) ? ": " : "",
		 data && (flags & ERR_TXT_STRING) ? data : "");
	ERR_clear_error();
}

/* ---- the CA ---- */

/* Every certificate of @pem in a store that validates chains as of @at. */
static int load_store(int64_t at, const uint8_t *pem, size_t len, X509_STORE **ret)
{
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	_cleanup_(BIO_freep) BIO *bio = NULL;
	size_t n = 0;
	X509 *x;

	if (len > ARCHIVE_TSA_CA_MAX || len > INT32_MAX)
		return -EFBIG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!store || !bio)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		int ok = X509_STORE_add_cert(store, x);

		X509_free(x);
		if (!ok)
			break;
		n++;
	}
	ERR_clear_error(); /* the end of the PEM text is queued as an error */
	if (!n)
		return -EBADMSG;
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)at);
	*ret = TAKE_PTR(store);
	return 0;
}

/**
 * vigil_tsa_ca_check() - whether a TSA CA bundle is usable
 * @ca_pem: PEM certificates
 * @ca_len: their length
 *
 * Return: 0; -EBADMSG (no certificate in it); -EFBIG (beyond 1 MiB); -ENOMEM.
 */
int vigil_tsa_ca_check(const uint8_t *ca_pem, size_t ca_len)
{
	X509_STORE *store = NULL;
	int r = load_store(0, ca_pem, ca_len, &store);

	X509_STORE_free(store);
	return r;
}

/* ---- checking a response ---- */

static int gen_time(const TS_TST_INFO *tst, int64_t *ret)
{
	const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return -EBADMSG;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

/* Granted, SHA-256 imprint equal to @digest, the nonce asked for (when given). */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the token, then what it must hold */
static int check_fields(TS_RESP *resp, const uint8_t digest[32], const ASN1_INTEGER *nonce,
			char *detail, size_t size)
{
	const TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	long status = si ? ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si)) : -1;
	TS_TST_INFO *tst = TS_RESP_get_tst_info(resp);
	const ASN1_OBJECT *alg = NULL;
	const ASN1_OCTET_STRING *msg;
	TS_MSG_IMPRINT *mi;

	if (status != 0 && status != 1) { /* granted, grantedWithMods */
		snprintf(detail, size, "the TSA did not grant a token (status %ld)", status);
		return VIGIL_TSA_BAD;
	}
	mi = tst ? TS_TST_INFO_get_msg_imprint(tst) : NULL;
	if (!mi) {
		snprintf(detail, size, "the response holds no token");
		return VIGIL_TSA_BAD;
	}
	X509_ALGOR_get0(&alg, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	msg = TS_MSG_IMPRINT_get_msg(mi);
	if (OBJ_obj2nid(alg) != NID_sha256 || ASN1_STRING_length(msg) != 32 ||
	    CRYPTO_memcmp(ASN1_STRING_get0_data(msg), digest, 32) != 0) {
		snprintf(detail, size,
			 "the token covers other bytes (its imprint is not the "
			 "SHA-256 of this entry file)");
		return VIGIL_TSA_BAD;
	}
	if (nonce && (!TS_TST_INFO_get_nonce(tst) ||
		      ASN1_INTEGER_cmp(TS_TST_INFO_get_nonce(tst), nonce) != 0)) {
		snprintf(detail, size, "the token's nonce is not the request's");
		return VIGIL_TSA_BAD;
	}
	return VIGIL_TSA_VALID;
}

/* OpenSSL's own check: version and imprint, and the signature when a CA is given. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the token, then what it must hold */
static int check_signed(TS_RESP *resp, const uint8_t digest[32], const uint8_t *ca_pem,
			size_t ca_len, int64_t at, char *detail, size_t size)
{
	_cleanup_(TS_VERIFY_CTX_freep) TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
	unsigned char *imprint = OPENSSL_memdup(digest, 32);
	int flags = TS_VFY_VERSION | TS_VFY_IMPRINT;
	X509_STORE *store = NULL;
	int r;

	if (!ctx || !imprint) {
		OPENSSL_free(imprint);
		return -ENOMEM;
	}
	TS_VERIFY_CTX_set_imprint(ctx, imprint, 32); /* ctx owns it now */
	if (ca_pem) {
		r = load_store(at, ca_pem, ca_len, &store);
		if (r < 0)
			return r;
		TS_VERIFY_CTX_set_store(ctx, store); /* and this */
		flags |= TS_VFY_SIGNATURE;
	}
	TS_VERIFY_CTX_set_flags(ctx, flags);
	if (TS_RESP_verify_response(ctx, resp) != 1) {
		openssl_reason("the token does not verify", detail, size);
		return VIGIL_TSA_BAD;
	}
	return VIGIL_TSA_VALID;
}

/* One DER TimeStampResp, nothing after it. */
static int parse_resp(const uint8_t *der, size_t len, TS_RESP **ret)
{
	const unsigned char *p = der;
	TS_RESP *resp;

	if (len > VIGIL_ARCHIVE_TSR_MAX)
		return -EFBIG;
	resp = d2i_TS_RESP(NULL, &p, (long)len);
	ERR_clear_error();
	if (!resp)
		return -EBADMSG;
	if (p != der + len) {
		TS_RESP_free(resp);
		return -EBADMSG;
	}
	*ret = resp;
	return 0;
}

static int check_resp(TS_RESP *resp, const uint8_t digest[32], const ASN1_INTEGER *nonce,
		      const uint8_t *ca_pem, size_t ca_len, int64_t *ret_time, char *detail,
		      size_t size)
{
	int64_t at = 0;
	int r = check_fields(resp, digest, nonce, detail, size);

	if (r != VIGIL_TSA_VALID)
		return r;
	if (gen_time(TS_RESP_get_tst_info(resp), &at) < 0) {
		snprintf(detail, size, "the token's genTime is not a time");
		return VIGIL_TSA_BAD;
	}
	r = check_signed(resp, digest, ca_pem, ca_len, at, detail, size);
	if (r == VIGIL_TSA_VALID)
		*ret_time = at;
	return r;
}

/**
 * vigil_tsa_check() - check a stored TimeStampResp against the entry file it stamps
 * @tsr: the DER TimeStampResp, untrusted
 * @len: its length
 * @digest: the SHA-256 of the entry file
 * @ca_pem: the TSA's CA certificate(s) (PEM), or NULL: the signature is not checked
 * @ca_len: their length
 * @ret_time: on VIGIL_TSA_VALID, the token's genTime (seconds since the epoch)
 * @detail: on VIGIL_TSA_BAD, why (NUL-terminated)
 * @size: room in @detail
 *
 * Return: VIGIL_TSA_VALID, VIGIL_TSA_BAD, or a negative errno: -ENOMEM, -EBADMSG / -EFBIG
 * for a CA bundle that does not load.
 */
int vigil_tsa_check(const uint8_t *tsr, size_t len, const uint8_t digest[32], const uint8_t *ca_pem,
		    size_t ca_len, int64_t *ret_time, char *detail, size_t size)
{
	_cleanup_(TS_RESP_freep) TS_RESP *resp = NULL;
	int r = parse_resp(tsr, len, &resp);

	if (r == -EFBIG || r == -EBADMSG) {
		snprintf(detail, size, "%s",
			 r == -EFBIG ? "larger than 64 KiB" : "not a DER TimeStampResp");
		return VIGIL_TSA_BAD;
	}
	if (r < 0)
		return r;
	return check_resp(resp, digest, NULL, ca_pem, ca_len, ret_time, detail, size);
}

/* ---- asking for one ---- */

/* A TimeStampReq v1 over @digest (SHA-256) with a random nonce and certReq, as DER. */
static int make_request(const uint8_t digest[32], ASN1_INTEGER **ret_nonce,
			uint8_t ret[REQUEST_MAX], size_t *ret_len)
{
	_cleanup_(TS_REQ_freep) TS_REQ *req = TS_REQ_new();
	_cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *nonce = NULL;
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	unsigned char rnd[8], *der = NULL;
	BIGNUM *bn = NULL;
	int ok, len = -1;

	ok = req && mi && alg && RAND_bytes(rnd, sizeof(rnd)) == 1 &&
	     (bn = BN_bin2bn(rnd, sizeof(rnd), NULL)) && (nonce = BN_to_ASN1_INTEGER(bn, NULL)) &&
	     X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) &&
	     TS_MSG_IMPRINT_set_algo(mi, alg) &&
	     TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)digest, 32) &&
	     TS_REQ_set_version(req, 1) && TS_REQ_set_msg_imprint(req, mi) &&
	     TS_REQ_set_nonce(req, nonce) && TS_REQ_set_cert_req(req, 1);
	if (ok)
		len = i2d_TS_REQ(req, &der);
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	ERR_clear_error();
	if (ok && len > 0 && len <= REQUEST_MAX)
		memcpy(ret, der, (size_t)len);
	OPENSSL_free(der);
	if (!ok || len <= 0 || len > REQUEST_MAX)
		return -ENOMEM;
	*ret_len = (size_t)len;
	*ret_nonce = TAKE_PTR(nonce);
	return 0;
}

/* The response body, bounded. */
struct sink {
	uint8_t *buf;
	size_t len;
	bool overflow;
};

static size_t sink_write(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t add = size * n;
	uint8_t *b;

	if (add > VIGIL_ARCHIVE_TSR_MAX - s->len) {
		s->overflow = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	b = realloc(s->buf, s->len + add);
	if (!b)
		return 0;
	memcpy(b + s->len, p, add);
	s->buf = b;
	s->len += add;
	return add;
}

static bool http_url(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

static int set_options(CURL *c, const struct vigil_tsa *tsa, const uint8_t *req, size_t len,
		       struct curl_slist *headers, struct sink *s)
{
	long timeout = tsa->timeout_ms > 0 ? tsa->timeout_ms : TSA_TIMEOUT_MS;

	if (curl_easy_setopt(c, CURLOPT_URL, tsa->url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)VIGIL_ARCHIVE_TSR_MAX) !=
		    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, s) != CURLE_OK)
		return -ENOMEM;
	return 0;
}

/* POST @req to the TSA; the response body on HTTP 200, -EPROTO with @err otherwise. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the request, then the response */
static int post(const struct vigil_tsa *tsa, const uint8_t *req, size_t len, struct sink *s,
		char *err, size_t size)
{
	_cleanup_(curl_easy_cleanupp) CURL *c = curl_easy_init();
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers =
		curl_slist_append(NULL, "Content-Type: application/timestamp-query");
	char curl_err[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;

	if (!c || !headers || set_options(c, tsa, req, len, headers, s) < 0 ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err) != CURLE_OK)
		return -ENOMEM;
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(err, size, "%s: %s", tsa->url,
			 s->overflow || rc == CURLE_FILESIZE_EXCEEDED ?
				 "response larger than 64 KiB" :
			 curl_err[0] ? curl_err :
				       curl_easy_strerror(rc));
		return -EPROTO;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 200) {
		snprintf(err, size, "%s: HTTP status %ld", tsa->url, code);
		return -EPROTO;
	}
	return 0;
}

/**
 * vigil_tsa_stamp() - get a time-stamp token over an entry file from a TSA
 * @tsa: the TSA: @tsa->url (http:// or https://), its CA (optional) and a timeout
 * @digest: the SHA-256 of the entry file
 * @ret: on success, the whole DER TimeStampResp, as received; free() it
 * @ret_len: on success, its length
 * @err: on -EPROTO, why there is no usable token (NUL-terminated)
 * @err_size: room in @err
 *
 * The response must be granted, cover @digest, carry the request's nonce and, when @tsa has a
 * CA, verify under it.
 *
 * Return: 0; -EPROTO (the TSA could not be reached or gave no usable token); -EINVAL (not an
 * http(s) URL); -EBADMSG / -EFBIG (the CA bundle does not load); -ENOMEM.
 */
int vigil_tsa_stamp(const struct vigil_tsa *tsa, const uint8_t digest[32], uint8_t **ret,
		    size_t *ret_len, char *err, size_t err_size)
{
	_cleanup_(ASN1_INTEGER_freep) ASN1_INTEGER *nonce = NULL;
	_cleanup_(TS_RESP_freep) TS_RESP *resp = NULL;
	uint8_t req[REQUEST_MAX];
	struct sink s = { 0 };
	size_t req_len = 0;
	int64_t at = 0;
	int r;

	if (!tsa->url || !http_url(tsa->url))
		return -EINVAL;
	r = make_request(digest, &nonce, req, &req_len);
	if (r == 0)
		r = post(tsa, req, req_len, &s, err, err_size);
	if (r == 0 && parse_resp(s.buf, s.len, &resp) < 0) {
		snprintf(err, err_size, "%s: the response is not a DER TimeStampResp", tsa->url);
		r = -EPROTO;
	}
	if (r == 0) {
		r = check_resp(resp, digest, nonce, tsa->ca_pem, tsa->ca_pem_len, &at, err,
			       err_size);
		if (r == VIGIL_TSA_BAD)
			r = -EPROTO;
	}
	if (r < 0) {
		free(s.buf);
		return r;
	}
	*ret = s.buf;
	*ret_len = s.len;
	return 0;
}
