// SPDX-License-Identifier: MIT
/*
 * fuzz_ekcert.c: libFuzzer harness for the verifier's half of enrollment (lib/enroll.c): EK
 * public areas (vigil_ek_public_parse()) and EK certificates (vigil_ek_cert_check()).
 *
 * Input: a 2-byte big-endian length L, then L bytes of marshalled TPM2B_PUBLIC (cut to what is
 * there), then the certificate's DER (the rest). The certificate is checked against a fixed CA
 * directory written once into /tmp at start-up (a test root and an issuer signed by it, both
 * in one PEM file, plus a file that is no certificate) at a fixed time inside their validity,
 * for the presented EK if it parses, the area as unmarshalled if it is well formed but no EK,
 * or else a fixed RSA 2048 EK. Properties besides "no crash, no leak, no UB":
 *   - an accepted EK re-marshals to exactly its bytes, hashes, and vigil_make_credential()
 *     succeeds with it (every EK the parser accepts is usable);
 *   - vigil_ek_cert_check() always returns a verdict (or -ENOMEM) with NUL-terminated,
 *     printable identity fields; VIGIL_EK_PUBLIC_BAD exactly when the EK given is not one the
 *     parser accepts; past the format check the fingerprint is the SHA-256 of the input;
 *   - VIGIL_EK_OK only for certificates the test issuer signed (its issuer name, no detail):
 *     anything else being accepted is a forgery.
 *
 * Seeds (corpus/fuzz_ekcert/): the fixed EK with its certificate (RSA, chain of two, critical
 * TCG extension and subjectAltName), an ECC P-256 EK with its certificate, the fixed-EK form
 * (L = 0), a key mismatch, trailing bytes, a public area alone, garbage. The CA's private keys
 * were thrown away: new seeds need a new CA, whose certificates go into ca_pem below.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>

#include "attest.h"
#include "enroll.h"

#define NOW 1830000000 /* 2027-12, inside the test CA's and the seeds' validity */

static const uint8_t fixed_ek[] = {
	0x01, 0x3a, 0x00, 0x01, 0x00, 0x0b, 0x00, 0x03, 0x00, 0xb2, 0x00, 0x20, 0x83, 0x71, 0x97,
	0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52,
	0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa, 0x00,
	0x06, 0x00, 0x80, 0x00, 0x43, 0x00, 0x10, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0xb1, 0x4c, 0x9f, 0x19, 0xf6, 0xbd, 0xdb, 0x6e, 0x80, 0x5c, 0x0a, 0x11, 0x72, 0x1c, 0x8d,
	0x70, 0xdc, 0x7a, 0xae, 0xdb, 0xe3, 0x89, 0x03, 0xcc, 0xa3, 0x74, 0x1d, 0xcf, 0xa5, 0xb2,
	0xd8, 0x89, 0x7f, 0x13, 0xd1, 0x07, 0x90, 0x92, 0xb8, 0x71, 0x0f, 0xc4, 0xa9, 0x07, 0xac,
	0x35, 0x58, 0xa2, 0x82, 0xc5, 0x41, 0x9a, 0xd2, 0x73, 0x68, 0x2b, 0x82, 0x79, 0x16, 0x8d,
	0x71, 0x88, 0xbd, 0xe5, 0x56, 0xf7, 0x6c, 0xf5, 0xab, 0xe6, 0x07, 0x62, 0x98, 0x95, 0x71,
	0xf5, 0xe9, 0x6f, 0xa4, 0x33, 0x71, 0x05, 0x0f, 0x2f, 0x91, 0x25, 0x96, 0xe4, 0xf8, 0x4b,
	0x84, 0x2a, 0x57, 0xe0, 0xbb, 0x47, 0xf6, 0x50, 0xa4, 0xe4, 0x30, 0x81, 0x24, 0xa4, 0x78,
	0xb2, 0x4f, 0xc3, 0xce, 0xa9, 0x54, 0x6a, 0x94, 0x8f, 0x02, 0x45, 0xac, 0xa2, 0xce, 0xd0,
	0x37, 0xdf, 0x1c, 0xcc, 0xe9, 0x62, 0xf8, 0x03, 0x7b, 0x88, 0x89, 0x2b, 0x11, 0xa0, 0x4e,
	0x58, 0x27, 0xdd, 0x7e, 0x1f, 0x2a, 0x14, 0xd6, 0x19, 0x58, 0xaa, 0xfd, 0xba, 0xb9, 0xb5,
	0x58, 0x38, 0x78, 0x95, 0x3d, 0xf3, 0x70, 0xea, 0x89, 0xed, 0x21, 0x15, 0x66, 0x24, 0xd9,
	0xbe, 0xf9, 0xd8, 0xca, 0xb3, 0x61, 0xed, 0x21, 0xbd, 0x6c, 0xa0, 0x45, 0x7a, 0x4a, 0xfe,
	0x32, 0x80, 0xed, 0x22, 0x60, 0xad, 0x2d, 0x41, 0x98, 0xbd, 0xca, 0x67, 0x62, 0x42, 0x8f,
	0x20, 0xa1, 0x90, 0x61, 0x0c, 0x32, 0x15, 0x54, 0x34, 0x81, 0xba, 0xd7, 0xc3, 0x0b, 0xc6,
	0x43, 0xef, 0x99, 0xbb, 0xff, 0x3c, 0x04, 0xb5, 0xa1, 0xc9, 0x28, 0xc8, 0xca, 0xd7, 0x81,
	0xd7, 0x11, 0x55, 0x60, 0x40, 0x63, 0x53, 0x57, 0x89, 0x55, 0xa6, 0xa8, 0x02, 0x9c, 0xc7,
	0x86, 0x14, 0x23, 0xbb, 0x92, 0x6a, 0x53, 0xcc, 0xb7, 0xd0, 0x7a, 0x47, 0x86, 0xde, 0x48,
	0x9d,
};

static const char ca_pem[] = "-----BEGIN CERTIFICATE-----\n"
			     "MIIBvjCCAWWgAwIBAgIUUhYIAW1Q/sYO5zBKsvtW1vKvw+4wCgYIKoZIzj0EAwIw\n"
			     "LDETMBEGA1UECgwKdmlnaWwgZnV6ejEVMBMGA1UEAwwMZnV6eiBFSyByb290MCAX\n"
			     "DTI2MTEyODA0NTkyNVoYDzIxMjYxMTA0MDQ1OTI1WjAsMRMwEQYDVQQKDAp2aWdp\n"
			     "bCBmdXp6MRUwEwYDVQQDDAxmdXp6IEVLIHJvb3QwWTATBgcqhkjOPQIBBggqhkjO\n"
			     "PQMBBwNCAARkUAg0Rw1LDSkH1fJ1a8353Qc1Rn6f2bbG73kij0AILkA3ktfHqvvC\n"
			     "XghH1tTl2Q1xqs9ChvWBZBSwh9CZeFw3o2MwYTAdBgNVHQ4EFgQUBh6iATbnOzf2\n"
			     "sIffj90+fEIAZ00wHwYDVR0jBBgwFoAUBh6iATbnOzf2sIffj90+fEIAZ00wDwYD\n"
			     "VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDRwAwRAIg\n"
			     "MiPRcJ40DiiqWi49tQAu9RUDiHsP1zDs8g2T2nTrzPYCIFEjCxkpKXEJa8NlO3N+\n"
			     "brsotaSEtn4czByvBHyiJPA7\n"
			     "-----END CERTIFICATE-----\n"
			     "-----BEGIN CERTIFICATE-----\n"
			     "MIIBwzCCAWqgAwIBAgIUBilNQNWaW0tpcFoHDp2d88AzWR4wCgYIKoZIzj0EAwIw\n"
			     "LDETMBEGA1UECgwKdmlnaWwgZnV6ejEVMBMGA1UEAwwMZnV6eiBFSyByb290MCAX\n"
			     "DTI2MTEyODA0NTkyNVoYDzIxMjYxMTA0MDQ1OTI1WjAuMRMwEQYDVQQKDAp2aWdp\n"
			     "bCBmdXp6MRcwFQYDVQQDDA5mdXp6IEVLIGlzc3VlcjBZMBMGByqGSM49AgEGCCqG\n"
			     "SM49AwEHA0IABDNGZvC6ehok5Vli/UkdA3z84Pn6X8shX2T0Ojey+2Fk2QpBmYOV\n"
			     "95QOHiyYc4yoR82nl8P2sQ87ViR89Lsy6wKjZjBkMBIGA1UdEwEB/wQIMAYBAf8C\n"
			     "AQAwDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBRzktxRwcWPlzfOrGNuI3IT4aQ6\n"
			     "sjAfBgNVHSMEGDAWgBQGHqIBNuc7N/awh9+P3T58QgBnTTAKBggqhkjOPQQDAgNH\n"
			     "ADBEAiA1BH8QLCaFt1xCennyMXNx+5dLLkeOOXIazoeMWTnCsAIgfwj4e/eLNYg4\n"
			     "8TVDCrKVk9XQLpN40Hvri1fQt3XCZiU=\n"
			     "-----END CERTIFICATE-----\n";

static char dir[64], ca_file[96], junk_file[96];
static TPM2B_PUBLIC ek_fixed;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_dir(void)
{
	unlink(ca_file);
	unlink(junk_file);
	rmdir(dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/fuzz_ekcert.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(ca_file, sizeof(ca_file), "%s/ca.pem", dir);
	snprintf(junk_file, sizeof(junk_file), "%s/README", dir);
	atexit(remove_dir);
	write_file(ca_file, ca_pem);
	write_file(junk_file, "not a certificate\n");
	if (vigil_ek_public_parse(fixed_ek, sizeof(fixed_ek), &ek_fixed) != 0)
		abort();
	return 0;
}

static void printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

/*
 * An accepted EK: canonical, hashable, usable for MakeCredential. Most inputs mutate the
 * certificate and keep the EK of the one before: MakeCredential (the slow part) runs only for
 * an EK other than the last one checked.
 */
static void accepted(const uint8_t *buf, size_t len, const TPM2B_PUBLIC *ek)
{
	static const uint8_t secret[VIGIL_CREDENTIAL_SECRET_SIZE] = "fuzz";
	static uint8_t last[sizeof(TPM2B_PUBLIC)];
	static size_t last_len;
	uint8_t again[sizeof(TPM2B_PUBLIC)], h[32];
	TPM2B_NAME name = { .size = 34, .name = { 0x00, 0x0b } };
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(ek, again, sizeof(again), &off) != TSS2_RC_SUCCESS ||
	    off != len || memcmp(again, buf, len) != 0 || vigil_ek_hash(ek, h) != 0)
		abort();
	if (len == last_len && !memcmp(last, buf, len))
		return;
	if (vigil_make_credential(ek, &name, secret, sizeof(secret), &blob, &seed) != 0)
		abort();
	memcpy(last, buf, len);
	last_len = len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_ek_identity id;
	TPM2B_PUBLIC ek = { 0 };
	const TPM2B_PUBLIC *use = &ek_fixed;
	size_t plen, clen, off = 0;
	const uint8_t *cert;
	uint8_t fp[32];
	bool is_ek = true;
	int r;

	if (size < 2)
		return 0;
	plen = (size_t)data[0] << 8 | data[1];
	if (plen > size - 2)
		plen = size - 2;
	cert = data + 2 + plen;
	clen = size - 2 - plen;
	r = vigil_ek_public_parse(data + 2, plen, &ek);
	if (r == 0) {
		accepted(data + 2, plen, &ek);
		use = &ek;
	} else if (r == -EKEYREJECTED) {
		if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data + 2, plen, &off, &ek) != TSS2_RC_SUCCESS)
			abort(); /* it parsed before it was rejected */
		use = &ek;
		is_ek = false;
	} else if (r != -EBADMSG) {
		abort();
	}
	r = vigil_ek_cert_check(cert, clen, use, dir, NOW, &id);
	if (r == -ENOMEM)
		return 0;
	if (r < VIGIL_EK_OK || r > VIGIL_EK_PUBLIC_BAD ||
	    !strcmp(vigil_ek_verdict_name(r), "unknown"))
		abort();
	printable(id.subject, sizeof(id.subject));
	printable(id.issuer, sizeof(id.issuer));
	printable(id.serial, sizeof(id.serial));
	printable(id.detail, sizeof(id.detail));
	if (r != VIGIL_EK_CERT_BAD_FORMAT && ((r == VIGIL_EK_PUBLIC_BAD) == is_ek))
		abort();
	if (r != VIGIL_EK_CERT_BAD_FORMAT &&
	    (vigil_hash_digest(TPM2_ALG_SHA256, cert, clen, fp, 32) != 0 ||
	     memcmp(fp, id.fingerprint, 32) != 0))
		abort();
	if (r == VIGIL_EK_OK &&
	    (strcmp(id.issuer, "CN=fuzz EK issuer,O=vigil fuzz") != 0 || id.detail[0] != '\0'))
		abort();
	return 0;
}
