// SPDX-License-Identifier: MIT
/*
 * cmd_policy.c: `vigil policy <sub>`: dispatch to the attestation-policy subcommands, each in
 * its own file (cmd_policy_create.c, cmd_policy_keylime.c, cmd_policy_sign.c,
 * cmd_policy_show.c).
 *
 * Invariants: a subcommand receives argv with "policy <sub>" as its argv[0]'s meaning (argv[0]
 * is the subcommand name) and returns a VIGIL_EXIT_* code.
 */
#include "cmd.h"

static const struct cmd_sub subcommands[] = {
	{ "create", cmd_policy_create, "reference values from a root filesystem, a log or .debs" },
	{ "import", cmd_policy_import, "convert a Keylime runtime policy" },
	{ "export", cmd_policy_export, "convert to a Keylime runtime policy" },
	{ "sign", cmd_policy_sign, "sign a policy into a DSSE envelope" },
	{ "verify", cmd_policy_verify, "check a signed policy against trusted keys" },
	{ "show", cmd_policy_show, "summarize a policy or a signed policy" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int cmd_policy(int argc, char *argv[])
{
	return cmd_dispatch("policy", argc, argv, subcommands, ARRAY_SIZE(subcommands));
}
