// SPDX-License-Identifier: MIT
/*
 * test_replay.c: unit tests of log replay, the quoted-value match and boot_aggregate
 * (lib/replay.c, lib/boot_aggregate.c).
 *
 * Ground truth is the kernel: every capture in tests/fixtures/ima/ came with the PCR values of
 * all banks read consistently with the log, and its replay must give PCR 10 of every bank, from
 * the binary list, from the ASCII list and from each per-bank list; its boot_aggregate must
 * match PCR 0..9. The 6.1 captures include the case IMA handles specially: sha512 is a module
 * there, so the kernel extended the SHA-384 bank with zero-padded SHA-1. Then tampering: a
 * flipped bit, swapped and dropped records, extra records after the quote. Finally evmctl, an
 * independent implementation, must accept PCR values computed by vigil_replay().
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "ima_fixtures.h"
#include "libvigil.h"
#include "uapi/vigil.h"

extern char **environ;

static struct vigil_log *load(const struct capture *c, const char *file, uint16_t alg,
			      uint8_t **ret_buf)
{
	struct vigil_log_error e = { 0 };
	struct vigil_log *log = NULL;
	int r = capture_parse(c, file, alg, ret_buf, &log, &e);

	if (r < 0)
		fail_msg("%s/%s: %s", c->dir, file, vigil_log_strerror(r));
	return log;
}

/* Replay @log in every bank and compare with the capture's PCR 10. */
static void check_replays(const struct capture *c, const struct vigil_log *log, const char *file)
{
	for (size_t b = 0; b < CAPTURE_BANKS; b++) {
		bool padded = c->padded_sha384 && capture_banks[b].alg == TPM2_ALG_SHA384;
		struct vigil_replay_result res;
		uint8_t want[VIGIL_LOG_DIGEST_MAX];
		size_t covered = 0;

		assert_int_equal(
			capture_pcr(c, capture_banks[b].name, 10, want, capture_banks[b].size), 0);
		assert_int_equal(vigil_replay_ex(log, capture_banks[b].alg, 10, 0, NULL,
						 padded ? VIGIL_REPLAY_PADDED_SHA1 :
							  VIGIL_REPLAY_BANK_HASH,
						 &res),
				 0);
		if (res.size != capture_banks[b].size || memcmp(res.value, want, res.size))
			fail_msg("%s/%s: %s bank does not replay to PCR 10", c->dir, file,
				 capture_banks[b].name);
		assert_int_equal(res.extended, log->count);
		assert_int_equal(res.violations, 2);
		assert_int_equal(res.mismatches, 0);
		assert_int_equal(res.first_mismatch, VIGIL_REPLAY_NONE);
		assert_int_equal(vigil_replay_match(log, capture_banks[b].alg, 10, want, res.size,
						    &covered),
				 VIGIL_REPLAY_MATCH);
		assert_int_equal(covered, log->count);
	}
}

static void test_captures_replay(void **state)
{
	char name[64];

	(void)state;
	for (size_t i = 0; i < CAPTURES; i++) {
		static const char *const files[] = { "binary_runtime_measurements",
						     "ascii_runtime_measurements" };
		const struct capture *c = &captures[i];

		for (size_t f = 0; f < 2; f++) {
			_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
			_cleanup_free_ uint8_t *buf = NULL;

			log = load(c, files[f], 0, &buf);
			check_replays(c, log, files[f]);
		}
		for (size_t b = 0; c->per_bank && b < CAPTURE_BANKS; b++) {
			_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
			_cleanup_free_ uint8_t *buf = NULL;

			snprintf(name, sizeof(name), "binary_runtime_measurements_%s",
				 capture_banks[b].name);
			log = load(c, name, capture_banks[b].alg, &buf);
			check_replays(c, log, name);
		}
	}
}

/* Where IMA padded SHA-1 into the SHA-384 bank, only the padded mode gives the PCR. */
static void test_padded_sha1_bank(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t want[48];
	struct vigil_replay_result res;
	size_t covered;

	(void)state;
	log = load(&captures[0], "binary_runtime_measurements", 0, &buf);
	assert_int_equal(capture_pcr(&captures[0], "sha384", 10, want, sizeof(want)), 0);
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA384, 10, 0, NULL, &res), 0);
	assert_memory_not_equal(res.value, want, sizeof(want));
	assert_int_equal(vigil_replay_match_ex(log, TPM2_ALG_SHA384, 10, VIGIL_REPLAY_BANK_HASH,
					       NULL, want, sizeof(want), &covered),
			 VIGIL_REPLAY_NO_MATCH);
	assert_int_equal(vigil_replay_match_ex(log, TPM2_ALG_SHA384, 10, VIGIL_REPLAY_PADDED_SHA1,
					       NULL, want, sizeof(want), &covered),
			 VIGIL_REPLAY_MATCH);
	assert_int_equal(covered, log->count);
}

/* Replaying in two steps (from, start) is replaying at once. */
static void test_incremental(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_replay_result all, head, tail;

	(void)state;
	log = load(&captures[3], "binary_runtime_measurements", 0, &buf);
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 10, 0, NULL, &all), 0);
	for (size_t k = 0; k <= log->count; k += 7) {
		struct vigil_log part = *log;

		part.count = k;
		assert_int_equal(vigil_replay(&part, TPM2_ALG_SHA256, 10, 0, NULL, &head), 0);
		assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 10, k, head.value, &tail), 0);
		assert_memory_equal(tail.value, all.value, all.size);
		assert_int_equal(head.extended + tail.extended, all.extended);
	}
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 10, log->count, all.value, &tail), 0);
	assert_int_equal(tail.extended, 0);
	assert_memory_equal(tail.value, all.value, all.size);
}

/* A log read after the quote has more records: the match says how many the quote covers. */
static void test_match_extra_records(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	static const uint8_t zeros[32];
	struct vigil_replay_result res;
	size_t covered = 999;

	(void)state;
	log = load(&captures[4], "binary_runtime_measurements", 0, &buf);
	for (size_t k = 1; k <= log->count; k++) {
		struct vigil_log part = *log;

		part.count = k;
		assert_int_equal(vigil_replay(&part, TPM2_ALG_SHA256, 10, 0, NULL, &res), 0);
		assert_int_equal(vigil_replay_match(log, TPM2_ALG_SHA256, 10, res.value, res.size,
						    &covered),
				 VIGIL_REPLAY_MATCH);
		assert_int_equal(covered, k);
	}
	/* a PCR never extended is covered by no record at all */
	assert_int_equal(vigil_replay_match(log, TPM2_ALG_SHA256, 10, zeros, 32, &covered),
			 VIGIL_REPLAY_MATCH);
	assert_int_equal(covered, 0);
	/* records for other PCRs take no part */
	covered = 999;
	assert_int_equal(vigil_replay_match(log, TPM2_ALG_SHA256, 11, res.value, res.size,
					    &covered),
			 VIGIL_REPLAY_NO_MATCH);
	assert_int_equal(covered, 999);
}

/* A copy of a capture's binary log to tamper with. */
struct copy {
	uint8_t *buf;
	size_t len;
	struct vigil_log *log;
	uint8_t pcr[VIGIL_LOG_DIGEST_MAX];
};

static void copy_load(struct copy *cp, const struct capture *c)
{
	cp->buf = read_capture(c, "binary_runtime_measurements", &cp->len);
	assert_non_null(cp->buf);
	assert_int_equal(vigil_log_parse(cp->buf, cp->len, NULL, &cp->log, NULL), 0);
	assert_int_equal(capture_pcr(c, "sha256", 10, cp->pcr, 32), 0);
}

static void copy_free(struct copy *cp)
{
	vigil_log_free(cp->log);
	free(cp->buf);
}

static void test_flipped_bit(void **state)
{
	_cleanup_(copy_free) struct copy cp = { 0 };
	struct vigil_replay_result res;
	const struct vigil_log_record *rec;
	size_t covered = 999;

	(void)state;
	copy_load(&cp, &captures[3]);
	rec = &cp.log->records[5];
	/* a bit of the file digest in record 5's template data */
	cp.buf[rec->offset + rec->data_off + 4 + 8 + 3] ^= 0x10;
	assert_int_equal(vigil_replay(cp.log, TPM2_ALG_SHA256, 10, 0, NULL, &res), 0);
	assert_int_equal(res.mismatches, 1);
	assert_int_equal(res.first_mismatch, 5);
	assert_memory_not_equal(res.value, cp.pcr, 32);
	assert_int_equal(vigil_replay_match(cp.log, TPM2_ALG_SHA256, 10, cp.pcr, 32, &covered),
			 VIGIL_REPLAY_NO_MATCH);
	assert_int_equal(covered, 999);
	/* the logged template digest flipped instead: the data is intact, the record is not */
	cp.buf[rec->offset + rec->data_off + 4 + 8 + 3] ^= 0x10;
	cp.buf[rec->offset + 4] ^= 0x01;
	assert_int_equal(vigil_replay(cp.log, TPM2_ALG_SHA256, 10, 0, NULL, &res), 0);
	assert_int_equal(res.mismatches, 1);
	assert_int_equal(res.first_mismatch, 5);
	assert_memory_equal(res.value, cp.pcr, 32);
}

static void test_swapped_and_dropped(void **state)
{
	_cleanup_(copy_free) struct copy cp = { 0 };
	struct vigil_log_record saved;
	struct vigil_replay_result res;
	size_t covered = 999;

	(void)state;
	copy_load(&cp, &captures[1]);
	saved = cp.log->records[3];
	cp.log->records[3] = cp.log->records[4];
	cp.log->records[4] = saved;
	assert_int_equal(vigil_replay(cp.log, TPM2_ALG_SHA256, 10, 0, NULL, &res), 0);
	assert_int_equal(res.mismatches, 0);
	assert_memory_not_equal(res.value, cp.pcr, 32);
	assert_int_equal(vigil_replay_match(cp.log, TPM2_ALG_SHA256, 10, cp.pcr, 32, &covered),
			 VIGIL_REPLAY_NO_MATCH);
	/* dropped: record 4 gone */
	cp.log->records[4] = cp.log->records[3];
	cp.log->records[3] = saved;
	memmove(&cp.log->records[4], &cp.log->records[5],
		(cp.log->count - 5) * sizeof(cp.log->records[0]));
	cp.log->count--;
	assert_int_equal(vigil_replay_match(cp.log, TPM2_ALG_SHA256, 10, cp.pcr, 32, &covered),
			 VIGIL_REPLAY_NO_MATCH);
	assert_int_equal(covered, 999);
}

/* The violation rule: a zero template digest extends 0xff; a real record made one does not. */
static void test_violation_forged(void **state)
{
	_cleanup_(copy_free) struct copy cp = { 0 };
	struct vigil_replay_result res;

	(void)state;
	copy_load(&cp, &captures[3]);
	memset(cp.buf + cp.log->records[7].offset + 4, 0, 20);
	cp.log->records[7].flags |= VIGIL_LOG_VIOLATION;
	assert_int_equal(vigil_replay(cp.log, TPM2_ALG_SHA256, 10, 0, NULL, &res), 0);
	assert_int_equal(res.violations, 3);
	assert_memory_not_equal(res.value, cp.pcr, 32);
}

/* ASCII records of unknown templates replay only from their logged digest, in their bank. */
static void test_no_data_records(void **state)
{
	static const char text[] = "10 1111111111111111111111111111111111111111 future x\n";
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	struct vigil_replay_result res;

	(void)state;
	assert_int_equal(vigil_log_parse_ascii(text, sizeof(text) - 1, NULL, &log, NULL), 0);
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA1, 10, 0, NULL, &res), 0);
	assert_int_equal(res.unverified, 1);
	assert_int_equal(res.mismatches, 0);
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 10, 0, NULL, &res), -ENODATA);
}

static void test_bad_arguments(void **state)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_replay_result res = { .size = 77 };
	uint8_t value[32] = { 0 };
	size_t covered = 77;

	(void)state;
	log = load(&captures[0], "binary_runtime_measurements", 0, &buf);
	assert_int_equal(vigil_replay(log, 0x0012, 10, 0, NULL, &res), -EINVAL);
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 24, 0, NULL, &res), -EINVAL);
	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 10, log->count + 1, NULL, &res),
			 -EINVAL);
	assert_int_equal(vigil_replay_ex(log, TPM2_ALG_SHA256, 10, 0, NULL,
					 (enum vigil_replay_mode)2, &res),
			 -EINVAL);
	assert_int_equal(res.size, 77);
	assert_int_equal(vigil_replay_match(log, TPM2_ALG_SHA256, 10, value, 20, &covered),
			 -EINVAL);
	assert_int_equal(covered, 77);
}

/* PCR 0..9 of a capture's bank, as vigil_boot_aggregate_*() take them. */
static void capture_boot_pcrs(const struct capture *c, const char *bank, size_t size,
			      uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX])
{
	memset(pcrs, 0, VIGIL_BOOT_AGGREGATE_PCRS * VIGIL_LOG_DIGEST_MAX);
	for (unsigned int i = 0; i < VIGIL_BOOT_AGGREGATE_PCRS; i++)
		assert_int_equal(capture_pcr(c, bank, i, pcrs[i], size), 0);
}

static void test_boot_aggregate(void **state)
{
	uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX];

	(void)state;
	for (size_t i = 0; i < CAPTURES; i++) {
		const struct capture *c = &captures[i];
		_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		const char *bank = c->boot_alg == TPM2_ALG_SHA1 ? "sha1" : "sha256";
		size_t size = c->boot_alg == TPM2_ALG_SHA1 ? 20 : 32;
		uint16_t alg = 0;

		log = load(c, "binary_runtime_measurements", 0, &buf);
		assert_int_equal(vigil_boot_aggregate_alg(log, &alg), 0);
		assert_int_equal(alg, c->boot_alg);
		capture_boot_pcrs(c, bank, size, pcrs);
		if (vigil_boot_aggregate_check(log, alg, pcrs) != VIGIL_BOOT_AGGREGATE_OK)
			fail_msg("%s: boot_aggregate does not match PCR 0..9", c->dir);
		pcrs[c->boot_alg == TPM2_ALG_SHA1 ? 7 : 9][0] ^= 1;
		assert_int_equal(vigil_boot_aggregate_check(log, alg, pcrs),
				 VIGIL_BOOT_AGGREGATE_MISMATCH);
		assert_int_equal(vigil_boot_aggregate_check(log, TPM2_ALG_SHA384, pcrs),
				 VIGIL_BOOT_AGGREGATE_OTHER_BANK);
	}
}

/* SHA-1 covers PCR 0..7 only: PCR 8 and 9 do not change it. */
static void test_boot_aggregate_compute(void **state)
{
	uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX] = { { 0 } };
	uint8_t a[VIGIL_LOG_DIGEST_MAX], b[VIGIL_LOG_DIGEST_MAX];
	size_t na = 0, nb = 0;

	(void)state;
	assert_int_equal(vigil_boot_aggregate_compute(TPM2_ALG_SHA1, pcrs, a, &na), 0);
	pcrs[9][0] = 1;
	assert_int_equal(vigil_boot_aggregate_compute(TPM2_ALG_SHA1, pcrs, b, &nb), 0);
	assert_int_equal(na, 20);
	assert_memory_equal(a, b, 20);
	assert_int_equal(vigil_boot_aggregate_compute(TPM2_ALG_SHA256, pcrs, a, &na), 0);
	pcrs[9][0] = 0;
	assert_int_equal(vigil_boot_aggregate_compute(TPM2_ALG_SHA256, pcrs, b, &nb), 0);
	assert_int_equal(na, 32);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(vigil_boot_aggregate_compute(0x0012, pcrs, a, &na), -EINVAL);
}

static void test_boot_aggregate_missing(void **state)
{
	uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX] = { { 0 } };
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	struct vigil_log rest;
	uint16_t alg = 77;

	(void)state;
	log = load(&captures[3], "binary_runtime_measurements", 0, &buf);
	rest = *log;
	rest.records++;
	rest.count--;
	assert_int_equal(vigil_boot_aggregate_check(&rest, TPM2_ALG_SHA256, pcrs),
			 VIGIL_BOOT_AGGREGATE_MISSING);
	assert_int_equal(vigil_boot_aggregate_alg(&rest, &alg), -ENOENT);
	assert_int_equal(alg, 77);
	rest.count = 0;
	assert_int_equal(vigil_boot_aggregate_check(&rest, TPM2_ALG_SHA256, pcrs),
			 VIGIL_BOOT_AGGREGATE_MISSING);
}

/* Run a command; returns its exit status, or -1 if it could not run. */
static int run(const char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int status = -1;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) == 0)
		waitpid(pid, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* evmctl's PCR file: the capture's 24 PCRs, PCR 10 replaced by what vigil_replay() computed. */
static void write_pcr_file(const char *path, const struct capture *c, const char *bank, size_t size,
			   const uint8_t *pcr10)
{
	FILE *f = fopen(path, "w");
	uint8_t v[VIGIL_LOG_DIGEST_MAX];

	assert_non_null(f);
	for (unsigned int i = 0; i < 24; i++) {
		if (i == 10)
			memcpy(v, pcr10, size);
		else
			assert_int_equal(capture_pcr(c, bank, i, v, size), 0);
		fprintf(f, "PCR-%02u: ", i);
		for (size_t j = 0; j < size; j++)
			fprintf(f, "%02x", v[j]);
		fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
}

/* The independent witness: evmctl replays the log to the values vigil computed. */
static void test_evmctl_agrees(void **state)
{
	char dir[] = "/tmp/vigil-test-evmctl.XXXXXX", log_path[4200], sha1[128], sha256[128];
	char arg1[256], arg2[256];

	(void)state;
	if (run((const char *const[]){ "evmctl", "--version", NULL }) < 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(sha1, sizeof(sha1), "%s/sha1", dir);
	snprintf(sha256, sizeof(sha256), "%s/sha256", dir);
	for (size_t i = 0; i < CAPTURES; i++) {
		_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
		_cleanup_free_ uint8_t *buf = NULL;
		struct vigil_replay_result r1, r256;

		log = load(&captures[i], "binary_runtime_measurements", 0, &buf);
		assert_int_equal(vigil_replay(log, TPM2_ALG_SHA1, 10, 0, NULL, &r1), 0);
		assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 10, 0, NULL, &r256), 0);
		write_pcr_file(sha1, &captures[i], "sha1", 20, r1.value);
		write_pcr_file(sha256, &captures[i], "sha256", 32, r256.value);
		snprintf(log_path, sizeof(log_path), IMA_DIR "%s/binary_runtime_measurements",
			 captures[i].dir);
		snprintf(arg1, sizeof(arg1), "sha1,%s", sha1);
		snprintf(arg2, sizeof(arg2), "sha256,%s", sha256);
		if (run((const char *const[]){ "evmctl", "ima_measurement", "--ignore-violations",
					       "--pcrs", arg1, "--pcrs", arg2, log_path, NULL }))
			fail_msg("%s: evmctl does not accept vigil's replay", captures[i].dir);
		/* and it rejects a value vigil did not compute */
		r256.value[0] ^= 1;
		write_pcr_file(sha256, &captures[i], "sha256", 32, r256.value);
		assert_int_not_equal(run((const char *const[]){ "evmctl", "ima_measurement",
								"--ignore-violations", "--pcrs",
								arg2, log_path, NULL }),
				     0);
	}
	unlink(sha1);
	unlink(sha256);
	rmdir(dir);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures_replay),
		cmocka_unit_test(test_padded_sha1_bank),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_match_extra_records),
		cmocka_unit_test(test_flipped_bit),
		cmocka_unit_test(test_swapped_and_dropped),
		cmocka_unit_test(test_violation_forged),
		cmocka_unit_test(test_no_data_records),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_boot_aggregate),
		cmocka_unit_test(test_boot_aggregate_compute),
		cmocka_unit_test(test_boot_aggregate_missing),
		cmocka_unit_test(test_evmctl_agrees),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
