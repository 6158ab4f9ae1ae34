// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: the TPM chip measurements go to.
 *
 * The chip is looked up once at load and its device reference held until unload. Only a TPM 2.0
 * chip is used; without one the module runs log-only, and says so once here and in the status
 * file. The chip's allocated banks are fixed for its lifetime, so they are read without locking.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/tpm.h>
#include <crypto/hash_info.h>
#include "vigil.h"

static struct tpm_chip *chip;

/**
 * vigil_tpm_init() - find the TPM 2.0 chip, or settle for log-only mode
 *
 * Return: 0; a missing or TPM 1.2 chip is not an error, only a mode.
 */
int vigil_tpm_init(void)
{
	struct tpm_chip *c = tpm_default_chip();

	if (!c) {
		pr_info("no TPM found: log-only mode\n");
		return 0;
	}
	if (!tpm_is_tpm2(c)) {
		pr_info("TPM is not a TPM 2.0: log-only mode\n");
		put_device(&c->dev);
		return 0;
	}
	chip = c;
	return 0;
}

/**
 * vigil_tpm_exit() - drop the reference taken by vigil_tpm_init()
 */
void vigil_tpm_exit(void)
{
	if (chip)
		put_device(&chip->dev);
	chip = NULL;
}

/**
 * vigil_tpm_present() - whether measurements are extended into a TPM
 *
 * Return: true when a TPM 2.0 chip is in use.
 */
bool vigil_tpm_present(void)
{
	return chip;
}

/**
 * vigil_tpm_show_banks() - print the allocated PCR banks, comma-separated
 * @m: seq_file to print to
 *
 * A bank whose algorithm the kernel has no name for is printed as its TPM algorithm id
 * ("0x0012"), so a verifier can still tell which banks exist.
 */
void vigil_tpm_show_banks(struct seq_file *m)
{
	u32 i;

	if (!chip)
		return;
	for (i = 0; i < chip->nr_allocated_banks; i++) {
		const struct tpm_bank_info *b = &chip->allocated_banks[i];

		if (i)
			seq_putc(m, ',');
		if (b->crypto_id < HASH_ALGO__LAST)
			seq_puts(m, hash_algo_name[b->crypto_id]);
		else
			seq_printf(m, "0x%04x", b->alg_id);
	}
}
