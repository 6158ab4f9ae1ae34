// SPDX-License-Identifier: MIT
/*
 * main.c: the vigil command's entry point: global options and dispatch to a subcommand.
 *
 * The table below is the list of subcommands; names are an interface (add, never rename), and
 * a subcommand is listed only once it is implemented. Each lives in its own cmd_<name>.c.
 *
 * Invariants: exits 0 for --help/--version, 2 for a bad command line, otherwise with the
 * subcommand's code; a write error on stdout (e.g. a full disk) turns any result into 3, so a
 * script never takes truncated output for success.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "uapi/vigil.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
} commands[] = {
	{ "status", cmd_status, "show whether vigil.ko is loaded and how it measures" },
	{ "log", cmd_log, "print a measurement log (vigil's or IMA's)" },
	{ "load", cmd_load, "load vigil.ko and install measurement rules" },
	{ "unload", cmd_unload, "remove vigil.ko (refused once its rules are locked)" },
	{ "ak", cmd_ak, "create the TPM attestation key (ak create)" },
	{ "quote", cmd_quote, "quote the PCRs for a nonce and write the evidence" },
	{ "verify", cmd_verify, "verify evidence or tpm2-tools quote files" },
	{ "evidence", cmd_evidence, "convert evidence for other tools (evidence export)" },
	{ "key", cmd_key, "generate a policy-signing key (key generate)" },
	{ "policy", cmd_policy, "create, sign, verify, import and export attestation policies" },
	{ "ear", cmd_ear, "check a signed attestation result (ear verify)" },
	{ "archive", cmd_archive, "check the evidence archive, record monitoring opt-outs" },
	{ "report", cmd_report, "write the compliance report from the evidence archive" },
	{ "verifierd", cmd_verifierd,
	  "attest a fleet of devices continuously (the fleet verifier)" },
	{ "agent", cmd_agent, "attest continuously to a fleet verifier (vigil verifierd)" },
	{ "fleet", cmd_fleet, "manage the devices of a fleet verifier (vigil verifierd)" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void show_usage(FILE *f)
{
	fprintf(f, "Usage: vigil <command> [<args>]\n"
		   "       vigil --help | --version\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].description);
	fprintf(f, "\nRun 'vigil <command> --help' for a command's options.\n");
}

static int dispatch(int argc, char *argv[])
{
	const char *arg = argv[1];

	if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
		show_usage(stdout);
		return VIGIL_EXIT_OK;
	}
	if (!strcmp(arg, "--version")) {
		printf("vigil %s\n", VIGIL_VERSION);
		return VIGIL_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(arg, commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);

	fprintf(stderr, "vigil: unknown %s '%s'\n", arg[0] == '-' ? "option" : "command", arg);
	fprintf(stderr, "Try 'vigil --help' for the list of commands.\n");
	return VIGIL_EXIT_USAGE;
}

int main(int argc, char *argv[])
{
	int r;

	if (argc < 2) {
		show_usage(stderr);
		return VIGIL_EXIT_USAGE;
	}
	r = dispatch(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("vigil: cannot write to stdout");
		return VIGIL_EXIT_RUNTIME;
	}
	return r;
}
