// SPDX-License-Identifier: MIT
/*
 * cmd_verify.c: `vigil verify`: check a quote and its measurement log against the verifier's
 * AK and nonce, and print the verdict.
 *
 * Two inputs: an evidence document from `vigil quote`, or tpm2-tools' files (quote.msg,
 * quote.sig, optionally quote.pcrs) with any IMA-format binary log. The checks and their order
 * are libvigil's (vigil_attest_verify()); this file reads the inputs, keeps the verifier's
 * clock state (--state) and prints. Without a policy (a later issue) the verdict covers
 * authenticity and freshness only and says so.
 *
 * Exit codes: 0 accepted, 1 rejected (anything wrong with the evidence, malformed or oversized
 * included: it names a reason), 2 usage, 3 could not check (the verifier's own inputs: AK key,
 * state directory, unreadable files; out of memory).
 *
 * Invariants: the verdict goes to stdout (text, or JSON with --json), a rejection also as one
 * "vigil verify: evidence rejected: <check>: <reason>" line on stderr; the state is updated
 * only after an acceptance, under its lock.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "compliance.h"
#include "policy.h"
#include "uapi/vigil.h"

#define CMD "verify"
#define QUOTE_FILE_MAX 65536
#define PCRS_FILE_MAX (1u << 20)
#define TRUST_MAX 16

struct verify_opts {
	const char *evidence;
	const char *ak;
	const char *ak_public;
	const char *msg, *sig, *pcrs, *log;
	const char *state;
	const char *select;
	uint8_t nonce[VIGIL_NONCE_MAX];
	size_t nonce_len;
	TPMT_SIG_SCHEME scheme;
	bool have_scheme;
	uint16_t bank;
	uint32_t pcr;
	bool json;
	const char *policy;
	const char *trust[TRUST_MAX];
	size_t ntrust;
	const char *ear_key, *ear_out, *archive, *device, *tsa, *tsa_ca;
	enum vigil_ear_profile profile;
};

/* Everything one verification reads, released together. */
struct inputs {
	EVP_PKEY *ak;
	TPM2B_PUBLIC ak_public;
	bool have_ak_public;
	struct vigil_evidence *ev;
	uint8_t *msg, *sig, *pcrs_file, *log;
	size_t msg_len, sig_len, pcrs_len, log_len;
	bool too_large; /* an evidence file beyond its bound: rejected, not read */
	bool too_large_policy; /* the policy beyond its bound: rejected, not read */
	bool pcrs_bad; /* quote.pcrs does not parse: rejected */
	struct vigil_pcr_values *pcrs;
	TPML_PCR_SELECTION select;
	struct vigil_clock_state prev;
	bool have_prev;
	int lock_fd;
	EVP_PKEY *trust[TRUST_MAX];
	struct vigil_policy *policy;
	uint8_t policy_keyid[VIGIL_SIGKEY_ID_SIZE];
	enum vigil_reject policy_reject;
	char policy_detail[400];
	bool store_policy; /* remember the policy's version once verified */
	int policy_lock_fd;
	uint64_t policy_floor; /* the highest version accepted before (0: none) */
	int64_t now;
	uint8_t *ak_pem, *ev_text; /* kept for the archive */
	size_t ak_pem_len, ev_len;
	struct vigil_file_map policy_file;
	struct vigil_archive *archive;
};

static void inputs_free(struct inputs *in)
{
	EVP_PKEY_free(in->ak);
	vigil_evidence_free(in->ev);
	free(in->msg);
	free(in->sig);
	free(in->pcrs_file);
	free(in->log);
	free(in->pcrs);
	if (in->lock_fd >= 0)
		close(in->lock_fd);
	for (size_t i = 0; i < TRUST_MAX; i++)
		EVP_PKEY_free(in->trust[i]);
	vigil_policy_free(in->policy);
	if (in->policy_lock_fd >= 0)
		close(in->policy_lock_fd);
	free(in->ak_pem);
	free(in->ev_text);
	vigil_file_unmap(&in->policy_file);
	vigil_archive_close(in->archive);
}

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil verify EVIDENCE.json --ak AK.pem --nonce HEX [<options>]\n"
		"       vigil verify --quote-msg F --quote-sig F [--pcrs F] [--log F] --ak AK.pem\n"
		"                    --nonce HEX [<options>]\n\n"
		"Verify a quote and its measurement log: signature, nonce, clock, PCRs, log, and\n"
		"with a signed policy every record. Without a policy only authenticity and\n"
		"freshness are checked.\n\n"
		"Options:\n"
		"  --ak AK.pem        the attestation key (PEM public key) the verifier trusts\n"
		"  --nonce HEX        the nonce the verifier sent\n"
		"  --policy P.dsse    check every record against this signed policy\n"
		"  --trust KEY.pub    a policy-signing public key the verifier trusts (repeatable)\n"
		"  --state DIR        remember each AK's last accepted clock and each policy's\n"
		"                     highest version in DIR; reject rollback of either\n"
		"  --select SEL       the PCR selection asked for (default: BANK:PCR)\n"
		"  --pcr N            the PCR the log extends (default: %d)\n"
		"  --bank ALG         the bank to replay the log in (default: sha256)\n"
		"  --json             print the verdict as JSON\n"
		"  --ear-key KEY.pem  sign an EAT Attestation Result of the verdict (ES256)\n"
		"  --ear FILE         write that EAR (a JWT) to FILE (- for stdout)\n"
		"  --ear-profile P    EAR claim names: veraison (default) or ietf\n"
		"  --archive DIR      append evidence, policy, verdict and EAR to the archive\n"
		"  --device NAME      the device's name in the archive (default: the AK key id)\n"
		"  --tsa URL          time-stamp each archive entry (RFC 3161) at this TSA\n"
		"  --tsa-ca CA.pem    the TSA's CA, to check its tokens\n"
		"tpm2-tools files:\n"
		"  --quote-msg F      TPMS_ATTEST (tpm2_quote -m)\n"
		"  --quote-sig F      TPMT_SIGNATURE (tpm2_quote -s)\n"
		"  --pcrs F           PCR values (tpm2_quote -o); without it the log's replay is used\n"
		"  --log F            binary IMA-format measurement log\n"
		"  --ak-public F      the AK's TPM2B_PUBLIC (tpm2_createak -u): binds its scheme\n"
		"  --scheme S         the AK's scheme without --ak-public: ecdsa, rsassa or rsapss,\n"
		"                     optionally :HASH (default: ecdsa or rsassa by key, sha256)\n"
		"  -h, --help         show this help\n",
		VIGIL_DEFAULT_PCR);
}

static int load_ak(const struct verify_opts *o, struct inputs *in)
{
	_cleanup_free_ uint8_t *pub = NULL;
	size_t len = 0;
	char err[256];
	int r;

	if (cmd_read_file(CMD, o->ak, 65536, &in->ak_pem, &in->ak_pem_len) < 0)
		return -EIO;
	r = vigil_ak_pem_parse(in->ak_pem, in->ak_pem_len, &in->ak);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->ak,
			r == -EKEYREJECTED ? "not an RSA (2048+) or ECC P-256/P-384 public key" :
					     cmd_openssl_error(err, sizeof(err)));
		return r;
	}
	if (!o->ak_public)
		return 0;
	if (cmd_read_file(CMD, o->ak_public, sizeof(TPM2B_PUBLIC), &pub, &len) < 0)
		return -EIO;
	if (vigil_ak_public_parse(pub, len, &in->ak_public) < 0) {
		fprintf(stderr, "vigil " CMD ": %s: not a TPM2B_PUBLIC\n", o->ak_public);
		return -EBADMSG;
	}
	in->have_ak_public = true;
	return 0;
}

static int load_state(const struct verify_opts *o, struct inputs *in)
{
	uint8_t keyid[VIGIL_AK_KEYID_SIZE];
	int r;

	if (!o->state)
		return 0;
	r = vigil_ak_keyid(in->ak, keyid);
	if (r == 0)
		r = vigil_state_lock(o->state, keyid, &in->lock_fd);
	if (r == 0)
		r = vigil_state_load(o->state, keyid, &in->prev);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": state %s: %s\n", o->state,
			r == -EBADMSG ? "corrupt state file" : strerror(-r));
		return r;
	}
	in->have_prev = true;
	return 0;
}

/* Anti-rollback: not older than the highest version accepted for this policy name. */
static int check_rollback(const struct verify_opts *o, struct inputs *in)
{
	const struct vigil_policy_info *info = vigil_policy_info(in->policy);
	uint64_t highest = 0;
	int r;

	if (!o->state)
		return 0;
	r = vigil_state_policy_lock(o->state, info->name, &in->policy_lock_fd);
	if (r == 0)
		r = vigil_state_policy_load(o->state, info->name, &highest);
	if (r < 0 && r != -ENOENT) {
		fprintf(stderr, "vigil " CMD ": state %s: policy %s: %s\n", o->state, info->name,
			r == -EBADMSG ? "corrupt state file" : strerror(-r));
		return r;
	}
	in->policy_floor = highest;
	if (r == 0 && info->version < highest) {
		in->policy_reject = VIGIL_REJECT_POLICY_ROLLBACK;
		snprintf(in->policy_detail, sizeof(in->policy_detail),
			 "policy %s version %llu is older than version %llu, accepted before",
			 info->name, (unsigned long long)info->version,
			 (unsigned long long)highest);
		return 0;
	}
	in->store_policy = r == -ENOENT || info->version > highest;
	return 0;
}

static void policy_rejected(struct inputs *in, int verdict, const struct vigil_policy_error *err)
{
	const char *detail;

	in->policy_reject = vigil_policy_reject_of(verdict, &detail);
	if (in->policy_reject == VIGIL_REJECT_POLICY_BAD_FORMAT)
		snprintf(in->policy_detail, sizeof(in->policy_detail), "line %zu: %s", err->line,
			 err->what);
	else
		snprintf(in->policy_detail, sizeof(in->policy_detail), "%s", detail);
}

/* The signed policy: signature, validity, version. A bad policy is a rejection, not an error. */
static int load_policy(const struct verify_opts *o, struct inputs *in)
{
	struct vigil_file_map *file = &in->policy_file;
	struct vigil_policy_error err = { 0 };
	size_t key = 0;
	int r;

	if (!o->policy)
		return 0;
	r = cmd_load_trust(CMD, o->trust, o->ntrust, in->trust);
	if (r < 0)
		return r;
	r = vigil_file_map(o->policy, VIGIL_POLICY_ENVELOPE_MAX, file);
	if (r == -EFBIG) {
		policy_rejected(in, VIGIL_POLICY_TOO_LARGE, &err);
		in->too_large_policy = true;
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->policy, strerror(-r));
		return r;
	}
	r = vigil_policy_load_signed((const char *)file->data, file->len, in->trust, o->ntrust,
				     in->now, &in->policy, &key, &err);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->policy, strerror(-r));
		return r;
	}
	if (r > 0) {
		policy_rejected(in, r, &err);
		return 0;
	}
	r = vigil_sigkey_id(in->trust[key], in->policy_keyid);
	if (r < 0)
		return r;
	return check_rollback(o, in);
}

/* Read an evidence-side file: too large is the evidence's fault (rejected), not an error. */
static int read_evidence_file(const char *path, size_t max, struct inputs *in, uint8_t **ret,
			      size_t *ret_len)
{
	int r = vigil_file_read(path, max, ret, ret_len);

	if (r == -EFBIG) {
		in->too_large = true;
		return 0;
	}
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
	return r;
}

static int load_evidence(const struct verify_opts *o, struct inputs *in)
{
	int r;

	r = read_evidence_file(o->evidence, VIGIL_EVIDENCE_MAX, in, &in->ev_text, &in->ev_len);
	if (r < 0 || in->too_large)
		return r;
	r = vigil_evidence_parse((const char *)in->ev_text, in->ev_len, &in->ev);
	if (r == -ENOMEM) {
		fprintf(stderr, "vigil " CMD ": %s\n", strerror(ENOMEM));
		return r;
	}
	return 0; /* a parse failure leaves in->ev NULL: rejected as bad_format */
}

static int load_tpm2_files(const struct verify_opts *o, struct inputs *in)
{
	TPML_PCR_SELECTION file_sel;
	int r;

	r = read_evidence_file(o->msg, QUOTE_FILE_MAX, in, &in->msg, &in->msg_len);
	if (r == 0)
		r = read_evidence_file(o->sig, QUOTE_FILE_MAX, in, &in->sig, &in->sig_len);
	if (r == 0 && o->pcrs)
		r = read_evidence_file(o->pcrs, PCRS_FILE_MAX, in, &in->pcrs_file, &in->pcrs_len);
	if (r == 0 && o->log)
		r = read_evidence_file(o->log, VIGIL_EVIDENCE_LOG_MAX, in, &in->log, &in->log_len);
	if (r < 0 || in->too_large || !o->pcrs)
		return r;
	in->pcrs = calloc(1, sizeof(*in->pcrs));
	if (!in->pcrs)
		return -ENOMEM;
	if (vigil_pcrs_file_parse(in->pcrs_file, in->pcrs_len, &file_sel, in->pcrs) < 0)
		in->pcrs_bad = true; /* rejected as bad_format */
	return 0;
}

/* The evidence could not even be parsed: a verdict with the format check failed. */
static void reject_format(struct inputs *in, struct vigil_verdict *v, const char *detail)
{
	vigil_verdict_init(v);
	if (vigil_ak_keyid(in->ak, v->ak_keyid) < 0)
		memset(v->ak_keyid, 0, sizeof(v->ak_keyid));
	vigil_verdict_fail(v, VIGIL_CHECK_FORMAT, VIGIL_REJECT_BAD_FORMAT, detail);
	vigil_verdict_finish(v);
}

static int verify(const struct verify_opts *o, struct inputs *in, struct vigil_verdict *v)
{
	struct vigil_attest_input a = {
		.quote = { .ak = in->ak,
			   .nonce = o->nonce,
			   .nonce_len = o->nonce_len,
			   .selection = &in->select,
			   .prev = in->have_prev ? &in->prev : NULL,
			   .scheme = o->have_scheme ? &o->scheme : NULL,
			   .ak_public = in->have_ak_public ? &in->ak_public : NULL },
		.log_bank = o->bank,
		.log_pcr = o->pcr,
		.policy = in->policy,
		.policy_reject = in->policy_reject,
		.policy_detail = in->policy_reject ? in->policy_detail : NULL,
		.policy_keyid = in->policy_keyid,
	};

	if (in->too_large || in->pcrs_bad || (o->evidence && !in->ev)) {
		reject_format(in, v,
			      in->too_large ? "an input is larger than vigil accepts" :
			      in->pcrs_bad  ? "the PCR file is not tpm2-tools' serialized format" :
					      "not a vigil evidence document");
		return 0;
	}
	if (in->ev) {
		a.quote.attest = in->ev->attest;
		a.quote.attest_len = in->ev->attest_len;
		a.quote.sig = in->ev->sig;
		a.quote.sig_len = in->ev->sig_len;
		a.quote.ak_public = &in->ev->ak_public;
		a.quote.pcrs = &in->ev->pcrs;
		a.log = in->ev->log;
		a.log_len = in->ev->log_len;
		a.log_from = in->ev->log_from;
	} else {
		a.quote = (struct vigil_quote_input){ .attest = in->msg,
						      .attest_len = in->msg_len,
						      .sig = in->sig,
						      .sig_len = in->sig_len,
						      .pcrs = in->pcrs,
						      .ak = a.quote.ak,
						      .ak_public = a.quote.ak_public,
						      .scheme = a.quote.scheme,
						      .nonce = o->nonce,
						      .nonce_len = o->nonce_len,
						      .selection = &in->select,
						      .prev = a.quote.prev };
		a.log = in->log;
		a.log_len = in->log_len;
	}
	return vigil_attest_verify(&a, v);
}

static void print_failure(const struct vigil_record_failure *f)
{
	char hex[2 * 64 + 1];

	printf("  %s #%zu %s: %s", f->warning ? "warn" : "FAIL", f->index, f->path,
	       vigil_record_reason_name(f->reason));
	if (f->digest_len) {
		vigil_hex_encode(f->digest, f->digest_len, hex, sizeof(hex));
		printf(", measured %s:%s", f->alg, hex);
	}
	for (size_t i = 0; i < f->expected_count && i < VIGIL_RECORD_EXPECTED_MAX; i++) {
		vigil_hex_encode(f->expected[i], f->digest_len, hex, sizeof(hex));
		printf("%s%s", i ? ", " : ", policy allows ", hex);
	}
	if (f->expected_count > VIGIL_RECORD_EXPECTED_MAX)
		printf(" (and %zu more)", f->expected_count - VIGIL_RECORD_EXPECTED_MAX);
	putchar('\n');
}

static void print_policy(const struct verify_opts *o, const struct vigil_verdict *v)
{
	char keyid[2 * VIGIL_SIGKEY_ID_SIZE + 1];

	if (!v->policy_applied) {
		printf("policy:  %s\n", o->policy ?
						"not applied: the verification stopped before it" :
						"none applied: authenticity and freshness only");
		return;
	}
	vigil_hex_encode(v->policy_keyid, sizeof(v->policy_keyid), keyid, sizeof(keyid));
	printf("policy:  %s version %llu, signed by key %.16s\n", v->policy_name,
	       (unsigned long long)v->policy_version, keyid);
	printf("records: %zu checked, %zu excluded, %zu failed\n", v->records_checked,
	       v->records_excluded, v->failure_count);
	for (size_t i = 0; i < v->failure_count; i++)
		print_failure(&v->failures[i]);
}

static void print_text(const struct verify_opts *o, const struct vigil_verdict *v)
{
	printf("verdict: %s\n", v->accepted ? "accepted" : "rejected");
	if (!v->accepted)
		printf("reason:  %s (%s check)%s%s\n", vigil_reject_name(v->reason),
		       vigil_check_name(v->failed), v->detail ? ": " : "",
		       v->detail ? v->detail : "");
	print_policy(o, v);
	for (size_t i = 0; i < VIGIL_CHECK_COUNT; i++) {
		printf("  %-14s %s", vigil_check_name(i), vigil_check_result_name(v->checks[i]));
		if (v->checks[i] == VIGIL_RESULT_FAIL && v->failed == i)
			printf(" (%s)", vigil_reject_name(v->reason));
		if (i == VIGIL_CHECK_LOG && v->checks[i] == VIGIL_RESULT_PASS)
			printf(" (%zu of %zu records covered)", v->records_covered, v->log_records);
		putchar('\n');
	}
	if (v->have_quote)
		printf("quote:   clock %llu ms, reset count %u, restart count %u, %s\n",
		       (unsigned long long)v->clock.clock, v->clock.reset_count,
		       v->clock.restart_count, v->safe ? "safe" : "not safe");
}

static int report(const struct verify_opts *o, const struct vigil_verdict *v)
{
	_cleanup_free_ char *json = NULL;

	if (o->json) {
		if (vigil_verdict_to_json(v, &json) < 0) {
			fprintf(stderr, "vigil " CMD ": %s\n", strerror(ENOMEM));
			return VIGIL_EXIT_RUNTIME;
		}
		fputs(json, stdout);
	} else {
		print_text(o, v);
	}
	if (v->accepted)
		return VIGIL_EXIT_OK;
	fprintf(stderr, "vigil " CMD ": evidence rejected: %s: %s%s%s\n",
		vigil_check_name(v->failed), vigil_reject_name(v->reason), v->detail ? ": " : "",
		v->detail ? v->detail : "");
	return VIGIL_EXIT_REJECTED;
}

/* Without --select: the log's PCR in the log's bank. */
static void default_selection(const struct verify_opts *o, TPML_PCR_SELECTION *sel)
{
	*sel = (TPML_PCR_SELECTION){ .count = 1 };
	sel->pcrSelections[0].hash = o->bank;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[o->pcr / 8] = (uint8_t)(1u << (o->pcr % 8));
}

/* After a verification: the AK's clock if accepted; the policy's version once it was verified
 * (authentic, current, not older), whatever the evidence's fate. */
static int store_state(const struct verify_opts *o, const struct inputs *in,
		       const struct vigil_verdict *v)
{
	uint8_t keyid[VIGIL_AK_KEYID_SIZE];
	int r = 0;

	if (!o->state)
		return 0;
	if (v->accepted) {
		r = vigil_ak_keyid(in->ak, keyid);
		if (r == 0)
			r = vigil_state_store(o->state, keyid, &v->clock);
	}
	if (r == 0 && in->store_policy)
		r = vigil_state_policy_store(o->state, vigil_policy_info(in->policy)->name,
					     vigil_policy_info(in->policy)->version);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": state %s: %s\n", o->state, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	return 0;
}

/* --ear-key / --archive: the record's inputs, as vigil_reverify() will take them again. */
static int prepare_record(const struct verify_opts *o, struct inputs *in, struct verify_record *rec)
{
	int r;

	*rec = (struct verify_record){ .ear_key = o->ear_key,
				       .ear_out = o->ear_out,
				       .profile = o->profile,
				       .archive = o->archive,
				       .device = o->device,
				       .now = in->now,
				       .tsa = { .url = o->tsa, .timeout_ms = 30000 } };
	rec->in = (struct vigil_reverify_input){
		.evidence = in->ev_text,
		.evidence_len = in->ev_len,
		.ak_pem = in->ak_pem,
		.ak_pem_len = in->ak_pem_len,
		.nonce = o->nonce,
		.nonce_len = o->nonce_len,
		.selection = rec->selection,
		.bank = o->bank,
		.pcr = o->pcr,
		.policy = o->policy ? in->policy_file.data : NULL,
		.policy_len = o->policy ? in->policy_file.len : 0,
		.policy_floor = in->policy_floor,
		.prev = in->have_prev ? &in->prev : NULL,
		.now = in->now,
	};
	vigil_pcrsel_format(&in->select, rec->selection, sizeof(rec->selection));
	if (!rec->device) {
		uint8_t keyid[VIGIL_AK_KEYID_SIZE];

		r = vigil_ak_keyid(in->ak, keyid);
		if (r < 0)
			return r;
		vigil_hex_encode(keyid, sizeof(keyid), rec->device_buf, sizeof(rec->device_buf));
		rec->device = rec->device_buf;
	}
	if (o->tsa_ca &&
	    cmd_read_file(CMD, o->tsa_ca, 1u << 20, &rec->tsa_ca, &rec->tsa.ca_pem_len) < 0)
		return -EIO;
	rec->tsa.ca_pem = rec->tsa_ca;
	return o->archive ? verify_record_trust(rec, o->trust, o->ntrust) : 0;
}

static void record_free(struct verify_record *rec)
{
	free(rec->tsa_ca);
	verify_record_release(rec);
}

/* The EAR and the archive entry, before the state moves on: all or nothing. */
static int record(const struct verify_opts *o, struct inputs *in, const struct vigil_verdict *v)
{
	_cleanup_(record_free) struct verify_record rec = { 0 };
	_cleanup_free_ char *json = NULL;
	int r;

	if (!o->ear_key && !o->archive)
		return 0;
	r = prepare_record(o, in, &rec);
	if (r == 0)
		r = verify_record_ear(&rec, v);
	if (r == 0 && o->archive) {
		r = vigil_verdict_to_json(v, &json);
		if (r == 0)
			r = verify_record_archive(&rec, in->archive, json);
		else
			fprintf(stderr, "vigil " CMD ": %s\n", strerror(-r));
	}
	return r;
}

static int open_archive(const struct verify_opts *o, struct inputs *in)
{
	int r;

	if (!o->archive)
		return 0;
	r = vigil_archive_open(o->archive, true, &in->archive);
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": archive %s: %s\n", o->archive,
			r == -EBADMSG ? "not a vigil archive" : strerror(-r));
	return r;
}

static int run(const struct verify_opts *o)
{
	_cleanup_(inputs_free) struct inputs in = { .lock_fd = -1,
						    .policy_lock_fd = -1,
						    .now = time(NULL) };
	struct vigil_verdict v;
	int r;

	if (o->select && vigil_pcrsel_parse(o->select, &in.select) < 0)
		return cmd_usage_error(CMD, "bad PCR selection", o->select);
	if (!o->select)
		default_selection(o, &in.select);
	if (!o->evidence && !o->pcrs && vigil_pcrsel_count(&in.select) != 1)
		return cmd_usage_error(CMD, "without --pcrs, select only the log's PCR, not",
				       o->select);
	r = open_archive(o, &in);
	if (r == 0)
		r = load_ak(o, &in);
	if (r == 0)
		r = load_state(o, &in);
	if (r == 0)
		r = load_policy(o, &in);
	if (r == 0)
		r = o->evidence ? load_evidence(o, &in) : load_tpm2_files(o, &in);
	if (r == 0 && o->archive && (in.too_large || in.too_large_policy)) {
		fprintf(stderr, "vigil " CMD ": archive %s: %s\n", o->archive,
			"an input is larger than the archive keeps");
		r = -EFBIG;
	}
	if (r < 0)
		return VIGIL_EXIT_RUNTIME; /* reported where it happened */
	r = verify(o, &in, &v);
	if (r < 0) {
		vigil_verdict_release(&v);
		fprintf(stderr, "vigil " CMD ": cannot verify: %s\n", strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	r = record(o, &in, &v) < 0 ? VIGIL_EXIT_RUNTIME : store_state(o, &in, &v);
	if (r == 0)
		r = report(o, &v);
	vigil_verdict_release(&v);
	return r;
}

static int parse_value(int c, struct verify_opts *o)
{
	if (c == 'n' && cmd_parse_nonce(optarg, o->nonce, &o->nonce_len) < 0)
		return cmd_usage_error(CMD, "nonce must be 8 to 64 bytes in hex", optarg);
	if (c == 'P' && (cmd_parse_u32(optarg, &o->pcr) < 0 || o->pcr >= VIGIL_PCR_COUNT))
		return cmd_usage_error(CMD, "bad PCR number", optarg);
	if (c == 'b' && (vigil_hash_from_name(optarg, &o->bank) < 0))
		return cmd_usage_error(CMD, "unknown bank", optarg);
	if (c == 'S' && vigil_scheme_parse(optarg, &o->scheme) < 0)
		return cmd_usage_error(CMD, "unknown scheme", optarg);
	if (c == 'R' && !strcmp(optarg, "veraison"))
		o->profile = VIGIL_EAR_VERAISON;
	else if (c == 'R' && !strcmp(optarg, "ietf"))
		o->profile = VIGIL_EAR_IETF;
	else if (c == 'R')
		return cmd_usage_error(CMD, "EAR profile is veraison or ietf, not", optarg);
	o->have_scheme |= c == 'S';
	return 0;
}

static int parse_option(int c, struct verify_opts *o, char *argv[])
{
	switch (c) {
	case 'a':
		o->ak = optarg;
		return 0;
	case 'A':
		o->ak_public = optarg;
		return 0;
	case 'm':
		o->msg = optarg;
		return 0;
	case 's':
		o->sig = optarg;
		return 0;
	case 'p':
		o->pcrs = optarg;
		return 0;
	case 'l':
		o->log = optarg;
		return 0;
	case 'd':
		o->state = optarg;
		return 0;
	case 'e':
		o->select = optarg;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'y':
		o->policy = optarg;
		return 0;
	case 'K':
		o->ear_key = optarg;
		return 0;
	case 'E':
		o->ear_out = optarg;
		return 0;
	case 'r':
		o->archive = optarg;
		return 0;
	case 'D':
		o->device = optarg;
		return 0;
	case 'T':
		o->tsa = optarg;
		return 0;
	case 'C':
		o->tsa_ca = optarg;
		return 0;
	case 't':
		if (o->ntrust == TRUST_MAX)
			return cmd_usage_error(CMD, "too many --trust keys, at most 16:", optarg);
		o->trust[o->ntrust++] = optarg;
		return 0;
	case 'n':
	case 'P':
	case 'b':
	case 'S':
	case 'R':
		return parse_value(c, o);
	default:
		return cmd_option_error(CMD, argv, c == ':');
	}
}

/* --ear, --archive and what goes with them. */
static int check_record_inputs(const struct verify_opts *o)
{
	if (o->ear_out && !o->ear_key)
		return cmd_usage_error(CMD, "an EAR needs its signer: missing option", "--ear-key");
	if (o->ear_key && !o->ear_out && !o->archive)
		return cmd_usage_error(CMD, "where should the EAR go? missing option",
				       "--ear FILE or --archive DIR");
	if (o->archive && !o->evidence)
		return cmd_usage_error(CMD, "the archive keeps evidence documents: missing",
				       "EVIDENCE.json");
	if ((o->device || o->tsa || o->tsa_ca) && !o->archive)
		return cmd_usage_error(CMD, "--device, --tsa and --tsa-ca go with",
				       "--archive DIR");
	if (o->device && !vigil_archive_device_valid(o->device, strlen(o->device)))
		return cmd_usage_error(CMD, "a device name is 1-128 of A-Z a-z 0-9 . _ : -, not",
				       o->device);
	return 0;
}

/* Which input: exactly one of EVIDENCE.json or the tpm2-tools files, with what each needs. */
static int check_inputs(const struct verify_opts *o)
{
	bool tools = o->msg || o->sig || o->pcrs || o->log || o->ak_public || o->have_scheme;

	if (!o->ak)
		return cmd_usage_error(CMD, "missing option", "--ak");
	if (!o->nonce_len)
		return cmd_usage_error(CMD, "missing option", "--nonce");
	if (o->ak_public && o->have_scheme)
		return cmd_usage_error(CMD, "--ak-public binds the scheme; not with", "--scheme");
	if (o->evidence && tools)
		return cmd_usage_error(CMD, "tpm2-tools file options do not go with", o->evidence);
	if (!o->evidence && (!o->msg || !o->sig))
		return cmd_usage_error(CMD, "missing input",
				       o->msg ? "--quote-sig" : "EVIDENCE.json or --quote-msg");
	if (!o->evidence && !o->pcrs && !o->log)
		return cmd_usage_error(CMD, "need PCR values: missing option", "--pcrs or --log");
	if (o->policy && !o->ntrust)
		return cmd_usage_error(CMD, "a policy needs its signer: missing option", "--trust");
	if (!o->policy && o->ntrust)
		return cmd_usage_error(CMD, "--trust keys are for a policy: missing option",
				       "--policy");
	return check_record_inputs(o);
}

/**
 * cmd_verify() - the `vigil verify` subcommand
 * @argc: argument count, including argv[0] ("verify")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK (accepted), VIGIL_EXIT_REJECTED, VIGIL_EXIT_USAGE or
 * VIGIL_EXIT_RUNTIME.
 */
int cmd_verify(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "ak", required_argument, NULL, 'a' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "state", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "select", required_argument, NULL, 'e' },
		{ "pcr", required_argument, NULL, 'P' },
		{ "bank", required_argument, NULL, 'b' },
		{ "quote-msg", required_argument, NULL, 'm' },
		{ "quote-sig", required_argument, NULL, 's' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'l' },
		{ "ak-public", required_argument, NULL, 'A' },
		{ "scheme", required_argument, NULL, 'S' },
		{ "policy", required_argument, NULL, 'y' },
		{ "trust", required_argument, NULL, 't' },
		{ "ear-key", required_argument, NULL, 'K' },
		{ "ear", required_argument, NULL, 'E' },
		{ "ear-profile", required_argument, NULL, 'R' },
		{ "archive", required_argument, NULL, 'r' },
		{ "device", required_argument, NULL, 'D' },
		{ "tsa", required_argument, NULL, 'T' },
		{ "tsa-ca", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct verify_opts o = { .bank = TPM2_ALG_SHA256, .pcr = VIGIL_DEFAULT_PCR };
	int c, r;

	cmd_quiet_tss();
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		r = parse_option(c, &o, argv);
		if (r)
			return r;
	}
	if (optind < argc)
		o.evidence = argv[optind++];
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	r = check_inputs(&o);
	return r ? r : run(&o);
}
