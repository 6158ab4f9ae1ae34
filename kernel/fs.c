// SPDX-License-Identifier: GPL-2.0-only
/*
 * vigil.ko: the securityfs interface, /sys/kernel/security/vigil/.
 *
 * Files are created after everything they show is set up and removed before it is torn down
 * (see main.c), so their show functions need no extra reference counting. The status format is
 * defined in uapi/vigil.h; keys are only ever added, never renamed or reordered.
 */
#include <linux/fs.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include "vigil.h"

static struct dentry *dir;
static struct dentry *status_file;

static int status_show(struct seq_file *m, void *v)
{
	bool tpm = vigil_tpm_present();

	seq_printf(m, "version: %s\n", VIGIL_VERSION);
	seq_printf(m, "tpm: %s\n", tpm ? "tpm2" : "none");
	seq_printf(m, "mode: %s\n", tpm ? "tpm" : "log-only");
	seq_printf(m, "pcr: %u\n", vigil_pcr);
	seq_printf(m, "hash: %s\n", vigil_hash);
	seq_puts(m, "banks: ");
	vigil_tpm_show_banks(m);
	seq_putc(m, '\n');
	return 0;
}

static int status_open(struct inode *inode, struct file *file)
{
	return single_open(file, status_show, NULL);
}

static const struct file_operations status_fops = {
	.owner = THIS_MODULE,
	.open = status_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/**
 * vigil_fs_init() - create /sys/kernel/security/vigil/ and its files
 *
 * Return: 0 or a negative errno; on failure nothing is left behind.
 */
int vigil_fs_init(void)
{
	int err;

	dir = securityfs_create_dir(VIGIL_FS_DIR, NULL);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	status_file = securityfs_create_file(VIGIL_FS_STATUS, 0444, dir, NULL, &status_fops);
	if (IS_ERR(status_file)) {
		err = PTR_ERR(status_file);
		goto err_dir;
	}
	return 0;

err_dir:
	securityfs_remove(dir);
	return err;
}

/**
 * vigil_fs_exit() - remove what vigil_fs_init() created, files first
 */
void vigil_fs_exit(void)
{
	securityfs_remove(status_file);
	securityfs_remove(dir);
}
