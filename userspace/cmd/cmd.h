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

#include "compliance.h"
#include "uapi/vigil.h"

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
int cmd_ear(int argc, char *argv[]);
int cmd_archive(int argc, char *argv[]);
int cmd_report(int argc, char *argv[]);
int cmd_verifierd(int argc, char *argv[]);
int cmd_agent(int argc, char *argv[]);
int cmd_fleet(int argc, char *argv[]);
/* `vigil policy <sub>`: cmd_policy.c dispatches to these */
int cmd_policy_create(int argc, char *argv[]);
int cmd_policy_import(int argc, char *argv[]);
int cmd_policy_export(int argc, char *argv[]);
int cmd_policy_sign(int argc, char *argv[]);
int cmd_policy_verify(int argc, char *argv[]);
int cmd_policy_show(int argc, char *argv[]);

/* cmd_verify_record.c: `vigil verify`'s EAR and archive entry */

/**
 * struct verify_record - what one `vigil verify` used and leaves behind
 * @ear_key: --ear-key (sign an EAR), or NULL
 * @ear_out: --ear (where to write it; "-" stdout), or NULL
 * @profile: --ear-profile
 * @archive: --archive DIR, or NULL
 * @device: --device, or the AK key id in hex (@device_buf)
 * @tsa: --tsa URL and --tsa-ca (@tsa_ca)
 * @now: the verification time
 * @in: the verification's inputs, as vigil_reverify() takes them
 * @trust, @trust_len, @ntrust: the --trust keys' PEM bytes
 * @ear, @ear_pub: the signed EAR and its key's public PEM (owned)
 */
struct verify_record {
	const char *ear_key;
	const char *ear_out;
	enum vigil_ear_profile profile;
	const char *archive;
	const char *device;
	char device_buf[2 * VIGIL_AK_KEYID_SIZE + 1];
	char selection[64];
	struct vigil_tsa tsa;
	uint8_t *tsa_ca;
	int64_t now;
	struct vigil_reverify_input in;
	uint8_t *trust[VIGIL_ARCHIVE_TRUST_MAX];
	size_t trust_len[VIGIL_ARCHIVE_TRUST_MAX];
	size_t ntrust;
	char *ear;
	char *ear_pub;
};

void verify_record_release(struct verify_record *rec);
int verify_record_ear(struct verify_record *rec, const struct vigil_verdict *v);
int verify_record_trust(struct verify_record *rec, const char *const *paths, size_t n);
int verify_record_archive(const struct verify_record *rec, struct vigil_archive *a,
			  const char *verdict);

/* common.c: what several subcommands share */

/**
 * struct cmd_sub - one subcommand of a command with subcommands
 * @name: its name ("verify")
 * @fn: what runs it, with argv[0] its name
 * @description: one line for the command's usage
 */
struct cmd_sub {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *description;
};

int cmd_dispatch(const char *cmd, int argc, char *argv[], const struct cmd_sub *subs, size_t n);
struct vigil_tpm;
int cmd_usage_error(const char *cmd, const char *what, const char *arg);
int cmd_option_error(const char *cmd, char *argv[], bool missing);
int cmd_operand(const char *cmd, int argc, char *argv[], const char *missing, const char *name,
		const char **ret);
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
int cmd_load_private(const char *cmd, const char *path, EVP_PKEY **ret);

/* quote_evidence.c: the quote, log and evidence of `vigil quote` and `vigil agent` */

#define CMD_DEFAULT_LOG VIGIL_FS_MOUNT "/" VIGIL_FS_DIR "/" VIGIL_FS_BINARY

/**
 * struct quote_spec - what one quote_evidence() quotes
 * @nonce: the verifier's nonce
 * @nonce_len: its length, VIGIL_NONCE_MIN..VIGIL_NONCE_MAX
 * @sel: the PCRs to quote
 * @from: the first log record to include
 * @handle: the AK's persistent handle
 * @tcti: the TPM (--tcti), or NULL (vigil_tpm_tcti())
 * @log: the binary measurement log, or NULL for evidence without a log
 * @log_hint: appended to the message when @log does not exist, or NULL
 * @from_reset: a log with fewer records than @from is sent from 0 (the device rebooted since
 *	the verifier's cursor), instead of failing
 */
struct quote_spec {
	const uint8_t *nonce;
	size_t nonce_len;
	const TPML_PCR_SELECTION *sel;
	uint64_t from;
	uint32_t handle;
	const char *tcti;
	const char *log;
	const char *log_hint;
	bool from_reset;
};

int quote_evidence(const char *cmd, const struct quote_spec *q, struct vigil_evidence **ret);

#endif /* VIGIL_CMD_H */
