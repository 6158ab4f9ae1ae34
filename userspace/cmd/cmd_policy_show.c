// SPDX-License-Identifier: MIT
/*
 * cmd_policy_show.c: `vigil policy show`: summarize a plain (unsigned) policy: its scalar
 * members, how many entries of each kind it has, and the memory its index takes in a verifier.
 *
 * A signed policy is shown by `vigil policy verify P.dsse --trust KEY.pub`, which checks it
 * first; show says so instead of decoding an envelope nobody checked.
 *
 * Exit codes: 0 shown; 1 not a valid policy document; 2 usage; 3 could not read it.
 *
 * Invariants: output goes to stdout only for a document that parsed; one "key: value" line per
 * field (or one JSON object with --json), field names as in the document.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "cmd.h"
#include "libvigil.h"

#define CMD "policy show"

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: vigil policy show [--json] P.json\n\n"
		   "Summarize a policy (unsigned; for a signed one use 'vigil policy verify').\n\n"
		   "Options:\n"
		   "  --json       one JSON object instead of \"key: value\" lines\n"
		   "  -h, --help   show this help\n");
}

/* The fields, in the order both outputs use. */
struct field {
	const char *key;
	uint64_t n; /* when !text */
	const char *text;
};

static size_t fields(const struct vigil_policy *p, struct field *f, char until[32],
		     char created[32])
{
	const struct vigil_policy_info *i = vigil_policy_info(p);
	size_t n = 0;

	cmd_format_time(i->valid_until, until, 32);
	cmd_format_time(i->created, created, 32);
	f[n++] = (struct field){ "name", 0, i->name };
	f[n++] = (struct field){ "version", i->version, NULL };
	f[n++] = (struct field){ "valid_until", 0, until };
	if (i->created)
		f[n++] = (struct field){ "created", 0, created };
	if (i->generator[0])
		f[n++] = (struct field){ "generator", 0, i->generator };
	f[n++] = (struct field){ "hash_alg", 0, vigil_hash_name(i->hash_alg) };
	f[n++] = (struct field){ "violations", 0, vigil_policy_violations_name(i->violations) };
	f[n++] = (struct field){ "paths", i->paths, NULL };
	f[n++] = (struct field){ "digests", i->digests, NULL };
	f[n++] = (struct field){ "any_path", i->any_path, NULL };
	f[n++] = (struct field){ "deny", i->deny, NULL };
	f[n++] = (struct field){ "excludes", i->excludes, NULL };
	f[n++] = (struct field){ "excludes_regex", i->excludes_regex, NULL };
	f[n++] = (struct field){ "boot_aggregate", i->has_boot_aggregate, NULL };
	f[n++] = (struct field){ "pcrs", i->pcrs, NULL };
	f[n++] = (struct field){ "packages", i->packages, NULL };
	f[n++] = (struct field){ "memory", vigil_policy_memory(p), NULL };
	return n;
}

static int print_json(const struct field *f, size_t n)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	for (size_t i = 0; o && i < n; i++)
		if (vigil_json_add(o, f[i].key,
				   f[i].text ? json_object_new_string(f[i].text) :
					       json_object_new_uint64(f[i].n)) < 0)
			return -ENOMEM;
	if (!o)
		return -ENOMEM;
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

static int show(const char *path, bool json)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_policy_error err = { 0 };
	_cleanup_free_ uint8_t *text = NULL;
	char until[32], created[32];
	struct field f[20];
	size_t len, n;
	int r;

	if (cmd_read_file(CMD, path, VIGIL_POLICY_ENVELOPE_MAX, &text, &len) < 0)
		return VIGIL_EXIT_RUNTIME;
	r = vigil_policy_parse((const char *)text, len, &p, &err);
	if (r == -ENOMEM) {
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0) {
		if (memmem(text, len, "\"payloadType\"", 13))
			fprintf(stderr,
				"vigil " CMD ": %s: a signed policy: use 'vigil policy "
				"verify %s --trust KEY.pub'\n",
				path, path);
		else
			fprintf(stderr, "vigil " CMD ": %s: line %zu: %s\n", path, err.line,
				err.what);
		return VIGIL_EXIT_REJECTED;
	}
	n = fields(p, f, until, created);
	if (json)
		return print_json(f, n) < 0 ? VIGIL_EXIT_RUNTIME : VIGIL_EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		if (f[i].text)
			printf("%s: %s\n", f[i].key, f[i].text);
		else
			printf("%s: %llu\n", f[i].key, (unsigned long long)f[i].n);
	}
	return VIGIL_EXIT_OK;
}

/**
 * cmd_policy_show() - the `vigil policy show` subcommand
 * @argc: argument count, including argv[0] ("show")
 * @argv: the arguments after "vigil policy"
 *
 * Return: VIGIL_EXIT_OK, VIGIL_EXIT_REJECTED (not a valid policy), VIGIL_EXIT_USAGE or
 * VIGIL_EXIT_RUNTIME.
 */
int cmd_policy_show(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool json = false;
	const char *path = NULL;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		} else {
			return cmd_option_error(CMD, argv, c == ':');
		}
	}
	r = cmd_operand(CMD, argc, argv, "missing argument", "P.json", &path);
	return r ? r : show(path, json);
}
