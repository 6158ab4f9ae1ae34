// SPDX-License-Identifier: MIT
/*
 * cmd_log.c: `vigil log`: print a measurement log, vigil's or in-kernel IMA's, binary or ASCII.
 *
 * Formats (docs/vigil.8):
 *   ascii  byte for byte what the kernel prints in ascii_runtime_measurements for the records
 *   json   JSON Lines: one object per record and line, fields decoded
 *   cel    TCG Canonical Event Log, CEL-JSON: one array of records with content_type
 *          "ima_template", template_data in hex (as libcel and the CEL examples have it)
 * The input layout is recognised from its first byte: a binary record starts with a PCR index
 * below 24 (little-endian) or 0 (big-endian), an ASCII line with a space or a digit.
 *
 * Invariants: nothing reaches stdout for a log that does not parse completely (parse first, print
 * after), so a script never gets a partial listing of a damaged log; every error is one line
 * "vigil log: <file>: <where>: <why>" on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "libvigil.h"
#include "uapi/vigil.h"

#define DEFAULT_LOG VIGIL_FS_MOUNT "/" VIGIL_FS_DIR "/" VIGIL_FS_BINARY
#define LOG_FILE_MAX (1ull << 30) /* 10M records of ~100 bytes fit */

enum format { FORMAT_ASCII, FORMAT_JSON, FORMAT_CEL };

struct options {
	enum format format;
	uint32_t from;
	uint16_t bank; /* 0: from the file name, else SHA-1 */
	const char *path;
};

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil log [--from N] [--format ascii|json|cel] [--bank ALG] [FILE]\n\n"
		"Print a measurement log (vigil's or IMA's, binary or ASCII layout).\n\n"
		"Options:\n"
		"  --from N          start at record N (the first is 0)\n"
		"  --format FORMAT   ascii (IMA's ascii_runtime_measurements, default), json (one\n"
		"                    object per line) or cel (TCG CEL-JSON)\n"
		"  --bank ALG        the template digests are ALG (sha1, sha256, sha384, sha512);\n"
		"                    default: the FILE name's _<alg> suffix, else sha1\n"
		"  -h, --help        show this help\n\n"
		"FILE defaults to %s; \"-\" is standard input.\n",
		DEFAULT_LOG);
}

/* ---- JSON building ---- */

static struct json_object *hex_string(const uint8_t *p, size_t n)
{
	struct json_object *o = NULL;
	char *hex = malloc(2 * n + 1);

	if (hex && vigil_hex_encode(p, n, hex, 2 * n + 1) == 0)
		o = json_object_new_string_len(hex, (int)(2 * n));
	free(hex);
	return o;
}

/*
 * File names are bytes, JSON strings are Unicode: invalid UTF-8 becomes U+FFFD, and the caller
 * adds the exact bytes in hex when that happened (@ret_lossy).
 */
static struct json_object *text_string(const char *s, size_t n, bool *ret_lossy)
{
	const unsigned char *p = (const unsigned char *)s;
	struct json_object *o = NULL;
	char *out = malloc(3 * n + 1);
	size_t len = 0;

	*ret_lossy = false;
	for (size_t i = 0; out && i < n;) {
		size_t seq = p[i] < 0x80 ? 1 : vigil_utf8_seq(p + i, n - i);

		if (seq == 0 || p[i] == '\0') {
			/* U+FFFD REPLACEMENT CHARACTER */
			out[len++] = (char)0xef;
			out[len++] = (char)0xbf;
			out[len++] = (char)0xbd;
			i++;
			*ret_lossy = true;
			continue;
		}
		memcpy(out + len, p + i, seq);
		len += seq;
		i += seq;
	}
	if (out)
		o = json_object_new_string_len(out, (int)len);
	free(out);
	return o;
}

static int add_text(struct json_object *obj, const char *key, const char *hex_key, const char *s,
		    size_t n)
{
	bool lossy;
	int r;

	r = vigil_json_add(obj, key, text_string(s, n, &lossy));
	if (r == 0 && lossy)
		r = vigil_json_add(obj, hex_key, hex_string((const uint8_t *)s, n));
	return r;
}

static struct json_object *ctx_object(const struct vigil_log_ctx *c)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || vigil_json_add(o, "seq", json_object_new_uint64(c->seq)) < 0 ||
	    vigil_json_add(o, "hook", json_object_new_uint64(c->hook)) < 0 ||
	    vigil_json_add(o, "reason", json_object_new_uint64(c->reason)) < 0 ||
	    vigil_json_add(o, "uid", json_object_new_uint64(c->uid)) < 0 ||
	    vigil_json_add(o, "dev", json_object_new_uint64(c->dev)) < 0 ||
	    vigil_json_add(o, "ino", json_object_new_uint64(c->ino)) < 0 ||
	    vigil_json_add(o, "cgroup_id", json_object_new_uint64(c->cgroup_id)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static uint64_t field_uint(const struct vigil_log *log, const struct vigil_log_field *f)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < f->len; i++) {
		uint32_t at = log->big_endian ? i : f->len - 1 - i;

		v = v << 8 | f->data[at];
	}
	return v;
}

/* A further digest field: "<prefix>:<hex>", as the ASCII layout shows it. */
static struct json_object *digest_text(const struct vigil_log_field *f)
{
	/* only called for fields vigil_log_record_fields() checked: the NUL is there */
	const uint8_t *nul = memchr(f->data, '\0', f->len);
	size_t plen = (size_t)(nul - f->data), n = f->len - plen - 1;
	struct json_object *o = NULL;
	char *s = malloc(plen + 2 * n + 1);

	if (s) {
		memcpy(s, f->data, plen);
		if (vigil_hex_encode(nul + 1, n, s + plen, 2 * n + 1) == 0)
			o = json_object_new_string(s);
	}
	free(s);
	return o;
}

/* d-modsig, like d-ng: "<alg>:\0" + digest, or empty without an appended signature. */
static int add_modsig_digest(struct json_object *obj, const struct vigil_log_field *f)
{
	const uint8_t *nul = f->len ? memchr(f->data, '\0', f->len) : NULL;
	int r;

	if (!nul)
		return 0;
	r = vigil_json_add(obj, "modsig_digest_alg",
			   json_object_new_string_len((const char *)f->data,
						      (int)(nul - f->data - 1)));
	if (r == 0)
		r = vigil_json_add(obj, "modsig_digest",
				   hex_string(nul + 1, f->len - (size_t)(nul + 1 - f->data)));
	return r;
}

/* A field other than the file digest and name, under its IMA id. */
static int add_field(struct json_object *obj, const struct vigil_log *log,
		     const struct vigil_log_fields *fs, const struct vigil_log_field *f)
{
	const char *key = vigil_log_field_name(f->id);

	switch (f->id) {
	case VIGIL_LOG_FIELD_CTX:
		return vigil_json_add(obj, key, ctx_object(&fs->ctx));
	case VIGIL_LOG_FIELD_XATTRNAMES:
		return add_text(obj, key, "xattrnames_hex", (const char *)f->data,
				f->len ? f->len - 1 : 0);
	case VIGIL_LOG_FIELD_IUID:
	case VIGIL_LOG_FIELD_IGID:
	case VIGIL_LOG_FIELD_IMODE:
		return vigil_json_add(obj, key, json_object_new_uint64(field_uint(log, f)));
	case VIGIL_LOG_FIELD_D_MODSIG:
		return add_modsig_digest(obj, f);
	case VIGIL_LOG_FIELD_D_NG:
	case VIGIL_LOG_FIELD_D_NGV2:
		return vigil_json_add(obj, key, digest_text(f));
	default:
		return vigil_json_add(obj, key, hex_string(f->data, f->len));
	}
}

/* The fields vigil_log_record_fields() decoded into digest and name are shown as those. */
static bool shown_as_digest_or_name(const struct vigil_log_fields *f,
				    const struct vigil_log_field *fld)
{
	const uint8_t *end = fld->data + fld->len;

	if (fld->id == VIGIL_LOG_FIELD_N || fld->id == VIGIL_LOG_FIELD_N_NG)
		return (const uint8_t *)f->name >= fld->data && (const uint8_t *)f->name < end;
	if (fld->id == VIGIL_LOG_FIELD_D || fld->id == VIGIL_LOG_FIELD_D_NG ||
	    fld->id == VIGIL_LOG_FIELD_D_NGV2)
		return f->digest >= fld->data && f->digest < end;
	return false;
}

/* What the fields say: file digest, name, the other fields under their ids. */
static int add_fields(struct json_object *o, const struct vigil_log *log,
		      const struct vigil_log_record *rec)
{
	struct vigil_log_fields f;
	int r = 0;

	if (rec->flags & VIGIL_LOG_NO_DATA)
		return add_text(o, "fields", "fields_hex",
				(const char *)vigil_log_record_data(log, rec), rec->data_len);
	if (rec->template == VIGIL_LOG_TEMPLATE_UNKNOWN)
		return vigil_json_add(o, "template_data",
				      hex_string(vigil_log_record_data(log, rec), rec->data_len));
	r = vigil_log_record_fields(log, rec, &f);
	if (r == 0 && f.digest_type)
		r = vigil_json_add(o, "digest_type", json_object_new_string(f.digest_type));
	if (r == 0 && f.digest_alg)
		r = vigil_json_add(o, "digest_alg", json_object_new_string(f.digest_alg));
	if (r == 0 && f.digest)
		r = vigil_json_add(o, "digest", hex_string(f.digest, f.digest_len));
	if (r == 0 && f.name)
		r = add_text(o, "name", "name_hex", f.name, f.name_len);
	for (size_t i = 0; r == 0 && i < f.count; i++)
		if (!shown_as_digest_or_name(&f, &f.field[i]))
			r = add_field(o, log, &f, &f.field[i]);
	return r;
}

static struct json_object *record_json(const struct vigil_log *log, size_t index)
{
	const struct vigil_log_record *rec = &log->records[index];
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || vigil_json_add(o, "index", json_object_new_uint64(index)) < 0 ||
	    vigil_json_add(o, "pcr", json_object_new_int((int)rec->pcr)) < 0 ||
	    vigil_json_add(o, "template_digest",
			   hex_string(vigil_log_record_digest(log, rec), log->digest_size)) < 0 ||
	    vigil_json_add(o, "template",
			   json_object_new_string_len(vigil_log_record_template(log, rec),
						      rec->name_len)) < 0 ||
	    vigil_json_add(o, "violation",
			   json_object_new_boolean((rec->flags & VIGIL_LOG_VIOLATION) != 0)) < 0 ||
	    add_fields(o, log, rec) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* CEL-JSON's TPMT_HA list: the log holds one bank's template digest per record. */
static struct json_object *cel_digests(const struct vigil_log *log,
				       const struct vigil_log_record *rec)
{
	_cleanup_(json_object_putp) struct json_object *list = json_object_new_array();
	struct json_object *ha = json_object_new_object();

	if (!list || !ha || json_object_array_add(list, ha) < 0) {
		json_object_put(ha);
		return NULL;
	}
	if (vigil_json_add(ha, "hashAlg", json_object_new_string(vigil_hash_name(log->tpm_alg))) <
		    0 ||
	    vigil_json_add(ha, "digest",
			   hex_string(vigil_log_record_digest(log, rec), log->digest_size)) < 0)
		return NULL;
	return TAKE_PTR(list);
}

/* CEL's IMA content: the template name and the template data as logged (hex). */
static struct json_object *cel_content(const struct vigil_log *log,
				       const struct vigil_log_record *rec)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || vigil_json_add(o, "template_name",
				 json_object_new_string_len(vigil_log_record_template(log, rec),
							    rec->name_len)) < 0)
		return NULL;
	/* an ASCII record of an unknown template has no template data to give */
	if (!(rec->flags & VIGIL_LOG_NO_DATA) &&
	    vigil_json_add(o, "template_data",
			   hex_string(vigil_log_record_data(log, rec), rec->data_len)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static struct json_object *record_cel(const struct vigil_log *log, size_t index)
{
	const struct vigil_log_record *rec = &log->records[index];
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || vigil_json_add(o, "recnum", json_object_new_uint64(index)) < 0 ||
	    vigil_json_add(o, "pcr", json_object_new_int((int)rec->pcr)) < 0 ||
	    vigil_json_add(o, "digests", cel_digests(log, rec)) < 0 ||
	    vigil_json_add(o, "content_type", json_object_new_string("ima_template")) < 0 ||
	    vigil_json_add(o, "content", cel_content(log, rec)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* ---- output ---- */

static int print_ascii(const struct vigil_log *log, size_t from)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, len;
	int r;

	for (size_t i = from; i < log->count; i++) {
		const struct vigil_log_record *rec = &log->records[i];
		size_t need = vigil_log_record_ascii_size(log, rec);

		if (need > cap) {
			free(line);
			line = malloc(need);
			if (!line)
				return -ENOMEM;
			cap = need;
		}
		r = vigil_log_record_ascii(log, rec, line, cap, &len);
		if (r < 0)
			return r;
		fwrite(line, 1, len, stdout);
	}
	return 0;
}

static int print_json(const struct vigil_log *log, size_t from, bool cel)
{
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

	if (cel)
		fputs("[", stdout);
	for (size_t i = from; i < log->count; i++) {
		_cleanup_(json_object_putp) struct json_object *o = cel ? record_cel(log, i) :
									  record_json(log, i);

		if (!o)
			return -ENOMEM;
		if (cel)
			fputs(i == from ? "\n" : ",\n", stdout);
		fputs(json_object_to_json_string_ext(o, flags), stdout);
		if (!cel)
			fputc('\n', stdout);
	}
	if (cel)
		fputs(log->count > from ? "\n]\n" : "]\n", stdout);
	return 0;
}

/* ---- input ---- */

static void parse_error(const char *path, int r, const struct vigil_log_error *e, bool ascii)
{
	if (r == -ENOMEM)
		fprintf(stderr, "vigil log: %s: %s\n", path, strerror(ENOMEM));
	else if (ascii)
		fprintf(stderr, "vigil log: %s: line %zu (byte %zu): %s\n", path, e->line,
			e->offset, vigil_log_strerror(r));
	else
		fprintf(stderr, "vigil log: %s: record %zu at byte %zu: %s\n", path, e->record,
			e->offset, vigil_log_strerror(r));
}

/* The bank of a per-bank file: "..._sha256" names it; anything else is the SHA-1 list. */
static uint16_t bank_of_path(const char *path)
{
	const char *us = strrchr(path, '_');
	uint16_t alg;

	if (us && vigil_hash_from_name(us + 1, &alg) == 0)
		return alg;
	return TPM2_ALG_SHA1;
}

static int load(const struct options *o, uint8_t **ret_buf, struct vigil_log **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_log_options lo = { .tpm_alg = o->bank ? o->bank : bank_of_path(o->path) };
	struct vigil_log_error e = { 0 };
	bool ascii;
	size_t len;
	int r;

	if (cmd_read_file("log", o->path, LOG_FILE_MAX, &buf, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	ascii = len > 0 && (buf[0] == ' ' || (buf[0] >= '0' && buf[0] <= '9'));
	if (ascii)
		r = vigil_log_parse_ascii((const char *)buf, len, &lo, ret, &e);
	else
		r = vigil_log_parse(buf, len, &lo, ret, &e);
	if (r < 0) {
		parse_error(o->path, r, &e, ascii);
		return VIGIL_EXIT_RUNTIME;
	}
	*ret_buf = TAKE_PTR(buf);
	return VIGIL_EXIT_OK;
}

static int show_log(const struct options *o)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	int r;

	r = load(o, &buf, &log);
	if (r != VIGIL_EXIT_OK)
		return r;
	if (o->from > log->count) {
		fprintf(stderr, "vigil log: %s: --from %u, but the log has %zu records\n", o->path,
			o->from, log->count);
		return VIGIL_EXIT_RUNTIME;
	}
	if (o->format == FORMAT_ASCII)
		r = print_ascii(log, o->from);
	else
		r = print_json(log, o->from, o->format == FORMAT_CEL);
	if (r < 0) {
		fprintf(stderr, "vigil log: %s: %s\n", o->path, vigil_log_strerror(r));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

static int parse_format(const char *arg, enum format *ret)
{
	static const char *const names[] = {
		[FORMAT_ASCII] = "ascii", [FORMAT_JSON] = "json", [FORMAT_CEL] = "cel"
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(arg, names[i])) {
			*ret = (enum format)i;
			return 0;
		}
	return -EINVAL;
}

/* Returns -1 to go on, or the exit code. */
static int parse_option(int c, struct options *o, char *argv[])
{
	switch (c) {
	case 'f':
		return cmd_parse_u32(optarg, &o->from) < 0 ?
			       cmd_usage_error("log", "invalid record number", optarg) :
			       -1;
	case 'F':
		return parse_format(optarg, &o->format) < 0 ?
			       cmd_usage_error("log", "unknown format", optarg) :
			       -1;
	case 'b':
		return vigil_hash_from_name(optarg, &o->bank) < 0 ?
			       cmd_usage_error("log", "unknown bank", optarg) :
			       -1;
	case 'h':
		show_usage(stdout);
		return VIGIL_EXIT_OK;
	case ':':
		return cmd_option_error("log", argv, true);
	default:
		return cmd_option_error("log", argv, false);
	}
}

/**
 * cmd_log() - the `vigil log` subcommand
 * @argc: argument count, including argv[0] ("log")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_USAGE, or VIGIL_EXIT_RUNTIME (unreadable or malformed log).
 */
int cmd_log(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ "bank", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct options o = { .format = FORMAT_ASCII, .path = DEFAULT_LOG };
	int c, r;

	/* ':' first: report errors ourselves, in vigil's format, not getopt's */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		r = parse_option(c, &o, argv);
		if (r >= 0)
			return r;
	}
	if (optind < argc)
		o.path = argv[optind++];
	if (optind < argc)
		return cmd_usage_error("log", "unexpected argument", argv[optind]);
	return show_log(&o);
}
