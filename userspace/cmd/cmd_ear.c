// SPDX-License-Identifier: MIT
/*
 * cmd_ear.c: `vigil ear verify`: check a signed attestation result (an EAR, an ES256 JWT) the
 * way a relying party does, and show its appraisals.
 *
 * The JWT is read whole (at most VIGIL_JWS_MAX bytes; one final newline, as editors and
 * `echo` leave it, is not part of it), checked against the given public keys (only P-256 keys
 * can verify ES256) and its claims read by libvigil's vigil_ear_verify(). On success the
 * appraisals go to stdout, as text or (--json) as the claims set itself.
 *
 * Exit codes: 0 verified, 1 rejected ("vigil ear: EAR rejected: <verdict>: <detail>" on
 * stderr, nothing on stdout), 2 usage, 3 could not check (unreadable key or file, out of
 * memory).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "compliance.h"

#define KEYS_MAX 16

struct verify_opts {
	const char *input;
	const char *keys[KEYS_MAX];
	size_t nkeys;
	bool json;
};

static void verify_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil ear verify EAR.jwt --key KEY.pub [--key KEY.pub]... [--json]\n\n"
		"Check an EAT Attestation Result (an ES256 JWT that `vigil verify` signed):\n"
		"its signature by a trusted key, then its claims. EAR.jwt may be - for stdin.\n\n"
		"Options:\n"
		"  --key KEY.pub    a trusted EAR-signing public key, PEM (repeatable, up to %d;\n"
		"                   only ECDSA P-256 keys can verify ES256)\n"
		"  --json           print the claims set as JSON\n"
		"  -h, --help       show this help\n",
		KEYS_MAX);
}

static void print_appraisal(const struct vigil_ear *e, enum vigil_ear_submod s)
{
	const struct vigil_ear_appraisal *a = &e->submods[s];

	printf("%s: %s\n", vigil_ear_submod_name(s), vigil_ear_tier_name(a->status));
	for (size_t c = 0; c < VIGIL_TV_COUNT; c++)
		if (a->has[c])
			printf("  %s %d (%s)\n", vigil_ear_claim_name(c), a->tv[c],
			       vigil_ear_tier_name(vigil_ear_tier_of(a->tv[c])));
}

static void print_text(const struct vigil_ear *e)
{
	char issued[32], nonce[2 * VIGIL_NONCE_MAX + 1] = "";

	cmd_format_time(e->iat, issued, sizeof(issued));
	printf("EAR verified (profile %s), issued %s\n",
	       e->profile == VIGIL_EAR_IETF ? VIGIL_EAR_PROFILE_IETF : VIGIL_EAR_PROFILE_VERAISON,
	       issued);
	printf("verifier: %s (%s)\n", e->developer, e->build);
	for (size_t s = 0; s < VIGIL_SUBMOD_COUNT; s++)
		print_appraisal(e, s);
	printf("policy: %s\n", e->policy_id[0] ? e->policy_id : "none");
	if (e->nonce_len)
		vigil_hex_encode(e->nonce, e->nonce_len, nonce, sizeof(nonce));
	printf("nonce: %s\n", e->nonce_len ? nonce : "none");
}

/* One final newline ("\n" or "\r\n") is the file's, not the JWT's. */
static size_t strip_newline(const uint8_t *text, size_t len)
{
	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	return len;
}

/* What vigil_ear_verify() said: a verdict (or -errno), and the EAR or why not. */
struct outcome {
	int verdict;
	struct vigil_ear ear;
	char *claims;
	const char *detail;
};

static int report(const struct verify_opts *o, const struct outcome *out)
{
	char err[256];

	if (out->verdict < 0) {
		fprintf(stderr, "vigil ear: %s: cannot check: %s\n", o->input,
			out->verdict == -EIO ? cmd_openssl_error(err, sizeof(err)) :
					       strerror(-out->verdict));
		return VIGIL_EXIT_RUNTIME;
	}
	if (out->verdict != VIGIL_EAR_VALID) {
		fprintf(stderr, "vigil ear: EAR rejected: %s: %s\n",
			vigil_ear_verdict_name(out->verdict), out->detail ? out->detail : "");
		return VIGIL_EXIT_REJECTED;
	}
	if (o->json)
		fputs(out->claims, stdout);
	else
		print_text(&out->ear);
	return VIGIL_EXIT_OK;
}

/* Read and check the JWT; a file too large for an EAR is rejected, not an I/O error. */
static int check(const struct verify_opts *o, EVP_PKEY *const *keys)
{
	_cleanup_free_ uint8_t *jwt = NULL;
	struct outcome out = { .verdict = VIGIL_EAR_BAD_FORMAT };
	size_t len = 0;
	int r = vigil_file_read(o->input, VIGIL_JWS_MAX + 2, &jwt, &len);

	if (r == -EFBIG) {
		out.detail = "larger than an EAR may be";
		return report(o, &out);
	}
	if (r < 0) {
		fprintf(stderr, "vigil ear: %s: %s\n", o->input, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	len = strip_newline(jwt, len);
	out.verdict = vigil_ear_verify((const char *)jwt, len, keys, o->nkeys, &out.ear,
				       &out.claims, &out.detail);
	r = report(o, &out);
	free(out.claims);
	return r;
}

static int verify(const struct verify_opts *o)
{
	EVP_PKEY *keys[KEYS_MAX] = { NULL };
	int r = cmd_load_trust("ear", o->keys, o->nkeys, keys);

	r = r == 0 ? check(o, keys) : VIGIL_EXIT_RUNTIME;
	for (size_t i = 0; i < o->nkeys; i++)
		EVP_PKEY_free(keys[i]);
	return r;
}

static int verify_option(int c, struct verify_opts *o, char *argv[])
{
	switch (c) {
	case 'k':
		if (o->nkeys == KEYS_MAX)
			return cmd_usage_error("ear verify", "too many keys at", optarg);
		o->keys[o->nkeys++] = optarg;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	default:
		return cmd_option_error("ear verify", argv, c == ':');
	}
}

static int ear_verify(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct verify_opts o = { 0 };
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
	r = cmd_operand("ear verify", argc, argv, "missing input", "EAR.jwt", &o.input);
	if (r)
		return r;
	if (!o.nkeys)
		return cmd_usage_error("ear verify", "missing option", "--key");
	return verify(&o);
}

/**
 * cmd_ear() - the `vigil ear` subcommand: `vigil ear verify`
 * @argc: argument count, including argv[0] ("ear")
 * @argv: the arguments after "vigil"
 *
 * Return: a VIGIL_EXIT_* code.
 */
int cmd_ear(int argc, char *argv[])
{
	static const struct cmd_sub subcommands[] = {
		{ "verify", ear_verify, "check a signed attestation result against trusted keys" },
	};

	return cmd_dispatch("ear", argc, argv, subcommands,
			    sizeof(subcommands) / sizeof(subcommands[0]));
}
