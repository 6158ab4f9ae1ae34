// SPDX-License-Identifier: MIT
/*
 * test_enroll.c: enrollment against two software TPMs: the EK and its certificate read from
 * the TPM (vigil_tpm_ek_read()), the certificate checked against swtpm's local CA and against
 * a foreign one (vigil_ek_cert_check(), one test per verdict), and MakeCredential in software
 * (vigil_make_credential()) answered by ActivateCredential in the TPM
 * (vigil_tpm_activate_credential()), with tpm2-tools as the independent witness in both
 * directions (tpm2_makecredential -T none -> our activate; our blob -> tpm2_activatecredential)
 * and a negative case for each way a credential must fail.
 *
 * The group setup makes everything private to a temporary directory: its own swtpm local CA
 * (swtpm_setup --config pointing swtpm_localca at the directory), two TPMs provisioned with RSA
 * EK certificates by it, an ECC P-256 EK certificate for the first TPM issued by the same CA
 * and written to NV 0x01c0000a (swtpm_setup itself certifies only a P-384 EK, in the high
 * range), a CA directory with copies of the root and the issuer, and a foreign CA with EK-like
 * certificates for the first TPM's RSA EK. Both swtpm processes are started on free 127.0.0.1
 * port pairs, die with this process (PR_SET_PDEATHSIG) and are killed by the teardown. A
 * missing tool fails the setup: nothing is skipped.
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "spawn.h"
#include "attest.h"
#include "cleanup.h"
#include "enroll.h"
#include "tpm.h"

#define AK_RSA 0x81400001u
#define AK_ECC 0x81400002u

struct swtpm {
	pid_t pid;
	int port;
	char tcti[64];
	struct vigil_tpm *t;
};

struct env {
	char dir[64];
	struct swtpm tpm[2];
	TPM2B_PUBLIC ek_rsa[2], ek_ecc;
	uint8_t *cert_rsa[2], *cert_ecc;
	size_t cert_rsa_len[2], cert_ecc_len;
	struct vigil_tpm_ak ak_rsa, ak_ecc; /* in tpm[0] */
	char ca[96], other_ca[96], issuer_only[96], empty[96];
};

static struct env E;

static char out[16384], err[8192];

/* A shell command line in the test directory; 0 or its exit status, output in out/err. */
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int code = -1, o = -1, e = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (spawn_capture(argv, E.dir, &code, &o, &e) < 0)
		return -1;
	spawn_read(o, out, sizeof(out));
	spawn_read(e, err, sizeof(err));
	close(o);
	close(e);
	if (code != 0)
		fprintf(stderr, "# `%s` exit %d\n# %.2000s\n", cmd, code, err);
	return code;
}

#define SH(...) assert_int_equal(sh(__VA_ARGS__), 0)

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

static void exec_swtpm(int i, int port, pid_t parent)
{
	char server[96], ctrl[96], state[128], log[128];
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	snprintf(log, sizeof(log), "%s/swtpm%d.log", E.dir, i);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
	snprintf(state, sizeof(state), "dir=%s/tpm%d", E.dir, i);
	execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrl, "--flags",
	       "not-need-init,startup-clear", "--tpmstate", state, (char *)NULL);
	_exit(127);
}

/* Start swtpm @i on a free port pair; retry elsewhere if another process won the race. */
static int start_swtpm(int i)
{
	struct swtpm *s = &E.tpm[i];

	for (int attempt = 0; attempt < 20; attempt++) {
		pid_t parent = getpid();
		int status;

		s->port = 20000 + 2 * (rand() % 15000);
		if (!port_free(s->port) || !port_free(s->port + 1))
			continue;
		s->pid = fork();
		if (s->pid < 0)
			return -1;
		if (s->pid == 0)
			exec_swtpm(i, s->port, parent);
		for (int k = 0; k < 100 && !port_open(s->port); k++) {
			if (waitpid(s->pid, &status, WNOHANG) == s->pid)
				break;
			usleep(50000);
		}
		if (port_open(s->port) && port_open(s->port + 1)) {
			snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d", s->port);
			return 0;
		}
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
		s->pid = 0;
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

/* A private swtpm local CA in the test directory, and two TPMs with RSA EK certificates. */
static int provision(void)
{
	if (sh("mkdir localca certs0 certs1 tpm0 tpm1 && "
	       "printf 'statedir = %%s\\nsigningkey = %%s\\nissuercert = %%s\\ncertserial = %%s\\n' "
	       "$PWD/localca $PWD/localca/signkey.pem $PWD/localca/issuercert.pem "
	       "$PWD/localca/certserial >localca.conf && "
	       "printf 'create_certs_tool = /usr/bin/swtpm_localca\\n"
	       "create_certs_tool_config = %%s\\ncreate_certs_tool_options = "
	       "/etc/swtpm-localca.options\\nactive_pcr_banks = sha256\\n' $PWD/localca.conf "
	       ">setup.conf") != 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (sh("swtpm_setup --tpm2 --tpmstate $PWD/tpm%d --config $PWD/setup.conf "
		       "--create-ek-cert --overwrite --write-ek-cert-files $PWD/certs%d",
		       i, i) != 0)
			return -1;
	/* the CA directory: root and issuer (copies), plus a file that is no certificate */
	return sh(
		"mkdir ca issuer-only other-ca empty && cp localca/issuercert.pem "
		"localca/swtpm-localca-rootca-cert.pem ca/ && echo not a certificate >ca/README && "
		"cp localca/issuercert.pem issuer-only/");
}

/* The ECC P-256 EK of TPM 0 certified by the same local CA, in NV 0x01c0000a. */
static int provision_ecc(void)
{
	const char *tcti = E.tpm[0].tcti;

	return sh("export TPM2TOOLS_TCTI='%s' && "
		  "tpm2_createek -G ecc -c ekecc.ctx -u ekecc.pem -f pem >/dev/null && "
		  "tpm2_flushcontext -t && "
		  "pt=$(openssl ec -pubin -in ekecc.pem -outform der 2>/dev/null | tail -c 64 | "
		  "od -An -tx1 -v | tr -d ' \\n') && mkdir eccert && "
		  "swtpm_localca --type ek --ek x=$(echo $pt | cut -c1-64),y=$(echo $pt | "
		  "cut -c65-128),id=secp256r1 --dir $PWD/eccert --tpm-spec-family 2.0 "
		  "--tpm-spec-level 0 --tpm-spec-revision 164 --tpm-manufacturer id:00001014 "
		  "--tpm-model swtpm --tpm-version id:20191023 --tpm2 --configfile "
		  "$PWD/localca.conf --optsfile /etc/swtpm-localca.options && "
		  "tpm2_nvdefine 0x01c0000a -C o -s $(stat -c %%s eccert/ek.cert) "
		  "-a 'ownerread|ownerwrite|authread|authwrite|no_da' && "
		  "tpm2_nvwrite 0x01c0000a -C o -i eccert/ek.cert",
		  tcti);
}

/*
 * A foreign CA, and certificates from it for TPM 0's RSA EK: one with a critical TCG extension
 * (accepted), one with an unknown critical extension (refused).
 */
static int provision_other_ca(void)
{
	return sh(
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-keyout oca.key -out other-ca/ca.pem -subj /CN=other-ca -days 30 2>/dev/null && "
		"openssl x509 -inform der -in certs0/ek-rsa2048.crt -pubkey -noout >ekrsa0.pem && "
		"printf 'basicConstraints=critical,CA:FALSE\\n2.23.133.99.1=critical,DER:0500\\n"
		"2.5.29.9=critical,DER:3000\\n' >tcg.ext && "
		"printf 'basicConstraints=critical,CA:FALSE\\n1.2.3.4=critical,DER:0500\\n' "
		">unknown.ext && "
		"openssl x509 -new -force_pubkey ekrsa0.pem -CA other-ca/ca.pem -CAkey oca.key "
		"-subj /CN=fake-ek -days 10 -extfile tcg.ext -outform der -out fake-tcg.der && "
		"openssl x509 -new -force_pubkey ekrsa0.pem -CA other-ca/ca.pem -CAkey oca.key "
		"-subj /CN=fake-ek -days 10 -extfile unknown.ext -outform der -out fake-unk.der");
}

static int open_tpms(void)
{
	for (int i = 0; i < 2; i++) {
		uint32_t rc = 0;

		if (start_swtpm(i) < 0 || vigil_tpm_open(E.tpm[i].tcti, &E.tpm[i].t, &rc) < 0) {
			fprintf(stderr, "# swtpm %d did not start (rc 0x%x)\n", i, rc);
			return -1;
		}
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	snprintf(E.dir, sizeof(E.dir), "/tmp/vigil-test-enroll.XXXXXX");
	if (!mkdtemp(E.dir))
		return -1;
	srand((unsigned int)(getpid() ^ time(NULL)));
	setenv("TSS2_LOG", "all+none", 1);
	setenv("LC_ALL", "C", 1);
	snprintf(E.ca, sizeof(E.ca), "%s/ca", E.dir);
	snprintf(E.other_ca, sizeof(E.other_ca), "%s/other-ca", E.dir);
	snprintf(E.issuer_only, sizeof(E.issuer_only), "%s/issuer-only", E.dir);
	snprintf(E.empty, sizeof(E.empty), "%s/empty", E.dir);
	if (provision() != 0 || open_tpms() != 0 || provision_ecc() != 0 ||
	    provision_other_ca() != 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (vigil_tpm_ek_read(E.tpm[i].t, VIGIL_AK_ALG_RSA, &E.ek_rsa[i], &E.cert_rsa[i],
				      &E.cert_rsa_len[i]) != 0)
			return -1;
	if (vigil_tpm_ek_read(E.tpm[0].t, VIGIL_AK_ALG_ECC, &E.ek_ecc, &E.cert_ecc,
			      &E.cert_ecc_len) != 0 ||
	    vigil_tpm_ak_create(E.tpm[0].t, VIGIL_AK_ALG_RSA, AK_RSA, &E.ak_rsa) != 0 ||
	    vigil_tpm_ak_create(E.tpm[0].t, VIGIL_AK_ALG_ECC, AK_ECC, &E.ak_ecc) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		int status;

		vigil_tpm_free(E.tpm[i].t);
		free(E.cert_rsa[i]);
		if (E.tpm[i].pid > 0) {
			kill(E.tpm[i].pid, SIGKILL);
			waitpid(E.tpm[i].pid, &status, 0);
		}
	}
	free(E.cert_ecc);
	return nftw(E.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A file of the test directory. */
static size_t load(const char *name, uint8_t **ret)
{
	char path[160];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", E.dir, name);
	assert_int_equal(vigil_file_read(path, 1u << 20, ret, &len), 0);
	return len;
}

static void save(const char *name, const void *data, size_t len)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", E.dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static size_t marshal_public(const TPM2B_PUBLIC *pub, uint8_t *buf, size_t size)
{
	size_t off = 0;

	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, size, &off), 0);
	return off;
}

/* The EK public areas match tpm2_createek's, the certificates what swtpm_setup wrote. */
static void test_ek_read(void **state)
{
	_cleanup_free_ uint8_t *file = NULL, *tools = NULL;
	uint8_t mine[sizeof(TPM2B_PUBLIC)];
	TPM2B_PUBLIC parsed;
	size_t len, mlen;

	(void)state;
	len = load("certs0/ek-rsa2048.crt", &file);
	assert_int_equal(len, E.cert_rsa_len[0]);
	assert_memory_equal(file, E.cert_rsa[0], len);
	SH("export TPM2TOOLS_TCTI='%s' && tpm2_createek -G rsa -c ek.ctx -u ekrsa0.pub >/dev/null "
	   "&& tpm2_flushcontext -t",
	   E.tpm[0].tcti);
	len = load("ekrsa0.pub", &tools);
	mlen = marshal_public(&E.ek_rsa[0], mine, sizeof(mine));
	assert_int_equal(len, mlen);
	assert_memory_equal(tools, mine, len);
	assert_int_equal(vigil_ek_public_parse(mine, mlen, &parsed), 0);
	assert_int_equal(E.ek_rsa[0].publicArea.unique.rsa.size, 256);
	/* the two TPMs have different EKs */
	assert_memory_not_equal(E.ek_rsa[0].publicArea.unique.rsa.buffer,
				E.ek_rsa[1].publicArea.unique.rsa.buffer, 256);
}

static void test_ek_read_ecc(void **state)
{
	_cleanup_free_ uint8_t *file = NULL, *any_cert = NULL, *none = NULL;
	uint8_t mine[sizeof(TPM2B_PUBLIC)];
	TPM2B_PUBLIC parsed, any;
	size_t len, mlen, any_len = 0, none_len = 0;

	(void)state;
	len = load("eccert/ek.cert", &file);
	assert_int_equal(len, E.cert_ecc_len);
	assert_memory_equal(file, E.cert_ecc, len);
	assert_int_equal(E.ek_ecc.publicArea.type, TPM2_ALG_ECC);
	mlen = marshal_public(&E.ek_ecc, mine, sizeof(mine));
	assert_int_equal(vigil_ek_public_parse(mine, mlen, &parsed), 0);
	/* ANY: ECC where its certificate exists, RSA where not; no ECC certificate: -ENOENT */
	assert_int_equal(vigil_tpm_ek_read(E.tpm[0].t, VIGIL_AK_ALG_ANY, &any, &any_cert, &any_len),
			 0);
	assert_int_equal(any.publicArea.type, TPM2_ALG_ECC);
	free(any_cert);
	any_cert = NULL;
	assert_int_equal(vigil_tpm_ek_read(E.tpm[1].t, VIGIL_AK_ALG_ANY, &any, &any_cert, &any_len),
			 0);
	assert_int_equal(any.publicArea.type, TPM2_ALG_RSA);
	assert_int_equal(any_len, E.cert_rsa_len[1]);
	assert_int_equal(vigil_tpm_ek_read(E.tpm[1].t, VIGIL_AK_ALG_ECC, &parsed, &none, &none_len),
			 -ENOENT);
	assert_null(none);
}

static int check(const uint8_t *der, size_t len, const TPM2B_PUBLIC *ek, const char *ca,
		 int64_t now, struct vigil_ek_identity *id)
{
	memset(id, 0x55, sizeof(*id));
	return vigil_ek_cert_check(der, len, ek, ca, now, id);
}

static void test_cert_ok(void **state)
{
	struct vigil_ek_identity id;
	uint8_t h[32], fp[32];

	(void)state;
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ek_rsa[0], E.ca, 0, &id),
			 VIGIL_EK_OK);
	assert_string_equal(id.detail, "");
	assert_string_equal(id.issuer, "CN=swtpm-localca");
	assert_string_equal(id.subject, "CN=unknown");
	assert_true(strlen(id.serial) > 0 &&
		    strspn(id.serial, "0123456789abcdef") == strlen(id.serial));
	assert_int_equal(vigil_ek_hash(&E.ek_rsa[0], h), 0);
	assert_memory_equal(id.ek_hash, h, 32);
	assert_int_equal(
		vigil_hash_digest(TPM2_ALG_SHA256, E.cert_rsa[0], E.cert_rsa_len[0], fp, 32), 0);
	assert_memory_equal(id.fingerprint, fp, 32);
	assert_int_equal(check(E.cert_rsa[1], E.cert_rsa_len[1], &E.ek_rsa[1], E.ca, 0, &id),
			 VIGIL_EK_OK);
	assert_int_equal(check(E.cert_ecc, E.cert_ecc_len, &E.ek_ecc, E.ca, 0, &id), VIGIL_EK_OK);
	assert_string_equal(vigil_ek_verdict_name(VIGIL_EK_OK), "ok");
}

/* A foreign CA; only an intermediate in the directory; validity times. */
static void test_cert_untrusted(void **state)
{
	struct vigil_ek_identity id;

	(void)state;
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ek_rsa[0], E.other_ca, 0, &id),
			 VIGIL_EK_CERT_UNTRUSTED);
	assert_string_equal(id.detail, "unable to get local issuer certificate");
	assert_string_equal(id.issuer, "CN=swtpm-localca"); /* filled on every verdict */
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ek_rsa[0], E.issuer_only, 0,
			       &id),
			 VIGIL_EK_CERT_UNTRUSTED);
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ek_rsa[0], E.ca, 86400, &id),
			 VIGIL_EK_CERT_UNTRUSTED);
	assert_string_equal(id.detail, "certificate is not yet valid");
	assert_string_equal(vigil_ek_verdict_name(VIGIL_EK_CERT_UNTRUSTED), "untrusted");
}

/* An EK certificate from the foreign CA for the same EK, with critical extensions. */
static void test_cert_other_ca(void **state)
{
	_cleanup_free_ uint8_t *tcg = NULL, *unk = NULL;
	struct vigil_ek_identity id;
	size_t tlen = load("fake-tcg.der", &tcg), ulen = load("fake-unk.der", &unk);

	(void)state;
	assert_int_equal(check(tcg, tlen, &E.ek_rsa[0], E.ca, 0, &id), VIGIL_EK_CERT_UNTRUSTED);
	assert_int_equal(check(tcg, tlen, &E.ek_rsa[0], E.other_ca, 0, &id), VIGIL_EK_OK);
	assert_string_equal(id.issuer, "CN=other-ca");
	assert_int_equal(check(unk, ulen, &E.ek_rsa[0], E.other_ca, 0, &id),
			 VIGIL_EK_CERT_UNTRUSTED);
	assert_string_equal(id.detail, "unhandled critical extension");
	/* it is valid for 10 days (the swtpm certificates until 9999-12-31) */
	assert_int_equal(check(tcg, tlen, &E.ek_rsa[0], E.other_ca, time(NULL) + 11 * 86400, &id),
			 VIGIL_EK_CERT_UNTRUSTED);
	assert_string_equal(id.detail, "certificate has expired");
}

static void test_cert_key_mismatch(void **state)
{
	struct vigil_ek_identity id;

	(void)state;
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ek_rsa[1], E.ca, 0, &id),
			 VIGIL_EK_CERT_KEY_MISMATCH);
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ek_ecc, E.ca, 0, &id),
			 VIGIL_EK_CERT_KEY_MISMATCH);
	assert_int_equal(check(E.cert_ecc, E.cert_ecc_len, &E.ek_rsa[0], E.ca, 0, &id),
			 VIGIL_EK_CERT_KEY_MISMATCH);
	assert_string_equal(vigil_ek_verdict_name(VIGIL_EK_CERT_KEY_MISMATCH), "key_mismatch");
}

static void test_cert_bad_format(void **state)
{
	uint8_t buf[VIGIL_EK_CERT_MAX + 2];
	struct vigil_ek_identity id;
	size_t n = E.cert_rsa_len[0];

	(void)state;
	memcpy(buf, E.cert_rsa[0], n);
	buf[n] = 0;
	assert_int_equal(check(buf, n + 1, &E.ek_rsa[0], E.ca, 0, &id), VIGIL_EK_CERT_BAD_FORMAT);
	assert_string_equal(id.issuer, "");
	assert_int_equal(check(buf, n - 1, &E.ek_rsa[0], E.ca, 0, &id), VIGIL_EK_CERT_BAD_FORMAT);
	assert_int_equal(check(buf, 0, &E.ek_rsa[0], E.ca, 0, &id), VIGIL_EK_CERT_BAD_FORMAT);
	memset(buf, 0x30, sizeof(buf));
	assert_int_equal(check(buf, sizeof(buf), &E.ek_rsa[0], E.ca, 0, &id),
			 VIGIL_EK_CERT_BAD_FORMAT);
	assert_int_equal(check((const uint8_t *)"garbage", 7, &E.ek_rsa[0], E.ca, 0, &id),
			 VIGIL_EK_CERT_BAD_FORMAT);
	assert_string_equal(vigil_ek_verdict_name(VIGIL_EK_CERT_BAD_FORMAT), "cert_bad_format");
	/* a CA directory without certificates, or none at all */
	assert_int_equal(check(E.cert_rsa[0], n, &E.ek_rsa[0], E.empty, 0, &id), -ENOENT);
	assert_int_equal(check(E.cert_rsa[0], n, &E.ek_rsa[0], "/nonexistent/ca", 0, &id), -ENOENT);
}

/* An AK, an altered key or template, trailing bytes: not an EK. */
static void test_ek_public_bad(void **state)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC) + 1];
	struct vigil_ek_identity id;
	TPM2B_PUBLIC p, q;
	size_t len;

	(void)state;
	assert_int_equal(check(E.cert_rsa[0], E.cert_rsa_len[0], &E.ak_rsa.public, E.ca, 0, &id),
			 VIGIL_EK_PUBLIC_BAD);
	assert_string_equal(vigil_ek_verdict_name(VIGIL_EK_PUBLIC_BAD), "ek_public_bad");
	len = marshal_public(&E.ak_ecc.public, buf, sizeof(buf));
	assert_int_equal(vigil_ek_public_parse(buf, len, &p), -EKEYREJECTED);
	len = marshal_public(&E.ek_rsa[0], buf, sizeof(buf));
	buf[len] = 0;
	assert_int_equal(vigil_ek_public_parse(buf, len + 1, &p), -EBADMSG);
	assert_int_equal(vigil_ek_public_parse(buf, len - 1, &p), -EBADMSG);
	q = E.ek_ecc; /* a point off the curve */
	q.publicArea.unique.ecc.y.buffer[31] ^= 1;
	len = marshal_public(&q, buf, sizeof(buf));
	assert_int_equal(vigil_ek_public_parse(buf, len, &p), -EKEYREJECTED);
	assert_int_equal(check(E.cert_ecc, E.cert_ecc_len, &q, E.ca, 0, &id), VIGIL_EK_PUBLIC_BAD);
	q = E.ek_rsa[0]; /* another template: no policy */
	q.publicArea.authPolicy.size = 0;
	len = marshal_public(&q, buf, sizeof(buf));
	assert_int_equal(vigil_ek_public_parse(buf, len, &p), -EKEYREJECTED);
	q = E.ek_rsa[0]; /* a short modulus */
	q.publicArea.unique.rsa.size = 128;
	len = marshal_public(&q, buf, sizeof(buf));
	assert_int_equal(vigil_ek_public_parse(buf, len, &p), -EKEYREJECTED);
}

static void make(const TPM2B_PUBLIC *ek, const TPM2B_NAME *name, const uint8_t *secret, size_t len,
		 TPM2B_ID_OBJECT *blob, TPM2B_ENCRYPTED_SECRET *seed)
{
	assert_int_equal(vigil_make_credential(ek, name, secret, len, blob, seed), 0);
}

static int activate(uint32_t handle, const TPM2B_ID_OBJECT *blob,
		    const TPM2B_ENCRYPTED_SECRET *seed, uint8_t *got, size_t *got_len)
{
	return vigil_tpm_activate_credential(E.tpm[0].t, handle, VIGIL_AK_ALG_ANY, blob, seed, got,
					     VIGIL_CREDENTIAL_SECRET_SIZE, got_len);
}

static void roundtrip(const TPM2B_PUBLIC *ek, const struct vigil_tpm_ak *ak, size_t len)
{
	uint8_t secret[VIGIL_CREDENTIAL_SECRET_SIZE], got[VIGIL_CREDENTIAL_SECRET_SIZE];
	TPM2B_ID_OBJECT blob, blob2;
	TPM2B_ENCRYPTED_SECRET seed, seed2;
	size_t got_len = 0;

	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	make(ek, &ak->name, secret, len, &blob, &seed);
	assert_int_equal(blob.size, 2 + 32 + 2 + len);
	assert_int_equal(activate(ak->handle, &blob, &seed, got, &got_len), 0);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, secret, len);
	/* a fresh seed every time */
	make(ek, &ak->name, secret, len, &blob2, &seed2);
	assert_memory_not_equal(seed.secret, seed2.secret, seed.size);
}

static void test_credential_rsa(void **state)
{
	(void)state;
	roundtrip(&E.ek_rsa[0], &E.ak_rsa, VIGIL_CREDENTIAL_SECRET_SIZE);
	roundtrip(&E.ek_rsa[0], &E.ak_rsa, 1);
}

static void test_credential_ecc(void **state)
{
	(void)state;
	roundtrip(&E.ek_ecc, &E.ak_ecc, VIGIL_CREDENTIAL_SECRET_SIZE);
	roundtrip(&E.ek_ecc, &E.ak_ecc, 7);
}

/* tpm2_makecredential -T none (offline) -> vigil_tpm_activate_credential(). */
static void tools_to_vigil(const TPM2B_PUBLIC *ek, const struct vigil_tpm_ak *ak)
{
	static const uint8_t secret[] = "enrollment secret, 32 bytes....";
	uint8_t pub[sizeof(TPM2B_PUBLIC)], got[VIGIL_CREDENTIAL_SECRET_SIZE];
	_cleanup_free_ uint8_t *cred = NULL;
	char name[2 * sizeof(TPMU_NAME) + 1];
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET seed = { 0 };
	size_t len, off = 8, got_len = 0;

	save("ek.pub", pub, marshal_public(ek, pub, sizeof(pub)));
	save("secret.bin", secret, 32);
	vigil_hex_encode(ak->name.name, ak->name.size, name, sizeof(name));
	SH("tpm2_makecredential -T none -u ek.pub -s secret.bin -n %s -o tools.cred", name);
	len = load("tools.cred", &cred);
	assert_true(len > 8);
	assert_memory_equal(cred, "\xba\xdc\xc0\xde\0\0\0\1", 8); /* tpm2-tools' file header */
	assert_int_equal(Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(cred, len, &off, &blob), 0);
	assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(cred, len, &off, &seed), 0);
	assert_int_equal(off, len);
	assert_int_equal(activate(ak->handle, &blob, &seed, got, &got_len), 0);
	assert_int_equal(got_len, 32);
	assert_memory_equal(got, secret, 32);
}

/* vigil_make_credential() -> tpm2_activatecredential (the EK policy session by tpm2-tools). */
static void vigil_to_tools(const TPM2B_PUBLIC *ek, const struct vigil_tpm_ak *ak, const char *alg)
{
	static const uint8_t secret[] = "another secret, 31 bytes......";
	uint8_t file[8 + sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET)];
	_cleanup_free_ uint8_t *got = NULL;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
	size_t off = 8, len;

	make(ek, &ak->name, secret, 31, &blob, &seed);
	memcpy(file, "\xba\xdc\xc0\xde\0\0\0\1", 8);
	assert_int_equal(Tss2_MU_TPM2B_ID_OBJECT_Marshal(&blob, file, sizeof(file), &off), 0);
	assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&seed, file, sizeof(file), &off),
			 0);
	save("vigil.cred", file, off);
	SH("export TPM2TOOLS_TCTI='%s' && tpm2_createek -G %s -c ek.ctx >/dev/null && "
	   "tpm2_startauthsession --policy-session -S s.ctx && "
	   "tpm2_policysecret -S s.ctx -c e >/dev/null && "
	   "tpm2_activatecredential -c 0x%x -C ek.ctx -i vigil.cred -o tools.secret "
	   "-P session:s.ctx; r=$?; tpm2_flushcontext -t; tpm2_flushcontext -s; exit $r",
	   E.tpm[0].tcti, alg, ak->handle);
	len = load("tools.secret", &got);
	assert_int_equal(len, 31);
	assert_memory_equal(got, secret, 31);
}

static void test_credential_witness(void **state)
{
	(void)state;
	tools_to_vigil(&E.ek_rsa[0], &E.ak_rsa);
	tools_to_vigil(&E.ek_ecc, &E.ak_ecc);
	vigil_to_tools(&E.ek_rsa[0], &E.ak_rsa, "rsa");
	vigil_to_tools(&E.ek_ecc, &E.ak_ecc, "ecc");
}

static void expect_refused(uint32_t handle, const TPM2B_ID_OBJECT *blob,
			   const TPM2B_ENCRYPTED_SECRET *seed)
{
	uint8_t got[VIGIL_CREDENTIAL_SECRET_SIZE];
	size_t got_len = 12345;
	uint32_t rc = 0;

	int r = activate(handle, blob, seed, got, &got_len);
	const char *op = vigil_tpm_error(E.tpm[0].t, &rc);

	if (r != -EBADMSG)
		fail_msg("activate: %d, not -EBADMSG (%s: 0x%x)", r, op, rc);
	assert_int_equal(got_len, 12345);
	assert_string_equal(op, "TPM2_ActivateCredential");
	assert_int_not_equal(rc, 0);
}

/* Made for another AK, for another TPM's EK, or altered: the TPM refuses. */
static void test_credential_refused(void **state)
{
	static const uint8_t secret[32] = "not for you";
	TPM2B_ID_OBJECT blob, b;
	TPM2B_ENCRYPTED_SECRET seed, s;
	TPM2B_NAME other = E.ak_rsa.name;

	(void)state;
	make(&E.ek_rsa[0], &E.ak_ecc.name, secret, 32, &blob, &seed); /* the other AK's name */
	expect_refused(AK_RSA, &blob, &seed);
	other.name[5] ^= 1;
	make(&E.ek_rsa[0], &other, secret, 32, &blob, &seed);
	expect_refused(AK_RSA, &blob, &seed);
	make(&E.ek_rsa[1], &E.ak_rsa.name, secret, 32, &blob, &seed); /* another TPM's EK */
	expect_refused(AK_RSA, &blob, &seed);
	make(&E.ek_rsa[0], &E.ak_rsa.name, secret, 32, &blob, &seed);
	for (size_t i = 0; i < blob.size; i += 11) { /* one flipped bit anywhere in the blob */
		b = blob;
		b.credential[i] ^= 0x10;
		expect_refused(AK_RSA, &b, &seed);
	}
	s = seed;
	s.secret[100] ^= 1;
	expect_refused(AK_RSA, &blob, &s);
	make(&E.ek_ecc, &E.ak_ecc.name, secret, 32, &blob, &seed);
	b = blob;
	b.credential[40] ^= 1;
	expect_refused(AK_ECC, &b, &seed);
	s = seed;
	s.secret[10] ^= 1; /* the ephemeral point, off the curve */
	expect_refused(AK_ECC, &blob, &s);
	make(&E.ek_ecc, &E.ak_rsa.name, secret, 32, &blob, &seed); /* ECC EK, RSA AK's name */
	expect_refused(AK_ECC, &blob, &seed);
}

/* An ECC AK activated with the RSA EK (a TPM that holds only an RSA EK certificate): the EK
 * named decides; the AK's own algorithm's EK does not decrypt it. */
static void test_credential_other_ek(void **state)
{
	uint8_t secret[VIGIL_CREDENTIAL_SECRET_SIZE], got[VIGIL_CREDENTIAL_SECRET_SIZE];
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
	size_t got_len = 0;

	(void)state;
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	make(&E.ek_rsa[0], &E.ak_ecc.name, secret, sizeof(secret), &blob, &seed);
	assert_int_equal(vigil_tpm_activate_credential(E.tpm[0].t, AK_ECC, VIGIL_AK_ALG_RSA, &blob,
						       &seed, got, sizeof(got), &got_len),
			 0);
	assert_memory_equal(got, secret, sizeof(secret));
	assert_int_equal(vigil_tpm_activate_credential(E.tpm[0].t, AK_ECC, VIGIL_AK_ALG_ANY, &blob,
						       &seed, got, sizeof(got), &got_len),
			 -EBADMSG);
}

static void test_credential_invalid(void **state)
{
	uint8_t secret[VIGIL_CREDENTIAL_SECRET_SIZE + 1] = { 1 }, got[4];
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET seed;
	TPM2B_NAME name = E.ak_rsa.name;
	size_t got_len;

	(void)state;
	assert_int_equal(vigil_make_credential(&E.ek_rsa[0], &E.ak_rsa.name, secret, 0, &blob,
					       &seed),
			 -EINVAL);
	assert_int_equal(vigil_make_credential(&E.ek_rsa[0], &E.ak_rsa.name, secret, 33, &blob,
					       &seed),
			 -EINVAL);
	name.size = 33;
	assert_int_equal(vigil_make_credential(&E.ek_rsa[0], &name, secret, 32, &blob, &seed),
			 -EINVAL);
	name.size = 0;
	assert_int_equal(vigil_make_credential(&E.ek_rsa[0], &name, secret, 32, &blob, &seed),
			 -EINVAL);
	assert_int_equal(vigil_make_credential(&E.ak_rsa.public, &E.ak_rsa.name, secret, 32, &blob,
					       &seed),
			 -EKEYREJECTED);
	/* a 32-byte credential does not fit 4 bytes; an empty handle; a non-AK object */
	make(&E.ek_rsa[0], &E.ak_rsa.name, secret, 32, &blob, &seed);
	assert_int_equal(vigil_tpm_activate_credential(E.tpm[0].t, AK_RSA, VIGIL_AK_ALG_ANY, &blob,
						       &seed, got, sizeof(got), &got_len),
			 -ENOBUFS);
	assert_int_equal(activate(0x81400003u, &blob, &seed, secret, &got_len), -ENOENT);
	blob.size = 0;
	assert_int_equal(activate(AK_RSA, &blob, &seed, secret, &got_len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_read),
		cmocka_unit_test(test_ek_read_ecc),
		cmocka_unit_test(test_cert_ok),
		cmocka_unit_test(test_cert_untrusted),
		cmocka_unit_test(test_cert_other_ca),
		cmocka_unit_test(test_cert_key_mismatch),
		cmocka_unit_test(test_cert_bad_format),
		cmocka_unit_test(test_ek_public_bad),
		cmocka_unit_test(test_credential_rsa),
		cmocka_unit_test(test_credential_ecc),
		cmocka_unit_test(test_credential_witness),
		cmocka_unit_test(test_credential_refused),
		cmocka_unit_test(test_credential_other_ek),
		cmocka_unit_test(test_credential_invalid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
