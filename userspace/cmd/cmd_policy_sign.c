// SPDX-License-Identifier: MIT
/*
 * cmd_policy_sign.c: `vigil policy sign` and `vigil policy verify`: put an attestation policy
 * into a signed DSSE envelope, and check one the way a verifier does.
 *
 * sign refuses to sign what a verifier would reject as bad_format: the document is parsed
 * first (libvigil's vigil_policy_parse()) and a parse error is reported with its line. With
 * --append the input is an envelope already signed by someone else; its payload is checked
 * the same way and one more signature is added, the others kept as they are.
 *
 * verify is vigil_policy_load_signed(), the verifier's own path: size, envelope, payloadType,
 * signature, document, validity, in that order, the first failure naming the verdict
 * (policy_<name>, the reason `vigil verify` gives for the same policy).
 *
 * Exit codes: sign: 0 written, 1 the input is not a valid policy (or envelope), 2 usage,
 * 3 could not run (unreadable or unsuitable key, I/O). verify: 0 verified, 1 rejected, 2 usage,
 * 3 could not check (unreadable trust key or envelope, out of memory).
 *
 * Invariants: the private key's file contents are wiped before they are freed; sign writes
 * the output only when everything succeeded, atomically (a reader never sees half an
 * envelope); verify prints its report on stdout and a rejection also as one line on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "policy.h"

#define TRUST_MAX 16

/* ---- sign ---- */

static void sign_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil policy sign P.json --key KEY.pem -o P.dsse\n"
		"       vigil policy sign P.dsse --append --key KEY.pem -o P.dsse\n\n"
		"Sign an attestation policy into a DSSE envelope (payloadType\n" VIGIL_POLICY_PAYLOAD_TYPE
		"). The policy must be valid.\n\n"
		"Options:\n"
		"  --key KEY.pem    the private key (vigil key generate): ECDSA P-256 or Ed25519\n"
		"  -o, --out FILE   the envelope to write (replaced atomically; - for stdout)\n"
		"  --append         the input is a signed envelope: add a signature to it\n"
		"  -h, --help       show this help\n");
}

/* The document a signature will vouch for must be one a verifier accepts. */
static int check_document(const char *path, const uint8_t *text, size_t len)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_policy_error err = { 0 };
	int r = vigil_policy_parse((const char *)text, len, &p, &err);

	if (r == -ENOMEM) {
		fprintf(stderr, "vigil policy sign: %s\n", strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0) {
		fprintf(stderr, "vigil policy sign: %s: line %zu: %s\n", path, err.line, err.what);
		return VIGIL_EXIT_REJECTED;
	}
	return VIGIL_EXIT_OK;
}

/* --append: the existing envelope, its type and its document checked. */
static int read_envelope(const char *path, const uint8_t *text, size_t len, struct vigil_dsse **ret)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL;
	int r = vigil_dsse_parse((const char *)text, len, VIGIL_POLICY_MAX, &env);

	if (r == -ENOMEM) {
		fprintf(stderr, "vigil policy sign: %s\n", strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0 || strcmp(env->payload_type, VIGIL_POLICY_PAYLOAD_TYPE) != 0) {
		fprintf(stderr, "vigil policy sign: %s: %s\n", path,
			r == -EFBIG ? "payload larger than vigil accepts" :
			r < 0	    ? "not a DSSE envelope" :
				      "payloadType is not " VIGIL_POLICY_PAYLOAD_TYPE);
		return VIGIL_EXIT_REJECTED;
	}
	if (env->count == VIGIL_DSSE_SIGS_MAX) {
		fprintf(stderr,
			"vigil policy sign: %s: already has %d signatures, the most allowed\n",
			path, VIGIL_DSSE_SIGS_MAX);
		return VIGIL_EXIT_REJECTED;
	}
	r = check_document(path, env->payload, env->payload_len);
	if (r == VIGIL_EXIT_OK)
		*ret = TAKE_PTR(env);
	return r;
}

/* The input as an envelope to sign: a new one around the document, or the one given. */
static int envelope_for(const char *path, bool append, struct vigil_dsse **ret)
{
	_cleanup_free_ uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if (cmd_read_file("policy sign", path,
			  append ? VIGIL_POLICY_ENVELOPE_MAX : VIGIL_POLICY_MAX, &text, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	if (append)
		return read_envelope(path, text, len, ret);
	r = check_document(path, text, len);
	if (r != VIGIL_EXIT_OK)
		return r;
	if (vigil_dsse_new(VIGIL_POLICY_PAYLOAD_TYPE, text, len, ret) < 0) {
		fprintf(stderr, "vigil policy sign: %s\n", strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

static int write_output(const char *path, const char *text)
{
	int r;

	if (!strcmp(path, "-"))
		return fputs(text, stdout) < 0 ? -EIO : 0;
	r = vigil_file_write_atomic(path, text, strlen(text), 0644);
	if (r < 0)
		fprintf(stderr, "vigil policy sign: %s: %s\n", path, strerror(-r));
	return r;
}

/* A second signature by the same key adds nothing; most likely the command ran twice. */
static bool signed_by(const struct vigil_dsse *env, const char *keyid)
{
	for (size_t i = 0; i < env->count; i++)
		if (!strcasecmp(env->sigs[i].keyid, keyid))
			return true;
	return false;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the command line, in --help's order */
static int sign(const char *in, const char *keyfile, const char *out, bool append)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_free_ char *text = NULL;
	uint8_t id[VIGIL_SIGKEY_ID_SIZE];
	char keyid[2 * VIGIL_SIGKEY_ID_SIZE + 1], err[256];
	int r;

	if (cmd_load_private("policy sign", keyfile, &key) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = envelope_for(in, append, &env);
	if (r != VIGIL_EXIT_OK)
		return r;
	if (vigil_sigkey_id(key, id) < 0 || vigil_hex_encode(id, sizeof(id), keyid, sizeof(keyid)))
		return VIGIL_EXIT_RUNTIME;
	if (signed_by(env, keyid)) {
		fprintf(stderr, "vigil policy sign: %s: already signed by key %s\n", in, keyid);
		return VIGIL_EXIT_REJECTED;
	}
	r = vigil_dsse_sign(env, key);
	if (r == 0)
		r = vigil_dsse_format(env, &text);
	if (r < 0 || !text) {
		fprintf(stderr, "vigil policy sign: %s\n",
			r == -EIO ? cmd_openssl_error(err, sizeof(err)) : strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (write_output(out, text) < 0)
		return VIGIL_EXIT_RUNTIME;
	if (strcmp(out, "-") != 0)
		printf("%s\n", keyid);
	return VIGIL_EXIT_OK;
}

/**
 * cmd_policy_sign() - the `vigil policy sign` subcommand
 * @argc: argument count, including argv[0] ("sign")
 * @argv: the arguments after "vigil policy"
 *
 * Return: a VIGIL_EXIT_* code.
 */
int cmd_policy_sign(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' },
		{ "append", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *key = NULL, *out = NULL;
	bool append = false;
	const char *input = NULL;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
		if (c == 'k')
			key = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'a')
			append = true;
		else if (c == 'h') {
			sign_usage(stdout);
			return VIGIL_EXIT_OK;
		} else
			return cmd_option_error("policy sign", argv, c == ':');
	}
	r = cmd_operand("policy sign", argc, argv, "missing input", "P.json", &input);
	if (r)
		return r;
	if (!key || !out)
		return cmd_usage_error("policy sign", "missing option", key ? "-o" : "--key");
	return sign(input, key, out, append);
}

/* ---- verify ---- */

struct verify_opts {
	const char *envelope;
	const char *trust[TRUST_MAX];
	size_t ntrust;
	int64_t now;
	bool json;
};

/* The outcome, for either output form. */
struct outcome {
	int verdict;
	struct vigil_policy *policy;
	char keyid[2 * VIGIL_SIGKEY_ID_SIZE + 1];
	struct vigil_policy_error err;
};

static void verify_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil policy verify P.dsse --trust KEY.pub [--trust KEY.pub]...\n"
		"                           [--now TIME] [--json]\n\n"
		"Check a signed policy as a verifier does: envelope, payloadType, signature by a\n"
		"trusted key, document, validity.\n\n"
		"Options:\n"
		"  --trust KEY.pub  a trusted policy-signing public key (repeatable, up to %d)\n"
		"  --now TIME       check validity at TIME (RFC 3339, e.g. 2027-01-01T00:00:00Z)\n"
		"                   instead of now\n"
		"  --json           print the result as JSON\n"
		"  -h, --help       show this help\n",
		TRUST_MAX);
}

static void free_keys(EVP_PKEY **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free(keys[i]);
}

/* Read and check the envelope. Return 0 with @out filled (a verdict), or -errno, reported. */
static int check(const struct verify_opts *o, EVP_PKEY *const *keys, struct outcome *out)
{
	_cleanup_(vigil_file_unmap) struct vigil_file_map file = { 0 };
	uint8_t id[VIGIL_SIGKEY_ID_SIZE];
	size_t key = 0;
	int r = vigil_file_map(o->envelope, VIGIL_POLICY_ENVELOPE_MAX, &file);

	if (r == -EFBIG) {
		out->verdict = VIGIL_POLICY_TOO_LARGE; /* refused unread: beyond any policy */
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "vigil policy verify: %s: %s\n", o->envelope, strerror(-r));
		return r;
	}
	r = vigil_policy_load_signed((const char *)file.data, file.len, keys, o->ntrust, o->now,
				     &out->policy, &key, &out->err);
	if (r == 0)
		r = vigil_sigkey_id(keys[key], id);
	if (r < 0) {
		fprintf(stderr, "vigil policy verify: %s: cannot check: %s\n", o->envelope,
			strerror(-r));
		return r;
	}
	out->verdict = r;
	if (r == VIGIL_POLICY_LOADED)
		vigil_hex_encode(id, sizeof(id), out->keyid, sizeof(out->keyid));
	return 0;
}

static void print_text(const struct outcome *out)
{
	const struct vigil_policy_info *i;
	char until[32];

	if (out->verdict != VIGIL_POLICY_LOADED) {
		printf("verdict:     rejected\nreason:      policy_%s\n",
		       vigil_policy_verdict_name(out->verdict));
		return;
	}
	i = vigil_policy_info(out->policy);
	cmd_format_time(i->valid_until, until, sizeof(until));
	printf("verdict:     verified\n");
	printf("name:        %s\n", i->name);
	printf("version:     %llu\n", (unsigned long long)i->version);
	printf("valid_until: %s\n", until);
	printf("hash_alg:    %s\n", vigil_hash_name(i->hash_alg));
	printf("digests:     %zu in %zu paths\n", i->digests, i->paths);
	printf("any_path:    %zu\n", i->any_path);
	printf("deny:        %zu\n", i->deny);
	printf("excludes:    %zu globs, %zu regexes\n", i->excludes, i->excludes_regex);
	printf("signer:      %s\n", out->keyid);
}

static int add_info(struct json_object *o, const struct vigil_policy_info *i, const char *keyid)
{
	char until[32];

	cmd_format_time(i->valid_until, until, sizeof(until));
	if (vigil_json_add(o, "name", json_object_new_string(i->name)) < 0 ||
	    vigil_json_add(o, "version", json_object_new_uint64(i->version)) < 0 ||
	    vigil_json_add(o, "valid_until", json_object_new_string(until)) < 0 ||
	    vigil_json_add(o, "hash_alg", json_object_new_string(vigil_hash_name(i->hash_alg))) <
		    0 ||
	    vigil_json_add(o, "digests", json_object_new_uint64(i->digests)) < 0 ||
	    vigil_json_add(o, "paths", json_object_new_uint64(i->paths)) < 0 ||
	    vigil_json_add(o, "any_path", json_object_new_uint64(i->any_path)) < 0 ||
	    vigil_json_add(o, "deny", json_object_new_uint64(i->deny)) < 0 ||
	    vigil_json_add(o, "excludes", json_object_new_uint64(i->excludes)) < 0 ||
	    vigil_json_add(o, "excludes_regex", json_object_new_uint64(i->excludes_regex)) < 0)
		return -ENOMEM;
	return vigil_json_add(o, "signer", json_object_new_string(keyid));
}

static int add_reject(struct json_object *o, const struct outcome *out)
{
	char reason[64];

	snprintf(reason, sizeof(reason), "policy_%s", vigil_policy_verdict_name(out->verdict));
	if (vigil_json_add(o, "reason", json_object_new_string(reason)) < 0)
		return -ENOMEM;
	if (out->verdict != VIGIL_POLICY_BAD_FORMAT)
		return 0;
	if (vigil_json_add(o, "line", json_object_new_uint64(out->err.line)) < 0)
		return -ENOMEM;
	return vigil_json_add(o, "what", json_object_new_string(out->err.what));
}

static int print_json(const struct outcome *out)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *text = NULL;
	bool ok = out->verdict == VIGIL_POLICY_LOADED;

	if (!o || vigil_json_add(o, "verified", json_object_new_boolean(ok)) < 0 ||
	    (ok ? add_info(o, vigil_policy_info(out->policy), out->keyid) : add_reject(o, out)) <
		    0 ||
	    vigil_json_format(o, &text) < 0)
		return -ENOMEM;
	fputs(text, stdout);
	return 0;
}

static int report(const struct verify_opts *o, const struct outcome *out)
{
	if (o->json && print_json(out) < 0) {
		fprintf(stderr, "vigil policy verify: %s\n", strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	if (!o->json)
		print_text(out);
	if (out->verdict == VIGIL_POLICY_LOADED)
		return VIGIL_EXIT_OK;
	if (out->verdict == VIGIL_POLICY_BAD_FORMAT)
		fprintf(stderr,
			"vigil policy verify: %s: rejected: policy_bad_format: line %zu: %s\n",
			o->envelope, out->err.line, out->err.what);
	else
		fprintf(stderr, "vigil policy verify: %s: rejected: policy_%s\n", o->envelope,
			vigil_policy_verdict_name(out->verdict));
	return VIGIL_EXIT_REJECTED;
}

static int verify(const struct verify_opts *o)
{
	EVP_PKEY *keys[TRUST_MAX] = { NULL };
	struct outcome out = { .verdict = VIGIL_POLICY_LOADED };
	int r = cmd_load_trust("policy verify", o->trust, o->ntrust, keys);

	if (r == 0)
		r = check(o, keys, &out);
	if (r == 0)
		r = report(o, &out);
	else
		r = VIGIL_EXIT_RUNTIME;
	vigil_policy_free(out.policy);
	free_keys(keys, o->ntrust);
	return r;
}

static int verify_option(int c, struct verify_opts *o, char *argv[])
{
	switch (c) {
	case 't':
		if (o->ntrust == TRUST_MAX)
			return cmd_usage_error("policy verify", "too many trusted keys at", optarg);
		o->trust[o->ntrust++] = optarg;
		return 0;
	case 'n':
		if (cmd_parse_time(optarg, &o->now) < 0)
			return cmd_usage_error("policy verify", "not an RFC 3339 UTC time", optarg);
		return 0;
	case 'j':
		o->json = true;
		return 0;
	default:
		return cmd_option_error("policy verify", argv, c == ':');
	}
}

/**
 * cmd_policy_verify() - the `vigil policy verify` subcommand
 * @argc: argument count, including argv[0] ("verify")
 * @argv: the arguments after "vigil policy"
 *
 * Return: VIGIL_EXIT_OK (verified), VIGIL_EXIT_REJECTED, VIGIL_EXIT_USAGE or
 * VIGIL_EXIT_RUNTIME.
 */
int cmd_policy_verify(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "trust", required_argument, NULL, 't' },
		{ "now", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct verify_opts o = { .now = (int64_t)time(NULL) };
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h') {
			verify_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		r = verify_option(c, &o, argv);
		if (r)
			return r;
	}
	r = cmd_operand("policy verify", argc, argv, "missing input", "P.dsse", &o.envelope);
	if (r)
		return r;
	if (!o.ntrust)
		return cmd_usage_error("policy verify", "missing option", "--trust");
	return verify(&o);
}
