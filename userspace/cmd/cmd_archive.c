// SPDX-License-Identifier: MIT
/*
 * cmd_archive.c: `vigil archive verify` and `vigil archive note`: check an evidence archive
 * offline, and record in it that monitoring was switched off (an opt-out, CRA Annex I (2)(l))
 * or on again, with who decided and why.
 *
 * verify is libvigil's vigil_archive_verify(): every finding is printed as "entry N: <problem>:
 * <detail>" (entry 0: the archive as a whole), then one summary line with the head digest, the
 * value to record outside the archive (an attacker who can write the archive can rewrite it
 * consistently; the recorded head, or RFC 3161 tokens checked with --tsa-ca, are what such a
 * rewrite cannot match). Attestations are appended by `vigil verify --archive`.
 *
 * Exit codes: verify: 0 no finding, 1 findings, 2 usage, 3 could not check (no archive,
 * unreadable directory or CA file). note: 0 appended, 2 usage, 3 not appended (I/O, the TSA
 * failed: then nothing at all was written).
 *
 * Invariants: verify's findings and summary go to stdout (text or --json), a failed check
 * also as one line on stderr; note appends exactly one entry or none.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/pem.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "compliance.h"

#define CA_MAX ((size_t)1 << 20)

static void verify_usage(FILE *f)
{
	fprintf(f, "Usage: vigil archive verify DIR [--tsa-ca CA.pem] [--json]\n\n"
		   "Check an evidence archive: every entry's items against their digests, the\n"
		   "hash chain, the head, timestamp tokens, and each attestation re-verified to\n"
		   "its archived verdict (and EAR). Prints every problem, then the head digest to\n"
		   "record outside the archive.\n\n"
		   "Options:\n"
		   "  --tsa-ca CA.pem  the TSA's CA certificate(s): check timestamp signatures\n"
		   "                   (without it only their imprints are checked)\n"
		   "  --json           print the result as JSON\n"
		   "  -h, --help       show this help\n");
}

static void note_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil archive note DIR --monitoring off|on --by NAME [--reason TEXT]\n"
		"                          [--device NAME] [--tsa URL --tsa-ca CA.pem] [--json]\n\n"
		"Append a monitoring entry to an evidence archive (created if missing): monitoring\n"
		"switched off (an opt-out) or on again, who decided it and why.\n\n"
		"Options:\n"
		"  --monitoring off|on  off: opted out from now on; on: monitoring again\n"
		"  --by NAME            who decided (1..%d bytes)\n"
		"  --reason TEXT        why (up to %d bytes)\n"
		"  --device NAME        the device concerned ([A-Za-z0-9._:-], 1..%d);\n"
		"                       without it the entry concerns every device\n"
		"  --tsa URL            timestamp the entry at this RFC 3161 TSA (http, https)\n"
		"  --tsa-ca CA.pem      the TSA's CA certificate(s), to check its token\n"
		"  --json               print the new entry's number as JSON\n"
		"  -h, --help           show this help\n",
		VIGIL_ARCHIVE_BY_MAX, VIGIL_ARCHIVE_REASON_MAX, VIGIL_ARCHIVE_DEVICE_MAX);
}

/* A CA file with at least one certificate; a message otherwise. */
static int read_ca(const char *cmd, const char *path, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(BIO_freep) BIO *bio = NULL;
	X509 *x = NULL;

	if (cmd_read_file(cmd, path, CA_MAX, ret, ret_len) < 0)
		return -EIO;
	bio = BIO_new_mem_buf(*ret, (int)*ret_len);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (x) {
		X509_free(x);
		return 0;
	}
	fprintf(stderr, "vigil %s: %s: no PEM certificate in it\n", cmd, path);
	free(*ret);
	*ret = NULL;
	return -EBADMSG;
}

/* ---- verify ---- */

static void print_text(const struct vigil_archive_result *res)
{
	char head[65];

	vigil_hex_encode(res->head_sha256, sizeof(res->head_sha256), head, sizeof(head));
	for (size_t i = 0; i < res->count; i++)
		printf("entry %llu: %s: %s\n", (unsigned long long)res->findings[i].seq,
		       vigil_archive_problem_name(res->findings[i].problem),
		       res->findings[i].detail);
	printf("%llu entries, %llu attestations re-verified, %llu timestamps verified",
	       (unsigned long long)res->entries, (unsigned long long)res->attestations,
	       (unsigned long long)res->timestamps);
	if (res->timestamps_unchecked)
		printf(", %llu timestamps not checked (no --tsa-ca)",
		       (unsigned long long)res->timestamps_unchecked);
	printf(", head %s\n", head);
}

static struct json_object *findings_json(const struct vigil_archive_result *res)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < res->count; i++) {
		const struct vigil_archive_finding *f = &res->findings[i];
		struct json_object *o = json_object_new_object();

		if (!o || vigil_json_add(o, "seq", json_object_new_uint64(f->seq)) < 0 ||
		    vigil_json_add(o, "problem",
				   json_object_new_string(vigil_archive_problem_name(f->problem))) <
			    0 ||
		    vigil_json_add(o, "detail", json_object_new_string(f->detail)) < 0 ||
		    json_object_array_add(arr, o) < 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static int print_json(const struct vigil_archive_result *res)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *text = NULL;
	struct json_object *head = NULL;
	char hex[65];

	vigil_hex_encode(res->head_sha256, sizeof(res->head_sha256), hex, sizeof(hex));
	if (!o || !(head = json_object_new_object()))
		return -ENOMEM;
	if (vigil_json_add(o, "ok", json_object_new_boolean(res->count == 0)) < 0 ||
	    vigil_json_add(o, "entries", json_object_new_uint64(res->entries)) < 0 ||
	    vigil_json_add(o, "attestations", json_object_new_uint64(res->attestations)) < 0 ||
	    vigil_json_add(o, "timestamps", json_object_new_uint64(res->timestamps)) < 0 ||
	    vigil_json_add(o, "timestamps_unchecked",
			   json_object_new_uint64(res->timestamps_unchecked)) < 0 ||
	    vigil_json_add(o, "head", head) < 0 ||
	    vigil_json_add(head, "seq", json_object_new_uint64(res->head_seq)) < 0 ||
	    vigil_json_add(head, "sha256", json_object_new_string(hex)) < 0 ||
	    vigil_json_add(o, "findings", findings_json(res)) < 0 ||
	    vigil_json_format(o, &text) < 0)
		return -ENOMEM;
	fputs(text, stdout);
	return 0;
}

static int verify_failed(const char *dir, int r)
{
	const char *why = r == -ENOENT ? "not an evidence archive" :
			  r == -EPROTONOSUPPORT ?
					 "an archive of a format this vigil does not know" :
					 strerror(-r);

	fprintf(stderr, "vigil archive verify: %s: cannot check: %s\n", dir, why);
	return VIGIL_EXIT_RUNTIME;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the command line, in --help's order */
static int verify(const char *dir, const char *ca_path, bool json)
{
	_cleanup_free_ uint8_t *ca = NULL;
	struct vigil_archive_result res = { 0 };
	size_t ca_len = 0;
	int r;

	if (ca_path && read_ca("archive verify", ca_path, &ca, &ca_len) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = vigil_archive_verify(dir, ca, ca_len, &res);
	if (r < 0)
		return verify_failed(dir, r);
	if (json)
		r = print_json(&res);
	else
		print_text(&res);
	if (r < 0) {
		fprintf(stderr, "vigil archive verify: %s\n", strerror(-r));
		r = VIGIL_EXIT_RUNTIME;
	} else if (res.count) {
		fprintf(stderr, "vigil archive verify: %s: %zu problem%s found\n", dir, res.count,
			res.count == 1 ? "" : "s");
		r = VIGIL_EXIT_REJECTED;
	}
	vigil_archive_result_release(&res);
	return r;
}

static int cmd_archive_verify(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "tsa-ca", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *ca = NULL;
	bool json = false;
	const char *dir = NULL;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'c') {
			ca = optarg;
		} else if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			verify_usage(stdout);
			return VIGIL_EXIT_OK;
		} else {
			return cmd_option_error("archive verify", argv, c == ':');
		}
	}
	r = cmd_operand("archive verify", argc, argv, "missing archive", "DIR", &dir);
	return r ? r : verify(dir, ca, json);
}

/* ---- note ---- */

struct note_opts {
	const char *dir;
	int monitoring; /* -1 unset, 0 on, 1 off */
	const char *by, *reason, *device, *tsa, *tsa_ca;
	bool json;
};

static int note_check(const struct note_opts *o)
{
	if (o->monitoring < 0)
		return cmd_usage_error("archive note", "missing option", "--monitoring");
	if (!o->by)
		return cmd_usage_error("archive note", "missing option", "--by");
	if (!*o->by || strlen(o->by) > VIGIL_ARCHIVE_BY_MAX ||
	    !vigil_utf8_valid(o->by, strlen(o->by)))
		return cmd_usage_error("archive note", "--by must be 1..256 bytes of UTF-8", o->by);
	if (o->reason && (strlen(o->reason) > VIGIL_ARCHIVE_REASON_MAX ||
			  !vigil_utf8_valid(o->reason, strlen(o->reason))))
		return cmd_usage_error("archive note", "--reason must be up to 4096 bytes of UTF-8",
				       o->reason);
	if (o->device && !vigil_archive_device_valid(o->device, strlen(o->device)))
		return cmd_usage_error("archive note", "--device must be 1..128 of [A-Za-z0-9._:-]",
				       o->device);
	if (o->tsa && strncmp(o->tsa, "http://", 7) != 0 && strncmp(o->tsa, "https://", 8) != 0)
		return cmd_usage_error("archive note", "--tsa must be an http:// or https:// URL",
				       o->tsa);
	if (!o->tsa != !o->tsa_ca)
		return cmd_usage_error("archive note", "missing option",
				       o->tsa ? "--tsa-ca" : "--tsa");
	return 0;
}

static int open_failed(const char *dir, int r)
{
	const char *why = r == -EEXIST	? "an entry after the head does not continue the chain; "
					  "look at it with vigil archive verify" :
			  r == -EBADMSG ? "not an evidence archive, or damaged (no head)" :
			  r == -EPROTONOSUPPORT ?
					  "an archive of a format this vigil does not know" :
					  strerror(-r);

	fprintf(stderr, "vigil archive note: %s: %s\n", dir, why);
	return VIGIL_EXIT_RUNTIME;
}

static int note_append(const struct note_opts *o, const struct vigil_tsa *tsa, uint64_t *seq)
{
	_cleanup_(vigil_archive_closep) struct vigil_archive *a = NULL;
	struct vigil_archive_record rec = {
		.kind = VIGIL_ARCHIVE_MONITORING,
		.device = o->device,
		.time = (int64_t)time(NULL),
		.monitoring_off = o->monitoring == 1,
		.by = o->by,
		.reason = o->reason ? o->reason : "",
	};
	char err[512] = "";
	int r = vigil_archive_open(o->dir, true, &a);

	if (r < 0)
		return open_failed(o->dir, r);
	r = vigil_archive_append(a, &rec, tsa, seq, err, sizeof(err));
	if (r == -EPROTO)
		fprintf(stderr, "vigil archive note: TSA: %s; nothing appended\n", err);
	else if (r < 0)
		fprintf(stderr, "vigil archive note: %s: %s; nothing appended\n", o->dir,
			strerror(-r));
	return r < 0 ? VIGIL_EXIT_RUNTIME : VIGIL_EXIT_OK;
}

static int note(const struct note_opts *o)
{
	_cleanup_free_ uint8_t *ca = NULL;
	struct vigil_tsa tsa = { .url = o->tsa };
	uint64_t seq = 0;
	int r;

	if (o->tsa_ca && read_ca("archive note", o->tsa_ca, &ca, &tsa.ca_pem_len) < 0)
		return VIGIL_EXIT_RUNTIME;
	tsa.ca_pem = ca;
	r = note_append(o, &tsa, &seq);
	if (r != VIGIL_EXIT_OK)
		return r;
	if (o->json)
		printf("{\n  \"seq\": %llu\n}\n", (unsigned long long)seq);
	else
		printf("entry %llu\n", (unsigned long long)seq);
	return VIGIL_EXIT_OK;
}

static int note_option(int c, struct note_opts *o, char *argv[])
{
	switch (c) {
	case 'm':
		if (strcmp(optarg, "off") != 0 && strcmp(optarg, "on") != 0)
			return cmd_usage_error("archive note", "--monitoring must be off or on",
					       optarg);
		o->monitoring = !strcmp(optarg, "off");
		return 0;
	case 'b':
		o->by = optarg;
		return 0;
	case 'r':
		o->reason = optarg;
		return 0;
	case 'd':
		o->device = optarg;
		return 0;
	case 't':
		o->tsa = optarg;
		return 0;
	case 'c':
		o->tsa_ca = optarg;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	default:
		return cmd_option_error("archive note", argv, c == ':');
	}
}

static int cmd_archive_note(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "monitoring", required_argument, NULL, 'm' },
		{ "by", required_argument, NULL, 'b' },
		{ "reason", required_argument, NULL, 'r' },
		{ "device", required_argument, NULL, 'd' },
		{ "tsa", required_argument, NULL, 't' },
		{ "tsa-ca", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct note_opts o = { .monitoring = -1 };
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h') {
			note_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		r = note_option(c, &o, argv);
		if (r)
			return r;
	}
	r = cmd_operand("archive note", argc, argv, "missing archive", "DIR", &o.dir);
	if (r)
		return r;
	r = note_check(&o);
	return r ? r : note(&o);
}

/**
 * cmd_archive() - the `vigil archive` subcommand: dispatch to verify or note
 * @argc: argument count, including argv[0] ("archive")
 * @argv: the arguments after "vigil"
 *
 * Return: a VIGIL_EXIT_* code.
 */
int cmd_archive(int argc, char *argv[])
{
	static const struct cmd_sub subcommands[] = {
		{ "verify", cmd_archive_verify,
		  "check every entry of an evidence archive, offline" },
		{ "note", cmd_archive_note, "record that monitoring was switched off or on again" },
	};

	return cmd_dispatch("archive", argc, argv, subcommands,
			    sizeof(subcommands) / sizeof(subcommands[0]));
}
