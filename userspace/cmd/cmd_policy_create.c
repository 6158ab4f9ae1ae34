// SPDX-License-Identifier: MIT
/*
 * cmd_policy_create.c: `vigil policy create`: an attestation policy's reference values from a
 * root filesystem, from Debian packages, or from the measurement log of a trusted run
 * (libvigil's refvalues.h does the work; this file is options, progress and reports).
 *
 * Output: the policy document, written atomically to -o (never to stdout: a policy is signed
 * next, and a half-written one must not be). On a tty, a progress line on stderr updated every
 * 100 ms and cleared at the end; always a summary on stderr (files, bytes, entries, time, what
 * was skipped). Files that cannot be read are named on stderr (the first few) and counted;
 * they do not fail the run: a policy missing a file rejects that file on the device, it never
 * accepts more.
 *
 * Exit codes: 0 written; 2 usage; 3 could not run (missing tree or package, malformed log or
 * package, a log of mixed digest algorithms, I/O).
 *
 * Invariants: nothing is written unless every source was read completely; errors are one line
 * "vigil policy create: <what>: <why>".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmd.h"
#include "libvigil.h"
#include "refvalues.h"
#include "uapi/vigil.h"

#define CMD "policy create"
#define LOG_FILE_MAX (1ull << 30)
#define WARN_SHOWN 10 /* unreadable files named on stderr; the rest are counted */
#define PROGRESS_NS 100000000LL
#define DAY 86400

enum source { SRC_NONE, SRC_ROOTFS, SRC_LOG, SRC_DEB };
enum log_format { LOG_AUTO, LOG_BINARY, LOG_ASCII };

struct options {
	enum source source;
	const char *rootfs;
	const char *log;
	enum log_format log_format;
	uint16_t bank;
	const char **debs;
	size_t n_debs;
	const char **include;
	size_t n_include;
	const char **exclude;
	size_t n_exclude;
	const char **rules;
	size_t n_rules;
	struct vigil_refvalues_opts ro;
	const char *name;
	uint64_t version;
	int64_t valid_until; /* 0: --valid-for */
	uint64_t valid_for;
	uint16_t hash_alg; /* 0: sha256, or the log's */
	enum vigil_policy_violations violations;
	const char *merge;
	const char *out;
	bool quiet;
};

/* What the progress and warn callbacks share. */
struct report {
	bool tty;
	bool shown; /* a progress line is on the screen */
	int64_t last_ns;
	uint64_t warned;
};

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil policy create (--rootfs DIR [--kernel-release R] | --log FILE |\n"
		"                            --deb PKG.deb...) --name NAME -o P.json [<options>]\n\n"
		"Build an attestation policy's reference values.\n\n"
		"Sources (one):\n"
		"  --rootfs DIR            a root filesystem: ELF executables and libraries, kernel\n"
		"                          modules, scripts, and --include matches, under every name\n"
		"                          they have (symlinks resolved inside DIR)\n"
		"  --kernel-release R      with --rootfs: only release R's modules among\n"
		"                          /lib/modules/* (its tree must exist, with depmod's indexes)\n"
		"  -x, --one-file-system   with --rootfs: stay on DIR's file system\n"
		"  --deb PKG.deb           Debian packages (repeat, or list them after the options);\n"
		"                          each digest is recorded with its package\n"
		"  --log FILE              a trusted run's measurement log (binary or ASCII, IMA's or\n"
		"                          vigil's): every record's name and file digest\n"
		"  --log-format FORMAT     binary or ascii (default: try binary, then ascii)\n"
		"  --bank ALG              the binary log's template digests are ALG (default: the\n"
		"                          file name's _<alg> suffix, else sha1)\n\n"
		"Selection:\n"
		"  --include GLOB          also record files whose name matches (e.g. '/etc/plc/*')\n"
		"  --exclude GLOB          never record names that match\n"
		"  --any-path              allow the digests at any path instead of by name\n"
		"  --rules FILE            allow the record vigil.ko makes when it activates these\n"
		"                          measurement rules (repeat for each rule set it loads)\n"
		"  --no-aliases            record names in the tree only, not through symlinks\n\n"
		"The policy:\n"
		"  --name NAME             its name ([A-Za-z0-9._-], required)\n"
		"  --version N             its version (default 1)\n"
		"  --valid-for DAYS        valid for DAYS from now (default 365)\n"
		"  --valid-until TIME      valid until TIME (YYYY-MM-DDTHH:MM:SSZ)\n"
		"  --hash-alg ALG          sha256 (default), sha1, sha384 or sha512 (--log: the\n"
		"                          log's algorithm)\n"
		"  --violations WHAT       fail (default), warn or ignore\n"
		"  --merge P.json          start from this (unsigned) policy's contents\n"
		"  -o, --output P.json     where to write it (required)\n"
		"  -q, --quiet             no progress line and no summary\n"
		"  -h, --help              show this help\n\n"
		"Globs are fnmatch(3) patterns on the path as the device sees it; '*' crosses '/'.\n");
}

/* ---- option values ---- */

static int parse_violations(const char *s, enum vigil_policy_violations *ret)
{
	for (int v = VIGIL_POLICY_VIOLATIONS_FAIL; v <= VIGIL_POLICY_VIOLATIONS_IGNORE; v++)
		if (!strcmp(s, vigil_policy_violations_name((enum vigil_policy_violations)v))) {
			*ret = (enum vigil_policy_violations)v;
			return 0;
		}
	return -EINVAL;
}

static bool name_valid(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= VIGIL_POLICY_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
		       len;
}

static int push(const char ***list, size_t *n, const char *s)
{
	const char **l = reallocarray(*list, *n + 1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l[(*n)++] = s;
	*list = l;
	return 0;
}

static int set_source(struct options *o, enum source s, const char *arg)
{
	if (o->source != SRC_NONE && o->source != s)
		return cmd_usage_error(CMD, "only one of --rootfs, --log and --deb", arg);
	o->source = s;
	return -1;
}

/* ---- progress and warnings (stderr) ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void clear_line(struct report *rp)
{
	if (rp->shown)
		fprintf(stderr, "\r%-78s\r", "");
	rp->shown = false;
}

static void on_progress(void *ctx, const struct vigil_refvalues_stats *st)
{
	struct report *rp = ctx;
	int64_t t = now_ns();

	if (!rp->tty || t - rp->last_ns < PROGRESS_NS)
		return;
	rp->last_ns = t;
	fprintf(stderr, "\r%-78s\r%llu files, %llu hashed, %.1f MiB", "",
		(unsigned long long)st->files, (unsigned long long)st->hashed,
		(double)st->bytes / (1 << 20));
	rp->shown = true;
}

static void on_warn(void *ctx, const char *name, int err)
{
	struct report *rp = ctx;

	if (rp->warned++ >= WARN_SHOWN)
		return;
	clear_line(rp);
	fprintf(stderr, "vigil " CMD ": %s: %s%s\n", name[0] ? name : "/",
		err == -ESTALE ? "replaced while the tree was read" : strerror(-err),
		rp->warned == WARN_SHOWN ? " (further unreadable files are only counted)" : "");
}

static void summary(const struct options *o, const struct vigil_refvalues_stats *st,
		    const struct vigil_policy_info *info, double secs)
{
	if (o->source == SRC_LOG) {
		fprintf(stderr,
			"vigil " CMD ": %llu records -> %zu paths, %zu digests (%s); skipped "
			"%llu violations, %llu without a file digest, %llu excluded, %llu bad "
			"names\n",
			(unsigned long long)st->records, info->paths, info->digests,
			vigil_hash_name(info->hash_alg), (unsigned long long)st->violations,
			(unsigned long long)st->no_digest, (unsigned long long)st->excluded,
			(unsigned long long)st->bad_names);
		return;
	}
	fprintf(stderr,
		"vigil " CMD ": %llu files hashed (%.1f MiB) of %llu in %.1f s%s: %llu entries "
		"(%llu through symlinks), %zu paths\n",
		(unsigned long long)st->hashed, (double)st->bytes / (1 << 20),
		(unsigned long long)st->files, secs, o->source == SRC_DEB ? " from packages" : "",
		(unsigned long long)st->entries, (unsigned long long)st->aliases, info->paths);
	fprintf(stderr,
		"vigil " CMD ": skipped: %llu unreadable, %llu special files, %llu dangling "
		"symlinks, %llu symlink loops, %llu excluded, %llu in other kernels' module trees, "
		"%llu bad names, %llu mounts\n",
		(unsigned long long)st->unreadable, (unsigned long long)st->special,
		(unsigned long long)st->dangling, (unsigned long long)st->loops,
		(unsigned long long)st->excluded, (unsigned long long)st->other_kernels,
		(unsigned long long)st->bad_names, (unsigned long long)st->mounts_skipped);
}

/* ---- sources ---- */

/* The bank of a per-bank file: "..._sha256" names it; anything else is the SHA-1 list. */
static uint16_t bank_of_path(const char *path)
{
	const char *us = strrchr(path, '_');
	uint16_t alg;

	if (us && vigil_hash_from_name(us + 1, &alg) == 0)
		return alg;
	return TPM2_ALG_SHA1;
}

static int log_error(const struct options *o, int r, const struct vigil_log_error *e, bool ascii)
{
	if (r == -ENOMEM)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->log, strerror(ENOMEM));
	else if (ascii)
		fprintf(stderr, "vigil " CMD ": %s: line %zu: %s\n", o->log, e->line,
			vigil_log_strerror(r));
	else
		fprintf(stderr, "vigil " CMD ": %s: record %zu at byte %zu: %s\n", o->log,
			e->record, e->offset, vigil_log_strerror(r));
	return VIGIL_EXIT_RUNTIME;
}

/* Binary first, then ASCII (unless --log-format says which); the binary parse's error is the
 * one reported unless the text looks like ASCII (a digit or a space first). */
static int load_log(const struct options *o, uint8_t **ret_buf, struct vigil_log **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_log_options lo = { .tpm_alg = o->bank ? o->bank : bank_of_path(o->log) };
	struct vigil_log_error be = { 0 }, ae = { 0 };
	int rb = -EINVAL, ra = -EINVAL;
	bool looks_ascii;
	size_t len;

	if (cmd_read_file(CMD, o->log, LOG_FILE_MAX, &buf, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	if (o->log_format != LOG_ASCII)
		rb = vigil_log_parse(buf, len, &lo, ret, &be);
	if (rb < 0 && o->log_format != LOG_BINARY)
		ra = vigil_log_parse_ascii((const char *)buf, len, &lo, ret, &ae);
	if (rb == 0 || ra == 0) {
		*ret_buf = TAKE_PTR(buf);
		return VIGIL_EXIT_OK;
	}
	looks_ascii = len > 0 && (buf[0] == ' ' || (buf[0] >= '0' && buf[0] <= '9'));
	if (o->log_format == LOG_ASCII || (o->log_format == LOG_AUTO && looks_ascii))
		return log_error(o, ra, &ae, true);
	return log_error(o, rb, &be, false);
}

/* The log decides the hash algorithm; --hash-alg may only confirm it. */
static int log_alg(const struct options *o, const struct vigil_log *log, uint16_t *ret)
{
	struct vigil_refvalues_error err = { 0 };
	int r = vigil_refvalues_log_alg(log, ret, &err);

	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->log, err.what);
		return VIGIL_EXIT_RUNTIME;
	}
	if (o->hash_alg && o->hash_alg != *ret) {
		fprintf(stderr,
			"vigil " CMD ": %s: the log's file digests are %s, not --hash-alg %s\n",
			o->log, vigil_hash_name(*ret), vigil_hash_name(o->hash_alg));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

static int new_policy(const struct options *o, uint16_t alg, struct vigil_policy **ret)
{
	int64_t now = (int64_t)time(NULL);
	struct vigil_policy_info info = {
		.version = o->version,
		.valid_until = o->valid_until ? o->valid_until : now + (int64_t)o->valid_for * DAY,
		.created = now,
		.hash_alg = alg,
		.violations = o->violations,
	};
	int r;

	snprintf(info.name, sizeof(info.name), "%s", o->name);
	snprintf(info.generator, sizeof(info.generator), "vigil %s", VIGIL_VERSION);
	r = vigil_policy_new(&info, ret);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s\n",
			r == -EINVAL ? "--version or the validity is out of range" : strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

static int merge(const struct options *o, struct vigil_policy *p)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *src = NULL;
	struct vigil_policy_error perr = { 0 };
	struct vigil_refvalues_error err = { 0 };
	_cleanup_free_ uint8_t *text = NULL;
	size_t len;
	int r;

	if (cmd_read_file(CMD, o->merge, VIGIL_POLICY_MAX, &text, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = vigil_policy_parse((const char *)text, len, &src, &perr);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: line %zu: %s\n", o->merge, perr.line,
			r == -ENOMEM ? strerror(ENOMEM) : perr.what);
		return VIGIL_EXIT_RUNTIME;
	}
	if (vigil_refvalues_merge(p, src, &err) < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->merge, err.what);
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

/* The "vigil_policy" record of each rule set the device's vigil.ko activates. */
static int add_rules(const struct options *o, struct vigil_policy *p)
{
	for (size_t i = 0; i < o->n_rules; i++) {
		struct vigil_refvalues_error err = { 0 };
		_cleanup_free_ uint8_t *text = NULL;
		size_t len;

		if (cmd_read_file(CMD, o->rules[i], 1 << 20, &text, &len) < 0)
			return VIGIL_EXIT_RUNTIME;
		if (vigil_refvalues_rules(p, (const char *)text, len, &err) < 0) {
			fprintf(stderr, "vigil " CMD ": %s: %s\n", o->rules[i], err.what);
			return VIGIL_EXIT_RUNTIME;
		}
	}
	return VIGIL_EXIT_OK;
}

static int run_source(const struct options *o, struct vigil_policy *p, const struct vigil_log *log,
		      struct vigil_refvalues_stats *st, struct vigil_refvalues_error *err)
{
	switch (o->source) {
	case SRC_ROOTFS:
		return vigil_refvalues_rootfs(p, o->rootfs, &o->ro, st, err);
	case SRC_DEB:
		return vigil_refvalues_debs(p, o->debs, o->n_debs, &o->ro, st, err);
	default:
		return vigil_refvalues_log(p, log, &o->ro, st, err);
	}
}

static int write_policy(const struct options *o, const struct vigil_policy *p)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = vigil_policy_format(p, &text, &len);

	if (r == 0)
		r = vigil_file_write_atomic(o->out, text, len, 0644);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", o->out, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

static int build(struct options *o, const struct vigil_log *log, uint16_t alg)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_refvalues_stats st = { 0 };
	struct vigil_refvalues_error err = { 0 };
	struct report rp = { .tty = !o->quiet && isatty(STDERR_FILENO) };
	int64_t t0 = now_ns();
	int r;

	r = new_policy(o, alg, &p);
	if (r == VIGIL_EXIT_OK && o->merge)
		r = merge(o, p);
	if (r == VIGIL_EXIT_OK)
		r = add_rules(o, p);
	if (r != VIGIL_EXIT_OK)
		return r;
	o->ro.progress = on_progress;
	o->ro.warn = on_warn;
	o->ro.ctx = &rp;
	r = run_source(o, p, log, &st, &err);
	clear_line(&rp);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": %s\n", err.what[0] ? err.what : strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	r = write_policy(o, p);
	if (r == VIGIL_EXIT_OK && !o->quiet)
		summary(o, &st, vigil_policy_info(p), (double)(now_ns() - t0) / 1e9);
	return r;
}

static int create(struct options *o)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	uint16_t alg = o->hash_alg ? o->hash_alg : TPM2_ALG_SHA256;
	int r;

	if (o->source == SRC_LOG) {
		r = load_log(o, &buf, &log);
		if (r == VIGIL_EXIT_OK)
			r = log_alg(o, log, &alg);
		if (r != VIGIL_EXIT_OK)
			return r;
	}
	return build(o, log, alg);
}

/* ---- the command line ---- */

enum {
	OPT_ROOTFS = 256,
	OPT_RELEASE,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_BANK,
	OPT_DEB,
	OPT_INCLUDE,
	OPT_EXCLUDE,
	OPT_ANY_PATH,
	OPT_NO_ALIASES,
	OPT_NAME,
	OPT_VERSION,
	OPT_VALID_FOR,
	OPT_VALID_UNTIL,
	OPT_HASH_ALG,
	OPT_VIOLATIONS,
	OPT_MERGE,
	OPT_RULES,
};

static int parse_source(int c, struct options *o)
{
	switch (c) {
	case OPT_ROOTFS:
		o->rootfs = optarg;
		return set_source(o, SRC_ROOTFS, optarg);
	case OPT_LOG:
		o->log = optarg;
		return set_source(o, SRC_LOG, optarg);
	case OPT_DEB:
		if (push(&o->debs, &o->n_debs, optarg) < 0)
			return VIGIL_EXIT_RUNTIME;
		return set_source(o, SRC_DEB, optarg);
	case OPT_RELEASE:
		o->ro.kernel_release = optarg;
		return -1;
	case OPT_LOG_FORMAT:
		if (strcmp(optarg, "binary") != 0 && strcmp(optarg, "ascii") != 0)
			return cmd_usage_error(CMD, "unknown log format (binary or ascii)", optarg);
		o->log_format = strcmp(optarg, "binary") ? LOG_ASCII : LOG_BINARY;
		return -1;
	case OPT_BANK:
		return vigil_hash_from_name(optarg, &o->bank) < 0 ?
			       cmd_usage_error(CMD, "unknown bank", optarg) :
			       -1;
	default:
		return 0;
	}
}

static int parse_selection(int c, struct options *o)
{
	switch (c) {
	case OPT_INCLUDE:
		return push(&o->include, &o->n_include, optarg) < 0 ? VIGIL_EXIT_RUNTIME : -1;
	case OPT_EXCLUDE:
		return push(&o->exclude, &o->n_exclude, optarg) < 0 ? VIGIL_EXIT_RUNTIME : -1;
	case OPT_RULES:
		return push(&o->rules, &o->n_rules, optarg) < 0 ? VIGIL_EXIT_RUNTIME : -1;
	case OPT_ANY_PATH:
		o->ro.any_path = true;
		return -1;
	case OPT_NO_ALIASES:
		o->ro.no_aliases = true;
		return -1;
	case 'x':
		o->ro.one_file_system = true;
		return -1;
	default:
		return 0;
	}
}

static int parse_policy(int c, struct options *o)
{
	switch (c) {
	case OPT_NAME:
		o->name = optarg;
		return name_valid(optarg) ? -1 :
					    cmd_usage_error(CMD,
							    "invalid name ([A-Za-z0-9._-], "
							    "at most 128)",
							    optarg);
	case OPT_VERSION:
		return cmd_parse_u64(optarg, ((uint64_t)1 << 53) - 1, &o->version) < 0 ?
			       cmd_usage_error(CMD, "invalid version", optarg) :
			       -1;
	case OPT_VALID_FOR:
		return cmd_parse_u64(optarg, 36500, &o->valid_for) < 0 || !o->valid_for ?
			       cmd_usage_error(CMD, "invalid number of days (1..36500)", optarg) :
			       -1;
	case OPT_VALID_UNTIL:
		return cmd_parse_time(optarg, &o->valid_until) < 0 ?
			       cmd_usage_error(CMD, "invalid time (YYYY-MM-DDTHH:MM:SSZ)", optarg) :
			       -1;
	case OPT_HASH_ALG:
		return vigil_hash_from_name(optarg, &o->hash_alg) < 0 ?
			       cmd_usage_error(CMD, "unknown hash algorithm", optarg) :
			       -1;
	case OPT_VIOLATIONS:
		return parse_violations(optarg, &o->violations) < 0 ?
			       cmd_usage_error(CMD, "invalid --violations (fail, warn, ignore)",
					       optarg) :
			       -1;
	case OPT_MERGE:
		o->merge = optarg;
		return -1;
	default:
		return 0;
	}
}

/* Returns -1 to go on, or the exit code. */
static int parse_option(int c, struct options *o, char *argv[])
{
	int r = parse_source(c, o);

	if (r == 0)
		r = parse_selection(c, o);
	if (r == 0)
		r = parse_policy(c, o);
	if (r != 0)
		return r;
	switch (c) {
	case 'o':
		o->out = optarg;
		return -1;
	case 'q':
		o->quiet = true;
		return -1;
	case 'h':
		show_usage(stdout);
		return VIGIL_EXIT_OK;
	case ':':
		return cmd_option_error(CMD, argv, true);
	default:
		return cmd_option_error(CMD, argv, false);
	}
}

/* What the options say together; -1 when they make sense. */
static int check_options(struct options *o, int argc, char *argv[])
{
	for (; optind < argc; optind++) {
		if (o->source != SRC_DEB)
			return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
		if (push(&o->debs, &o->n_debs, argv[optind]) < 0)
			return VIGIL_EXIT_RUNTIME;
	}
	if (o->source == SRC_NONE)
		return cmd_usage_error(CMD, "missing option", "--rootfs, --log or --deb");
	if (!o->name)
		return cmd_usage_error(CMD, "missing option", "--name");
	if (!o->out)
		return cmd_usage_error(CMD, "missing option", "--output");
	if (o->ro.kernel_release && o->source != SRC_ROOTFS)
		return cmd_usage_error(CMD, "only with --rootfs", "--kernel-release");
	if (o->ro.one_file_system && o->source != SRC_ROOTFS)
		return cmd_usage_error(CMD, "only with --rootfs", "--one-file-system");
	if ((o->n_include || o->ro.no_aliases) && o->source == SRC_LOG)
		return cmd_usage_error(CMD, "only with --rootfs or --deb",
				       o->n_include ? "--include" : "--no-aliases");
	if ((o->log_format != LOG_AUTO || o->bank) && o->source != SRC_LOG)
		return cmd_usage_error(CMD, "only with --log", o->bank ? "--bank" : "--log-format");
	if (o->valid_until && o->valid_until <= (int64_t)time(NULL))
		return cmd_usage_error(CMD, "--valid-until is in the past", "--valid-until");
	o->ro.include = o->include;
	o->ro.n_include = o->n_include;
	o->ro.exclude = o->exclude;
	o->ro.n_exclude = o->n_exclude;
	return -1;
}

/**
 * cmd_policy_create() - the `vigil policy create` subcommand
 * @argc: argument count, including argv[0] ("create")
 * @argv: the arguments after "vigil policy"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME.
 */
int cmd_policy_create(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "rootfs", required_argument, NULL, OPT_ROOTFS },
		{ "kernel-release", required_argument, NULL, OPT_RELEASE },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "bank", required_argument, NULL, OPT_BANK },
		{ "deb", required_argument, NULL, OPT_DEB },
		{ "include", required_argument, NULL, OPT_INCLUDE },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "any-path", no_argument, NULL, OPT_ANY_PATH },
		{ "no-aliases", no_argument, NULL, OPT_NO_ALIASES },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "valid-for", required_argument, NULL, OPT_VALID_FOR },
		{ "valid-until", required_argument, NULL, OPT_VALID_UNTIL },
		{ "hash-alg", required_argument, NULL, OPT_HASH_ALG },
		{ "violations", required_argument, NULL, OPT_VIOLATIONS },
		{ "merge", required_argument, NULL, OPT_MERGE },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct options o = { .version = 1, .valid_for = 365 };
	int c, r = -1;

	opterr = 0;
	optind = 0;
	while (r < 0 && (c = getopt_long(argc, argv, ":xo:qh", options, NULL)) != -1)
		r = parse_option(c, &o, argv);
	if (r < 0)
		r = check_options(&o, argc, argv);
	if (r < 0)
		r = create(&o);
	free(o.debs);
	free(o.include);
	free(o.exclude);
	free(o.rules);
	return r;
}
