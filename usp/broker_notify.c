/*
 * broker_notify.c - Controllers' subscriptions on paths USP Services
 * registered. The agent's change feed never sees a Service's values, so
 * for each enabled Device.LocalAgent.Subscription row whose ReferenceList
 * names such paths the Broker keeps a relay: a Subscription of its own on
 * the Service (Add of Device.LocalAgent.Subscription. there, ID
 * "duet-relay-<row>", the same NotifType, the references under that
 * Service's paths, no retry, not persistent). A Notify the Service sends
 * for it goes to the row's Recipient with the row's ID (send_resp false:
 * the Broker keeps no retry state). Rows, registrations and Services are
 * compared again whenever one of them changes.
 *
 * Simplifications: ReferenceList is split at every ',' (a search
 * expression holding a comma is not relayed whole); the Recipient's
 * permissions are checked on the references as written ('n' on the
 * parameter, object or event path), not on each notified path; NotifRetry,
 * NotifExpiration and TimeToLive of the row are not applied to relayed
 * notifications.
 */
#include "usp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MOD "usp-broker"
#define SUB_TABLE "Device.LocalAgent.Subscription."
#define CTL_TABLE "Device.LocalAgent.Controller."
#define VAL_MAX 1024

/* One relay: a row of ours, as a Subscription on one Service. */
typedef struct relay {
	void *svc; /* the Service's forwarder (mapping/proxy.h) */
	uint32_t row;
	char id[48];                   /* its ID on the Service */
	char ctl_id[USP_ENDPOINT_MAX]; /* the row's Recipient */
	char ctl_sub_id[VAL_MAX];      /* the row's ID */
	char notif_type[32];
	char *refs; /* the references under the Service's paths, comma-separated */
	bool keep;
	struct relay *next;
} relay;

struct usp_broker_relays {
	usp_broker *b;
	usp_agent *a;
	dm *d;
	dm_sub *feed;
	core_timer *timer; /* a pending comparison */
	relay *relays;
	uint64_t next_id;
};

/* Notification kinds a Service can raise for paths it serves. */
static const char *const relayed_types[] = {"ValueChange", "ObjectCreation", "ObjectDeletion", "Event",
					    "OperationComplete"};

static bool relayed_type(const char *t)
{
	for (size_t i = 0; i < sizeof relayed_types / sizeof relayed_types[0]; i++)
		if (!strcmp(t, relayed_types[i]))
			return true;
	return false;
}

/* ---- requests to Services -------------------------------------------------- */

static void logged(void *ctx, const Usp__Msg *answer, const char *why)
{
	const char *what = ctx;

	if (!answer || answer->body->msg_body_case == USP__BODY__MSG_BODY_ERROR)
		CORE_LOG_W(LOG_MOD, "%s on a USP Service failed: %s", what,
			   why ? why : answer->body->error->err_msg);
}

/* Ask the Service serving the relay's first reference for msg; the answer
 * is only logged. */
static void ask(usp_broker_relays *r, const relay *rl, const Usp__Msg *msg, const char *what)
{
	char path[VAL_MAX];

	snprintf(path, sizeof path, "%.*s", (int)strcspn(rl->refs, ","), rl->refs);
	if (usp_broker_ask(r->b, path, msg, logged, (void *)what))
		CORE_LOG_W(LOG_MOD, "%s: the USP Service cannot be reached", what);
}

static int setting(usp_mem *m, Usp__Add__CreateObject *co, const char *name, const char *value)
{
	Usp__Add__CreateParamSetting *ps = usp_mem_new_msg(m, &usp__add__create_param_setting__descriptor);

	if (!ps || !(ps->param = usp_mem_strdup(m, name)) || !(ps->value = usp_mem_strdup(m, value)))
		return DM_ERR_NOMEM;
	ps->required = true;
	return usp_mem_push(m, (void ***)&co->param_settings, &co->n_param_settings, ps);
}

static void relay_open(usp_broker_relays *r, const relay *rl)
{
	usp_mem *m = usp_mem_new();
	Usp__Request *rq = NULL;
	Usp__Msg *msg = m ? usp_broker_request_msg(m, "relay", USP__HEADER__MSG_TYPE__ADD, &rq) : NULL;
	Usp__Add *add = msg ? usp_mem_new_msg(m, &usp__add__descriptor) : NULL;
	Usp__Add__CreateObject *co = msg ? usp_mem_new_msg(m, &usp__add__create_object__descriptor) : NULL;

	if (!add || !co || setting(m, co, "ID", rl->id) || setting(m, co, "NotifType", rl->notif_type) ||
	    setting(m, co, "ReferenceList", rl->refs) || setting(m, co, "Enable", "true") ||
	    setting(m, co, "NotifRetry", "false") || setting(m, co, "Persistent", "false") ||
	    usp_mem_push(m, (void ***)&add->create_objs, &add->n_create_objs, co)) {
		CORE_LOG_W(LOG_MOD, "cannot relay subscription %u: out of memory", rl->row);
		usp_mem_free(m);
		return;
	}
	co->obj_path = SUB_TABLE;
	rq->req_type_case = USP__REQUEST__REQ_TYPE_ADD;
	rq->add = add;
	ask(r, rl, msg, "adding a relayed Subscription");
	usp_mem_free(m);
}

static void relay_close(usp_broker_relays *r, const relay *rl)
{
	usp_mem *m = usp_mem_new();
	Usp__Request *rq = NULL;
	Usp__Msg *msg = m ? usp_broker_request_msg(m, "relay", USP__HEADER__MSG_TYPE__DELETE, &rq) : NULL;
	Usp__Delete *del = msg ? usp_mem_new_msg(m, &usp__delete__descriptor) : NULL;
	char *obj = del ? usp_mem_printf(m, SUB_TABLE "[ID==\"%s\"].", rl->id) : NULL;

	if (obj && !usp_mem_push(m, (void ***)&del->obj_paths, &del->n_obj_paths, obj)) {
		del->allow_partial = true;
		rq->req_type_case = USP__REQUEST__REQ_TYPE_DELETE;
		rq->delete_ = del;
		ask(r, rl, msg, "deleting a relayed Subscription");
	}
	usp_mem_free(m);
}

/* ---- the wanted relays ------------------------------------------------------- */

static bool row_value(dm *d, dm_txn *t, uint32_t row, const char *name, char *buf)
{
	char path[128];

	snprintf(path, sizeof path, SUB_TABLE "%u.%s", row, name);
	return !dm_get_value_buf(d, t, path, buf, VAL_MAX, NULL);
}

/* The EndpointID of the Controller a Recipient reference names. */
static bool recipient_id(dm *d, dm_txn *t, const char *ref, char *out)
{
	char path[VAL_MAX + 16];
	size_t n = strlen(ref);

	if (strncmp(ref, CTL_TABLE, strlen(CTL_TABLE)) || n + 12 >= sizeof path)
		return false;
	snprintf(path, sizeof path, "%s%sEndpointID", ref, ref[n - 1] == '.' ? "" : ".");
	return !dm_get_value_buf(d, t, path, out, USP_ENDPOINT_MAX, NULL) && *out;
}

static relay *find(usp_broker_relays *r, uint32_t row, const void *svc)
{
	for (relay *rl = r->relays; rl; rl = rl->next)
		if (rl->row == row && rl->svc == svc)
			return rl;
	return NULL;
}

/* Append ref to the refs of svc in (svcs, lists). */
static int group_ref(void **svcs, char **lists, size_t *n, size_t max, void *svc, const char *ref)
{
	size_t i = 0;

	while (i < *n && svcs[i] != svc)
		i++;
	if (i == *n) {
		if (*n == max)
			return DM_OK; /* more Services than any row needs: the rest stay out */
		svcs[i] = svc;
		lists[i] = NULL;
		(*n)++;
	}
	size_t old = lists[i] ? strlen(lists[i]) : 0;
	char *v = realloc(lists[i], old + strlen(ref) + 2);
	if (!v)
		return DM_ERR_NOMEM;
	snprintf(v + old, strlen(ref) + 2, "%s%s", old ? "," : "", ref);
	lists[i] = v;
	return DM_OK;
}

/* The relay a row wants on one Service: kept when unchanged, else
 * replaced. */
static void want(usp_broker_relays *r, uint32_t row, void *svc, const char *refs, const char *type,
		 const char *ctl_id, const char *sub_id)
{
	relay *rl = find(r, row, svc);

	if (rl && !strcmp(rl->refs, refs) && !strcmp(rl->notif_type, type) && !strcmp(rl->ctl_id, ctl_id) &&
	    !strcmp(rl->ctl_sub_id, sub_id)) {
		rl->keep = true;
		return;
	}
	relay *n = calloc(1, sizeof *n);
	if (!n || !(n->refs = strdup(refs))) {
		free(n);
		CORE_LOG_W(LOG_MOD, "cannot relay subscription %u: out of memory", row);
		return;
	}
	n->svc = svc;
	n->row = row;
	n->keep = true;
	snprintf(n->id, sizeof n->id, "duet-relay-%u-%llu", row, (unsigned long long)++r->next_id);
	snprintf(n->ctl_id, sizeof n->ctl_id, "%s", ctl_id);
	snprintf(n->ctl_sub_id, sizeof n->ctl_sub_id, "%s", sub_id);
	snprintf(n->notif_type, sizeof n->notif_type, "%.31s", type); /* a relayed_types name */
	n->next = r->relays;
	r->relays = n;
	relay_open(r, n);
}

/* A reference the Recipient may be notified of, as written. */
static bool may_notify(const usp_ctl *ctl, const char *ref)
{
	size_t n = strlen(ref);
	usp_perm_kind k = n && ref[n - 1] == '.' ? USP_PERM_OBJ
			  : n && (ref[n - 1] == '!' || ref[n - 1] == ')') ? USP_PERM_CMD_EVENT
									   : USP_PERM_PARAM;

	return usp_allowed(ctl, k, ref, USP_PERM_N);
}

static void scan_row(usp_broker_relays *r, dm_txn *t, uint32_t row)
{
	char en[VAL_MAX], type[VAL_MAX], refs[VAL_MAX], rcpt[VAL_MAX], sub_id[VAL_MAX];
	usp_ctl ctl = {0};
	void *svcs[8], *svc;
	char *lists[8];
	size_t n = 0;
	map_proxy *reg = usp_broker_registry(r->b);

	if (!row_value(r->d, t, row, "Enable", en) || strcmp(en, "true") || !row_value(r->d, t, row, "NotifType", type) ||
	    !relayed_type(type) || !row_value(r->d, t, row, "ReferenceList", refs) ||
	    !row_value(r->d, t, row, "Recipient", rcpt) || !row_value(r->d, t, row, "ID", sub_id) ||
	    !recipient_id(r->d, t, rcpt, ctl.endpoint_id) || usp_trust_identify(r->a, &ctl))
		return;
	for (char *save = NULL, *ref = strtok_r(refs, ",", &save); ref; ref = strtok_r(NULL, ",", &save)) {
		while (*ref == ' ')
			ref++;
		if (map_proxy_match(reg, ref, &svc) && may_notify(&ctl, ref) &&
		    group_ref(svcs, lists, &n, 8, svc, ref))
			break;
	}
	for (size_t i = 0; i < n; i++) {
		if (lists[i])
			want(r, row, svcs[i], lists[i], type, ctl.endpoint_id, sub_id);
		free(lists[i]);
	}
}

static void relay_free(relay *rl)
{
	free(rl->refs);
	free(rl);
}

/* Bring the relays in line with the rows and the registrations. */
static void reconcile(usp_broker_relays *r)
{
	dm_txn *t;
	uint32_t *rows = NULL;
	size_t n = 0;

	for (relay *rl = r->relays; rl; rl = rl->next)
		rl->keep = false;
	if (map_proxy_count(usp_broker_registry(r->b)) && !dm_txn_begin(r->d, DM_TXN_READ, NULL, &t)) {
		if (!dm_list_instances(t, SUB_TABLE, &rows, &n, NULL))
			for (size_t i = 0; i < n; i++)
				scan_row(r, t, rows[i]);
		free(rows);
		dm_txn_abort(t);
	}
	for (relay **pp = &r->relays; *pp;) {
		relay *rl = *pp;
		if (rl->keep) {
			pp = &rl->next;
			continue;
		}
		*pp = rl->next;
		relay_close(r, rl);
		relay_free(rl);
	}
}

static void reconcile_now(void *ctx)
{
	usp_broker_relays *r = ctx;

	core_timer_stop(r->timer);
	r->timer = NULL;
	reconcile(r);
}

void usp_broker_relays_changed(usp_broker_relays *r)
{
	if (r && !r->timer && core_timer_start(usp_agent_loop(r->a), 0, 0, reconcile_now, r, &r->timer))
		CORE_LOG_W(LOG_MOD, "cannot schedule the subscription relays");
}

/* Rows and Controllers changed: their relays may have. */
static void on_change(void *ctx, const dm_change *c)
{
	if (c->kind != DM_CHANGE_EVENT &&
	    (!strncmp(c->path, SUB_TABLE, strlen(SUB_TABLE)) || !strncmp(c->path, CTL_TABLE, strlen(CTL_TABLE))))
		usp_broker_relays_changed(ctx);
}

/* ---- a Service's Notify ---------------------------------------------------------- */

bool usp_broker_relays_notify(usp_broker_relays *r, const void *svc, const Usp__Notify *n)
{
	relay *rl = r ? r->relays : NULL;

	while (rl && (rl->svc != svc || strcmp(rl->id, n->subscription_id)))
		rl = rl->next;
	if (!rl)
		return false;
	usp_mem *m = usp_mem_new();
	char *id = m ? usp_mem_printf(m, "duet-relay-%llu", (unsigned long long)++r->next_id) : NULL;
	Usp__Request *rq = NULL;
	Usp__Msg *msg = id ? usp_broker_request_msg(m, id, USP__HEADER__MSG_TYPE__NOTIFY, &rq) : NULL;
	Usp__Notify out = *n;

	if (msg) {
		out.subscription_id = rl->ctl_sub_id;
		out.send_resp = false;
		rq->req_type_case = USP__REQUEST__REQ_TYPE_NOTIFY;
		rq->notify = &out;
		if (usp_send_msg(r->a, rl->ctl_id, msg))
			CORE_LOG_I(LOG_MOD, "relayed Notify for %s could not be sent", rl->ctl_id);
	}
	usp_mem_free(m);
	return true;
}

void usp_broker_relays_svc_gone(usp_broker_relays *r, const void *svc)
{
	for (relay **pp = r ? &r->relays : NULL; pp && *pp;) {
		relay *rl = *pp;
		if (rl->svc != svc) {
			pp = &rl->next;
			continue;
		}
		*pp = rl->next;
		relay_free(rl);
	}
}

/* ---- start and stop ---------------------------------------------------------- */

int usp_broker_relays_start(usp_broker *b, usp_agent *a, usp_broker_relays **out)
{
	usp_broker_relays *r = calloc(1, sizeof *r);

	if (!r)
		return DM_ERR_NOMEM;
	r->b = b;
	r->a = a;
	r->d = usp_agent_dm(a);
	int rc = dm_subscribe(r->d, on_change, r, &r->feed);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return DM_OK;
}

void usp_broker_relays_stop(usp_broker_relays *r)
{
	if (!r)
		return;
	core_timer_stop(r->timer);
	dm_unsubscribe(r->d, r->feed);
	while (r->relays) {
		relay *rl = r->relays;
		r->relays = rl->next;
		relay_free(rl);
	}
	free(r);
}
