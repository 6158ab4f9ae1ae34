// SPDX-License-Identifier: MIT
/*
 * bench_policy.c: the cost of an attestation policy on a verifier, timed in CPU time.
 *
 *   bench_policy DIGESTS	build a synthetic policy of DIGESTS (path, sha256 digest) pairs,
 *				one per path, with realistic paths; then time, on its canonical
 *				text: vigil_policy_parse() (parse + index), the SHA-256 of the
 *				text (what a signature check hashes), a verifier's load (read a
 *				DSSE envelope of it signed with a fresh ECDSA P-256 key from its
 *				file, then vigil_policy_load_signed()), and vigil_policy_check()
 *				over a mix of records
 *
 * Prints one line of "key=value" pairs on stdout: digests, text_bytes, parse_ms (median of
 * the runs) and parse_min_ms (fastest), sha256_ms, load_ms and load_wall_ms (median CPU and
 * wall-clock time: the signature is checked in a second thread), bytes_per_digest (heap the
 * parsed policy holds by mallinfo2(), divided by DIGESTS), index_bytes_per_digest
 * (vigil_policy_memory()), check_ns (per record: half allowed, a quarter digest mismatches, a
 * quarter paths not in the policy, in random order).
 *
 * Paths are drawn from a table of real directories, stems and suffixes, 40 to 60 bytes like
 * /usr/lib/x86_64-linux-gnu/libssl-104233.so.3; digests are random. Invariants: a figure is
 * printed only for a run whose result was checked (every parse equals the built policy in
 * counts, every load is LOADED, every check gives the expected decision); the input is
 * deterministic (fixed PRNG seed). Not part of libvigil: it prints and exits.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "policy.h"

#define SHA256_SIZE 32
#define PATH_LEN 96
#define CHECKS 2000000
#define NOW 1767225600 /* 2026-01-01: before the policy's valid_until */

static void die(const char *what)
{
	fprintf(stderr, "bench_policy: %s\n", what);
	exit(1);
}

static double seconds(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		die("clock_gettime failed");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	return seconds(CLOCK_PROCESS_CPUTIME_ID);
}

/* xorshift64*: reproducible digests and path choices. */
static uint64_t rnd(void)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

static void random_digest(uint8_t *d)
{
	for (size_t j = 0; j < SHA256_SIZE; j += 8) {
		uint64_t r = rnd();

		memcpy(d + j, &r, 8);
	}
}

/* A plausible absolute path: a system directory, a stem with a number, maybe a suffix. */
static size_t make_path(char *out, size_t index)
{
	static const char *const dirs[] = {
		"/usr/bin",
		"/usr/sbin",
		"/usr/lib/x86_64-linux-gnu",
		"/usr/libexec/openssh",
		"/usr/lib/systemd/system-generators",
		"/usr/lib/python3/dist-packages/apt",
		"/usr/lib/x86_64-linux-gnu/gconv",
		"/etc/ssh",
		"/usr/share/perl5/Debconf",
		"/usr/lib/modules/6.1.0-28-amd64/kernel/drivers/net",
	};
	static const char *const stems[] = { "ssh",  "python3", "libc",	  "libssl", "bash",
					     "gzip", "systemd", "libz",	  "dpkg",   "apt",
					     "curl", "ld",	"libgcc", "perl",   "tar" };
	static const char *const exts[] = { "", ".so.6", ".so.3", ".py", ".conf", ".ko" };
	uint64_t r = rnd();
	int n = snprintf(out, PATH_LEN, "%s/%s-%zu%s", dirs[r % (sizeof(dirs) / sizeof(dirs[0]))],
			 stems[(r >> 8) % (sizeof(stems) / sizeof(stems[0]))], index,
			 exts[(r >> 16) % (sizeof(exts) / sizeof(exts[0]))]);

	return n < PATH_LEN ? (size_t)n : PATH_LEN - 1;
}

/* The records checked: a path and a digest, and the decision expected. */
struct record {
	char path[PATH_LEN];
	size_t len;
	uint8_t digest[SHA256_SIZE];
	enum vigil_policy_result expect;
};

struct input {
	size_t n;
	char *text;
	size_t len;
	struct record *rec; /* CHECKS records */
};

static void make_input(struct input *in, size_t n)
{
	struct vigil_policy_info info = { .name = "bench",
					  .version = 1,
					  .valid_until = 1893456000, /* 2030 */
					  .hash_alg = TPM2_ALG_SHA256 };
	struct vigil_policy *p = NULL;
	struct record *all = malloc(n * sizeof(*all));

	in->rec = malloc(CHECKS * sizeof(*in->rec));
	if (!all || !in->rec || vigil_policy_new(&info, &p) < 0)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		all[i].len = make_path(all[i].path, i);
		random_digest(all[i].digest);
		if (vigil_policy_add_digest(p, all[i].path, all[i].len, all[i].digest) < 0)
			die("vigil_policy_add_digest failed");
	}
	if (vigil_policy_format(p, &in->text, &in->len) < 0)
		die("vigil_policy_format failed");
	for (size_t i = 0; i < CHECKS; i++) {
		struct record *r = &in->rec[i];
		uint64_t k = rnd();

		*r = all[k % n];
		r->expect = VIGIL_POLICY_ALLOWED;
		if ((k >> 32) % 4 == 2) {
			random_digest(r->digest);
			r->expect = VIGIL_POLICY_DIGEST_MISMATCH;
		} else if ((k >> 32) % 4 == 3) {
			r->len = make_path(r->path, n + i);
			r->expect = VIGIL_POLICY_NOT_IN_POLICY;
		}
	}
	in->n = n;
	vigil_policy_free(p);
	free(all);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void check_counts(const struct vigil_policy *p, size_t n)
{
	const struct vigil_policy_info *info = vigil_policy_info(p);

	if (info->paths != n || info->digests != n)
		die("the parsed policy does not have every digest");
}

/* Median CPU time of parse + index, and the fastest; also the heap a parsed policy holds. */
static double time_parse(const struct input *in, int runs, double *ret_min, size_t *ret_heap,
			 size_t *ret_index)
{
	double t[64];

	for (int i = 0; i < runs; i++) {
		struct vigil_policy_error err;
		struct vigil_policy *p = NULL;
		size_t before = heap_bytes();
		double t0 = cpu_seconds();

		if (vigil_policy_parse(in->text, in->len, &p, &err) < 0)
			die(err.what);
		t[i] = cpu_seconds() - t0;
		*ret_heap = heap_bytes() - before;
		*ret_index = vigil_policy_memory(p);
		check_counts(p, in->n);
		vigil_policy_free(p);
	}
	*ret_min = t[0];
	for (int i = 1; i < runs; i++)
		if (t[i] < *ret_min)
			*ret_min = t[i];
	return median(t, (size_t)runs);
}

static double time_sha256(const struct input *in, int runs)
{
	uint8_t md[SHA256_SIZE];
	double t[64];

	for (int i = 0; i < runs; i++) {
		double t0 = cpu_seconds();

		if (!EVP_Digest(in->text, in->len, md, NULL, EVP_sha256(), NULL))
			die("SHA-256 failed");
		t[i] = cpu_seconds() - t0;
	}
	return median(t, (size_t)runs);
}

/* A signed envelope of the text, in a file (it stays in the page cache). */
static void write_envelope(const struct input *in, EVP_PKEY *key, char *path)
{
	struct vigil_dsse *env = NULL;
	char *envelope = NULL;
	int fd = mkstemp(path);

	if (fd < 0 ||
	    vigil_dsse_new(VIGIL_POLICY_PAYLOAD_TYPE, (const uint8_t *)in->text, in->len, &env) <
		    0 ||
	    vigil_dsse_sign(env, key) < 0 || vigil_dsse_format(env, &envelope) < 0)
		die("signing the policy failed");
	close(fd);
	if (vigil_file_write_atomic(path, envelope, strlen(envelope), 0600) < 0)
		die("writing the envelope failed");
	free(envelope);
	vigil_dsse_free(env);
}

/* Median CPU and wall-clock time of a verifier's load: the signed envelope from its file
 * (vigil_file_map(), as vigil verify reads it), then vigil_policy_load_signed() (which checks the signature in a second thread while it
 * parses a large payload). */
static double time_load(const struct input *in, int runs, double *ret_wall)
{
	char path[] = "/tmp/vigil-bench-policy.XXXXXX";
	double wall[64];
	EVP_PKEY *key = NULL;
	double t[64];

	if (vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &key) < 0)
		die("generating a key failed");
	write_envelope(in, key, path);
	for (int i = 0; i < runs; i++) {
		struct vigil_policy_error err;
		struct vigil_policy *p = NULL;
		uint8_t *text = NULL;
		size_t len = 0;
		double t0 = cpu_seconds(), w0 = seconds(CLOCK_MONOTONIC);
		int r = vigil_file_read(path, VIGIL_POLICY_ENVELOPE_MAX, &text, &len);

		if (r == 0)
			r = vigil_policy_load_signed((const char *)text, len, &key, 1, NOW, &p,
						     NULL, &err);
		free(text);
		t[i] = cpu_seconds() - t0;
		wall[i] = seconds(CLOCK_MONOTONIC) - w0;
		if (r != VIGIL_POLICY_LOADED)
			die("reading and loading the signed policy failed");
		check_counts(p, in->n);
		vigil_policy_free(p);
	}
	unlink(path);
	EVP_PKEY_free(key);
	*ret_wall = median(wall, (size_t)runs);
	return median(t, (size_t)runs);
}

static double time_check(const struct input *in)
{
	struct vigil_policy_error err;
	struct vigil_policy *p = NULL;
	double t0, t;

	if (vigil_policy_parse(in->text, in->len, &p, &err) < 0)
		die(err.what);
	t0 = cpu_seconds();
	for (size_t i = 0; i < CHECKS; i++) {
		const struct record *r = &in->rec[i];
		enum vigil_policy_result res;

		if (vigil_policy_check(p, r->path, r->len, r->digest, &res) < 0 || res != r->expect)
			die("vigil_policy_check gave the wrong decision");
	}
	t = cpu_seconds() - t0;
	vigil_policy_free(p);
	return t / CHECKS * 1e9;
}

int main(int argc, char **argv)
{
	struct input in = { 0 };
	size_t heap = 0, index = 0, n;
	double parse, parse_min, sha, load, load_wall, check;
	char *end;
	int runs;

	if (argc != 2)
		die("usage: bench_policy DIGESTS");
	n = strtoul(argv[1], &end, 10);
	if (*end || n < 1000 || n > 10000000)
		die("DIGESTS: 1000 to 10000000");
	runs = n > 100000 ? 11 : 31;
	make_input(&in, n);
	parse = time_parse(&in, runs, &parse_min, &heap, &index);
	sha = time_sha256(&in, runs);
	load = time_load(&in, runs, &load_wall);
	check = time_check(&in);
	printf("policy digests=%zu text_bytes=%zu parse_ms=%.3f parse_min_ms=%.3f sha256_ms=%.3f "
	       "load_ms=%.3f load_wall_ms=%.3f bytes_per_digest=%.1f index_bytes_per_digest=%.1f "
	       "check_ns=%.1f\n",
	       n, in.len, parse * 1e3, parse_min * 1e3, sha * 1e3, load * 1e3, load_wall * 1e3,
	       (double)heap / (double)n, (double)index / (double)n, check);
	free(in.text);
	free(in.rec);
	return 0;
}
