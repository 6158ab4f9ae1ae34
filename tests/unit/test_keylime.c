// SPDX-License-Identifier: MIT
/*
 * test_keylime.c: tests of the Keylime runtime policy conversion (lib/keylime.c) and of
 * `vigil policy import|export|show` (cmd/cmd_policy_keylime.c, cmd/cmd_policy_show.c).
 *
 * The round trip Keylime -> vigil -> Keylime must say the same thing: the same digests per
 * path (as sets), the same excludes (as a set), meta.version 1, the same release; also through
 * a vigil document (format, parse). Every import rejection names its member; every export
 * refusal names what Keylime cannot say. Globs are translated to regexes that match exactly
 * what fnmatch(3) matches, checked against regexec(3) on sample paths. The commands are run as
 * a user runs them, including export of a signed policy (vigil key generate + policy sign).
 */
#include <errno.h>
#include <fnmatch.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "ima_fixtures.h"
#include "keylime.h"
#include "libvigil.h"
#include "spawn.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

#define FIXTURE VIGIL_FIXTURES "/keylime/runtime-policy.json"
#define H64 "82c0aad1330a0c428ee3f9b7ff0d5ba7e5238c550c58c17aa4ed27382902e002"
#define H40 "82c0aad1330a0c428ee3f9b7ff0d5ba7e5238c55"

static char dir[] = "/tmp/vigil-keylime-XXXXXX";

static void json_putp(struct json_object **o)
{
	json_object_put(*o);
}

static const struct vigil_keylime_import_opts opts = {
	.name = "kl",
	.valid_until = 4102444800, /* 2100-01-01 */
};

static struct vigil_policy *import_text(const char *text, struct vigil_keylime_notes *notes)
{
	struct vigil_policy *p = NULL;
	struct vigil_policy_error err = { 0 };
	struct vigil_keylime_notes n;

	if (vigil_keylime_import(text, strlen(text), &opts, &p, notes ? notes : &n, &err) < 0)
		fail_msg("import: %s", err.what);
	return p;
}

static char *fixture(void)
{
	size_t len = 0;

	return (char *)read_file(FIXTURE, &len);
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member %s", key);
	return v;
}

/* Whether every string of array @a is in array @b. */
static bool subset(struct json_object *a, struct json_object *b)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		bool found = false;

		for (size_t j = 0; j < json_object_array_length(b) && !found; j++)
			found = !strcmp(s, json_object_get_string(json_object_array_get_idx(b, j)));
		if (!found)
			return false;
	}
	return true;
}

static void assert_same_set(struct json_object *a, struct json_object *b, const char *what)
{
	if (!subset(a, b) || !subset(b, a))
		fail_msg("%s: %s != %s", what, json_object_get_string(a),
			 json_object_get_string(b));
}

/* What a Keylime policy says: digests per path, excludes, meta.version, release. */
static void assert_same_policy(struct json_object *a, struct json_object *b)
{
	struct json_object *da = get(a, "digests"), *db = get(b, "digests");

	assert_int_equal(json_object_object_length(da), json_object_object_length(db));
	json_object_object_foreach(da, path, list)
	{
		struct json_object *other = NULL;

		if (!json_object_object_get_ex(db, path, &other))
			fail_msg("path %s lost", path);
		assert_same_set(list, other, path);
	}
	assert_same_set(get(a, "excludes"), get(b, "excludes"), "excludes");
	assert_int_equal(json_object_get_int(get(get(a, "meta"), "version")),
			 json_object_get_int(get(get(b, "meta"), "version")));
	assert_int_equal(json_object_get_int64(get(a, "release")),
			 json_object_get_int64(get(b, "release")));
}

static char *export(const struct vigil_policy *p, struct vigil_keylime_notes *notes)
{
	struct vigil_policy_error err = { 0 };
	char *text = NULL;
	size_t len;

	if (vigil_keylime_export(p, &text, &len, notes, &err) < 0)
		fail_msg("export: %s", err.what);
	assert_int_equal(len, strlen(text));
	return text;
}

/* ---- round trips ---- */

static void test_roundtrip(void **state)
{
	_cleanup_free_ char *text = fixture(), *out = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	_cleanup_(json_putp) struct json_object *a = NULL, *b = NULL;
	struct vigil_keylime_notes notes;
	const struct vigil_policy_info *info;

	(void)state;
	assert_non_null(text);
	p = import_text(text, &notes);
	info = vigil_policy_info(p);
	assert_int_equal(info->hash_alg, TPM2_ALG_SHA256);
	assert_int_equal(info->version, 7);
	assert_int_equal(info->paths, 31);
	assert_int_equal(info->digests, 33);
	assert_int_equal(info->excludes_regex, 5);
	assert_string_equal(notes.log_hash_alg, "sha1");
	assert_int_equal(notes.generator, 3);
	assert_true(notes.has_release);
	assert_int_equal(vigil_policy_expected(p, "/opt/caf\xc3\xa9/bin/run", 18,
					       &(const uint8_t *){ NULL }),
			 1);
	out = export(p, &notes);
	a = parse(text);
	b = parse(out);
	assert_same_policy(a, b);
	/* every member Keylime's schema requires, with the values a policy without keys has */
	assert_int_equal(json_object_get_int(get(get(b, "meta"), "generator")), 3);
	assert_int_equal(json_object_object_length(get(b, "keyrings")), 0);
	assert_int_equal(json_object_object_length(get(b, "ima-buf")), 0);
	assert_string_equal(json_object_get_string(get(b, "verification-keys")), "");
	assert_string_equal(json_object_get_string(get(get(b, "ima"), "log_hash_alg")), "sha1");
	assert_null(get(get(b, "ima"), "dm_policy"));
	assert_int_equal(json_object_array_length(get(get(b, "ima"), "ignored_keyrings")), 0);
	assert_int_equal(json_object_object_length(b), 8);
}

/* Keylime -> vigil document (signed, stored) -> parsed -> Keylime: still the same. */
static void test_roundtrip_document(void **state)
{
	_cleanup_free_ char *text = fixture(), *doc = NULL, *out = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL, *q = NULL;
	_cleanup_(json_putp) struct json_object *a = NULL, *b = NULL;
	struct vigil_policy_error err;
	size_t len;

	(void)state;
	p = import_text(text, NULL);
	assert_int_equal(vigil_policy_format(p, &doc, &len), 0);
	assert_int_equal(vigil_policy_parse(doc, len, &q, &err), 0);
	out = export(q, NULL);
	a = parse(text);
	b = parse(out);
	assert_same_policy(a, b);
}

/* ---- import rejections ---- */

/* A minimal valid policy with "%s" where a test puts its members. */
#define BASE                                                                                       \
	"{\"meta\": {\"version\": 1, \"generator\": 3}, \"release\": 0, \"digests\": {\"/a\": "    \
	"[\"" H64 "\"]}, \"excludes\": [], \"keyrings\": {}, \"ima\": {\"ignored_keyrings\": [], " \
	"\"log_hash_alg\": \"sha1\", \"dm_policy\": null}, \"ima-buf\": {}, "                      \
	"\"verification-keys\": \"\"%s}"

static void test_import_rejects(void **state)
{
	static const struct {
		const char *text;
		int err;
		const char *what;
	} cases[] = {
		{ "{\"meta\": {\"version\": 2}}", -EBADMSG, "meta.version: 2, only 1" },
		{ "{\"meta\": {\"version\": 1, \"x\": 1}}", -EBADMSG, "unsupported: meta.\"x\"" },
		{ "{\"meta\": {\"version\": 1, \"generator\": 9}}", -EBADMSG, "meta.generator" },
		{ "{\"meta\": {}}", -EBADMSG, "meta.version: missing" },
		{ "{\"digests\": {}}", -EBADMSG, "meta: missing" },
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"/a\": [\"" H64
		  "\"], \"/b\": [\"" H40 "\"]}}",
		  -EBADMSG, "digests[\"/b\"][0]: 40 hex digits, other digests have 64" },
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"/a\": []}}", -EBADMSG,
		  "digests[\"/a\"]: must be a non-empty array" },
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"/a\": [\"xyz\"]}}", -EBADMSG,
		  "digests[\"/a\"][0]: not the hex" },
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"/a\": [\"" H40 "0000000000000000"
		  "\"]}}",
		  -EBADMSG, "not the hex of a sha1, sha256" }, /* 56: sha224 */
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"a/b\": [\"" H64 "\"]}}", -EBADMSG,
		  "digests[\"a/b\"]: not a vigil policy path" },
		{ "{\"meta\": {\"version\": 1}, \"keyrings\": {\".ima\": [\"" H64 "\"]}}",
		  -EOPNOTSUPP, "unsupported: keyrings" },
		{ "{\"meta\": {\"version\": 1}, \"ima-buf\": {\"kexec-cmdline\": [\"" H64 "\"]}}",
		  -EOPNOTSUPP, "unsupported: ima-buf" },
		{ "{\"meta\": {\"version\": 1}, \"ima\": {\"dm_policy\": {}}}", -EOPNOTSUPP,
		  "unsupported: ima.dm_policy" },
		{ "{\"meta\": {\"version\": 1}, \"verification-keys\": \"{}\"}", -EOPNOTSUPP,
		  "unsupported: verification-keys" },
		{ "{\"meta\": {\"version\": 1}, \"rules\": \"x\"}", -EOPNOTSUPP,
		  "unsupported: rules" },
		{ "{\"meta\": {\"version\": 1}, \"allowlist\": {}}", -EBADMSG,
		  "unsupported: \"allowlist\"" },
		{ "{\"meta\": {\"version\": 1}, \"ima\": {\"log_hash_alg\": \"md5\"}}", -EBADMSG,
		  "ima.log_hash_alg" },
		{ "{\"meta\": {\"version\": 1}, \"release\": -1}", -EBADMSG, "release: -1" },
		{ "{\"meta\": {\"version\": 1}, \"release\": \"7\"}", -EBADMSG,
		  "release: must be" },
		{ "{\"meta\": {\"version\": 1}, \"excludes\": [\"/tmp/\\\\d+\"]}", -EOPNOTSUPP,
		  "unsupported: excludes[0] \"/tmp/\\d+\": \\d" },
		{ "{\"meta\": {\"version\": 1}, \"excludes\": [\"(?i)/tmp\"]}", -EOPNOTSUPP,
		  "Python extension" },
		{ "{\"meta\": {\"version\": 1}, \"excludes\": [\"/a+?b\"]}", -EOPNOTSUPP,
		  "lazy quantifier" },
		{ "{\"meta\": {\"version\": 1}, \"excludes\": [\"/[\\\\w]\"]}", -EOPNOTSUPP,
		  "inside [...]" },
		{ "{\"meta\": {\"version\": 1}, \"excludes\": [\"/a{1\"]}", -EBADMSG,
		  "not a valid regex" },
		{ "{\"meta\": {\"version\": 1}, \"excludes\": [1]}", -EBADMSG,
		  "excludes[0]: must be a string" },
		{ "{\"meta\": {\"version\": 1}, \"meta\": {\"version\": 1}}", -ENOTUNIQ,
		  "repeated" },
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"/a\": [\"" H64
		  "\"], \"/a\": [\"" H64 "\"]}}",
		  -ENOTUNIQ, "repeated" },
		{ "{\"meta\": {\"version\": 1}, \"digests\": {\"/a\\u0000b\": [\"" H64 "\"]}}",
		  -EBADMSG, "\\u0000" },
		{ "{\"meta\": {\"version\": 1}} x", -EBADMSG, "not a JSON document" },
		{ "{\"meta\": {\"version\": 1},}", -EBADMSG, "not a JSON document" },
		{ "[]", -EBADMSG, "not a JSON object" },
		{ "", -ENODATA, "empty" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vigil_policy *p = NULL;
		struct vigil_policy_error err = { 0 };
		struct vigil_keylime_notes notes;
		int r = vigil_keylime_import(cases[i].text, strlen(cases[i].text), &opts, &p,
					     &notes, &err);

		if (r != cases[i].err || !strstr(err.what, cases[i].what))
			fail_msg("case %zu: %d \"%s\", want %d \"%s\"", i, r, err.what,
				 cases[i].err, cases[i].what);
		assert_null(p);
	}
}

static void test_import_variants(void **state)
{
	char text[1024];
	struct vigil_keylime_import_opts o = opts;
	struct vigil_policy *p = NULL;
	struct vigil_policy_error err = { 0 };
	struct vigil_keylime_notes notes;

	(void)state;
	/* the complete minimal policy; ignored_keyrings are accepted and reported */
	snprintf(text, sizeof(text), BASE, "");
	vigil_policy_free(import_text(text, &notes));
	assert_int_equal(notes.ignored_keyrings, 0);
	/* sha1 digests make a sha1 policy; --version overrides release */
	snprintf(text, sizeof(text),
		 "{\"meta\": {\"version\": 1}, \"release\": 3, \"digests\": {\"/a\": [\"" H40
		 "\"]}, \"ima\": {\"ignored_keyrings\": [\"*\"]}}");
	o.version = 9;
	o.version_set = true;
	assert_int_equal(vigil_keylime_import(text, strlen(text), &o, &p, &notes, &err), 0);
	assert_int_equal(vigil_policy_info(p)->hash_alg, TPM2_ALG_SHA1);
	assert_int_equal(vigil_policy_info(p)->version, 9);
	assert_int_equal(notes.ignored_keyrings, 1);
	assert_int_equal(notes.release, 3);
	vigil_policy_free(p);
	/* no digests: the caller's algorithm, default sha256 */
	p = import_text("{\"meta\": {\"version\": 1}, \"excludes\": [\".*\"]}", &notes);
	assert_int_equal(vigil_policy_info(p)->hash_alg, TPM2_ALG_SHA256);
	assert_int_equal(vigil_policy_info(p)->version, 1);
	assert_false(notes.has_release);
	vigil_policy_free(p);
	/* a name a policy cannot have */
	o.name = "a b";
	assert_int_equal(vigil_keylime_import(text, strlen(text), &o, &p, &notes, &err), -EINVAL);
}

/* ---- export ---- */

static struct vigil_policy *new_policy(void)
{
	struct vigil_policy_info info = { .version = 4,
					  .valid_until = 4102444800,
					  .hash_alg = TPM2_ALG_SHA256 };
	struct vigil_policy *p = NULL;
	uint8_t d[32] = { 1 };

	strcpy(info.name, "export");
	assert_int_equal(vigil_policy_new(&info, &p), 0);
	assert_int_equal(vigil_policy_add_digest(p, "/usr/bin/x", 10, d), 0);
	return p;
}

static void test_export_refuses(void **state)
{
	uint8_t d[32] = { 2 };
	struct {
		int (*add)(struct vigil_policy *p, const uint8_t *d);
		const char *what;
	} cases[] = {
		{ vigil_policy_add_any, "any_path: 1 digest(s)" },
		{ vigil_policy_add_deny, "deny: 1 denied" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy();
		struct vigil_policy_error err = { 0 };
		char *out = NULL;
		size_t len;

		assert_int_equal(cases[i].add(p, d), 0);
		assert_int_equal(vigil_keylime_export(p, &out, &len, NULL, &err), -EOPNOTSUPP);
		assert_non_null(strstr(err.what, cases[i].what));
	}
	{
		_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy();
		struct vigil_policy_error err = { 0 };
		char *out = NULL;
		size_t len;

		assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 0, d, 32), 0);
		assert_int_equal(vigil_keylime_export(p, &out, &len, NULL, &err), -EOPNOTSUPP);
		assert_non_null(strstr(err.what, "pcrs: "));
	}
	{
		_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy();
		struct vigil_policy_error err = { 0 };
		char *out = NULL;
		size_t len;

		assert_int_equal(vigil_policy_add_exclude(p, "/var/[[:digit:]]*"), 0);
		assert_int_equal(vigil_keylime_export(p, &out, &len, NULL, &err), -EOPNOTSUPP);
		assert_non_null(strstr(err.what, "excludes \"/var/[[:digit:]]*\""));
	}
}

static void test_export_members(void **state)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = new_policy();
	_cleanup_(json_putp) struct json_object *o = NULL;
	_cleanup_free_ char *out = NULL;
	struct vigil_keylime_notes notes;
	uint8_t agg[32] = { 0xaa };
	char hex[65];

	(void)state;
	assert_int_equal(vigil_policy_set_boot_aggregate(p, agg), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/tmp/*"), 0);
	assert_int_equal(vigil_policy_add_exclude_regex(p, "^/var/log/"), 0);
	assert_int_equal(vigil_policy_add_package(p, (uint8_t[32]){ 1 }, "x 1.0"), 0);
	out = export(p, &notes);
	o = parse(out);
	assert_int_equal(vigil_hex_encode(agg, 32, hex, sizeof(hex)), 0);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(
				    get(get(o, "digests"), "boot_aggregate"), 0)),
			    hex);
	assert_int_equal(json_object_get_int64(get(o, "release")), 4);
	assert_string_equal(
		json_object_get_string(json_object_array_get_idx(get(o, "excludes"), 0)),
		"^/var/log/");
	assert_string_equal(
		json_object_get_string(json_object_array_get_idx(get(o, "excludes"), 1)),
		"^/tmp/.*$");
	assert_int_equal(notes.globs, 1);
	assert_int_equal(notes.packages, 1);
	assert_int_equal(notes.valid_until, 4102444800);
	assert_false(notes.violations);
}

/* ---- globs and regexes ---- */

static bool regex_matches(const char *re, const char *s)
{
	char anchored[512];
	regex_t rx;
	bool m;

	snprintf(anchored, sizeof(anchored), "^(%s)", re);
	assert_int_equal(regcomp(&rx, anchored, REG_EXTENDED | REG_NOSUB), 0);
	m = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return m;
}

static void test_glob_regex(void **state)
{
	static const struct {
		const char *glob;
		const char *regex;
	} cases[] = {
		{ "/tmp/*", "^/tmp/.*$" },
		{ "/etc/plc/?.conf", "^/etc/plc/.\\.conf$" },
		{ "/var/[!a-c]x", "^/var/[^a-c]x$" },
		{ "/var/[^a-c]x", "^/var/[^a-c]x$" },
		{ "/x[]a]", "^/x[]a]$" },
		{ "/a\\*b", "^/a\\*b$" },
		{ "/a+b(c)|d{2}$^", "^/a\\+b\\(c\\)\\|d\\{2\\}\\$\\^$" },
		{ "/open[", "^/open\\[$" },
		{ "/back\\\\slash", "^/back\\\\slash$" },
	};
	static const char *const paths[] = {
		"/tmp/",
		"/tmp/a/b",
		"/tmpx",
		"/etc/plc/a.conf",
		"/etc/plc/ab.conf",
		"/etc/plc/a/conf",
		"/var/dx",
		"/var/ax",
		"/var/x",
		"/x]",
		"/xa",
		"/xb",
		"/a*b",
		"/axb",
		"/a+b(c)|d{2}$^",
		"/open[",
		"/back\\slash",
		"/tmp/\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_free_ char *re = NULL;
		char why[160];

		assert_int_equal(vigil_keylime_glob_regex(cases[i].glob, &re, why, sizeof(why)), 0);
		assert_string_equal(re, cases[i].regex);
		assert_int_equal(vigil_keylime_regex_check(re, why, sizeof(why)), 0);
		for (size_t j = 0; j < sizeof(paths) / sizeof(paths[0]); j++) {
			bool g = fnmatch(cases[i].glob, paths[j], 0) == 0;

			if (g != regex_matches(re, paths[j]))
				fail_msg("%s vs %s on %s", cases[i].glob, re, paths[j]);
		}
	}
	{
		char *re = NULL, why[160];

		assert_int_equal(vigil_keylime_glob_regex("/[[:alpha:]]", &re, why, sizeof(why)),
				 -EINVAL);
		assert_int_equal(vigil_keylime_glob_regex("/[\\]]", &re, why, sizeof(why)),
				 -EINVAL);
		assert_int_equal(vigil_keylime_glob_regex("/end\\", &re, why, sizeof(why)),
				 -EINVAL);
		assert_null(re);
	}
}

static void test_regex_check(void **state)
{
	static const char *const ok[] = {
		"/tmp/.*",
		"^/home/[^/]+/\\.cache/.*",
		"/usr/lib/python3\\.11/.*\\.pyc$",
		"/run/user/[0-9]+/.*",
		"\\w+\\s",
		"(a|b){2,3}",
		"[]x]",
		"\\*?",
		"a\\+?",
	};
	static const char *const bad[] = {
		"\\d", "\\Z", "\\A",   "\\<",	"(?:a)",       "(?i)a", "a*?",
		"a+?", "a??", "a{2}?", "[\\d]", "[[:alpha:]]", "[a",
	};
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (vigil_keylime_regex_check(ok[i], why, sizeof(why)) != 0)
			fail_msg("%s refused: %s", ok[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vigil_keylime_regex_check(bad[i], why, sizeof(why)) != -EINVAL)
			fail_msg("%s accepted", bad[i]);
}

/* ---- the commands ---- */

struct run {
	int code;
	char out[16384];
	char err[8192];
};

static void run_vigil(struct run *r, const char *const args[])
{
	char *argv[32] = { VIGIL_BIN };
	int out = -1, err = -1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	assert_int_equal(spawn_capture(argv, NULL, &r->code, &out, &err), 0);
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

#define RUN(r, ...) run_vigil(r, (const char *const[]){ __VA_ARGS__, NULL })

static void path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void test_cmd_roundtrip(void **state)
{
	char p[256], k[256], bad[256];
	struct run r;
	_cleanup_free_ char *a = fixture();
	_cleanup_free_ uint8_t *b = NULL;
	_cleanup_(json_putp) struct json_object *ja = NULL, *jb = NULL;
	size_t len = 0;

	(void)state;
	path(p, sizeof(p), "p.json");
	path(k, sizeof(k), "k.json");
	RUN(&r, "policy", "import", "--keylime", FIXTURE, "--name", "plc", "-o", p);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.err, "note: ima.log_hash_alg sha1"));
	RUN(&r, "policy", "show", p);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "name: plc\nversion: 7\n"));
	assert_non_null(strstr(r.out, "paths: 31\ndigests: 33\n"));
	RUN(&r, "policy", "show", "--json", p);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "\"excludes_regex\":5"));
	RUN(&r, "policy", "export", "--keylime", p, "-o", k);
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.err, "note: Keylime policies do not expire"));
	b = read_file(k, &len);
	assert_non_null(b);
	ja = parse(a);
	jb = parse((const char *)b);
	assert_same_policy(ja, jb);
	/* rejections and usage */
	path(bad, sizeof(bad), "bad.json");
	{
		FILE *f = fopen(bad, "w");

		assert_non_null(f);
		fputs("{\"meta\": {\"version\": 1}, \"keyrings\": {\"a\": [\"" H64 "\"]}}", f);
		fclose(f);
	}
	RUN(&r, "policy", "import", "--keylime", bad, "--name", "x", "-o", p);
	assert_int_equal(r.code, 3);
	assert_non_null(strstr(r.err, "vigil policy import: "));
	assert_non_null(strstr(r.err, ": unsupported: keyrings"));
	RUN(&r, "policy", "import", FIXTURE, "--name", "x", "-o", p);
	assert_int_equal(r.code, 2);
	RUN(&r, "policy", "import", "--keylime", FIXTURE, "-o", p);
	assert_int_equal(r.code, 2);
	RUN(&r, "policy", "import", "--keylime", FIXTURE, "--name", "x");
	assert_int_equal(r.code, 2);
	RUN(&r, "policy", "export", "--keylime", p);
	assert_int_equal(r.code, 2);
	RUN(&r, "policy", "show", bad);
	assert_int_equal(r.code, 1);
	RUN(&r, "policy", "export", "--help");
	assert_int_equal(r.code, 0);
	assert_non_null(strstr(r.out, "Usage: vigil policy export"));
	RUN(&r, "policy", "import", "--help");
	assert_int_equal(r.code, 0);
	RUN(&r, "policy", "show", "--help");
	assert_int_equal(r.code, 0);
}

/* A signed policy is exported only once its signature checks out under --trust. */
static void test_cmd_signed(void **state)
{
	char p[256], key[256], pub[256], other[256], dsse[256], k[256];
	struct run r;

	(void)state;
	path(p, sizeof(p), "s.json");
	path(key, sizeof(key), "key.pem");
	path(pub, sizeof(pub), "key.pub");
	path(other, sizeof(other), "other.pem");
	path(dsse, sizeof(dsse), "s.dsse");
	path(k, sizeof(k), "s-keylime.json");
	RUN(&r, "policy", "import", "--keylime", FIXTURE, "--name", "plc", "-o", p);
	assert_int_equal(r.code, 0);
	RUN(&r, "key", "generate", "--out", key);
	assert_int_equal(r.code, 0);
	RUN(&r, "key", "generate", "--out", other);
	assert_int_equal(r.code, 0);
	RUN(&r, "policy", "sign", p, "--key", key, "-o", dsse);
	if (r.code != 0)
		fail_msg("policy sign: %s", r.err);
	RUN(&r, "policy", "export", "--keylime", dsse, "-o", k);
	assert_int_equal(r.code, 3);
	assert_non_null(strstr(r.err, "a signed policy: give --trust KEY.pub"));
	RUN(&r, "policy", "export", "--keylime", dsse, "--trust", pub, "-o", k);
	assert_int_equal(r.code, 0);
	path(pub, sizeof(pub), "other.pub");
	RUN(&r, "policy", "export", "--keylime", dsse, "--trust", pub, "-o", k);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "rejected: policy_untrusted"));
	RUN(&r, "policy", "show", dsse);
	assert_int_equal(r.code, 1);
	assert_non_null(strstr(r.err, "vigil policy verify"));
}

static int setup(void **state)
{
	(void)state;
	setenv("LC_ALL", "C", 1);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[sizeof(dir) + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_roundtrip_document),
		cmocka_unit_test(test_import_rejects), cmocka_unit_test(test_import_variants),
		cmocka_unit_test(test_export_refuses), cmocka_unit_test(test_export_members),
		cmocka_unit_test(test_glob_regex),     cmocka_unit_test(test_regex_check),
		cmocka_unit_test(test_cmd_roundtrip),  cmocka_unit_test(test_cmd_signed),
	};

	return cmocka_run_group_tests_name("keylime", tests, setup, teardown);
}
