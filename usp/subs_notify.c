/*
 * subs_notify.c - the Notify message of each notification type (TR-369
 * "Notify Request Fields"), the Recipient's notify ('n') permission, and
 * delivery: send_resp, the NotifRetry back-off (R-NOT.1 to R-NOT.4),
 * NotifExpiration, and settling on NotifyResp. Which subscription fires is
 * subs.c's business.
 *
 * Pending notifications live in memory only: TR-181 NotifExpiration says a
 * Notify is retried "until it has been successfully delivered, until [its
 * expiration], or until the USP Agent is restarted", and R-NOT.4 restarts the
 * retry count at a reboot, so nothing here needs to survive one.
 */
#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MIN_DEFAULT 5      /* USPNotifRetryMinimumWaitInterval, seconds */
#define RETRY_MULT_DEFAULT 2000  /* USPNotifRetryIntervalMultiplier, 1/1000 */
#define RETRY_CAP 10             /* R-NOT.2: the tenth and later retries use the last range */
#define RETRY_WAIT_MAX_MS (1ULL << 40)

struct usp_pending {
	usp_pending *next;
	usp_subs *s;
	usp_mem *mem;          /* holds msg */
	Usp__Msg *msg;
	const char *msg_id;    /* in mem */
	char endpoint[USP_ENDPOINT_MAX];
	char recipient[128];   /* the Controller instance, for its retry parameters */
	unsigned retries;      /* resends so far */
	uint64_t deadline_ms;  /* NotifExpiration, monotonic; 0 = none */
	bool expiring;         /* the timer runs to the deadline, not to a retry */
	core_timer *timer;
};

/* ---- message skeleton ----------------------------------------------------------- */

typedef struct notify_msg {
	usp_mem *mem;
	Usp__Msg *msg;
	Usp__Notify *notify;
} notify_msg;

static int notify_new(usp_subs *s, const usp_sub *sub, notify_msg *nm)
{
	memset(nm, 0, sizeof *nm);
	usp_mem *m = usp_mem_new();
	if (!m)
		return DM_ERR_NOMEM;
	Usp__Msg *msg = usp_mem_new_msg(m, &usp__msg__descriptor);
	Usp__Header *hdr = usp_mem_new_msg(m, &usp__header__descriptor);
	Usp__Body *body = usp_mem_new_msg(m, &usp__body__descriptor);
	Usp__Request *req = usp_mem_new_msg(m, &usp__request__descriptor);
	Usp__Notify *n = usp_mem_new_msg(m, &usp__notify__descriptor);
	char *id = usp_mem_printf(m, "%s-%llu", s->msg_prefix, (unsigned long long)++s->msg_seq);
	/* R-NOT.7: the Subscription's ID; NotifRetry decides send_resp */
	char *sub_id = usp_mem_strdup(m, sub->id ? sub->id : "");
	if (!msg || !hdr || !body || !req || !n || !id || !sub_id) {
		usp_mem_free(m);
		return DM_ERR_NOMEM;
	}
	hdr->msg_id = id;
	hdr->msg_type = USP__HEADER__MSG_TYPE__NOTIFY;
	msg->header = hdr;
	msg->body = body;
	body->msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	body->request = req;
	req->req_type_case = USP__REQUEST__REQ_TYPE_NOTIFY;
	req->notify = n;
	n->subscription_id = sub_id;
	n->send_resp = sub->retry;
	nm->mem = m;
	nm->msg = msg;
	nm->notify = n;
	return DM_OK;
}

/* One key/value entry of a protobuf map; the three map entry types share
 * their layout (base, key, value). */
typedef struct kv_entry {
	ProtobufCMessage base;
	char *key;
	char *value;
} kv_entry;

static int map_add(usp_mem *m, const ProtobufCMessageDescriptor *desc, void ***arr, size_t *n,
		   const char *key, const char *value)
{
	kv_entry *e = usp_mem_new_msg(m, desc);
	if (!e || !(e->key = usp_mem_strdup(m, key)) || !(e->value = usp_mem_strdup(m, value ? value : "")))
		return DM_ERR_NOMEM;
	return usp_mem_push(m, arr, n, e);
}

/* "Device.IP.Interface.1.Reset()" -> "Device.IP.Interface.1." and "Reset()". */
static int split_last(usp_mem *m, const char *path, char **obj, char **name)
{
	const char *dot = strrchr(path, '.');
	size_t cut = dot ? (size_t)(dot - path) + 1 : 0;
	*obj = usp_mem_printf(m, "%.*s", (int)cut, path);
	*name = usp_mem_strdup(m, path + cut);
	return *obj && *name ? DM_OK : DM_ERR_NOMEM;
}

/* ---- bodies ---------------------------------------------------------------------- */

static int body_value_change(usp_subs *s, const usp_sub *sub, const usp_event *ev, notify_msg *nm)
{
	Usp__Notify__ValueChange *vc = usp_mem_new_msg(nm->mem, &usp__notify__value_change__descriptor);
	if (!vc || !(vc->param_path = usp_mem_strdup(nm->mem, ev->path)) ||
	    !(vc->param_value = usp_mem_strdup(nm->mem, ev->value ? ev->value : "")))
		return DM_ERR_NOMEM;
	nm->notify->notification_case = USP__NOTIFY__NOTIFICATION_VALUE_CHANGE;
	nm->notify->value_change = vc;
	return DM_OK;
}

static int node_cb(void *ctx, const dm_item *it)
{
	*(const dm_node **)ctx = it->node;
	return 1;
}

/* The instance's unique-key parameters (every key set, each parameter once)
 * that the Recipient may read. */
static int add_unique_keys(usp_subs *s, const usp_ctl *ctl, const char *inst_path,
			   Usp__Notify__ObjectCreation *oc, usp_mem *m)
{
	dm_txn *t;
	if (usp_subs_read_txn(s, &t))
		return DM_OK; /* keys are informative: the notification still goes */
	const dm_node *table = NULL;
	dm_resolve(t, DM_GRAMMAR_USP, inst_path, DM_RESOLVE_OBJECTS, 0, node_cb, &table, NULL);
	int rc = DM_OK;
	unsigned n_sets = table ? dm_node_unique_key_count(table) : 0;
	for (unsigned k = 0; !rc && k < n_sets; k++) {
		const dm_node *const *params;
		unsigned n_params;
		bool functional;
		if (dm_node_unique_key(table, k, &functional, &params, &n_params))
			continue;
		for (unsigned i = 0; !rc && i < n_params; i++) {
			const char *name = dm_node_name(params[i]);
			bool seen = false;
			for (size_t j = 0; j < oc->n_unique_keys && !seen; j++)
				seen = !strcmp(oc->unique_keys[j]->key, name);
			char *path = usp_mem_printf(m, "%s%s", inst_path, name);
			if (!path) {
				rc = DM_ERR_NOMEM;
				break;
			}
			if (seen || !usp_allowed(ctl, USP_PERM_PARAM, path, USP_PERM_R))
				continue;
			char *v = NULL;
			if (dm_get_value(s->d, t, path, &v, NULL))
				continue;
			rc = map_add(m, &usp__notify__object_creation__unique_keys_entry__descriptor,
				     (void ***)&oc->unique_keys, &oc->n_unique_keys, name, v);
			free(v);
		}
	}
	dm_txn_abort(t);
	return rc;
}

static int body_obj_creation(usp_subs *s, const usp_ctl *ctl, const usp_event *ev, notify_msg *nm)
{
	Usp__Notify__ObjectCreation *oc = usp_mem_new_msg(nm->mem, &usp__notify__object_creation__descriptor);
	if (!oc || !(oc->obj_path = usp_mem_strdup(nm->mem, ev->path)))
		return DM_ERR_NOMEM;
	nm->notify->notification_case = USP__NOTIFY__NOTIFICATION_OBJ_CREATION;
	nm->notify->obj_creation = oc;
	return add_unique_keys(s, ctl, ev->path, oc, nm->mem);
}

static int body_obj_deletion(usp_subs *s, const usp_ctl *ctl, const usp_event *ev, notify_msg *nm)
{
	Usp__Notify__ObjectDeletion *od = usp_mem_new_msg(nm->mem, &usp__notify__object_deletion__descriptor);
	if (!od || !(od->obj_path = usp_mem_strdup(nm->mem, ev->path)))
		return DM_ERR_NOMEM;
	nm->notify->notification_case = USP__NOTIFY__NOTIFICATION_OBJ_DELETION;
	nm->notify->obj_deletion = od;
	return DM_OK;
}

/* ---- Boot! ParameterMap --------------------------------------------------------------- */

typedef struct json {
	char *buf;
	size_t len, cap;
	bool oom;
	bool first;
} json;

static void json_put(json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t nc = j->cap ? j->cap : 128;
		while (nc < j->len + n + 1)
			nc *= 2;
		char *nb = realloc(j->buf, nc);
		if (!nb) {
			j->oom = true;
			return;
		}
		j->buf = nb;
		j->cap = nc;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = 0;
}

static void json_string(json *j, const char *s)
{
	json_put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[8];
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			json_put(j, esc, 2);
		} else if (ch < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", ch);
			json_put(j, esc, 6);
		} else {
			json_put(j, s, 1);
		}
	}
	json_put(j, "\"", 1);
}

static int json_param(void *ctx, const dm_item *it)
{
	json *j = ctx;
	if (!it->value)
		return 0;
	json_put(j, j->first ? "" : ",", j->first ? 0 : 1);
	j->first = false;
	json_string(j, it->path);
	json_put(j, ":", 1);
	json_string(j, it->value);
	return j->oom;
}

/* TR-181 Device.Boot! ParameterMap: the values of the parameters named by the
 * Recipient's enabled Controller.{i}.BootParameter entries, as JSON. */
static char *boot_parameter_map(usp_subs *s, const char *recipient)
{
	json j = {.first = true};
	json_put(&j, "{", 1);
	dm_txn *t;
	if (recipient[0] && !usp_subs_read_txn(s, &t)) {
		char table[300];
		snprintf(table, sizeof table, "%s.BootParameter.", recipient);
		uint32_t *insts = NULL;
		size_t n = 0;
		dm_list_instances(t, table, &insts, &n, NULL);
		for (size_t i = 0; i < n && !j.oom; i++) {
			char path[400], v[8], name[1024];
			snprintf(path, sizeof path, "%s%u.Enable", table, insts[i]);
			usp_subs_read(s, t, path, v, sizeof v);
			snprintf(path, sizeof path, "%s%u.ParameterName", table, insts[i]);
			usp_subs_read(s, t, path, name, sizeof name);
			if (strcmp(v, "true") || !name[0])
				continue;
			size_t l = strlen(name);
			unsigned flags = DM_RESOLVE_PARAMS | (name[l - 1] == '.' ? DM_RESOLVE_SUBTREE : 0);
			dm_resolve(t, DM_GRAMMAR_USP, name, flags, 0, json_param, &j, NULL);
		}
		free(insts);
		dm_txn_abort(t);
	}
	json_put(&j, "}", 1);
	if (j.oom) {
		free(j.buf);
		return NULL;
	}
	return j.buf;
}

static bool is_boot(const char *name)
{
	return !strcmp(name, "Boot!");
}

static int body_event(usp_subs *s, const usp_sub *sub, const usp_event *ev, notify_msg *nm)
{
	usp_mem *m = nm->mem;
	Usp__Notify__Event *e = usp_mem_new_msg(m, &usp__notify__event__descriptor);
	if (!e || split_last(m, ev->path, &e->obj_path, &e->event_name))
		return DM_ERR_NOMEM;
	nm->notify->notification_case = USP__NOTIFY__NOTIFICATION_EVENT;
	nm->notify->event = e;
	for (size_t i = 0; i < ev->n_args; i++) {
		const char *v = ev->args[i].value;
		char *map = NULL;
		/* the emitter cannot know each Recipient's BootParameters */
		if (is_boot(e->event_name) && !strcmp(ev->args[i].name, "ParameterMap") && (!v || !*v || !strcmp(v, "{}")))
			v = map = boot_parameter_map(s, sub->recipient);
		int rc = v ? map_add(m, &usp__notify__event__params_entry__descriptor, (void ***)&e->params,
				     &e->n_params, ev->args[i].name, v)
			   : DM_ERR_NOMEM;
		free(map);
		if (rc)
			return rc;
	}
	return DM_OK;
}

static int body_oper_complete(usp_mem *m, Usp__Notify *n, const usp_oper_done *op)
{
	Usp__Notify__OperationComplete *oc = usp_mem_new_msg(m, &usp__notify__operation_complete__descriptor);
	if (!oc || split_last(m, op->cmd_path, &oc->obj_path, &oc->command_name) ||
	    !(oc->command_key = usp_mem_strdup(m, op->command_key)))
		return DM_ERR_NOMEM;
	n->notification_case = USP__NOTIFY__NOTIFICATION_OPER_COMPLETE;
	n->oper_complete = oc;
	if (op->err_code) {
		Usp__Notify__OperationComplete__CommandFailure *f =
			usp_mem_new_msg(m, &usp__notify__operation_complete__command_failure__descriptor);
		if (!f || !(f->err_msg = usp_mem_strdup(m, op->err_msg)))
			return DM_ERR_NOMEM;
		f->err_code = op->err_code;
		oc->operation_resp_case = USP__NOTIFY__OPERATION_COMPLETE__OPERATION_RESP_CMD_FAILURE;
		oc->cmd_failure = f;
		return DM_OK;
	}
	Usp__Notify__OperationComplete__OutputArgs *out =
		usp_mem_new_msg(m, &usp__notify__operation_complete__output_args__descriptor);
	if (!out)
		return DM_ERR_NOMEM;
	oc->operation_resp_case = USP__NOTIFY__OPERATION_COMPLETE__OPERATION_RESP_REQ_OUTPUT_ARGS;
	oc->req_output_args = out;
	for (size_t i = 0; i < op->n_out; i++) {
		int rc = map_add(m, &usp__notify__operation_complete__output_args__output_args_entry__descriptor,
				 (void ***)&out->output_args, &out->n_output_args, op->out[i].name, op->out[i].value);
		if (rc)
			return rc;
	}
	return DM_OK;
}

/* ---- delivery ------------------------------------------------------------------------- */

static void read_ctl(usp_subs *s, const char *recipient, const char *name, char *buf, size_t bufsz)
{
	char path[300];
	snprintf(path, sizeof path, "%s.%s", recipient, name);
	usp_subs_read(s, NULL, path, buf, bufsz);
}

/* Controller.{i}.Enable false: "messages (notifications) are not sent". A
 * Controller that is gone reads "" here. */
static bool ctl_enabled(usp_subs *s, const char *recipient, bool *exists)
{
	char v[8];
	read_ctl(s, recipient, "Enable", v, sizeof v);
	*exists = v[0] != 0;
	return !strcmp(v, "true");
}

/*
 * The wait before retry number n (1-based): a random value in
 * [m * (k/1000)^(n-1), m * (k/1000)^n] seconds, with m and k read from the
 * Recipient's USPNotifRetryMinimumWaitInterval and
 * USPNotifRetryIntervalMultiplier at each retry (they may change at any
 * time); from the tenth retry on, the tenth range (R-NOT.1, R-NOT.2).
 */
static uint64_t retry_wait_ms(usp_subs *s, const char *recipient, unsigned n)
{
	char v[32];
	read_ctl(s, recipient, "USPNotifRetryMinimumWaitInterval", v, sizeof v);
	double m = v[0] ? strtod(v, NULL) : RETRY_MIN_DEFAULT;
	read_ctl(s, recipient, "USPNotifRetryIntervalMultiplier", v, sizeof v);
	double k = (v[0] ? strtod(v, NULL) : RETRY_MULT_DEFAULT) / 1000.0;
	if (m < 1)
		m = 1;
	if (k < 1)
		k = 1;
	if (n > RETRY_CAP)
		n = RETRY_CAP;
	double lo = m;
	for (unsigned i = 1; i < n; i++)
		lo *= k;
	double hi = lo * k;
	double u = (double)(usp_subs_random(s) >> 11) / (double)(1ULL << 53);
	double ms = (lo + (hi - lo) * u) * 1000.0;
	if (ms > (double)RETRY_WAIT_MAX_MS)
		return RETRY_WAIT_MAX_MS;
	return ms < 1 ? 1 : (uint64_t)ms;
}

static void pending_unlink(usp_pending *p)
{
	for (usp_pending **pp = &p->s->pending; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	core_timer_stop(p->timer);
	usp_mem_free(p->mem);
	free(p);
}

static void pending_fire(void *ctx);

static void pending_arm(usp_pending *p)
{
	usp_subs *s = p->s;
	core_timer_stop(p->timer);
	p->timer = NULL;
	uint64_t wait = retry_wait_ms(s, p->recipient, p->retries + 1);
	if (p->deadline_ms) {
		/* a retry due at or after the expiration never happens */
		uint64_t now = usp_subs_now_ms(s);
		uint64_t left = p->deadline_ms > now ? p->deadline_ms - now : 0;
		if (wait >= left) {
			wait = left;
			p->expiring = true;
		}
	}
	if (core_timer_start(s->loop, wait, 0, pending_fire, p, &p->timer)) {
		CORE_LOG_W("usp", "Notify %s: retry timer failed, given up", p->msg_id);
		pending_unlink(p);
	}
}

static void pending_fire(void *ctx)
{
	usp_pending *p = ctx;
	usp_subs *s = p->s;
	if (p->expiring || (p->deadline_ms && usp_subs_now_ms(s) >= p->deadline_ms)) {
		CORE_LOG_I("usp", "Notify %s to %s expired undelivered", p->msg_id, p->endpoint);
		pending_unlink(p);
		return;
	}
	bool exists;
	bool on = ctl_enabled(s, p->recipient, &exists);
	if (!exists) {
		pending_unlink(p); /* the Controller was deleted: nobody to deliver to */
		return;
	}
	if (on) {
		p->retries++;
		int rc = s->send(s->send_ctx, p->endpoint, p->msg);
		CORE_LOG_D("usp", "Notify %s retry %u to %s: %s", p->msg_id, p->retries, p->endpoint,
			   rc ? dm_strerror(rc) : "sent");
	}
	pending_arm(p);
}

static void deliver(usp_subs *s, const usp_sub *sub, notify_msg *nm, bool exempt)
{
	bool exists;
	bool on = ctl_enabled(s, sub->recipient, &exists);
	/* a disabled Controller still hears of its own Enable going false, and
	 * a deleted one of its own deletion (TR-181 Controller.{i}.) */
	if (exists && !on && !exempt) {
		usp_mem_free(nm->mem);
		return;
	}
	int rc = s->send(s->send_ctx, sub->endpoint, nm->msg);
	if (rc)
		CORE_LOG_D("usp", "Notify %s to %s not sent now: %s", nm->msg->header->msg_id, sub->endpoint,
			   dm_strerror(rc));
	if (!sub->retry || !exists) {
		usp_mem_free(nm->mem);
		return;
	}
	usp_pending *p = calloc(1, sizeof *p);
	if (!p) {
		usp_mem_free(nm->mem);
		return;
	}
	p->s = s;
	p->mem = nm->mem;
	p->msg = nm->msg;
	p->msg_id = nm->msg->header->msg_id;
	snprintf(p->endpoint, sizeof p->endpoint, "%s", sub->endpoint);
	snprintf(p->recipient, sizeof p->recipient, "%s", sub->recipient);
	if (sub->expiration)
		p->deadline_ms = usp_subs_now_ms(s) + (uint64_t)sub->expiration * 1000u;
	p->next = s->pending;
	s->pending = p;
	pending_arm(p);
}

bool usp_subs_pending_settle(usp_subs *s, const char *msg_id, const char *endpoint)
{
	for (usp_pending *p = s->pending; p; p = p->next) {
		if (strcmp(p->msg_id, msg_id) || (endpoint && strcmp(p->endpoint, endpoint)))
			continue;
		CORE_LOG_D("usp", "Notify %s delivered to %s", p->msg_id, p->endpoint);
		pending_unlink(p);
		return true;
	}
	return false;
}

void usp_subs_pending_kick(usp_subs *s, const char *endpoint)
{
	for (usp_pending *p = s->pending; p; p = p->next) {
		bool exists;
		if (!strcmp(p->endpoint, endpoint) && ctl_enabled(s, p->recipient, &exists))
			s->send(s->send_ctx, p->endpoint, p->msg);
	}
}

size_t usp_subs_pending_count(const usp_subs *s)
{
	size_t n = 0;
	for (const usp_pending *p = s->pending; p; p = p->next)
		n++;
	return n;
}

void usp_subs_pending_free_all(usp_subs *s)
{
	while (s->pending)
		pending_unlink(s->pending);
}

void usp_handle_notify_resp(usp_agent *a, const usp_ctl *ctl, const Usp__Msg *msg)
{
	usp_subs *s = a ? usp_agent_subs(a) : NULL;
	if (!s || !msg || !msg->header || !msg->header->msg_id)
		return;
	/* R-NOT.9: the msg_id settles it; subscription_id is not checked */
	if (!usp_subs_pending_settle(s, msg->header->msg_id, ctl ? ctl->endpoint_id : NULL))
		CORE_LOG_D("usp", "NotifyResp %s matches no pending Notify", msg->header->msg_id);
}

/* ---- entry points ------------------------------------------------------------------------ */

typedef int (*body_fn)(usp_subs *s, const usp_sub *sub, const usp_ctl *ctl, const usp_event *ev,
		       notify_msg *nm);

static int value_row(usp_subs *s, const usp_sub *sub, const usp_ctl *ctl, const usp_event *ev, notify_msg *nm)
{
	int rc = body_value_change(s, sub, ev, nm);
	char secret[1024];

	/* The change feed blanks secured values; a Recipient holding one of
	 * SecuredRoles gets the stored one, as its Get would (C13). */
	if (!rc && !nm->notify->value_change->param_value[0] && usp_role_secured(ctl->role) &&
	    !dm_get_secret_buf(s->d, NULL, ev->path, secret, sizeof secret, NULL) && secret[0] &&
	    !(nm->notify->value_change->param_value = usp_mem_strdup(nm->mem, secret)))
		rc = DM_ERR_NOMEM;
	return rc;
}
static int creation_row(usp_subs *s, const usp_sub *sub, const usp_ctl *ctl, const usp_event *ev,
			notify_msg *nm)
{
	return body_obj_creation(s, ctl, ev, nm);
}
static int deletion_row(usp_subs *s, const usp_sub *sub, const usp_ctl *ctl, const usp_event *ev,
			notify_msg *nm)
{
	return body_obj_deletion(s, ctl, ev, nm);
}
static int event_row(usp_subs *s, const usp_sub *sub, const usp_ctl *ctl, const usp_event *ev, notify_msg *nm)
{
	return body_event(s, sub, ev, nm);
}

/* The permission that lets the Recipient receive each type (TR-181
 * ControllerTrust.Role.{i}.Permission.{i}, the 'n' of each flag string). */
static const struct {
	usp_sub_type type;
	usp_perm_kind kind;
	body_fn body;
} notify_rows[] = {
	{USP_SUB_VALUE_CHANGE, USP_PERM_PARAM, value_row},
	{USP_SUB_OBJ_CREATION, USP_PERM_OBJ, creation_row},
	{USP_SUB_OBJ_DELETION, USP_PERM_INST_OBJ, deletion_row},
	{USP_SUB_EVENT, USP_PERM_CMD_EVENT, event_row},
};

/* The Recipient as a permission check sees it. */
typedef struct recipient {
	usp_ctl ctl;
	usp_role *gone; /* a role built for a deleted Controller, freed by recipient_done */
} recipient;

static void recipient_done(recipient *r)
{
	usp_trust_role_free(r->gone);
	r->gone = NULL;
}

/*
 * May the Recipient receive a notification about path? A Recipient whose
 * Controller entry is gone (its own deletion, the last thing it hears of)
 * is judged by the Roles it had when the index was built.
 */
static bool may_notify(usp_subs *s, const usp_sub *sub, usp_perm_kind kind, const char *path, recipient *r)
{
	memset(r, 0, sizeof *r);
	if (!sub->endpoint || !sub->endpoint[0]) {
		CORE_LOG_D("usp", "Subscription %u has no reachable Recipient", sub->inst);
		return false;
	}
	snprintf(r->ctl.endpoint_id, sizeof r->ctl.endpoint_id, "%s", sub->endpoint);
	if (usp_trust_cache_identify(s->trust, &r->ctl))
		return false;
	if (!r->ctl.controller_inst && sub->role_refs && sub->role_refs[0] &&
	    !usp_trust_role_new(s->d, sub->role_refs, &r->gone))
		r->ctl.role = r->gone;
	if (usp_allowed(&r->ctl, kind, path, USP_PERM_N))
		return true;
	CORE_LOG_D("usp", "Subscription %u: %s may not be notified of %s", sub->inst, sub->endpoint, path);
	recipient_done(r);
	return false;
}

/* "<Recipient>.Enable": the change that turns the Recipient off. */
static bool is_own_enable(const usp_sub *sub, const usp_event *ev)
{
	size_t l = strlen(sub->recipient);
	return ev->kind == DM_CHANGE_VALUE && l && !strncmp(ev->path, sub->recipient, l) &&
	       !strcmp(ev->path + l, ".Enable");
}

void usp_subs_notify(usp_subs *s, const usp_sub *sub, const usp_event *ev)
{
	for (size_t i = 0; i < sizeof notify_rows / sizeof notify_rows[0]; i++) {
		if (notify_rows[i].type != sub->type)
			continue;
		recipient r;
		if (!may_notify(s, sub, notify_rows[i].kind, ev->path, &r))
			return;
		notify_msg nm;
		int rc = notify_new(s, sub, &nm);
		if (!rc && (rc = notify_rows[i].body(s, sub, &r.ctl, ev, &nm)))
			usp_mem_free(nm.mem);
		recipient_done(&r);
		if (rc) {
			CORE_LOG_W("usp", "Subscription %u: Notify not built (out of memory)", sub->inst);
			return;
		}
		deliver(s, sub, &nm, is_own_enable(sub, ev));
		return;
	}
}

void usp_subs_notify_oper(usp_subs *s, const usp_sub *sub, const usp_oper_done *op)
{
	recipient r;
	if (!may_notify(s, sub, USP_PERM_CMD_EVENT, op->cmd_path, &r))
		return;
	recipient_done(&r);
	notify_msg nm;
	if (notify_new(s, sub, &nm))
		return;
	if (body_oper_complete(nm.mem, nm.notify, op)) {
		usp_mem_free(nm.mem);
		return;
	}
	deliver(s, sub, &nm, false);
}

void usp_subs_notify_periodic(usp_subs *s, const usp_sub *sub)
{
	usp_event ev = {.kind = DM_CHANGE_EVENT, .path = "Device.LocalAgent.Periodic!"};
	usp_subs_notify(s, sub, &ev);
}
