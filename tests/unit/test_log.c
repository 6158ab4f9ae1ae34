// SPDX-License-Identifier: MIT
/*
 * test_log.c: unit tests of the measurement log parsers (lib/log.c, lib/log_fields.c,
 * lib/log_ascii.c).
 *
 * Real logs first: every capture of in-kernel IMA in tests/fixtures/ima/ (6.1 and 6.12; templates
 * ima-sig, ima-buf, ima-ng, ima, a custom format; per-bank lists) must parse in both layouts and
 * print back byte for byte as the kernel's ascii_runtime_measurements. Then the limits and every
 * rejection on synthetic logs: truncation at every byte, trailing bytes, huge lengths, bad
 * names, bad digests, byte order, and the ASCII parser's strictness. Every rejection is checked
 * for its errno, its position and for leaving the out-parameter untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "ima_fixtures.h"
#include "libvigil.h"
#include "uapi/vigil.h"

/* An out-parameter's value before the call; a rejected parse must leave it as it was. */
static struct vigil_log *const untouched = (struct vigil_log *)&untouched;

/* The whole log in the ASCII layout; free() it. */
static char *to_ascii(const struct vigil_log *log, size_t from, size_t *ret_len)
{
	size_t cap = 1, len = 0, n;
	char *text;

	for (size_t i = from; i < log->count; i++)
		cap += vigil_log_record_ascii_size(log, &log->records[i]);
	text = malloc(cap);
	assert_non_null(text);
	for (size_t i = from; i < log->count; i++) {
		assert_int_equal(vigil_log_record_ascii(log, &log->records[i], text + len,
							cap - len, &n),
				 0);
		len += n;
	}
	text[len] = '\0';
	*ret_len = len;
	return text;
}

/* Parse a capture's file (binary or ASCII by name) with the bank its name says. */
static struct vigil_log *parse_capture(const struct capture *c, const char *file, uint16_t alg,
				       uint8_t **ret_buf)
{
	struct vigil_log_error e = { 0 };
	struct vigil_log *log = NULL;
	int r = capture_parse(c, file, alg, ret_buf, &log, &e);

	if (r < 0)
		fail_msg("%s/%s: %s at byte %zu, record %zu", c->dir, file, vigil_log_strerror(r),
			 e.offset, e.record);
	return log;
}

/* Parse @file of @c and compare its ASCII layout with @ascii_file, byte for byte. */
static void check_prints_as(const struct capture *c, const char *file, const char *ascii_file,
			    uint16_t alg)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL, *want = NULL, *count = NULL;
	_cleanup_free_ char *text = NULL;
	size_t len, want_len, count_len;

	log = parse_capture(c, file, alg, &buf);
	want = read_capture(c, ascii_file, &want_len);
	count = read_capture(c, "runtime_measurements_count", &count_len);
	assert_non_null(want);
	assert_non_null(count);
	assert_int_equal(log->count, strtoul((const char *)count, NULL, 10));
	text = to_ascii(log, 0, &len);
	if (len != want_len || memcmp(text, want, len))
		fail_msg("%s/%s does not print as %s", c->dir, file, ascii_file);
}

static void test_captures_print_as_the_kernel(void **state)
{
	char bin[64], ascii[64];

	(void)state;
	for (size_t i = 0; i < CAPTURES; i++) {
		const struct capture *c = &captures[i];

		check_prints_as(c, "binary_runtime_measurements", "ascii_runtime_measurements", 0);
		check_prints_as(c, "ascii_runtime_measurements", "ascii_runtime_measurements", 0);
		for (size_t b = 0; c->per_bank && b < CAPTURE_BANKS; b++) {
			snprintf(bin, sizeof(bin), "binary_runtime_measurements_%s",
				 capture_banks[b].name);
			snprintf(ascii, sizeof(ascii), "ascii_runtime_measurements_%s",
				 capture_banks[b].name);
			check_prints_as(c, bin, ascii, capture_banks[b].alg);
			check_prints_as(c, ascii, ascii, capture_banks[b].alg);
		}
	}
}

/* The ASCII parser rebuilds exactly the kernel's binary records. */
static void test_ascii_rebuilds_binary(void **state)
{
	(void)state;
	for (size_t i = 0; i < CAPTURES; i++) {
		_cleanup_(vigil_log_freep) struct vigil_log *bin = NULL, *ascii = NULL;
		_cleanup_free_ uint8_t *b1 = NULL, *b2 = NULL;

		bin = parse_capture(&captures[i], "binary_runtime_measurements", 0, &b1);
		ascii = parse_capture(&captures[i], "ascii_runtime_measurements", 0, &b2);
		assert_int_equal(bin->size, ascii->size);
		assert_memory_equal(bin->data, ascii->data, bin->size);
		assert_int_equal(bin->count, ascii->count);
		assert_memory_equal(bin->records, ascii->records,
				    bin->count * sizeof(bin->records[0]));
	}
}

static void test_capture_fields(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_log_fields f;
	size_t violations = 0;

	(void)state;
	log = parse_capture(&captures[1], "binary_runtime_measurements", 0, &buf);
	assert_int_equal(log->tpm_alg, TPM2_ALG_SHA1);
	assert_false(log->big_endian);
	assert_int_equal(vigil_log_record_fields(log, &log->records[0], &f), 0);
	assert_int_equal(log->records[0].template, VIGIL_LOG_TEMPLATE_IMA_SIG);
	assert_int_equal(f.count, 3);
	assert_string_equal(f.digest_alg, "sha256");
	assert_int_equal(f.digest_len, 32);
	assert_int_equal(f.name_len, strlen("boot_aggregate"));
	assert_memory_equal(f.name, "boot_aggregate", f.name_len);
	assert_int_equal(f.field[2].id, VIGIL_LOG_FIELD_SIG);
	assert_int_equal(f.field[2].len, 0);
	/* the key measured when the policy with KEY_CHECK was loaded */
	assert_int_equal(vigil_log_record_fields(log, &log->records[1], &f), 0);
	assert_int_equal(log->records[1].template, VIGIL_LOG_TEMPLATE_IMA_BUF);
	assert_memory_equal(f.name, ".builtin_trusted_keys", f.name_len);
	assert_int_equal(f.field[2].data[0], 0x30); /* a DER certificate */
	for (size_t i = 0; i < log->count; i++)
		violations += log->records[i].flags & VIGIL_LOG_VIOLATION;
	assert_int_equal(violations, 2);
}

/* The fast path a verifier uses per record says what the full split says, for every record. */
static void test_record_file_matches_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < CAPTURES; i++) {
		_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
		_cleanup_free_ uint8_t *buf = NULL;

		log = parse_capture(&captures[i], "binary_runtime_measurements", 0, &buf);
		for (size_t j = 0; j < log->count; j++) {
			struct vigil_log_fields full, fast;
			int r = vigil_log_record_fields(log, &log->records[j], &full);

			assert_int_equal(vigil_log_record_file(log, &log->records[j], &fast), r);
			if (r < 0)
				continue;
			assert_ptr_equal(fast.digest, full.digest);
			assert_int_equal(fast.digest_len, full.digest_len);
			assert_ptr_equal(fast.digest_alg, full.digest_alg);
			assert_ptr_equal(fast.name, full.name);
			assert_int_equal(fast.name_len, full.name_len);
		}
	}
}

static void test_legacy_and_custom_templates(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *ima = NULL, *fmt = NULL;
	_cleanup_free_ uint8_t *b1 = NULL, *b2 = NULL;
	struct vigil_log_fields f;

	(void)state;
	ima = parse_capture(&captures[5], "binary_runtime_measurements", 0, &b1);
	assert_int_equal(ima->records[1].template, VIGIL_LOG_TEMPLATE_IMA);
	assert_int_equal(vigil_log_record_fields(ima, &ima->records[1], &f), 0);
	assert_null(f.digest_alg);
	assert_int_equal(f.digest_len, 20);
	assert_memory_equal(f.name, "/newroot/usr/bin/env", f.name_len);

	fmt = parse_capture(&captures[6], "binary_runtime_measurements", 0, &b2);
	assert_int_equal(fmt->records[0].template, VIGIL_LOG_TEMPLATE_CUSTOM);
	assert_int_equal(vigil_log_record_fields(fmt, &fmt->records[0], &f), 0);
	assert_int_equal(f.count, 4);
	assert_int_equal(f.field[3].id, VIGIL_LOG_FIELD_D_NGV2);
	/* the first digest field is the file digest */
	assert_string_equal(f.digest_alg, "sha256");
	assert_null(f.digest_type);
}

/* The iterator sees the records vigil_log_parse() collects, without allocating. */
static void test_iterator(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_log_record rec;
	struct vigil_log_iter it;
	size_t n = 0;
	int r;

	(void)state;
	log = parse_capture(&captures[3], "binary_runtime_measurements", 0, &buf);
	assert_int_equal(vigil_log_iter_init(&it, log->data, log->size, NULL), 0);
	while ((r = vigil_log_iter_next(&it, &rec, NULL)) > 0) {
		assert_memory_equal(&rec, &log->records[n], sizeof(rec));
		assert_ptr_equal(vigil_log_record_digest(&it.log, &rec),
				 vigil_log_record_digest(log, &log->records[n]));
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, log->count);
	assert_int_equal(vigil_log_iter_next(&it, &rec, NULL), 0);
}

/* A small log: three records of different sizes. */
static void small_log(struct bytes *b, size_t ends[3])
{
	b->len = 0;
	put_ima_ng(b, 10, 0x11, "boot_aggregate");
	ends[0] = b->len;
	put_ima_ng(b, 10, 0x22, "/usr/bin/a-longer-name");
	ends[1] = b->len;
	put_ima_ng(b, 11, 0x33, "/b");
	ends[2] = b->len;
}

/* Every proper prefix that is not a record boundary is a truncated record, found exactly. */
static void test_truncated_at_every_byte(void **state)
{
	static struct bytes b;
	size_t ends[3];

	(void)state;
	small_log(&b, ends);
	for (size_t len = 1; len <= b.len; len++) {
		struct vigil_log *log = untouched;
		struct vigil_log_error e = { 0 };
		size_t whole = (len >= ends[0]) + (len >= ends[1]) + (len >= ends[2]);
		int r = vigil_log_parse(b.data, len, NULL, &log, &e);

		if (len == ends[0] || len == ends[1] || len == ends[2]) {
			assert_int_equal(r, 0);
			assert_int_equal(log->count, whole);
			vigil_log_free(log);
			continue;
		}
		if (r != -EBADMSG || log != untouched || e.record != whole ||
		    e.offset != (whole ? ends[whole - 1] : 0))
			fail_msg("prefix %zu: got %d at %zu/%zu", len, r, e.offset, e.record);
	}
}

static void test_trailing_bytes(void **state)
{
	static struct bytes b;
	size_t ends[3];

	(void)state;
	small_log(&b, ends);
	for (size_t extra = 1; extra <= 8; extra++) {
		struct vigil_log *log = untouched;
		struct vigil_log_error e = { 0 };

		memset(b.data + ends[2], 0, extra);
		assert_int_equal(vigil_log_parse(b.data, ends[2] + extra, NULL, &log, &e),
				 -EBADMSG);
		assert_ptr_equal(log, untouched);
		assert_int_equal(e.offset, ends[2]);
		assert_int_equal(e.record, 3);
	}
}

static void test_empty(void **state)
{
	struct vigil_log_options allow = { .flags = VIGIL_LOG_ALLOW_EMPTY };
	struct vigil_log *log = untouched;

	(void)state;
	assert_int_equal(vigil_log_parse("", 0, NULL, &log, NULL), -ENODATA);
	assert_int_equal(vigil_log_parse_ascii("", 0, NULL, &log, NULL), -ENODATA);
	assert_ptr_equal(log, untouched);
	assert_int_equal(vigil_log_parse("", 0, &allow, &log, NULL), 0);
	assert_int_equal(log->count, 0);
	vigil_log_free(log);
	assert_int_equal(vigil_log_parse_ascii(NULL, 0, &allow, &log, NULL), 0);
	assert_int_equal(log->count, 0);
	vigil_log_free(log);
}

/* Parse @b, expect @err at byte @offset of record @record. */
static void expect_error(const struct bytes *b, const struct vigil_log_options *opts, int err,
			 size_t offset, size_t record)
{
	struct vigil_log *log = untouched;
	struct vigil_log_error e = { 0 };
	int r = vigil_log_parse(b->data, b->len, opts, &log, &e);

	if (r != err || log != untouched || e.offset != offset || e.record != record)
		fail_msg("got %d (%s) at byte %zu record %zu, want %d at %zu record %zu", r,
			 vigil_log_strerror(r), e.offset, e.record, err, offset, record);
}

static void test_huge_lengths(void **state)
{
	static struct bytes b;
	static const uint32_t huge = 1u << 30;
	struct vigil_log_options small = { .max_data = 100 };
	struct vigil_log *log = NULL;

	(void)state;
	/* template data length of 1 GiB, with little behind it */
	b.len = 0;
	put_ima_ng(&b, 10, 1, "/a");
	memcpy(b.data + 4 + 20 + 4 + 6, &huge, 4);
	expect_error(&b, NULL, -EFBIG, 34, 0);
	expect_error(&b, &small, -EFBIG, 34, 0);
	/* a template name length of 1 GiB */
	b.len = 0;
	put_ima_ng(&b, 10, 1, "/a");
	memcpy(b.data + 24, &huge, 4);
	expect_error(&b, NULL, -EILSEQ, 24, 0);
	/* a field length of 1 GiB inside the template data */
	b.len = 0;
	put_ima_ng(&b, 10, 1, "/a");
	put_ima_ng(&b, 10, 1, "/b");
	memcpy(b.data + b.len - 51, &huge, 4); /* the length of the second record's d-ng */
	expect_error(&b, NULL, -EPROTO, b.len / 2 + 38, 1);
	/* 51 bytes of data: within a bound of 51, beyond one of 50 */
	b.len = 0;
	put_ima_ng(&b, 10, 1, "/a");
	small.max_data = 51;
	assert_int_equal(vigil_log_parse(b.data, b.len, &small, &log, NULL), 0);
	vigil_log_free(log);
	small.max_data = 50;
	expect_error(&b, &small, -EFBIG, 34, 0);
}

static void test_max_records(void **state)
{
	static struct bytes b;
	struct vigil_log_options two = { .max_records = 2 }, three = { .max_records = 3 };
	struct vigil_log *log = NULL;
	size_t ends[3];

	(void)state;
	small_log(&b, ends);
	expect_error(&b, &two, -E2BIG, ends[1], 2);
	assert_int_equal(vigil_log_parse(b.data, b.len, &three, &log, NULL), 0);
	assert_int_equal(log->count, 3);
	vigil_log_free(log);
}

/* One ima-ng record with @data as its template data, and its parse result. */
static void expect_data_error(const struct bytes *data, const char *tpl, int err)
{
	static struct bytes b;
	size_t field_off = 4 + 20 + 4 + strlen(tpl) + 4;

	b.len = 0;
	put_record(&b, 10, 1, tpl, data);
	if (err) {
		struct vigil_log *log = untouched;
		struct vigil_log_error e = { 0 };
		int r = vigil_log_parse(b.data, b.len, NULL, &log, &e);

		if (r != err || log != untouched || e.offset < field_off || e.offset > b.len)
			fail_msg("%s: got %d (%s) at %zu, want %d", tpl, r, vigil_log_strerror(r),
				 e.offset, err);
	} else {
		struct vigil_log *log = NULL;

		assert_int_equal(vigil_log_parse(b.data, b.len, NULL, &log, NULL), 0);
		vigil_log_free(log);
	}
}

static void test_names(void **state)
{
	static struct bytes d;
	static char name[VIGIL_NAME_MAX + 1];

	(void)state;
	/* without its NUL */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, "/a", 2);
	expect_data_error(&d, "ima-ng", -ENOSTR);
	/* a NUL inside */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, "/a\0b", 5);
	expect_data_error(&d, "ima-ng", -ENOSTR);
	/* empty field */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, "", 0);
	expect_data_error(&d, "ima-ng", -ENOSTR);
	/* VIGIL_NAME_MAX bytes with the NUL: the longest accepted */
	memset(name, 'x', sizeof(name));
	name[VIGIL_NAME_MAX - 1] = '\0';
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, name, VIGIL_NAME_MAX);
	expect_data_error(&d, "ima-ng", 0);
	name[VIGIL_NAME_MAX - 1] = 'x';
	name[VIGIL_NAME_MAX] = '\0';
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, name, VIGIL_NAME_MAX + 1);
	expect_data_error(&d, "ima-ng", -ENAMETOOLONG);
}

static void test_digests(void **state)
{
	static const struct {
		const char *alg;
		size_t size;
		int err;
	} cases[] = {
		{ "sha1", 20, 0 },
		{ "sha256", 32, 0 },
		{ "sha384", 48, 0 },
		{ "sha512", 64, 0 },
		{ "sm3", 32, 0 },
		{ "md5", 16, 0 },
		{ "sha256", 20, -EMSGSIZE },
		{ "sha1", 32, -EMSGSIZE },
		{ "sha999", 32, -EPROTONOSUPPORT },
		{ "", 32, -EPROTONOSUPPORT },
		{ "SHA256", 32, -EPROTONOSUPPORT },
	};
	static struct bytes d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d.len = 0;
		put_dng(&d, cases[i].alg, 1, cases[i].size);
		put_field(&d, "/a", 3);
		expect_data_error(&d, "ima-ng", cases[i].err);
	}
	/* no NUL after the algorithm */
	d.len = 0;
	put_field(&d, "sha256:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 39);
	put_field(&d, "/a", 3);
	expect_data_error(&d, "ima-ng", -EPROTONOSUPPORT);
	/* vigil-ng's context has its fixed size */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, "/a", 3);
	put_field(&d, "0123456789", 10);
	expect_data_error(&d, VIGIL_TEMPLATE_VIGIL_NG, -EMSGSIZE);
}

static void test_field_framing(void **state)
{
	static struct bytes d;

	(void)state;
	/* one field short */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	expect_data_error(&d, "ima-ng", -EPROTO);
	/* one field too many */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, "/a", 3);
	put_field(&d, "", 0);
	expect_data_error(&d, "ima-ng", -EPROTO);
	/* bytes left after the last field, too few for a length */
	d.len = 0;
	put_dng(&d, "sha256", 1, 32);
	put_field(&d, "/a", 3);
	put(&d, "\0\0", 2);
	expect_data_error(&d, "ima-ng", -EPROTO);
}

/* Unknown templates parse and keep their data; their fields split but are not checked. */
static void test_unknown_template(void **state)
{
	static struct bytes b, d;
	struct vigil_log *log = NULL;
	struct vigil_log_fields f;

	(void)state;
	d.len = 0;
	put_field(&d, "abc", 3);
	put_field(&d, "", 0);
	b.len = 0;
	put_record(&b, 10, 7, "future-ng", &d);
	assert_int_equal(vigil_log_parse(b.data, b.len, NULL, &log, NULL), 0);
	assert_int_equal(log->records[0].template, VIGIL_LOG_TEMPLATE_UNKNOWN);
	assert_int_equal(log->records[0].data_len, d.len);
	assert_memory_equal(vigil_log_record_data(log, &log->records[0]), d.data, d.len);
	assert_int_equal(vigil_log_record_fields(log, &log->records[0], &f), 0);
	assert_int_equal(f.count, 2);
	assert_int_equal(f.field[0].id, VIGIL_LOG_FIELD_UNKNOWN);
	assert_memory_equal(f.field[0].data, "abc", 3);
	assert_null(f.name);
	vigil_log_free(log);
	/* data that is no sequence of fields still parses: nothing of it is checked */
	d.len = 0;
	put(&d, "\xff\xff", 2);
	b.len = 0;
	put_record(&b, 10, 7, "future-ng", &d);
	assert_int_equal(vigil_log_parse(b.data, b.len, NULL, &log, NULL), 0);
	assert_int_equal(vigil_log_record_fields(log, &log->records[0], &f), -EPROTO);
	vigil_log_free(log);
}

static void test_pcr_and_template_name(void **state)
{
	static struct bytes b;

	(void)state;
	b.len = 0;
	put_ima_ng(&b, 24, 1, "/a");
	expect_error(&b, NULL, -ECHRNG, 0, 0);
	b.len = 0;
	put_ima_ng(&b, 23, 1, "/a");
	put_ima_ng(&b, 10, 1, "/a");
	memcpy(b.data + b.len / 2 + 28, "ima ng", 6);
	expect_error(&b, NULL, -EILSEQ, b.len / 2 + 24, 1);
	b.len = 0;
	put_ima_ng(&b, 10, 1, "/a");
	b.data[28] = 0x01;
	expect_error(&b, NULL, -EILSEQ, 24, 0);
	memset(b.data + 24, 0, 4); /* empty template name */
	expect_error(&b, NULL, -EILSEQ, 24, 0);
}

static void test_vigil_ng(void **state)
{
	static struct bytes b, d;
	struct vigil_ctx ctx = {
		.seq = 7,
		.hook = VIGIL_HOOK_FILE_CHECK,
		.reason = VIGIL_REASON_TOMTOU,
		.uid = 1000,
		.dev = 0x800001,
		.ino = 1234,
		.cgroup_id = 77,
	};
	struct vigil_log *log = NULL;
	struct vigil_log_fields f;

	(void)state;
	d.len = 0;
	put_dng(&d, "sha256", 0, 32);
	put_field(&d, "/etc/app.conf", 14);
	put_field(&d, &ctx, sizeof(ctx));
	b.len = 0;
	put_record(&b, 11, 0, VIGIL_TEMPLATE_VIGIL_NG, &d);
	assert_int_equal(vigil_log_parse(b.data, b.len, NULL, &log, NULL), 0);
	assert_int_equal(log->records[0].template, VIGIL_LOG_TEMPLATE_VIGIL_NG);
	assert_true(log->records[0].flags & VIGIL_LOG_VIOLATION);
	assert_int_equal(vigil_log_record_fields(log, &log->records[0], &f), 0);
	assert_true(f.has_ctx);
	assert_int_equal(f.ctx.seq, 7);
	assert_int_equal(f.ctx.hook, VIGIL_HOOK_FILE_CHECK);
	assert_int_equal(f.ctx.reason, VIGIL_REASON_TOMTOU);
	assert_int_equal(f.ctx.uid, 1000);
	assert_int_equal(f.ctx.dev, 0x800001);
	assert_int_equal(f.ctx.ino, 1234);
	assert_int_equal(f.ctx.cgroup_id, 77);
	vigil_log_free(log);
}

/* An ima-ng log rewritten big-endian, as a big-endian host without ima_canonical_fmt writes. */
static void big_endian_log(struct bytes *be, const char *const names[], size_t n)
{
	be->len = 0;
	for (size_t i = 0; i < n; i++) {
		static struct bytes d;
		uint8_t digest[20];
		uint8_t dng[40] = "sha256:";

		memset(dng + 8, (int)i + 1, 32);
		d.len = 0;
		put32(&d, sizeof(dng), true);
		put(&d, dng, sizeof(dng));
		put32(&d, (uint32_t)strlen(names[i]) + 1, true);
		put(&d, names[i], strlen(names[i]) + 1);
		memset(digest, (int)i + 1, sizeof(digest));
		put32(be, 10, true);
		put(be, digest, sizeof(digest));
		put32(be, 6, true);
		put(be, "ima-ng", 6);
		put32(be, (uint32_t)d.len, true);
		put(be, d.data, d.len);
	}
}

static void test_big_endian(void **state)
{
	static const char *const names[] = { "boot_aggregate", "/bin/sh" };
	struct vigil_log_options le = { .endian = VIGIL_LOG_ENDIAN_LITTLE };
	struct vigil_log_options be = { .endian = VIGIL_LOG_ENDIAN_BIG };
	static struct bytes b;
	struct vigil_log *log = NULL;
	struct vigil_log_fields f;

	(void)state;
	big_endian_log(&b, names, 2);
	assert_int_equal(vigil_log_parse(b.data, b.len, NULL, &log, NULL), 0);
	assert_true(log->big_endian);
	assert_int_equal(log->count, 2);
	assert_int_equal(log->records[1].pcr, 10);
	assert_int_equal(vigil_log_record_fields(log, &log->records[1], &f), 0);
	assert_memory_equal(f.name, "/bin/sh", f.name_len);
	vigil_log_free(log);
	assert_int_equal(vigil_log_parse(b.data, b.len, &be, &log, NULL), 0);
	vigil_log_free(log);
	expect_error(&b, &le, -ECHRNG, 0, 0);
}

static void test_bad_options(void **state)
{
	struct vigil_log_options bad_alg = { .tpm_alg = 0x0012 /* SM3: no PCR bank vigil knows */ };
	struct vigil_log_options bad_endian = { .endian = (enum vigil_log_endian)3 };
	struct vigil_log_options bad_flags = { .flags = 0x80 };
	struct vigil_log *log = untouched;
	struct vigil_log_iter it;

	(void)state;
	assert_int_equal(vigil_log_parse("x", 1, &bad_alg, &log, NULL), -EINVAL);
	assert_int_equal(vigil_log_parse("x", 1, &bad_endian, &log, NULL), -EINVAL);
	assert_int_equal(vigil_log_parse_ascii("x", 1, &bad_flags, &log, NULL), -EINVAL);
	assert_ptr_equal(log, untouched);
	assert_int_equal(vigil_log_iter_init(&it, "x", 1, &bad_alg), -EINVAL);
}

/* 40 hex digits: a SHA-1 template or file digest in the ASCII layout */
#define Z40 "0000000000000000000000000000000000000000"
#define H40 "1111111111111111111111111111111111111111"

static const struct {
	const char *name;
	const char *text;
	int err;
	size_t line;
} ascii_rejected[] = {
	{ "no newline", "10 " Z40 " ima-ng sha1:00 /a", -EBADMSG, 1 },
	{ "uppercase hex", "10 AA11111111111111111111111111111111111111 future x\n", -ENOMSG, 1 },
	{ "short digest", "10 00 future x\n", -ENOMSG, 1 },
	{ "PCR 24", "24 " Z40 " future x\n", -ECHRNG, 1 },
	{ "PCR with leading zero", "05 " Z40 " future x\n", -ENOMSG, 1 },
	{ "PCR without width", "5 " Z40 " future x\n", -ENOMSG, 1 },
	{ "two spaces", "10  " Z40 " future x\n", -ENOMSG, 1 },
	{ "no template", "10 " Z40 "\n", -ENOMSG, 1 },
	{ "empty template", "10 " Z40 " \n", -EILSEQ, 1 },
	{ "too few fields", "10 " H40 " future x\n10 " H40 " ima-ng sha1:" H40 "\n", -ENOMSG, 2 },
	{ "too many fields", "10 " H40 " ima-ng sha1:" H40 " /a b\n", -ENOMSG, 1 },
	{ "bad digest size", "10 " H40 " ima-ng sha1:11 /a\n", -EMSGSIZE, 1 },
	{ "digest without algorithm", "10 " H40 " ima-ng " H40 " /a\n", -ENOMSG, 1 },
	{ "empty line", "\n", -ENOMSG, 1 },
	{ "NUL byte", "10 " Z40 " fut\0re x\n", -ENOMSG, 1 },
	{ "integer with leading zero", "10 " H40 " d-ng|n-ng|iuid sha1:" H40 " /a 01\n", -ENOMSG,
	  1 },
	{ "integer too large", "10 " H40 " d-ng|n-ng|imode sha1:" H40 " /a 65536\n", -ENOMSG, 1 },
};

static void test_ascii_rejected(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ascii_rejected) / sizeof(ascii_rejected[0]); i++) {
		const char *text = ascii_rejected[i].text;
		size_t len = strlen(text);
		struct vigil_log *log = untouched;
		struct vigil_log_error e = { 0 };
		int r;

		if (strstr(ascii_rejected[i].name, "NUL"))
			len += 1 + strlen(text + len + 1); /* the text goes on after its NUL */
		r = vigil_log_parse_ascii(text, len, NULL, &log, &e);
		if (r != ascii_rejected[i].err || log != untouched ||
		    e.line != ascii_rejected[i].line)
			fail_msg("%s: got %d (%s) line %zu", ascii_rejected[i].name, r,
				 vigil_log_strerror(r), e.line);
	}
}

/* Unknown templates in ASCII: the field text is kept (and printed back), no data to check. */
static void test_ascii_unknown_template(void **state)
{
	static const char text[] =
		"10 1111111111111111111111111111111111111111 future  a b \n"
		" 9 2222222222222222222222222222222222222222 d-ng|n-ng|iuid|imode "
		"sha1:1111111111111111111111111111111111111111 /a 4294967295 0\n";
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ char *back = NULL;
	struct vigil_log_fields f;
	size_t len;

	(void)state;
	assert_int_equal(vigil_log_parse_ascii(text, sizeof(text) - 1, NULL, &log, NULL), 0);
	assert_int_equal(log->count, 2);
	assert_int_equal(log->records[0].flags, VIGIL_LOG_NO_DATA);
	assert_int_equal(vigil_log_record_fields(log, &log->records[0], &f), -ENODATA);
	assert_int_equal(log->records[1].template, VIGIL_LOG_TEMPLATE_CUSTOM);
	assert_int_equal(log->records[1].pcr, 9);
	assert_int_equal(vigil_log_record_fields(log, &log->records[1], &f), 0);
	assert_int_equal(f.field[2].len, 4);
	assert_int_equal(f.field[3].len, 2);
	back = to_ascii(log, 0, &len);
	assert_int_equal(len, sizeof(text) - 1);
	assert_memory_equal(back, text, len);
}

static void test_ascii_buffer_too_small(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	char line[64];
	size_t len = 99;

	(void)state;
	log = parse_capture(&captures[0], "binary_runtime_measurements", 0, &buf);
	assert_int_equal(vigil_log_record_ascii(log, &log->records[0], line, sizeof(line), &len),
			 -ENOBUFS);
	assert_int_equal(len, 99);
}

static void test_strerror_distinct(void **state)
{
	static const int errs[] = {
		ENODATA, EBADMSG,  EILSEQ,	 ECHRNG, EFBIG,		  E2BIG,
		EPROTO,	 EMSGSIZE, ENAMETOOLONG, ENOSTR, EPROTONOSUPPORT, ENOMSG
	};
	const size_t n = sizeof(errs) / sizeof(errs[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(vigil_log_strerror(-errs[i]), strerror(errs[i]));
		for (size_t j = i + 1; j < n; j++)
			assert_string_not_equal(vigil_log_strerror(-errs[i]),
						vigil_log_strerror(-errs[j]));
	}
	assert_string_equal(vigil_log_strerror(-ENOMEM), strerror(ENOMEM));
	assert_string_equal(vigil_log_strerror(ENODATA), "the log is empty");
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures_print_as_the_kernel),
		cmocka_unit_test(test_ascii_rebuilds_binary),
		cmocka_unit_test(test_capture_fields),
		cmocka_unit_test(test_record_file_matches_fields),
		cmocka_unit_test(test_legacy_and_custom_templates),
		cmocka_unit_test(test_iterator),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_trailing_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_huge_lengths),
		cmocka_unit_test(test_max_records),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_field_framing),
		cmocka_unit_test(test_unknown_template),
		cmocka_unit_test(test_pcr_and_template_name),
		cmocka_unit_test(test_vigil_ng),
		cmocka_unit_test(test_big_endian),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_ascii_rejected),
		cmocka_unit_test(test_ascii_unknown_template),
		cmocka_unit_test(test_ascii_buffer_too_small),
		cmocka_unit_test(test_strerror_distinct),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
