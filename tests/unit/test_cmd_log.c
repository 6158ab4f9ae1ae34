// SPDX-License-Identifier: MIT
/*
 * test_cmd_log.c: tests of `vigil log` as a user runs it (cmd/cmd_log.c).
 *
 * Runs the built binary (VIGIL_BIN) on the real IMA captures in tests/fixtures/ima/: its ASCII
 * output must be the kernel's ascii_runtime_measurements byte for byte, from the binary list,
 * from the ASCII list and from each per-bank list (the bank taken from the file name); JSON and
 * CEL-JSON output must parse (json-c) and say the same as the log. Then the command line:
 * --from, bad options, damaged logs. LC_ALL=C keeps messages in English.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cleanup.h"
#include "ima_fixtures.h"
#include "spawn.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

extern char **environ;

struct run {
	int code;
	char *out; /* NUL-terminated */
	size_t out_len;
	char *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char *slurp(int fd, size_t *ret_len)
{
	struct stat st;
	char *buf;

	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	buf[st.st_size] = '\0';
	*ret_len = (size_t)st.st_size;
	return buf;
}

/* Run "vigil log ARGS..." (NULL-terminated) into @r. */
static void run_log(struct run *r, const char *const args[])
{
	char *argv[16] = { VIGIL_BIN, "log" };
	size_t len;
	int out = -1, err = -1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 3 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 2] = (char *)args[i];
	}
	assert_int_equal(spawn_capture(argv, NULL, &r->code, &out, &err), 0);
	assert_true(r->code >= 0);
	r->out = slurp(out, &r->out_len);
	r->err = slurp(err, &len);
	close(out);
	close(err);
}

#define RUN(r, ...) run_log(r, (const char *const[]){ __VA_ARGS__, NULL })

#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

static void path_of(char *buf, size_t size, const struct capture *c, const char *file)
{
	snprintf(buf, size, IMA_DIR "%s/%s", c->dir, file);
}

/* `vigil log FILE` prints @ascii_file of the same capture. */
static void check_ascii(const struct capture *c, const char *file, const char *ascii_file)
{
	_cleanup_(run_free) struct run r = { 0 };
	_cleanup_free_ uint8_t *want = NULL;
	char path[4096];
	size_t len = 0;

	path_of(path, sizeof(path), c, file);
	want = read_capture(c, ascii_file, &len);
	assert_non_null(want);
	RUN(&r, path);
	if (r.code || r.out_len != len || memcmp(r.out, want, len))
		fail_msg("vigil log %s: exit %d, output differs from %s (%s)", path, r.code,
			 ascii_file, r.err);
	assert_string_equal(r.err, "");
}

static void test_ascii_is_the_kernels(void **state)
{
	char bin[64], ascii[64];

	(void)state;
	for (size_t i = 0; i < CAPTURES; i++) {
		const struct capture *c = &captures[i];

		check_ascii(c, "binary_runtime_measurements", "ascii_runtime_measurements");
		check_ascii(c, "ascii_runtime_measurements", "ascii_runtime_measurements");
		for (size_t b = 0; c->per_bank && b < CAPTURE_BANKS; b++) {
			snprintf(bin, sizeof(bin), "binary_runtime_measurements_%s",
				 capture_banks[b].name);
			snprintf(ascii, sizeof(ascii), "ascii_runtime_measurements_%s",
				 capture_banks[b].name);
			check_ascii(c, bin, ascii);
			check_ascii(c, ascii, ascii);
		}
	}
}

static void test_from(void **state)
{
	_cleanup_(run_free) struct run all = { 0 }, tail = { 0 }, none = { 0 }, beyond = { 0 };
	char path[4096];
	const char *p;

	(void)state;
	path_of(path, sizeof(path), &captures[3], "binary_runtime_measurements");
	RUN(&all, path);
	RUN(&tail, "--from", "30", path);
	assert_int_equal(tail.code, 0);
	p = all.out;
	for (int i = 0; i < 30; i++)
		p = strchr(p, '\n') + 1;
	assert_string_equal(tail.out, p);
	RUN(&none, "--from", "35", path);
	assert_int_equal(none.code, 0);
	assert_string_equal(none.out, "");
	RUN(&beyond, "--from", "36", path);
	assert_int_equal(beyond.code, 3);
	assert_string_equal(beyond.out, "");
	assert_contains(beyond.err, "--from 36, but the log has 35 records");
}

static void test_json(void **state)
{
	_cleanup_(run_free) struct run r = { 0 };
	char path[4096];
	size_t lines = 0;
	char *save = NULL;

	(void)state;
	path_of(path, sizeof(path), &captures[1], "binary_runtime_measurements");
	RUN(&r, "--format", "json", path);
	assert_int_equal(r.code, 0);
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct json_object *o = json_tokener_parse(line), *v;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "index", &v));
		assert_int_equal(json_object_get_int(v), lines);
		assert_true(json_object_object_get_ex(o, "pcr", &v));
		assert_int_equal(json_object_get_int(v), 10);
		if (lines == 1) {
			assert_true(json_object_object_get_ex(o, "template", &v));
			assert_string_equal(json_object_get_string(v), "ima-buf");
			assert_true(json_object_object_get_ex(o, "name", &v));
			assert_string_equal(json_object_get_string(v), ".builtin_trusted_keys");
			assert_true(json_object_object_get_ex(o, "buf", &v));
			assert_int_equal(strncmp(json_object_get_string(v), "3082", 4), 0);
			assert_true(json_object_object_get_ex(o, "digest_alg", &v));
			assert_string_equal(json_object_get_string(v), "sha256");
		}
		assert_true(json_object_object_get_ex(o, "violation", &v));
		json_object_put(o);
		lines++;
	}
	assert_int_equal(lines, 28);
}

static void test_cel(void **state)
{
	_cleanup_(run_free) struct run r = { 0 }, empty = { 0 };
	struct json_object *a, *rec, *v, *d;
	char path[4096];

	(void)state;
	path_of(path, sizeof(path), &captures[3], "binary_runtime_measurements_sha256");
	RUN(&r, "--format", "cel", "--from", "1", path);
	assert_int_equal(r.code, 0);
	a = json_tokener_parse(r.out);
	assert_non_null(a);
	assert_true(json_object_is_type(a, json_type_array));
	assert_int_equal(json_object_array_length(a), 34);
	rec = json_object_array_get_idx(a, 0);
	assert_true(json_object_object_get_ex(rec, "recnum", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(rec, "content_type", &v));
	assert_string_equal(json_object_get_string(v), "ima_template");
	assert_true(json_object_object_get_ex(rec, "digests", &v));
	d = json_object_array_get_idx(v, 0);
	assert_true(json_object_object_get_ex(d, "hashAlg", &v));
	assert_string_equal(json_object_get_string(v), "sha256");
	assert_true(json_object_object_get_ex(d, "digest", &v));
	assert_int_equal(strlen(json_object_get_string(v)), 64);
	assert_true(json_object_object_get_ex(rec, "content", &v));
	assert_true(json_object_object_get_ex(v, "template_name", &d));
	assert_string_equal(json_object_get_string(d), "ima-sig");
	assert_true(json_object_object_get_ex(v, "template_data", &d));
	assert_int_equal(strncmp(json_object_get_string(d), "28000000736861323536", 20), 0);
	json_object_put(a);
	RUN(&empty, "--format", "cel", "--from", "35", path);
	assert_string_equal(empty.out, "[]\n");
}

static void test_damaged(void **state)
{
	_cleanup_(run_free) struct run r = { 0 }, empty = { 0 };
	char path[] = "/tmp/vigil-test-log.XXXXXX";
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int fd;

	(void)state;
	buf = read_capture(&captures[5], "binary_runtime_measurements", &len);
	assert_non_null(buf);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, 1000), 1000);
	close(fd);
	RUN(&r, path);
	unlink(path);
	assert_int_equal(r.code, 3);
	assert_string_equal(r.out, "");
	assert_contains(r.err, "vigil log: /tmp/vigil-test-log.");
	assert_contains(r.err, ": record 11 at byte 941: the log ends inside a record");
	RUN(&empty, "/dev/null");
	assert_int_equal(empty.code, 3);
	assert_string_equal(empty.err,
			    "vigil log: /dev/null: record 0 at byte 0: the log is empty\n");
}

static void test_usage(void **state)
{
	static const char *const bad[][3] = {
		{ "--format", "xml", "unknown format 'xml'" },
		{ "--bank", "md5", "unknown bank 'md5'" },
		{ "--from", "-1", "invalid record number '-1'" },
		{ "--frob", NULL, "invalid option '--frob'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		_cleanup_(run_free) struct run r = { 0 };

		if (bad[i][1])
			RUN(&r, bad[i][0], bad[i][1]);
		else
			RUN(&r, bad[i][0]);
		assert_int_equal(r.code, 2);
		assert_contains(r.err, bad[i][2]);
	}
	{
		_cleanup_(run_free) struct run r = { 0 }, two = { 0 }, missing = { 0 };

		RUN(&r, "--help");
		assert_int_equal(r.code, 0);
		assert_contains(r.out, "Usage: vigil log");
		RUN(&two, "a", "b");
		assert_int_equal(two.code, 2);
		assert_contains(two.err, "unexpected argument 'b'");
		RUN(&missing, "/nonexistent/log");
		assert_int_equal(missing.code, 3);
		assert_contains(missing.err, "/nonexistent/log: No such file or directory");
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_is_the_kernels),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_cel),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_usage),
	};

	setenv("LC_ALL", "C", 1);
	return cmocka_run_group_tests_name("cmd_log", tests, NULL, NULL);
}
