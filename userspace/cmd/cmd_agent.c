// SPDX-License-Identifier: MIT
/*
 * cmd_agent.c: `vigil agent`: the device side of the fleet service (docs/fleet-protocol.md).
 * It attests this device to `vigil verifierd`, continuously: in push mode it asks verifierd
 * for nonces and posts evidence (cmd_agent_push.c); in pull mode it serves verifierd's
 * requests (cmd_agent_pull.c). This file has the options and the TPM side both modes share:
 * the identity (EK public area, EK certificate, AK public area), the activation of an
 * enrollment credential, and the quote (quote_evidence.c, the same as `vigil quote`).
 *
 * Invariants: the AK exists before the agent talks to anyone (created at --handle if the
 * handle is empty, of the algorithm of the EK whose certificate the TPM holds); the EK presented is of the AK's algorithm (an ECC AK under the ECC EK), as
 * ActivateCredential needs; the credential is wiped after use; the log from the verifier's
 * cursor is read after the quote, and from 0 when the log is shorter than the cursor (a reboot).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attest.h"
#include "agent.h"
#include "cleanup.h"
#include "cmd.h"
#include "enroll.h"
#include "proto.h"
#include "tpm.h"

#define CMD AGENT_CMD
#define URL_MAX 512

static void show_usage(FILE *f)
{
	fprintf(f,
		"Usage: vigil agent (--verifier URL | --listen HOST:PORT) --tls-cert F --tls-key F\n"
		"                   --tls-ca F [--verifier-name NAME] [--tcti TCTI] [--handle H]\n"
		"                   [--log FILE] [--once] [--timeout MS] [-v]\n\n"
		"Attest this device continuously to a fleet verifier (vigil verifierd).\n\n"
		"Options:\n"
		"  --verifier URL        push mode: https://HOST:PORT of verifierd\n"
		"  --listen HOST:PORT    pull mode: serve verifierd's requests there\n"
		"  --tls-cert F          this device's certificate, PEM (CN = the device's name)\n"
		"  --tls-key F           its private key, PEM\n"
		"  --tls-ca F            the fleet CA, PEM\n"
		"  --verifier-name NAME  pull mode: the CN verifierd's certificate must have\n"
		"                        (default: %s)\n"
		"  --tcti TCTI           TPM connection (default: $TPM2TOOLS_TCTI, $TSS2_TCTI\n"
		"                        or %s)\n"
		"  --handle H            the AK's persistent handle, created if empty\n"
		"                        (default: 0x%08x)\n"
		"  --log FILE            binary measurement log\n"
		"                        (default: %s)\n"
		"  --once                push mode: attest once (enrolling first if needed), exit\n"
		"                        0 trusted, 1 untrusted, 3 error\n"
		"  --timeout MS          deadline of one request to verifierd (default: %u)\n"
		"  -v, --verbose         report every attestation, not only changes\n"
		"  -h, --help            show this help\n",
		AGENT_VERIFIER_NAME_DEFAULT, VIGIL_TCTI_DEFAULT, VIGIL_AK_HANDLE_DEFAULT,
		CMD_DEFAULT_LOG, AGENT_TIMEOUT_MS_DEFAULT);
}

/**
 * agent_say() - one line "vigil agent: <text>" on stderr
 * @fmt: printf format of the text
 *
 * The line is written with one call, so lines of the agent never interleave.
 */
void agent_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil " CMD ": %s\n", line);
}

/* The AK at --handle, created if the handle is empty (an ECC one: VIGIL_AK_ALG_ANY). */
static int ak_ensure(const struct agent *a, struct vigil_tpm *t, struct vigil_tpm_ak *ret)
{
	int r = vigil_tpm_ak_create(t, VIGIL_AK_ALG_ANY, a->handle, ret);

	if (r == -EEXIST)
		agent_say("handle 0x%08x: holds a key that is not an attestation key", a->handle);
	else if (r < 0)
		(void)cmd_tpm_error(CMD, t, r);
	return r;
}

static int ek_read(struct vigil_tpm *t, enum vigil_ak_alg alg, bool quiet_missing,
		   struct vigil_msg_identity *m)
{
	_cleanup_free_ uint8_t *cert = NULL;
	size_t len = 0;
	int r = vigil_tpm_ek_read(t, alg, &m->ek, &cert, &len);

	if (r == -ENOENT && quiet_missing)
		return r;
	if (r == -ENOENT || r == -EFBIG || r == -EACCES) {
		agent_say("EK certificate (NV index 0x%08x): %s",
			  alg == VIGIL_AK_ALG_RSA ? VIGIL_EK_CERT_NV_RSA : VIGIL_EK_CERT_NV_ECC,
			  r == -ENOENT ? "not provisioned in this TPM" :
			  r == -EFBIG  ? "empty or too large" :
					 "not readable");
		return r;
	}
	if (r < 0) {
		(void)cmd_tpm_error(CMD, t, r);
		return r;
	}
	if (len > sizeof(m->ek_cert)) {
		agent_say("EK certificate: larger than %zu bytes", sizeof(m->ek_cert));
		return -EFBIG;
	}
	memcpy(m->ek_cert, cert, len);
	m->ek_cert_len = len;
	return 0;
}

/*
 * The AK (made sure of) and the EK that enrollment presents and activation uses: the EK of the
 * AK's algorithm when the TPM holds its certificate, else the other one (an ECC AK in a TPM
 * with only an RSA EK certificate: the credential binds the AK's name whichever EK protects it).
 */
static int identity_ek(const struct agent *a, struct vigil_tpm *t, struct vigil_msg_identity *m,
		       enum vigil_ak_alg *ret_alg)
{
	enum vigil_ak_alg own, other;
	struct vigil_tpm_ak ak;
	int r = ak_ensure(a, t, &ak);

	if (r < 0)
		return r;
	m->ak = ak.public;
	own = ak.public.publicArea.type == TPM2_ALG_RSA ? VIGIL_AK_ALG_RSA : VIGIL_AK_ALG_ECC;
	other = own == VIGIL_AK_ALG_RSA ? VIGIL_AK_ALG_ECC : VIGIL_AK_ALG_RSA;
	r = ek_read(t, own, true, m);
	if (r == -ENOENT) {
		r = ek_read(t, other, false, m);
		own = other;
	}
	if (r == 0)
		*ret_alg = own;
	return r;
}

/**
 * agent_identity() - this device's identity message: EK public area, EK certificate, AK
 * @a: the agent
 * @ret_json: on success, the identity as JSON (docs/fleet-protocol.md); free() it
 *
 * The EK is identity_ek()'s, which agent_activate() uses again.
 *
 * Return: 0, or a negative errno after one message.
 */
int agent_identity(const struct agent *a, char **ret_json)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	struct vigil_msg_identity m = { 0 };
	enum vigil_ak_alg ek_alg;
	int r;

	if (cmd_tpm_open(CMD, a->tcti, &t) != VIGIL_EXIT_OK)
		return -EIO;
	r = identity_ek(a, t, &m, &ek_alg);
	if (r < 0)
		return r;
	r = vigil_msg_identity_format(&m, ret_json);
	if (r < 0)
		agent_say("identity: %s", strerror(-r));
	return r;
}

/**
 * agent_activate() - TPM2_ActivateCredential on verifierd's enrollment challenge
 * @a: the agent
 * @c: the challenge (MakeCredential's blob and seed, for this TPM's EK and the AK's name)
 * @ret_json: on success, the secret message as JSON; free() it
 *
 * Return: 0; -EBADMSG if the TPM refuses the credential (made for another TPM or another AK,
 * or altered); another negative errno; each after one message.
 */
int agent_activate(const struct agent *a, const struct vigil_msg_challenge *c, char **ret_json)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	struct vigil_msg_identity id = { 0 };
	struct vigil_msg_secret m = { 0 };
	enum vigil_ak_alg ek_alg = VIGIL_AK_ALG_ANY;
	int r;

	if (cmd_tpm_open(CMD, a->tcti, &t) != VIGIL_EXIT_OK)
		return -EIO;
	r = identity_ek(a, t, &id, &ek_alg);
	if (r < 0)
		return r; /* reported */
	r = vigil_tpm_activate_credential(t, a->handle, ek_alg, &c->blob, &c->seed, m.secret,
					  sizeof(m.secret), &m.len);
	if (r == -EBADMSG)
		agent_say("enrollment: the TPM refused the credential (not made for this TPM's "
			  "EK and AK)");
	else if (r == -ENOENT || r == -EKEYREJECTED)
		agent_say("handle 0x%08x: %s", a->handle,
			  r == -ENOENT ? "no key" : "not an attestation key");
	else if (r < 0)
		(void)cmd_tpm_error(CMD, t, r);
	if (r == 0)
		r = vigil_msg_secret_format(&m, ret_json);
	explicit_bzero(&m, sizeof(m));
	return r;
}

/**
 * agent_quote() - quote for verifierd's request and build the evidence it expects
 * @a: the agent (its quote counter moves on)
 * @req: the quote request: nonce, PCR selection, and the first log record wanted
 * @ret_json: on success, the evidence document; free() it
 *
 * Return: 0, or a negative errno after one message.
 */
int agent_quote(struct agent *a, const struct vigil_msg_quote_request *req, char **ret_json)
{
	_cleanup_(vigil_evidence_freep) struct vigil_evidence *ev = NULL;
	const struct quote_spec q = {
		.nonce = req->nonce,
		.nonce_len = req->nonce_len,
		.sel = &req->selection,
		.from = req->from,
		.handle = a->handle,
		.tcti = a->tcti,
		.log = a->log,
		.log_hint = !strcmp(a->log, CMD_DEFAULT_LOG) ? " (vigil.ko not loaded?)" : NULL,
		.from_reset = true,
	};
	int r = quote_evidence(CMD, &q, &ev);

	if (r < 0)
		return r;
	a->quotes++;
	r = vigil_evidence_format(ev, ret_json);
	if (r < 0)
		agent_say("evidence: %s", strerror(-r));
	return r;
}

/*
 * The algorithm of a new AK: that of the EK whose certificate the TPM holds (ECC P-256 if it
 * has both), since enrollment presents the EK of the AK's algorithm. swtpm, for one, has only
 * an RSA 2048 and an ECC P-384 (high-range) EK certificate: its AK must be RSA.
 */
static enum vigil_ak_alg ak_alg_for_ek(struct vigil_tpm *t)
{
	_cleanup_free_ uint8_t *cert = NULL;
	TPM2B_PUBLIC ek;
	size_t len = 0;

	if (vigil_tpm_ek_read(t, VIGIL_AK_ALG_ANY, &ek, &cert, &len) < 0)
		return VIGIL_AK_ALG_ANY; /* no usable certificate: enrollment will say why */
	return ek.publicArea.type == TPM2_ALG_RSA ? VIGIL_AK_ALG_RSA : VIGIL_AK_ALG_ECC;
}

/* Before serving or calling anyone: the TPM answers and the AK exists. */
static int agent_setup(const struct agent *a)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	struct vigil_tpm_ak ak;
	enum vigil_ak_alg alg;
	int r;

	if (cmd_tpm_open(CMD, a->tcti, &t) != VIGIL_EXIT_OK)
		return VIGIL_EXIT_RUNTIME;
	alg = ak_alg_for_ek(t);
	r = alg == VIGIL_AK_ALG_ANY ? -EEXIST : vigil_tpm_ak_create(t, alg, a->handle, &ak);
	if (r == -EEXIST) /* whatever AK is there, also one of the other algorithm */
		r = ak_ensure(a, t, &ak);
	else if (r < 0)
		(void)cmd_tpm_error(CMD, t, r);
	if (r < 0)
		return VIGIL_EXIT_RUNTIME;
	if (ak.created)
		agent_say("created the attestation key (%s) at handle 0x%08x",
			  ak.public.publicArea.type == TPM2_ALG_RSA ? "rsa" : "ecc", ak.handle);
	return VIGIL_EXIT_OK;
}

/* "https://HOST:PORT", kept without a trailing '/': request paths are appended to it. */
static int parse_verifier(const char *arg, char *buf, size_t size)
{
	size_t len = strlen(arg);

	if (strncmp(arg, "https://", 8) != 0 || len <= 8 || len >= size ||
	    strpbrk(arg + 8, "?# \t"))
		return cmd_usage_error(CMD, "--verifier must be https://HOST:PORT", arg);
	memcpy(buf, arg, len + 1);
	while (len > 8 && buf[len - 1] == '/')
		buf[--len] = '\0';
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT"; port 0 takes any free one. */
static int parse_listen(const char *arg, char host[AGENT_HOST_MAX], uint16_t *ret_port)
{
	const char *colon = strrchr(arg, ':'), *h = arg;
	size_t n = colon ? (size_t)(colon - arg) : 0;
	uint32_t port = 0;

	if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (!colon || n == 0 || n >= AGENT_HOST_MAX || cmd_parse_u32(colon + 1, &port) < 0 ||
	    port > 65535)
		return cmd_usage_error(CMD, "--listen must be HOST:PORT", arg);
	memcpy(host, h, n);
	host[n] = '\0';
	*ret_port = (uint16_t)port;
	return 0;
}

static int parse_option(int c, struct agent *a, char *argv[], char *url)
{
	switch (c) {
	case 'S':
		a->verifier = url;
		return parse_verifier(optarg, url, URL_MAX);
	case 'L':
		a->listen = optarg;
		return parse_listen(optarg, a->listen_host, &a->listen_port);
	case 'c':
		a->tls.cert = optarg;
		return 0;
	case 'k':
		a->tls.key = optarg;
		return 0;
	case 'a':
		a->tls.ca = optarg;
		return 0;
	case 'n':
		a->verifier_name = optarg;
		return 0;
	case 'T':
		a->tcti = optarg;
		return 0;
	case 'H':
		return cmd_parse_u32(optarg, &a->handle) < 0 ?
			       cmd_usage_error(CMD, "bad handle", optarg) :
			       0;
	case 'l':
		a->log = optarg;
		return 0;
	case '1':
		a->once = true;
		return 0;
	case 't':
		return cmd_parse_u32(optarg, &a->timeout_ms) < 0 || a->timeout_ms == 0 ?
			       cmd_usage_error(CMD, "bad timeout", optarg) :
			       0;
	case 'v':
		a->verbose = true;
		return 0;
	default:
		return cmd_option_error(CMD, argv, c == ':');
	}
}

static int check_options(const struct agent *a, bool named)
{
	if (!a->verifier == !a->listen)
		return cmd_usage_error(CMD,
				       "exactly one of these is needed:", "--verifier, --listen");
	if (!a->tls.cert || !a->tls.key || !a->tls.ca)
		return cmd_usage_error(CMD, "missing option",
				       !a->tls.cert ? "--tls-cert" :
				       !a->tls.key  ? "--tls-key" :
						      "--tls-ca");
	if (a->once && a->listen)
		return cmd_usage_error(CMD, "push mode only (--verifier):", "--once");
	if (named && a->verifier)
		return cmd_usage_error(CMD, "pull mode only (--listen):", "--verifier-name");
	if (!*a->verifier_name)
		return cmd_usage_error(CMD, "empty", "--verifier-name");
	return 0;
}

/**
 * cmd_agent() - the `vigil agent` subcommand
 * @argc: argument count, including argv[0] ("agent")
 * @argv: the arguments after "vigil"
 *
 * Return: VIGIL_EXIT_OK (a clean stop, or --once trusted), VIGIL_EXIT_REJECTED (--once
 * untrusted), VIGIL_EXIT_USAGE or VIGIL_EXIT_RUNTIME.
 */
int cmd_agent(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "verifier", required_argument, NULL, 'S' },
		{ "listen", required_argument, NULL, 'L' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "tls-ca", required_argument, NULL, 'a' },
		{ "verifier-name", required_argument, NULL, 'n' },
		{ "tcti", required_argument, NULL, 'T' },
		{ "handle", required_argument, NULL, 'H' },
		{ "log", required_argument, NULL, 'l' },
		{ "once", no_argument, NULL, '1' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct agent a = { .verifier_name = AGENT_VERIFIER_NAME_DEFAULT,
			   .log = CMD_DEFAULT_LOG,
			   .handle = VIGIL_AK_HANDLE_DEFAULT,
			   .timeout_ms = AGENT_TIMEOUT_MS_DEFAULT };
	char url[URL_MAX];
	bool named = false;
	int c, r;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hv", options, NULL)) != -1) {
		if (c == 'h') {
			show_usage(stdout);
			return VIGIL_EXIT_OK;
		}
		named |= c == 'n';
		r = parse_option(c, &a, argv, url);
		if (r)
			return r;
	}
	if (optind < argc)
		return cmd_usage_error(CMD, "unexpected argument", argv[optind]);
	r = check_options(&a, named);
	if (r)
		return r;
	cmd_quiet_tss();
	r = agent_setup(&a);
	if (r != VIGIL_EXIT_OK)
		return r;
	return a.verifier ? agent_push(&a) : agent_pull(&a);
}
