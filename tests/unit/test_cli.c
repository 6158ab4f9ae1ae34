// SPDX-License-Identifier: MIT
/*
 * test_cli.c: tests of the vigil command as a user runs it.
 *
 * Each test runs the built binary (VIGIL_BIN, set by the Makefile) with posix_spawn(), stdin on
 * /dev/null and stdout/stderr captured in memory files, and checks the exit code and the exact
 * or essential output. `vigil status` reads the fixture directories tests/fixtures/status/<case>
 * through --securityfs. LC_ALL=C keeps strerror() texts in English.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "spawn.h"
#include "uapi/vigil.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif
#ifndef VIGIL_FIXTURES
#error "VIGIL_FIXTURES must name tests/fixtures"
#endif

#define STATUS_DIR(name) VIGIL_FIXTURES "/status/" name

extern char **environ;

struct run {
	int code; /* exit status */
	char out[8192];
	char err[8192];
};

/* Run "vigil ARGS..." (NULL-terminated) and fill @r; fails the test if it did not exit. */
static void run_vigil(struct run *r, const char *const args[])
{
	char *argv[16] = { VIGIL_BIN };
	int out = -1, err = -1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	assert_int_equal(spawn_capture(argv, NULL, &r->code, &out, &err), 0);
	assert_true(r->code >= 0);
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

#define RUN(r, ...) run_vigil(r, (const char *const[]){ __VA_ARGS__, NULL })

/* cmocka has no substring assertion; print both strings on failure so a failure explains itself. */
#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

static void test_no_args(void **state)
{
	struct run r;

	(void)state;
	run_vigil(&r, (const char *const[]){ NULL });
	assert_int_equal(r.code, 2);
	assert_string_equal(r.out, "");
	assert_contains(r.err, "Usage: vigil <command>");
	assert_contains(r.err, "  status ");
}

static void test_help(void **state)
{
	static const char *const opts[] = { "--help", "-h" };
	struct run r;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		RUN(&r, opts[i]);
		assert_int_equal(r.code, 0);
		assert_string_equal(r.err, "");
		assert_contains(r.out, "Usage: vigil <command>");
		assert_contains(r.out,
				"status     show whether vigil.ko is loaded and how it measures\n");
	}
}

static void test_version(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "--version");
	assert_int_equal(r.code, 0);
	assert_string_equal(r.out, "vigil " VIGIL_VERSION "\n");
	assert_string_equal(r.err, "");
}

static void test_unknown_command(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "frobnicate");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "vigil: unknown command 'frobnicate'\n"
				   "Try 'vigil --help' for the list of commands.\n");
	RUN(&r, "--frobnicate");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "vigil: unknown option '--frobnicate'\n");
}

static void test_status_help(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--help");
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "");
	assert_contains(r.out, "Usage: vigil status [--json] [--securityfs DIR]\n");
	assert_contains(r.out, "(default: " VIGIL_FS_MOUNT "/" VIGIL_FS_DIR ")");
}

static void test_status_text(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--securityfs", STATUS_DIR("good-tpm"));
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "loaded:  yes\n"
				   "version: 0.1.0\n"
				   "tpm:     tpm2\n"
				   "mode:    tpm\n"
				   "pcr:     11\n"
				   "hash:    sha256\n"
				   "banks:   sha1,sha256\n");
}

static void test_status_text_unknown_keys(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--securityfs", STATUS_DIR("good-future"));
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "loaded:        yes\n");
	assert_contains(r.out, "\nrecords:       1234\n");
	assert_contains(r.out, "\npolicy_locked: yes\n");
	assert_contains(r.out, "\nnote:          say \"hi\": C:\\tmp\ttab\n");
}

static void test_status_json(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--json", "--securityfs", STATUS_DIR("good-tpm"));
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out, "{\"loaded\": true, \"version\": \"0.1.0\", \"tpm\": \"tpm2\", "
				   "\"mode\": \"tpm\", \"pcr\": \"11\", \"hash\": \"sha256\", "
				   "\"banks\": \"sha1,sha256\"}\n");

	RUN(&r, "status", "--securityfs", STATUS_DIR("good-log-only"), "--json");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "\"mode\": \"log-only\"");
	assert_contains(r.out, "\"banks\": \"\"}\n");
}

/* Quotes, backslashes, control characters and bad UTF-8 must still give valid JSON. */
static void test_status_json_escaping(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--json", "--securityfs", STATUS_DIR("good-future"));
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "\"policy_locked\": \"yes\"");
	assert_contains(r.out, "\"note\": \"say \\\"hi\\\": C:\\\\tmp\\ttab\"}\n");

	RUN(&r, "status", "--json", "--securityfs", STATUS_DIR("good-bytes"));
	assert_int_equal(r.code, 0);
	/* a status key named "loaded" must not duplicate vigil's own field */
	assert_string_equal(r.out, "{\"loaded\": true, \"name\": \"caf\xc3\xa9\", "
				   "\"raw\": \"a\\ufffdb\\ufffd\\ufffd\\ufffdc\", "
				   "\"ctl\": \"\\u0001\\u007f\"}\n");
}

static void test_status_not_loaded(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--securityfs", "/nonexistent");
	assert_int_equal(r.code, 3);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "vigil status: vigil.ko is not loaded "
				   "(/nonexistent/status: No such file or directory)\n");

	RUN(&r, "status", "--json", "--securityfs", "/nonexistent");
	assert_int_equal(r.code, 3);
	assert_string_equal(r.out, "{\"loaded\": false}\n");
	assert_contains(r.err, "vigil.ko is not loaded");
}

static void test_status_parse_error(void **state)
{
	static const char want[] =
		"vigil status: " STATUS_DIR("bad-duplicate") "/status: duplicate key\n";
	struct run r;

	(void)state;
	RUN(&r, "status", "--json", "--securityfs", STATUS_DIR("bad-duplicate"));
	assert_int_equal(r.code, 3);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, want);

	RUN(&r, "status", "--securityfs", STATUS_DIR("bad-too-large"));
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "/bad-too-large/status: status text is larger than 4096 bytes\n");
}

static void test_status_usage_errors(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "status", "--bogus");
	assert_int_equal(r.code, 2);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "vigil status: invalid option '--bogus'\n"
				   "Try 'vigil status --help'.\n");

	RUN(&r, "status", "-x");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "invalid option '-x'");

	RUN(&r, "status", "--securityfs");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "option needs an argument '--securityfs'");

	RUN(&r, "status", "extra");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "unexpected argument 'extra'");
}

/* vigil load / unload: what can be checked without a kernel module (the VM tests do the rest). */
static void test_load_usage_errors(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "load", "--pcr", "24");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "vigil load: PCR must be 0..23, not '24'");
	RUN(&r, "load", "--bogus");
	assert_int_equal(r.code, 2);
	RUN(&r, "load", "extra");
	assert_int_equal(r.code, 2);
	RUN(&r, "unload", "extra");
	assert_int_equal(r.code, 2);
	RUN(&r, "load", "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Usage: vigil load");
	assert_contains(r.out, "--rules FILE");
	RUN(&r, "unload", "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Usage: vigil unload");
}

static void test_load_missing_module(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "load", "--module", "/nonexistent/vigil.ko");
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "vigil load: /nonexistent/vigil.ko: no such module");
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_args),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_unknown_command),
		cmocka_unit_test(test_status_help),
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_status_text_unknown_keys),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_status_json_escaping),
		cmocka_unit_test(test_status_not_loaded),
		cmocka_unit_test(test_status_parse_error),
		cmocka_unit_test(test_status_usage_errors),
		cmocka_unit_test(test_load_usage_errors),
		cmocka_unit_test(test_load_missing_module),
	};

	if (setenv("LC_ALL", "C", 1) < 0)
		return 1;
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
