// SPDX-License-Identifier: MIT
/*
 * sim.c: fleet-sim, simulated pull-mode devices for the fleet tests (tests/fleet/takeover) and
 * the fleet benchmark (tests/bench/fleet.part). No TPM: each device has a software AK
 * (quote_builder.h) that signs real TPMS_ATTEST quotes, and a growing ima-ng log of PCR 11 whose
 * sha256 replay is the quoted value, so verifierd does exactly the work a real agent causes.
 *
 *   fleet-sim provision --db URI --dir DIR --devices N [--prefix P] [--interval MS]
 *                       [--base-port PORT] [--policy NAME] [--paused]
 *	N devices P0..P(N-1): a TLS certificate from the fleet CA in DIR/ca.pem + ca.key (CN=the
 *	id, serverAuth + clientAuth) in DIR/dev/ID.pem + .key, an AK in DIR/dev/ID.ak (its
 *	public area in ID.akpub; files there already are kept), and the device registered and
 *	enrolled in the database
 *	(pull mode, 127.0.0.1:PORT+i; EK hash = SHA-256 of the id: enrollment is not what is
 *	simulated), assigned --policy NAME if given. --paused: not due until `fleet-sim due`.
 *   fleet-sim log --out FILE
 *	a binary ima-ng log with one record of each file the devices measure: what `vigil
 *	policy create --log` learns the devices' policy from.
 *   fleet-sim due --db URI --devices N [--prefix P] [--in MS] [--spread MS]
 *	device i is due at now + IN + i * SPREAD / N (a fleet started without a thundering herd).
 *   fleet-sim serve --dir DIR --devices N [--prefix P] [--base-port PORT] [--first I]
 *                   [--log-every K] [--requests FILE]
 *	one event loop serving the agent API (POST /v1/quote) of devices I..I+N-1 (default
 *	I = 0; several processes may share a large fleet) over TLS on 127.0.0.1, PORT + index;
 *	a new log record every K-th request of a device; FILE gets one line per request:
 *	"DEVICE VERIFIER-CN START-MS END-MS". SIGTERM or SIGINT ends it (exit 0).
 *
 * Invariants: per device, the TPM clock strictly increases and the reset count is the serve
 * process's start time in seconds (a restarted simulator is a rebooted fleet, whose logs start
 * again); the quoted PCR is always the replay of the whole log; a request's "from" beyond the log
 * gets the whole log, as `vigil agent` answers it. A test program: OpenSSL failures in the quote
 * builder abort.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"
#include "http.h"
#include "proto.h"
#include "quote_builder.h"
#include "store.h"

#define PROG "fleet-sim"
#define DEVICES_MAX 100000u
#define DEFAULT_PREFIX "sim-"
#define DEFAULT_PORT 30000
#define DEFAULT_INTERVAL 2000u
#define DEFAULT_LOG_EVERY 5u
#define PAUSED_MS ((int64_t)1 << 60) /* "never due" */
#define LOG_PCR 11
#define AK_HANDLE 0x81010002u
#define PATH_LEN 4096
#define FLUSH_MS 250

/* What the devices' logs measure: a small set, as a policy would allow it. */
static const char *const measured[] = {
	"/usr/bin/init",	  "/usr/lib/plc/runtime",
	"/usr/lib/plc/io.so",	  "/usr/bin/sh",
	"/etc/plc/config.xml",	  "/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/usr/sbin/plc-watchdog", "/usr/lib/plc/modbus.so",
};

#define MEASURED (sizeof(measured) / sizeof(measured[0]))

struct opts {
	const char *db;
	const char *dir;
	const char *prefix;
	const char *requests;
	const char *policy;
	const char *out;
	size_t devices;
	size_t first;
	uint16_t base_port;
	uint32_t interval_ms;
	uint32_t log_every;
	int64_t in_ms;
	int64_t spread_ms;
	bool paused;
};

/* One simulated device: its AK, its log (record i at off[i], off[count] the end), its PCR. */
struct dev {
	struct sim *sim;
	char id[VIGIL_DEVICE_ID_MAX + 1];
	struct qb_key ak;
	struct vigil_http_server *srv;
	uint8_t *log;
	size_t log_cap;
	size_t *off;
	size_t off_cap;
	size_t count;
	uint8_t pcr[32];
	uint64_t clock;
	uint64_t requests;
};

/* The serve step: the devices, one loop, and scratch space for one quote at a time. */
struct sim {
	struct event_base *base;
	struct dev *devs;
	size_t n;
	uint32_t log_every;
	uint32_t reset_count;
	TPML_PCR_SELECTION sel;
	FILE *requests;
	uint64_t served;
	uint64_t refused;
	struct vigil_pcr_values vals;
	struct vigil_evidence ev;
	uint8_t attest[sizeof(TPMS_ATTEST)];
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
};

static int fail(const char *what, int r)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(r < 0 ? -r : r));
	return r < 0 ? r : -r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_ms_exact(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void dev_path(const struct opts *o, size_t i, const char *ext, char *buf, size_t size)
{
	snprintf(buf, size, "%s/dev/%s%zu.%s", o->dir, o->prefix, i, ext);
}

/* ---- keys and files ---- */

/* The AK's public area, from its key, as qb_key_new() makes it for QB_ECC256. */
static void ak_from_pkey(EVP_PKEY *pkey, struct qb_key *k)
{
	memset(k, 0, sizeof(*k));
	k->pkey = pkey;
	k->pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	k->pub.publicArea.objectAttributes =
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	k->scheme.scheme = TPM2_ALG_ECDSA;
	k->scheme.details.any.hashAlg = TPM2_ALG_SHA256;
	qb_ecc_public(k, 32, TPM2_ECC_NIST_P256);
}

static EVP_PKEY *key_load(const char *path)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new_file(path, "r");

	return b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
}

/* Write what @bio holds to @path (replaced), mode @mode. */
static int bio_save(BIO *bio, const char *path, mode_t mode)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	char *data = NULL;
	long len = BIO_get_mem_data(bio, &data);

	if (fd < 0)
		return -errno;
	if (len < 0 || write(fd, data, (size_t)len) != (ssize_t)len)
		return -EIO;
	return 0;
}

static int key_save(EVP_PKEY *key, const char *path)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());

	if (!b || PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1)
		return -ENOMEM;
	return bio_save(b, path, 0600);
}

static int cert_save(X509 *x, const char *path)
{
	_cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());

	if (!b || PEM_write_bio_X509(b, x) != 1)
		return -ENOMEM;
	return bio_save(b, path, 0644);
}

/* The key at @path, or a new P-256 key written there. */
static EVP_PKEY *key_get(const char *path, bool *ret_new)
{
	EVP_PKEY *k;

	*ret_new = access(path, F_OK) != 0;
	if (!*ret_new)
		return key_load(path);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (k && key_save(k, path) < 0) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

static void ca_free(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

static int ca_load(const char *dir, struct ca *ca)
{
	char path[PATH_LEN];
	_cleanup_(BIO_freep) BIO *b = NULL;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	b = BIO_new_file(path, "r");
	ca->cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	ca->key = key_load(path);
	if (!ca->cert || !ca->key) {
		fprintf(stderr, PROG ": %s/ca.pem, ca.key: cannot load the fleet CA\n", dir);
		return -EINVAL;
	}
	return 0;
}

static int cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ok = ext && X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -EINVAL;
}

/* A leaf certificate for @id (tests/fleet/certs' profile), signed by the fleet CA. */
static X509 *cert_make(const struct ca *ca, const char *id, EVP_PKEY *key)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	bool ok = x && serial && X509_set_version(x, 2) == 1 &&
		  BN_rand(serial, 95, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
		  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
		  X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
		  X509_gmtime_adj(X509_getm_notAfter(x), 825L * 86400) &&
		  X509_set_pubkey(x, key) == 1 &&
		  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					     (const unsigned char *)id, -1, -1, 0) == 1 &&
		  X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) == 1 &&
		  cert_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
		  cert_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") == 0 &&
		  cert_ext(x, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth") == 0 &&
		  cert_ext(x, ca->cert, NID_subject_key_identifier, "hash") == 0 &&
		  cert_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") == 0 &&
		  X509_sign(x, ca->key, EVP_sha256()) > 0;

	BN_free(serial);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* ---- provision ---- */

/*
 * Device @i's TLS certificate and key, made unless both are there; @fingerprint gets the hash
 * of the certificate file (distinct per device; nothing checks it against a real EK
 * certificate). Files there already are not parsed: a fleet of 10000 is provisioned again
 * in seconds.
 */
static int dev_tls(const struct opts *o, const struct ca *ca, size_t i, const char *id,
		   uint8_t fingerprint[32])
{
	char kpath[PATH_LEN], cpath[PATH_LEN];
	_cleanup_free_ uint8_t *pem = NULL;
	EVP_PKEY *key;
	X509 *x = NULL;
	size_t len = 0;
	bool made;
	int r = 0;

	dev_path(o, i, "key", kpath, sizeof(kpath));
	dev_path(o, i, "pem", cpath, sizeof(cpath));
	if (access(kpath, F_OK) != 0 || access(cpath, F_OK) != 0) {
		key = key_get(kpath, &made);
		x = key ? cert_make(ca, id, key) : NULL;
		r = x ? cert_save(x, cpath) : -EINVAL;
		X509_free(x);
		EVP_PKEY_free(key);
	}
	if (r == 0)
		r = vigil_file_read(cpath, 1 << 16, &pem, &len);
	if (r == 0)
		r = vigil_hash_digest(TPM2_ALG_SHA256, pem, len, fingerprint, 32);
	return r < 0 ? fail(cpath, r) : 0;
}

/* Device @i's AK public area, marshalled (ID.akpub), from a new AK (ID.ak) unless it is there. */
static int dev_ak(const struct opts *o, size_t i, uint8_t *pub, size_t size, size_t *ret_len)
{
	char path[PATH_LEN], pubpath[PATH_LEN];
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_(BIO_freep) BIO *b = NULL;
	struct qb_key k;
	size_t off = 0;
	int r;

	dev_path(o, i, "ak", path, sizeof(path));
	dev_path(o, i, "akpub", pubpath, sizeof(pubpath));
	r = vigil_file_read(pubpath, size, &buf, &off);
	if (r == 0 && access(path, F_OK) == 0) {
		memcpy(pub, buf, off);
		*ret_len = off;
		return 0;
	}
	ak_from_pkey(EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), &k);
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&k.pub, pub, size, &off) != TSS2_RC_SUCCESS)
		off = 0;
	b = BIO_new(BIO_s_mem());
	r = off && b && BIO_write(b, pub, (int)off) == (int)off ? bio_save(b, pubpath, 0644) :
								  -EINVAL;
	if (r == 0)
		r = key_save(k.pkey, path);
	qb_key_free(&k);
	if (r < 0)
		return fail(path, r);
	*ret_len = off;
	return 0;
}

/* Register (if it is not) and enroll device @i; paused: not due before `due`. */
static int dev_register(struct vigil_store *s, const struct opts *o, size_t i, const char *id,
			const uint8_t fingerprint[32], const uint8_t *ak, size_t ak_len)
{
	struct vigil_device d = { .mode = VIGIL_MODE_PULL, .interval_ms = o->interval_ms };
	uint8_t ek_hash[32];
	int r;

	snprintf(d.id, sizeof(d.id), "%s", id);
	snprintf(d.policy, sizeof(d.policy), "%s", o->policy ? o->policy : "");
	snprintf(d.address, sizeof(d.address), "127.0.0.1:%zu", (size_t)o->base_port + i);
	r = vigil_store_device_add(s, &d);
	if (r < 0 && r != -EEXIST)
		return r;
	r = vigil_hash_digest(TPM2_ALG_SHA256, id, strlen(id), ek_hash, sizeof(ek_hash));
	if (r == 0)
		r = vigil_store_enroll(s, id, ek_hash, fingerprint, ak, ak_len);
	if (r == 0 && o->paused)
		r = vigil_store_device_set_due(s, id, PAUSED_MS);
	return r;
}

static int provision(const struct opts *o)
{
	_cleanup_(vigil_store_closep) struct vigil_store *s = NULL;
	struct ca ca = { 0 };
	char path[PATH_LEN], id[VIGIL_DEVICE_ID_MAX + 1], err[256] = "";
	uint8_t fp[32], ak[sizeof(TPM2B_PUBLIC)];
	size_t ak_len = 0;
	int r;

	snprintf(path, sizeof(path), "%s/dev", o->dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return fail(path, errno);
	r = vigil_store_open_err(o->db, &s, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, PROG ": %s: %s %s\n", o->db, strerror(-r), err);
		return r;
	}
	r = ca_load(o->dir, &ca);
	for (size_t i = 0; r == 0 && i < o->devices; i++) {
		snprintf(id, sizeof(id), "%s%zu", o->prefix, i);
		r = dev_tls(o, &ca, i, id, fp);
		if (r == 0)
			r = dev_ak(o, i, ak, sizeof(ak), &ak_len);
		if (r == 0 && (r = dev_register(s, o, i, id, fp, ak, ak_len)) < 0)
			fprintf(stderr, PROG ": %s: %s (%s)\n", id, strerror(-r),
				vigil_store_error(s));
	}
	ca_free(&ca);
	return r;
}

static int due(const struct opts *o)
{
	_cleanup_(vigil_store_closep) struct vigil_store *s = NULL;
	char id[VIGIL_DEVICE_ID_MAX + 1];
	int64_t start = now_ms() + o->in_ms;
	int r = vigil_store_open(o->db, &s);

	if (r < 0)
		return fail(o->db, r);
	for (size_t i = 0; r == 0 && i < o->devices; i++) {
		snprintf(id, sizeof(id), "%s%zu", o->prefix, i);
		int64_t at = start + (int64_t)i * o->spread_ms / (int64_t)o->devices;

		r = vigil_store_device_set_due(s, id, at);
		if (r < 0)
			fprintf(stderr, PROG ": %s: %s (%s)\n", id, strerror(-r),
				vigil_store_error(s));
	}
	return r;
}

/* ---- a device's log ---- */

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the array, its capacity, then sizes */
static int grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*(void **)p, n * size);
	if (!q)
		return -ENOMEM;
	*(void **)p = q;
	*cap = n;
	return 0;
}

static size_t put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return 4;
}

/* ima-ng template data for @name: d-ng "sha256:\0" + SHA-256(name), n-ng name + NUL. */
static size_t ima_ng_data(const char *name, uint8_t *out)
{
	size_t len = strlen(name) + 1, n = 0;

	n += put_le32(out + n, 8 + 32);
	memcpy(out + n, "sha256:", 8);
	n += 8;
	if (vigil_hash_digest(TPM2_ALG_SHA256, name, len - 1, out + n, 32) < 0)
		qb_die("sha256");
	n += 32;
	n += put_le32(out + n, (uint32_t)len);
	memcpy(out + n, name, len);
	return n + len;
}

/* Append an ima-ng record of @name (SHA-1 template digest, IMA's) and extend the sha256 PCR. */
static int dev_append(struct dev *d, const char *name)
{
	uint8_t data[PATH_MAX + 64], ext[64];
	size_t dlen = ima_ng_data(name, data), rlen = 4 + 20 + 4 + 6 + 4 + dlen;
	uint8_t *p;

	if (grow(&d->log, &d->log_cap, d->off[d->count] + rlen, 1) < 0 ||
	    grow(&d->off, &d->off_cap, d->count + 2, sizeof(*d->off)) < 0)
		return -ENOMEM;
	p = d->log + d->off[d->count];
	p += put_le32(p, LOG_PCR);
	if (vigil_hash_digest(TPM2_ALG_SHA1, data, dlen, p, 20) < 0)
		return -EIO;
	p += 20;
	p += put_le32(p, 6);
	memcpy(p, "ima-ng", 6);
	p += 6;
	p += put_le32(p, (uint32_t)dlen);
	memcpy(p, data, dlen);
	d->off[d->count + 1] = d->off[d->count] + rlen;
	d->count++;
	/* PCR = SHA-256(PCR || SHA-256(template data)) */
	memcpy(ext, d->pcr, 32);
	if (vigil_hash_digest(TPM2_ALG_SHA256, data, dlen, ext + 32, 32) < 0 ||
	    vigil_hash_digest(TPM2_ALG_SHA256, ext, sizeof(ext), d->pcr, 32) < 0)
		return -EIO;
	return 0;
}

/* The records every device's log cycles through, once each, to a file. */
static int write_log(const struct opts *o)
{
	struct dev d = { 0 };
	FILE *f;
	int r = grow(&d.off, &d.off_cap, 1, sizeof(*d.off));

	if (r == 0)
		d.off[0] = 0;
	for (size_t i = 0; r == 0 && i < MEASURED; i++)
		r = dev_append(&d, measured[i]);
	f = r == 0 ? fopen(o->out, "we") : NULL;
	if (r == 0 && !f)
		r = -errno;
	if (f && (fwrite(d.log, 1, d.off[d.count], f) != d.off[d.count] || fclose(f) != 0))
		r = -EIO;
	if (r < 0)
		fprintf(stderr, PROG ": %s: %s\n", o->out, strerror(-r));
	free(d.log);
	free(d.off);
	return r;
}

/* ---- serve ---- */

/* The evidence for @q, into *@ret: a quote of the whole log's PCR value, the log from q->from. */
static int dev_quote(struct dev *d, const struct vigil_msg_quote_request *q, char **ret)
{
	struct sim *sim = d->sim;
	struct vigil_evidence *ev = &sim->ev;
	uint64_t from = q->from <= d->count ? q->from : 0;
	uint64_t now = (uint64_t)now_ms();
	TPMS_ATTEST a;
	int r;

	if (!vigil_pcrsel_equal(&q->selection, &sim->sel))
		return -EOPNOTSUPP;
	sim->vals.count = 0;
	r = vigil_pcr_values_add(&sim->vals, TPM2_ALG_SHA256, LOG_PCR, d->pcr, sizeof(d->pcr));
	if (r < 0)
		return r;
	a = qb_attest(&d->ak, q->nonce, q->nonce_len, &sim->sel, &sim->vals);
	d->clock = now > d->clock ? now : d->clock + 1;
	a.clockInfo.clock = d->clock;
	a.clockInfo.resetCount = sim->reset_count;
	a.clockInfo.restartCount = 0;
	memset(ev, 0, sizeof(*ev));
	memcpy(ev->nonce, q->nonce, q->nonce_len);
	ev->nonce_len = q->nonce_len;
	ev->attest = sim->attest;
	ev->attest_len = qb_marshal_attest(&a, sim->attest, sizeof(sim->attest));
	ev->sig = sim->sig;
	ev->sig_len = qb_sign(&d->ak, &d->ak.scheme, sim->attest, ev->attest_len, sim->sig,
			      sizeof(sim->sig));
	ev->selection = sim->sel;
	ev->pcrs = sim->vals;
	ev->ak_public = d->ak.pub;
	ev->ak_handle = AK_HANDLE;
	ev->log = d->log + d->off[from];
	ev->log_len = d->off[d->count] - d->off[from];
	ev->log_from = from;
	return vigil_evidence_format(ev, ret);
}

/* POST /v1/quote: a record every log_every-th request, then the evidence. */
static void on_request(struct vigil_http_request *req, void *arg)
{
	struct dev *d = arg;
	char peer[VIGIL_HTTP_PEER_MAX + 1];
	double start = now_ms_exact();
	_cleanup_free_ char *json = NULL;
	struct vigil_msg_quote_request q;
	const uint8_t *body;
	size_t len = 0;

	if (strcmp(vigil_http_path(req), "/v1/quote") != 0 ||
	    strcmp(vigil_http_method(req), "POST") != 0) {
		d->sim->refused++;
		vigil_http_reply_error(req, 404, "not_found",
				       "this simulated agent answers POST /v1/quote");
		return;
	}
	/* the request, and its peer name, are gone once it is answered */
	snprintf(peer, sizeof(peer), "%s", vigil_http_peer(req) ? vigil_http_peer(req) : "-");
	body = vigil_http_body(req, &len);
	if (!body || vigil_msg_quote_request_parse((const char *)body, len, &q) < 0) {
		d->sim->refused++;
		vigil_http_reply_error(req, 400, "bad_request",
				       "a quote request needs nonce, from and pcrs");
		return;
	}
	if (++d->requests % d->sim->log_every == 0 &&
	    dev_append(d, measured[d->count % MEASURED]) < 0)
		fprintf(stderr, PROG ": %s: cannot grow the log\n", d->id);
	if (dev_quote(d, &q, &json) < 0) {
		d->sim->refused++;
		vigil_http_reply_error(req, 400, "bad_request", "only sha256:11 is simulated");
		return;
	}
	vigil_http_reply(req, 200, json);
	d->sim->served++;
	if (d->sim->requests)
		fprintf(d->sim->requests, "%s %s %.3f %.3f\n", d->id, peer, start, now_ms_exact());
}

static void on_server_log(void *arg, int prio, const char *msg)
{
	const struct dev *d = arg;

	if (prio <= LOG_WARNING)
		fprintf(stderr, PROG ": %s: %s\n", d->id, msg);
}

/* Load device @i's AK, start its log (one record), and listen on its port. */
static int dev_start(struct sim *sim, const struct opts *o, size_t i)
{
	struct dev *d = &sim->devs[i - o->first];
	char cert[PATH_LEN], key[PATH_LEN], ak[PATH_LEN], ca[PATH_LEN];
	const struct vigil_http_tls tls = { .cert = cert, .key = key, .ca = ca };
	EVP_PKEY *pkey;
	int r;

	d->sim = sim;
	snprintf(d->id, sizeof(d->id), "%s%zu", o->prefix, i);
	dev_path(o, i, "pem", cert, sizeof(cert));
	dev_path(o, i, "key", key, sizeof(key));
	dev_path(o, i, "ak", ak, sizeof(ak));
	snprintf(ca, sizeof(ca), "%s/ca.pem", o->dir);
	pkey = key_load(ak);
	if (!pkey)
		return fail(ak, EINVAL);
	ak_from_pkey(pkey, &d->ak);
	r = grow(&d->off, &d->off_cap, 1, sizeof(*d->off));
	if (r == 0) {
		d->off[0] = 0;
		r = dev_append(d, measured[0]);
	}
	if (r == 0)
		r = vigil_http_server_new(sim->base, &tls, NULL, on_request, on_server_log, d,
					  &d->srv);
	if (r < 0)
		return fail(cert, r);
	r = vigil_http_server_listen(d->srv, "127.0.0.1", (uint16_t)(o->base_port + i), NULL);
	if (r < 0) {
		fprintf(stderr, PROG ": %s: 127.0.0.1:%zu: %s\n", d->id, (size_t)o->base_port + i,
			strerror(-r));
		return r;
	}
	return 0;
}

static void dev_free(struct dev *d)
{
	if (d->srv)
		vigil_http_server_free(d->srv);
	qb_key_free(&d->ak);
	free(d->log);
	free(d->off);
}

/*
 * A listener and a connection per device, and room for a second one (a dying and a new
 * verifier): up to the hard limit, which a larger fleet gets around with several processes
 * (--first).
 */
static int raise_nofile(size_t devices)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)devices * 3 + 256, least = (rlim_t)devices * 2 + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_max < least)
		return -EMFILE;
	rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's callback type */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's callback type */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct sim *sim = arg;

	(void)fd;
	(void)what;
	if (sim->requests)
		fflush(sim->requests);
}

static int sim_loop(struct sim *sim)
{
	const struct timeval flush = { .tv_sec = 0, .tv_usec = (suseconds_t)FLUSH_MS * 1000 };
	struct event *term = evsignal_new(sim->base, SIGTERM, on_signal, sim->base);
	struct event *intr = evsignal_new(sim->base, SIGINT, on_signal, sim->base);
	struct event *tick = event_new(sim->base, -1, EV_PERSIST, on_flush, sim);
	int r = -ENOMEM;

	if (term && intr && tick && event_add(term, NULL) == 0 && event_add(intr, NULL) == 0 &&
	    event_add(tick, &flush) == 0) {
		printf(PROG ": serving %zu devices\n", sim->n);
		fflush(stdout);
		r = event_base_dispatch(sim->base) < 0 ? -EIO : 0;
	}
	if (term)
		event_free(term);
	if (intr)
		event_free(intr);
	if (tick)
		event_free(tick);
	return r;
}

static int serve(const struct opts *o)
{
	struct sim *sim = calloc(1, sizeof(*sim));
	int r = sim ? raise_nofile(o->devices) : -ENOMEM;

	if (r < 0) {
		free(sim);
		return fail("RLIMIT_NOFILE", r);
	}
	signal(SIGPIPE, SIG_IGN);
	sim->n = o->devices;
	sim->log_every = o->log_every;
	sim->reset_count = (uint32_t)time(NULL);
	sim->base = event_base_new();
	sim->devs = calloc(o->devices, sizeof(*sim->devs));
	r = sim->base && sim->devs ? vigil_pcrsel_parse("sha256:11", &sim->sel) : -ENOMEM;
	if (r == 0 && o->requests && !(sim->requests = fopen(o->requests, "ae")))
		r = fail(o->requests, errno);
	for (size_t i = o->first; r == 0 && i < o->first + o->devices; i++)
		r = dev_start(sim, o, i);
	if (r == 0)
		r = sim_loop(sim);
	fprintf(stderr, PROG ": %" PRIu64 " quotes served, %" PRIu64 " requests refused\n",
		sim->served, sim->refused);
	for (size_t i = 0; sim->devs && i < o->devices; i++)
		dev_free(&sim->devs[i]);
	if (sim->requests)
		fclose(sim->requests);
	free(sim->devs);
	if (sim->base)
		event_base_free(sim->base);
	free(sim);
	return r;
}

/* ---- options ---- */

static int usage(void)
{
	static const char text[] =
		"usage: fleet-sim provision --db URI --dir DIR --devices N [--prefix P]\n"
		"                           [--interval MS] [--base-port PORT] [--policy NAME]\n"
		"                           [--paused]\n"
		"       fleet-sim log --out FILE\n"
		"       fleet-sim due --db URI --devices N [--prefix P] [--in MS] [--spread MS]\n"
		"       fleet-sim serve --dir DIR --devices N [--prefix P] [--base-port PORT]\n"
		"                       [--first I] [--log-every K] [--requests FILE]\n";

	fputs(text, stderr);
	return 2;
}

/* A numeric option: @min..@max, into *@ret. */
static bool num(long long min, long long max, long long *ret)
{
	char *end = NULL;

	errno = 0;
	*ret = strtoll(optarg, &end, 10);
	return !errno && end != optarg && !*end && *ret >= min && *ret <= max;
}

static bool parse_opt(int c, struct opts *o)
{
	long long v = 0;
	bool ok = true;

	if (c == 'b')
		o->db = optarg;
	else if (c == 'd')
		o->dir = optarg;
	else if (c == 'p' && (ok = vigil_device_id_valid(optarg) && strlen(optarg) <= 32))
		o->prefix = optarg;
	else if (c == 'r')
		o->requests = optarg;
	else if (c == 'o')
		o->out = optarg;
	else if (c == 'y' && (ok = strlen(optarg) < sizeof(((struct vigil_device *)0)->policy)))
		o->policy = optarg;
	else if (c == 'P')
		o->paused = true;
	else if (c == 'n' && (ok = num(1, DEVICES_MAX, &v)))
		o->devices = (size_t)v;
	else if (c == 'f' && (ok = num(0, DEVICES_MAX, &v)))
		o->first = (size_t)v;
	else if (c == 'B' && (ok = num(1, 65535, &v)))
		o->base_port = (uint16_t)v;
	else if (c == 'i' && (ok = num(100, 86400000, &v)))
		o->interval_ms = (uint32_t)v;
	else if (c == 'k' && (ok = num(1, 1000000, &v)))
		o->log_every = (uint32_t)v;
	else if (c == 'I' && (ok = num(0, 86400000, &v)))
		o->in_ms = v;
	else if (c == 's' && (ok = num(0, 86400000, &v)))
		o->spread_ms = v;
	else if (!strchr("pnfBikIsy", c))
		ok = false;
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "devices", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 'i' },
		{ "base-port", required_argument, NULL, 'B' },
		{ "paused", no_argument, NULL, 'P' },
		{ "log-every", required_argument, NULL, 'k' },
		{ "requests", required_argument, NULL, 'r' },
		{ "in", required_argument, NULL, 'I' },
		{ "spread", required_argument, NULL, 's' },
		{ "first", required_argument, NULL, 'f' },
		{ "policy", required_argument, NULL, 'y' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .prefix = DEFAULT_PREFIX,
			  .base_port = DEFAULT_PORT,
			  .interval_ms = DEFAULT_INTERVAL,
			  .log_every = DEFAULT_LOG_EVERY };
	const char *cmd = argc > 1 ? argv[1] : "";
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (!parse_opt(c, &o))
			return usage();
	if (!strcmp(cmd, "log") && optind == argc && o.out)
		return write_log(&o) < 0 ? 3 : 0;
	if (optind != argc || !o.devices || o.first + o.devices > DEVICES_MAX ||
	    o.base_port + o.first + o.devices - 1 > 65535)
		return usage();
	if (!strcmp(cmd, "provision") && o.db && o.dir)
		return provision(&o) < 0 ? 3 : 0;
	if (!strcmp(cmd, "due") && o.db)
		return due(&o) < 0 ? 3 : 0;
	if (!strcmp(cmd, "serve") && o.dir)
		return serve(&o) < 0 ? 3 : 0;
	return usage();
}
