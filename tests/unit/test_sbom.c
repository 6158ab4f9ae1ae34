// SPDX-License-Identifier: MIT
/*
 * test_sbom.c: unit tests of CycloneDX SBOM matching (lib/sbom.c).
 *
 * The fixtures tests/fixtures/sbom/cyclonedx-1.5.json and -1.6.json are hand-written BOMs with
 * components nested five and four levels deep, "file" components, hashes in upper case and of
 * other algorithms, 1.6 "evidence" and one digest listed by two components. Each file digest
 * in them is the SHA-256 of the file's path as text, so a test computes the digest it looks up.
 * Every rejection (wrong bomFormat, specVersion 1.4, a hash of the wrong length, duplicate
 * member names, too deep, trailing bytes, ...) is its own case and must name what is wrong.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "attest.h"
#include "cleanup.h"
#include "compliance.h"

#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

#define HEAD "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\", "
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct vigil_sbom *load(const char *name)
{
	char path[512];
	uint8_t *text = NULL;
	size_t len = 0;
	struct vigil_sbom *s = NULL;
	const char *err = NULL;

	snprintf(path, sizeof(path), "%s/sbom/%s", VIGIL_FIXTURES, name);
	assert_int_equal(vigil_file_read(path, VIGIL_SBOM_MAX, &text, &len), 0);
	if (vigil_sbom_parse((const char *)text, len, &s, &err) != 0)
		fail_msg("%s: %s", name, err ? err : "?");
	free(text);
	return s;
}

static const struct vigil_sbom_component *find(const struct vigil_sbom *s, const char *content)
{
	uint8_t d[32];

	SHA256((const unsigned char *)content, strlen(content), d);
	return vigil_sbom_lookup(s, d);
}

/* Parse @text expecting a rejection whose message contains @what. */
static void rejects(const char *text, const char *what)
{
	struct vigil_sbom *s = NULL;
	const char *err = NULL;
	int r = vigil_sbom_parse(text, strlen(text), &s, &err);

	if (r != -EBADMSG)
		fail_msg("accepted or wrong error %d: %s", r, text);
	assert_null(s);
	assert_non_null(err);
	assert_contains(err, what);
}

static void test_cyclonedx_15(void **state)
{
	_cleanup_(vigil_sbom_freep) struct vigil_sbom *s = load("cyclonedx-1.5.json");
	const struct vigil_sbom_component *c;
	const char *spec, *serial, *name, *version;

	(void)state;
	vigil_sbom_info(s, &spec, &serial, &name, &version);
	assert_string_equal(spec, "1.5");
	assert_string_equal(serial, "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79");
	assert_string_equal(name, "ctrl-x200-image");
	assert_string_equal(version, "4.2.1");
	c = find(s, "/usr/bin/plc-runtime"); /* written in upper case */
	assert_non_null(c);
	assert_string_equal(c->name, "/usr/bin/plc-runtime");
	assert_string_equal(c->version, "2.3.0");
	assert_string_equal(c->purl, "");
	c = find(s, "/usr/lib/libmodbus.so.5"); /* five levels down */
	assert_non_null(c);
	assert_string_equal(c->version, "3.1.10");
	assert_string_equal(c->bom_ref, "file:libmodbus");
	c = find(s, "/etc/plc/runtime.conf");
	assert_non_null(c);
	assert_string_equal(c->version, "4.2.1");
	c = find(s, "image"); /* metadata.component is indexed too */
	assert_non_null(c);
	assert_string_equal(c->name, "ctrl-x200-image");
	assert_null(find(s, "/usr/bin/not-in-the-sbom"));
	assert_null(find(s, "x")); /* only SHA-1 and SHA-512 of it are listed */
}

static void test_cyclonedx_16(void **state)
{
	_cleanup_(vigil_sbom_freep) struct vigil_sbom *s = load("cyclonedx-1.6.json");
	const struct vigil_sbom_component *c;
	const char *spec, *serial, *name, *version;

	(void)state;
	vigil_sbom_info(s, &spec, &serial, &name, &version);
	assert_string_equal(spec, "1.6");
	assert_string_equal(serial, "urn:uuid:9b0c6a5e-1f0a-4f57-8d1c-5b8b6cf1e2aa");
	assert_string_equal(name, "ctrl-x200");
	assert_string_equal(version, "fw-4.2.1");
	c = find(s, "/bin/ash");
	assert_non_null(c);
	assert_string_equal(c->name, "/bin/ash");
	assert_string_equal(c->version, "1.35.0-4");
	/* listed by the file component and, later, by plc-runtime: the first one wins */
	c = find(s, "/bin/busybox");
	assert_non_null(c);
	assert_string_equal(c->name, "/bin/busybox");
	c = find(s, "/usr/bin/plc-runtime-2.4");
	assert_non_null(c);
	assert_string_equal(c->name, "plc-runtime");
	assert_string_equal(c->version, "2.4.0");
	assert_null(find(s, "/bin/sh")); /* a component without hashes */
	assert_null(find(s, "image"));
}

static void test_minimal(void **state)
{
	static const char text[] = "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\"}";
	_cleanup_(vigil_sbom_freep) struct vigil_sbom *s = NULL;
	const char *spec = NULL, *serial = NULL, *name = NULL, *version = NULL;
	uint8_t zero[32] = { 0 };

	(void)state;
	assert_int_equal(vigil_sbom_parse(text, sizeof(text) - 1, &s, NULL), 0);
	vigil_sbom_info(s, &spec, &serial, &name, &version);
	assert_string_equal(spec, "1.6");
	assert_string_equal(serial, "");
	assert_string_equal(name, "");
	assert_string_equal(version, "");
	assert_null(vigil_sbom_lookup(s, zero));
}

static void test_wrong_format(void **state)
{
	(void)state;
	rejects("{\"bomFormat\": \"SPDX\", \"specVersion\": \"1.5\"}", "bomFormat");
	rejects("{\"specVersion\": \"1.5\"}", "bomFormat");
	rejects("{\"spdxVersion\": \"SPDX-2.3\"}", "bomFormat");
	rejects("[]", "not a JSON object");
	rejects("", "empty");
}

static void test_spec_version(void **state)
{
	(void)state;
	rejects("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.4\"}", "specVersion");
	rejects("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.7\"}", "specVersion");
	rejects("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.50\"}", "specVersion");
	rejects("{\"bomFormat\": \"CycloneDX\", \"specVersion\": 1.5}", "specVersion");
	rejects("{\"bomFormat\": \"CycloneDX\"}", "specVersion");
}

static void test_bad_hash(void **state)
{
	(void)state;
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"hashes\": [{\"alg\": \"SHA-256\", "
		     "\"content\": \"" HEX64 "0\"}]}]}",
		"64 hex digits");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"hashes\": [{\"alg\": \"SHA-256\", "
		     "\"content\": \"0123456789abcdef\"}]}]}",
		"64 hex digits");
	rejects(HEAD
		"\"components\": [{\"name\": \"a\", \"hashes\": [{\"alg\": \"SHA-256\", "
		"\"content\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\"}"
		"]}]}",
		"64 hex digits");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"hashes\": [{\"alg\": \"SHA-256\"}]}]}",
		"\"content\"");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"hashes\": [\"" HEX64 "\"]}]}",
		"\"alg\"");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"hashes\": {}}]}", "hashes");
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	rejects("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\", \"specVersion\": "
		"\"1.6\"}",
		"twice");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"name\": \"b\"}]}", "twice");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"hashes\": [{\"alg\": \"SHA-256\", "
		     "\"content\": \"" HEX64 "\", \"content\": \"" HEX64 "\"}]}]}",
		"twice");
}

static void test_malformed(void **state)
{
	(void)state;
	rejects(HEAD "\"components\": []} x", "not valid JSON");
	rejects(HEAD "\"components\": []}{}", "not valid JSON");
	rejects(HEAD "\"components\": [1]}", "not a JSON object");
	rejects(HEAD "\"components\": {}}", "\"components\" is not an array");
	rejects(HEAD "\"components\": [{\"version\": \"1\"}]}", "no \"name\"");
	rejects(HEAD "\"components\": [{\"name\": 7}]}", "not a string");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"purl\": null}]}", "not a string");
	rejects(HEAD "\"components\": [{\"name\": \"a\\u0000b\"}]}", "NUL");
	rejects(HEAD "\"components\": [{\"name\": \"a\", \"components\": {}}]}", "not an array");
	rejects(HEAD "\"metadata\": []}", "metadata");
	rejects(HEAD "\"metadata\": {\"component\": \"x\"}}", "metadata.component");
	rejects(HEAD "\"serialNumber\": 5}", "not a string");
	rejects("{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\", \"x\": \"\xff\"}",
		"not valid JSON");
}

/* Components @levels deep, the innermost with a hash: six fit the JSON depth bound of 16. */
static char *nested(int levels)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	fputs(HEAD "\"components\": ", f);
	for (int i = 0; i < levels; i++)
		fprintf(f, "[{\"name\": \"level%d\", %s", i + 1,
			i + 1 < levels ? "\"components\": " : "");
	fputs("\"hashes\": [{\"alg\": \"SHA-256\", \"content\": \"" HEX64 "\"}]", f);
	for (int i = 0; i < levels; i++)
		fputs("}]", f);
	fputs("}", f);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_nesting_bound(void **state)
{
	_cleanup_free_ char *six = nested(6), *seven = nested(7);
	_cleanup_(vigil_sbom_freep) struct vigil_sbom *s = NULL;
	uint8_t d[32];
	size_t n;

	(void)state;
	assert_int_equal(vigil_sbom_parse(six, strlen(six), &s, NULL), 0);
	assert_int_equal(vigil_hex_decode(HEX64, 64, d, sizeof(d), &n), 0);
	assert_non_null(vigil_sbom_lookup(s, d));
	assert_string_equal(vigil_sbom_lookup(s, d)->name, "level6");
	rejects(seven, "nested deeper");
}

static void test_field_bound(void **state)
{
	_cleanup_free_ char *text = malloc(8192);
	char name[4098];

	(void)state;
	memset(name, 'n', 4097);
	name[4097] = '\0';
	snprintf(text, 8192, HEAD "\"components\": [{\"name\": \"%s\"}]}", name);
	rejects(text, "longer than 4096");
	name[4096] = '\0';
	snprintf(text, 8192, HEAD "\"components\": [{\"name\": \"%s\"}]}", name);
	{
		_cleanup_(vigil_sbom_freep) struct vigil_sbom *s = NULL;

		assert_int_equal(vigil_sbom_parse(text, strlen(text), &s, NULL), 0);
	}
}

/* 20000 components, each with its own digest, all found; the index is sorted, not scanned. */
static void test_many(void **state)
{
	_cleanup_(vigil_sbom_freep) struct vigil_sbom *s = NULL;
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	const int n = 20000;

	(void)state;
	assert_non_null(f);
	fputs(HEAD "\"components\": [", f);
	for (int i = 0; i < n; i++) {
		char path[32], hex[65];
		uint8_t d[32];

		snprintf(path, sizeof(path), "/usr/lib/f%d", i);
		SHA256((const unsigned char *)path, strlen(path), d);
		assert_int_equal(vigil_hex_encode(d, 32, hex, sizeof(hex)), 0);
		fprintf(f,
			"%s{\"name\": \"%s\", \"version\": \"%d\", \"hashes\": [{\"alg\": "
			"\"SHA-256\", \"content\": \"%s\"}]}",
			i ? "," : "", path, i, hex);
	}
	fputs("]}", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(vigil_sbom_parse(text, size, &s, NULL), 0);
	for (int i = 0; i < n; i += 7) {
		char path[32], version[16];
		const struct vigil_sbom_component *c;

		snprintf(path, sizeof(path), "/usr/lib/f%d", i);
		snprintf(version, sizeof(version), "%d", i);
		c = find(s, path);
		assert_non_null(c);
		assert_string_equal(c->name, path);
		assert_string_equal(c->version, version);
	}
	assert_null(find(s, "/usr/lib/f20000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cyclonedx_15),   cmocka_unit_test(test_cyclonedx_16),
		cmocka_unit_test(test_minimal),	       cmocka_unit_test(test_wrong_format),
		cmocka_unit_test(test_spec_version),   cmocka_unit_test(test_bad_hash),
		cmocka_unit_test(test_duplicate_keys), cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_nesting_bound),  cmocka_unit_test(test_field_bound),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
