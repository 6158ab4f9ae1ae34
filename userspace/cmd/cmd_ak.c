// SPDX-License-Identifier: MIT
/*
 * cmd_ak.c: `vigil ak create`: make sure the TPM holds an attestation key at a persistent
 * handle, and export its public key.
 *
 * The AK is created under the TPM's endorsement key (TCG default EK template) and persisted; a
 * second run finds and reuses it (libvigil's vigil_tpm_ak_create()). The command prints the
 * handle, the algorithm, the AK's TPM name (hex) and whether it was created, and with --out
 * writes the public key as PEM, mode 0600, never replacing a different file.
 *
 * Invariants: stdout carries only the report; exit 0 when the AK exists afterwards, 2 for a bad
 * command line, 3 for anything that failed (TPM, occupied handle, output file).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "tpm.h"

#define CMD "ak create"

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil ak create [--alg ecc|rsa] [--handle H] [--out AK.pem] [--tcti TCTI]\n\n"
		"Create an attestation key under the TPM's endorsement key and make it persistent,\n"
		"or reuse the one already there.\n\n"
		"Options:\n"
		"  --alg ecc|rsa    key type of a new AK: ECC P-256/ECDSA or RSA 2048/RSASSA, both\n"
		"                   SHA-256 (default: reuse any AK; ecc for a new one)\n"
		"  --handle H       persistent handle (default: 0x%08x)\n"
		"  --out AK.pem     write the AK's public key (PEM); an existing file must hold the\n"
		"                   same key\n"
		"  --tcti TCTI      TPM connection (default: $TPM2TOOLS_TCTI, $TSS2_TCTI or %s)\n"
		"  -h, --help       show this help\n",
		VIGIL_AK_HANDLE_DEFAULT, VIGIL_TCTI_DEFAULT);
}

/* O_EXCL, but a rerun that would write the very same key is not an error. */
static int write_pem(const char *path, const char *pem)
{
	_cleanup_free_ uint8_t *old = NULL;
	size_t len = strlen(pem), old_len = 0;
	int r = vigil_file_write_new(path, pem, len, 0600);

	if (r == -EEXIST && vigil_file_read(path, 65536, &old, &old_len) == 0 && old_len == len &&
	    !memcmp(old, pem, len))
		return 0;
	if (r == -EEXIST) {
		fprintf(stderr, "vigil " CMD ": %s: exists and holds another key; not replaced\n",
			path);
		return r;
	}
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
	return r;
}

static int export_pem(const struct vigil_tpm_ak *ak, const char *path)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	_cleanup_free_ char *pem = NULL;
	char err[256];

	if (vigil_ak_to_pkey(&ak->public.publicArea, &pkey) < 0 ||
	    vigil_ak_pem_format(pkey, &pem) < 0) {
		fprintf(stderr, "vigil " CMD ": AK public key: %s\n",
			cmd_openssl_error(err, sizeof(err)));
		return VIGIL_EXIT_RUNTIME;
	}
	return write_pem(path, pem) < 0 ? VIGIL_EXIT_RUNTIME : VIGIL_EXIT_OK;
}

static void print_ak(const struct vigil_tpm_ak *ak)
{
	char name[2 * sizeof(ak->name.name) + 1];

	vigil_hex_encode(ak->name.name, ak->name.size, name, sizeof(name));
	printf("handle:  0x%08x\n", ak->handle);
	printf("alg:     %s\n", ak->public.publicArea.type == TPM2_ALG_ECC ? "ecc" : "rsa");
	printf("name:    %s\n", name);
	printf("created: %s\n", ak->created ? "yes" : "no (existing AK reused)");
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the options in --help's order */
static int create(enum vigil_ak_alg alg, uint32_t handle, const char *out, const char *tcti)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	struct vigil_tpm_ak ak;
	int r;

	r = cmd_tpm_open(CMD, tcti, &t);
	if (r != VIGIL_EXIT_OK)
		return r;
	r = vigil_tpm_ak_create(t, alg, handle, &ak);
	if (r == -EEXIST) {
		fprintf(stderr,
			"vigil " CMD ": handle 0x%08x: holds a key that is not vigil's %sAK under "
			"this TPM's EK; not replaced\n",
			handle,
			alg == VIGIL_AK_ALG_RSA ? "RSA " :
			alg == VIGIL_AK_ALG_ECC ? "ECC " :
						  "");
		return VIGIL_EXIT_RUNTIME;
	}
	if (r < 0)
		return cmd_tpm_error(CMD, t, r);
	if (out && export_pem(&ak, out) != VIGIL_EXIT_OK)
		return VIGIL_EXIT_RUNTIME;
	print_ak(&ak);
	return VIGIL_EXIT_OK;
}

static int parse_alg(const char *s, enum vigil_ak_alg *ret)
{
	if (!strcmp(s, "ecc"))
		*ret = VIGIL_AK_ALG_ECC;
	else if (!strcmp(s, "rsa"))
		*ret = VIGIL_AK_ALG_RSA;
	else
		return -EINVAL;
	return 0;
}

static int ak_create(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "alg", required_argument, NULL, 'a' }, { "handle", required_argument, NULL, 'H' },
		{ "out", required_argument, NULL, 'o' }, { "tcti", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },	 { 0 },
	};
	enum vigil_ak_alg alg = VIGIL_AK_ALG_ANY;
	uint32_t handle = VIGIL_AK_HANDLE_DEFAULT;
	const char *out = NULL, *tcti = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'a' && parse_alg(optarg, &alg) < 0)
			return cmd_usage_error(CMD, "unknown algorithm (ecc or rsa)", optarg);
		if (c == 'H' && (cmd_parse_u32(optarg, &handle) < 0 || handle < 0x81000000u ||
				 handle > 0x817fffffu))
			return cmd_usage_error(CMD, "not a persistent owner handle", optarg);
		if (c == 'o')
			out = optarg;
		if (c == 'T')
			tcti = optarg;
		if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		if (c == ':' || c == '?')
			return cmd_option_error(CMD, argv, c == ':');
	}
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	return create(alg, handle, out, tcti);
}

/**
 * cmd_ak() - the `vigil ak` subcommands (today: create)
 * @argc: argument count, including argv[0] ("ak")
 * @argv: the arguments after "vigil"
 *
 * Return: a VIGIL_EXIT_* code.
 */
int cmd_ak(int argc, char *argv[])
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout, "Usage: vigil ak create [<options>]\n");
		return argc < 2 ? VIGIL_EXIT_USAGE : VIGIL_EXIT_OK;
	}
	if (strcmp(argv[1], "create") != 0) {
		fprintf(stderr, "vigil ak: unknown command '%s'\nTry 'vigil ak --help'.\n",
			argv[1]);
		return VIGIL_EXIT_USAGE;
	}
	optind = 0;
	cmd_quiet_tss();
	return ak_create(argc - 1, argv + 1);
}
