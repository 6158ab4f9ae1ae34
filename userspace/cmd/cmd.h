/* SPDX-License-Identifier: MIT */
/*
 * cmd.h: what the vigil command's files share: the fixed exit codes and the subcommand entry
 * points that main.c dispatches to.
 *
 * Invariants: a subcommand receives argv with its own name in argv[0], prints its own errors as
 * "vigil <cmd>: <what>: <why>" on stderr and returns one of the VIGIL_EXIT_* codes.
 */
#ifndef VIGIL_CMD_H
#define VIGIL_CMD_H

/* Exit codes are an interface (DESIGN.md §4): never renumber. */
enum {
	VIGIL_EXIT_OK = 0, /* ok / trusted */
	VIGIL_EXIT_REJECTED = 1, /* verification failed: evidence rejected */
	VIGIL_EXIT_USAGE = 2, /* bad command line */
	VIGIL_EXIT_RUNTIME = 3, /* could not run: I/O, TPM, module not loaded */
};

int cmd_status(int argc, char *argv[]);

#endif /* VIGIL_CMD_H */
