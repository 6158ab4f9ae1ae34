// SPDX-License-Identifier: MIT
/*
 * VM test: vigil.ko loads, publishes its securityfs status, sees the TPM the VM was given (or
 * runs log-only without one), leaves the TPM usable, and unloads.
 *
 * Environment (set by the scenario): VIGIL_KO, the module to load; VIGIL_VM_TPM, "1" when the VM
 * has a TPM, "0" when not; VIGIL_VM_BANKS, the PCR banks the software TPM was created with.
 * Tests run in declaration order on one kernel: the first loads the module, the last unloads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vm_util.h"

#define STATUS_PATH VFS VIGIL_FS_STATUS

static bool vm_has_tpm(void)
{
	const char *t = getenv("VIGIL_VM_TPM");

	return t && strcmp(t, "1") == 0;
}

/* Show multi-line text as TAP diagnostics, one "# " line each. */
static void diag(const char *text)
{
	const char *nl;

	for (; *text; text = nl + 1) {
		nl = strchrnul(text, '\n');
		printf("#   %.*s\n", (int)(nl - text), text);
		if (!*nl)
			break;
	}
	fflush(stdout);
}

TEST(module_loads)
{
	const char *ko = getenv("VIGIL_KO");
	int fd;

	ASSERT_NE(NULL, ko);
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("open %s: %s", ko, strerror(errno));
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0))
	TH_LOG("finit_module: %s", strerror(errno));
	close(fd);
}

TEST(status_file)
{
	char buf[VIGIL_STATUS_MAX], want[256];
	const char *banks = getenv("VIGIL_VM_BANKS");

	ASSERT_LT(0, vm_read_all(STATUS_PATH, buf, sizeof(buf))) TH_LOG("cannot read " STATUS_PATH);
	diag(buf);
	EXPECT_NE(NULL, strstr(buf, "version: " VIGIL_VERSION "\n"));
	EXPECT_NE(NULL, strstr(buf, "pcr: 11\n"));
	EXPECT_NE(NULL, strstr(buf, "hash: sha256\n"));
	if (vm_has_tpm()) {
		EXPECT_NE(NULL, strstr(buf, "tpm: tpm2\nmode: tpm\n"));
		ASSERT_NE(NULL, banks);
		snprintf(want, sizeof(want), "banks: %s\n", banks);
		EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("expected '%s'", want);
	} else {
		EXPECT_NE(NULL, strstr(buf, "tpm: none\nmode: log-only\n"));
		EXPECT_NE(NULL, strstr(buf, "banks: \n"));
	}
}

TEST(tpm_device)
{
	struct stat st;
	int r = stat("/dev/tpmrm0", &st);

	if (!vm_has_tpm()) {
		ASSERT_EQ(-1, r) TH_LOG("/dev/tpmrm0 exists in a VM without a TPM");
		return;
	}
	ASSERT_EQ(0, r) TH_LOG("/dev/tpmrm0: %s", strerror(errno));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
}

/* tpm2-tools reads PCR 11 through the resource manager while vigil.ko holds the chip. */
TEST(pcr_read)
{
	char out[4096] = "";
	size_t len;
	FILE *p;

	if (!vm_has_tpm())
		SKIP(return, "no TPM in this VM");
	p = popen("tpm2_pcrread sha256:11 2>&1", "r");
	ASSERT_NE(NULL, p);
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = '\0';
	diag(out);
	ASSERT_EQ(0, pclose(p)) TH_LOG("tpm2_pcrread failed");
	EXPECT_NE(NULL, strstr(out, "sha256:"));
	EXPECT_NE(NULL, strstr(out, "11: 0x"));
}

/* The rules in force after loading are policies/measure/default.rules, comments aside. */
TEST(default_rules)
{
	char path[4096], want[8192] = "", line[512], active[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/policies/measure/default.rules", getenv("VIGIL_TOP"));
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && line[0] != '\n')
			strncat(want, line, sizeof(want) - strlen(want) - 1);
	fclose(f);
	ASSERT_LT(0, vm_read_all(VFS VIGIL_FS_POLICY, active, sizeof(active)));
	EXPECT_STREQ(want, active);
}

/* Acceptance 8 too: with or without a TPM, executions are logged; without one boot_aggregate is 0. */
TEST(logs)
{
	const char *bin = "/tmp/vt-module-exec";
	char *argv[] = { (char *)bin, NULL };
	struct vm_record r[1];
	long before = vm_read_number(VFS VIGIL_FS_COUNT);

	ASSERT_LE(2, before);
	ASSERT_EQ(0, vm_fresh_copy("/usr/bin/true", bin));
	ASSERT_EQ(0, vm_run(argv));
	EXPECT_EQ(1, vm_records(bin, NULL, 0));
	EXPECT_LT(before, vm_read_number(VFS VIGIL_FS_COUNT));
	ASSERT_EQ(1, vm_records(VIGIL_BOOT_AGGREGATE_NAME, r, 1));
	if (!vm_has_tpm())
		EXPECT_STREQ(
			"sha256:0000000000000000000000000000000000000000000000000000000000000000",
			r[0].digest);
}

TEST(module_unloads)
{
	struct stat st;

	ASSERT_EQ(0, syscall(SYS_delete_module, "vigil", O_NONBLOCK))
	TH_LOG("delete_module: %s", strerror(errno));
	ASSERT_EQ(-1, stat(STATUS_PATH, &st));
	ASSERT_EQ(ENOENT, errno);
}

TEST_HARNESS_MAIN
