// SPDX-License-Identifier: MIT
/*
 * cmd_quote.c: `vigil quote`: quote PCRs with the AK for a verifier's nonce and write the
 * evidence document (docs/evidence-format.md) with the PCR values, the AK's public area, the
 * measurement log and a few facts about the host.
 *
 * Order matters: the quote comes first, the log is read after it. vigil.ko appends a record
 * before it extends the PCR, so a log read after the quote holds every record the quote covers
 * (and perhaps a few more, which the verifier recognises as "not yet covered").
 *
 * Invariants: nothing is written unless the whole evidence could be produced; the output file
 * is replaced atomically; exit 0, 2 (usage) or 3 (TPM, log, I/O).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "log.h"
#include "tpm.h"
#include "uapi/vigil.h"

#define CMD "quote"
#define DEFAULT_LOG VIGIL_FS_MOUNT "/" VIGIL_FS_DIR "/" VIGIL_FS_BINARY
#define BOOT_ID "/proc/sys/kernel/random/boot_id"
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

/* Skip the first @from records of a binary log; what remains is "the log from record @from". */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): buffer, length, then the index */
static int log_from(const char *path, const uint8_t *buf, size_t len, uint32_t from,
		    size_t *ret_off)
{
	struct vigil_log_iter it;
	struct vigil_log_record rec;
	int r = vigil_log_iter_init(&it, buf, len, NULL);

	for (uint32_t i = 0; r == 0 && i < from; i++) {
		r = vigil_log_iter_next(&it, &rec, NULL);
		if (r == 0) {
			fprintf(stderr, "vigil " CMD ": %s: has only %u records (--from %u)\n",
				path, i, from);
			return -ERANGE;
		}
		r = r > 0 ? 0 : r;
	}
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, vigil_log_strerror(r));
		return r;
	}
	*ret_off = it.pos;
	return 0;
}

static int read_log(const struct quote_opts *o, struct vigil_evidence *ev)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	int r;

	r = vigil_file_read(o->log, VIGIL_EVIDENCE_LOG_MAX, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s%s\n", o->log, strerror(-r),
			r == -ENOENT && !strcmp(o->log, DEFAULT_LOG) ?
				" (vigil.ko not loaded? --no-log quotes without a log)" :
				"");
		return r;
	}
	if (o->from > 0) {
		r = log_from(o->log, buf, len, o->from, &off);
		if (r < 0)
			return r;
		memmove(buf, buf + off, len - off);
	}
	ev->log = TAKE_PTR(buf);
	ev->log_len = len - off;
	ev->log_from = o->from;
	return 0;
}

/* Kernel release, boot id and time: informational, so a missing one is simply left out. */
static int host_facts(struct vigil_evidence *ev)
{
	_cleanup_free_ uint8_t *boot_id = NULL;
	struct utsname u;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	size_t len = 0;

	if (uname(&u) == 0 && !(ev->kernel = strdup(u.release)))
		return -ENOMEM;
	if (vigil_file_read(BOOT_ID, 64, &boot_id, &len) == 0 && len > 1 && len <= 37) {
		boot_id[strcspn((char *)boot_id, "\n")] = '\0';
		ev->boot_id = (char *)TAKE_PTR(boot_id);
	}
	if (gmtime_r(&t, &tm) && strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm) &&
	    !(ev->created = strdup(now)))
		return -ENOMEM;
	return 0;
}

static int fill_evidence(const struct quote_opts *o, const struct vigil_tpm_quote *q,
			 struct vigil_evidence *ev)
{
	memcpy(ev->nonce, o->nonce, o->nonce_len);
	ev->nonce_len = o->nonce_len;
	ev->attest = malloc(q->attest_len);
	ev->sig = malloc(q->sig_len);
	if (!ev->attest || !ev->sig)
		return -ENOMEM;
	memcpy(ev->attest, q->attest, q->attest_len);
	ev->attest_len = q->attest_len;
	memcpy(ev->sig, q->sig, q->sig_len);
	ev->sig_len = q->sig_len;
	ev->selection = q->selection;
	ev->pcrs = q->pcrs;
	ev->ak_public = q->ak.public;
	ev->ak_handle = q->ak.handle;
	return host_facts(ev);
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

static int quote_and_write(const struct quote_opts *o, struct vigil_evidence *ev,
			   struct vigil_tpm_quote *q)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	int r;

	r = cmd_tpm_open(CMD, o->tcti, &t);
	if (r != VIGIL_EXIT_OK)
		return r;
	r = vigil_tpm_quote(t, o->handle, o->nonce, o->nonce_len, &o->sel, q);
	if (r == -ENOENT || r == -EKEYREJECTED) {
		fprintf(stderr, "vigil " CMD ": handle 0x%08x: %s (run 'vigil ak create')\n",
			o->handle, r == -ENOENT ? "no key" : "not an attestation key");
		return VIGIL_EXIT_RUNTIME;
	}
	if (r == -EAGAIN) {
		fprintf(stderr, "vigil " CMD ": PCRs kept changing during the quote; try again\n");
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0)
		return cmd_tpm_error(CMD, t, r);
	if ((o->log && read_log(o, ev) < 0) || fill_evidence(o, q, ev) < 0)
		return VIGIL_EXIT_RUNTIME;
	return write_evidence(o->out, ev);
}

static int take_quote(const struct quote_opts *o)
{
	struct vigil_evidence *ev = calloc(1, sizeof(*ev));
	struct vigil_tpm_quote *q = calloc(1, sizeof(*q));
	int r = VIGIL_EXIT_RUNTIME;

	if (ev && q)
		r = quote_and_write(o, ev, q);
	else
		fprintf(stderr, "vigil " CMD ": %s\n", strerror(ENOMEM));
	vigil_evidence_free(ev);
	free(q);
	return r;
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
