/* SPDX-License-Identifier: MIT */
/*
 * report_internal.h: the compliance report's model, shared by the file that builds it from the
 * archive (report.c) and the two that render it (report_html.c, report_json.c).
 *
 * The model holds what the report says and nothing the renderers would have to work out: every
 * count, status, resolution and SBOM attribution is decided in report.c, so the HTML and the
 * JSON cannot disagree. Strings in it are copies the model owns; every one that came from the
 * archive is untrusted text (valid UTF-8 without control characters but the line feeds of a PEM key, once
 * vigil_report_text() made it so) that a renderer
 * must escape.
 *
 * Invariants: arrays are in archive order (sequence numbers ascending), except @files (path,
 * then digest) and @policies and @devices (first use); indexes between arrays are valid or
 * REPORT_NONE; at most REPORT_ROWS_MAX rows of each kind are kept, the rest only counted.
 */
#ifndef VIGIL_REPORT_INTERNAL_H
#define VIGIL_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compliance.h"
#include "log.h"

#define REPORT_NONE ((size_t)-1)
#define REPORT_ROWS_MAX ((size_t)1000000) /* rows of one kind kept in the model */
#define REPORT_HTML_ROWS ((size_t)5000) /* rows of one table the HTML shows */
#define REPORT_HEX_MAX (2 * VIGIL_LOG_DIGEST_MAX + 1)

enum report_status {
	REPORT_SATISFIED = 0,
	REPORT_PARTIALLY,
	REPORT_NOT_SHOWN,
};

/* What an archived EAR says, when it verifies under its archived key. */
struct report_ear {
	const char *problem; /* static, when present but not valid */
	enum vigil_ear_tier status[VIGIL_SUBMOD_COUNT];
	uint8_t sha256[32];
	bool present;
	bool valid;
};

struct report_attestation {
	uint64_t seq;
	size_t dev; /* index in report.devs */
	char *device;
	int64_t time;
	char *reason; /* the verdict's reason code, NULL when accepted */
	char *failed_check;
	char *detail;
	uint64_t clock;
	uint64_t reset_count, restart_count;
	uint64_t log_records;
	uint64_t records_covered;
	uint64_t records_checked, records_excluded;
	size_t policy; /* index in report.pols, or REPORT_NONE */
	int64_t timestamp;
	size_t violations; /* violation rows of this attestation */
	struct report_ear ear;
	bool trusted;
	bool have_quote; /* @clock, @reset_count, @restart_count */
	bool have_log; /* @log_records */
	bool have_covered; /* @records_covered: the log replayed to the quote */
	bool policy_applied; /* @records_checked, @records_excluded, @boot_appraised */
	bool boot_appraised;
	bool have_timestamp; /* @timestamp */
	uint8_t entry_sha256[32];
	char ak_keyid[65];
};

struct report_violation {
	size_t att; /* index in report.attestations */
	bool record; /* false: the rejection names no record (bad signature, golden PCR, ...) */
	uint64_t index;
	char *path;
	char *reason;
	char *hook; /* NULL when the template does not say */
	bool warning;
	char *alg;
	char *digest; /* hex */
	char **expected; /* hex */
	size_t nexpected;
	uint64_t expected_count;
	const struct vigil_sbom_component *component;
	size_t resolved_by; /* the first later trusted attestation of the device, or REPORT_NONE */
};

struct report_monitoring {
	uint64_t seq;
	char *device;
	int64_t time;
	bool off;
	char *by;
	char *reason;
	bool before; /* before the period: the state the period starts in */
	bool have_timestamp;
};

#define REPORT_AKS_MAX 8 /* AKs listed per device */

struct report_ak {
	char keyid[65];
	char *pem;
	int64_t first, last;
};

struct report_device {
	char *name;
	struct report_ak aks[REPORT_AKS_MAX];
	size_t naks, aks_dropped;
	int64_t first, last;
	size_t trusted, untrusted;
	int64_t max_gap; /* seconds between consecutive attestations, 0 with fewer than two */
};

struct report_policy {
	char *name; /* NULL when the envelope's payload gave none */
	uint64_t version;
	char signer[65]; /* "" when no attestation applied it */
	char sha256[65];
	int64_t first, last;
	size_t uses;
	bool applied; /* some attestation's verdict applied it */
};

struct report_file {
	char *path;
	char alg[16];
	char digest[REPORT_HEX_MAX];
	const struct vigil_sbom_component *component;
};

struct report_requirement {
	const char *id;
	const char *title;
	const char *control;
	const char *sections; /* space-separated section ids holding the evidence */
	enum report_status status;
	char *evidence; /* what this report shows for it */
};

struct report {
	const struct vigil_report_options *o;
	char id[48]; /* "urn:uuid:..." */
	char generated[32];
	char from[32], to[32]; /* "" when unbounded */
	int64_t first, last; /* times of the first and last selected entry */
	bool have_head;
	uint64_t head_seq;
	uint8_t head[32];
	uint64_t entries; /* entries read from the archive, selected or not */
	uint64_t selected; /* of them, in the selection */
	const char *result; /* "trusted", "resolved" (every device trusted again) or "open" */
	size_t open_viols; /* violations not followed by a trusted attestation */
	struct report_attestation *atts;
	size_t natts, atts_cap;
	struct report_violation *viols;
	size_t nviols, viols_cap;
	struct report_monitoring *mons;
	size_t nmons, mons_cap;
	struct report_device *devs;
	size_t ndevs, devs_cap;
	struct report_policy *pols;
	size_t npols, pols_cap;
	struct report_file *files;
	size_t nfiles, files_cap;
	void *file_set; /* report.c's hash set over @files while reading */
	size_t files_matched; /* sha256 files the SBOM attributes */
	size_t files_sha256; /* files with a sha256 digest */
	size_t dropped_atts, dropped_viols, dropped_mons,
		dropped_files; /* beyond REPORT_ROWS_MAX */
	bool monitoring_used; /* an opt-out in, or in force at the start of, the period */
	struct report_requirement reqs[10];
	size_t nreqs;
};

int vigil_report_model(const struct vigil_report_options *o, struct report *ret)
	__attribute__((warn_unused_result));
void vigil_report_release(struct report *r);
int vigil_report_html(const struct report *r, FILE *out) __attribute__((warn_unused_result));
int vigil_report_json(const struct report *r, char **ret) __attribute__((warn_unused_result));
int vigil_report_requirements(struct report *r) __attribute__((warn_unused_result));
const char *vigil_report_status_name(enum report_status s);
const char *vigil_report_violation_status(const struct report *r, const struct report_violation *v);
char *vigil_report_text(const void *s, size_t len, bool lines);
void vigil_report_time(int64_t t, char *buf, size_t size);

#endif /* VIGIL_REPORT_INTERNAL_H */
