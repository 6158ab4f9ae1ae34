// SPDX-License-Identifier: MIT
/*
 * cmd_load.c: `vigil load` and `vigil unload` — vigil.ko in and out, and its measurement rules.
 *
 * Invariants: a rule set vigil.ko rejects leaves everything as it was — the active rules stay
 * and, if this command loaded the module, it is removed again; the rejection is reported with
 * the module's own reason (line number included) from the status file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"
#include "libvigil.h"
#include "module.h"
#include "uapi/vigil.h"

#define DEFAULT_SECURITYFS VIGIL_FS_MOUNT "/" VIGIL_FS_DIR
#define RULES_MAX ((size_t)64 * 1024)

static void load_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil load [--module PATH] [--pcr N] [--hash ALG] [--rules FILE] [--lock]\n"
		"                  [--securityfs DIR]\n\n"
		"Load vigil.ko (if it is not loaded) and install measurement rules.\n\n"
		"  --module PATH      load this vigil.ko (default: the one installed for this kernel)\n"
		"  --pcr N            PCR to extend (module parameter pcr=, default 11)\n"
		"  --hash ALG         file hash: sha256 (default), sha384 or sha512\n"
		"  --rules FILE       replace the active measurement rules with FILE\n"
		"  --lock             lock the rules: no further change, no unload until reboot\n"
		"  --securityfs DIR   vigil's securityfs directory (default: %s)\n",
		DEFAULT_SECURITYFS);
}

struct load_args {
	struct vigil_load_opts opts;
	const char *rules;
	const char *fsdir;
	bool lock;
};

/* The status file's value for key, copied into buf; false when unreadable or absent. */
static bool status_value(const struct load_args *a, const char *key, char *buf, size_t size)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;
	char path[4096];
	const char *v;

	if (snprintf(path, sizeof(path), "%s/%s", a->fsdir, VIGIL_FS_STATUS) >= (int)sizeof(path) ||
	    vigil_status_read(path, &st))
		return false;
	v = vigil_status_get(st, key);
	if (!v)
		return false;
	snprintf(buf, size, "%s", v);
	return true;
}

static int parse_load(int argc, char *argv[], struct load_args *a)
{
	static const struct option options[] = { { "module", required_argument, NULL, 'm' },
						 { "pcr", required_argument, NULL, 'p' },
						 { "hash", required_argument, NULL, 'H' },
						 { "rules", required_argument, NULL, 'r' },
						 { "lock", no_argument, NULL, 'l' },
						 { "securityfs", required_argument, NULL, 's' },
						 { "help", no_argument, NULL, 'h' },
						 {} };
	uint32_t pcr;
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (c) {
		case 'm':
			a->opts.module = optarg;
			break;
		case 'p':
			if (cmd_parse_u32(optarg, &pcr) || pcr >= VIGIL_PCR_COUNT)
				return cmd_usage_error("load", "PCR must be 0..23, not", optarg);
			a->opts.pcr = (int)pcr;
			break;
		case 'H':
			a->opts.hash = optarg;
			break;
		case 'r':
			a->rules = optarg;
			break;
		case 'l':
			a->lock = true;
			break;
		case 's':
			a->fsdir = optarg;
			break;
		case 'h':
			load_usage(stdout);
			return -1;
		default:
			return cmd_option_error("load", argv, c == ':');
		}
	}
	if (optind != argc)
		return cmd_usage_error("load", "unexpected argument", argv[optind]);
	return 0;
}

/* The rule text to install: FILE, or the active rules, plus "lock" when asked. */
static int rules_text(const struct load_args *a, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ uint8_t *text = NULL;
	_cleanup_free_ char *active = NULL;
	size_t len;
	int r;

	if (a->rules) {
		r = cmd_read_file("load", a->rules, RULES_MAX, &text, &len);
	} else {
		if (asprintf(&active, "%s/%s", a->fsdir, VIGIL_FS_POLICY) < 0)
			return -ENOMEM;
		r = cmd_read_file("load", active, RULES_MAX, &text, &len);
	}
	if (r < 0)
		return r;
	if (a->lock) {
		char *t = realloc(text, len + 7);

		if (!t)
			return -ENOMEM;
		text = (uint8_t *)t;
		len += snprintf(t + len, 7, "%slock\n", len && t[len - 1] != '\n' ? "\n" : "");
	}
	*ret = TAKE_PTR(text);
	*ret_len = len;
	return 0;
}

static int install(const struct load_args *a, bool loaded_here)
{
	_cleanup_free_ uint8_t *text = NULL;
	char why[256] = "invalid rules";
	const char *what = a->rules ? a->rules : "active rules";
	size_t len;
	int r;

	if (rules_text(a, &text, &len) < 0)
		r = -EIO;
	else
		r = vigil_rules_install(a->fsdir, text, len);
	if (r == 0)
		return VIGIL_EXIT_OK;
	if (r == -EINVAL)
		status_value(a, "policy_error", why, sizeof(why));
	if (loaded_here && vigil_module_unload() == 0)
		fprintf(stderr,
			"vigil load: vigil.ko unloaded again: its rules were not installed\n");
	if (r == -EIO)
		return VIGIL_EXIT_RUNTIME;
	if (r == -EINVAL) {
		fprintf(stderr, "vigil load: %s: rejected by vigil.ko: %s\n", what, why);
		return VIGIL_EXIT_USAGE;
	}
	fprintf(stderr, "vigil load: %s: %s\n", what,
		r == -EPERM ? "the rules are locked until reboot" : strerror(-r));
	return VIGIL_EXIT_RUNTIME;
}

/* Parameters cannot change on a loaded module: say so instead of pretending. */
static int check_loaded_params(const struct load_args *a)
{
	char pcr[32], hash[32], want[32];

	snprintf(want, sizeof(want), "%d", a->opts.pcr);
	if (a->opts.pcr >= 0 && status_value(a, "pcr", pcr, sizeof(pcr)) &&
	    strcmp(pcr, want) != 0) {
		fprintf(stderr, "vigil load: vigil.ko is already loaded with pcr=%s\n", pcr);
		return VIGIL_EXIT_RUNTIME;
	}
	if (a->opts.hash && status_value(a, "hash", hash, sizeof(hash)) &&
	    strcmp(hash, a->opts.hash) != 0) {
		fprintf(stderr, "vigil load: vigil.ko is already loaded with hash=%s\n", hash);
		return VIGIL_EXIT_RUNTIME;
	}
	return VIGIL_EXIT_OK;
}

int cmd_load(int argc, char *argv[])
{
	struct load_args a = { .opts = { .pcr = -1 }, .fsdir = DEFAULT_SECURITYFS };
	bool loaded_here = false;
	int r = parse_load(argc, argv, &a);

	if (r)
		return r < 0 ? VIGIL_EXIT_OK : r;
	r = vigil_module_load(&a.opts, &loaded_here);
	if (r < 0) {
		fprintf(stderr, "vigil load: %s: %s\n", a.opts.module ? a.opts.module : "vigil.ko",
			r == -ENOENT ? "no such module" : strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	if (!loaded_here) {
		r = check_loaded_params(&a);
		if (r)
			return r;
	}
	if (a.rules || a.lock) {
		r = install(&a, loaded_here);
		if (r)
			return r;
	}
	printf("vigil.ko %s%s%s\n", loaded_here ? "loaded" : "already loaded",
	       a.rules ? "; rules installed from " : "", a.rules ? a.rules : "");
	if (a.lock)
		printf("rules locked: no change and no unload until reboot\n");
	return VIGIL_EXIT_OK;
}

int cmd_unload(int argc, char *argv[])
{
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: vigil unload\n\nRemove vigil.ko (refused once its rules are locked).\n");
		return VIGIL_EXIT_OK;
	}
	if (argc > 1)
		return cmd_usage_error("unload", "unexpected argument", argv[1]);
	r = vigil_module_unload();
	if (r == 0)
		return VIGIL_EXIT_OK;
	if (r == -ENOENT)
		fprintf(stderr, "vigil unload: vigil.ko is not loaded\n");
	else if (r == -EAGAIN || r == -EBUSY)
		fprintf(stderr,
			"vigil unload: vigil.ko is in use: its rules are locked until reboot\n");
	else
		fprintf(stderr, "vigil unload: %s\n", strerror(-r));
	return VIGIL_EXIT_RUNTIME;
}
