// SPDX-License-Identifier: MIT
/*
 * fuzz_ear.c: libFuzzer harness for EAR JWTs (lib/ear.c) and the JWS and base64url code under
 * them (lib/jws.c), against one fixed test key.
 *
 * Every input goes to four readers. Properties besides "no crash, no leak, no UB":
 *   - vigil_base64url_decode(): what decodes has the length the input's length implies and
 *     encodes back to the input byte for byte (one spelling per byte string);
 *   - vigil_jws_verify(): always a verdict; what verifies has exactly two dots and its
 *     payload encodes back to the middle part;
 *   - vigil_ear_parse_claims() (the claims set read directly, no signature needed, so the
 *     mutated JSON reaches the claims reader): always VALID or BAD_CLAIMS with a detail; what
 *     is valid has statuses no better than their claims and non-empty verifier texts, and
 *     vigil_ear_sign() writes it (the writer takes what the reader takes) to a JWT that
 *     vigil_ear_verify() reads back to an equal EAR;
 *   - vigil_ear_verify(): always a verdict with a detail; what is valid equals what its
 *     pretty-printed claims set parses to.
 *
 * The key is a test key made for this harness; its private half is below on purpose, so the
 * round trip can sign and the seeds in corpus/fuzz_ear/ (valid EARs of both namings, their
 * bare claims sets, and malformed JWTs) carry real signatures that reach the claims reader
 * through vigil_ear_verify() too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compliance.h"
#include "policy.h"

static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			      "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLFeqkKPXPCQCLyV9\n"
			      "2puiBehPf90Zb24aOoEsWF3Gho+hRANCAATmcTP12YrT5ijxWCbXjYOYL4K325lG\n"
			      "I9G/B51w93fRzQn+qjj2cy3F/wKOMOTbvFuRY13zBLQXRnXgFOxtam+1\n"
			      "-----END PRIVATE KEY-----\n";
static const char pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5nEz9dmK0+Yo8Vgm142DmC+Ct9uZ\n"
			      "RiPRvwedcPd30c0J/qo49nMtxf8CjjDk27xbkWNd8wS0F0Z14BTsbWpvtQ==\n"
			      "-----END PUBLIC KEY-----\n";

static EVP_PKEY *private_key, *trusted;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (vigil_sigkey_load_private((const uint8_t *)key_pem, sizeof(key_pem) - 1, &private_key) <
		    0 ||
	    vigil_sigkey_load_public((const uint8_t *)pub_pem, sizeof(pub_pem) - 1, &trusted) < 0)
		abort();
	return 0;
}

static void base64url(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	char *back = NULL;
	size_t len = 0;

	if (vigil_base64url_decode((const char *)data, size, VIGIL_JWS_MAX, &out, &len) < 0)
		return;
	if (len != size / 4 * 3 + (size % 4 ? size % 4 - 1 : 0) || out[len] != '\0' ||
	    vigil_base64url_encode(out, len, &back) < 0 || strlen(back) != size ||
	    memcmp(back, data, size) != 0)
		abort();
	free(out);
	free(back);
}

static void jws(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *d1, *d2;
	uint8_t *payload = NULL;
	char *back = NULL;
	size_t len = 0, key = 9;
	int r = vigil_jws_verify(text, size, &trusted, 1, &payload, &len, &key);

	if (r < 0 || r > VIGIL_JWS_UNTRUSTED)
		abort();
	if (r != VIGIL_JWS_VERIFIED)
		return;
	d1 = memchr(text, '.', size);
	d2 = d1 ? memchr(d1 + 1, '.', size - (size_t)(d1 + 1 - text)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', size - (size_t)(d2 + 1 - text)) || key != 0 ||
	    vigil_base64url_encode(payload, len, &back) < 0 ||
	    strlen(back) != (size_t)(d2 - d1 - 1) || memcmp(back, d1 + 1, strlen(back)) != 0)
		abort();
	free(payload);
	free(back);
}

static void check_ear(const struct vigil_ear *e)
{
	for (size_t s = 0; s < VIGIL_SUBMOD_COUNT; s++)
		for (size_t c = 0; c < VIGIL_TV_COUNT; c++)
			if (e->submods[s].has[c] &&
			    vigil_ear_tier_of(e->submods[s].tv[c]) > e->submods[s].status)
				abort();
	if (!e->developer[0] || !e->build[0] || e->iat < 0 ||
	    (e->nonce_len && (e->nonce_len < VIGIL_NONCE_MIN || e->nonce_len > VIGIL_NONCE_MAX)))
		abort();
}

/* What the reader accepts, the writer writes, and it reads back the same. */
static void round_trip(const struct vigil_ear *e)
{
	struct vigil_ear back;
	const char *detail = NULL;
	char *jwt = NULL;

	if (vigil_ear_sign(e, NULL, private_key, &jwt) < 0 ||
	    vigil_ear_verify(jwt, strlen(jwt), &trusted, 1, &back, NULL, &detail) !=
		    VIGIL_EAR_VALID ||
	    !vigil_ear_equal(e, &back))
		abort();
	free(jwt);
}

static void claims(const uint8_t *data, size_t size)
{
	struct vigil_ear e;
	const char *detail = NULL;
	int r = vigil_ear_parse_claims(data, size, &e, &detail);

	if (r != VIGIL_EAR_VALID && (r != VIGIL_EAR_BAD_CLAIMS || !detail))
		abort();
	if (r != VIGIL_EAR_VALID)
		return;
	check_ear(&e);
	round_trip(&e);
}

static void ear(const uint8_t *data, size_t size)
{
	struct vigil_ear e, again;
	const char *detail = NULL;
	char *text = NULL;
	int r = vigil_ear_verify((const char *)data, size, &trusted, 1, &e, &text, &detail);

	if (r < 0 || r > VIGIL_EAR_BAD_CLAIMS || (r != VIGIL_EAR_VALID && !detail))
		abort();
	if (r != VIGIL_EAR_VALID)
		return;
	check_ear(&e);
	if (vigil_ear_parse_claims((const uint8_t *)text, strlen(text), &again, &detail) !=
		    VIGIL_EAR_VALID ||
	    !vigil_ear_equal(&e, &again))
		abort();
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	base64url(data, size);
	jws(data, size);
	claims(data, size);
	ear(data, size);
	return 0;
}
