// SPDX-License-Identifier: MIT
/*
 * test_policy.c: unit tests of the attestation policy document and its index (lib/policy*.c).
 *
 * Three groups: the strict parser refuses every malformed document with the right errno and a
 * message naming the member (one case per rule, driven by a table); the decision of
 * vigil_policy_check() follows the order policy.h gives; and the builder, the parser and the
 * canonical writer agree: what is built formats to a text that parses back to the same policy
 * and formats again to the same bytes.
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
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "cleanup.h"
#include "policy.h"

#define X8(s) s s s s s s s s
#define HEX(c) X8(c c c c c c c c) /* 64 hex digits: a sha256 digest of bytes 0xcc */
#define HA HEX("a")
#define HB HEX("b")
#define HC HEX("c")
#define HD HEX("d")
#define HEAD                                                                       \
	"{\"vigil_policy\": 1, \"name\": \"t\", \"version\": 1, \"valid_until\": " \
	"\"2030-01-01T00:00:00Z\", \"hash_alg\": \"sha256\""

static void fill(uint8_t *d, uint8_t v)
{
	memset(d, v, 32);
}

static struct vigil_policy *parse_ok(const char *text)
{
	struct vigil_policy_error err = { 0 };
	struct vigil_policy *p = NULL;
	int r = vigil_policy_parse(text, strlen(text), &p, &err);

	if (r < 0)
		fail_msg("parse failed (%d) at %zu:%zu: %s\n%s", r, err.line, err.offset, err.what,
			 text);
	return p;
}

static enum vigil_policy_result check(const struct vigil_policy *p, const char *path, uint8_t v)
{
	enum vigil_policy_result res;
	uint8_t d[32];

	fill(d, v);
	assert_int_equal(vigil_policy_check(p, path, strlen(path), d, &res), 0);
	return res;
}

/* ---- the parser refuses ---- */

static const struct reject {
	const char *text;
	int code;
	const char *what; /* a substring of err.what */
} rejects[] = {
	{ HEAD ", \"name\": \"u\"}", -ENOTUNIQ, "name: member listed twice" },
	{ HEAD ", \"digests\": {\"/a\": [\"" HA "\"], \"/a\": [\"" HB "\"]}}", -ENOTUNIQ,
	  "digests./a: path listed twice" },
	{ HEAD ", \"digests\": {\"/a\": [\"" HA "\"], \"\\/a\": [\"" HB "\"]}}", -ENOTUNIQ,
	  "digests./a: path listed twice" },
	{ HEAD ", \"pcrs\": {\"sha256\": {\"0\": \"" HA "\", \"0\": \"" HA "\"}}}", -ENOTUNIQ,
	  "pcrs.sha256: PCR 0 listed twice" },
	{ HEAD ", \"pcrs\": {\"sha256\": {}, \"sha256\": {}}}", -ENOTUNIQ,
	  "pcrs.sha256: bank listed twice" },
	{ HEAD ", \"packages\": {\"" HA "\": \"a 1\", \"" HA "\": \"b 2\"}}", -ENOTUNIQ,
	  "packages." HA ": digest listed twice" },
	{ HEAD ", \"packages\": {\"" HA "\": \"a 1\", \"" HEX("A") "\": \"b 2\"}}", -ENOTUNIQ,
	  "digest listed twice" },
	{ HEAD ", \"extra\": 1}", -EBADMSG, "document.extra: unknown member" },
	{ HEAD ", \"\\u0076ersion\": 2}", -ENOTUNIQ, "version: member listed twice" },
	{ "{\"vigil_policy\": 1, \"name\": \"t\", \"version\": \"1\"}", -EBADMSG,
	  "version: expected a number, found a string" },
	{ HEAD ", \"digests\": []}", -EBADMSG, "digests: expected an object, found an array" },
	{ HEAD ", \"digests\": {\"/a\": \"" HA "\"}}", -EBADMSG,
	  "digests./a: expected an array of digests" },
	{ HEAD ", \"any_path\": [[\"" HA "\"]]}", -EBADMSG,
	  "any_path[0]: expected a string, found an array" },
	{ HEAD ", \"excludes\": [1]}", -EBADMSG, "excludes[0]: expected a string" },
	{ HEAD ", \"violations\": null}", -EBADMSG, "violations: expected a string, found null" },
	{ HEAD "} x", -EBADMSG, "trailing bytes" },
	{ HEAD "}{}", -EBADMSG, "trailing bytes" },
	{ HEAD ",}", -EBADMSG, "expected a string" },
	{ HEAD, -EBADMSG, "expected ',' or '}', found the end of the document" },
	{ "[]", -EBADMSG, "document: expected an object, found an array" },
	{ "", -EBADMSG, "found the end of the document" },
	{ HEAD ", \"digests\": {\"/a\xff\": [\"" HA "\"]}}", -EBADMSG, "digests: invalid UTF-8" },
	{ HEAD ", \"digests\": {\"/a\xc0\xaf\": [\"" HA "\"]}}", -EBADMSG, "invalid UTF-8" },
	{ HEAD ", \"digests\": {\"/a\xed\xa0\x80\": [\"" HA "\"]}}", -EBADMSG, "invalid UTF-8" },
	{ HEAD ", \"digests\": {\"/a\x01\": [\"" HA "\"]}}", -EBADMSG,
	  "digests: control character" },
	{ HEAD ", \"generator\": \"a\tb\"}", -EBADMSG, "generator: control character" },
	{ HEAD ", \"digests\": {\"/a\\u0000\": [\"" HA "\"]}}", -EBADMSG, "digests: NUL" },
	{ HEAD ", \"digests\": {\"/a\\ud800\": [\"" HA "\"]}}", -EBADMSG, "lone UTF-16 surrogate" },
	{ HEAD ", \"digests\": {\"/a\\udc00\\ud800\": [\"" HA "\"]}}", -EBADMSG,
	  "lone UTF-16 surrogate" },
	{ HEAD ", \"digests\": {\"/a\\x\": [\"" HA "\"]}}", -EBADMSG, "bad escape" },
	{ HEAD ", \"digests\": {\"/a\\u12\": [\"" HA "\"]}}", -EBADMSG, "bad \\u escape" },
	{ HEAD ", \"digests\": {\"/a", -EBADMSG, "digests: unterminated string" },
	{ "{\"vigil_policy\": 1.0}", -EBADMSG, "vigil_policy: not an integer" },
	{ "{\"vigil_policy\": 1e0}", -EBADMSG, "vigil_policy: not an integer" },
	{ "{\"vigil_policy\": 01}", -EBADMSG, "vigil_policy: leading zero" },
	{ "{\"vigil_policy\": -1}", -EBADMSG, "vigil_policy: out of range" },
	{ "{\"vigil_policy\": 2}", -EBADMSG, "vigil_policy: unsupported format 2" },
	{ "{\"vigil_policy\": true}", -EBADMSG,
	  "vigil_policy: expected a number, found a boolean" },
	{ "{\"version\": 9007199254740992}", -EBADMSG, "version: out of range" },
	{ "{\"version\": 99999999999999999999999}", -EBADMSG, "version: out of range" },
	{ HEAD ", \"digests\": {\"/usr/bin/ls\": [\"" HA "\", \"" X8("aaaaaaaa") "aa\"]}}",
	  -EBADMSG, "digests./usr/bin/ls[1]: 33 bytes, sha256 needs 32" },
	{ HEAD ", \"digests\": {\"/usr/bin/ls\": [\"" X8("aaaaaaa") "aaaaaa\"]}}", -EBADMSG,
	  "digests./usr/bin/ls[0]: 31 bytes, sha256 needs 32" },
	{ HEAD ", \"digests\": {\"/usr/bin/ls\": [\"" X8("aaaaaaaa") "a\"]}}", -EBADMSG,
	  "digests./usr/bin/ls[0]: odd number of hex digits" },
	{ HEAD ", \"digests\": {\"/usr/bin/ls\": [\"" X8("aaaaaaag") "\"]}}", -EBADMSG,
	  "digests./usr/bin/ls[0]: not a hex digest" },
	{ HEAD ", \"any_path\": [\"" HA "\", \"" HEX("x") "\"]}", -EBADMSG,
	  "any_path[1]: not a hex digest" },
	{ HEAD ", \"deny\": [\"" HA "0\"]}", -EBADMSG, "deny[0]: odd number" },
	{ HEAD ", \"boot_aggregate\": \"ab\"}", -EBADMSG, "boot_aggregate: 1 bytes" },
	{ "{\"name\": \"\"}", -EBADMSG, "name: empty" },
	{ "{\"name\": \"a b\"}", -EBADMSG, "name: only [A-Za-z0-9._-]" },
	{ "{\"name\": \"" X8(X8("aa")) "a\"}", -EBADMSG, "name: longer than 128 bytes" },
	{ "{\"valid_until\": \"2027-02-29T00:00:00Z\"}", -EBADMSG, "valid_until: not a UTC time" },
	{ "{\"valid_until\": \"2027-12-31T24:00:00Z\"}", -EBADMSG, "valid_until: not a UTC time" },
	{ "{\"valid_until\": \"2027-12-31T23:59:60Z\"}", -EBADMSG, "valid_until: not a UTC time" },
	{ "{\"valid_until\": \"2027-13-01T00:00:00Z\"}", -EBADMSG, "valid_until: not a UTC time" },
	{ "{\"valid_until\": \"2027-12-31T00:00:00+01:00\"}", -EBADMSG, "valid_until" },
	{ "{\"valid_until\": \"2027-12-31 00:00:00Z\"}", -EBADMSG, "valid_until" },
	{ "{\"valid_until\": \"2027-12-31T00:00:00.5Z\"}", -EBADMSG, "valid_until" },
	{ "{\"created\": \"2027-1-31T00:00:00Z\"}", -EBADMSG, "created: not a UTC time" },
	{ "{\"vigil_policy\": 1, \"name\": \"t\", \"version\": 1, \"valid_until\": "
	  "\"2030-01-01T00:00:00Z\"}",
	  -EBADMSG, "missing member \"hash_alg\"" },
	{ "{}", -EBADMSG, "missing member \"vigil_policy\"" },
	{ "{\"vigil_policy\": 1, \"name\": \"t\", \"version\": 1, \"valid_until\": "
	  "\"2030-01-01T00:00:00Z\", \"hash_alg\": \"md5\"}",
	  -EBADMSG, "hash_alg: unsupported" },
	{ HEAD ", \"violations\": \"maybe\"}", -EBADMSG,
	  "violations: must be fail, warn or ignore" },
	{ HEAD ", \"generator\": \"" X8("12345678") "\"}", -EBADMSG,
	  "generator: longer than 63 bytes" },
	{ HEAD ", \"digests\": {\"usr/bin/ls\": [\"" HA "\"]}}", -EBADMSG,
	  "digests.usr/bin/ls: not absolute" },
	{ HEAD ", \"digests\": {\"\": [\"" HA "\"]}}", -EBADMSG, "digests: empty path" },
	{ HEAD ", \"digests\": {\"/a\": []}}", -EBADMSG, "digests./a: no digests" },
	{ HEAD ", \"excludes_regex\": [\"/ok\", \"(\"]}", -EBADMSG,
	  "excludes_regex[1]: invalid regex" },
	{ HEAD ", \"excludes_regex\": [\"x)|(.*\"]}", -EBADMSG,
	  "excludes_regex[0]: invalid regex: unbalanced ')'" },
	{ HEAD ", \"excludes\": [\"\"]}", -EBADMSG, "excludes[0]: empty" },
	/* found by fuzz_policy: glibc's regcomp() copies a tree per '+', exponentially */
	{ HEAD ", \"excludes_regex\": [\"p/?*+++++++++++++++++++++++++++++++++\"]}", -EBADMSG,
	  "excludes_regex[0]: invalid regex: a repetition right after another" },
	{ HEAD ", \"excludes_regex\": [\"((((((((a+)+)+)+)+)+)+)+)\"]}", -EBADMSG,
	  "excludes_regex[0]: invalid regex: too much repetition" },
	{ HEAD ", \"excludes_regex\": [\"(a{9}){9}\"]}", -EBADMSG, "too much repetition" },
	{ HEAD ", \"excludes_regex\": [\"a{256}\"]}", -EBADMSG, "invalid regex: bad interval" },
	{ HEAD ", \"excludes_regex\": [\"a{2,1}\"]}", -EBADMSG, "invalid regex: bad interval" },
	{ HEAD ", \"excludes_regex\": [\"[a\"]}", -EBADMSG, "unterminated bracket" },
	{ HEAD ", \"pcrs\": {\"sha256\": {\"24\": \"" HA "\"}}}", -EBADMSG,
	  "pcrs.sha256: PCR index must be 0..23" },
	{ HEAD ", \"pcrs\": {\"sha256\": {\"01\": \"" HA "\"}}}", -EBADMSG,
	  "pcrs.sha256: PCR index" },
	{ HEAD ", \"pcrs\": {\"sha1\": {\"0\": \"" HA "\"}}}", -EBADMSG,
	  "pcrs.sha1: 32 bytes, sha1 needs 20" },
	{ HEAD ", \"pcrs\": {\"md5\": {}}}", -EBADMSG, "pcrs.md5: unsupported bank" },
	{ HEAD ", \"packages\": {\"" HA "\": \"\"}}", -EBADMSG, "packages." HA ": empty package" },
	{ HEAD ", \"packages\": {\"" HA "\": 1}}", -EBADMSG, "expected a string, found a number" },
	/* a value that needs hash_alg before hash_alg is parsed later, with the error in it */
	{ "{\"digests\": {\"/a\": [\"" HA "\"], \"/b\": [\"abc\"]}, \"vigil_policy\": 1, "
	  "\"name\": \"t\", \"version\": 1, \"valid_until\": \"2030-01-01T00:00:00Z\", "
	  "\"hash_alg\": \"sha256\"}",
	  -EBADMSG, "digests./b[0]: odd number" },
	{ "{\"digests\": {\"/a\": [\"" HA "\"]]}, \"vigil_policy\": 1}", -EBADMSG, "" },
	{ "{\"digests\": {\"/a\": [\"" HA "\"]", -EBADMSG, "digests: unterminated value" },
};

static void test_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		const struct reject *c = &rejects[i];
		struct vigil_policy_error err = { .offset = 12345 };
		struct vigil_policy *p = NULL;
		int r = vigil_policy_parse(c->text, strlen(c->text), &p, &err);

		if (r != c->code || !strstr(err.what, c->what) || p)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"\n%s", i, r, err.what,
				 c->code, c->what, c->text);
		assert_true(err.offset <= strlen(c->text));
		assert_true(err.line >= 1);
	}
}

static void test_error_position(void **state)
{
	const char *text = HEAD ",\n\"digests\": {\n  \"/a\": [\"" HA
				"\"],\n  \"/b\": [\"xy\"]\n}}";
	struct vigil_policy_error err = { 0 };
	struct vigil_policy *p = NULL;

	(void)state;
	assert_int_equal(vigil_policy_parse(text, strlen(text), &p, &err), -EBADMSG);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.offset, (size_t)(strstr(text, "\"xy\"") - text));
	assert_string_equal(err.what, "digests./b[0]: not a hex digest");
	/* the error names a path with control characters safely */
	text = HEAD ", \"digests\": {\"/\\u001b[31m\": [\"zz\"]}}";
	assert_int_equal(vigil_policy_parse(text, strlen(text), &p, &err), -EBADMSG);
	assert_string_equal(err.what, "digests./?[31m[0]: not a hex digest");
}

/* Found by fuzz_policy: plain bytes beyond the limit before the first escape of a string. */
static void test_long_escaped(void **state)
{
	size_t n = strlen(HEAD) + VIGIL_POLICY_PATH_MAX + 64;
	_cleanup_free_ char *text = malloc(n);
	struct vigil_policy_error err = { 0 };
	struct vigil_policy *p = NULL;
	int k;

	(void)state;
	assert_non_null(text);
	k = snprintf(text, n, "%s, \"excludes_regex\": [\"/", HEAD);
	memset(text + k, 'a', VIGIL_POLICY_PATH_MAX + 8);
	k += VIGIL_POLICY_PATH_MAX + 8;
	snprintf(text + k, n - (size_t)k, "\\u0061\"]}");
	assert_int_equal(vigil_policy_parse(text, strlen(text), &p, &err), -EBADMSG);
	assert_string_equal(err.what, "excludes_regex[0]: longer than 4096 bytes");
}

/* Sizes are checked before a byte is read: a 1 GiB claim over a tiny buffer. */
static void test_too_large(void **state)
{
	struct vigil_policy_error err = { .offset = 7, .what = "untouched" };
	struct vigil_policy *p = NULL;
	char small[4] = "{}"; /* ASan would see a read beyond it */

	(void)state;
	assert_int_equal(vigil_policy_parse(small, (size_t)1 << 30, &p, &err), -EFBIG);
	assert_int_equal(vigil_policy_parse(small, VIGIL_POLICY_MAX + 1, &p, &err), -EFBIG);
	assert_null(p);
	assert_int_equal(err.offset, 0);
	assert_string_equal(err.what, "document: 268435457 bytes, more than 268435456");
	assert_int_equal(vigil_policy_parse(NULL, 2, &p, &err), -EINVAL);
	assert_int_equal(vigil_policy_parse(small, 2, NULL, &err), -EINVAL);
}

/* ---- what parses ---- */

static void test_escapes(void **state)
{
	const char *text = HEAD ", \"digests\": {\"/a\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/b\": [\"" HA
				"\"]}, "
				"\"excludes\": [\"/t\\u006dp/*\"], \"generator\": \"v\\u00e9\"}";
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = parse_ok(text);
	_cleanup_(vigil_policy_freep) struct vigil_policy *q = NULL;
	_cleanup_free_ char *out = NULL;
	const char *path = "/a\xc3\xa9\xf0\x9f\x98\x80\n\"\\/b";
	const uint8_t *d = NULL;

	(void)state;
	assert_int_equal(vigil_policy_expected(p, path, strlen(path), &d), 1);
	assert_int_equal(d[0], 0xaa);
	assert_int_equal(check(p, "/tmp/x", 1), VIGIL_POLICY_EXCLUDED);
	assert_string_equal(vigil_policy_info(p)->generator, "v\xc3\xa9");
	assert_int_equal(vigil_policy_format(p, &out, NULL), 0);
	assert_non_null(strstr(out, "\"/a\xc3\xa9\xf0\x9f\x98\x80\\n\\\"\\\\/b\": [\"" HA "\"]"));
	q = parse_ok(out);
	assert_int_equal(vigil_policy_expected(q, path, strlen(path), &d), 1);
}

static void test_member_order(void **state)
{
	/* digests before hash_alg, duplicates inside arrays, uppercase hex */
	const char *text = "{\"digests\": {\"/b\": [\"" HB
			   "\", \"" HEX("A") "\", \"" HB "\"]}, "
					     "\"any_path\": [\"" HC "\", \"" HC
					     "\"], \"deny\": [\"" HD "\"], "
					     "\"boot_aggregate\": \"" HA
					     "\", \"vigil_policy\": 1, \"name\": \"t\", "
					     "\"version\": 9007199254740991, \"valid_until\": "
					     "\"2030-01-01T00:00:00Z\", \"hash_alg\": \"sha256\"}";
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = parse_ok(text);
	const struct vigil_policy_info *info = vigil_policy_info(p);
	const uint8_t *d = NULL;

	(void)state;
	assert_int_equal(info->version, 9007199254740991ull);
	assert_int_equal(info->paths, 1);
	assert_int_equal(info->digests, 2);
	assert_int_equal(info->any_path, 1);
	assert_int_equal(info->deny, 1);
	assert_true(info->has_boot_aggregate);
	assert_int_equal(info->boot_aggregate[31], 0xaa);
	assert_int_equal(vigil_policy_expected(p, "/b", 2, &d), 2);
	assert_int_equal(d[0], 0xaa); /* sorted */
	assert_int_equal(d[32], 0xbb);
	assert_int_equal(vigil_policy_expected(p, "/c", 2, &d), 0);
}

/* ---- the decision ---- */

static void test_check_order(void **state)
{
	const char *text = HEAD ", \"digests\": {\"/usr/bin/ls\": [\"" HA "\", \"" HB "\"], "
				"\"/usr/bin/bad\": [\"" HD "\"], \"boot_aggregate\": [\"" HC
				"\"]}, "
				"\"any_path\": [\"" HC "\"], \"deny\": [\"" HD "\"], "
				"\"excludes\": [\"/tmp/?*\", \"*.pyc\"], "
				"\"excludes_regex\": [\"/var/log/.*\", \"^/run/[a-z]+$\", "
				"\"/opt/ab*c\", \"x?y\", \"/caf\u00e9?/\"]}";
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = parse_ok(text);
	enum vigil_policy_result res;
	uint8_t d[32];

	(void)state;
	assert_int_equal(check(p, "/usr/bin/ls", 0xaa), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(p, "/usr/bin/ls", 0xbb), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(p, "/usr/bin/ls", 0xcc), VIGIL_POLICY_ALLOWED); /* any_path */
	assert_int_equal(check(p, "/usr/bin/ls", 0xee), VIGIL_POLICY_DIGEST_MISMATCH);
	assert_int_equal(check(p, "/usr/bin/cat", 0xcc), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(p, "/usr/bin/cat", 0xaa), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "/usr/bin/l", 0xaa), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "/usr/bin/lss", 0xaa), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "/usr/sbin/ls", 0xaa), VIGIL_POLICY_NOT_IN_POLICY);
	/* deny beats an allowed digest, and excludes */
	assert_int_equal(check(p, "/usr/bin/bad", 0xdd), VIGIL_POLICY_DENIED);
	assert_int_equal(check(p, "/tmp/x", 0xdd), VIGIL_POLICY_DENIED);
	/* excludes beat not_in_policy and digest_mismatch */
	assert_int_equal(check(p, "/tmp/x", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/tmp/a/b", 0x11), VIGIL_POLICY_EXCLUDED); /* '*' crosses '/' */
	assert_int_equal(check(p, "/tmp/", 0x11), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "/usr/lib/x.pyc", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/var/log/syslog", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/x/var/log/syslog", 0x11), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "/run/abc", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/run/abc/d", 0x11), VIGIL_POLICY_NOT_IN_POLICY);
	/* a quantifier makes the literal head shorter, also after a multibyte character */
	assert_int_equal(check(p, "/opt/ac", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/opt/abbc", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/opt/b", 0x11), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "yes", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/caf\xc3/", 0x11), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(check(p, "/caf\xc3\xa9/", 0x11), VIGIL_POLICY_EXCLUDED);
	/* record names without '/' */
	assert_int_equal(check(p, "boot_aggregate", 0xcc), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(p, "boot_aggregate", 0x11), VIGIL_POLICY_DIGEST_MISMATCH);
	assert_int_equal(check(p, "/boot_aggregate", 0x11), VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(check(p, "", 0x11), VIGIL_POLICY_NOT_IN_POLICY);
	/* a path with a NUL or beyond the limit matches no pattern and no path */
	fill(d, 0x11);
	assert_int_equal(vigil_policy_check(p, "/tmp/x\0y", 8, d, &res), 0);
	assert_int_equal(res, VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(vigil_policy_check(p, NULL, 1, d, &res), -EINVAL);
	assert_int_equal(vigil_policy_check(p, "/a", 2, NULL, &res), -EINVAL);
	assert_string_equal(vigil_policy_result_name(VIGIL_POLICY_DIGEST_MISMATCH),
			    "digest_mismatch");
	assert_string_equal(vigil_policy_result_name(VIGIL_POLICY_NOT_IN_POLICY), "not_in_policy");
	assert_string_equal(vigil_policy_violations_name(VIGIL_POLICY_VIOLATIONS_WARN), "warn");
	assert_null(vigil_policy_violations_name((enum vigil_policy_violations)7));
}

static void test_long_path(void **state)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	_cleanup_free_ char *path = malloc(VIGIL_POLICY_PATH_MAX + 2);
	struct vigil_policy_info info = { .name = "t", .hash_alg = TPM2_ALG_SHA256 };
	enum vigil_policy_result res;
	uint8_t d[32];

	(void)state;
	fill(d, 1);
	assert_non_null(path);
	memset(path, 'a', VIGIL_POLICY_PATH_MAX + 1);
	path[0] = '/';
	assert_int_equal(vigil_policy_new(&info, &p), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/a*"), 0);
	assert_int_equal(vigil_policy_add_digest(p, path, VIGIL_POLICY_PATH_MAX + 1, d), -EINVAL);
	assert_int_equal(vigil_policy_add_digest(p, path, VIGIL_POLICY_PATH_MAX, d), 0);
	assert_int_equal(vigil_policy_check(p, path, VIGIL_POLICY_PATH_MAX + 1, d, &res), 0);
	assert_int_equal(res, VIGIL_POLICY_NOT_IN_POLICY);
	assert_int_equal(vigil_policy_check(p, path, VIGIL_POLICY_PATH_MAX, d, &res), 0);
	assert_int_equal(res, VIGIL_POLICY_EXCLUDED);
}

/* ---- builder, writer and parser agree ---- */

static struct vigil_policy *build_full(void)
{
	struct vigil_policy_info info = {
		.name = "plc-runtime",
		.version = 7,
		.valid_until = 1830297600, /* 2028-01-01 */
		.created = 1764280800,
		.generator = "vigil 0.2",
		.hash_alg = TPM2_ALG_SHA256,
		.violations = VIGIL_POLICY_VIOLATIONS_WARN,
	};
	struct vigil_policy *p = NULL;
	uint8_t d[32], s1[20];

	assert_int_equal(vigil_policy_new(&info, &p), 0);
	for (int i = 0; i < 40; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/usr/%s/f%d", i % 3 ? "bin" : "lib/x86_64", 40 - i);
		fill(d, (uint8_t)i);
		assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
		fill(d, (uint8_t)(200 - i));
		assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
	}
	fill(d, 1);
	assert_int_equal(vigil_policy_add_digest(p, "boot_aggregate", 14, d), 0);
	assert_int_equal(vigil_policy_add_digest(p, "/we\"ird\\\n\x7f", 10, d), 0);
	assert_int_equal(vigil_policy_add_any(p, d), 0);
	fill(d, 0xfe);
	assert_int_equal(vigil_policy_add_deny(p, d), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/tmp/*"), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/proc/*"), 0);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "/var/(log|cache)/.*"), 0);
	assert_int_equal(vigil_policy_set_boot_aggregate(p, d), 0);
	memset(s1, 0x5a, sizeof(s1));
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA1, 10, s1, 20), 0);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 11, d, 32), 0);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 0, d, 32), 0);
	assert_int_equal(vigil_policy_add_package(p, d, "bash 5.2.15-2+b2"), 0);
	fill(d, 3);
	assert_int_equal(vigil_policy_add_package(p, d, "coreutils 9.1-1 \"quoted\""), 0);
	return p;
}

static int collect_path(void *ctx, const char *path, size_t len, const uint8_t *digests,
			size_t count)
{
	char **prev = ctx;

	(void)digests;
	assert_true(count >= 1);
	assert_int_equal(strlen(path), len);
	if (*prev)
		assert_true(strcmp(*prev, path) < 0);
	free(*prev);
	*prev = strdup(path);
	return 0;
}

static void test_round_trip(void **state)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = build_full();
	_cleanup_(vigil_policy_freep) struct vigil_policy *q = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL, *prev = NULL;
	const struct vigil_policy_info *pi = vigil_policy_info(p), *qi;
	struct vigil_pcr_values pcrs;
	size_t alen = 0;
	uint8_t d[32];

	(void)state;
	assert_int_equal(vigil_policy_format(p, &a, &alen), 0);
	assert_int_equal(alen, strlen(a));
	q = parse_ok(a);
	qi = vigil_policy_info(q);
	assert_int_equal(vigil_policy_format(q, &b, NULL), 0);
	assert_string_equal(a, b);
	assert_string_equal(qi->name, pi->name);
	assert_string_equal(qi->generator, "vigil 0.2");
	assert_int_equal(qi->version, 7);
	assert_int_equal(qi->valid_until, pi->valid_until);
	assert_int_equal(qi->created, pi->created);
	assert_int_equal(qi->violations, VIGIL_POLICY_VIOLATIONS_WARN);
	assert_int_equal(qi->paths, 42);
	assert_int_equal(qi->digests, 82);
	assert_int_equal(qi->paths, pi->paths);
	assert_int_equal(qi->digests, pi->digests);
	assert_int_equal(qi->excludes, 2);
	assert_int_equal(qi->excludes_regex, 1);
	assert_int_equal(qi->pcrs, 3);
	assert_int_equal(qi->packages, 2);
	assert_true(qi->has_boot_aggregate);
	assert_non_null(strstr(a, "\"valid_until\": \"2028-01-01T00:00:00Z\""));
	assert_non_null(strstr(a, "\"created\": \"2025-11-27T22:00:00Z\""));
	assert_non_null(strstr(a, "\"/we\\\"ird\\\\\\n\x7f\""));
	assert_int_equal(vigil_policy_pcrs(q, &pcrs), 0);
	assert_int_equal(pcrs.count, 3);
	assert_non_null(vigil_pcr_values_get(&pcrs, TPM2_ALG_SHA1, 10));
	assert_int_equal(vigil_pcr_values_get(&pcrs, TPM2_ALG_SHA256, 11)->digest[0], 0xfe);
	fill(d, 0xfe);
	assert_string_equal(vigil_policy_package(q, d), "bash 5.2.15-2+b2");
	fill(d, 3);
	assert_string_equal(vigil_policy_package(q, d), "coreutils 9.1-1 \"quoted\"");
	fill(d, 4);
	assert_null(vigil_policy_package(q, d));
	assert_int_equal(check(q, "/usr/bin/f39", 1), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(q, "/usr/bin/f39", 199), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(q, "/usr/bin/f38", 1), VIGIL_POLICY_ALLOWED); /* any_path */
	assert_int_equal(check(q, "/usr/bin/f39", 7), VIGIL_POLICY_DIGEST_MISMATCH);
	assert_int_equal(check(q, "/var/cache/x", 7), VIGIL_POLICY_EXCLUDED);
	assert_int_equal(vigil_policy_foreach_path(q, collect_path, &prev), 0);
	assert_true(vigil_policy_memory(q) > 42 * 32);
}

static void test_canonical_text(void **state)
{
	struct vigil_policy_info info = {
		.name = "n", .version = 3, .valid_until = 0, .hash_alg = TPM2_ALG_SHA1
	};
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	_cleanup_free_ char *out = NULL;
	uint8_t d[20];

	(void)state;
	assert_int_equal(vigil_policy_new(&info, &p), 0);
	assert_int_equal(vigil_policy_format(p, &out, NULL), 0);
	assert_string_equal(out, "{\n"
				 "  \"vigil_policy\": 1,\n"
				 "  \"name\": \"n\",\n"
				 "  \"version\": 3,\n"
				 "  \"valid_until\": \"1970-01-01T00:00:00Z\",\n"
				 "  \"hash_alg\": \"sha1\",\n"
				 "  \"violations\": \"fail\",\n"
				 "  \"digests\": {}\n"
				 "}\n");
	free(out);
	out = NULL;
	memset(d, 0xab, sizeof(d));
	assert_int_equal(vigil_policy_add_digest(p, "/b", 2, d), 0);
	d[0] = 0x01;
	assert_int_equal(vigil_policy_add_digest(p, "/b", 2, d), 0);
	assert_int_equal(vigil_policy_add_digest(p, "/a", 2, d), 0);
	assert_int_equal(vigil_policy_add_deny(p, d), 0);
	assert_int_equal(vigil_policy_format(p, &out, NULL), 0);
	assert_string_equal(out, "{\n"
				 "  \"vigil_policy\": 1,\n"
				 "  \"name\": \"n\",\n"
				 "  \"version\": 3,\n"
				 "  \"valid_until\": \"1970-01-01T00:00:00Z\",\n"
				 "  \"hash_alg\": \"sha1\",\n"
				 "  \"violations\": \"fail\",\n"
				 "  \"digests\": {\n"
				 "    \"/a\": [\"01ababababababababababababababababababab\"],\n"
				 "    \"/b\": [\"01ababababababababababababababababababab\", "
				 "\"abababababababababababababababababababab\"]\n"
				 "  },\n"
				 "  \"deny\": [\n"
				 "    \"01ababababababababababababababababababab\"\n"
				 "  ]\n"
				 "}\n");
}

static void test_builder(void **state)
{
	struct vigil_policy_info info = { .name = "b", .hash_alg = TPM2_ALG_SHA256 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *q = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;
	char long_glob[VIGIL_POLICY_PATH_MAX + 2];
	uint8_t d[32], e[32];
	const uint8_t *run;

	(void)state;
	fill(d, 1);
	fill(e, 2);
	assert_int_equal(vigil_policy_new(&info, &p), 0);
	assert_int_equal(vigil_policy_add_digest(p, "/a", 2, d), 0);
	assert_int_equal(vigil_policy_add_digest(p, "/a", 2, d), 0);
	assert_int_equal(vigil_policy_add_any(p, d), 0);
	assert_int_equal(vigil_policy_add_any(p, d), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/x*"), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/x*"), 0);
	assert_int_equal(vigil_policy_info(p)->digests, 1);
	assert_int_equal(vigil_policy_info(p)->any_path, 1);
	assert_int_equal(vigil_policy_info(p)->excludes, 1);
	/* what the parser refuses */
	assert_int_equal(vigil_policy_add_digest(p, "a/b", 3, d), -EINVAL);
	assert_int_equal(vigil_policy_add_digest(p, "", 0, d), -EINVAL);
	assert_int_equal(vigil_policy_add_digest(p, "/a\0b", 4, d), -EINVAL);
	assert_int_equal(vigil_policy_add_digest(p, "/a\xff", 3, d), -EINVAL);
	assert_int_equal(vigil_policy_add_digest(p, "/a", 2, NULL), -EINVAL);
	assert_int_equal(vigil_policy_add_exclude(p, ""), -EINVAL);
	memset(long_glob, 'x', sizeof(long_glob) - 1);
	long_glob[sizeof(long_glob) - 1] = '\0';
	assert_int_equal(vigil_policy_add_exclude(p, long_glob), -EINVAL);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "a("), -EINVAL);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "a)|(b"), -EINVAL);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "[)]x\\)"), 0);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "(ab)+c{2,3}[[:alpha:]]]\\++"), 0);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "a**"), -EINVAL);
	/* what all regexes may cost together is bounded (256 KiB of cost * length) */
	memset(long_glob, 'r', 4000);
	long_glob[4000] = '\0';
	for (int i = 0;; i++) {
		int r;

		snprintf(long_glob, 16, "/%03d", i);
		long_glob[4] = 'r';
		r = vigil_policy_add_exclude_regex(p, long_glob);
		if (r < 0) {
			assert_int_equal(r, -EINVAL);
			assert_int_equal(i, 65);
			break;
		}
	}
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 24, d, 32), -EINVAL);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 1, d, 20), -EINVAL);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 1, d, 32), 0);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 1, d, 32), 0);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 1, e, 32), -EEXIST);
	assert_int_equal(vigil_policy_add_package(p, d, ""), -EINVAL);
	assert_int_equal(vigil_policy_add_package(p, d, "p 1"), 0);
	assert_int_equal(vigil_policy_add_package(p, d, "p 1"), 0);
	assert_int_equal(vigil_policy_add_package(p, d, "p 2"), -EEXIST);
	info.version = (uint64_t)1 << 53;
	assert_int_equal(vigil_policy_new(&info, &q), -EINVAL);
	info.version = 0;
	strcpy(info.name, "a b");
	assert_int_equal(vigil_policy_new(&info, &q), -EINVAL);
	strcpy(info.name, "ok");
	info.hash_alg = 0x0012;
	assert_int_equal(vigil_policy_new(&info, &q), -EINVAL);
	info.hash_alg = TPM2_ALG_SHA256;
	info.valid_until = 253402300800; /* year 10000 */
	assert_int_equal(vigil_policy_new(&info, &q), -EINVAL);
	/* digests added to one path interleaved with others stay sorted and distinct */
	for (int i = 0; i < 300; i++) {
		char path[16];

		snprintf(path, sizeof(path), "/p%d", i % 3);
		fill(d, (uint8_t)(i * 7 % 256));
		d[31] = (uint8_t)i;
		assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
		assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
	}
	assert_int_equal(vigil_policy_expected(p, "/p1", 3, &run), 100);
	for (int i = 1; i < 100; i++)
		assert_true(memcmp(run + (i - 1) * 32, run + i * 32, 32) < 0);
	assert_int_equal(vigil_policy_info(p)->digests, 301);
	assert_int_equal(vigil_policy_format(p, &a, NULL), 0);
	q = parse_ok(a);
	assert_int_equal(vigil_policy_format(q, &b, NULL), 0);
	assert_string_equal(a, b);
	assert_int_equal(vigil_policy_expected(q, "/p1", 3, &run), 100);
}

/* Found by fuzz_policy: the first path a record name, so the first directory is "". */
static void test_record_name_first(void **state)
{
	const char *text = HEAD ", \"digests\": {\"boot_aggregate\": [\"" HA "\"], "
				"\"/usr/bin/ls\": [\"" HB "\"]}}";
	struct vigil_policy_info info = { .name = "r", .hash_alg = TPM2_ALG_SHA256 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = parse_ok(text);
	_cleanup_(vigil_policy_freep) struct vigil_policy *q = NULL;
	uint8_t d[32];

	(void)state;
	assert_int_equal(check(p, "boot_aggregate", 0xaa), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(p, "/usr/bin/ls", 0xbb), VIGIL_POLICY_ALLOWED);
	fill(d, 0xaa);
	assert_int_equal(vigil_policy_new(&info, &q), 0);
	assert_int_equal(vigil_policy_add_digest(q, "x", 1, d), 0);
	assert_int_equal(vigil_policy_add_digest(q, "/x", 2, d), 0);
	assert_int_equal(check(q, "x", 0xaa), VIGIL_POLICY_ALLOWED);
	assert_int_equal(check(q, "/x", 0xaa), VIGIL_POLICY_ALLOWED);
}

/* Many paths through the builder and the parser: table growth, directories, varints. */
static void test_many(void **state)
{
	struct vigil_policy_info info = { .name = "m", .hash_alg = TPM2_ALG_SHA256 };
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *q = NULL;
	_cleanup_free_ char *a = NULL, *b = NULL;
	uint8_t d[32];

	(void)state;
	assert_int_equal(vigil_policy_new(&info, &p), 0);
	for (unsigned int i = 0; i < 20000; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/usr/lib/d%u/lib%u.so.%u", i % 211, i, i % 7);
		memset(d, 0, sizeof(d));
		memcpy(d, &i, sizeof(i));
		d[31] = (uint8_t)(i * 31);
		assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
		if (i % 50 == 0) {
			d[30] = 1;
			assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
		}
	}
	assert_int_equal(vigil_policy_format(p, &a, NULL), 0);
	q = parse_ok(a);
	assert_int_equal(vigil_policy_info(q)->paths, 20000);
	assert_int_equal(vigil_policy_info(q)->digests, 20400);
	assert_int_equal(vigil_policy_format(q, &b, NULL), 0);
	assert_string_equal(a, b);
	for (unsigned int i = 0; i < 20000; i += 97) {
		char path[64];

		snprintf(path, sizeof(path), "/usr/lib/d%u/lib%u.so.%u", i % 211, i, i % 7);
		memset(d, 0, sizeof(d));
		memcpy(d, &i, sizeof(i));
		d[31] = (uint8_t)(i * 31);
		for (int k = 0; k < 2; k++) {
			enum vigil_policy_result r1, r2;

			assert_int_equal(vigil_policy_check(p, path, strlen(path), d, &r1), 0);
			assert_int_equal(vigil_policy_check(q, path, strlen(path), d, &r2), 0);
			assert_int_equal(r1, VIGIL_POLICY_ALLOWED);
			assert_int_equal(r2, VIGIL_POLICY_ALLOWED);
			d[0] ^= 0xff;
			assert_int_equal(vigil_policy_check(q, path, strlen(path), d, &r2), 0);
			assert_int_equal(r2, VIGIL_POLICY_DIGEST_MISMATCH);
			d[0] ^= 0xff;
		}
	}
	assert_true(vigil_policy_memory(q) < 20400 * 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects),	     cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_long_escaped), cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_escapes),	     cmocka_unit_test(test_member_order),
		cmocka_unit_test(test_check_order),  cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_canonical_text),
		cmocka_unit_test(test_builder),	     cmocka_unit_test(test_record_name_first),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
