// SPDX-License-Identifier: MIT
/*
 * quote_evidence.c: the device side of one attestation: quote the PCRs with the AK for a
 * verifier's nonce, read the measurement log, and build the evidence document
 * (docs/evidence-format.md). `vigil quote` writes it to a file; `vigil agent` sends it to
 * verifierd. One implementation, so both send exactly the same thing.
 *
 * Order matters: the quote comes first, the log is read after it. vigil.ko appends a record
 * before it extends the PCR, so a log read after the quote holds every record the quote covers
 * (and perhaps a few more, which the verifier recognises as "not yet covered").
 *
 * Invariants: the evidence is returned only when all of it could be produced; every failure
 * prints exactly one "vigil <cmd>: <what>: <why>" line and returns a negative errno; the TPM is
 * opened for the quote and closed again, so nothing holds it between attestations.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "attest.h"
#include "cleanup.h"
#include "cmd.h"
#include "log.h"
#include "tpm.h"

#define BOOT_ID "/proc/sys/kernel/random/boot_id"

/*
 * Skip the first @from records of a binary log; what remains is "the log from record @from".
 * -ERANGE (nothing printed) when the log has fewer records: the caller decides what that means.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): buffer, length, then the index */
static int log_from(const uint8_t *buf, size_t len, uint64_t from, size_t *ret_off,
		    uint64_t *ret_have)
{
	struct vigil_log_iter it;
	struct vigil_log_record rec;
	int r = vigil_log_iter_init(&it, buf, len, NULL);

	for (uint64_t i = 0; r == 0 && i < from; i++) {
		r = vigil_log_iter_next(&it, &rec, NULL);
		if (r == 0) {
			*ret_have = i;
			return -ERANGE;
		}
		r = r > 0 ? 0 : r;
	}
	if (r < 0)
		return r;
	*ret_off = it.pos;
	return 0;
}

static int read_log(const char *cmd, const struct quote_spec *q, struct vigil_evidence *ev)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, off = 0;
	uint64_t from = q->from, have = 0;
	int r;

	r = vigil_file_read(q->log, VIGIL_EVIDENCE_LOG_MAX, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "vigil %s: %s: %s%s\n", cmd, q->log, strerror(-r),
			r == -ENOENT && q->log_hint ? q->log_hint : "");
		return r;
	}
	r = from > 0 ? log_from(buf, len, from, &off, &have) : 0;
	if (r == -ERANGE && q->from_reset) {
		/* fewer records than the verifier has seen: a reboot, the whole new log */
		from = 0;
	} else if (r == -ERANGE) {
		fprintf(stderr, "vigil %s: %s: has only %llu records (--from %llu)\n", cmd, q->log,
			(unsigned long long)have, (unsigned long long)from);
		return r;
	} else if (r < 0) {
		fprintf(stderr, "vigil %s: %s: %s\n", cmd, q->log, vigil_log_strerror(r));
		return r;
	}
	memmove(buf, buf + off, len - off);
	ev->log = TAKE_PTR(buf);
	ev->log_len = len - off;
	ev->log_from = from;
	return 0;
}

/* Kernel release, boot id and time: informational, so a missing one is simply left out. */
static int host_facts(struct vigil_evidence *ev)
{
	_cleanup_free_ uint8_t *boot_id = NULL;
	struct utsname u;
	char now[32];
	time_t t = time(NULL);
	struct tm tm;
	size_t len = 0;

	if (uname(&u) == 0 && !(ev->kernel = strdup(u.release)))
		return -ENOMEM;
	if (vigil_file_read(BOOT_ID, 64, &boot_id, &len) == 0 && len > 1 && len <= 37) {
		boot_id[strcspn((char *)boot_id, "\n")] = '\0';
		ev->boot_id = (char *)TAKE_PTR(boot_id);
	}
	if (gmtime_r(&t, &tm) && strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm) &&
	    !(ev->created = strdup(now)))
		return -ENOMEM;
	return 0;
}

static int fill_evidence(const struct quote_spec *q, const struct vigil_tpm_quote *tq,
			 struct vigil_evidence *ev)
{
	memcpy(ev->nonce, q->nonce, q->nonce_len);
	ev->nonce_len = q->nonce_len;
	ev->attest = malloc(tq->attest_len);
	ev->sig = malloc(tq->sig_len);
	if (!ev->attest || !ev->sig)
		return -ENOMEM;
	memcpy(ev->attest, tq->attest, tq->attest_len);
	ev->attest_len = tq->attest_len;
	memcpy(ev->sig, tq->sig, tq->sig_len);
	ev->sig_len = tq->sig_len;
	ev->selection = tq->selection;
	ev->pcrs = tq->pcrs;
	ev->ak_public = tq->ak.public;
	ev->ak_handle = tq->ak.handle;
	return host_facts(ev);
}

/* The quote itself, with the messages `vigil quote` has always printed. */
static int take_quote(const char *cmd, const struct quote_spec *q, struct vigil_tpm_quote *tq)
{
	_cleanup_(vigil_tpm_freep) struct vigil_tpm *t = NULL;
	int r;

	if (cmd_tpm_open(cmd, q->tcti, &t) != VIGIL_EXIT_OK)
		return -EIO;
	r = vigil_tpm_quote(t, q->handle, q->nonce, q->nonce_len, q->sel, tq);
	if (r == -ENOENT || r == -EKEYREJECTED)
		fprintf(stderr, "vigil %s: handle 0x%08x: %s (run 'vigil ak create')\n", cmd,
			q->handle, r == -ENOENT ? "no key" : "not an attestation key");
	else if (r == -EAGAIN)
		fprintf(stderr, "vigil %s: PCRs kept changing during the quote; try again\n", cmd);
	else if (r < 0)
		(void)cmd_tpm_error(cmd, t, r);
	return r;
}

static int build(const char *cmd, const struct quote_spec *q, struct vigil_evidence *ev,
		 struct vigil_tpm_quote *tq)
{
	int r = take_quote(cmd, q, tq);

	if (r == 0 && q->log)
		r = read_log(cmd, q, ev);
	if (r < 0)
		return r;
	r = fill_evidence(q, tq, ev);
	if (r < 0)
		fprintf(stderr, "vigil %s: %s\n", cmd, strerror(-r));
	return r;
}

/**
 * quote_evidence() - quote, read the log after the quote, and build the evidence
 * @cmd: the subcommand, for messages ("quote", "agent")
 * @q: what to quote and where the log is
 * @ret: on success, the evidence; vigil_evidence_free() it
 *
 * Return: 0, or a negative errno after one message on stderr.
 */
int quote_evidence(const char *cmd, const struct quote_spec *q, struct vigil_evidence **ret)
{
	struct vigil_evidence *ev = calloc(1, sizeof(*ev));
	struct vigil_tpm_quote *tq = calloc(1, sizeof(*tq));
	int r = -ENOMEM;

	if (ev && tq)
		r = build(cmd, q, ev, tq);
	else
		fprintf(stderr, "vigil %s: %s\n", cmd, strerror(ENOMEM));
	free(tq);
	if (r < 0) {
		vigil_evidence_free(ev);
		return r;
	}
	*ret = ev;
	return 0;
}
