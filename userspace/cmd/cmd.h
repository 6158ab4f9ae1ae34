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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

/* Exit codes are an interface (DESIGN.md §4): never renumber. */
enum {
	VIGIL_EXIT_OK = 0, /* ok / trusted */
	VIGIL_EXIT_REJECTED = 1, /* verification failed: evidence rejected */
	VIGIL_EXIT_USAGE = 2, /* bad command line */
	VIGIL_EXIT_RUNTIME = 3, /* could not run: I/O, TPM, module not loaded */
};

int cmd_status(int argc, char *argv[]);
int cmd_log(int argc, char *argv[]);
int cmd_ak(int argc, char *argv[]);
int cmd_quote(int argc, char *argv[]);
int cmd_evidence(int argc, char *argv[]);
int cmd_verify(int argc, char *argv[]);
int cmd_load(int argc, char *argv[]);
int cmd_unload(int argc, char *argv[]);
int cmd_key(int argc, char *argv[]);
int cmd_policy(int argc, char *argv[]);
/* `vigil policy <sub>`: cmd_policy.c dispatches to these */
int cmd_policy_create(int argc, char *argv[]);
int cmd_policy_import(int argc, char *argv[]);
int cmd_policy_export(int argc, char *argv[]);
int cmd_policy_sign(int argc, char *argv[]);
int cmd_policy_verify(int argc, char *argv[]);
int cmd_policy_show(int argc, char *argv[]);

/* common.c: what several subcommands share */
struct vigil_tpm;
int cmd_usage_error(const char *cmd, const char *what, const char *arg);
int cmd_option_error(const char *cmd, char *argv[], bool missing);
int cmd_parse_nonce(const char *hex, uint8_t *out, size_t *ret_len);
int cmd_parse_u32(const char *s, uint32_t *ret);
int cmd_read_file(const char *cmd, const char *path, size_t max, uint8_t **ret, size_t *ret_len);
const char *cmd_openssl_error(char *buf, size_t size);
int cmd_tpm_error(const char *cmd, const struct vigil_tpm *t, int r);
int cmd_tpm_open(const char *cmd, const char *tcti, struct vigil_tpm **ret);
void cmd_quiet_tss(void);
int cmd_parse_u64(const char *s, uint64_t max, uint64_t *ret);
int cmd_parse_time(const char *s, int64_t *ret);
void cmd_format_time(int64_t t, char *buf, size_t size);
int cmd_load_trust(const char *cmd, const char *const *paths, size_t n, EVP_PKEY **keys);

#endif /* VIGIL_CMD_H */
