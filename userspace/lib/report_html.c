// SPDX-License-Identifier: MIT
/*
 * report_html.c: the compliance report as one self-contained HTML document that prints well:
 * inline CSS with print rules (a page per section, no dark backgrounds, rows that do not
 * split, table headers repeated), no scripts, no external references (links are #fragments).
 *
 * Sections, each with a stable id and data-* attributes a DOM test (or an auditor's script)
 * can check: cover, devices (data-device), policies (data-policy), timeline (data-seq,
 * data-verdict, data-monitoring), violations (data-violation, data-status), monitoring
 * (data-monitoring-used, data-monitoring-period), files (data-sbom, data-file) and
 * traceability (data-requirement, data-status). docs/report-format.md lists them.
 *
 * Invariants: every string from the model is written through esc(), in text and in
 * attribute values alike (attributes are always double-quoted); the model's strings are
 * valid UTF-8 without control characters already (vigil_report_text()); at most
 * REPORT_HTML_ROWS rows per table, the rest counted in a note pointing at the JSON report;
 * nothing here fails but the stream, checked once at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_internal.h"
#include "uapi/vigil.h"

static const char css[] =
	":root{color-scheme:light}"
	"body{font:10.5pt/1.45 \"DejaVu Sans\",Arial,sans-serif;color:#111;background:#fff;"
	"margin:2em auto;max-width:80em;padding:0 1.5em}"
	"h1{font-size:1.8em;margin:0 0 .2em}"
	"h2{font-size:1.3em;border-bottom:2px solid #333;padding-bottom:.15em;margin:2em 0 .6em}"
	"table{border-collapse:collapse;width:100%;margin:.5em 0 1em}"
	"th,td{border:1px solid #bbb;padding:.25em .45em;text-align:left;vertical-align:top}"
	"thead th{background:#eee}"
	".kv th{width:13em;background:#f4f4f4}"
	"code,.mono,pre{font-family:\"DejaVu Sans Mono\",monospace;font-size:.85em;"
	"overflow-wrap:anywhere;word-break:break-all}"
	"pre.pem{white-space:pre-wrap;margin:.3em 0;font-size:.72em}"
	".id{white-space:nowrap;word-break:normal}"
	".trusted,.satisfied,.resolved{color:#0a5c1a;font-weight:bold}"
	".untrusted,.open,.not_shown{color:#a00000;font-weight:bold}"
	".partially,.warning{color:#8a5a00;font-weight:bold}"
	"tr.monitoring td{font-style:italic;background:#f7f7f7}"
	".note{color:#444;font-size:.9em}"
	"nav ol{columns:2;margin:.5em 0}"
	"@page{size:A4;margin:14mm}"
	"@media print{body{margin:0;max-width:none;padding:0;font-size:8.5pt}"
	"section{break-before:page}h2{break-after:avoid;margin-top:0}"
	"tr,th,td,pre{break-inside:avoid}thead{display:table-header-group}"
	"a{color:inherit;text-decoration:none}"
	"thead th,.kv th,tr.monitoring td{background:#fff}}";

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* ' name="value"', the value escaped */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the attribute's name, then its value */
static void attr(FILE *f, const char *name, const char *value)
{
	fprintf(f, " %s=\"", name);
	esc(f, value);
	fputc('"', f);
}

static void attr_u64(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, " %s=\"%" PRIu64 "\"", name, v);
}

/* <td class="@cls">@s</td>; @cls may be NULL */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the cell's class, then its text */
static void td(FILE *f, const char *cls, const char *s)
{
	fputs("<td", f);
	if (cls)
		attr(f, "class", cls);
	fputc('>', f);
	esc(f, s ? s : "");
	fputs("</td>", f);
}

static void td_time(FILE *f, int64_t t)
{
	char buf[32];

	vigil_report_time(t, buf, sizeof(buf));
	td(f, NULL, buf);
}

static void td_u64(FILE *f, uint64_t v)
{
	fprintf(f, "<td>%" PRIu64 "</td>", v);
}

static void thead(FILE *f, const char *const *cols)
{
	fputs("<thead><tr>", f);
	for (; *cols; cols++)
		fprintf(f, "<th>%s</th>", *cols);
	fputs("</tr></thead><tbody>\n", f);
}

static void capped(FILE *f, size_t shown, size_t total, const char *what)
{
	if (total > shown)
		fprintf(f,
			"<p class=\"note\" data-truncated=\"%zu\">%zu more %s are not shown here; "
			"the JSON report (vigil report --format json) lists them.</p>\n",
			total - shown, total - shown, what);
}

/* ---- cover ---- */

static const char *result_text(const struct report *r)
{
	if (!strcmp(r->result, "trusted"))
		return "Trusted: every attestation in the period was trusted.";
	if (!strcmp(r->result, "resolved"))
		return "Resolved: violations occurred, and every device was trusted again by the "
		       "end of the period.";
	return "Open: a device's last attestation in the period was not trusted.";
}

static void cover_devices(FILE *f, const struct report *r)
{
	fputs("<tr><th>Devices</th><td>", f);
	if (r->ndevs > 20) {
		fprintf(f, "%zu devices (see Device identity)", r->ndevs);
	} else {
		for (size_t i = 0; i < r->ndevs; i++) {
			fputs(i ? ", " : "", f);
			esc(f, r->devs[i].name);
		}
	}
	fputs("</td></tr>\n", f);
}

static void cover_period(FILE *f, const struct report *r)
{
	char first[32], last[32];

	vigil_report_time(r->first, first, sizeof(first));
	vigil_report_time(r->last, last, sizeof(last));
	fputs("<tr><th>Period</th><td>", f);
	if (!r->from[0] && !r->to[0]) {
		fputs("the whole archive", f);
	} else {
		fputs(r->from[0] ? "from " : "up to ", f);
		esc(f, r->from[0] ? r->from : r->to);
		if (r->from[0] && r->to[0]) {
			fputs(" to ", f);
			esc(f, r->to);
		}
	}
	fprintf(f, "; the entries selected run from %s to %s</td></tr>\n", first, last);
}

static void cover_summary(FILE *f, const struct report *r)
{
	size_t trusted = 0;

	for (size_t i = 0; i < r->natts; i++)
		trusted += r->atts[i].trusted;
	fprintf(f,
		"<tr><th>Summary</th><td>%zu attestations (%zu trusted, %zu untrusted), "
		"%zu violations (%zu open), %zu monitoring changes</td></tr>\n",
		r->natts + r->dropped_atts, trusted, r->natts - trusted,
		r->nviols + r->dropped_viols, r->open_viols, r->nmons + r->dropped_mons);
}

static void cover(FILE *f, const struct report *r)
{
	char head[65] = "";

	if (vigil_hex_encode(r->head, 32, head, sizeof(head)) < 0)
		head[0] = '\0';
	fputs("<header id=\"cover\"", f);
	attr(f, "data-report-id", r->id);
	attr(f, "data-result", r->result);
	fputs(">\n<h1>Software integrity compliance report</h1>\n"
	      "<p>Remote attestation evidence from the vigil evidence archive.</p>\n"
	      "<table class=\"kv\"><tbody>\n",
	      f);
	cover_devices(f, r);
	cover_period(f, r);
	fprintf(f, "<tr><th>Generated</th><td>%s</td></tr>\n", r->generated);
	fputs("<tr><th>Generator</th><td>vigil " VIGIL_VERSION "</td></tr>\n", f);
	fputs("<tr><th>Overall result</th>", f);
	td(f, r->result, result_text(r));
	fputs("</tr>\n", f);
	cover_summary(f, r);
	fprintf(f,
		"<tr><th>Archive head</th><td data-head-seq=\"%" PRIu64 "\">entry %" PRIu64
		", SHA-256 <code>%s</code> (%" PRIu64 " entries read)</td></tr>\n",
		r->head_seq, r->head_seq, head, r->entries);
	fprintf(f, "<tr><th>Report id</th><td><code>%s</code></td></tr>\n", r->id);
	fputs("<tr><th>How to re-verify</th><td><code>vigil archive verify ", f);
	esc(f, r->o->archive);
	fputs("</code> checks every entry offline: the chain, the timestamps, and each "
	      "attestation re-verified to its archived verdict and EAR.</td></tr>\n"
	      "</tbody></table>\n",
	      f);
	fputs("<nav><ol><li><a href=\"#devices\">Device identity</a></li>"
	      "<li><a href=\"#policies\">Policies in force</a></li>"
	      "<li><a href=\"#timeline\">Attestation timeline</a></li>"
	      "<li><a href=\"#violations\">Violations</a></li>"
	      "<li><a href=\"#monitoring\">Monitoring</a></li>"
	      "<li><a href=\"#files\">Measured files and SBOM</a></li>"
	      "<li><a href=\"#traceability\">Traceability</a></li></ol></nav>\n</header>\n",
	      f);
}

/* ---- devices and policies ---- */

static void device_aks(FILE *f, const struct report_device *d)
{
	fputs("<td>", f);
	for (size_t k = 0; k < d->naks; k++) {
		char first[32], last[32];

		vigil_report_time(d->aks[k].first, first, sizeof(first));
		vigil_report_time(d->aks[k].last, last, sizeof(last));
		fputs("<div data-ak=\"", f);
		esc(f, d->aks[k].keyid);
		fputs("\">key id (SHA-256 of the public key) <code>", f);
		esc(f, d->aks[k].keyid);
		fprintf(f, "</code>, used %s to %s<pre class=\"pem\">", first, last);
		esc(f, d->aks[k].pem);
		fputs("</pre></div>", f);
	}
	if (d->aks_dropped)
		fprintf(f, "<p class=\"note\">%zu more attestation keys</p>", d->aks_dropped);
	if (!d->naks)
		fputs("no attestation key archived", f);
	fputs("</td>", f);
}

static void devices(FILE *f, const struct report *r)
{
	static const char *const cols[] = { "Device",	   "Attestation key (AK)",
					    "EK",	   "Attestations",
					    "First",	   "Last",
					    "Longest gap", NULL };

	fputs("<section id=\"devices\">\n<h2>1. Device identity</h2>\n<table>", f);
	thead(f, cols);
	for (size_t i = 0; i < r->ndevs; i++) {
		const struct report_device *d = &r->devs[i];

		fputs("<tr", f);
		attr(f, "data-device", d->name);
		attr_u64(f, "data-attestations", d->trusted + d->untrusted);
		fputs(">", f);
		td(f, "mono", d->name);
		device_aks(f, d);
		td(f, NULL, "not recorded (the evidence carries no EK certificate)");
		fprintf(f, "<td>%zu (%zu trusted, %zu untrusted)</td>", d->trusted + d->untrusted,
			d->trusted, d->untrusted);
		td_time(f, d->first);
		td_time(f, d->last);
		fprintf(f, "<td>%lld s</td></tr>\n", (long long)d->max_gap);
	}
	fputs("</tbody></table>\n</section>\n", f);
}

static void policies(FILE *f, const struct report *r)
{
	static const char *const cols[] = {
		"Name",	      "Version",   "Signer key id", "SHA-256 of the envelope",
		"First used", "Last used", "Uses",	    "Applied",
		NULL
	};

	fputs("<section id=\"policies\">\n<h2>2. Policies in force</h2>\n", f);
	if (!r->npols) {
		fputs("<p data-policies=\"none\">No signed policy was used in this period: the "
		      "attestations show authenticity and freshness only.</p>\n</section>\n",
		      f);
		return;
	}
	fputs("<table>", f);
	thead(f, cols);
	for (size_t i = 0; i < r->npols; i++) {
		const struct report_policy *p = &r->pols[i];

		fputs("<tr", f);
		attr(f, "data-policy", p->sha256);
		attr(f, "data-policy-name", p->name ? p->name : "");
		attr_u64(f, "data-policy-version", p->version);
		fputs(">", f);
		td(f, NULL, p->name ? p->name : "(unreadable)");
		td_u64(f, p->version);
		td(f, "mono", p->signer[0] ? p->signer : "(not verified)");
		td(f, "mono", p->sha256);
		td_time(f, p->first);
		td_time(f, p->last);
		fprintf(f, "<td>%zu</td>", p->uses);
		td(f, p->applied ? "trusted" : "untrusted",
		   p->applied ? "yes" : "no: no attestation got as far as applying it");
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n</section>\n", f);
}

/* ---- timeline ---- */

static void td_ear(FILE *f, const struct report_ear *e, enum vigil_ear_submod s)
{
	if (!e->present)
		td(f, NULL, "no EAR");
	else if (!e->valid)
		td(f, "untrusted", e->problem);
	else
		td(f,
		   e->status[s] == VIGIL_TIER_AFFIRMING ? "trusted" :
		   e->status[s] == VIGIL_TIER_WARNING	? "warning" :
							  "untrusted",
		   vigil_ear_tier_name(e->status[s]));
}

static void td_records(FILE *f, const struct report_attestation *a)
{
	fputs("<td>", f);
	if (a->have_covered)
		fprintf(f, "%" PRIu64 " of %" PRIu64 " covered", a->records_covered,
			a->log_records);
	else if (a->have_log)
		fprintf(f, "%" PRIu64 " in the log, none covered", a->log_records);
	else
		fputs("no log checked", f);
	if (a->policy_applied)
		fprintf(f, "; %" PRIu64 " checked, %" PRIu64 " excluded", a->records_checked,
			a->records_excluded);
	fputs("</td>", f);
}

static void td_policy(FILE *f, const struct report *r, const struct report_attestation *a)
{
	const struct report_policy *p = a->policy == REPORT_NONE ? NULL : &r->pols[a->policy];

	fputs("<td>", f);
	if (!p) {
		fputs("none", f);
	} else {
		esc(f, p->name ? p->name : "(unreadable)");
		fprintf(f, " v%" PRIu64 "%s", p->version,
			a->policy_applied ? "" : " (not applied)");
	}
	fputs("</td>", f);
}

static void attestation_row(FILE *f, const struct report *r, const struct report_attestation *a)
{
	fputs("<tr", f);
	attr_u64(f, "data-seq", a->seq);
	attr(f, "data-device", a->device);
	attr(f, "data-verdict", a->trusted ? "trusted" : "untrusted");
	fprintf(f,
		"><td><a href=\"#entry-%" PRIu64 "\" id=\"entry-%" PRIu64 "\">%" PRIu64 "</a></td>",
		a->seq, a->seq, a->seq);
	td_time(f, a->time);
	td(f, "mono", a->device);
	td(f, a->trusted ? "trusted" : "untrusted", a->trusted ? "trusted" : "untrusted");
	fputs("<td>", f);
	esc(f, a->trusted ? "" : a->reason ? a->reason : "unknown");
	if (a->detail) {
		fputs(a->trusted ? "" : ": ", f);
		esc(f, a->detail);
	}
	fputs("</td>", f);
	td_ear(f, &a->ear, VIGIL_SUBMOD_BOOT);
	td_ear(f, &a->ear, VIGIL_SUBMOD_RUNTIME);
	td_records(f, a);
	td_policy(f, r, a);
	fputs("</tr>\n", f);
}

static void monitoring_row(FILE *f, const struct report_monitoring *m)
{
	fputs("<tr class=\"monitoring\"", f);
	attr_u64(f, "data-seq", m->seq);
	attr(f, "data-device", m->device);
	attr(f, "data-monitoring", m->off ? "off" : "on");
	fprintf(f, "><td>%" PRIu64 "</td>", m->seq);
	td_time(f, m->time);
	td(f, "mono", m->device);
	fprintf(f, "<td colspan=\"6\">%s%s by ", m->before ? "(before the period) " : "",
		m->off ? "monitoring switched off" : "monitoring switched on again");
	esc(f, m->by);
	if (m->reason[0]) {
		fputs(": ", f);
		esc(f, m->reason);
	}
	fputs("</td></tr>\n", f);
}

static void timeline(FILE *f, const struct report *r)
{
	static const char *const cols[] = { "Entry",  "Time",	  "Device",	 "Verdict",
					    "Reason", "EAR boot", "EAR runtime", "Log records",
					    "Policy", NULL };
	size_t i = 0, k = 0, shown = 0;

	fputs("<section id=\"timeline\">\n<h2>3. Attestation timeline</h2>\n<table>", f);
	thead(f, cols);
	/* both lists ascend by sequence number; monitoring before the period comes first */
	while ((i < r->natts || k < r->nmons) && shown < REPORT_HTML_ROWS) {
		bool mon = k < r->nmons &&
			   (i == r->natts || r->mons[k].before || r->mons[k].seq < r->atts[i].seq);

		if (mon)
			monitoring_row(f, &r->mons[k++]);
		else
			attestation_row(f, r, &r->atts[i++]);
		shown++;
	}
	fputs("</tbody></table>\n", f);
	capped(f, shown, r->natts + r->nmons + r->dropped_atts + r->dropped_mons, "timeline rows");
	fputs("</section>\n", f);
}

/* ---- violations ---- */

static void td_expected(FILE *f, const struct report_violation *v)
{
	fputs("<td class=\"mono\">", f);
	for (size_t i = 0; i < v->nexpected; i++) {
		fputs(i ? "<br>" : "", f);
		esc(f, v->expected[i]);
	}
	if (v->expected_count > v->nexpected)
		fprintf(f, "<br>and %" PRIu64 " more", v->expected_count - v->nexpected);
	fputs("</td>", f);
}

/* The SBOM component of a measured digest; nothing for a rejection that names no file. */
static void td_component(FILE *f, const struct report *r, const char *alg,
			 const struct vigil_sbom_component *c)
{
	const char *why = !r->o->sbom		 ? "(no SBOM given)" :
			  !strcmp(alg, "sha256") ? "not in the SBOM" :
						   "(not a SHA-256)";

	fputs("<td>", f);
	if (c) {
		esc(f, c->name);
		fputs(c->version[0] ? " " : "", f);
		esc(f, c->version);
	} else {
		fputs(why, f);
	}
	fputs("</td>", f);
}

static void td_outcome(FILE *f, const struct report *r, const struct report_violation *v)
{
	const char *status = vigil_report_violation_status(r, v);
	const struct report_attestation *a;
	char when[32];

	if (strcmp(status, "resolved") != 0) {
		td(f, status,
		   !strcmp(status, "open") ?
			   "open" :
			   "warning: listed by the policy; the attestation was trusted");
		return;
	}
	a = &r->atts[v->resolved_by];
	vigil_report_time(a->time, when, sizeof(when));
	fprintf(f,
		"<td class=\"resolved\">resolved: trusted again at %s (<a href=\"#entry-%" PRIu64
		"\">entry %" PRIu64 "</a>)</td>",
		when, a->seq, a->seq);
}

static void violation_row(FILE *f, const struct report *r, const struct report_violation *v)
{
	const struct report_attestation *a = &r->atts[v->att];
	char id[48];

	if (v->record)
		snprintf(id, sizeof(id), "%" PRIu64 ":%" PRIu64, a->seq, v->index);
	else
		snprintf(id, sizeof(id), "%" PRIu64, a->seq);
	fputs("<tr", f);
	attr(f, "data-violation", id);
	attr_u64(f, "data-seq", a->seq);
	attr(f, "data-device", a->device);
	attr(f, "data-reason", v->reason ? v->reason : "");
	attr(f, "data-status", vigil_report_violation_status(r, v));
	fprintf(f, "><td><a href=\"#entry-%" PRIu64 "\">%" PRIu64 "</a></td>", a->seq, a->seq);
	td_time(f, a->time);
	td(f, "mono", a->device);
	if (v->record)
		td_u64(f, v->index);
	else
		td(f, NULL, "(the quote)");
	td(f, "mono", v->path);
	td(f, NULL, v->reason);
	td(f, NULL, v->hook ? v->hook : "");
	td(f, "mono", v->digest ? v->digest : "");
	td_expected(f, v);
	if (v->alg)
		td_component(f, r, v->alg, v->component);
	else
		fputs("<td></td>", f);
	td_outcome(f, r, v);
	fputs("</tr>\n", f);
}

static void violations(FILE *f, const struct report *r)
{
	static const char *const cols[] = {
		"Entry",	"Time", "Device",	   "Record",	       "Path",
		"Reason",	"Hook", "Measured digest", "Expected digests", "SBOM component",
		"How it ended", NULL
	};
	size_t n = r->nviols < REPORT_HTML_ROWS ? r->nviols : REPORT_HTML_ROWS;

	fputs("<section id=\"violations\">\n<h2>4. Violations</h2>\n", f);
	if (!r->nviols && !r->dropped_viols) {
		fputs("<p data-violations=\"none\">No violation in this period.</p>\n</section>\n",
		      f);
		return;
	}
	fputs("<table>", f);
	thead(f, cols);
	for (size_t i = 0; i < n; i++)
		violation_row(f, r, &r->viols[i]);
	fputs("</tbody></table>\n", f);
	capped(f, n, r->nviols + r->dropped_viols, "violations");
	fputs("</section>\n", f);
}

/* ---- monitoring ---- */

/* The entry that ends @i's opt-out: the device's next "on", or REPORT_NONE. */
static size_t switched_on(const struct report *r, size_t i)
{
	for (size_t j = i + 1; j < r->nmons; j++)
		if (!strcmp(r->mons[j].device, r->mons[i].device) && !r->mons[j].off)
			return j;
	return REPORT_NONE;
}

/* An "on" that ends no opt-out of the period is shown on its own. */
static bool closes(const struct report *r, size_t j)
{
	for (size_t i = j; i-- > 0;)
		if (!strcmp(r->mons[i].device, r->mons[j].device))
			return r->mons[i].off;
	return false;
}

static void td_change(FILE *f, const struct report_monitoring *m)
{
	char when[32];

	vigil_report_time(m->time, when, sizeof(when));
	fprintf(f, "<td>%s%s (<a href=\"#entry-%" PRIu64 "\">entry %" PRIu64 "</a>)</td>", when,
		m->before ? ", before the period" : "", m->seq, m->seq);
	td(f, NULL, m->by);
	td(f, NULL, m->reason);
}

static void period_row(FILE *f, const struct report *r, size_t i)
{
	const struct report_monitoring *m = &r->mons[i];
	size_t on = m->off ? switched_on(r, i) : REPORT_NONE;
	char end[32];

	if (!m->off && closes(r, i))
		return;
	fputs("<tr data-monitoring-period=\"\"", f);
	attr(f, "data-device", m->device);
	vigil_report_time(on == REPORT_NONE ? 0 : r->mons[on].time, end, sizeof(end));
	attr(f, "data-on", on != REPORT_NONE ? end : m->off ? "still-off" : "on");
	fputs(">", f);
	td(f, "mono", m->device);
	if (m->off)
		td_change(f, m);
	else
		fputs("<td>(not switched off in the period)</td><td></td><td></td>", f);
	if (on != REPORT_NONE)
		td_change(f, &r->mons[on]);
	else if (m->off)
		fputs("<td class=\"open\">still off at the end of the period</td><td></td><td></td>",
		      f);
	else
		td_change(f, m);
	fputs("</tr>\n", f);
}

static void monitoring(FILE *f, const struct report *r)
{
	static const char *const cols[] = {
		"Device", "Switched off", "By", "Why", "Switched on again", "By", "Why", NULL
	};
	size_t n = r->nmons < REPORT_HTML_ROWS ? r->nmons : REPORT_HTML_ROWS;

	fputs("<section id=\"monitoring\"", f);
	attr(f, "data-monitoring-used", r->monitoring_used ? "true" : "false");
	fputs(">\n<h2>5. Monitoring</h2>\n"
	      "<p>The EU Cyber Resilience Act (Annex I, Part I, point 2(l)) lets the user opt out "
	      "of the recording and monitoring of internal activity. vigil records each opt-out "
	      "and each return to monitoring as an archive entry with who decided and why.</p>\n",
	      f);
	if (!r->nmons) {
		fputs("<p data-monitoring-state=\"never-off\">Monitoring was never switched off in "
		      "this period.</p>\n</section>\n",
		      f);
		return;
	}
	if (!r->monitoring_used)
		fputs("<p data-monitoring-state=\"never-off\">Monitoring was never switched off in "
		      "this period.</p>\n",
		      f);
	fputs("<table>", f);
	thead(f, cols);
	for (size_t i = 0; i < n; i++)
		period_row(f, r, i);
	fputs("</tbody></table>\n", f);
	capped(f, n, r->nmons + r->dropped_mons, "monitoring changes");
	fputs("</section>\n", f);
}

/* ---- measured files, traceability ---- */

static void sbom_identity(FILE *f, const struct report *r)
{
	const char *spec, *serial, *name, *version;
	char sha[65];

	if (!r->o->sbom) {
		fputs("<p data-sbom-state=\"absent\">No SBOM was given (vigil report --sbom "
		      "BOM.json): the measured files are listed without components.</p>\n",
		      f);
		return;
	}
	vigil_sbom_info(r->o->sbom, &spec, &serial, &name, &version);
	if (vigil_hex_encode(r->o->sbom_sha256, 32, sha, sizeof(sha)) < 0)
		sha[0] = '\0';
	fputs("<table class=\"kv\"><tbody><tr><th>SBOM file</th>", f);
	td(f, "mono", r->o->sbom_name ? r->o->sbom_name : "");
	fputs("</tr><tr><th>SHA-256</th>", f);
	td(f, "mono", sha);
	fputs("</tr><tr><th>Format</th><td>CycloneDX ", f);
	esc(f, spec);
	fputs("</td></tr><tr><th>Serial number</th>", f);
	td(f, "mono", serial[0] ? serial : "(none)");
	fputs("</tr><tr><th>Describes</th><td>", f);
	esc(f, name[0] ? name : "(no metadata component)");
	fputs(version[0] ? " " : "", f);
	esc(f, version);
	fprintf(f,
		"</td></tr><tr><th>Attribution</th><td>%zu of %zu measured files (SHA-256) are "
		"in the SBOM</td></tr></tbody></table>\n",
		r->files_matched, r->files_sha256);
}

static void files(FILE *f, const struct report *r)
{
	static const char *const cols[] = { "Path", "Algorithm", "Digest", "Component", NULL };
	size_t n = r->nfiles < REPORT_HTML_ROWS ? r->nfiles : REPORT_HTML_ROWS;

	fputs("<section id=\"files\"", f);
	attr(f, "data-sbom", r->o->sbom ? "present" : "absent");
	fprintf(f,
		">\n<h2>6. Measured files and SBOM</h2>\n<p>Every distinct file (path and "
		"digest) measured in the period in a log that replays to a verified quote: "
		"%zu.</p>\n",
		r->nfiles + r->dropped_files);
	sbom_identity(f, r);
	fputs("<table>", f);
	thead(f, cols);
	for (size_t i = 0; i < n; i++) {
		const struct report_file *m = &r->files[i];

		fputs("<tr data-file=\"\"", f);
		attr(f, "data-component", m->component ? m->component->name : "");
		fputs(">", f);
		td(f, "mono", m->path);
		td(f, NULL, m->alg);
		td(f, "mono", m->digest);
		td_component(f, r, m->alg, m->component);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	capped(f, n, r->nfiles + r->dropped_files, "measured files");
	fputs("</section>\n", f);
}

static const char *section_title(const char *id, size_t len)
{
	static const struct {
		const char *id, *title;
	} titles[] = {
		{ "cover", "Cover" },		{ "devices", "Device identity" },
		{ "policies", "Policies" },	{ "timeline", "Timeline" },
		{ "violations", "Violations" }, { "monitoring", "Monitoring" },
		{ "files", "Measured files" },
	};

	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strlen(titles[i].id) == len && !memcmp(titles[i].id, id, len))
			return titles[i].title;
	return "";
}

static void td_links(FILE *f, const char *sections)
{
	fputs("<td>", f);
	for (const char *s = sections; *s;) {
		size_t len = strcspn(s, " ");

		fprintf(f, "%s<a href=\"#%.*s\">%s</a>", s == sections ? "" : ", ", (int)len, s,
			section_title(s, len));
		s += len + (s[len] == ' ');
	}
	fputs("</td>", f);
}

static void traceability(FILE *f, const struct report *r)
{
	static const char *const cols[] = {
		"Requirement", "Our title", "vigil control", "Evidence in this report", "Where",
		"Status",      NULL
	};

	fputs("<section id=\"traceability\">\n<h2>7. Traceability</h2>\n"
	      "<p>Requirement ids of IEC 62443-4-2 and of the EU Cyber Resilience Act with our own "
	      "short titles (not the standards' text). The status says what this period's data "
	      "show: satisfied, partially, or not shown in this period.</p>\n<table>",
	      f);
	thead(f, cols);
	for (size_t i = 0; i < r->nreqs; i++) {
		const struct report_requirement *q = &r->reqs[i];
		const char *st = vigil_report_status_name(q->status);

		fputs("<tr", f);
		attr(f, "data-requirement", q->id);
		attr(f, "data-status", st);
		fputs(">", f);
		td(f, "mono id", q->id);
		td(f, NULL, q->title);
		td(f, NULL, q->control);
		td(f, NULL, q->evidence);
		td_links(f, q->sections);
		td(f, st, !strcmp(st, "not_shown") ? "not shown in this period" : st);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n"
	      "<p class=\"note\">Limits: vigil measures files when they are executed, mapped "
	      "executable or opened as selected configuration; code that never touches a file "
	      "(interpreted from memory, JIT) is not measured. Measurement detects changes, it does "
	      "not prevent them.</p>\n</section>\n",
	      f);
}

/**
 * vigil_report_html() - write the report as one self-contained HTML document
 * @r: the model
 * @out: where to write
 *
 * Return: 0, or -EIO when writing to @out failed.
 */
int vigil_report_html(const struct report *r, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"generator\" content=\"vigil " VIGIL_VERSION "\">\n<title>",
	      out);
	esc(out, "Integrity compliance report ");
	esc(out, r->id);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body", css);
	attr(out, "data-report-id", r->id);
	fputs(">\n", out);
	cover(out, r);
	devices(out, r);
	policies(out, r);
	timeline(out, r);
	violations(out, r);
	monitoring(out, r);
	files(out, r);
	traceability(out, r);
	fputs("</body>\n</html>\n", out);
	return ferror(out) ? -EIO : 0;
}
