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

/**
 * vigil_tpm_nr_banks() - number of allocated PCR banks (0 without a TPM)
 *
 * Return: the count.
 */
int vigil_tpm_nr_banks(void)
{
	return chip ? chip->nr_allocated_banks : 0;
}

/**
 * vigil_tpm_bank() - one allocated bank, in chip order
 * @i: index below vigil_tpm_nr_banks()
 *
 * Return: the bank's description.
 */
const struct tpm_bank_info *vigil_tpm_bank(int i)
{
	return &chip->allocated_banks[i];
}

/**
 * vigil_tpm_extend() - extend the measurement PCR in every bank with one command
 * @digests: one per allocated bank, in chip order (tpm_pcr_extend() insists)
 *
 * Return: 0 or a negative errno (also without a TPM: callers check vigil_tpm_present()).
 */
int vigil_tpm_extend(struct tpm_digest *digests)
{
	return chip ? tpm_pcr_extend(chip, vigil_pcr, digests) : -ENODEV;
}

/**
 * vigil_tpm_pcr_read() - read one PCR of one bank
 * @pcr: PCR index
 * @bank: bank index below vigil_tpm_nr_banks()
 * @digest: out, the bank's digest size
 *
 * Return: 0 or a negative errno.
 */
int vigil_tpm_pcr_read(u32 pcr, int bank, u8 *digest)
{
	struct tpm_digest d = { .alg_id = chip->allocated_banks[bank].alg_id };
	int err = tpm_pcr_read(chip, pcr, &d);

	if (!err)
		memcpy(digest, d.digest, chip->allocated_banks[bank].digest_size);
	return err;
}
