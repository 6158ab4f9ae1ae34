// SPDX-License-Identifier: MIT
/*
 * test_report.c: unit tests of the compliance report (lib/report*.c) and of `vigil report`.
 *
 * One archive is built in the group setup from real quotes (archive_builder.h), two devices:
 *	1  plc-1  trusted, EAR
 *	2  plc-2  nonce_mismatch (a rejection that names no record), no EAR
 *	3  plc-1  untrusted, EAR: /usr/bin/plc-runtime replaced (digest_mismatch, BPRM_CHECK),
 *		  /etc/plc/runtime.conf edited (digest_mismatch, FILE_CHECK) and a hostile path
 *		  "/tmp/<script>alert(1)</script>" (not_in_policy, MMAP_CHECK), vigil-ng records
 *	4  plc-2  untrusted (/tmp/dropper not in the policy), EAR: never trusted again: open
 *	5  plc-1  monitoring off, by and reason with markup in them
 *	6  plc-1  monitoring on again
 *	7  plc-1  trusted, no EAR: resolves entry 3
 * plus an SBOM (CycloneDX 1.6, written here) that knows three of the measured digests, one
 * component with markup in its name. The HTML must name every device, verdict, violation (with
 * how it ended) and requirement, escape every archive and SBOM string and reference nothing
 * outside itself; the JSON must be an in-toto Statement whose subjects are the archive head,
 * each EAR and the SBOM by digest. Selections (device, period, the monitoring state a period
 * starts in), the report id, odd entries (a verdict that does not parse, an EAR its archived
 * key did not sign), the text sanitiser for bytes that are not UTF-8, and the command (exit
 * codes, DSSE signature, messages) follow.
 *
 * With VIGIL_REPORT_OUT set to a directory, the HTML, the unsigned JSON and expect.txt (what
 * tests/compliance/report-dom-check must find in the browser's DOM) are written there, and
 * report-odd.json, the JSON of the odd entries (without it, into the test's own directory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/sha.h>

#include "archive_builder.h"
#include "cleanup.h"
#include "report_internal.h"
#include "spawn.h"
#include "uapi/vigil.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

#define HOSTILE "/tmp/<script>alert(1)</script>"
#define HOSTILE_HTML "/tmp/&lt;script&gt;alert(1)&lt;/script&gt;"
#define CONFIG "/etc/plc/runtime.conf"
#define T(n) (AB_TIME0 + (n))
#define NOW ((int64_t)1800086400) /* a day after the archive */

static struct {
	struct ab b1, b2;
	char tmp[64];
	char dir[96]; /* the archive */
	char bom[96]; /* the SBOM file */
	char key[96], pub[96]; /* the report-signing key */
	struct vigil_sbom *sbom;
	uint8_t bom_sha[32];
	uint64_t head_seq;
	uint8_t head[32];
	uint8_t ear_sha[8][32];
	bool ear[8];
} g;

#define assert_contains(haystack, needle)                                     \
	do {                                                                  \
		if (!strstr((haystack), (needle)))                            \
			fail_msg("report does not contain \"%s\"", (needle)); \
	} while (0)
#define assert_lacks(haystack, needle)                                \
	do {                                                          \
		if (strcasestr((haystack), (needle)))                 \
			fail_msg("report contains \"%s\"", (needle)); \
	} while (0)

/* ---- the archive ---- */

static const char policy_text[] =
	"{\"vigil_policy\": 1, \"name\": \"plc\", \"version\": 7, "
	"\"valid_until\": \"2099-01-01T00:00:00Z\", \"hash_alg\": \"sha256\", \"digests\": {"
	"\"/usr/bin/true\": [\"1111111111111111111111111111111111111111111111111111111111111111\"],"
	"\"/usr/bin/plc-runtime\": "
	"[\"2222222222222222222222222222222222222222222222222222222222222222\"],"
	"\"" CONFIG
	"\": [\"5555555555555555555555555555555555555555555555555555555555555555\"]}}\n";

/* plc-1's policy also knows the configuration file */
static void sign_policy(struct ab *b)
{
	struct vigil_dsse *env = NULL;

	free(b->policy);
	b->policy = NULL;
	if (vigil_dsse_new(VIGIL_POLICY_PAYLOAD_TYPE, (const uint8_t *)policy_text,
			   sizeof(policy_text) - 1, &env) < 0 ||
	    vigil_dsse_sign(env, b->policy_key) < 0 || vigil_dsse_format(env, &b->policy) < 0)
		ab_die("policy");
	vigil_dsse_free(env);
}

/* A vigil-ng record: d-ng, n-ng and the context with @hook. */
static void put_vigil_ng(struct bytes *log, uint8_t fill, const char *name, uint32_t hook,
			 uint64_t seq)
{
	static struct bytes data;
	uint8_t ctx[VIGIL_CTX_SIZE] = { 0 };

	data.len = 0;
	put_dng(&data, "sha256", fill, 32);
	put_field(&data, name, strlen(name) + 1);
	for (int i = 0; i < 8; i++)
		ctx[i] = (uint8_t)(seq >> (8 * i));
	ctx[8] = (uint8_t)hook;
	put_field(&data, ctx, sizeof(ctx));
	put_record(log, 11, fill, "vigil-ng", &data);
}

/* ab_make() with our own log, appended. */
static uint64_t custom_round(struct ab *b, struct vigil_archive *a, const struct bytes *log)
{
	struct ab_record r;
	struct vigil_verdict v;
	uint64_t seq;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(r.nonce); i++)
		r.nonce[i] = (uint8_t)(0x50 + b->round + i);
	r.evidence = ab_evidence(b, log, r.nonce, sizeof(r.nonce));
	ab_inputs(b, &r);
	if (vigil_reverify(&r.rec.in, &v) < 0 || vigil_verdict_to_json(&v, &r.verdict) < 0)
		ab_die("verdict");
	r.accepted = v.accepted;
	r.ear = ab_ear(b, &v, r.nonce, sizeof(r.nonce));
	vigil_verdict_release(&v);
	r.rec = (struct vigil_archive_record){ .kind = VIGIL_ARCHIVE_ATTESTATION,
					       .device = b->device,
					       .time = b->time,
					       .in = r.rec.in,
					       .verdict = (const uint8_t *)r.verdict,
					       .verdict_len = strlen(r.verdict),
					       .ear = (const uint8_t *)r.ear,
					       .ear_len = strlen(r.ear),
					       .ear_key = (const uint8_t *)b->ear_pem,
					       .ear_key_len = strlen(b->ear_pem) };
	seq = ab_append(a, &r.rec);
	ab_next(b, &r);
	ab_record_free(&r);
	return seq;
}

/* A quote for another nonce than the verifier's: rejected before any record is looked at. */
static uint64_t nonce_round(struct ab *b, struct vigil_archive *a)
{
	struct ab_record r;
	struct vigil_verdict v;
	uint64_t seq;

	ab_make(b, AB_TRUSTED, false, &r);
	r.nonce[0] ^= 0xff;
	free(r.verdict);
	r.verdict = NULL;
	if (vigil_reverify(&r.rec.in, &v) < 0 || vigil_verdict_to_json(&v, &r.verdict) < 0)
		ab_die("verdict");
	r.accepted = v.accepted;
	vigil_verdict_release(&v);
	r.rec.verdict = (const uint8_t *)r.verdict;
	r.rec.verdict_len = strlen(r.verdict);
	seq = ab_append(a, &r.rec);
	ab_next(b, &r);
	ab_record_free(&r);
	return seq;
}

static void build_archive(void)
{
	static struct bytes log;
	struct vigil_archive *a = NULL;

	ab_init(&g.b1, "plc-1");
	ab_init(&g.b2, "plc-2");
	sign_policy(&g.b1);
	g.b2.time = T(30);
	if (vigil_archive_open(g.dir, true, &a) < 0)
		ab_die("archive");
	assert_int_equal(ab_attest(&g.b1, a, AB_TRUSTED, true), 1);
	assert_int_equal(nonce_round(&g.b2, a), 2);
	log.len = 0;
	put_ima_ng(&log, 11, 0x11, AB_GOOD_1);
	put_vigil_ng(&log, 0x33, AB_GOOD_2, VIGIL_HOOK_BPRM_CHECK, 1);
	put_vigil_ng(&log, 0x66, CONFIG, VIGIL_HOOK_FILE_CHECK, 2);
	put_vigil_ng(&log, 0x44, HOSTILE, VIGIL_HOOK_MMAP_CHECK, 3);
	assert_int_equal(custom_round(&g.b1, a, &log), 3);
	assert_int_equal(ab_attest(&g.b2, a, AB_UNTRUSTED, true), 4);
	assert_int_equal(ab_note(&g.b1, a, true, "alice <ops@example.com>",
				 "line 3 maintenance; <b>bold</b> & \"quotes\""),
			 5);
	g.b1.time = T(180);
	assert_int_equal(ab_note(&g.b1, a, false, "bob", "maintenance done"), 6);
	g.b1.time = T(240);
	assert_int_equal(ab_attest(&g.b1, a, AB_TRUSTED, false), 7);
	vigil_archive_close(a);
}

/* What the JSON's subjects must be: the last entry's digest and each EAR's. */
static int collect(void *ctx, const struct vigil_archive_entry *e)
{
	(void)ctx;
	g.head_seq = e->seq;
	memcpy(g.head, e->entry_sha256, 32);
	if (e->ear && e->seq < 8) {
		g.ear[e->seq] = true;
		SHA256(e->ear, e->ear_len, g.ear_sha[e->seq]);
	}
	return 0;
}

static void hex_of(unsigned char fill, char out[65])
{
	memset(out, "0123456789abcdef"[fill >> 4], 64);
	for (int i = 1; i < 64; i += 2)
		out[i] = "0123456789abcdef"[fill & 15];
	out[64] = '\0';
}

/* A CycloneDX 1.6 SBOM knowing /usr/bin/true, the replaced binary and the edited config. */
static void write_sbom(void)
{
	char h11[65], h22[65], h33[65], h66[65], text[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *err = NULL;
	int n;

	hex_of(0x11, h11);
	hex_of(0x22, h22);
	hex_of(0x33, h33);
	hex_of(0x66, h66);
	n = snprintf(
		text, sizeof(text),
		"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", \"serialNumber\": "
		"\"urn:uuid:11111111-2222-4333-8444-555555555555\", \"version\": 1, "
		"\"metadata\": {\"component\": {\"type\": \"firmware\", \"name\": "
		"\"ctrl-x200\", \"version\": \"4.2.1\"}}, \"components\": ["
		"{\"type\": \"application\", \"name\": \"coreutils\", \"version\": \"9.1\", "
		"\"components\": [{\"type\": \"file\", \"name\": \"true\", \"version\": \"9.1\", "
		"\"hashes\": [{\"alg\": \"SHA-256\", \"content\": \"%s\"}]}]},"
		"{\"type\": \"application\", \"name\": \"plc-runtime\", \"version\": \"2.3.0\", "
		"\"hashes\": [{\"alg\": \"SHA-256\", \"content\": \"%s\"}]},"
		"{\"type\": \"application\", \"name\": \"plc-runtime\", \"version\": "
		"\"2.4.0-rc1\", \"hashes\": [{\"alg\": \"SHA-256\", \"content\": \"%s\"}]},"
		"{\"type\": \"file\", \"name\": \"<img src=x onerror=alert(2)>\", \"version\": "
		"\"1\", \"hashes\": [{\"alg\": \"SHA-256\", \"content\": \"%s\"}]}]}\n",
		h11, h22, h33, h66);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(vigil_file_write_atomic(g.bom, text, (size_t)n, 0644), 0);
	assert_int_equal(vigil_file_read(g.bom, VIGIL_SBOM_MAX, &buf, &len), 0);
	SHA256(buf, len, g.bom_sha);
	assert_int_equal(vigil_sbom_parse((const char *)buf, len, &g.sbom, &err), 0);
	free(buf);
}

static void write_key(void)
{
	EVP_PKEY *key = NULL;
	char *priv = NULL, *pub = NULL;

	assert_int_equal(vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &key), 0);
	assert_int_equal(vigil_sigkey_private_pem(key, &priv), 0);
	assert_int_equal(vigil_sigkey_public_pem(key, &pub), 0);
	assert_int_equal(vigil_file_write_atomic(g.key, priv, strlen(priv), 0600), 0);
	assert_int_equal(vigil_file_write_atomic(g.pub, pub, strlen(pub), 0644), 0);
	free(priv);
	free(pub);
	EVP_PKEY_free(key);
}

static int setup(void **state)
{
	(void)state;
	setenv("LC_ALL", "C", 1);
	strcpy(g.tmp, "/tmp/vigil-test-report.XXXXXX");
	if (!mkdtemp(g.tmp))
		return -1;
	snprintf(g.dir, sizeof(g.dir), "%s/archive", g.tmp);
	snprintf(g.bom, sizeof(g.bom), "%s/bom.json", g.tmp);
	snprintf(g.key, sizeof(g.key), "%s/report.pem", g.tmp);
	snprintf(g.pub, sizeof(g.pub), "%s/report.pub", g.tmp);
	build_archive();
	write_sbom();
	write_key();
	return vigil_archive_foreach(g.dir, collect, NULL);
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	ab_free(&g.b1);
	ab_free(&g.b2);
	vigil_sbom_free(g.sbom);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g.tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static struct vigil_report_options options(bool sbom)
{
	struct vigil_report_options o = {
		.archive = g.dir, .from = INT64_MIN, .to = INT64_MAX, .now = NOW
	};

	if (sbom) {
		o.sbom = g.sbom;
		memcpy(o.sbom_sha256, g.bom_sha, 32);
		o.sbom_name = g.bom;
	}
	return o;
}

static char *build(const struct vigil_report_options *o, enum vigil_report_format f,
		   struct vigil_report_stats *st)
{
	char *text = NULL;
	size_t len = 0;
	int r = vigil_report_build(o, f, &text, &len, st);

	if (r != 0)
		fail_msg("vigil_report_build: %s", strerror(-r));
	assert_int_equal(strlen(text), len);
	return text;
}

/* Inside every tag, src= and href= may only point into the document or be data: URIs;
 * attribute values (quoted) are skipped, they are not attributes. */
static void check_refs(const char *tag, size_t len, const char *name)
{
	size_t n = strlen(name);
	bool quoted = false;

	for (size_t i = 0; i + n < len; i++) {
		const char *v = tag + i + n + 1;

		if (tag[i] == '"')
			quoted = !quoted;
		if (quoted || strncasecmp(tag + i, name, n) != 0 || tag[i - 1] != ' ')
			continue;
		if (tag[i + n] != '"' || (*v != '#' && strncmp(v, "data:", 5) != 0))
			fail_msg("a reference leaves the document: %.*s", (int)len, tag);
	}
}

static void check_self_contained(const char *html)
{
	static const char *const banned[] = { "<script",    "<link",  "<iframe", "<img",
					      "<object",    "<embed", "<base",	 "<form",
					      "@import",    "url(",   "http://", "https://",
					      "javascript:" };

	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		assert_lacks(html, banned[i]);
	for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
		const char *end = strchr(p, '>');

		assert_non_null(end);
		check_refs(p, (size_t)(end - p), "src=");
		check_refs(p, (size_t)(end - p), "href=");
	}
}

static void assert_row(const char *html, int seq, const char *device, const char *verdict)
{
	char want[160];

	snprintf(want, sizeof(want), "data-seq=\"%d\" data-device=\"%s\" data-verdict=\"%s\"", seq,
		 device, verdict);
	assert_contains(html, want);
}

static void assert_violation(const char *html, const char *id, int seq, const char *device,
			     const char *reason, const char *status)
{
	char want[256];

	snprintf(want, sizeof(want),
		 "data-violation=\"%s\" data-seq=\"%d\" data-device=\"%s\" data-reason=\"%s\" "
		 "data-status=\"%s\"",
		 id, seq, device, reason, status);
	assert_contains(html, want);
}

static const char *const requirement_ids[] = {
	"iec62443-4-2:CR3.4",	"iec62443-4-2:CR3.4-RE1", "iec62443-4-2:CR3.4-RE2",
	"iec62443-4-2:EDR3.14", "iec62443-4-2:CR2.8",	  "iec62443-4-2:CR3.9",
	"iec62443-4-2:CR6.2",	"cra:AnnexI.I.2.f",	  "cra:AnnexI.I.2.l",
	"cra:AnnexI.II.1",
};

static void assert_requirement(const char *html, const char *id, const char *status)
{
	char want[160];

	snprintf(want, sizeof(want), "data-requirement=\"%s\" data-status=\"%s\"", id, status);
	assert_contains(html, want);
}

/* ---- HTML ---- */

static void test_html(void **state)
{
	struct vigil_report_options o = options(true);
	struct vigil_report_stats st;
	_cleanup_free_ char *html = build(&o, VIGIL_REPORT_HTML, &st);

	(void)state;
	assert_int_equal(st.attestations, 5);
	assert_int_equal(st.violations, 5);
	assert_int_equal(st.open_violations, 2);
	assert_int_equal(st.monitoring, 2);
	check_self_contained(html);
	assert_contains(html, "<!DOCTYPE html>");
	assert_contains(html, "@media print");
	assert_contains(html, "data-result=\"open\"");
	assert_contains(html, "data-device=\"plc-1\"");
	assert_contains(html, "data-device=\"plc-2\"");
	assert_row(html, 1, "plc-1", "trusted");
	assert_row(html, 2, "plc-2", "untrusted");
	assert_row(html, 3, "plc-1", "untrusted");
	assert_row(html, 4, "plc-2", "untrusted");
	assert_row(html, 7, "plc-1", "trusted");
	assert_violation(html, "3:1", 3, "plc-1", "digest_mismatch", "resolved");
	assert_violation(html, "3:2", 3, "plc-1", "digest_mismatch", "resolved");
	assert_violation(html, "3:3", 3, "plc-1", "not_in_policy", "resolved");
	assert_violation(html, "2", 2, "plc-2", "nonce_mismatch", "open");
	assert_violation(html, "4:2", 4, "plc-2", "not_in_policy", "open");
	assert_contains(html, "resolved: trusted again at 2027-01-15T08:04:00Z (<a "
			      "href=\"#entry-7\">entry 7</a>)");
}

/* Every archive and SBOM string arrives escaped; the SBOM attributes what it knows. */
static void test_html_strings(void **state)
{
	struct vigil_report_options o = options(true);
	_cleanup_free_ char *html = build(&o, VIGIL_REPORT_HTML, NULL);

	(void)state;
	assert_contains(html, "BPRM_CHECK");
	assert_contains(html, "FILE_CHECK");
	assert_contains(html, "MMAP_CHECK");
	assert_contains(html, CONFIG);
	assert_contains(html, HOSTILE_HTML);
	assert_contains(html, "plc-runtime 2.4.0-rc1"); /* the replaced binary's component */
	assert_contains(html, "&lt;img src=x onerror=alert(2)&gt;");
	assert_contains(html, "data-component=\"true\"");
	assert_contains(html, "not in the SBOM");
	assert_contains(html, "urn:uuid:11111111-2222-4333-8444-555555555555");
	assert_contains(html, "data-monitoring-used=\"true\"");
	assert_contains(html, "data-monitoring=\"off\"");
	assert_contains(html, "alice &lt;ops@example.com&gt;");
	assert_contains(html, "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quotes&quot;");
	assert_contains(html, "vigil archive verify ");
	assert_contains(html, "vigil " VIGIL_VERSION);
	assert_contains(html, "not recorded");
	assert_contains(html, "data-policy-name=\"plc\"");
}

static void test_html_requirements(void **state)
{
	struct vigil_report_options o = options(true);
	_cleanup_free_ char *html = build(&o, VIGIL_REPORT_HTML, NULL);

	(void)state;
	for (size_t i = 0; i < sizeof(requirement_ids) / sizeof(requirement_ids[0]); i++)
		assert_contains(html, requirement_ids[i]);
	assert_requirement(html, "iec62443-4-2:CR3.4", "satisfied");
	assert_requirement(html, "iec62443-4-2:CR3.4-RE2", "partially");
	assert_requirement(html, "iec62443-4-2:EDR3.14", "not_shown");
	assert_requirement(html, "cra:AnnexI.I.2.l", "satisfied");
	assert_requirement(html, "cra:AnnexI.II.1", "partially");
	assert_contains(html, "the user&#39;s opt-out was used");
}

static void test_html_without_sbom(void **state)
{
	struct vigil_report_options o = options(false);
	_cleanup_free_ char *html = build(&o, VIGIL_REPORT_HTML, NULL);

	(void)state;
	check_self_contained(html);
	assert_contains(html, "data-sbom=\"absent\"");
	assert_contains(html, "No SBOM was given");
	assert_contains(html, "(no SBOM given)");
	assert_requirement(html, "cra:AnnexI.II.1", "not_shown");
	assert_lacks(html, "plc-runtime 2.4.0-rc1");
}

/* ---- JSON ---- */

static struct json_object *parse(const char *text)
{
	struct json_object *o = NULL;

	assert_int_equal(vigil_json_parse(text, strlen(text), (size_t)64 << 20, &o), 0);
	return o;
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member \"%s\"", key);
	return v;
}

static const char *str(struct json_object *o, const char *key)
{
	return json_object_get_string(member(o, key));
}

static void assert_subject(struct json_object *s, const char *name, const uint8_t sha[32])
{
	char hex[65];

	vigil_hex_encode(sha, 32, hex, sizeof(hex));
	assert_string_equal(str(s, "name"), name);
	assert_string_equal(str(member(s, "digest"), "sha256"), hex);
}

static void test_json(void **state)
{
	struct vigil_report_options o = options(true);
	_cleanup_free_ char *text = build(&o, VIGIL_REPORT_JSON, NULL);
	_cleanup_free_ char *html = build(&o, VIGIL_REPORT_HTML, NULL);
	_cleanup_(json_object_putp) struct json_object *st = parse(text);
	struct json_object *subj = member(st, "subject"), *p = member(st, "predicate"), *reqs;
	char want[128];

	(void)state;
	assert_string_equal(str(st, "_type"), "https://in-toto.io/Statement/v1");
	assert_string_equal(str(st, "predicateType"), VIGIL_REPORT_PREDICATE_TYPE);
	assert_int_equal(json_object_array_length(subj), 5);
	assert_subject(json_object_array_get_idx(subj, 0), "vigil-archive-head", g.head);
	assert_subject(json_object_array_get_idx(subj, 1), "ear/1", g.ear_sha[1]);
	assert_subject(json_object_array_get_idx(subj, 2), "ear/3", g.ear_sha[3]);
	assert_subject(json_object_array_get_idx(subj, 3), "ear/4", g.ear_sha[4]);
	assert_subject(json_object_array_get_idx(subj, 4), "sbom/bom.json", g.bom_sha);
	assert_true(g.ear[1] && g.ear[3] && g.ear[4] && !g.ear[2] && !g.ear[7]);
	/* the same content as the HTML: same id, same counts */
	snprintf(want, sizeof(want), "data-report-id=\"%s\"", str(p, "report_id"));
	assert_contains(html, want);
	assert_string_equal(str(p, "result"), "open");
	assert_string_equal(str(p, "generated_at"), "2027-01-16T08:00:00Z");
	assert_string_equal(str(p, "generator"), "vigil " VIGIL_VERSION);
	assert_int_equal(json_object_array_length(member(p, "attestations")), 5);
	assert_int_equal(json_object_array_length(member(p, "violations")), 5);
	assert_int_equal(json_object_array_length(member(p, "monitoring")), 2);
	assert_int_equal(json_object_array_length(member(p, "measured_files")), 6);
	assert_int_equal(json_object_array_length(member(p, "devices")), 2);
	assert_int_equal(json_object_array_length(member(p, "policies")), 2);
	assert_int_equal(json_object_get_int(member(member(p, "sbom"), "files_matched")), 4);
	assert_int_equal(json_object_get_int(member(member(p, "archive"), "head_seq")), 7);
	reqs = member(p, "requirements");
	assert_int_equal(json_object_array_length(reqs), 10);
	for (size_t i = 0; i < 10; i++)
		assert_string_equal(str(json_object_array_get_idx(reqs, i), "id"),
				    requirement_ids[i]);
	assert_string_equal(str(json_object_array_get_idx(member(p, "violations"), 3), "path"),
			    HOSTILE);
	assert_string_equal(str(json_object_array_get_idx(member(p, "violations"), 0), "status"),
			    "open");
}

/* ---- selections ---- */

static void test_select_device(void **state)
{
	struct vigil_report_options o = options(false);
	struct vigil_report_stats st;
	char *html;

	(void)state;
	o.device = "plc-2";
	html = build(&o, VIGIL_REPORT_HTML, &st);
	assert_int_equal(st.attestations, 2);
	assert_int_equal(st.violations, 2);
	assert_int_equal(st.open_violations, 2);
	assert_lacks(html, "data-device=\"plc-1\"");
	assert_contains(html, "data-result=\"open\"");
	assert_contains(html, "data-monitoring-state=\"never-off\"");
	assert_requirement(html, "cra:AnnexI.I.2.l", "satisfied");
	free(html);
	o.device = "plc-1";
	html = build(&o, VIGIL_REPORT_HTML, &st);
	assert_int_equal(st.attestations, 3);
	assert_int_equal(st.open_violations, 0);
	assert_contains(html, "data-result=\"resolved\"");
	assert_lacks(html, "data-device=\"plc-2\"");
	free(html);
	o.device = "plc-9";
	assert_int_equal(vigil_report_build(&o, VIGIL_REPORT_HTML, &html, &(size_t){ 0 }, NULL),
			 -ENOENT);
}

static void test_select_period(void **state)
{
	struct vigil_report_options o = options(false);
	struct vigil_report_stats st;
	char *html;

	(void)state;
	/* opted out before the period starts: the period's first monitoring row says so */
	o.from = T(150);
	html = build(&o, VIGIL_REPORT_HTML, &st);
	assert_int_equal(st.attestations, 1);
	assert_int_equal(st.monitoring, 2);
	assert_contains(html, "(before the period) monitoring switched off");
	assert_contains(html, "data-monitoring-used=\"true\"");
	assert_contains(html, "data-result=\"trusted\"");
	free(html);
	/* on again before the period: nothing to show */
	o.from = T(200);
	html = build(&o, VIGIL_REPORT_HTML, &st);
	assert_int_equal(st.monitoring, 0);
	assert_contains(html, "Monitoring was never switched off in this period");
	assert_contains(html, "data-monitoring-used=\"false\"");
	free(html);
	/* the violations of entry 3, without the attestation that resolved them */
	o.from = T(60);
	o.to = T(60);
	html = build(&o, VIGIL_REPORT_HTML, &st);
	assert_int_equal(st.violations, 3);
	assert_int_equal(st.open_violations, 3);
	assert_violation(html, "3:1", 3, "plc-1", "digest_mismatch", "open");
	free(html);
	o.from = T(100000);
	o.to = INT64_MAX;
	assert_int_equal(vigil_report_build(&o, VIGIL_REPORT_JSON, &html, &(size_t){ 0 }, NULL),
			 -ENOENT);
	o.from = T(10);
	o.to = T(0);
	assert_int_equal(vigil_report_build(&o, VIGIL_REPORT_JSON, &html, &(size_t){ 0 }, NULL),
			 -EINVAL);
}

static void test_not_an_archive(void **state)
{
	struct vigil_report_options o = options(false);
	char *text = NULL;
	size_t len = 0;

	(void)state;
	o.archive = g.tmp; /* a directory, but no archive */
	assert_int_equal(vigil_report_build(&o, VIGIL_REPORT_HTML, &text, &len, NULL), -ENOTDIR);
	o.archive = "/nonexistent/archive";
	assert_int_equal(vigil_report_build(&o, VIGIL_REPORT_HTML, &text, &len, NULL), -ENOTDIR);
	assert_null(text);
}

/* The id names the content: same inputs, same id; another generation time, another id. */
static void test_report_id(void **state)
{
	struct vigil_report_options o = options(true);
	_cleanup_free_ char *a = build(&o, VIGIL_REPORT_JSON, NULL);
	_cleanup_free_ char *b = build(&o, VIGIL_REPORT_JSON, NULL);
	_cleanup_free_ char *c = NULL;
	_cleanup_(json_object_putp) struct json_object *ja = parse(a), *jc = NULL;
	const char *id;

	(void)state;
	assert_string_equal(a, b);
	o.now++;
	c = build(&o, VIGIL_REPORT_JSON, NULL);
	jc = parse(c);
	id = str(member(ja, "predicate"), "report_id");
	assert_int_equal(strlen(id), 45);
	assert_memory_equal(id, "urn:uuid:", 9);
	assert_int_equal(id[9 + 14], '8'); /* version 8 */
	assert_string_not_equal(id, str(member(jc, "predicate"), "report_id"));
}

/* ---- entries the report must show for what they are ---- */

/* An archive of odd entries: a verdict that does not parse, an EAR whose archived key did not
 * sign it. */
static void odd_archive(const char *dir)
{
	struct vigil_archive *a = NULL;
	struct ab_record r;
	struct ab b;

	ab_init(&b, "odd-1");
	if (vigil_archive_open(dir, true, &a) < 0)
		ab_die("archive");
	ab_make(&b, AB_TRUSTED, true, &r);
	r.rec.verdict = (const uint8_t *)"{\"result\": ";
	r.rec.verdict_len = strlen((const char *)r.rec.verdict);
	ab_append(a, &r.rec);
	ab_next(&b, &r);
	ab_record_free(&r);
	ab_make(&b, AB_TRUSTED, true, &r);
	r.rec.ear_key = (const uint8_t *)b.trust_pem;
	r.rec.ear_key_len = strlen(b.trust_pem);
	ab_append(a, &r.rec);
	ab_next(&b, &r);
	ab_record_free(&r);
	vigil_archive_close(a);
	ab_free(&b);
}

static void test_odd_entries(void **state)
{
	struct vigil_report_options o = options(false);
	_cleanup_free_ char *html = NULL, *json = NULL;
	_cleanup_(json_object_putp) struct json_object *st = NULL;
	struct json_object *atts;
	char dir[128];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/odd", g.tmp);
	odd_archive(dir);
	o.archive = dir;
	html = build(&o, VIGIL_REPORT_HTML, NULL);
	check_self_contained(html);
	assert_row(html, 1, "odd-1", "untrusted");
	assert_violation(html, "1", 1, "odd-1", "verdict_unreadable", "resolved");
	assert_row(html, 2, "odd-1", "trusted");
	assert_contains(html, "the signature verifies under no trusted key");
	json = build(&o, VIGIL_REPORT_JSON, NULL);
	st = parse(json);
	atts = member(member(st, "predicate"), "attestations");
	assert_string_equal(str(json_object_array_get_idx(atts, 0), "reason"),
			    "verdict_unreadable");
	assert_false(json_object_get_boolean(
		member(member(json_object_array_get_idx(atts, 1), "ear"), "valid")));
}

/* Untrusted bytes become text: UTF-8 kept, anything else and control characters as \xNN. */
static void test_text(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		bool lines;
		const char *out;
	} cases[] = {
		{ "/usr/bin/true", 13, false, "/usr/bin/true" },
		{ "/opt/\xff\x01"
		  "bad",
		  10, false, "/opt/\\xff\\x01bad" },
		{ "caf\xc3\xa9 \xe2\x82\xac", 9, false, "caf\xc3\xa9 \xe2\x82\xac" },
		{ "\xc3", 1, false, "\\xc3" }, /* a sequence cut short */
		{ "\xed\xa0\x80", 3, false, "\\xed\\xa0\\x80" }, /* a UTF-16 surrogate */
		{ "a\nb\tc\x7f", 6, false, "a\\x0ab\\x09c\\x7f" },
		{ "a\nb\tc", 5, true, "a\nb\\x09c" },
		{ "nul\0after", 9, false, "nul\\x00after" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		_cleanup_free_ char *t =
			vigil_report_text(cases[i].in, cases[i].len, cases[i].lines);

		assert_non_null(t);
		assert_string_equal(t, cases[i].out);
	}
}

/* ---- the command ---- */

struct run {
	int code;
	char out[1 << 20];
	char err[8192];
};

static struct run run_;

/* Run "vigil report ARGS..." in g.tmp. */
static struct run *run(const char *first, ...)
{
	char *argv[32] = { VIGIL_BIN, "report" };
	int argc = 2, out = -1, err = -1;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	assert_int_equal(spawn_capture(argv, g.tmp, &run_.code, &out, &err), 0);
	spawn_read(out, run_.out, sizeof(run_.out));
	spawn_read(err, run_.err, sizeof(run_.err));
	close(out);
	close(err);
	return &run_;
}

static void expect(struct run *r, int code, const char *in_err)
{
	if (r->code != code)
		fail_msg("exit %d, not %d: %s", r->code, code, r->err);
	if (in_err)
		assert_contains(r->err, in_err);
}

static void test_cmd_html(void **state)
{
	_cleanup_free_ uint8_t *html = NULL;
	char path[160];
	size_t len = 0;

	(void)state;
	expect(run("--archive", g.dir, "--format", "html", "--sbom", g.bom, "-o", "r.html", NULL),
	       0, "report written to r.html (5 attestations, 5 violations)\n");
	snprintf(path, sizeof(path), "%s/r.html", g.tmp);
	assert_int_equal(vigil_file_read(path, (size_t)16 << 20, &html, &len), 0);
	check_self_contained((const char *)html);
	assert_contains((const char *)html, "data-component=\"true\"");
	expect(run("--help", NULL), 0, NULL);
	assert_contains(run_.out, "Usage: vigil report");
}

static void test_cmd_json(void **state)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = NULL;
	_cleanup_free_ uint8_t *text = NULL, *pem = NULL;
	size_t len = 0, key = 9;
	char path[160];

	(void)state;
	expect(run("--archive", g.dir, "--format", "json", "--unsigned", "-o", "-", NULL), 0,
	       "report written to standard output (5 attestations, 5 violations)");
	json_object_put(parse(run_.out));
	assert_contains(run_.out, "\"_type\": \"https://in-toto.io/Statement/v1\"");
	expect(run("--archive", g.dir, "--format", "json", "--key", g.key, "--device", "plc-2",
		   "-o", "r.dsse", NULL),
	       0, "report written to r.dsse (2 attestations, 2 violations)");
	snprintf(path, sizeof(path), "%s/r.dsse", g.tmp);
	assert_int_equal(vigil_file_read(path, (size_t)16 << 20, &text, &len), 0);
	assert_int_equal(vigil_dsse_parse((const char *)text, len, (size_t)16 << 20, &env), 0);
	assert_string_equal(env->payload_type, VIGIL_INTOTO_PAYLOAD_TYPE);
	assert_int_equal(vigil_file_read(g.pub, 65536, &pem, &len), 0);
	assert_int_equal(vigil_sigkey_load_public(pem, len, &pub), 0);
	assert_int_equal(vigil_dsse_verify(env, VIGIL_INTOTO_PAYLOAD_TYPE, &pub, 1, &key),
			 VIGIL_DSSE_VERIFIED);
	assert_int_equal(key, 0);
	assert_non_null(memmem(env->payload, env->payload_len, "\"predicateType\"", 15));
}

/* The failing runs below all name "x" in g.tmp as their output: it must not appear. */
static void assert_nothing_written(void)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/x", g.tmp);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_cmd_usage(void **state)
{
	(void)state;
	expect(run("--archive", g.dir, "-o", "x", NULL), 2, "missing option '--format'");
	expect(run("--format", "html", "-o", "x", NULL), 2, "missing option '--archive'");
	expect(run("--archive", g.dir, "--format", "html", NULL), 2, "missing option '-o'");
	expect(run("--archive", g.dir, "--format", "pdf", "-o", "x", NULL), 2, "unknown format");
	expect(run("--archive", g.dir, "--format", "json", "-o", "x", NULL), 2, "--unsigned");
	expect(run("--archive", g.dir, "--format", "json", "--unsigned", "--key", g.key, "-o", "x",
		   NULL),
	       2, "exactly one");
	expect(run("--archive", g.dir, "--format", "html", "--key", g.key, "-o", "x", NULL), 2,
	       "only for --format json");
	expect(run("--archive", g.dir, "--format", "html", "--from", "yesterday", "-o", "x", NULL),
	       2, "not an RFC 3339 UTC time");
	expect(run("--archive", g.dir, "--format", "html", "--from", "2027-02-01T00:00:00Z", "--to",
		   "2027-01-01T00:00:00Z", "-o", "x", NULL),
	       2, "--from is after --to");
	expect(run("--archive", g.dir, "--format", "html", "--device", "a b", "-o", "x", NULL), 2,
	       "not a device name");
	expect(run("--archive", g.dir, "--format", "html", "-o", "x", "extra", NULL), 2,
	       "unexpected argument 'extra'");
	expect(run("--bogus", NULL), 2, "invalid option '--bogus'");
	assert_nothing_written();
}

#define BAD_BOM "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.4\"}"

static void test_cmd_runtime(void **state)
{
	char bad[160];

	(void)state;
	expect(run("--archive", "/nonexistent", "--format", "html", "-o", "x", NULL), 3,
	       "vigil report: /nonexistent: not an evidence archive");
	expect(run("--archive", g.dir, "--format", "html", "--device", "plc-9", "-o", "x", NULL), 3,
	       "no entries selected (check --device, --from and --to)");
	expect(run("--archive", g.dir, "--format", "html", "--from", "2030-01-01T00:00:00Z", "-o",
		   "x", NULL),
	       3, "no entries selected");
	snprintf(bad, sizeof(bad), "%s/bad.json", g.tmp);
	assert_int_equal(vigil_file_write_atomic(bad, BAD_BOM, strlen(BAD_BOM), 0644), 0);
	expect(run("--archive", g.dir, "--format", "html", "--sbom", bad, "-o", "x", NULL), 3,
	       "not a CycloneDX SBOM vigil reads: \"specVersion\" is not \"1.5\" or \"1.6\"");
	expect(run("--archive", g.dir, "--format", "html", "--sbom", "/nonexistent.json", "-o", "x",
		   NULL),
	       3, "/nonexistent.json: No such file or directory");
	expect(run("--archive", g.dir, "--format", "json", "--key", "/nonexistent.pem", "-o", "x",
		   NULL),
	       3, "/nonexistent.pem");
	expect(run("--archive", g.dir, "--format", "html", "-o", "/nonexistent/dir/r.html", NULL),
	       3, "/nonexistent/dir/r.html");
	assert_nothing_written();
}

/* ---- for tests/compliance/report-e2e ---- */

static void write_out(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(vigil_file_write_atomic(path, text, strlen(text), 0644), 0);
}

/* What the DOM must hold, one check per line (report-dom-check's format). */
static char *expectations(struct json_object *p)
{
	struct json_object *reqs = member(p, "requirements"), *atts = member(p, "attestations");
	struct json_object *viols = member(p, "violations");
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	fprintf(f, "# vigil report: what the browser's DOM must contain\n"
		   "device plc-1\ndevice plc-2\n");
	for (size_t i = 0; i < json_object_array_length(atts); i++) {
		struct json_object *a = json_object_array_get_idx(atts, i);

		fprintf(f, "verdict %s %s\n", str(a, "seq"), str(a, "verdict"));
	}
	for (size_t i = 0; i < json_object_array_length(viols); i++) {
		struct json_object *v = json_object_array_get_idx(viols, i);
		const char *idx = str(v, "index");

		fprintf(f, "violation %s%s%s %s\n", str(v, "seq"), idx ? ":" : "", idx ? idx : "",
			str(v, "status"));
	}
	for (size_t i = 0; i < json_object_array_length(reqs); i++) {
		struct json_object *q = json_object_array_get_idx(reqs, i);

		fprintf(f, "requirement %s %s\n", str(q, "id"), str(q, "status"));
	}
	fprintf(f, "monitoring true\ntext " HOSTILE_HTML "\nabsent <script\n");
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_write_out(void **state)
{
	const char *dir = getenv("VIGIL_REPORT_OUT");
	struct vigil_report_options o = options(true);
	_cleanup_free_ char *html = NULL, *json = NULL, *exp = NULL;
	_cleanup_(json_object_putp) struct json_object *st = NULL;
	char odd[128], own[128];

	(void)state;
	if (!dir || !*dir) { /* still make them, into the test's own directory */
		snprintf(own, sizeof(own), "%s/out", g.tmp);
		assert_int_equal(mkdir(own, 0700), 0);
		dir = own;
	}
	html = build(&o, VIGIL_REPORT_HTML, NULL);
	json = build(&o, VIGIL_REPORT_JSON, NULL);
	st = parse(json);
	exp = expectations(member(st, "predicate"));
	write_out(dir, "report.html", html);
	write_out(dir, "report.json", json);
	write_out(dir, "expect.txt", exp);
	free(json);
	snprintf(odd, sizeof(odd), "%s/odd", g.tmp); /* test_odd_entries made it */
	o = options(false);
	o.archive = odd;
	json = build(&o, VIGIL_REPORT_JSON, NULL);
	write_out(dir, "report-odd.json", json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_html_strings),
		cmocka_unit_test(test_html_requirements),
		cmocka_unit_test(test_html_without_sbom),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_select_device),
		cmocka_unit_test(test_select_period),
		cmocka_unit_test(test_not_an_archive),
		cmocka_unit_test(test_report_id),
		cmocka_unit_test(test_odd_entries),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_cmd_html),
		cmocka_unit_test(test_cmd_json),
		cmocka_unit_test(test_cmd_usage),
		cmocka_unit_test(test_cmd_runtime),
		cmocka_unit_test(test_write_out),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
