// SPDX-License-Identifier: MIT
/*
 * cmd_policy.c: `vigil policy <sub>`: dispatch to the attestation-policy subcommands, each in
 * its own file (cmd_policy_create.c, cmd_policy_keylime.c, cmd_policy_sign.c,
 * cmd_policy_show.c).
 *
 * Invariants: a subcommand receives argv with "policy <sub>" as its argv[0]'s meaning (argv[0]
 * is the subcommand name) and returns a VIGIL_EXIT_* code.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} subcommands[] = {
	{ "create", cmd_policy_create, "reference values from a root filesystem, a log or .debs" },
	{ "import", cmd_policy_import, "convert a Keylime runtime policy" },
	{ "export", cmd_policy_export, "convert to a Keylime runtime policy" },
	{ "sign", cmd_policy_sign, "sign a policy into a DSSE envelope" },
	{ "verify", cmd_policy_verify, "check a signed policy against trusted keys" },
	{ "show", cmd_policy_show, "summarize a policy or a signed policy" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: vigil policy <subcommand> [<args>]\n\nSubcommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].description);
	fprintf(f, "\nRun 'vigil policy <subcommand> --help' for its options.\n");
}

int cmd_policy(int argc, char *argv[])
{
	if (argc < 2) {
		show_usage(stderr);
		return VIGIL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		show_usage(stdout);
		return VIGIL_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vigil policy: unknown subcommand '%s'\n", argv[1]);
	fprintf(stderr, "Try 'vigil policy --help'.\n");
	return VIGIL_EXIT_USAGE;
}
