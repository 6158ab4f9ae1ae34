// SPDX-License-Identifier: MIT
/*
 * cmd_agent_push.c: `vigil agent --verifier URL`: push mode, for devices that accept no
 * inbound connections (docs/fleet-protocol.md, "Push mode"). The agent loops: POST /v1/nonce,
 * quote, read the log from the verifier's cursor, POST /v1/evidence, sleep the next_ms the
 * result says. A 403 not_enrolled to the nonce request runs the enrollment first (POST
 * /v1/enroll with the identity, ActivateCredential on the challenge, POST /v1/activate with
 * the secret), then asks again.
 *
 * Failures never end the loop: a transport error (refused, TLS, timeout) or a refusal is
 * reported in one line and retried after an exponential backoff from 1 s to 60 s; a 409 (busy,
 * no_nonce) is retried soon, and backs off too when it keeps coming. The libcurl session, and with it the TLS connection, is kept
 * across everything. --once makes every failure final (exit 3).
 *
 * Invariants: SIGTERM and SIGINT are blocked except while the agent sleeps (ppoll() unblocks
 * them atomically), so a stop request is never lost between the check and the sleep, and it
 * takes effect at the latest when the current request's --timeout ends; a stop exits 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "cleanup.h"
#include "cmd.h"
#include "http.h"
#include "proto.h"
#include "store.h"

#define BACKOFF_MIN_MS 1000u
#define BACKOFF_MAX_MS 60000u
#define AGAIN_MS 250u /* a 409: the lease or the nonce is someone else's for a moment */
#define AGAIN_SOON_MAX 4 /* more 409s in a row than this back off like errors */
#define ONCE_AGAIN_MAX 8 /* --once gives up after this many deferrals (about 16 s) */
#define URL_ROOM 600

static volatile sig_atomic_t stop;

/* What one step of the loop came to. */
enum step {
	STEP_DONE, /* a result: wait next_ms */
	STEP_AGAIN, /* a 409 (busy, no_nonce): ask again soon */
	STEP_NOW, /* enrolled, or a reboot's log_cursor reset the cursor: ask again at once */
	STEP_ENROLL, /* 403 not_enrolled: enroll, then ask again */
	STEP_ERROR, /* reported: back off */
};

/**
 * struct push - a push-mode agent's loop state
 * @a: the agent
 * @s: the HTTP session with verifierd, kept open
 * @wait_mask: the signal mask while sleeping (SIGTERM and SIGINT unblocked)
 * @have_last: a result was received before
 * @last: the device's state in that result
 * @last_reason: its reason
 */
struct push {
	struct agent *a;
	struct vigil_http_session *s;
	sigset_t wait_mask;
	bool have_last;
	enum vigil_device_state last;
	char last_reason[48];
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* SIGTERM/SIGINT set the stop flag and are blocked but while sleeping; SIGPIPE is ignored. */
static int signals_setup(sigset_t *ret_wait_mask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&ign.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGPIPE, &ign, NULL) < 0 || sigprocmask(SIG_BLOCK, &block, ret_wait_mask) < 0)
		return -errno;
	sigdelset(ret_wait_mask, SIGTERM);
	sigdelset(ret_wait_mask, SIGINT);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleep @ms, or less if asked to stop; a stop already pending is taken at once. */
static void nap(const struct push *p, uint32_t ms)
{
	uint64_t end = now_ms() + ms, t;

	do {
		t = now_ms();
		uint64_t left = end > t ? end - t : 0;
		struct timespec ts = { .tv_sec = (time_t)(left / 1000),
				       .tv_nsec = (long)(left % 1000) * 1000000L };

		(void)ppoll(NULL, 0, &ts, &p->wait_mask);
	} while (!stop && now_ms() < end);
}

/*
 * POST @body to verifierd's @path: 0 with its status and reply (NUL-terminated, possibly
 * empty), or a negative errno after a message.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): path, then body, as in HTTP */
static int post(struct push *p, const char *path, const char *body, int *ret_status,
		char **ret_reply)
{
	char url[URL_ROOM], err[256] = "";
	int r;

	snprintf(url, sizeof(url), "%s%s", p->a->verifier, path);
	r = vigil_http_session_call(p->s, "POST", url, body, strlen(body), p->a->timeout_ms,
				    VIGIL_PROTO_SMALL_MAX, ret_status, ret_reply, err, sizeof(err));
	if (r < 0)
		agent_say("%s: %s%s%s", url, strerror(-r), *err ? ": " : "", err);
	return r;
}

/* A reply other than 200: say what verifierd said (a 409 only with -v) and what to do. */
static enum step refused(const struct push *p, const char *path, int status, const char *reply)
{
	struct vigil_msg_error e;

	if (vigil_msg_error_parse(reply, strlen(reply), &e) < 0) {
		snprintf(e.error, sizeof(e.error), "%s", "(no error reply)");
		e.detail[0] = '\0';
	}
	if (status != 409 || p->a->verbose)
		agent_say("POST %s: %d %s%s%s%s", path, status, e.error, *e.detail ? ": " : "",
			  e.detail, status == 409 ? "; again soon" : "");
	return status == 409 ? STEP_AGAIN : STEP_ERROR;
}

static bool is_error(const char *reply, const char *code)
{
	struct vigil_msg_error e;

	return vigil_msg_error_parse(reply, strlen(reply), &e) == 0 && !strcmp(e.error, code);
}

static enum step malformed(const char *path)
{
	agent_say("POST %s: verifierd's reply is malformed", path);
	return STEP_ERROR;
}

/* enroll: identity -> challenge -> ActivateCredential -> secret. */
static enum step enroll(struct push *p)
{
	_cleanup_free_ char *identity = NULL, *reply = NULL;
	_cleanup_erase_free_ char *secret = NULL;
	struct vigil_msg_challenge c;
	int status = 0;

	if (agent_identity(p->a, &identity) < 0 ||
	    post(p, "/v1/enroll", identity, &status, &reply) < 0)
		return STEP_ERROR;
	if (status != 200)
		return refused(p, "/v1/enroll", status, reply);
	if (vigil_msg_challenge_parse(reply, strlen(reply), &c) < 0)
		return malformed("/v1/enroll");
	free(TAKE_PTR(reply));
	if (agent_activate(p->a, &c, &secret) < 0 ||
	    post(p, "/v1/activate", secret, &status, &reply) < 0)
		return STEP_ERROR;
	if (status != 200)
		return refused(p, "/v1/activate", status, reply);
	agent_say("enrolled with verifierd");
	return STEP_NOW;
}

/* Report a result: a change of state or reason always, every one with -v. */
static void report(struct push *p, const struct vigil_msg_result *res)
{
	const char *state = vigil_device_state_name(res->state);

	if (!p->have_last || res->state != p->last || strcmp(res->reason, p->last_reason) != 0 ||
	    p->a->verbose) {
		if (!strcmp(res->reason, "none"))
			agent_say("attestation %llu: %s", (unsigned long long)p->a->quotes, state);
		else
			agent_say("attestation %llu: %s: %s", (unsigned long long)p->a->quotes,
				  state, res->reason);
	}
	p->have_last = true;
	p->last = res->state;
	snprintf(p->last_reason, sizeof(p->last_reason), "%s", res->reason);
}

/* Quote for @req and post the evidence; DONE with the result in *@res. */
static enum step send_evidence(struct push *p, const struct vigil_msg_quote_request *req,
			       struct vigil_msg_result *res)
{
	_cleanup_free_ char *evidence = NULL, *reply = NULL;
	int status = 0;

	if (agent_quote(p->a, req, &evidence) < 0 ||
	    post(p, "/v1/evidence", evidence, &status, &reply) < 0)
		return STEP_ERROR;
	if (status != 200)
		return refused(p, "/v1/evidence", status, reply);
	if (vigil_msg_result_parse(reply, strlen(reply), res) < 0)
		return malformed("/v1/evidence");
	/* a reboot seen by verifierd: the cursor was reset, no verdict; ask again at once */
	if (!strcmp(res->reason, "log_cursor") && res->next_ms == 0)
		return STEP_NOW;
	report(p, res);
	return STEP_DONE;
}

/* One attestation: nonce, quote, evidence. */
static enum step attest(struct push *p, struct vigil_msg_result *res)
{
	_cleanup_free_ char *reply = NULL;
	struct vigil_msg_quote_request req;
	int status = 0;

	if (post(p, "/v1/nonce", "{}", &status, &reply) < 0)
		return STEP_ERROR;
	if (status == 403 && is_error(reply, "not_enrolled"))
		return STEP_ENROLL;
	if (status != 200)
		return refused(p, "/v1/nonce", status, reply);
	if (vigil_msg_quote_request_parse(reply, strlen(reply), &req) < 0)
		return malformed("/v1/nonce");
	return send_evidence(p, &req, res);
}

/* The wait after step @s; the backoff grows with each failure in a row. */
static uint32_t wait_ms(enum step s, const struct vigil_msg_result *res, uint32_t *backoff)
{
	switch (s) {
	case STEP_DONE:
		*backoff = 0;
		return res->next_ms;
	case STEP_NOW:
		return 0;
	case STEP_AGAIN:
		return AGAIN_MS;
	default:
		*backoff = *backoff == 0		  ? BACKOFF_MIN_MS :
			   *backoff >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS :
							    2 * *backoff;
		return *backoff;
	}
}

/* The loop; returns with an exit code (--once, or a stop). */
static int loop(struct push *p)
{
	uint32_t backoff = 0, again = 0;
	struct vigil_msg_result res = { 0 };
	bool enrolled = false, enrolling;
	enum step s;

	while (!stop) {
		s = attest(p, &res);
		enrolling = s == STEP_ENROLL && !enrolled;
		if (s == STEP_ENROLL && enrolled) {
			agent_say("verifierd still says not_enrolled after the enrollment");
			s = STEP_ERROR;
		} else if (enrolling) {
			s = enroll(p);
		}
		enrolled = enrolling && s == STEP_NOW;
		again = s == STEP_AGAIN || s == STEP_NOW ? again + 1 : 0;
		if (p->a->once && s == STEP_DONE)
			return res.state == VIGIL_DEVICE_TRUSTED ? VIGIL_EXIT_OK :
								   VIGIL_EXIT_REJECTED;
		if (p->a->once && again > ONCE_AGAIN_MAX)
			agent_say("verifierd deferred the attestation %u times; giving up", again);
		if (p->a->once && (s == STEP_ERROR || again > ONCE_AGAIN_MAX))
			return VIGIL_EXIT_RUNTIME;
		if (again > AGAIN_SOON_MAX) /* verifierd keeps deferring: do not hammer it */
			s = STEP_ERROR;
		nap(p, wait_ms(s, &res, &backoff));
	}
	agent_say("stopped");
	return VIGIL_EXIT_OK;
}

/**
 * agent_push() - run a push-mode agent until it is stopped (or once, with --once)
 * @a: the agent, with @a->verifier set
 *
 * Return: VIGIL_EXIT_OK (stopped by SIGTERM/SIGINT, or --once trusted), VIGIL_EXIT_REJECTED
 * (--once: not trusted), VIGIL_EXIT_RUNTIME (could not start; --once: any failure).
 */
int agent_push(struct agent *a)
{
	struct push p = { .a = a };
	int r = signals_setup(&p.wait_mask);

	if (r < 0) {
		agent_say("signals: %s", strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_http_session_new(&a->tls, &p.s);
	if (r < 0) {
		agent_say("TLS (%s, %s, %s): %s", a->tls.cert, a->tls.key, a->tls.ca, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	r = loop(&p);
	vigil_http_session_free(p.s);
	return r;
}
