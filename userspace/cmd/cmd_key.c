// SPDX-License-Identifier: MIT
/*
 * cmd_key.c: `vigil key generate`: make a policy-signing key pair.
 *
 * The private key (unencrypted PKCS#8 PEM) goes to --out, created with O_EXCL and mode 0600,
 * so an existing key is never replaced; the public key (SubjectPublicKeyInfo PEM, what
 * `vigil policy verify --trust` and `vigil verify --trust` read) goes next to it, to --pub or
 * to the --out name with ".pem" replaced by ".pub" (or ".pub" appended), also never replacing
 * a file. The key id (SHA-256 of the DER public key, in hex) is printed on stdout, the only
 * output, so a script can capture it.
 *
 * Invariants: either both files are written or neither remains (a failed public-key write
 * removes the private key just created); the private key's text is wiped from memory before it
 * is freed; exit 0 written, 2 usage, 3 anything that failed (existing file, I/O, OpenSSL).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "policy.h"

#define CMD "key generate"

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil key generate --out KEY.pem [--pub KEY.pub]\n"
		"                          [--alg ecdsa-p256|ed25519]\n\n"
		"Generate a policy-signing key pair and print its key id.\n\n"
		"Options:\n"
		"  --out KEY.pem    the private key (PKCS#8 PEM, unencrypted), created with mode\n"
		"                   0600; an existing file is never replaced\n"
		"  --pub KEY.pub    the public key (PEM) (default: KEY.pem with .pem replaced by\n"
		"                   .pub, or .pub appended); never replaces a file either\n"
		"  --alg ALG        ecdsa-p256 (default; signs with SHA-256) or ed25519\n"
		"  -h, --help       show this help\n");
}

/* KEY.pem -> KEY.pub; anything else gets ".pub" appended. */
static char *default_pub(const char *out)
{
	size_t len = strlen(out);
	char *pub;

	if (len > 4 && !strcmp(out + len - 4, ".pem"))
		len -= 4;
	if (asprintf(&pub, "%.*s.pub", (int)len, out) < 0)
		return NULL;
	return pub;
}

static int write_new(const char *path, const char *text, unsigned int mode)
{
	int r = vigil_file_write_new(path, text, strlen(text), mode);

	if (r == -EEXIST)
		fprintf(stderr, "vigil " CMD ": %s: exists; not replaced\n", path);
	else if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", path, strerror(-r));
	return r;
}

/* Both PEM texts, then both files: the private key first, taken back if the public fails. */
static int write_pair(EVP_PKEY *key, const char *out, const char *pub)
{
	_cleanup_erase_free_ char *priv_pem = NULL;
	_cleanup_free_ char *pub_pem = NULL;
	char err[256];

	if (vigil_sigkey_private_pem(key, &priv_pem) < 0 ||
	    vigil_sigkey_public_pem(key, &pub_pem) < 0) {
		fprintf(stderr, "vigil " CMD ": PEM: %s\n", cmd_openssl_error(err, sizeof(err)));
		return -EIO;
	}
	if (write_new(out, priv_pem, 0600) < 0)
		return -EIO;
	if (write_new(pub, pub_pem, 0644) < 0) {
		unlink(out);
		return -EIO;
	}
	return 0;
}

static int generate(enum vigil_sigkey_alg alg, const char *out, const char *pub)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	uint8_t id[VIGIL_SIGKEY_ID_SIZE];
	char hex[2 * VIGIL_SIGKEY_ID_SIZE + 1], err[256];

	if (vigil_sigkey_generate(alg, &key) < 0 || vigil_sigkey_id(key, id) < 0) {
		fprintf(stderr, "vigil " CMD ": %s\n", cmd_openssl_error(err, sizeof(err)));
		return VIGIL_EXIT_RUNTIME;
	}
	if (write_pair(key, out, pub) < 0)
		return VIGIL_EXIT_RUNTIME;
	vigil_hex_encode(id, sizeof(id), hex, sizeof(hex));
	printf("%s\n", hex);
	return VIGIL_EXIT_OK;
}

static int key_generate(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pub", required_argument, NULL, 'p' },
		{ "alg", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	enum vigil_sigkey_alg alg = VIGIL_SIGKEY_ECDSA_P256;
	_cleanup_free_ char *pub_default = NULL;
	const char *out = NULL, *pub = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'p')
			pub = optarg;
		else if (c == 'a' && vigil_sigkey_alg_parse(optarg, &alg) < 0)
			return cmd_usage_error(CMD, "unknown algorithm (ecdsa-p256 or ed25519)",
					       optarg);
		else if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		} else if (c == ':' || c == '?')
			return cmd_option_error(CMD, argv, c == ':');
	}
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	if (!out)
		return cmd_usage_error(CMD, "missing option", "--out");
	if (!pub) {
		pub_default = default_pub(out);
		if (!pub_default) {
			fprintf(stderr, "vigil " CMD ": %s\n", strerror(ENOMEM));
			return VIGIL_EXIT_RUNTIME;
		}
		pub = pub_default;
	}
	if (!strcmp(pub, out))
		return cmd_usage_error(CMD, "--pub must differ from --out", pub);
	return generate(alg, out, pub);
}

/**
 * cmd_key() - the `vigil key` subcommands (today: generate)
 * @argc: argument count, including argv[0] ("key")
 * @argv: the arguments after "vigil"
 *
 * Return: a VIGIL_EXIT_* code.
 */
int cmd_key(int argc, char *argv[])
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc < 2 ? stderr : stdout, "Usage: vigil key generate [<options>]\n");
		return argc < 2 ? VIGIL_EXIT_USAGE : VIGIL_EXIT_OK;
	}
	if (strcmp(argv[1], "generate") != 0) {
		fprintf(stderr, "vigil key: unknown command '%s'\nTry 'vigil key --help'.\n",
			argv[1]);
		return VIGIL_EXIT_USAGE;
	}
	optind = 0;
	return key_generate(argc - 1, argv + 1);
}
