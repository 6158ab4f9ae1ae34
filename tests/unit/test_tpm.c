// SPDX-License-Identifier: MIT
/*
 * test_tpm.c: the attestation commands against a software TPM, with tpm2-tools as the
 * independent witness: `vigil ak create`, `vigil quote`, `vigil verify`, `vigil evidence
 * export` -> tpm2_checkquote, and tpm2_quote output -> `vigil verify`, plus a negative case per
 * reason code at the command line.
 *
 * The group setup starts a private swtpm (swtpm_setup --createek first, as a real machine has
 * an EK) on a free pair of 127.0.0.1 ports in a temporary directory; the teardown kills it. The
 * swtpm child also dies with this process (PR_SET_PDEATHSIG), so parallel and interrupted runs
 * never leave one behind or share one. Without swtpm or tpm2-tools every test is skipped.
 *
 * Commands run with stdin on /dev/null, stdout/stderr captured, TPM2TOOLS_TCTI pointing at the
 * private swtpm, TSS2_LOG silenced and LC_ALL=C.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "spawn.h"
#include "attest.h"
#include "cleanup.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

#define NONCE "00112233445566778899aabbccddeeff"
#define NONCE2 "ffeeddccbbaa99887766554433221100"

struct env {
	pid_t swtpm;
	int port;
	char dir[64]; /* the test's temporary directory; the TPM state is in dir/tpm */
};

static struct env *E; /* for the helpers; the tests get it as their state too */

struct run {
	int code;
	char out[65536];
	char err[8192];
};

static struct run R; /* the last command's result */

/* Run @argv (argv[0] a path) in the test directory, output captured. */
static int spawn(struct run *r, char *const argv[])
{
	int out = -1, err = -1;

	if (spawn_capture(argv, E->dir, &r->code, &out, &err) < 0)
		return r->code = -1;
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
	return r->code;
}

/* vigil with arguments (NULL-terminated). */
static int vigil(struct run *r, ...)
{
	char *argv[32] = { VIGIL_BIN };
	va_list ap;
	size_t n = 1;

	va_start(ap, r);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return spawn(r, argv);
}

/* A shell command line (tpm2-tools, file surgery), in the test directory. */
static int sh(struct run *r, const char *fmt, ...)
{
	char cmd[4096];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return spawn(r, argv);
}

#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

/* Expect `vigil ...` to exit @code; on a mismatch show what it said. */
#define VIGIL(want, ...)                                                                           \
	do {                                                                                       \
		if (vigil(&R, __VA_ARGS__, NULL) != (want))                                        \
			fail_msg("exit %d, not %d\nstdout: %s\nstderr: %s", R.code, (want), R.out, \
				 R.err);                                                           \
	} while (0)

#define SH(...)                                                                                \
	do {                                                                                   \
		if (sh(&R, __VA_ARGS__) != 0)                                                  \
			fail_msg("shell: exit %d\nstderr: %s\nstdout: %.2000s", R.code, R.err, \
				 R.out);                                                       \
	} while (0)

static bool port_free(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void exec_swtpm(const struct env *e, pid_t parent)
{
	char server[96], ctrl[96], state[96], log[96];
	int fd;

	/* dies with the test, however the test ends */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	snprintf(log, sizeof(log), "%s/swtpm.log", e->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", e->port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", e->port + 1);
	snprintf(state, sizeof(state), "dir=%s/tpm", e->dir);
	execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrl, "--flags",
	       "not-need-init,startup-clear", "--tpmstate", state, (char *)NULL);
	_exit(127);
}

/* Start swtpm on a free port pair; retry elsewhere if another process won the race. */
static int start_swtpm(struct env *e)
{
	srand((unsigned int)(getpid() ^ time(NULL)));
	for (int attempt = 0; attempt < 20; attempt++) {
		pid_t parent = getpid();
		int status;

		e->port = 20000 + 2 * (rand() % 15000);
		if (!port_free(e->port) || !port_free(e->port + 1))
			continue;
		e->swtpm = fork();
		if (e->swtpm < 0)
			return -1;
		if (e->swtpm == 0)
			exec_swtpm(e, parent);
		for (int i = 0; i < 100 && !port_open(e->port); i++) {
			if (waitpid(e->swtpm, &status, WNOHANG) == e->swtpm)
				break;
			usleep(50000);
		}
		if (port_open(e->port) && port_open(e->port + 1))
			return 0;
		kill(e->swtpm, SIGKILL);
		waitpid(e->swtpm, &status, 0);
		e->swtpm = 0;
	}
	return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	static struct env e;
	char tcti[64];

	E = &e;
	*state = &e;
	snprintf(e.dir, sizeof(e.dir), "/tmp/vigil-test-tpm.XXXXXX");
	if (!mkdtemp(e.dir))
		return -1;
	setenv("TSS2_LOG", "all+none", 1);
	setenv("LC_ALL", "C", 1);
	if (sh(&R, "command -v swtpm && command -v swtpm_setup && command -v tpm2_quote && "
		   "command -v tpm2_checkquote && command -v tpm2_certify") != 0)
		return 0; /* every test skips */
	if (sh(&R, "mkdir tpm && { swtpm_setup --tpm2 --tpmstate $PWD/tpm --createek "
		   "--create-ek-cert --create-platform-cert --overwrite || "
		   "swtpm_setup --tpm2 --tpmstate $PWD/tpm --createek --overwrite; }") != 0 ||
	    start_swtpm(&e) < 0) {
		fprintf(stderr, "# swtpm did not start: %s%s\n", R.out, R.err);
		return -1;
	}
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", e.port);
	setenv("TPM2TOOLS_TCTI", tcti, 1);
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	int status;

	if (e->swtpm > 0) {
		kill(e->swtpm, SIGTERM);
		waitpid(e->swtpm, &status, 0);
	}
	return nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#define NEED_TPM()                                                                   \
	do {                                                                         \
		if (!E->swtpm) {                                                     \
			fprintf(stderr, "# swtpm or tpm2-tools missing: skipped\n"); \
			skip();                                                      \
		}                                                                    \
	} while (0)

static void put_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

/*
 * Append ima-ng records for @paths to the log file @name (SHA-1 template digests, as in
 * binary_runtime_measurements) and, if @extend, extend PCR 11's sha256 bank as vigil.ko would.
 */
static void add_records(const char *name, const char *const *paths, size_t n, bool extend)
{
	char file[128];
	FILE *f;

	snprintf(file, sizeof(file), "%s/%s", E->dir, name);
	f = fopen(file, "ab");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		uint8_t data[512], d[32], t1[20], t256[32];
		size_t plen = strlen(paths[i]) + 1, len = 0;
		char hex[65];

		assert_int_equal(vigil_hash_digest(TPM2_ALG_SHA256, paths[i], plen, d, 32), 0);
		memcpy(data, "\x28\0\0\0sha256:\0", 12); /* d-ng: length 40, "sha256:\0", digest */
		memcpy(data + 12, d, 32);
		len = 44;
		data[len] = (uint8_t)plen;
		memset(data + len + 1, 0, 3);
		memcpy(data + len + 4, paths[i], plen);
		len += 4 + plen;
		assert_int_equal(vigil_hash_digest(TPM2_ALG_SHA1, data, len, t1, 20), 0);
		assert_int_equal(vigil_hash_digest(TPM2_ALG_SHA256, data, len, t256, 32), 0);
		put_le32(f, 11);
		fwrite(t1, 1, 20, f);
		put_le32(f, 6);
		fwrite("ima-ng", 1, 6, f);
		put_le32(f, (uint32_t)len);
		fwrite(data, 1, len, f);
		vigil_hex_encode(t256, 32, hex, sizeof(hex));
		if (extend)
			SH("tpm2_pcrextend 11:sha256=%s", hex);
	}
	assert_int_equal(fclose(f), 0);
}

/* The value of "key": in a JSON text (first occurrence), copied into @buf. */
static const char *json_value(const char *json, const char *key, char *buf, size_t size)
{
	char pat[64];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	if (!p)
		return "";
	p += strlen(pat);
	n = strcspn(p, ",\n}");
	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
	return buf;
}

static void test_ak_create(void **state)
{
	char name[256];

	(void)state;
	NEED_TPM();
	VIGIL(0, "ak", "create", "--out", "ak.pem");
	assert_contains(R.out, "created: yes");
	assert_contains(R.out, "handle:  0x81400000");
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(strstr(R.out, "name:"), "\n"),
		 strstr(R.out, "name:"));
	SH("test \"$(stat -c %%a ak.pem)\" = 600");
	/* idempotent: the same AK, the same file */
	VIGIL(0, "ak", "create", "--out", "ak.pem");
	assert_contains(R.out, "created: no");
	assert_contains(R.out, name);
	VIGIL(0, "ak", "create", "--alg", "ecc");
	assert_contains(R.out, name);
	/* an ECC AK is not replaced by an RSA one */
	VIGIL(3, "ak", "create", "--alg", "rsa");
	assert_contains(R.err, "not replaced");
	VIGIL(0, "ak", "create", "--alg", "rsa", "--handle", "0x81400001", "--out", "ak-rsa.pem");
	assert_contains(R.out, "alg:     rsa");
	/* a key file with another key is never overwritten */
	VIGIL(3, "ak", "create", "--out", "ak-rsa.pem");
	assert_contains(R.err, "ak-rsa.pem: exists and holds another key");
	/* the EK at its TCG handle (swtpm_setup made it) is no AK */
	VIGIL(3, "ak", "create", "--handle", "0x81010001");
	VIGIL(2, "ak", "create", "--handle", "0x01000000");
	VIGIL(2, "ak", "create", "--alg", "dsa");
}

static void test_quote_verify(void **state)
{
	static const char *const paths[] = { "boot_aggregate", "/usr/bin/sh",
					     "/usr/lib/libc.so.6" };
	static const char *const later[] = { "/etc/app.conf" };
	char buf[256];

	(void)state;
	NEED_TPM();
	add_records("log.bin", paths, 3, true);
	VIGIL(0, "quote", "--nonce", NONCE, "--log", "log.bin", "-o", "ev.json");
	/* a record measured after the quote: in the log, not covered by the quote */
	add_records("log.bin", later, 1, true);
	VIGIL(0, "quote", "--nonce", NONCE2, "--log", "log.bin", "-o", "ev-later.json", "--pcrs",
	      "sha256:0,11");
	add_records("log.bin", later, 1, false);
	VIGIL(0, "quote", "--nonce", NONCE2, "--log", "log.bin", "-o", "ev-ahead.json");
	VIGIL(0, "verify", "ev.json", "--ak", "ak.pem", "--nonce", NONCE);
	assert_contains(R.out, "verdict: accepted");
	assert_contains(R.out, "3 of 3 records covered");
	VIGIL(0, "verify", "ev-ahead.json", "--ak", "ak.pem", "--nonce", NONCE2, "--json");
	assert_string_equal(json_value(R.out, "result", buf, sizeof(buf)), "\"accepted\"");
	assert_string_equal(json_value(R.out, "records_covered", buf, sizeof(buf)), "4");
	assert_string_equal(json_value(R.out, "log_records", buf, sizeof(buf)), "5");
	assert_string_equal(json_value(R.out, "policy_applied", buf, sizeof(buf)), "false");
	VIGIL(0, "verify", "ev-later.json", "--ak", "ak.pem", "--nonce", NONCE2, "--select",
	      "sha256:0,11");
	/* the RSA AK quotes too */
	VIGIL(0, "quote", "--nonce", NONCE, "--log", "log.bin", "-o", "ev-rsa.json", "--handle",
	      "0x81400001");
	VIGIL(0, "verify", "ev-rsa.json", "--ak", "ak-rsa.pem", "--nonce", NONCE);
	VIGIL(3, "quote", "--nonce", NONCE, "--no-log", "-o", "x.json", "--handle", "0x81400009");
	assert_contains(R.err, "no key");
	VIGIL(2, "quote", "--nonce", "0011", "--no-log", "-o", "x.json");
	VIGIL(3, "quote", "--nonce", NONCE, "--log", "missing.bin", "-o", "x.json");
}

/* tpm2_checkquote, which vigil did not write, accepts what `vigil evidence export` writes. */
static void test_export_checkquote(void **state)
{
	(void)state;
	NEED_TPM();
	VIGIL(0, "evidence", "export", "ev.json", "--tpm2-tools", "tt");
	assert_contains(R.out, "nonce: " NONCE);
	SH("tpm2_checkquote -u ak.pem -m tt/quote.msg -s tt/quote.sig -f tt/quote.pcrs -g sha256 "
	   "-q " NONCE);
	assert_int_not_equal(sh(&R, "tpm2_checkquote -u ak.pem -m tt/quote.msg -s tt/quote.sig "
				    "-f tt/quote.pcrs -g sha256 -q " NONCE2),
			     0);
	VIGIL(0, "evidence", "export", "ev-later.json", "--tpm2-tools", "tt2");
	SH("tpm2_checkquote -u ak.pem -m tt2/quote.msg -s tt2/quote.sig -f tt2/quote.pcrs "
	   "-g sha256 -q " NONCE2);
	VIGIL(0, "evidence", "export", "ev-rsa.json", "--tpm2-tools", "tt3");
	SH("tpm2_checkquote -u ak-rsa.pem -m tt3/quote.msg -s tt3/quote.sig -f tt3/quote.pcrs "
	   "-g sha256 -q " NONCE);
	/* and vigil reads its own export back, with the log or with the PCR file */
	VIGIL(0, "verify", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig", "--pcrs",
	      "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
	VIGIL(0, "verify", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig", "--log",
	      "log.bin", "--ak", "ak.pem", "--nonce", NONCE);
	assert_contains(R.out, "3 of 5 records covered");
	VIGIL(1, "evidence", "export", "log.bin", "--tpm2-tools", "tt4");
}

/* vigil accepts what tpm2_createak + tpm2_quote make (ECDSA, RSASSA, RSA-PSS AKs). */
static void test_tpm2_tools_quote(void **state)
{
	static const char *const ak[][2] = { { "ecc", "ecdsa" },
					     { "rsa", "rsassa" },
					     { "rsa", "rsapss" } };
	char msg[16], sig[16], pcrs[16], pem[16];

	(void)state;
	NEED_TPM();
	SH("tpm2_flushcontext -t && tpm2_createek -c ek.ctx -G rsa -u ek.pub && "
	   "tpm2_flushcontext -t");
	for (size_t i = 0; i < 3; i++) {
		SH("tpm2_createak -C ek.ctx -c t.ctx -G %s -g sha256 -s %s -u t%zu.pub -n t.name && "
		   "tpm2_flushcontext -t && tpm2_readpublic -c t.ctx -f pem -o t%zu.pem && "
		   "tpm2_flushcontext -t && tpm2_quote -c t.ctx -l sha256:0,11 -q " NONCE
		   " -m t%zu.msg -s t%zu.sig -o t%zu.pcrs -g sha256 --scheme %s && "
		   "tpm2_flushcontext -t && tpm2_quote -c t.ctx -l sha256:11 -q " NONCE
		   " -m t%zu-11.msg -s t%zu-11.sig -g sha256 --scheme %s && tpm2_flushcontext -t",
		   ak[i][0], ak[i][1], i, i, i, i, i, ak[i][1], i, i, ak[i][1]);
		snprintf(msg, sizeof(msg), "t%zu.msg", i);
		snprintf(sig, sizeof(sig), "t%zu.sig", i);
		snprintf(pcrs, sizeof(pcrs), "t%zu.pcrs", i);
		snprintf(pem, sizeof(pem), "t%zu.pem", i);
		VIGIL(i == 2 ? 1 : 0, "verify", "--quote-msg", msg, "--quote-sig", sig, "--pcrs",
		      pcrs, "--ak", pem, "--nonce", NONCE, "--select", "sha256:0,11");
		VIGIL(0, "verify", "--quote-msg", msg, "--quote-sig", sig, "--pcrs", pcrs, "--ak",
		      pem, "--scheme", ak[i][1], "--nonce", NONCE, "--select", "sha256:0,11");
	}
	/* each with its public area binding the scheme, with quote.pcrs or with the log */
	VIGIL(0, "verify", "--quote-msg", "t1.msg", "--quote-sig", "t1.sig", "--pcrs", "t1.pcrs",
	      "--ak", "t1.pem", "--ak-public", "t1.pub", "--nonce", NONCE, "--select",
	      "sha256:0,11");
	VIGIL(0, "verify", "--quote-msg", "t2.msg", "--quote-sig", "t2.sig", "--pcrs", "t2.pcrs",
	      "--ak", "t2.pem", "--ak-public", "t2.pub", "--nonce", NONCE, "--select",
	      "sha256:0,11");
	VIGIL(0, "verify", "--quote-msg", "t2.msg", "--quote-sig", "t2.sig", "--pcrs", "t2.pcrs",
	      "--ak", "t2.pem", "--scheme", "rsapss", "--nonce", NONCE, "--select", "sha256:0,11");
	/* the PSS AK's quote is not accepted as RSASSA: one scheme, nothing else tried */
	VIGIL(1, "verify", "--quote-msg", "t2.msg", "--quote-sig", "t2.sig", "--pcrs", "t2.pcrs",
	      "--ak", "t2.pem", "--nonce", NONCE, "--select", "sha256:0,11");
	assert_contains(R.err, "scheme_mismatch");
	VIGIL(0, "verify", "--quote-msg", "t0-11.msg", "--quote-sig", "t0-11.sig", "--log",
	      "log.bin", "--ak", "t0.pem", "--nonce", NONCE);
	assert_contains(R.out, "4 of 5 records covered");
}

/* Expect `vigil verify ...` to reject with @reason. */
#define REJECT(reason, ...)                          \
	do {                                         \
		VIGIL(1, "verify", __VA_ARGS__);     \
		assert_contains(R.err, ": " reason); \
	} while (0)

static void test_reject_nonce(void **state)
{
	(void)state;
	NEED_TPM();
	REJECT("nonce_mismatch", "ev.json", "--ak", "ak.pem", "--nonce", NONCE2);
	REJECT("nonce_mismatch", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--pcrs", "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE2);
}

static void test_reject_other_ak(void **state)
{
	(void)state;
	NEED_TPM();
	REJECT("ak_mismatch", "ev.json", "--ak", "ak-rsa.pem", "--nonce", NONCE);
	REJECT("bad_signature", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--pcrs", "tt/quote.pcrs", "--ak", "t0.pem", "--nonce", NONCE);
}

static void test_reject_selection(void **state)
{
	(void)state;
	NEED_TPM();
	REJECT("pcr_selection_mismatch", "ev.json", "--ak", "ak.pem", "--nonce", NONCE, "--select",
	       "sha256:10,11");
	REJECT("pcr_selection_mismatch", "ev-later.json", "--ak", "ak.pem", "--nonce", NONCE2);
}

static void test_reject_malformed(void **state)
{
	(void)state;
	NEED_TPM();
	SH(": > empty.json && echo '{\"vigil_evidence\": 1}' > stub.json && "
	   "truncate -s 300M huge.json && sed 's/\"nonce\"/\"nonce\": \"00\", \"nonce\"/' ev.json "
	   "> dup.json");
	REJECT("bad_format", "empty.json", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("bad_format", "stub.json", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("bad_format", "huge.json", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("bad_format", "dup.json", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("bad_format", "log.bin", "--ak", "ak.pem", "--nonce", NONCE);
	/* the verifier's own inputs are not evidence: could not check */
	VIGIL(3, "verify", "ev.json", "--ak", "missing.pem", "--nonce", NONCE);
	VIGIL(3, "verify", "ev.json", "--ak", "log.bin", "--nonce", NONCE);
	VIGIL(3, "verify", "missing.json", "--ak", "ak.pem", "--nonce", NONCE);
	VIGIL(2, "verify", "ev.json", "--nonce", NONCE);
	VIGIL(2, "verify", "ev.json", "--ak", "ak.pem", "--nonce", "xyz");
	VIGIL(2, "verify", "ev.json", "--ak", "ak.pem", "--nonce", NONCE, "--pcrs", "p");
}

/* Single-bit changes of a real quote's attest and signature, and trailing bytes. */
static void test_reject_tampered(void **state)
{
	/* byte offsets: magic, type, qualifiedSigner, extraData, clockInfo, PCR digest, last */
	static const char *const pos[] = { "0", "3", "6", "20", "40", "60", "90", "128" };
	static const char *const other[] = { "boot_aggregate", "/usr/bin/evil" };

	(void)state;
	NEED_TPM();
	SH("test $(stat -c %%s tt/quote.msg) = 129"); /* 16-byte nonce: the offsets are right */
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		/* flip the lowest bit of byte pos[i] (printf + dd: no xxd needed) */
		SH("cp tt/quote.msg m.bin && b=$(od -An -tu1 -j%s -N1 m.bin) && "
		   "printf \"$(printf '\\\\%%03o' $((b ^ 1)))\" | "
		   "dd of=m.bin bs=1 seek=%s conv=notrunc status=none",
		   pos[i], pos[i]);
		VIGIL(1, "verify", "--quote-msg", "m.bin", "--quote-sig", "tt/quote.sig", "--pcrs",
		      "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
		SH("cp tt/quote.sig s.bin && b=$(od -An -tu1 -j%s -N1 s.bin) && "
		   "printf \"$(printf '\\\\%%03o' $((b ^ 1)))\" | "
		   "dd of=s.bin bs=1 seek=%s conv=notrunc status=none",
		   i < 6 ? pos[i] : "71", i < 6 ? pos[i] : "71");
		VIGIL(1, "verify", "--quote-msg", "tt/quote.msg", "--quote-sig", "s.bin", "--pcrs",
		      "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
	}
	SH("cat tt/quote.msg > t.bin && printf x >> t.bin && : > e.bin");
	REJECT("bad_format", "--quote-msg", "t.bin", "--quote-sig", "tt/quote.sig", "--pcrs",
	       "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("bad_format", "--quote-msg", "e.bin", "--quote-sig", "tt/quote.sig", "--pcrs",
	       "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("bad_format", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig", "--pcrs",
	       "t.bin", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("pcr_digest_mismatch", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--pcrs", "tt2/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE, "--select",
	       "sha256:11");
	add_records("other.bin", other, 2, false);
	REJECT("log_mismatch", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--log", "other.bin", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("log_mismatch", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--pcrs", "tt/quote.pcrs", "--log", "other.bin", "--ak", "ak.pem", "--nonce", NONCE);
	SH("head -c 100 log.bin > cut.bin");
	REJECT("log_truncated", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--log", "cut.bin", "--ak", "ak.pem", "--nonce", NONCE);
	REJECT("log_bad_format", "--quote-msg", "tt/quote.msg", "--quote-sig", "tt/quote.sig",
	       "--log", "t0.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
}

/* A TPM-signed attestation of another type (TPM2_Certify) fails at the header, step 2. */
static void test_reject_certify(void **state)
{
	(void)state;
	NEED_TPM();
	SH("tpm2_flushcontext -t; tpm2_certify -c 0x81400000 -C 0x81400000 -g sha256 "
	   "-o cert.msg -s cert.sig && tpm2_flushcontext -t");
	REJECT("not_a_quote", "--quote-msg", "cert.msg", "--quote-sig", "cert.sig", "--pcrs",
	       "tt/quote.pcrs", "--ak", "ak.pem", "--nonce", NONCE);
}

/* A verifier with --state refuses a quote older than one it accepted. */
static void test_reject_rollback(void **state)
{
	(void)state;
	NEED_TPM();
	SH("mkdir st");
	VIGIL(0, "verify", "ev.json", "--ak", "ak.pem", "--nonce", NONCE, "--state", "st");
	VIGIL(0, "verify", "ev-ahead.json", "--ak", "ak.pem", "--nonce", NONCE2, "--state", "st");
	REJECT("clock_rollback", "ev.json", "--ak", "ak.pem", "--nonce", NONCE, "--state", "st");
	REJECT("clock_rollback", "ev-ahead.json", "--ak", "ak.pem", "--nonce", NONCE2, "--state",
	       "st");
	/* a TPM reset (reboot): a higher reset count is fine, an older boot's quote is not */
	SH("tpm2_shutdown -c && swtpm_ioctl --tcp 127.0.0.1:%d -i && tpm2_startup -c", E->port + 1);
	VIGIL(0, "quote", "--nonce", NONCE, "--no-log", "-o", "ev-reboot.json");
	VIGIL(0, "verify", "ev-reboot.json", "--ak", "ak.pem", "--nonce", NONCE, "--state", "st");
	REJECT("reset_rollback", "ev-ahead.json", "--ak", "ak.pem", "--nonce", NONCE2, "--state",
	       "st");
	SH("echo garbage > st/$(ls st | grep json)");
	VIGIL(3, "verify", "ev-reboot.json", "--ak", "ak.pem", "--nonce", NONCE, "--state", "st");
}

/* A reset without TPM2_Shutdown (power loss): the clock may have gone back, unsafe. */
static void test_reject_unsafe_clock(void **state)
{
	(void)state;
	NEED_TPM();
	SH("swtpm_ioctl --tcp 127.0.0.1:%d -i && tpm2_startup -c", E->port + 1);
	VIGIL(0, "quote", "--nonce", NONCE, "--no-log", "-o", "ev-unsafe.json");
	REJECT("clock_unsafe", "ev-unsafe.json", "--ak", "ak.pem", "--nonce", NONCE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ak_create),
		cmocka_unit_test(test_quote_verify),
		cmocka_unit_test(test_export_checkquote),
		cmocka_unit_test(test_tpm2_tools_quote),
		cmocka_unit_test(test_reject_nonce),
		cmocka_unit_test(test_reject_other_ak),
		cmocka_unit_test(test_reject_selection),
		cmocka_unit_test(test_reject_malformed),
		cmocka_unit_test(test_reject_tampered),
		cmocka_unit_test(test_reject_certify),
		cmocka_unit_test(test_reject_rollback),
		cmocka_unit_test(test_reject_unsafe_clock),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
