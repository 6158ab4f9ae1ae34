// SPDX-License-Identifier: MIT
/*
 * cmd_verify_record.c: what `vigil verify` leaves behind besides its verdict: a signed EAT
 * Attestation Result (--ear-key, --ear) and an entry in the evidence archive (--archive).
 *
 * The archive entry holds every byte the verification used (evidence, AK, signed policy, trusted
 * keys, the state it started from) and what it reached (verdict, EAR), so `vigil archive verify`
 * can reach the same verdict again offline.
 *
 * Invariants: the EAR is made from the verdict alone (vigil_ear_from_verdict()); nothing is
 * written unless the whole EAR was made; an archive append is all or nothing (archive.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"
#include "compliance.h"
#include "policy.h"

#define CMD "verify"

/**
 * verify_record_release() - free what verify_record_ear() made
 * @rec: the record
 */
void verify_record_release(struct verify_record *rec)
{
	free(rec->ear);
	free(rec->ear_pub);
	for (size_t i = 0; i < rec->ntrust; i++)
		free(rec->trust[i]);
	rec->ear = rec->ear_pub = NULL;
	rec->ntrust = 0;
}

static int load_ear_key(const char *path, EVP_PKEY **ret)
{
	EVP_PKEY *key = NULL;
	int r = cmd_load_private(CMD, path, &key);

	if (r < 0)
		return r;
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
		fprintf(stderr,
			"vigil " CMD ": %s: an EAR is signed with an ECDSA P-256 key (ES256)\n",
			path);
		EVP_PKEY_free(key);
		return -EKEYREJECTED;
	}
	*ret = key;
	return 0;
}

static int policy_id(const struct verify_record *rec, const struct vigil_verdict *v, char *buf,
		     size_t size)
{
	buf[0] = '\0';
	if (!v->policy_applied || !rec->in.policy)
		return 0;
	return vigil_ear_policy_id(v->policy_name, v->policy_version, rec->in.policy,
				   rec->in.policy_len, buf, size);
}

/**
 * verify_record_ear() - sign the EAR of a verdict (when --ear-key was given)
 * @rec: the verification's inputs; receives the EAR and the signer's public key (PEM)
 * @v: the verdict
 *
 * Return: 0, or a negative errno after a message.
 */
int verify_record_ear(struct verify_record *rec, const struct vigil_verdict *v)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	char id[VIGIL_EAR_POLICY_ID_MAX];
	struct vigil_ear ear;
	int r;

	if (!rec->ear_key)
		return 0;
	r = load_ear_key(rec->ear_key, &key);
	if (r < 0)
		return r;
	r = policy_id(rec, v, id, sizeof(id));
	if (r == 0)
		r = vigil_ear_from_verdict(v, rec->profile, rec->in.nonce, rec->in.nonce_len,
					   id[0] ? id : NULL, rec->now, &ear);
	if (r == 0)
		r = vigil_ear_sign(&ear, v, key, &rec->ear);
	if (r == 0)
		r = vigil_sigkey_public_pem(key, &rec->ear_pub);
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": cannot make the EAR: %s\n", strerror(-r));
		return r;
	}
	if (!rec->ear_out)
		return 0;
	r = strcmp(rec->ear_out, "-") ?
		    vigil_file_write_atomic(rec->ear_out, rec->ear, strlen(rec->ear), 0644) :
	    (fputs(rec->ear, stdout) < 0 || fputc('\n', stdout) < 0) ? -EIO :
								       0;
	if (r < 0)
		fprintf(stderr, "vigil " CMD ": %s: %s\n", rec->ear_out, strerror(-r));
	return r;
}

/**
 * verify_record_trust() - read the trusted policy keys' PEM bytes, for the archive
 * @rec: receives them
 * @paths: the --trust files
 * @n: their number
 *
 * Return: 0, or a negative errno after a message.
 */
int verify_record_trust(struct verify_record *rec, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n && i < VIGIL_ARCHIVE_TRUST_MAX; i++) {
		if (cmd_read_file(CMD, paths[i], VIGIL_SIGKEY_PEM_MAX, &rec->trust[i],
				  &rec->trust_len[i]) < 0)
			return -EIO;
		rec->ntrust = i + 1;
	}
	rec->in.trust = (const uint8_t *const *)rec->trust;
	rec->in.trust_len = rec->trust_len;
	rec->in.ntrust = rec->ntrust;
	return 0;
}

/**
 * verify_record_archive() - append the verification to the archive (when --archive was given)
 * @rec: the verification's inputs, EAR included
 * @a: the archive, opened (and locked) before the verification
 * @verdict: the verdict JSON
 *
 * Return: 0, or a negative errno after a message.
 */
int verify_record_archive(const struct verify_record *rec, struct vigil_archive *a,
			  const char *verdict)
{
	struct vigil_archive_record ar = {
		.kind = VIGIL_ARCHIVE_ATTESTATION,
		.device = rec->device,
		.time = rec->now,
		.in = rec->in,
		.verdict = (const uint8_t *)verdict,
		.verdict_len = strlen(verdict),
		.ear = (const uint8_t *)rec->ear,
		.ear_len = rec->ear ? strlen(rec->ear) : 0,
		.ear_key = (const uint8_t *)rec->ear_pub,
		.ear_key_len = rec->ear_pub ? strlen(rec->ear_pub) : 0,
	};
	char tsa_error[256] = "";
	uint64_t seq = 0;
	int r;

	if (!a)
		return 0;
	r = vigil_archive_append(a, &ar, &rec->tsa, &seq, tsa_error, sizeof(tsa_error));
	if (r < 0) {
		fprintf(stderr, "vigil " CMD ": archive %s: %s%s\n", rec->archive,
			r == -EPROTO ?
				"time-stamping authority: " :
			r == -EINVAL ?
				"not archived: device names are 1-128 of A-Z a-z 0-9 . _ : -" :
				strerror(-r),
			r == -EPROTO ? tsa_error : "");
		return r;
	}
	fprintf(stderr, "vigil " CMD ": archived as entry %llu of %s\n", (unsigned long long)seq,
		rec->archive);
	return 0;
}
