// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: module parameters, init and exit.
 *
 * Init order: TPM, hash transforms and cache, the log (boot_aggregate first), the default rules
 * (measured), securityfs, and last the hooks; exit undoes it in reverse. So a hook never runs
 * against a half-built module, and boot_aggregate is always record 0.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <crypto/hash_info.h>
#include "vigil.h"

unsigned int vigil_pcr = VIGIL_DEFAULT_PCR;
module_param_named(pcr, vigil_pcr, uint, 0444);
MODULE_PARM_DESC(pcr, "PCR index measurements are extended into (default 11)");

char *vigil_hash = "sha256";
module_param_named(hash, vigil_hash, charp, 0444);
MODULE_PARM_DESC(hash, "file hash algorithm: sha256 (default), sha384 or sha512");

int vigil_hash_algo;

/*
 * Reject bad parameters before anything is set up, with one line naming the parameter: an
 * administrator who mistypes pcr= must not end up with measurements in an unexpected PCR.
 */
static int check_params(void)
{
	static const char *const hashes[] = { "sha256", "sha384", "sha512" };

	if (vigil_pcr >= VIGIL_PCR_COUNT) {
		pr_err("pcr=%u out of range (0..%d)\n", vigil_pcr, VIGIL_PCR_COUNT - 1);
		return -EINVAL;
	}
	if (match_string(hashes, ARRAY_SIZE(hashes), vigil_hash) < 0) {
		pr_err("hash=%s not supported (sha256, sha384 or sha512)\n", vigil_hash);
		return -EINVAL;
	}
	vigil_hash_algo = match_string(hash_algo_name, HASH_ALGO__LAST, vigil_hash);
	return 0;
}

static int __init vigil_init(void)
{
	int err;

	err = check_params();
	if (err)
		return err;
	err = vigil_tpm_init();
	if (err)
		return err;
	err = vigil_measure_init();
	if (err)
		goto err_tpm;
	err = vigil_log_init();
	if (err)
		goto err_measure;
	err = vigil_policy_init();
	if (err)
		goto err_log;
	err = vigil_fs_init();
	if (err)
		goto err_policy;
	err = vigil_hooks_init();
	if (err)
		goto err_fs;
	pr_info("version %s loaded: pcr=%u hash=%s %s\n", VIGIL_VERSION, vigil_pcr, vigil_hash,
		vigil_tpm_present() ? "tpm" : "log-only");
	return 0;

err_fs:
	vigil_fs_exit();
err_policy:
	vigil_policy_exit();
err_log:
	vigil_log_exit();
err_measure:
	vigil_measure_exit();
err_tpm:
	vigil_tpm_exit();
	return err;
}

static void __exit vigil_exit(void)
{
	vigil_hooks_exit();
	vigil_fs_exit();
	vigil_policy_exit();
	vigil_log_exit();
	vigil_measure_exit();
	vigil_tpm_exit();
	pr_info("unloaded\n");
}

module_init(vigil_init);
module_exit(vigil_exit);

/* sha384 and sha512 are modules on Debian 6.1: load them before init allocates them. */
MODULE_SOFTDEP("pre: sha512");
MODULE_LICENSE("GPL");
MODULE_VERSION(VIGIL_VERSION);
MODULE_DESCRIPTION("vigil: measure programs and configuration into a TPM PCR");
MODULE_AUTHOR("The vigil authors");
