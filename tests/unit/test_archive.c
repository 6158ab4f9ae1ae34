// SPDX-License-Identifier: MIT
/*
 * test_archive.c: unit tests of the evidence archive (lib/archive.c, archive_entry.c,
 * archive_verify.c) and of `vigil archive`.
 *
 * One archive is built in the group setup (archive_builder.h: real quotes, a signed policy,
 * verdicts from vigil_reverify(), EARs) and must verify clean. Then each tampering an attacker
 * with write access could try is its own test on a fresh copy, and must be found at the entry
 * it concerns: an edited blob, an edited entry (in the middle: the chain breaks at the next;
 * the last: the head names other bytes), a dropped entry (middle and last), two entries
 * swapped, truncated blobs and entries, a deleted head, an entry after the head. A rewrite
 * that keeps the chain consistent is caught by re-verification instead: another valid verdict,
 * an EAR signed by another key, an EAR with other claims. Then the entry document's parser,
 * appends out of bounds, recovery after an interrupted append, a damaged blob written again,
 * concurrent appenders, and the command (exit codes 0/1/2/3, findings naming the entry).
 * Timestamps: tests/compliance/tsa-e2e.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "archive_builder.h"
#include "archive_internal.h"
#include "cleanup.h"
#include "spawn.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

static struct {
	struct ab b;
	char tmp[64]; /* everything below this directory */
	char master[96]; /* the archive every tampering test copies */
	unsigned int copies;
} g;

#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static int setup(void **state)
{
	(void)state;
	setenv("LC_ALL", "C", 1);
	strcpy(g.tmp, "/tmp/vigil-test-archive.XXXXXX");
	if (!mkdtemp(g.tmp))
		return -1;
	snprintf(g.master, sizeof(g.master), "%s/master", g.tmp);
	ab_init(&g.b, "plc-1");
	ab_archive(&g.b, g.master);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	ab_free(&g.b);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g.tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh copy of the master archive; its path in @dir. */
static void fresh_copy(char *dir, size_t size)
{
	snprintf(dir, size, "%s/copy%u", g.tmp, g.copies++);
	sh("cp -a %s %s", g.master, dir);
}

static void entry_file(const char *dir, uint64_t seq, char *path, size_t size)
{
	snprintf(path, size, "%s/entries/%012llu.json", dir, (unsigned long long)seq);
}

/* The blob an entry names for @item. */
static void blob_file(const char *dir, uint64_t seq, enum vigil_archive_item item, char *path,
		      size_t size)
{
	struct vigil_archive_doc d;
	char entry[256], hex[65];
	uint8_t *text;
	size_t len = 0;

	entry_file(dir, seq, entry, sizeof(entry));
	assert_int_equal(vigil_file_read(entry, VIGIL_ARCHIVE_ENTRY_MAX, &text, &len), 0);
	assert_int_equal(vigil_archive_entry_parse((const char *)text, len, &d, NULL), 0);
	assert_true(d.has[item]);
	vigil_hex_encode(d.items[item].sha256, 32, hex, sizeof(hex));
	snprintf(path, size, "%s/blobs/%s", dir, hex);
	vigil_archive_entry_release(&d.entry);
	free(text);
}

static void flip_byte(const char *path, long offset)
{
	FILE *f = fopen(path, "r+b");
	int c;

	assert_non_null(f);
	assert_int_equal(fseek(f, offset, offset < 0 ? SEEK_END : SEEK_SET), 0);
	c = fgetc(f);
	assert_true(c != EOF);
	assert_int_equal(fseek(f, -1, SEEK_CUR), 0);
	assert_true(fputc(c ^ 0x01, f) != EOF);
	assert_int_equal(fclose(f), 0);
}

/* Replace the first @from in a file by @to (same length: offsets stay). */
static void replace_in(const char *path, const char *from, const char *to)
{
	uint8_t *text;
	size_t len = 0;
	char *at;

	assert_int_equal(strlen(from), strlen(to));
	assert_int_equal(vigil_file_read(path, 1 << 20, &text, &len), 0);
	at = strstr((char *)text, from);
	assert_non_null(at);
	memcpy(at, to, strlen(to));
	assert_int_equal(vigil_file_write_atomic(path, text, len, 0644), 0);
	free(text);
}

static void verify_dir(const char *dir, struct vigil_archive_result *res)
{
	assert_int_equal(vigil_archive_verify(dir, NULL, 0, res), 0);
}

static bool has(const struct vigil_archive_result *res, uint64_t seq, enum vigil_archive_problem p)
{
	for (size_t i = 0; i < res->count; i++)
		if (res->findings[i].seq == seq && res->findings[i].problem == p)
			return true;
	return false;
}

static void print_findings(const struct vigil_archive_result *res)
{
	for (size_t i = 0; i < res->count; i++)
		print_message("  entry %llu: %s: %s\n", (unsigned long long)res->findings[i].seq,
			      vigil_archive_problem_name(res->findings[i].problem),
			      res->findings[i].detail);
}

/* Tamper with a copy, then expect @problem at @seq (and print what was found if not). */
static void expect(const char *dir, uint64_t seq, enum vigil_archive_problem problem)
{
	struct vigil_archive_result res;

	verify_dir(dir, &res);
	if (!has(&res, seq, problem)) {
		print_findings(&res);
		fail_msg("no %s at entry %llu", vigil_archive_problem_name(problem),
			 (unsigned long long)seq);
	}
	vigil_archive_result_release(&res);
}

/* ---- the clean archive ---- */

struct seen {
	size_t count;
	enum vigil_archive_kind kinds[8];
	bool items[8];
};

static int collect(void *ctx, const struct vigil_archive_entry *e)
{
	struct seen *s = ctx;

	if (s->count < 8) {
		s->kinds[s->count] = e->kind;
		s->items[s->count] = e->kind == VIGIL_ARCHIVE_ATTESTATION ?
					     e->evidence && e->verdict && e->policy &&
						     e->ntrust == 1 :
					     e->by != NULL;
	}
	s->count++;
	return 0;
}

static void test_clean(void **state)
{
	struct vigil_archive_result res;
	struct seen s = { 0 };
	uint64_t seq = 0;
	uint8_t sha[32];

	(void)state;
	verify_dir(g.master, &res);
	print_findings(&res);
	assert_int_equal(res.count, 0);
	assert_int_equal(res.entries, 5);
	assert_int_equal(res.attestations, 3);
	assert_int_equal(res.timestamps, 0);
	assert_int_equal(res.head_seq, 5);
	assert_int_equal(vigil_archive_head_read(g.master, &seq, sha), 0);
	assert_int_equal(seq, 5);
	assert_memory_equal(sha, res.head_sha256, 32);
	vigil_archive_result_release(&res);
	assert_int_equal(vigil_archive_foreach(g.master, collect, &s), 0);
	assert_int_equal(s.count, 5);
	assert_int_equal(s.kinds[2], VIGIL_ARCHIVE_MONITORING);
	for (size_t i = 0; i < 5; i++)
		assert_true(s.items[i]);
}

/* What the builder stored is what `vigil verify` decided: one accepted, one rejected. */
static int check_verdicts(void *ctx, const struct vigil_archive_entry *e)
{
	(void)ctx;
	if (e->seq == 1)
		assert_non_null(strstr((const char *)e->verdict, "\"result\": \"accepted\""));
	if (e->seq == 2)
		assert_non_null(strstr((const char *)e->verdict, "\"records_rejected\""));
	if (e->seq == 3) {
		assert_true(e->monitoring_off);
		assert_string_equal(e->by, "alice");
		assert_string_equal(e->device, "plc-1");
	}
	assert_int_equal(e->time, AB_TIME0 + 60 * (int64_t)(e->seq - 1));
	return e->seq == 4 ? 42 : 0; /* a callback's non-zero return stops the walk */
}

static void test_foreach(void **state)
{
	(void)state;
	assert_int_equal(vigil_archive_foreach(g.master, check_verdicts, NULL), 42);
}

/* ---- tampering, each on its own copy ---- */

static void test_blob_edited(void **state)
{
	char dir[128], blob[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	blob_file(dir, 2, VIGIL_ARCHIVE_ITEM_EVIDENCE, blob, sizeof(blob));
	flip_byte(blob, 100);
	expect(dir, 2, VIGIL_ARCHIVE_ITEM_MISMATCH);
}

static void test_blob_truncated(void **state)
{
	char dir[128], blob[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	blob_file(dir, 1, VIGIL_ARCHIVE_ITEM_VERDICT, blob, sizeof(blob));
	assert_int_equal(truncate(blob, 10), 0);
	expect(dir, 1, VIGIL_ARCHIVE_ITEM_MISMATCH);
}

/* The shared policy blob: every entry naming it is reported. */
static void test_shared_blob_missing(void **state)
{
	char dir[128], blob[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	blob_file(dir, 1, VIGIL_ARCHIVE_ITEM_POLICY, blob, sizeof(blob));
	assert_int_equal(unlink(blob), 0);
	expect(dir, 1, VIGIL_ARCHIVE_UNREADABLE);
	expect(dir, 2, VIGIL_ARCHIVE_UNREADABLE);
	expect(dir, 5, VIGIL_ARCHIVE_UNREADABLE);
}

static void test_entry_edited_middle(void **state)
{
	char dir[128], path[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 2, path, sizeof(path));
	replace_in(path, "\"time\": \"2027", "\"time\": \"2028");
	expect(dir, 3, VIGIL_ARCHIVE_CHAIN_BROKEN);
}

static void test_entry_edited_last(void **state)
{
	char dir[128], path[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 5, path, sizeof(path));
	replace_in(path, "\"device\": \"plc-1\"", "\"device\": \"plc-2\"");
	expect(dir, 5, VIGIL_ARCHIVE_HEAD_MISMATCH);
}

static void test_entry_dropped_middle(void **state)
{
	char dir[128], path[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 3, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	expect(dir, 3, VIGIL_ARCHIVE_SEQ_GAP);
}

static void test_entry_dropped_last(void **state)
{
	char dir[128], path[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 5, path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	expect(dir, 5, VIGIL_ARCHIVE_HEAD_MISMATCH);
}

static void test_entries_swapped(void **state)
{
	char dir[128], a[256], b[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 2, a, sizeof(a));
	entry_file(dir, 3, b, sizeof(b));
	sh("mv %s %s.x && mv %s %s && mv %s.x %s", a, a, b, a, a, b);
	expect(dir, 2, VIGIL_ARCHIVE_SEQ_GAP);
	expect(dir, 2, VIGIL_ARCHIVE_CHAIN_BROKEN);
	expect(dir, 3, VIGIL_ARCHIVE_SEQ_GAP);
	expect(dir, 4, VIGIL_ARCHIVE_CHAIN_BROKEN);
}

static void test_entry_truncated(void **state)
{
	char dir[128], path[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 2, path, sizeof(path));
	assert_int_equal(truncate(path, 100), 0);
	expect(dir, 2, VIGIL_ARCHIVE_MALFORMED);
	expect(dir, 3, VIGIL_ARCHIVE_CHAIN_BROKEN);
}

static void test_head_deleted(void **state)
{
	char dir[128];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	sh("rm %s/head.json", dir);
	expect(dir, 0, VIGIL_ARCHIVE_HEAD_MISMATCH);
}

/* The head rolled back by one: entry 5 is after it. */
static void test_entry_after_head(void **state)
{
	char dir[128], path[256], hex[65];
	uint8_t *text, sha[32];
	size_t len = 0;

	(void)state;
	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 4, path, sizeof(path));
	assert_int_equal(vigil_file_read(path, 1 << 20, &text, &len), 0);
	assert_int_equal(vigil_hash_digest(TPM2_ALG_SHA256, text, len, sha, 32), 0);
	free(text);
	vigil_hex_encode(sha, 32, hex, sizeof(hex));
	sh("printf '{\\n  \"seq\": 4,\\n  \"sha256\": \"%s\"\\n}\\n' >%s/head.json", hex, dir);
	expect(dir, 5, VIGIL_ARCHIVE_HEAD_MISMATCH);
}

static void test_stray_file(void **state)
{
	char dir[128];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	sh("touch %s/entries/notes.txt", dir);
	expect(dir, 0, VIGIL_ARCHIVE_MALFORMED);
}

/* A token that is not one: the entry's timestamp is bad (signatures need tsa-e2e). */
static void test_timestamp_garbage(void **state)
{
	char dir[128];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	sh("printf 'not a token' >%s/entries/000000000002.tsr", dir);
	expect(dir, 2, VIGIL_ARCHIVE_TIMESTAMP_BAD);
}

/* ---- consistent rewrites: only re-verification tells ---- */

/* A separate archive: the builder's first attestation, changed by @change, then appended. */
static void rewritten(const char *name, void (*change)(struct ab *b, struct ab_record *r),
		      char *dir, size_t size)
{
	struct vigil_archive *a = NULL;
	struct ab b;
	struct ab_record r;
	char err[64];
	uint64_t seq = 0;

	snprintf(dir, size, "%s/%s", g.tmp, name);
	ab_init(&b, "plc-1");
	assert_int_equal(vigil_archive_open(dir, true, &a), 0);
	ab_attest(&b, a, AB_TRUSTED, true);
	ab_make(&b, AB_TRUSTED, true, &r);
	change(&b, &r);
	assert_int_equal(vigil_archive_append(a, &r.rec, NULL, &seq, err, sizeof(err)), 0);
	assert_int_equal(seq, 2);
	ab_record_free(&r);
	vigil_archive_close(a);
	ab_free(&b);
}

/* The verdict of another, rejected verification in place of the accepting one. */
static void other_verdict(struct ab *b, struct ab_record *r)
{
	struct ab_record bad;

	ab_make(b, AB_UNTRUSTED, false, &bad);
	free(r->verdict);
	r->verdict = strdup(bad.verdict);
	assert_non_null(r->verdict);
	r->rec.verdict = (const uint8_t *)r->verdict;
	r->rec.verdict_len = strlen(r->verdict);
	ab_record_free(&bad);
}

static void test_verdict_replaced(void **state)
{
	struct vigil_archive_result res;
	char dir[128];

	(void)state;
	rewritten("verdict", other_verdict, dir, sizeof(dir));
	verify_dir(dir, &res);
	assert_true(has(&res, 2, VIGIL_ARCHIVE_VERDICT_DIFFERS));
	assert_false(has(&res, 1, VIGIL_ARCHIVE_VERDICT_DIFFERS));
	assert_contains(res.findings[0].detail,
			"archived: rejected: records_rejected, re-verified: accepted");
	vigil_archive_result_release(&res);
}

/* The same claims, signed by a key that is not the archived EAR key. */
static void other_signer(struct ab *b, struct ab_record *r)
{
	EVP_PKEY *key = b->ear_key;

	assert_int_equal(vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &b->ear_key), 0);
	ab_record_free(r);
	ab_make(b, AB_TRUSTED, true, r);
	r->rec.ear_key = (const uint8_t *)b->ear_pem; /* still the old key's PEM */
	EVP_PKEY_free(b->ear_key);
	b->ear_key = key;
}

static void test_ear_other_key(void **state)
{
	char dir[128];

	(void)state;
	rewritten("ear-key", other_signer, dir, sizeof(dir));
	expect(dir, 2, VIGIL_ARCHIVE_EAR_BAD);
}

/* Properly signed, but the claims of a rejected verdict. */
static void other_claims(struct ab *b, struct ab_record *r)
{
	struct ab_record bad;

	ab_make(b, AB_UNTRUSTED, true, &bad);
	free(r->ear);
	r->ear = strdup(bad.ear);
	assert_non_null(r->ear);
	r->rec.ear = (const uint8_t *)r->ear;
	r->rec.ear_len = strlen(r->ear);
	ab_record_free(&bad);
}

static void test_ear_other_claims(void **state)
{
	struct vigil_archive_result res;
	char dir[128];

	(void)state;
	rewritten("ear-claims", other_claims, dir, sizeof(dir));
	verify_dir(dir, &res);
	assert_true(has(&res, 2, VIGIL_ARCHIVE_EAR_DIFFERS));
	assert_false(has(&res, 2, VIGIL_ARCHIVE_EAR_BAD));
	assert_false(has(&res, 2, VIGIL_ARCHIVE_VERDICT_DIFFERS));
	vigil_archive_result_release(&res);
}

/* ---- the entry document ---- */

static const char monitoring_doc[] =
	"{\n  \"vigil_archive_entry\": 1,\n  \"seq\": 3,\n  \"prev\": "
	"\"0101010101010101010101010101010101010101010101010101010101010101\",\n  \"kind\": "
	"\"monitoring\",\n  \"time\": \"2027-01-15T08:02:00Z\",\n  \"device\": \"plc-1\",\n  "
	"\"monitoring\": \"off\",\n  \"by\": \"alice\",\n  \"reason\": \"maintenance\"\n}\n";

static int parse_text(const char *text, const char **what)
{
	struct vigil_archive_doc d;
	int r = vigil_archive_entry_parse(text, strlen(text), &d, what);

	if (r == 0)
		vigil_archive_entry_release(&d.entry);
	return r;
}

static void expect_rejected(const char *from, const char *to, const char *what)
{
	char text[2048];
	const char *got = NULL;
	char *at;

	snprintf(text, sizeof(text), "%s", monitoring_doc);
	at = strstr(text, from);
	assert_non_null(at);
	memmove(at + strlen(to), at + strlen(from), strlen(at + strlen(from)) + 1);
	memcpy(at, to, strlen(to));
	if (parse_text(text, &got) != -EBADMSG)
		fail_msg("accepted: %s", text);
	assert_non_null(got);
	assert_contains(got, what);
}

static void test_entry_document(void **state)
{
	struct vigil_archive_doc d;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(
		vigil_archive_entry_parse(monitoring_doc, strlen(monitoring_doc), &d, NULL), 0);
	assert_int_equal(d.entry.seq, 3);
	assert_true(d.entry.monitoring_off);
	assert_int_equal(vigil_archive_entry_format(&d, &text, &len), 0);
	assert_string_equal(text, monitoring_doc); /* canonical: the writer's own text */
	free(text);
	vigil_archive_entry_release(&d.entry);
	expect_rejected("\"seq\": 3", "\"seq\": 0", "\"seq\"");
	expect_rejected("\"seq\": 3", "\"seq\": 3.0", "\"seq\"");
	expect_rejected("\"seq\": 3", "\"seq\": 1000000000000", "\"seq\"");
	expect_rejected("\"prev\": \"01", "\"prev\": \"0", "\"prev\"");
	expect_rejected("\"kind\": \"monitoring\"", "\"kind\": \"other\"", "\"kind\"");
	expect_rejected("\"time\": \"2027-01-15T08:02:00Z\"", "\"time\": \"2027-02-30T08:02:00Z\"",
			"\"time\"");
	expect_rejected("\"device\": \"plc-1\"", "\"device\": \"plc 1\"", "\"device\"");
	expect_rejected("\"by\": \"alice\"", "\"by\": \"\"", "\"by\"");
	expect_rejected("\"by\": \"alice\"", "\"by\": \"al\\u0000ice\"", "\"by\"");
	expect_rejected("\"monitoring\": \"off\"", "\"monitoring\": \"maybe\"", "\"monitoring\"");
	expect_rejected("\"reason\"", "\"extra\": 1, \"reason\"", "unknown");
	expect_rejected("\"reason\"", "\"pcr\": 11, \"reason\"", "this kind");
	expect_rejected("\"by\": \"alice\",", "", "\"by\"");
	expect_rejected("\"seq\": 3,", "\"seq\": 3, \"seq\": 3,", "repeated");
	expect_rejected("\n}\n", "\n}\n{}", "repeated"); /* trailing bytes: not one value */
}

/* Appends that do not fit the format are refused before anything is written. */
static void test_append_bounds(void **state)
{
	struct vigil_archive *a = NULL;
	struct vigil_archive_record rec = {
		.kind = VIGIL_ARCHIVE_MONITORING, .time = AB_TIME0, .by = "alice", .reason = ""
	};
	struct vigil_tsa tsa = { .url = "ftp://tsa.example/" };
	char dir[128], by[300], err[64];
	uint64_t seq = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/bounds", g.tmp);
	assert_int_equal(vigil_archive_open(dir, false, &a), -ENOENT);
	assert_int_equal(vigil_archive_open(dir, true, &a), 0);
	rec.device = "plc/1";
	assert_int_equal(vigil_archive_append(a, &rec, NULL, &seq, err, sizeof(err)), -EINVAL);
	rec.device = NULL;
	memset(by, 'x', sizeof(by) - 1);
	by[sizeof(by) - 1] = '\0';
	rec.by = by;
	assert_int_equal(vigil_archive_append(a, &rec, NULL, &seq, err, sizeof(err)), -EINVAL);
	rec.by = "\xff";
	assert_int_equal(vigil_archive_append(a, &rec, NULL, &seq, err, sizeof(err)), -EINVAL);
	rec.by = "alice";
	rec.time = (int64_t)1 << 40; /* after 9999 */
	assert_int_equal(vigil_archive_append(a, &rec, NULL, &seq, err, sizeof(err)), -EINVAL);
	rec.time = AB_TIME0;
	rec.kind = VIGIL_ARCHIVE_ATTESTATION; /* nothing of an attestation given */
	assert_int_equal(vigil_archive_append(a, &rec, NULL, &seq, err, sizeof(err)), -EINVAL);
	rec.kind = VIGIL_ARCHIVE_MONITORING;
	assert_int_equal(vigil_archive_append(a, &rec, &tsa, &seq, err, sizeof(err)), -EINVAL);
	assert_int_equal(seq, 0);
	assert_int_equal(vigil_archive_append(a, &rec, NULL, &seq, err, sizeof(err)), 0);
	assert_int_equal(seq, 1);
	vigil_archive_close(a);
	sh("test ! -e %s/entries/000000000002.json", dir);
}

/* An append interrupted after its entry, before its head: the next open adopts the entry. */
static void test_interrupted_append(void **state)
{
	struct vigil_archive *a = NULL;
	struct vigil_archive_result res;
	char dir[128], path[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	sh("cp %s/head.json %s/head.old", dir, dir);
	assert_int_equal(vigil_archive_open(dir, false, &a), 0);
	assert_int_equal(ab_note(&g.b, a, false, "bob", "interrupted"), 6);
	vigil_archive_close(a);
	sh("mv %s/head.old %s/head.json && touch %s/entries/000000000007.tsr", dir, dir, dir);
	assert_int_equal(vigil_archive_open(dir, false, &a), 0);
	vigil_archive_close(a);
	sh("test ! -e %s/entries/000000000007.tsr", dir);
	verify_dir(dir, &res);
	assert_int_equal(res.count, 0);
	assert_int_equal(res.head_seq, 6);
	vigil_archive_result_release(&res);
	/* an entry after the head that does not continue it is not adopted */
	entry_file(dir, 7, path, sizeof(path));
	sh("cp %s/entries/000000000002.json %s", dir, path);
	assert_int_equal(vigil_archive_open(dir, false, &a), -EEXIST);
}

/* A blob damaged on disk is written again by the next append that stores the same bytes. */
static void test_damaged_blob_rewritten(void **state)
{
	struct vigil_archive *a = NULL;
	struct vigil_archive_result res;
	char dir[128], blob[256];

	(void)state;
	fresh_copy(dir, sizeof(dir));
	blob_file(dir, 1, VIGIL_ARCHIVE_ITEM_POLICY, blob, sizeof(blob));
	flip_byte(blob, -2);
	expect(dir, 1, VIGIL_ARCHIVE_ITEM_MISMATCH);
	assert_int_equal(vigil_archive_open(dir, false, &a), 0);
	assert_int_equal(ab_attest(&g.b, a, AB_TRUSTED, false), 6);
	vigil_archive_close(a);
	verify_dir(dir, &res);
	print_findings(&res);
	assert_int_equal(res.count, 0);
	assert_int_equal(res.attestations, 4);
	vigil_archive_result_release(&res);
}

/* Appenders in several processes at once: each waits for the lock; the chain stays whole. */
static void test_concurrent_appends(void **state)
{
	struct vigil_archive_result res;
	char dir[128];
	pid_t pids[4];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/concurrent", g.tmp);
	for (size_t i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vigil_archive_record rec = { .kind = VIGIL_ARCHIVE_MONITORING,
							    .time = AB_TIME0,
							    .by = "child" };
			int bad = 0;

			for (int n = 0; n < 10; n++) {
				struct vigil_archive *a = NULL;
				uint64_t seq = 0;

				bad |= vigil_archive_open(dir, true, &a) < 0 ||
				       vigil_archive_append(a, &rec, NULL, &seq, NULL, 0) < 0;
				vigil_archive_close(a);
			}
			_exit(bad);
		}
	}
	for (size_t i = 0; i < 4; i++) {
		int status = 0;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	verify_dir(dir, &res);
	print_findings(&res);
	assert_int_equal(res.count, 0);
	assert_int_equal(res.entries, 40);
	vigil_archive_result_release(&res);
}

/* ---- the command ---- */

struct run {
	int code;
	char out[16384];
	char err[4096];
};

static void run_vigil(struct run *r, const char *const args[])
{
	char *argv[24] = { VIGIL_BIN };
	int out = -1, err = -1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	assert_int_equal(spawn_capture(argv, g.tmp, &r->code, &out, &err), 0);
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

#define RUN(r, ...) run_vigil(r, (const char *const[]){ __VA_ARGS__, NULL })

static void test_cli(void **state)
{
	struct run r;
	char dir[128], path[256], head[65];
	struct vigil_archive_result res;

	(void)state;
	verify_dir(g.master, &res);
	vigil_hex_encode(res.head_sha256, 32, head, sizeof(head));
	vigil_archive_result_release(&res);
	RUN(&r, "archive", "verify", g.master);
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "5 entries, 3 attestations re-verified, 0 timestamps verified");
	assert_contains(r.out, head);
	RUN(&r, "archive", "verify", g.master, "--json");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "\"ok\": true");

	fresh_copy(dir, sizeof(dir));
	entry_file(dir, 2, path, sizeof(path));
	replace_in(path, "\"time\": \"2027", "\"time\": \"2028");
	RUN(&r, "archive", "verify", dir);
	assert_int_equal(r.code, 1);
	assert_contains(r.out, "entry 3: chain_broken: ");
	assert_contains(r.err, "vigil archive verify: ");
	RUN(&r, "archive", "verify", "--json", dir);
	assert_int_equal(r.code, 1);
	assert_contains(r.out, "\"problem\": \"chain_broken\"");

	RUN(&r, "archive", "verify", "no-such-archive");
	assert_int_equal(r.code, 3);
	RUN(&r, "archive", "verify", dir, "--tsa-ca", "no-such-ca.pem");
	assert_int_equal(r.code, 3);
	RUN(&r, "archive", "verify");
	assert_int_equal(r.code, 2);
	RUN(&r, "archive", "frobnicate");
	assert_int_equal(r.code, 2);
	RUN(&r, "archive", "--help");
	assert_int_equal(r.code, 0);
	RUN(&r, "archive", "verify", "--help");
	assert_int_equal(r.code, 0);
}

/* `vigil verify`'s record options: what goes with what, before anything is read. */
static void test_cli_verify_usage(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "verify", "e.json", "--ak", "ak.pem", "--nonce", "0011223344556677", "--ear-key",
	    "k.pem");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "--ear FILE or --archive DIR");
	RUN(&r, "verify", "e.json", "--ak", "ak.pem", "--nonce", "0011223344556677", "--ear",
	    "out.jwt");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "--ear-key");
	RUN(&r, "verify", "--quote-msg", "m", "--quote-sig", "s", "--log", "l", "--ak", "ak.pem",
	    "--nonce", "0011223344556677", "--archive", "a");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "EVIDENCE.json");
	RUN(&r, "verify", "e.json", "--ak", "ak.pem", "--nonce", "0011223344556677", "--device",
	    "plc-1");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "--archive DIR");
	RUN(&r, "verify", "e.json", "--ak", "ak.pem", "--nonce", "0011223344556677", "--archive",
	    "a", "--device", "plc 1");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "plc 1");
	RUN(&r, "verify", "e.json", "--ak", "ak.pem", "--nonce", "0011223344556677", "--ear-key",
	    "k.pem", "--ear", "o.jwt", "--ear-profile", "cbor");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "veraison or ietf");
}

static void test_cli_note(void **state)
{
	struct run r;
	struct seen s = { 0 };
	char dir[128];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/notes", g.tmp);
	RUN(&r, "archive", "note", dir, "--monitoring", "off", "--by", "alice", "--reason",
	    "line 3 maintenance", "--device", "plc-1");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "entry 1");
	RUN(&r, "archive", "note", dir, "--monitoring", "on", "--by", "alice", "--json");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "\"seq\": 2");
	RUN(&r, "archive", "note", dir, "--monitoring", "sometimes", "--by", "alice");
	assert_int_equal(r.code, 2);
	RUN(&r, "archive", "note", dir, "--monitoring", "off");
	assert_int_equal(r.code, 2);
	RUN(&r, "archive", "note", dir, "--monitoring", "off", "--by", "a", "--device", "a b");
	assert_int_equal(r.code, 2);
	RUN(&r, "archive", "note", dir, "--monitoring", "off", "--by", "a", "--tsa",
	    "http://127.0.0.1:9/");
	assert_int_equal(r.code, 2); /* --tsa needs --tsa-ca */
	RUN(&r, "archive", "note", "--help");
	assert_int_equal(r.code, 0);
	RUN(&r, "archive", "verify", dir);
	assert_int_equal(r.code, 0);
	assert_int_equal(vigil_archive_foreach(dir, collect, &s), 0);
	assert_int_equal(s.count, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_blob_edited),
		cmocka_unit_test(test_blob_truncated),
		cmocka_unit_test(test_shared_blob_missing),
		cmocka_unit_test(test_entry_edited_middle),
		cmocka_unit_test(test_entry_edited_last),
		cmocka_unit_test(test_entry_dropped_middle),
		cmocka_unit_test(test_entry_dropped_last),
		cmocka_unit_test(test_entries_swapped),
		cmocka_unit_test(test_entry_truncated),
		cmocka_unit_test(test_head_deleted),
		cmocka_unit_test(test_entry_after_head),
		cmocka_unit_test(test_stray_file),
		cmocka_unit_test(test_timestamp_garbage),
		cmocka_unit_test(test_verdict_replaced),
		cmocka_unit_test(test_ear_other_key),
		cmocka_unit_test(test_ear_other_claims),
		cmocka_unit_test(test_entry_document),
		cmocka_unit_test(test_append_bounds),
		cmocka_unit_test(test_interrupted_append),
		cmocka_unit_test(test_damaged_blob_rewritten),
		cmocka_unit_test(test_concurrent_appends),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_cli_verify_usage),
		cmocka_unit_test(test_cli_note),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
