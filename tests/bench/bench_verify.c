// SPDX-License-Identifier: MIT
/*
 * bench_verify.c: the verifier's two hot paths, timed in CPU time for tests/bench/verify.part.
 *
 *   bench_verify replay RECORDS DIR	write a synthetic ima-ng log of RECORDS records to
 *					DIR/log.bin and evmctl PCR files DIR/pcrs-sha1.txt and
 *					DIR/pcrs-sha256.txt, then time vigil_log_parse() +
 *					vigil_replay_match() (sha256 bank, PCR 10) on it, and
 *					vigil_appraise() of every record it covers against a
 *					policy holding each record's path and digest
 *   bench_verify quote			time vigil_quote_verify() on a software-signed ECDSA
 *					P-256 quote for about 2 s of CPU time
 *
 * Each prints one "key=value ..." line on stdout. The log is what IMA writes (little-endian,
 * boot_aggregate first, SHA-1 template digests of the template data, PCR 10), with paths drawn
 * from a table of real directories and random sha256 file digests. The expected PCR values are
 * computed here with OpenSSL, independently of libvigil, so a replay that does not match them
 * is a bug and fails the benchmark rather than timing it.
 *
 * Invariants: a figure is printed only for a run whose result was checked (the replay matched
 * all RECORDS records, every quote was accepted); deterministic input (fixed PRNG seed), so two
 * runs time the same bytes. Not part of libvigil: it prints and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "log.h"
#include "policy.h"
#include "quote_builder.h"
#include "replay.h"

#define PCR 10 /* IMA's PCR: what evmctl replays by default */
#define SHA1_SIZE 20
#define SHA256_SIZE 32
#define RUNS 3 /* replay: best of */
#define QUOTE_SECONDS 2.0
#define NAME_MAX_LEN 160

static void die(const char *what)
{
	fprintf(stderr, "bench_verify: %s\n", what);
	exit(1);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		die("clock_gettime failed");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: reproducible "random" digests and path choices. */
static uint64_t rnd(void)
{
	static uint64_t s = 0x9e3779b97f4a7c15ull;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

/* ---- the synthetic log ---- */

/* A growing buffer; aborts on allocation failure. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 1 << 20;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory");
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put32(struct buf *b, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(b, le, sizeof(le));
}

/* The running PCR 10 of one bank, and the context that hashes for it. */
struct bank {
	EVP_MD_CTX *ctx;
	size_t size;
	uint8_t pcr[SHA256_SIZE];
};

static void hash(struct bank *bk, const void *a, size_t alen, const void *b, size_t blen,
		 uint8_t *out)
{
	if (!EVP_DigestInit_ex2(bk->ctx, NULL, NULL) || !EVP_DigestUpdate(bk->ctx, a, alen) ||
	    !EVP_DigestUpdate(bk->ctx, b, blen) || !EVP_DigestFinal_ex(bk->ctx, out, NULL))
		die("hash failed");
}

static void bank_init(struct bank *bk, const char *name, size_t size)
{
	*bk = (struct bank){ .ctx = EVP_MD_CTX_new(), .size = size };
	if (!bk->ctx || !EVP_DigestInit_ex2(bk->ctx, EVP_get_digestbyname(name), NULL))
		die("digest init failed");
}

/* PCR = H(PCR || H(template data)): IMA's extend of a bank it can hash. */
static void bank_extend(struct bank *bk, const uint8_t *data, size_t len)
{
	uint8_t td[SHA256_SIZE];

	hash(bk, data, len, NULL, 0, td);
	hash(bk, bk->pcr, bk->size, td, bk->size, bk->pcr);
}

/* A plausible absolute path: a system directory, a name, sometimes a version suffix. */
static size_t make_path(char *out, size_t index)
{
	static const char *const dirs[] = {
		"/usr/bin",
		"/usr/sbin",
		"/usr/lib/x86_64-linux-gnu",
		"/usr/libexec",
		"/usr/lib/systemd",
		"/usr/lib/python3/dist-packages",
		"/usr/local/bin",
		"/etc",
		"/usr/share/perl5",
		"/usr/lib/modules/6.1.0-28-amd64/kernel/drivers/net",
	};
	static const char *const stems[] = { "ssh",  "python3", "libc",	  "libssl", "bash",
					     "gzip", "systemd", "libz",	  "dpkg",   "apt",
					     "curl", "ld",	"libgcc", "perl",   "tar" };
	static const char *const exts[] = { "", ".so.6", ".so.3", ".py", ".conf", ".ko" };
	uint64_t r = rnd();
	int n = snprintf(out, NAME_MAX_LEN, "%s/%s-%zu%s",
			 dirs[r % (sizeof(dirs) / sizeof(dirs[0]))],
			 stems[(r >> 8) % (sizeof(stems) / sizeof(stems[0]))], index,
			 exts[(r >> 16) % (sizeof(exts) / sizeof(exts[0]))]);

	return n < NAME_MAX_LEN ? (size_t)n : NAME_MAX_LEN - 1;
}

/* One ima-ng record: SHA-1 template digest of "sha256:\0"+digest and the NUL-ended name. */
static void put_record(struct buf *log, struct bank banks[2], const char *name, size_t nlen,
		       const uint8_t file_digest[SHA256_SIZE])
{
	static const char alg[] = "sha256:"; /* with its NUL: 8 bytes */
	uint8_t data[4 + sizeof(alg) + SHA256_SIZE + 4 + NAME_MAX_LEN + 1];
	uint8_t td[SHA1_SIZE];
	struct buf d = { .p = data, .cap = sizeof(data) };

	put32(&d, sizeof(alg) + SHA256_SIZE);
	put(&d, alg, sizeof(alg));
	put(&d, file_digest, SHA256_SIZE);
	put32(&d, (uint32_t)nlen + 1);
	put(&d, name, nlen + 1);
	hash(&banks[0], d.p, d.len, NULL, 0, td);
	put32(log, PCR);
	put(log, td, sizeof(td));
	put32(log, 6);
	put(log, "ima-ng", 6);
	put32(log, (uint32_t)d.len);
	put(log, d.p, d.len);
	bank_extend(&banks[0], d.p, d.len);
	bank_extend(&banks[1], d.p, d.len);
}

/* boot_aggregate of PCRs 0-9 all zero (what the PCR files claim), then @n - 1 files. */
static void make_log(struct buf *log, size_t n, struct bank banks[2])
{
	uint8_t zeros[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX] = { { 0 } };
	uint8_t digest[SHA256_SIZE];
	char name[NAME_MAX_LEN];
	size_t size = 0;

	if (vigil_boot_aggregate_compute(TPM2_ALG_SHA256, zeros, digest, &size) < 0 ||
	    size != SHA256_SIZE)
		die("boot_aggregate failed");
	put_record(log, banks, "boot_aggregate", strlen("boot_aggregate"), digest);
	for (size_t i = 1; i < n; i++) {
		for (size_t j = 0; j < SHA256_SIZE; j += 8) {
			uint64_t r = rnd();

			memcpy(digest + j, &r, 8);
		}
		put_record(log, banks, name, make_path(name, i), digest);
	}
}

/* evmctl's PCR file: all 24 PCRs, "PCR-NN: hex", only PCR 10 non-zero. */
static void write_pcrs(const char *dir, const char *bank, const struct bank *bk)
{
	char path[4096], hex[2 * SHA256_SIZE + 1];
	FILE *f;

	snprintf(path, sizeof(path), "%s/pcrs-%s.txt", dir, bank);
	f = fopen(path, "w");
	if (!f)
		die("cannot write a PCR file");
	for (unsigned int i = 0; i < 24; i++) {
		for (size_t j = 0; j < bk->size; j++)
			sprintf(hex + 2 * j, "%02x", i == PCR ? bk->pcr[j] : 0);
		fprintf(f, "PCR-%02u: %s\n", i, hex);
	}
	if (fclose(f) != 0)
		die("cannot write a PCR file");
}

static void write_log(const char *dir, const struct buf *log)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/log.bin", dir);
	f = fopen(path, "w");
	if (!f || fwrite(log->p, 1, log->len, f) != log->len || fclose(f) != 0)
		die("cannot write the log");
}

/* ---- replay ---- */

/* One verification of the whole log in memory; CPU seconds. */
static double replay_once(const struct buf *log, size_t n, const uint8_t expected[SHA256_SIZE])
{
	struct vigil_log *parsed = NULL;
	size_t covered = 0;
	double t0 = cpu_seconds(), t;
	int r;

	if (vigil_log_parse(log->p, log->len, NULL, &parsed, NULL) < 0)
		die("vigil_log_parse failed");
	r = vigil_replay_match(parsed, TPM2_ALG_SHA256, PCR, expected, SHA256_SIZE, &covered);
	vigil_log_free(parsed);
	t = cpu_seconds() - t0;
	if (r != VIGIL_REPLAY_MATCH || covered != n)
		die("the log does not replay to the expected PCR value");
	return t;
}

/* A policy allowing every record of the log at its path (record 0, boot_aggregate, too). */
static struct vigil_policy *policy_of(const struct buf *log)
{
	struct vigil_policy_info info = { .name = "bench",
					  .valid_until = 4102444800,
					  .hash_alg = TPM2_ALG_SHA256,
					  .digest_size = SHA256_SIZE };
	struct vigil_policy *p = NULL;
	struct vigil_log *parsed = NULL;

	if (vigil_policy_new(&info, &p) < 0 ||
	    vigil_log_parse(log->p, log->len, NULL, &parsed, NULL) < 0)
		die("policy setup failed");
	for (size_t i = 0; i < parsed->count; i++) {
		struct vigil_log_fields f;

		if (vigil_log_record_fields(parsed, &parsed->records[i], &f) < 0 ||
		    vigil_policy_add_digest(p, f.name, f.name_len, f.digest) < 0)
			die("policy setup failed");
	}
	vigil_log_free(parsed);
	return p;
}

/* Replay, then every covered record against @p: what `vigil verify --policy` adds. CPU seconds
 * of the appraisal alone, on the log the replay just went through. */
static double appraise_once(const struct buf *log, size_t n, const uint8_t expected[SHA256_SIZE],
			    const struct vigil_policy *p)
{
	struct vigil_log *parsed = NULL;
	struct vigil_verdict v;
	size_t covered = 0;
	double t0, t = 0;
	int r;

	vigil_verdict_init(&v);
	if (vigil_log_parse(log->p, log->len, NULL, &parsed, NULL) < 0)
		die("vigil_log_parse failed");
	r = vigil_replay_match(parsed, TPM2_ALG_SHA256, PCR, expected, SHA256_SIZE, &covered);
	t0 = cpu_seconds();
	if (r == VIGIL_REPLAY_MATCH && vigil_appraise(parsed, covered, p, PCR, NULL, &v) < 0)
		die("vigil_appraise failed");
	t = cpu_seconds() - t0;
	vigil_log_free(parsed);
	if (r != VIGIL_REPLAY_MATCH || covered != n || v.records_checked != n ||
	    v.checks[VIGIL_CHECK_POLICY] != VIGIL_RESULT_PASS)
		die("the log does not replay, or a record is not allowed");
	vigil_verdict_release(&v);
	return t;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the command line's order */
static int cmd_replay(const char *count, const char *dir)
{
	struct vigil_policy *policy;
	struct bank banks[2];
	struct buf log = { 0 };
	double best = 0, best_appraise = 0;
	char *end;
	size_t n = strtoul(count, &end, 10);

	if (*end || n == 0 || n > VIGIL_LOG_RECORDS_MAX)
		die("RECORDS: 1 to 10000000");
	bank_init(&banks[0], "SHA1", SHA1_SIZE);
	bank_init(&banks[1], "SHA256", SHA256_SIZE);
	make_log(&log, n, banks);
	write_log(dir, &log);
	write_pcrs(dir, "sha1", &banks[0]);
	write_pcrs(dir, "sha256", &banks[1]);
	policy = policy_of(&log);
	/* interleaved, so both see the same state of the machine and of the allocator */
	for (int i = 0; i < RUNS; i++) {
		double t = replay_once(&log, n, banks[1].pcr);
		double a = appraise_once(&log, n, banks[1].pcr, policy);

		if (i == 0 || t < best)
			best = t;
		if (i == 0 || a < best_appraise)
			best_appraise = a;
	}
	printf("replay records=%zu bytes=%zu cpu_s=%.4f records_per_s=%.0f "
	       "appraise_cpu_s=%.4f appraise_records_per_s=%.0f\n",
	       n, log.len, best, (double)n / best, best_appraise, (double)n / best_appraise);
	vigil_policy_free(policy);
	free(log.p);
	EVP_MD_CTX_free(banks[0].ctx);
	EVP_MD_CTX_free(banks[1].ctx);
	return 0;
}

/* ---- quote ---- */

/* A verifier's view of one quote: what `vigil verify` passes for an evidence document. */
struct quote {
	struct qb_key key;
	TPML_PCR_SELECTION sel;
	struct vigil_pcr_values vals;
	uint8_t nonce[16];
	uint8_t attest[sizeof(TPMS_ATTEST)];
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	struct vigil_quote_input in;
};

static void make_quote(struct quote *q)
{
	uint8_t pcr[SHA256_SIZE];
	TPMS_ATTEST a;

	qb_key_new(QB_ECC256, &q->key);
	memset(q->nonce, 0x5a, sizeof(q->nonce));
	memset(pcr, 0xa5, sizeof(pcr));
	if (vigil_pcrsel_parse("sha256:10", &q->sel) < 0 ||
	    vigil_pcr_values_add(&q->vals, TPM2_ALG_SHA256, PCR, pcr, sizeof(pcr)) < 0)
		die("PCR selection failed");
	a = qb_attest(&q->key, q->nonce, sizeof(q->nonce), &q->sel, &q->vals);
	q->in = (struct vigil_quote_input){
		.attest = q->attest,
		.attest_len = qb_marshal_attest(&a, q->attest, sizeof(q->attest)),
		.ak = qb_public(&q->key),
		.ak_public = &q->key.pub,
		.nonce = q->nonce,
		.nonce_len = sizeof(q->nonce),
		.selection = &q->sel,
		.pcrs = &q->vals,
	};
	q->in.sig = q->sig;
	q->in.sig_len = qb_sign(&q->key, &q->key.scheme, q->attest, q->in.attest_len, q->sig,
				sizeof(q->sig));
}

static int cmd_quote(void)
{
	static struct quote q;
	struct vigil_verdict v;
	size_t n = 0;
	double t0, t = 0;

	make_quote(&q);
	t0 = cpu_seconds();
	while (t < QUOTE_SECONDS) {
		for (int i = 0; i < 64; i++, n++) {
			vigil_verdict_init(&v);
			if (vigil_quote_verify(&q.in, &v, NULL) < 0 ||
			    v.reason != VIGIL_REJECT_NONE ||
			    v.checks[VIGIL_CHECK_PCR_DIGEST] != VIGIL_RESULT_PASS)
				die("the quote was not accepted");
		}
		t = cpu_seconds() - t0;
	}
	printf("quote alg=ecdsa-p256 verifications=%zu cpu_s=%.4f verifications_per_s=%.0f\n", n, t,
	       (double)n / t);
	EVP_PKEY_free(q.in.ak);
	qb_key_free(&q.key);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "replay"))
		return cmd_replay(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "quote"))
		return cmd_quote();
	fprintf(stderr, "usage: bench_verify replay RECORDS DIR | bench_verify quote\n");
	return 2;
}
