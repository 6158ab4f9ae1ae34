// SPDX-License-Identifier: MIT
/*
 * cmd_quote.c: `vigil quote`: quote PCRs with the AK for a verifier's nonce and write the
 * evidence document (docs/evidence-format.md) with the PCR values, the AK's public area, the
 * measurement log and a few facts about the host. The quote and the evidence are built by
 * quote_evidence.c, which `vigil agent` uses too (the quote first, the log read after it).
 *
 * Invariants: nothing is written unless the whole evidence could be produced; the output file
 * is replaced atomically; exit 0, 2 (usage) or 3 (TPM, log, I/O).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "tpm.h"
#include "uapi/vigil.h"

#define CMD "quote"
#define DEFAULT_LOG CMD_DEFAULT_LOG
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define DEFAULT_PCRS "sha256:" STRINGIFY(VIGIL_DEFAULT_PCR)

struct quote_opts {
	uint8_t nonce[VIGIL_NONCE_MAX];
	size_t nonce_len;
	TPML_PCR_SELECTION sel;
	uint32_t from;
	uint32_t handle;
	const char *log; /* NULL: no log */
	const char *out;
	const char *tcti;
};

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil quote --nonce HEX [--pcrs SEL] [--from N] [--log FILE | --no-log]\n"
		"                   [--handle H] [--tcti TCTI] -o EVIDENCE.json\n\n"
		"Quote PCRs with the attestation key and write the evidence for `vigil verify`.\n\n"
		"Options:\n"
		"  --nonce HEX      the verifier's nonce, %d to %d bytes in hex\n"
		"  --pcrs SEL       PCRs to quote, tpm2-tools syntax (default: %s)\n"
		"  --from N         include the log from record N on (default: 0, the whole log)\n"
		"  --log FILE       binary measurement log (default: %s)\n"
		"  --no-log         include no log\n"
		"  --handle H       the AK's persistent handle (default: 0x%08x)\n"
		"  --tcti TCTI      TPM connection (default: $TPM2TOOLS_TCTI, $TSS2_TCTI or %s)\n"
		"  -o, --output F   where to write the evidence (\"-\": standard output)\n"
		"  -h, --help       show this help\n",
		VIGIL_NONCE_MIN, VIGIL_NONCE_MAX, DEFAULT_PCRS, DEFAULT_LOG,
		VIGIL_AK_HANDLE_DEFAULT, VIGIL_TCTI_DEFAULT);
}

static int write_evidence(const char *out, const struct vigil_evidence *ev)
{
	_cleanup_free_ char *json = NULL;
	int r = vigil_evidence_format(ev, &json);

	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": evidence: %s\n", strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (!strcmp(out, "-")) {
		fputs(json, stdout);
		return VIGIL_EXIT_OK;
	}
	r = vigil_file_write_atomic(out, json, strlen(json), 0644);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", out, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

static int take_quote(const struct quote_opts *o)
{
	_cleanup_(vigil_evidence_freep) struct vigil_evidence *ev = NULL;
	const struct quote_spec q = {
		.nonce = o->nonce,
		.nonce_len = o->nonce_len,
		.sel = &o->sel,
		.from = o->from,
		.handle = o->handle,
		.tcti = o->tcti,
		.log = o->log,
		.log_hint = o->log && !strcmp(o->log, DEFAULT_LOG) ?
				    " (vigil.ko not loaded? --no-log quotes without a log)" :
				    NULL,
	};

	if (quote_evidence(CMD, &q, &ev) < 0)
		return VIGIL_EXIT_RUNTIME;
	return write_evidence(o->out, ev);
}

static int parse_option(int c, struct quote_opts *o, char *argv[])
{
	switch (c) {
	case 'n':
		return cmd_parse_nonce(optarg, o->nonce, &o->nonce_len) < 0 ?
			       cmd_usage_error(CMD, "nonce must be 8 to 64 bytes in hex", optarg) :
			       0;
	case 'p':
		return vigil_pcrsel_parse(optarg, &o->sel) < 0 ?
			       cmd_usage_error(CMD, "bad PCR selection", optarg) :
			       0;
	case 'f':
		return cmd_parse_u32(optarg, &o->from) < 0 ?
			       cmd_usage_error(CMD, "bad record number", optarg) :
			       0;
	case 'H':
		return cmd_parse_u32(optarg, &o->handle) < 0 ?
			       cmd_usage_error(CMD, "bad handle", optarg) :
			       0;
	case 'l':
		o->log = optarg;
		return 0;
	case 'N':
		o->log = NULL;
		return 0;
	case 'o':
		o->out = optarg;
		return 0;
	case 'T':
		o->tcti = optarg;
		return 0;
	default:
		return cmd_option_error(CMD, argv, c == ':');
	}
}

/**
 * cmd_quote() - the `vigil quote` subcommand
 * @argc: argument count, including argv[0] ("quote")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME.
 */
int cmd_quote(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "nonce", required_argument, NULL, 'n' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "from", required_argument, NULL, 'f' },
		{ "log", required_argument, NULL, 'l' },
		{ "no-log", no_argument, NULL, 'N' },
		{ "handle", required_argument, NULL, 'H' },
		{ "output", required_argument, NULL, 'o' },
		{ "tcti", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct quote_opts o = { .handle = VIGIL_AK_HANDLE_DEFAULT, .log = DEFAULT_LOG };
	int c, r;

	cmd_quiet_tss();
	if (vigil_pcrsel_parse(DEFAULT_PCRS, &o.sel) < 0)
		return VIGIL_EXIT_RUNTIME;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:", options, NULL)) != -1) {
		if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		r = parse_option(c, &o, argv);
		if (r)
			return r;
	}
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	if (!o.nonce_len)
		return cmd_usage_error(CMD, "missing option", "--nonce");
	if (!o.out)
		return cmd_usage_error(CMD, "missing option", "--output");
	if (o.from && !o.log)
		return cmd_usage_error(CMD, "--from needs a log; not with", "--no-log");
	return take_quote(&o);
}
