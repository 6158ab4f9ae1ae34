// SPDX-License-Identifier: MIT
/*
 * test_status.c: unit tests of lib/status.c, the parser of vigil.ko's status file.
 *
 * Good and bad inputs come from tests/fixtures/status/<case>/status (the same directories
 * `vigil status --securityfs` reads in test_cli.c) and from strings built here for the limits.
 * Every rejection is checked for its own errno and for leaving the out-parameter untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "libvigil.h"
#include "uapi/vigil.h"

#ifndef VIGIL_FIXTURES
#error "VIGIL_FIXTURES must name tests/fixtures"
#endif

/* An out-parameter's value before the call; a rejected parse must leave it as it was. */
static struct vigil_status *const untouched = (struct vigil_status *)&untouched;

static int read_fixture(const char *name, struct vigil_status **ret)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/status/%s/status", VIGIL_FIXTURES, name);
	return vigil_status_read(path, ret);
}

static void test_read_tpm(void **state)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;
	static const char *const want[][2] = {
		{ "version", "0.1.0" }, { "tpm", "tpm2" },    { "mode", "tpm" },
		{ "pcr", "11" },	{ "hash", "sha256" }, { "banks", "sha1,sha256" },
	};

	(void)state;
	assert_int_equal(read_fixture("good-tpm", &st), 0);
	assert_non_null(st);
	assert_int_equal(st->count, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(st->entries[i].key, want[i][0]);
		assert_string_equal(st->entries[i].value, want[i][1]);
	}
}

static void test_read_log_only(void **state)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;

	(void)state;
	assert_int_equal(read_fixture("good-log-only", &st), 0);
	assert_string_equal(vigil_status_get(st, "mode"), "log-only");
	assert_string_equal(vigil_status_get(st, "tpm"), "none");
	assert_string_equal(vigil_status_get(st, "hash"), "sha384");
	/* "banks: " with nothing after the separator is an empty value, not an error */
	assert_string_equal(vigil_status_get(st, "banks"), "");
}

static void test_unknown_keys_kept(void **state)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;

	(void)state;
	assert_int_equal(read_fixture("good-future", &st), 0);
	assert_int_equal(st->count, 10);
	assert_string_equal(vigil_status_get(st, "records"), "1234");
	assert_string_equal(vigil_status_get(st, "policy_locked"), "yes");
	assert_string_equal(st->entries[9].key, "note");
	/* only the first ": " separates; the rest belongs to the value */
	assert_string_equal(vigil_status_get(st, "note"), "say \"hi\": C:\\tmp\ttab");
}

static void test_get(void **state)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;
	static const char text[] = "pcr: 11\npcr_bank: sha1\n";

	(void)state;
	assert_int_equal(vigil_status_parse(text, sizeof(text) - 1, &st), 0);
	assert_string_equal(vigil_status_get(st, "pcr"), "11");
	assert_string_equal(vigil_status_get(st, "pcr_bank"), "sha1");
	assert_null(vigil_status_get(st, "pc"));
	assert_null(vigil_status_get(st, "pcr_"));
	assert_null(vigil_status_get(st, "version"));
	assert_null(vigil_status_get(st, ""));
}

static void test_parse_empty(void **state)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;

	(void)state;
	assert_int_equal(vigil_status_parse("", 0, &st), 0);
	assert_non_null(st);
	assert_int_equal(st->count, 0);
	assert_null(vigil_status_get(st, "pcr"));
}

/* The text does not need a terminating NUL: bytes past @len must not be read. */
static void test_parse_not_nul_terminated(void **state)
{
	_cleanup_(vigil_status_freep) struct vigil_status *st = NULL;
	static const char text[] = { 'p', 'c', 'r', ':', ' ', '9', '\n', 'x' };

	(void)state;
	assert_int_equal(vigil_status_parse(text, sizeof(text) - 1, &st), 0);
	assert_int_equal(st->count, 1);
	assert_string_equal(vigil_status_get(st, "pcr"), "9");
}

/* Exactly VIGIL_STATUS_MAX bytes and exactly VIGIL_STATUS_LINES_MAX lines are still accepted. */
static void test_parse_limits(void **state)
{
	char text[VIGIL_STATUS_MAX + 1];
	struct vigil_status *st = NULL;
	size_t len = 0;

	(void)state;
	for (int i = 0; i < VIGIL_STATUS_LINES_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "k%02d: v\n", i);
	assert_int_equal(vigil_status_parse(text, len, &st), 0);
	assert_int_equal(st->count, VIGIL_STATUS_LINES_MAX);
	vigil_status_free(st);

	/* one line whose value fills the text up to the limit */
	memset(text, 'x', sizeof(text));
	memcpy(text, "big: ", 5);
	text[VIGIL_STATUS_MAX - 1] = '\n';
	st = NULL;
	assert_int_equal(vigil_status_parse(text, VIGIL_STATUS_MAX, &st), 0);
	assert_int_equal(strlen(vigil_status_get(st, "big")), VIGIL_STATUS_MAX - 6);
	vigil_status_free(st);

	text[VIGIL_STATUS_MAX] = '\n';
	st = untouched;
	assert_int_equal(vigil_status_parse(text, VIGIL_STATUS_MAX + 1, &st), -EFBIG);
	assert_ptr_equal(st, untouched);
}

static const struct {
	const char *fixture;
	int err;
} rejected[] = {
	{ "bad-separator", -EBADMSG },	    { "bad-empty-key", -ENOKEY },
	{ "bad-key-chars", -EKEYREJECTED }, { "bad-duplicate", -ENOTUNIQ },
	{ "bad-no-newline", -EPROTO },	    { "bad-nul", -EILSEQ },
	{ "bad-too-large", -EFBIG },	    { "bad-too-many-lines", -E2BIG },
};

static void test_read_rejected(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		struct vigil_status *st = untouched;
		int r = read_fixture(rejected[i].fixture, &st);

		if (r != rejected[i].err || st != untouched)
			fail_msg("%s: got %d, want %d", rejected[i].fixture, r, rejected[i].err);
	}
}

/* Each rejection must be told apart by its caller: distinct errnos, distinct descriptions. */
static void test_errors_distinct(void **state)
{
	const size_t n = sizeof(rejected) / sizeof(rejected[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			assert_int_not_equal(rejected[i].err, rejected[j].err);
			assert_string_not_equal(vigil_status_strerror(rejected[i].err),
						vigil_status_strerror(rejected[j].err));
		}
	}
	assert_string_equal(vigil_status_strerror(-EPROTO),
			    "last line is not terminated by a newline");
	assert_string_equal(vigil_status_strerror(ENOTUNIQ), "duplicate key");
	assert_string_equal(vigil_status_strerror(-ENOENT), strerror(ENOENT));
}

static const struct {
	const char *name;
	const char *text;
	size_t len;
	int err;
} rejected_text[] = {
	{ "empty line", "pcr: 11\n\n", 9, -EBADMSG },
	{ "colon without space", "pcr:11\n", 7, -EBADMSG },
	{ "space before colon", "pcr : 11\n", 9, -EKEYREJECTED },
	{ "key with dash", "pcr-bank: 11\n", 13, -EKEYREJECTED },
	{ "key with space", "pcr bank: 11\n", 13, -EKEYREJECTED },
	{ "separator only", ": \n", 3, -ENOKEY },
	{ "duplicate after others", "a: 1\nb: 2\na: 1\n", 15, -ENOTUNIQ },
	{ "last line unterminated", "a: 1\nb: 2", 9, -EPROTO },
	{ "NUL at the end", "a: 1\n\0", 6, -EILSEQ },
	{ "NUL before a bad line", "a\0: 1\nbad\n", 10, -EILSEQ },
};

static void test_parse_rejected(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejected_text) / sizeof(rejected_text[0]); i++) {
		struct vigil_status *st = untouched;
		int r = vigil_status_parse(rejected_text[i].text, rejected_text[i].len, &st);

		if (r != rejected_text[i].err || st != untouched)
			fail_msg("%s: got %d, want %d", rejected_text[i].name, r,
				 rejected_text[i].err);
	}
}

static void test_read_errors(void **state)
{
	struct vigil_status *st = untouched;

	(void)state;
	assert_int_equal(vigil_status_read(VIGIL_FIXTURES "/status/none/status", &st), -ENOENT);
	assert_ptr_equal(st, untouched);
	assert_int_equal(vigil_status_read(VIGIL_FIXTURES "/status/good-tpm", &st), -EISDIR);
	assert_ptr_equal(st, untouched);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_tpm),
		cmocka_unit_test(test_read_log_only),
		cmocka_unit_test(test_unknown_keys_kept),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_not_nul_terminated),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_read_rejected),
		cmocka_unit_test(test_errors_distinct),
		cmocka_unit_test(test_parse_rejected),
		cmocka_unit_test(test_read_errors),
	};

	return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
