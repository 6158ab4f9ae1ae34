// SPDX-License-Identifier: MIT
/*
 * common.c: what several subcommands share: command-line error reports, nonces, numbers and
 * times, file I/O with error messages, the texts of TSS and OpenSSL errors, UTF-8 checks for
 * JSON output, and the policy-signing keys a verifier trusts.
 *
 * Invariants: every function that prints writes exactly one "vigil <cmd>: <what>: <why>" line
 * (plus a "Try" line for usage errors) to stderr and returns the exit code to use.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <tss2/tss2_rc.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "policy.h"
#include "tpm.h"

/**
 * cmd_usage_error() - report a bad command line
 * @cmd: the subcommand, e.g. "quote" or "ak create"
 * @what: what is wrong
 * @arg: the offending argument
 *
 * Return: VIGIL_EXIT_USAGE.
 */
int cmd_usage_error(const char *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "vigil %s: %s '%s'\n", cmd, what, arg);
	fprintf(stderr, "Try 'vigil %s --help'.\n", cmd);
	return VIGIL_EXIT_USAGE;
}

/**
 * cmd_operand() - the one operand a subcommand takes after its options
 * @cmd: the subcommand, for messages
 * @argc: argument count
 * @argv: the arguments, parsed by getopt_long() up to optind
 * @missing: what to say when there is none ("missing input")
 * @name: how the usage names it ("P.json")
 * @ret: the operand
 *
 * Return: 0, or VIGIL_EXIT_USAGE after the message (none, or more than one).
 */
int cmd_operand(const char *cmd, int argc, char *argv[], const char *missing, const char *name,
		const char **ret)
{
	if (optind >= argc)
		return cmd_usage_error(cmd, missing, name);
	if (optind + 1 < argc)
		return cmd_usage_error(cmd, "unexpected argument", argv[optind + 1]);
	*ret = argv[optind];
	return 0;
}

/**
 * cmd_option_error() - report an option getopt_long() rejected
 * @cmd: the subcommand
 * @argv: the arguments getopt_long() was given
 * @missing: true for a missing argument (getopt returned ':'), false for an unknown option
 *
 * Return: VIGIL_EXIT_USAGE.
 */
int cmd_option_error(const char *cmd, char *argv[], bool missing)
{
	const char *what = missing ? "option needs an argument" : "invalid option";
	const char *arg = argv[optind - 1];
	char opt[3] = { '-', (char)optopt, '\0' };

	if (strncmp(arg, "--", 2) != 0 && optopt)
		arg = opt;
	return cmd_usage_error(cmd, what, arg);
}

/**
 * cmd_parse_nonce() - parse --nonce: hex, VIGIL_NONCE_MIN..VIGIL_NONCE_MAX bytes
 * @hex: the argument
 * @out: receives the bytes (VIGIL_NONCE_MAX room)
 * @ret_len: receives their number
 *
 * Return: 0, or -EINVAL.
 */
int cmd_parse_nonce(const char *hex, uint8_t *out, size_t *ret_len)
{
	size_t len = strlen(hex), n = 0;

	if (len < 2 * (size_t)VIGIL_NONCE_MIN || len > 2 * (size_t)VIGIL_NONCE_MAX ||
	    vigil_hex_decode(hex, len, out, VIGIL_NONCE_MAX, &n) < 0)
		return -EINVAL;
	*ret_len = n;
	return 0;
}

/**
 * cmd_parse_u32() - parse a number (decimal or 0x hex) that must fit 32 bits
 * @s: the text
 * @ret: receives the value
 *
 * Return: 0, or -EINVAL.
 */
int cmd_parse_u32(const char *s, uint32_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/**
 * cmd_read_file() - read a whole file, reporting failures
 * @cmd: the subcommand, for the message
 * @path: the file ("-" is stdin)
 * @max: largest accepted size
 * @ret: on success, the contents (NUL-terminated); free() it
 * @ret_len: on success, their length
 *
 * Return: 0, or the negative errno after printing "vigil <cmd>: <path>: <why>".
 */
int cmd_read_file(const char *cmd, const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	int r = vigil_file_read(path, max, ret, ret_len);

	if (r == -EFBIG)
		fprintf(stderr, "vigil %s: %s: larger than %zu bytes\n", cmd, path, max);
	else if (r < 0)
		fprintf(stderr, "vigil %s: %s: %s\n", cmd, path, strerror(-r));
	return r;
}

/**
 * cmd_openssl_error() - the text of the oldest OpenSSL error queued, and clear the queue
 * @buf: receives the text
 * @size: room in @buf
 *
 * Return: @buf; "unknown OpenSSL error" if the queue was empty.
 */
const char *cmd_openssl_error(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (!e)
		snprintf(buf, size, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, size);
	ERR_clear_error();
	return buf;
}

/**
 * cmd_quiet_tss() - keep the TSS libraries' own log lines off stderr
 *
 * tss2-mu and ESYS log every rejected blob and TPM error to stderr by default; vigil reports
 * those itself, in its own format. A TSS2_LOG the user set is respected.
 */
void cmd_quiet_tss(void)
{
	setenv("TSS2_LOG", "all+none", 0);
}

/**
 * cmd_tpm_error() - report a failed TPM operation of libvigil's tpm.c
 * @cmd: the subcommand
 * @t: the TPM connection
 * @r: the negative errno the operation returned
 *
 * Return: VIGIL_EXIT_RUNTIME.
 */
int cmd_tpm_error(const char *cmd, const struct vigil_tpm *t, int r)
{
	uint32_t rc = 0;
	const char *op = vigil_tpm_error(t, &rc);

	if (r == -EIO && rc)
		fprintf(stderr, "vigil %s: %s: %s\n", cmd, op, Tss2_RC_Decode(rc));
	else if (r == -EBADE)
		fprintf(stderr, "vigil %s: %s: the TPM's reply does not match the request\n", cmd,
			op);
	else
		fprintf(stderr, "vigil %s: TPM: %s\n", cmd, strerror(-r));
	return VIGIL_EXIT_RUNTIME;
}

/**
 * cmd_tpm_open() - open the TPM a subcommand was pointed at, reporting failures
 * @cmd: the subcommand
 * @tcti: the --tcti option or NULL (see vigil_tpm_tcti())
 * @ret: on success, the connection
 *
 * Return: VIGIL_EXIT_OK or VIGIL_EXIT_RUNTIME.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): every cmd_* helper starts with cmd */
int cmd_tpm_open(const char *cmd, const char *tcti, struct vigil_tpm **ret)
{
	const char *conf = vigil_tpm_tcti(tcti);
	uint32_t rc = 0;
	int r = vigil_tpm_open(conf, ret, &rc);

	if (r == -EIO)
		fprintf(stderr, "vigil %s: TCTI \"%s\": %s\n", cmd, conf, Tss2_RC_Decode(rc));
	else if (r < 0)
		fprintf(stderr, "vigil %s: TCTI \"%s\": %s\n", cmd, conf, strerror(-r));
	return r < 0 ? VIGIL_EXIT_RUNTIME : VIGIL_EXIT_OK;
}

/**
 * cmd_parse_u64() - a decimal number from the command line, digits only
 * @s: the text
 * @max: the largest value accepted
 * @ret: on success, the value
 *
 * Return: 0, or -EINVAL for anything but digits, or a value above @max.
 */
int cmd_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/**
 * cmd_parse_time() - a UTC time as policies write it, "YYYY-MM-DDTHH:MM:SSZ"
 * @s: the text
 * @ret: on success, seconds since the epoch
 *
 * The text must be the canonical form of the time it names, so a date that does not exist
 * (02-30, 24:00:00) is refused instead of normalised into another one.
 *
 * Return: 0 or -EINVAL.
 */
int cmd_parse_time(const char *s, int64_t *ret)
{
	struct tm tm = { 0 };
	char back[32];
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_t t;

	if (!end || *end)
		return -EINVAL;
	t = timegm(&tm);
	if (!gmtime_r(&t, &tm) || !strftime(back, sizeof(back), "%Y-%m-%dT%H:%M:%SZ", &tm) ||
	    strcmp(back, s) != 0)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

/**
 * cmd_format_time() - the inverse of cmd_parse_time()
 * @t: seconds since the epoch
 * @buf: receives "YYYY-MM-DDTHH:MM:SSZ" (or "@<seconds>" for a time it cannot show)
 * @size: its size, at least 21 bytes
 */
void cmd_format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "@%lld", (long long)t);
}

/**
 * cmd_load_trust() - read the policy-signing public keys a verifier trusts
 * @cmd: the subcommand, for messages
 * @paths: PEM files
 * @n: their number
 * @keys: receives one key per path; on failure the ones loaded so far are left for the
 *	caller to free (the array starts zeroed)
 *
 * Return: 0, or a negative errno after one message naming the file.
 */
int cmd_load_trust(const char *cmd, const char *const *paths, size_t n, EVP_PKEY **keys)
{
	char err[256];

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ uint8_t *pem = NULL;
		size_t len = 0;
		int r;

		if (cmd_read_file(cmd, paths[i], VIGIL_SIGKEY_PEM_MAX, &pem, &len) < 0)
			return -EIO;
		r = vigil_sigkey_load_public(pem, len, &keys[i]);
		if (r < 0) {
			fprintf(stderr, "vigil %s: %s: %s\n", cmd, paths[i],
				r == -EKEYREJECTED ? "not an ECDSA P-256 or Ed25519 public key" :
				r == -EBADMSG	   ? "not a PEM public key" :
						     cmd_openssl_error(err, sizeof(err)));
			return r;
		}
	}
	return 0;
}

/**
 * cmd_load_private() - read a signing key (vigil key generate), reporting failures
 * @cmd: the subcommand, for messages
 * @path: the PEM file
 * @ret: the key; EVP_PKEY_free() it
 *
 * Return: 0, or a negative errno after one message naming the file.
 */
int cmd_load_private(const char *cmd, const char *path, EVP_PKEY **ret)
{
	_cleanup_erase_free_ uint8_t *pem = NULL;
	size_t len = 0;
	char err[256];
	int r;

	if (cmd_read_file(cmd, path, VIGIL_SIGKEY_PEM_MAX, &pem, &len) < 0)
		return -EIO;
	r = vigil_sigkey_load_private(pem, len, ret);
	if (r == -EKEYREJECTED)
		fprintf(stderr, "vigil %s: %s: not an ECDSA P-256 or Ed25519 key\n", cmd, path);
	else if (r == -EACCES)
		fprintf(stderr, "vigil %s: %s: encrypted; vigil reads unencrypted keys only\n", cmd,
			path);
	else if (r < 0)
		fprintf(stderr, "vigil %s: %s: no private key: %s\n", cmd, path,
			cmd_openssl_error(err, sizeof(err)));
	return r;
}

static void dispatch_usage(FILE *f, const char *cmd, const struct cmd_sub *subs, size_t n)
{
	fprintf(f, "Usage: vigil %s <subcommand> [<args>]\n\nSubcommands:\n", cmd);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-8s %s\n", subs[i].name, subs[i].description);
	fprintf(f, "\nRun 'vigil %s <subcommand> --help' for its options.\n", cmd);
}

/**
 * cmd_dispatch() - run the subcommand of a command with subcommands (vigil policy, ear, ...)
 * @cmd: the command ("policy")
 * @argc: argument count, including argv[0] (@cmd)
 * @argv: the arguments after "vigil"; the subcommand gets them from its own name on
 * @subs: its subcommands
 * @n: their number
 *
 * Return: the subcommand's VIGIL_EXIT_* code; VIGIL_EXIT_USAGE for a missing or unknown one.
 */
int cmd_dispatch(const char *cmd, int argc, char *argv[], const struct cmd_sub *subs, size_t n)
{
	if (argc < 2) {
		dispatch_usage(stderr, cmd, subs, n);
		return VIGIL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		dispatch_usage(stdout, cmd, subs, n);
		return VIGIL_EXIT_OK;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vigil %s: unknown subcommand '%s'\n", cmd, argv[1]);
	fprintf(stderr, "Try 'vigil %s --help'.\n", cmd);
	return VIGIL_EXIT_USAGE;
}
