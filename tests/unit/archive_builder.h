/* SPDX-License-Identifier: MIT */
/*
 * archive_builder.h: make evidence archives for tests (test_archive.c, test_report.c): real
 * attestations, verified the way `vigil verify --archive` does, and monitoring opt-outs.
 *
 * An attestation is a real evidence document: a software AK (quote_builder.h) quotes PCR 11
 * of sha256 after a small binary ima-ng log (ima_fixtures.h) was replayed into it, with the
 * verifier's nonce. The verifier side is a signed policy (DSSE, ECDSA P-256) that allows the
 * log's two good records, vigil_reverify() for the verdict, and optionally an EAR signed by
 * an ECDSA P-256 key; everything goes into vigil_archive_append() as cmd_verify.c puts it.
 *
 * API (stable; the helpers abort() on any failure, so a test needs no checks of its own):
 *
 *	struct ab b;
 *	ab_init(&b, "plc-1");		keys, policy, AK; device name (NULL: the AK's key id)
 *	ab_attest(&b, a, AB_TRUSTED, true)	append an accepted attestation with an EAR to the
 *					open archive @a; returns its sequence number
 *	ab_attest(&b, a, AB_UNTRUSTED, false)	one rejected (records_rejected: /tmp/dropper is
 *					not in the policy), without an EAR
 *	ab_note(&b, a, true, "alice", "maintenance")	monitoring switched off (false: on)
 *	ab_make(&b, AB_TRUSTED, true, &rec)	the record only (struct ab_record), to change it
 *					before appending it with vigil_archive_append();
 *					ab_record_free(&rec) afterwards
 *	ab_archive(&b, dir)		a whole archive in @dir (created): 1 trusted + EAR,
 *					2 untrusted + EAR, 3 monitoring off, 4 monitoring on,
 *					5 trusted without EAR
 *	ab_free(&b);
 *
 * Times: every append is at b.time, which starts at AB_TIME0 and advances by 60 s per append;
 * the TPM clock in each quote advances too, and the record carries the previous quote's
 * clock as the verifier's state, so the chain of verdicts is what a real verifier reaches.
 * b.ak_pem, b.trust_pem, b.ear_pem hold the public keys (PEM) for tests that need them.
 *
 * Invariants: header-only, static functions; VIGIL_FIXTURES must be defined (ima_fixtures.h).
 */
#ifndef VIGIL_ARCHIVE_BUILDER_H
#define VIGIL_ARCHIVE_BUILDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"
#include "compliance.h"
#include "ima_fixtures.h"
#include "log.h"
#include "policy.h"
#include "quote_builder.h"
#include "replay.h"

#define AB_TIME0 ((int64_t)1800000000) /* 2027-01-15T08:00:00Z */
#define AB_POLICY_NAME "plc"
#define AB_POLICY_VERSION 7
#define AB_GOOD_1 "/usr/bin/true"
#define AB_GOOD_2 "/usr/bin/plc-runtime"
#define AB_BAD "/tmp/dropper"

enum ab_outcome {
	AB_TRUSTED = 0, /* every record allowed: accepted */
	AB_UNTRUSTED, /* one record not in the policy: rejected, records_rejected */
};

struct ab {
	struct qb_key ak; /* the device's AK, in software */
	EVP_PKEY *policy_key; /* signs the policy */
	EVP_PKEY *ear_key; /* signs EARs */
	char *ak_pem, *trust_pem, *ear_pem; /* public halves, PEM */
	char *policy; /* the signed policy (DSSE envelope) */
	const char *device; /* NULL: the archive names the device by its AK's key id */
	int64_t time; /* the next append's time */
	uint64_t clock; /* the next quote's TPM clock */
	bool have_prev; /* the verifier has accepted a quote of this AK before */
	struct vigil_clock_state prev;
	uint32_t round;
};

/* A record and the buffers it points to. */
struct ab_record {
	struct vigil_archive_record rec;
	char *evidence, *verdict, *ear;
	const uint8_t *trust[1];
	size_t trust_len[1];
	uint8_t nonce[16];
	struct vigil_clock_state prev;
	bool accepted;
};

static inline void ab_die(const char *what)
{
	fprintf(stderr, "archive_builder: %s failed\n", what);
	abort();
}

static inline char *ab_public_pem(EVP_PKEY *key)
{
	char *pem = NULL;

	if (vigil_sigkey_public_pem(key, &pem) < 0)
		ab_die("public PEM");
	return pem;
}

/* The policy: the two good records' digests at their paths, signed by b->policy_key. */
static inline char *ab_sign_policy(EVP_PKEY *key)
{
	static const char text[] =
		"{\"vigil_policy\": 1, \"name\": \"" AB_POLICY_NAME "\", \"version\": 7, "
		"\"valid_until\": \"2099-01-01T00:00:00Z\", \"hash_alg\": \"sha256\", "
		"\"digests\": {\"" AB_GOOD_1 "\": "
		"[\"1111111111111111111111111111111111111111111111111111111111111111\"], "
		"\"" AB_GOOD_2 "\": "
		"[\"2222222222222222222222222222222222222222222222222222222222222222\"]}}\n";
	struct vigil_dsse *env = NULL;
	char *out = NULL;

	if (vigil_dsse_new(VIGIL_POLICY_PAYLOAD_TYPE, (const uint8_t *)text, sizeof(text) - 1,
			   &env) < 0 ||
	    vigil_dsse_sign(env, key) < 0 || vigil_dsse_format(env, &out) < 0)
		ab_die("policy");
	vigil_dsse_free(env);
	return out;
}

static inline void ab_init(struct ab *b, const char *device)
{
	EVP_PKEY *pub;

	memset(b, 0, sizeof(*b));
	qb_key_new(QB_ECC256, &b->ak);
	pub = qb_public(&b->ak);
	if (vigil_ak_pem_format(pub, &b->ak_pem) < 0 ||
	    vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &b->policy_key) < 0 ||
	    vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &b->ear_key) < 0)
		ab_die("keys");
	EVP_PKEY_free(pub);
	b->trust_pem = ab_public_pem(b->policy_key);
	b->ear_pem = ab_public_pem(b->ear_key);
	b->policy = ab_sign_policy(b->policy_key);
	b->device = device;
	b->time = AB_TIME0;
	b->clock = 100000;
}

static inline void ab_free(struct ab *b)
{
	qb_key_free(&b->ak);
	EVP_PKEY_free(b->policy_key);
	EVP_PKEY_free(b->ear_key);
	free(b->ak_pem);
	free(b->trust_pem);
	free(b->ear_pem);
	free(b->policy);
	memset(b, 0, sizeof(*b));
}

/* The log of one round: the good records, and the bad one for AB_UNTRUSTED. */
static inline void ab_log(enum ab_outcome o, struct bytes *log)
{
	log->len = 0;
	put_ima_ng(log, 11, 0x11, AB_GOOD_1);
	put_ima_ng(log, 11, 0x22, AB_GOOD_2);
	if (o == AB_UNTRUSTED)
		put_ima_ng(log, 11, 0x44, AB_BAD);
}

/* The evidence document `vigil quote` would write for @log, quoted with @nonce. */
static inline char *ab_evidence(struct ab *b, const struct bytes *log, const uint8_t *nonce,
				size_t nonce_len)
{
	static uint8_t attest[sizeof(TPMS_ATTEST)], sig[sizeof(TPMT_SIGNATURE)];
	struct vigil_evidence *ev = calloc(1, sizeof(*ev));
	struct vigil_log *parsed = NULL;
	struct vigil_replay_result res;
	TPMS_ATTEST a;
	char *text = NULL;

	if (!ev || vigil_log_parse(log->data, log->len, NULL, &parsed, NULL) < 0 ||
	    vigil_replay(parsed, TPM2_ALG_SHA256, 11, 0, NULL, &res) < 0 ||
	    vigil_pcrsel_parse("sha256:11", &ev->selection) < 0 ||
	    vigil_pcr_values_add(&ev->pcrs, TPM2_ALG_SHA256, 11, res.value, 32) < 0)
		ab_die("log replay");
	vigil_log_free(parsed);
	a = qb_attest(&b->ak, nonce, nonce_len, &ev->selection, &ev->pcrs);
	a.clockInfo.clock = b->clock;
	ev->attest = attest;
	ev->attest_len = qb_marshal_attest(&a, attest, sizeof(attest));
	ev->sig = sig;
	ev->sig_len = qb_sign(&b->ak, &b->ak.scheme, attest, ev->attest_len, sig, sizeof(sig));
	memcpy(ev->nonce, nonce, nonce_len);
	ev->nonce_len = nonce_len;
	ev->ak_public = b->ak.pub;
	ev->ak_handle = 0x81000002;
	ev->log = (uint8_t *)log->data;
	ev->log_len = log->len;
	ev->kernel = "6.1.0-test";
	if (vigil_evidence_format(ev, &text) < 0)
		ab_die("evidence");
	free(ev);
	return text;
}

/* The EAR `vigil verify --ear-key` signs for @v. */
static inline char *ab_ear(struct ab *b, const struct vigil_verdict *v, const uint8_t *nonce,
			   size_t nonce_len)
{
	char id[VIGIL_EAR_POLICY_ID_MAX];
	struct vigil_ear ear;
	char *jwt = NULL;

	if (v->policy_applied &&
	    vigil_ear_policy_id(v->policy_name, v->policy_version, (const uint8_t *)b->policy,
				strlen(b->policy), id, sizeof(id)) < 0)
		ab_die("policy id");
	if (vigil_ear_from_verdict(v, VIGIL_EAR_VERAISON, nonce, nonce_len,
				   v->policy_applied ? id : NULL, b->time, &ear) < 0 ||
	    vigil_ear_sign(&ear, v, b->ear_key, &jwt) < 0)
		ab_die("EAR");
	return jwt;
}

/* The inputs of one verification, as cmd_verify.c hands them to the archive. */
static inline void ab_inputs(struct ab *b, struct ab_record *r)
{
	struct vigil_reverify_input *in = &r->rec.in;

	r->trust[0] = (const uint8_t *)b->trust_pem;
	r->trust_len[0] = strlen(b->trust_pem);
	r->prev = b->prev;
	*in = (struct vigil_reverify_input){
		.evidence = (const uint8_t *)r->evidence,
		.evidence_len = strlen(r->evidence),
		.ak_pem = (const uint8_t *)b->ak_pem,
		.ak_pem_len = strlen(b->ak_pem),
		.nonce = r->nonce,
		.nonce_len = sizeof(r->nonce),
		.selection = "sha256:11",
		.bank = TPM2_ALG_SHA256,
		.pcr = 11,
		.policy = (const uint8_t *)b->policy,
		.policy_len = strlen(b->policy),
		.trust = r->trust,
		.trust_len = r->trust_len,
		.ntrust = 1,
		.policy_floor = AB_POLICY_VERSION,
		.prev = b->have_prev ? &r->prev : NULL,
		.now = b->time,
	};
}

/* One verification's record: evidence, verdict (vigil_reverify()), EAR when @ear. */
static inline void ab_make(struct ab *b, enum ab_outcome o, bool ear, struct ab_record *r)
{
	static struct bytes log;
	struct vigil_verdict v;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(r->nonce); i++)
		r->nonce[i] = (uint8_t)(0xa0 + b->round + i);
	ab_log(o, &log);
	r->evidence = ab_evidence(b, &log, r->nonce, sizeof(r->nonce));
	ab_inputs(b, r);
	if (vigil_reverify(&r->rec.in, &v) < 0 || vigil_verdict_to_json(&v, &r->verdict) < 0)
		ab_die("verdict");
	r->accepted = v.accepted;
	if (ear)
		r->ear = ab_ear(b, &v, r->nonce, sizeof(r->nonce));
	vigil_verdict_release(&v);
	r->rec.kind = VIGIL_ARCHIVE_ATTESTATION;
	r->rec.device = b->device;
	r->rec.time = b->time;
	r->rec.verdict = (const uint8_t *)r->verdict;
	r->rec.verdict_len = strlen(r->verdict);
	r->rec.ear = (const uint8_t *)r->ear;
	r->rec.ear_len = r->ear ? strlen(r->ear) : 0;
	r->rec.ear_key = r->ear ? (const uint8_t *)b->ear_pem : NULL;
	r->rec.ear_key_len = r->ear ? strlen(b->ear_pem) : 0;
}

static inline void ab_record_free(struct ab_record *r)
{
	free(r->evidence);
	free(r->verdict);
	free(r->ear);
	memset(r, 0, sizeof(*r));
}

/* The verifier's state after a round: the quote's clock when it was accepted; time moves. */
static inline void ab_next(struct ab *b, const struct ab_record *r)
{
	if (r->accepted) {
		b->have_prev = true;
		b->prev = (struct vigil_clock_state){ b->clock, 5, 2 };
	}
	b->clock += 60000;
	b->time += 60;
	b->round++;
}

static inline uint64_t ab_append(struct vigil_archive *a, const struct vigil_archive_record *rec)
{
	char err[256] = "";
	uint64_t seq = 0;

	if (vigil_archive_append(a, rec, NULL, &seq, err, sizeof(err)) < 0)
		ab_die("append");
	return seq;
}

static inline uint64_t ab_attest(struct ab *b, struct vigil_archive *a, enum ab_outcome o, bool ear)
{
	struct ab_record r;
	uint64_t seq;

	ab_make(b, o, ear, &r);
	seq = ab_append(a, &r.rec);
	ab_next(b, &r);
	ab_record_free(&r);
	return seq;
}

static inline uint64_t ab_note(struct ab *b, struct vigil_archive *a, bool off, const char *by,
			       const char *reason)
{
	struct vigil_archive_record rec = { .kind = VIGIL_ARCHIVE_MONITORING,
					    .device = b->device,
					    .time = b->time,
					    .monitoring_off = off,
					    .by = by,
					    .reason = reason };
	uint64_t seq = ab_append(a, &rec);

	b->time += 60;
	return seq;
}

static inline void ab_archive(struct ab *b, const char *dir)
{
	struct vigil_archive *a = NULL;

	if (vigil_archive_open(dir, true, &a) < 0)
		ab_die("archive open");
	ab_attest(b, a, AB_TRUSTED, true);
	ab_attest(b, a, AB_UNTRUSTED, true);
	ab_note(b, a, true, "alice", "line 3 maintenance window");
	ab_note(b, a, false, "alice", "maintenance done");
	ab_attest(b, a, AB_TRUSTED, false);
	vigil_archive_close(a);
}

#endif /* VIGIL_ARCHIVE_BUILDER_H */
