// SPDX-License-Identifier: MIT
/*
 * cmd_policy_keylime.c: `vigil policy import --keylime` and `vigil policy export --keylime`:
 * convert between Keylime's runtime policy and vigil's policy (libvigil's keylime.h says what
 * maps to what and what is refused).
 *
 * import reads a Keylime runtime policy (JSON; a DSSE-signed one must be verified with Keylime's
 * tools first) and writes a plain vigil policy, to be signed with `vigil policy sign`. export
 * reads a plain policy, or a signed one (P.dsse) checked against --trust keys exactly as a
 * verifier would, and writes Keylime's format. What one side cannot say is refused with the
 * member named ("unsupported: ..."); what it need not say is mentioned as a note on stderr.
 *
 * Exit codes: 0 written; 1 (export) a signed policy rejected (signature, format, expiry);
 * 2 usage; 3 could not convert (unreadable or malformed input, unsupported content, I/O).
 *
 * Invariants: the output is written atomically and only after the whole conversion succeeded;
 * errors are one line "vigil policy import|export: <what>: <why>".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "cmd.h"
#include "keylime.h"
#include "libvigil.h"
#include "uapi/vigil.h"

#define DAY 86400
#define TRUST_MAX 16

static int write_out(const char *cmd, const char *path, const char *text, size_t len)
{
	int r = vigil_file_write_atomic(path, text, len, 0644);

	if (r < 0) {
		fprintf(stderr, "vigil %s: %s: %s\n", cmd, path, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

/* ---- import ---- */

#define IMPORT "policy import"

struct import_opts {
	struct vigil_keylime_import_opts k;
	bool keylime;
	uint64_t valid_for;
	const char *in;
	const char *out;
	bool quiet;
};

static void import_usage(FILE *f)
{
	fprintf(f, "Usage: vigil policy import --keylime FILE --name NAME -o P.json [<options>]\n\n"
		   "Convert a Keylime runtime policy into a vigil policy (unsigned).\n\n"
		   "Options:\n"
		   "  --keylime             the input is a Keylime runtime policy (JSON)\n"
		   "  --name NAME           the policy's name ([A-Za-z0-9._-], required)\n"
		   "  --version N           its version (default: Keylime's \"release\", else 1)\n"
		   "  --valid-for DAYS      valid for DAYS from now (default 365)\n"
		   "  --valid-until TIME    valid until TIME (YYYY-MM-DDTHH:MM:SSZ)\n"
		   "  --violations WHAT     fail (default), warn or ignore\n"
		   "  --hash-alg ALG        hash_alg of a policy without digests (default sha256)\n"
		   "  -o, --output P.json   where to write it (required)\n"
		   "  -q, --quiet           no notes on stderr\n"
		   "  -h, --help            show this help\n");
}

static void import_notes(const struct vigil_keylime_notes *n)
{
	if (n->log_hash_alg[0])
		fprintf(stderr,
			"vigil " IMPORT ": note: ima.log_hash_alg %s is informational: vigil "
			"reads the template hash from the log\n",
			n->log_hash_alg);
	if (n->ignored_keyrings)
		fprintf(stderr,
			"vigil " IMPORT ": note: %zu ima.ignored_keyrings: without keyrings "
			"they change nothing\n",
			n->ignored_keyrings);
}

static int import(const struct import_opts *o)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_policy_error err = { 0 };
	struct vigil_keylime_notes notes;
	_cleanup_free_ uint8_t *text = NULL;
	_cleanup_free_ char *doc = NULL;
	size_t len;
	int r;

	if (cmd_read_file(IMPORT, o->in, VIGIL_POLICY_MAX, &text, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = vigil_keylime_import((const char *)text, len, &o->k, &p, &notes, &err);
	if (r < 0) {
		fprintf(stderr, "vigil " IMPORT ": %s: %s\n", o->in,
			r == -ENOMEM ? strerror(ENOMEM) : err.what);
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_policy_format(p, &doc, &len);
	if (r < 0) {
		fprintf(stderr, "vigil " IMPORT ": %s\n", strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (!o->quiet)
		import_notes(&notes);
	return write_out(IMPORT, o->out, doc, len);
}

enum {
	OPT_KEYLIME = 256,
	OPT_NAME,
	OPT_VERSION,
	OPT_VALID_FOR,
	OPT_VALID_UNTIL,
	OPT_VIOLATIONS,
	OPT_HASH_ALG,
	OPT_TRUST
};

static int import_violations(const char *s, struct import_opts *o)
{
	for (int v = VIGIL_POLICY_VIOLATIONS_FAIL; v <= VIGIL_POLICY_VIOLATIONS_IGNORE; v++)
		if (!strcmp(s, vigil_policy_violations_name((enum vigil_policy_violations)v))) {
			o->k.violations = (enum vigil_policy_violations)v;
			return -1;
		}
	return cmd_usage_error(IMPORT, "invalid --violations (fail, warn, ignore)", s);
}

/* Returns -1 to go on, or the exit code. */
static int import_option(int c, struct import_opts *o, char *argv[])
{
	switch (c) {
	case OPT_KEYLIME:
		o->keylime = true;
		return -1;
	case OPT_NAME:
		o->k.name = optarg;
		return -1;
	case OPT_VERSION:
		o->k.version_set = true;
		return cmd_parse_u64(optarg, ((uint64_t)1 << 53) - 1, &o->k.version) < 0 ?
			       cmd_usage_error(IMPORT, "invalid version", optarg) :
			       -1;
	case OPT_VALID_FOR:
		return cmd_parse_u64(optarg, 36500, &o->valid_for) < 0 || !o->valid_for ?
			       cmd_usage_error(IMPORT, "invalid number of days (1..36500)",
					       optarg) :
			       -1;
	case OPT_VALID_UNTIL:
		return cmd_parse_time(optarg, &o->k.valid_until) < 0 ?
			       cmd_usage_error(IMPORT, "invalid time (YYYY-MM-DDTHH:MM:SSZ)",
					       optarg) :
			       -1;
	case OPT_VIOLATIONS:
		return import_violations(optarg, o);
	case OPT_HASH_ALG:
		return vigil_hash_from_name(optarg, &o->k.hash_alg) < 0 ?
			       cmd_usage_error(IMPORT, "unknown hash algorithm", optarg) :
			       -1;
	case 'o':
		o->out = optarg;
		return -1;
	case 'q':
		o->quiet = true;
		return -1;
	case 'h':
		import_usage(stdout);
		return VIGIL_EXIT_OK;
	default:
		return cmd_option_error(IMPORT, argv, c == ':');
	}
}

static int import_check(struct import_opts *o, int argc, char *argv[])
{
	int64_t now = (int64_t)time(NULL);

	if (optind < argc)
		o->in = argv[optind++];
	if (optind < argc)
		return cmd_usage_error(IMPORT, "unexpected argument", argv[optind]);
	if (!o->keylime)
		return cmd_usage_error(IMPORT, "missing option (the input format)", "--keylime");
	if (!o->in)
		return cmd_usage_error(IMPORT, "missing argument", "FILE");
	if (!o->k.name)
		return cmd_usage_error(IMPORT, "missing option", "--name");
	if (!*o->k.name || strlen(o->k.name) > VIGIL_POLICY_NAME_MAX ||
	    strspn(o->k.name,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		    strlen(o->k.name))
		return cmd_usage_error(IMPORT, "invalid name ([A-Za-z0-9._-], at most 128)",
				       o->k.name);
	if (!o->out)
		return cmd_usage_error(IMPORT, "missing option", "--output");
	if (o->k.valid_until && o->k.valid_until <= now)
		return cmd_usage_error(IMPORT, "--valid-until is in the past", "--valid-until");
	if (!o->k.valid_until)
		o->k.valid_until = now + (int64_t)o->valid_for * DAY;
	o->k.created = now;
	return -1;
}

/**
 * cmd_policy_import() - the `vigil policy import` subcommand
 * @argc: argument count, including argv[0] ("import")
 * @argv: the arguments after "vigil policy"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME.
 */
int cmd_policy_import(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "keylime", no_argument, NULL, OPT_KEYLIME },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "valid-for", required_argument, NULL, OPT_VALID_FOR },
		{ "valid-until", required_argument, NULL, OPT_VALID_UNTIL },
		{ "violations", required_argument, NULL, OPT_VIOLATIONS },
		{ "hash-alg", required_argument, NULL, OPT_HASH_ALG },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char generator[64];
	struct import_opts o = { .valid_for = 365 };
	int c, r = -1;

	snprintf(generator, sizeof(generator), "vigil %s (Keylime import)", VIGIL_VERSION);
	o.k.generator = generator;
	opterr = 0;
	optind = 0;
	while (r < 0 && (c = getopt_long(argc, argv, ":o:qh", options, NULL)) != -1)
		r = import_option(c, &o, argv);
	if (r < 0)
		r = import_check(&o, argc, argv);
	return r < 0 ? import(&o) : r;
}

/* ---- export ---- */

#define EXPORT "policy export"

struct export_opts {
	bool keylime;
	const char *in;
	const char *out;
	const char *trust[TRUST_MAX];
	size_t n_trust;
	bool quiet;
};

static void export_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil policy export --keylime P.json|P.dsse -o FILE [--trust KEY.pub]...\n\n"
		"Convert a vigil policy into a Keylime runtime policy.\n\n"
		"Options:\n"
		"  --keylime             the output is a Keylime runtime policy (JSON)\n"
		"  --trust KEY.pub       the input is a signed policy (DSSE) to check against this\n"
		"                        key, as a verifier would (repeat for more keys)\n"
		"  -o, --output FILE     where to write it (required)\n"
		"  -q, --quiet           no notes on stderr\n"
		"  -h, --help            show this help\n\n"
		"A policy with any_path, deny or pcrs cannot be exported: Keylime's runtime\n"
		"policy has no way to say them.\n");
}

static int load_signed(const struct export_opts *o, const uint8_t *text, size_t len,
		       struct vigil_policy **ret)
{
	EVP_PKEY *keys[TRUST_MAX] = { 0 };
	struct vigil_policy_error err = { 0 };
	int r = cmd_load_trust(EXPORT, o->trust, o->n_trust, keys) < 0 ? VIGIL_EXIT_RUNTIME :
									 VIGIL_EXIT_OK;

	if (r == VIGIL_EXIT_OK) {
		r = vigil_policy_load_signed((const char *)text, len, keys, o->n_trust,
					     (int64_t)time(NULL), ret, NULL, &err);
		if (r < 0)
			fprintf(stderr, "vigil " EXPORT ": %s: %s\n", o->in, strerror(-r));
		else if (r != VIGIL_POLICY_LOADED)
			fprintf(stderr, "vigil " EXPORT ": %s: rejected: policy_%s%s%s\n", o->in,
				vigil_policy_verdict_name((enum vigil_policy_verdict)r),
				r == VIGIL_POLICY_BAD_FORMAT ? ": " : "",
				r == VIGIL_POLICY_BAD_FORMAT ? err.what : "");
		r = r < 0 ? VIGIL_EXIT_RUNTIME : r ? VIGIL_EXIT_REJECTED : VIGIL_EXIT_OK;
	}
	for (size_t i = 0; i < o->n_trust; i++)
		EVP_PKEY_free(keys[i]);
	return r;
}

static int load_plain(const struct export_opts *o, const uint8_t *text, size_t len,
		      struct vigil_policy **ret)
{
	struct vigil_policy_error err = { 0 };
	int r = vigil_policy_parse((const char *)text, len, ret, &err);

	if (r == 0)
		return VIGIL_EXIT_OK;
	if (r == -ENOMEM)
		fprintf(stderr, "vigil " EXPORT ": %s: %s\n", o->in, strerror(ENOMEM));
	else if (memmem(text, len, "\"payloadType\"", 13))
		fprintf(stderr, "vigil " EXPORT ": %s: a signed policy: give --trust KEY.pub\n",
			o->in);
	else
		fprintf(stderr, "vigil " EXPORT ": %s: line %zu: %s\n", o->in, err.line, err.what);
	return VIGIL_EXIT_RUNTIME;
}

static void export_notes(const struct vigil_keylime_notes *n)
{
	char until[32];
	time_t t = (time_t)n->valid_until;
	struct tm tm;

	if (gmtime_r(&t, &tm) && strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm))
		fprintf(stderr,
			"vigil " EXPORT ": note: Keylime policies do not expire: "
			"valid_until %s is not carried\n",
			until);
	if (n->globs)
		fprintf(stderr, "vigil " EXPORT ": note: %zu excludes globs written as regexes\n",
			n->globs);
	if (n->packages)
		fprintf(stderr, "vigil " EXPORT ": note: %zu packages entries are not carried\n",
			n->packages);
	if (n->violations)
		fprintf(stderr, "vigil " EXPORT ": note: Keylime rejects violation records: "
				"\"violations\" is not carried\n");
}

static int export(const struct export_opts *o)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_policy_error err = { 0 };
	struct vigil_keylime_notes notes;
	_cleanup_free_ uint8_t *text = NULL;
	_cleanup_free_ char *out = NULL;
	size_t len;
	int r;

	if (cmd_read_file(EXPORT, o->in, VIGIL_POLICY_ENVELOPE_MAX, &text, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = o->n_trust ? load_signed(o, text, len, &p) : load_plain(o, text, len, &p);
	if (r != VIGIL_EXIT_OK)
		return r;
	r = vigil_keylime_export(p, &out, &len, &notes, &err);
	if (r < 0) {
		fprintf(stderr, "vigil " EXPORT ": %s: %s\n", o->in, err.what);
		return VIGIL_EXIT_RUNTIME;
	}
	if (!o->quiet)
		export_notes(&notes);
	return write_out(EXPORT, o->out, out, len);
}

/* Returns -1 to go on, or the exit code. */
static int export_option(int c, struct export_opts *o, char *argv[])
{
	switch (c) {
	case OPT_KEYLIME:
		o->keylime = true;
		return -1;
	case OPT_TRUST:
		if (o->n_trust == TRUST_MAX)
			return cmd_usage_error(EXPORT, "too many --trust keys", optarg);
		o->trust[o->n_trust++] = optarg;
		return -1;
	case 'o':
		o->out = optarg;
		return -1;
	case 'q':
		o->quiet = true;
		return -1;
	case 'h':
		export_usage(stdout);
		return VIGIL_EXIT_OK;
	default:
		return cmd_option_error(EXPORT, argv, c == ':');
	}
}

/**
 * cmd_policy_export() - the `vigil policy export` subcommand
 * @argc: argument count, including argv[0] ("export")
 * @argv: the arguments after "vigil policy"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_REJECTED (a signed input rejected), VIGIL_EXIT_USAGE or
 * VIGIL_EXIT_RUNTIME.
 */
int cmd_policy_export(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "keylime", no_argument, NULL, OPT_KEYLIME },
		{ "trust", required_argument, NULL, OPT_TRUST },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct export_opts o = { 0 };
	int c, r = -1;

	opterr = 0;
	optind = 0;
	while (r < 0 && (c = getopt_long(argc, argv, ":o:qh", options, NULL)) != -1)
		r = export_option(c, &o, argv);
	if (r >= 0)
		return r;
	if (optind < argc)
		o.in = argv[optind++];
	if (optind < argc)
		return cmd_usage_error(EXPORT, "unexpected argument", argv[optind]);
	if (!o.keylime)
		return cmd_usage_error(EXPORT, "missing option (the output format)", "--keylime");
	if (!o.in)
		return cmd_usage_error(EXPORT, "missing argument", "P.json");
	if (!o.out)
		return cmd_usage_error(EXPORT, "missing option", "--output");
	return export(&o);
}
