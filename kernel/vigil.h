/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vigil.ko private header: the objects the module's files share.
 *
 * Invariants: everything declared here is set up by vigil_init() before the securityfs files
 * appear and torn down after they are gone, so readers of those files never see half-initialised
 * state.
 */
#ifndef _VIGIL_H
#define _VIGIL_H

#include <linux/types.h>
#include <linux/seq_file.h>
#include "uapi/vigil.h"

/* Module parameters (main.c); read-only once the module is loaded. */
extern unsigned int vigil_pcr;
extern char *vigil_hash;

/* tpm.c: the TPM chip measurements are extended into, if there is one. */
int vigil_tpm_init(void);
void vigil_tpm_exit(void);
bool vigil_tpm_present(void);
void vigil_tpm_show_banks(struct seq_file *m);

/* fs.c: the securityfs interface. */
int vigil_fs_init(void);
void vigil_fs_exit(void);

#endif /* _VIGIL_H */
