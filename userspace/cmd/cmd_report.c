// SPDX-License-Identifier: MIT
/*
 * cmd_report.c: `vigil report`: the compliance report of an evidence archive, as one
 * self-contained HTML file or as an in-toto Statement (JSON) signed into a DSSE envelope.
 *
 * The archive is read by libvigil (vigil_report_build()); this file parses the command line,
 * reads and parses the SBOM and the signing key, signs the JSON, writes the output and says
 * what it wrote on stderr: "report written to OUT (N attestations, V violations)".
 *
 * Exit codes: 0 written; 2 usage (unknown option, missing --archive/--format/-o, a time that
 * is not RFC 3339 UTC, --from after --to, JSON without --key or --unsigned); 3 could not read
 * or write: the archive, no entry in the selection, the SBOM (unreadable, or not a CycloneDX
 * 1.5/1.6 BOM: the parser's message names what is wrong), the key, the output. A report is
 * not a verification, so it never exits 1; `vigil archive verify` is the check.
 *
 * Invariants: the output is written only when everything succeeded, atomically (a reader
 * never sees half a report); the key's file contents are wiped before they are freed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "compliance.h"
#include "policy.h"

#define CMD "report"

struct report_opts {
	struct vigil_report_options lib;
	enum vigil_report_format format;
	bool have_format;
	const char *sbom;
	const char *key;
	bool unsigned_json;
	const char *out;
};

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil report --archive DIR --format html|json -o OUT\n"
		"                    [--device ID] [--from TIME] [--to TIME] [--sbom BOM.json]\n"
		"                    [--key KEY.pem | --unsigned]\n\n"
		"Write the compliance report of an evidence archive: devices, policies, every\n"
		"attestation and violation, monitoring opt-outs, measured files (with their SBOM\n"
		"components) and the IEC 62443-4-2 / EU CRA traceability matrix.\n\n"
		"Options:\n"
		"  --archive DIR    the evidence archive (vigil verify --archive)\n"
		"  --format FORMAT  html: one self-contained file that prints well;\n"
		"                   json: an in-toto Statement (docs/report.schema.json)\n"
		"  -o, --out OUT    where to write (replaced atomically; - for stdout)\n"
		"  --device ID      only this device\n"
		"  --from TIME      only entries at or after TIME (RFC 3339 UTC,\n"
		"                   e.g. 2027-01-01T00:00:00Z)\n"
		"  --to TIME        only entries at or before TIME\n"
		"  --sbom BOM.json  a CycloneDX 1.5 or 1.6 JSON SBOM: measured files are\n"
		"                   attributed to its components by SHA-256\n"
		"  --key KEY.pem    json: sign the Statement into a DSSE envelope with this key\n"
		"                   (vigil key generate)\n"
		"  --unsigned       json: write the bare Statement\n"
		"  -h, --help       show this help\n");
}

static int option(int c, struct report_opts *o, char *argv[])
{
	switch (c) {
	case 'a':
		o->lib.archive = optarg;
		return 0;
	case 'd':
		if (!vigil_archive_device_valid(optarg, strlen(optarg)))
			return cmd_usage_error(CMD, "not a device name", optarg);
		o->lib.device = optarg;
		return 0;
	case 'F':
	case 'T':
		if (cmd_parse_time(optarg, c == 'F' ? &o->lib.from : &o->lib.to) < 0)
			return cmd_usage_error(CMD, "not an RFC 3339 UTC time", optarg);
		return 0;
	case 'f':
		if (strcmp(optarg, "html") != 0 && strcmp(optarg, "json") != 0)
			return cmd_usage_error(CMD, "unknown format", optarg);
		o->format = !strcmp(optarg, "html") ? VIGIL_REPORT_HTML : VIGIL_REPORT_JSON;
		o->have_format = true;
		return 0;
	case 's':
		o->sbom = optarg;
		return 0;
	case 'k':
		o->key = optarg;
		return 0;
	case 'u':
		o->unsigned_json = true;
		return 0;
	case 'o':
		o->out = optarg;
		return 0;
	default:
		return cmd_option_error(CMD, argv, c == ':');
	}
}

static int check_options(const struct report_opts *o)
{
	if (o->lib.from > o->lib.to)
		return cmd_usage_error(CMD, "--from is after --to", "--from");
	if (o->format == VIGIL_REPORT_HTML && (o->key || o->unsigned_json))
		return cmd_usage_error(CMD, "only for --format json",
				       o->key ? "--key" : "--unsigned");
	if (o->format == VIGIL_REPORT_JSON && !o->key == !o->unsigned_json)
		return cmd_usage_error(CMD, "--format json needs exactly one of",
				       "--key KEY.pem, --unsigned");
	return 0;
}

/* The SBOM: read, hashed, parsed; a BOM vigil cannot use is named with the parser's reason. */
static int load_sbom(const char *path, struct vigil_report_options *lib, struct vigil_sbom **ret)
{
	_cleanup_free_ uint8_t *text = NULL;
	const char *err = NULL;
	size_t len = 0;
	int r;

	if (cmd_read_file(CMD, path, VIGIL_SBOM_MAX, &text, &len) < 0)
		return -EIO;
	r = vigil_hash_digest(TPM2_ALG_SHA256, text, len, lib->sbom_sha256, 32);
	if (r == 0)
		r = vigil_sbom_parse((const char *)text, len, ret, &err);
	if (r == -EBADMSG)
		fprintf(stderr, "vigil " CMD ": %s: not a CycloneDX SBOM vigil reads: %s\n", path,
			err ? err : "malformed");
	else if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
	if (r < 0)
		return r;
	lib->sbom = *ret;
	lib->sbom_name = path;
	return 0;
}

/* The Statement in a DSSE envelope signed by @key; *@text is replaced by the envelope. */
static int sign(EVP_PKEY *key, char **text, size_t *len)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL;
	char *out = NULL, err[256];
	int r = vigil_dsse_new(VIGIL_INTOTO_PAYLOAD_TYPE, (const uint8_t *)*text, *len, &env);

	if (r == 0)
		r = vigil_dsse_sign(env, key);
	if (r == 0)
		r = vigil_dsse_format(env, &out);
	if (r < 0 || !out) {
		fprintf(stderr, "vigil " CMD ": signing: %s\n",
			r == -EIO ? cmd_openssl_error(err, sizeof(err)) :
				    strerror(r < 0 ? -r : ENOMEM));
		return r < 0 ? r : -ENOMEM;
	}
	free(*text);
	*text = out;
	*len = strlen(out);
	return 0;
}

static int build(const struct report_opts *o, char **ret, size_t *ret_len,
		 struct vigil_report_stats *stats)
{
	int r = vigil_report_build(&o->lib, o->format, ret, ret_len, stats);

	if (r == -ENOENT)
		fprintf(stderr, "vigil " CMD ": %s: no entries selected%s\n", o->lib.archive,
			o->lib.device || o->lib.from != INT64_MIN || o->lib.to != INT64_MAX ?
				" (check --device, --from and --to)" :
				"");
	else if (r == -ENOTDIR)
		fprintf(stderr, "vigil " CMD ": %s: not an evidence archive\n", o->lib.archive);
	else if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->lib.archive, strerror(-r));
	return r;
}

static int write_output(const char *path, const char *text, size_t len)
{
	int r;

	if (!strcmp(path, "-"))
		return fwrite(text, 1, len, stdout) == len ? 0 : -EIO;
	r = vigil_file_write_atomic(path, text, len, 0644);
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
	return r;
}

static int report(struct report_opts *o)
{
	_cleanup_(vigil_sbom_freep) struct vigil_sbom *sbom = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	_cleanup_free_ char *text = NULL;
	struct vigil_report_stats st = { 0 };
	size_t len = 0;

	if ((o->sbom && load_sbom(o->sbom, &o->lib, &sbom) < 0) ||
	    (o->key && cmd_load_private(CMD, o->key, &key) < 0) || build(o, &text, &len, &st) < 0 ||
	    !text || (key && sign(key, &text, &len) < 0) || write_output(o->out, text, len) < 0)
		return VIGIL_EXIT_RUNTIME;
	fprintf(stderr, "report written to %s (%zu attestations, %zu violations)\n",
		strcmp(o->out, "-") ? o->out : "standard output", st.attestations, st.violations);
	return VIGIL_EXIT_OK;
}

/**
 * cmd_report() - the `vigil report` subcommand
 * @argc: argument count, including argv[0] ("report")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME.
 */
int cmd_report(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "archive", required_argument, NULL, 'a' },
		{ "device", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'f' },
		{ "sbom", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "unsigned", no_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct report_opts o = { .lib = { .from = INT64_MIN, .to = INT64_MAX } };
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
		if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		r = option(c, &o, argv);
		if (r)
			return r;
	}
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	if (!o.lib.archive || !o.have_format || !o.out)
		return cmd_usage_error(CMD, "missing option",
				       !o.lib.archive ? "--archive" :
				       !o.have_format ? "--format" :
							"-o");
	r = check_options(&o);
	if (r)
		return r;
	o.lib.now = (int64_t)time(NULL);
	return report(&o);
}
