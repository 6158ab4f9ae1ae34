// SPDX-License-Identifier: MIT
/*
 * report_trace.c: the compliance report's traceability matrix: for each requirement vigil
 * gives evidence for, our own short title, the vigil control, where in the report the
 * evidence is, and a status derived from the data of the period.
 *
 * Titles and control texts are our paraphrases (IEC 62443 texts are copyrighted: ids only).
 * A status says what this report shows, not whether a product conforms: "satisfied" when
 * the period's entries show the control operating, "partially" when they show part of it
 * (or the control itself covers only part of the requirement, e.g. CR 3.4 RE(2) until alerts
 * exist), "not_shown" when nothing in the period shows it.
 *
 * Invariants: one row per entry of reqs[], in that order, ids as in docs/report.schema.json;
 * every evidence text is built from counts only (no archive strings), so it needs no escaping
 * beyond what every renderer does anyway.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

/* Counts the statuses are derived from. */
struct facts {
	size_t atts, trusted, applied, boot, ear_valid, stamped, entries;
	size_t devices_once; /* devices attested fewer than twice */
	int64_t max_gap;
};

struct req {
	const char *id;
	const char *title;
	const char *control;
	const char *sections;
	/* the status, and *@ret the evidence text (allocated) */
	int (*judge)(const struct report *r, const struct facts *f, enum report_status *st,
		     char **ret);
};

static int text(char **ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int text(char **ret, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	return n < 0 ? -ENOMEM : 0;
}

static int integrity(const struct report *r, const struct facts *f, enum report_status *st,
		     char **ret)
{
	*st = f->applied ? REPORT_SATISFIED : f->atts ? REPORT_PARTIALLY : REPORT_NOT_SHOWN;
	return text(ret,
		    "%zu attestations, %zu of them checked record by record against a signed "
		    "policy; %zu violations recorded, %zu still open at the end of the period.",
		    f->atts, f->applied, r->nviols + r->dropped_viols, r->open_viols);
}

static int authenticity(const struct report *r, const struct facts *f, enum report_status *st,
			char **ret)
{
	size_t signed_pols = 0;

	for (size_t i = 0; i < r->npols; i++)
		signed_pols += r->pols[i].applied;
	*st = f->applied ? REPORT_SATISFIED : REPORT_NOT_SHOWN;
	return text(ret,
		    "%zu signed policies were verified and applied; every quote was checked "
		    "against the device's attestation key (%zu attestations).",
		    signed_pols, f->atts);
}

static int notification(const struct report *r, const struct facts *f, enum report_status *st,
			char **ret)
{
	*st = f->atts ? REPORT_PARTIALLY : REPORT_NOT_SHOWN;
	return text(ret,
		    "%zu violations were recorded in signed attestation results (%zu EARs "
		    "verified) and the archive; no alert delivery to a configured recipient is "
		    "recorded, so automatic notification is not shown.",
		    r->nviols + r->dropped_viols, f->ear_valid);
}

static int boot(const struct report *r, const struct facts *f, enum report_status *st, char **ret)
{
	(void)r;
	*st = !f->boot		 ? REPORT_NOT_SHOWN :
	      f->boot == f->atts ? REPORT_SATISFIED :
				   REPORT_PARTIALLY;
	return text(ret,
		    "%zu of %zu attestations compared the boot measurements (boot_aggregate or "
		    "golden PCR values) with the signed policy; this detects, it does not prevent.",
		    f->boot, f->atts);
}

static int audit(const struct report *r, const struct facts *f, enum report_status *st, char **ret)
{
	*st = f->entries ? REPORT_PARTIALLY : REPORT_NOT_SHOWN;
	return text(ret,
		    "%zu archive entries (%zu attestations, %zu monitoring changes), each with "
		    "time, device, outcome and reason; vigil records integrity events only, not "
		    "the other audit categories.",
		    f->entries, f->atts, r->nmons + r->dropped_mons);
}

static int protection(const struct report *r, const struct facts *f, enum report_status *st,
		      char **ret)
{
	*st = !f->entries	       ? REPORT_NOT_SHOWN :
	      f->stamped == f->entries ? REPORT_SATISFIED :
					 REPORT_PARTIALLY;
	return text(ret,
		    "Hash-chained archive, head entry %llu; %zu of %zu entries in the period carry "
		    "an RFC 3161 timestamp; vigil archive verify checks the chain.",
		    (unsigned long long)r->head_seq, f->stamped, f->entries);
}

static int monitoring(const struct report *r, const struct facts *f, enum report_status *st,
		      char **ret)
{
	*st = !f->atts				    ? REPORT_NOT_SHOWN :
	      f->devices_once || r->monitoring_used ? REPORT_PARTIALLY :
						      REPORT_SATISFIED;
	return text(ret,
		    "%zu attestations of %zu devices; longest gap between two attestations of "
		    "one device: %lld s; %zu devices attested fewer than twice; monitoring %s.",
		    f->atts, r->ndevs, (long long)f->max_gap, f->devices_once,
		    r->monitoring_used ? "was switched off in this period" :
					 "was never switched off in this period");
}

static int opt_out(const struct report *r, const struct facts *f, enum report_status *st,
		   char **ret)
{
	size_t offs = 0;

	for (size_t i = 0; i < r->nmons; i++)
		offs += r->mons[i].off;
	*st = f->atts ? REPORT_SATISFIED : REPORT_NOT_SHOWN;
	if (!r->monitoring_used)
		return text(ret,
			    "Recording and monitoring ran (%zu attestations); monitoring was "
			    "never switched off in this period.",
			    f->atts);
	return text(ret,
		    "Recording and monitoring ran (%zu attestations); the user's opt-out was "
		    "used, recorded with who and why (see Monitoring); switched off: %zu times.",
		    f->atts, offs);
}

static int components(const struct report *r, const struct facts *f, enum report_status *st,
		      char **ret)
{
	size_t missing = r->files_sha256 - r->files_matched;

	(void)f;
	if (!r->o->sbom) {
		*st = REPORT_NOT_SHOWN;
		return text(ret, "No SBOM was given for this report (vigil report --sbom).");
	}
	*st = r->files_sha256 && !missing ? REPORT_SATISFIED : REPORT_PARTIALLY;
	return text(ret,
		    "%zu of %zu measured files (SHA-256) are components of the SBOM; %zu are not "
		    "in the SBOM.",
		    r->files_matched, r->files_sha256, missing);
}

static const struct req reqs[] = {
	{ "iec62443-4-2:CR3.4", "Integrity of software and information",
	  "vigil.ko measures executables, libraries, modules and selected configuration files "
	  "into a TPM PCR and a log; the verifier checks every record against a signed policy",
	  "timeline violations files", integrity },
	{ "iec62443-4-2:CR3.4-RE1", "Authenticity of software and information",
	  "reference values are used only from a DSSE envelope signed by a trusted key; quotes "
	  "only under the device's TPM attestation key",
	  "policies devices", authenticity },
	{ "iec62443-4-2:CR3.4-RE2", "Automatic notification of integrity violations",
	  "each violation is written into a signed attestation result (EAR) and the archive",
	  "violations timeline", notification },
	{ "iec62443-4-2:EDR3.14", "Integrity of the boot process",
	  "the policy's golden boot_aggregate and PCR values are compared on every quote "
	  "(measured boot)",
	  "timeline policies", boot },
	{ "iec62443-4-2:CR2.8", "Auditable events",
	  "every attestation and every monitoring change is an archive entry with time, device, "
	  "outcome and reason",
	  "timeline monitoring", audit },
	{ "iec62443-4-2:CR3.9", "Protection of audit information",
	  "append-only, hash-chained evidence archive with optional RFC 3161 timestamps, "
	  "re-verifiable offline",
	  "cover timeline", protection },
	{ "iec62443-4-2:CR6.2", "Continuous monitoring",
	  "periodic remote attestation of each device; gaps and opt-outs are recorded",
	  "timeline monitoring devices", monitoring },
	{ "cra:AnnexI.I.2.f", "Integrity of programs and configuration, and reporting corruption",
	  "measurement of programs and configuration, appraisal against signed reference values, "
	  "violations reported per attestation",
	  "violations timeline", integrity },
	{ "cra:AnnexI.I.2.l", "Recording and monitoring of internal activity, with an opt-out",
	  "measurement log and attestation archive; the user's opt-out is itself recorded with "
	  "who and why",
	  "monitoring timeline", opt_out },
	{ "cra:AnnexI.II.1", "Identify and document components (SBOM)",
	  "measured files are matched by SHA-256 to the components of a CycloneDX SBOM", "files",
	  components },
};

static void gather(const struct report *r, struct facts *f)
{
	*f = (struct facts){ .atts = r->natts, .entries = r->natts + r->nmons };
	for (size_t i = 0; i < r->natts; i++) {
		const struct report_attestation *a = &r->atts[i];

		f->trusted += a->trusted;
		f->applied += a->policy_applied;
		f->boot += a->boot_appraised;
		f->ear_valid += a->ear.valid;
		f->stamped += a->have_timestamp;
	}
	for (size_t i = 0; i < r->nmons; i++)
		f->stamped += r->mons[i].have_timestamp && !r->mons[i].before;
	for (size_t i = 0; i < r->nmons; i++)
		f->entries -= r->mons[i].before;
	for (size_t i = 0; i < r->ndevs; i++) {
		const struct report_device *d = &r->devs[i];

		f->devices_once += d->trusted + d->untrusted < 2;
		if (d->max_gap > f->max_gap)
			f->max_gap = d->max_gap;
	}
}

/**
 * vigil_report_requirements() - fill the model's traceability rows from its data
 * @r: the model, every other part complete
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_report_requirements(struct report *r)
{
	struct facts f;

	gather(r, &f);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct report_requirement *q = &r->reqs[r->nreqs];
		int err;

		*q = (struct report_requirement){ .id = reqs[i].id,
						  .title = reqs[i].title,
						  .control = reqs[i].control,
						  .sections = reqs[i].sections };
		err = reqs[i].judge(r, &f, &q->status, &q->evidence);
		if (err < 0)
			return err;
		r->nreqs++;
	}
	return 0;
}

/**
 * vigil_report_status_name() - a requirement status as the report writes it
 * @s: the status
 *
 * Return: "satisfied", "partially" or "not_shown".
 */
const char *vigil_report_status_name(enum report_status s)
{
	return s == REPORT_SATISFIED ? "satisfied" :
	       s == REPORT_PARTIALLY ? "partially" :
				       "not_shown";
}
