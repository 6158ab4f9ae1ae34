// SPDX-License-Identifier: MIT
/*
 * cmd_evidence.c: `vigil evidence export`: turn an evidence document into the files
 * tpm2_checkquote reads, so a tool vigil did not write can check vigil's quotes:
 *	quote.msg   the TPMS_ATTEST bytes (tpm2_quote -m)
 *	quote.sig   the TPMT_SIGNATURE bytes (tpm2_quote -s)
 *	quote.pcrs  the PCR values in tpm2-tools' serialized format (tpm2_quote -o)
 * and prints the nonce for tpm2_checkquote -q. Nothing is verified here: export is a
 * conversion, and the files are exactly as trustworthy as the evidence.
 *
 * Invariants: the directory is created if missing; each file is replaced atomically; exit 0,
 * 1 if the evidence is not an evidence document, 2 usage, 3 I/O.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"

#define CMD "evidence export"

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: vigil evidence export EVIDENCE.json --tpm2-tools DIR\n\n"
		   "Write DIR/quote.msg, DIR/quote.sig and DIR/quote.pcrs for tpm2_checkquote and\n"
		   "print the nonce for its -q option.\n\n"
		   "Options:\n"
		   "  --tpm2-tools DIR  the directory (created if missing)\n"
		   "  -h, --help        show this help\n");
}

static int write_one(const char *dir, const char *name, const void *data, size_t len)
{
	_cleanup_free_ char *path = NULL;
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		path = NULL;
		fprintf(stderr, "vigil " CMD ": %s\n", strerror(ENOMEM));
		return -ENOMEM;
	}
	r = vigil_file_write_atomic(path, data, len, 0644);
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
	return r;
}

static int export(const struct vigil_evidence *ev, const char *dir)
{
	_cleanup_free_ uint8_t *pcrs = NULL;
	char nonce[2 * VIGIL_NONCE_MAX + 1];
	size_t len = 0;
	int r;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", dir, strerror(errno));
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_pcrs_file_build(&ev->selection, &ev->pcrs, &pcrs, &len);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": quote.pcrs: %s\n", strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (write_one(dir, "quote.msg", ev->attest, ev->attest_len) < 0 ||
	    write_one(dir, "quote.sig", ev->sig, ev->sig_len) < 0 ||
	    write_one(dir, "quote.pcrs", pcrs, len) < 0)
		return VIGIL_EXIT_RUNTIME;
	vigil_hex_encode(ev->nonce, ev->nonce_len, nonce, sizeof(nonce));
	printf("nonce: %s\n", nonce);
	return VIGIL_EXIT_OK;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the command line's order */
static int run(const char *path, const char *dir)
{
	_cleanup_(vigil_evidence_freep) struct vigil_evidence *ev = NULL;
	_cleanup_free_ uint8_t *text = NULL;
	size_t len = 0;
	int r;

	r = vigil_file_read(path, VIGIL_EVIDENCE_MAX, &text, &len);
	if (r < 0 && r != -EFBIG) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (r == 0)
		r = vigil_evidence_parse((const char *)text, len, &ev);
	if (r == -ENOMEM) {
		fprintf(stderr, "vigil " CMD ": %s\n", strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0 || !ev) {
		fprintf(stderr, "vigil " CMD ": %s: not a vigil evidence document\n", path);
		return VIGIL_EXIT_REJECTED;
	}
	return export(ev, dir);
}

static int evidence_export(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "tpm2-tools", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = NULL, *evidence = NULL;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 't') {
			dir = optarg;
		} else if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		} else {
			return cmd_option_error(CMD, argv, c == ':');
		}
	}
	r = cmd_operand(CMD, argc, argv, "missing argument", "EVIDENCE.json", &evidence);
	if (r)
		return r;
	if (!dir)
		return cmd_usage_error(CMD, "missing option", "--tpm2-tools");
	return run(evidence, dir);
}

/**
 * cmd_evidence() - the `vigil evidence` subcommands (today: export)
 * @argc: argument count, including argv[0] ("evidence")
 * @argv: the arguments after "vigil"
 *
 * Return: a VIGIL_EXIT_* code.
 */
int cmd_evidence(int argc, char *argv[])
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout,
			"Usage: vigil evidence export EVIDENCE.json --tpm2-tools DIR\n");
		return argc < 2 ? VIGIL_EXIT_USAGE : VIGIL_EXIT_OK;
	}
	if (strcmp(argv[1], "export") != 0) {
		fprintf(stderr,
			"vigil evidence: unknown command '%s'\nTry 'vigil evidence --help'.\n",
			argv[1]);
		return VIGIL_EXIT_USAGE;
	}
	optind = 0;
	cmd_quiet_tss();
	return evidence_export(argc - 1, argv + 1);
}
