/*
 * test_usp_subs.c - Device.LocalAgent.Subscription on a real engine
 * (datamodel/device2.xml with the factory defaults) and the real core loop:
 * ReferenceList matching (parameters, partial paths, wildcards, search
 * expressions), every NotifType, changes from every origin, the Recipient's
 * permissions and Enable, NotifRetry with NotifyResp and NotifExpiration,
 * TimeToLive, Persistent across a restart, live values, Periodic!, the
 * Config trigger action and the Recipient's deletion. Notify messages are
 * captured by replacing the sender, packed and unpacked as on the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "subs_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static dm_schema *schema;

/* A stand-in for agent.c's accessors: the unit under test is subs/trust,
 * and no MTP opens a socket here. Defined in this file, agent.o is never
 * pulled from the library. */
struct usp_agent {
	dm *d;
	core_loop *loop;
	usp_options opts;
	usp_subs *subs;
};
dm *usp_agent_dm(usp_agent *a) { return a->d; }
core_loop *usp_agent_loop(usp_agent *a) { return a->loop; }
const usp_options *usp_agent_options(usp_agent *a) { return &a->opts; }
usp_subs *usp_agent_subs(usp_agent *a) { return a->subs; }
int usp_send_msg(usp_agent *a, const char *to, const Usp__Msg *msg) { return DM_ERR_NOT_INSTANTIATED; }


#define MAX_SENT 64

typedef struct sent {
	char to[USP_ENDPOINT_MAX];
	Usp__Msg *msg;
} sent;

typedef struct fixture {
	char dir[64];
	dm *d;
	core_loop *loop;
	usp_agent agent;
	usp_agent *a;
	usp_subs *s;
	sent out[MAX_SENT];
	size_t n_out;
	int send_rc; /* what the captured "wire" answers */
	const char *reenter; /* a Subscription ID path the "wire" rewrites while sending */
} fixture;

static const dm_origin o_internal = {DM_ORIGIN_INTERNAL, "test"};
static const dm_origin o_usp = {DM_ORIGIN_USP, "ctl-a"};
static const dm_origin o_cwmp = {DM_ORIGIN_CWMP, "http://acs"};
static const dm_origin o_admin = {DM_ORIGIN_ADMIN, "duetctl"};

/* ---- capture ------------------------------------------------------------------ */

static int capture(void *ctx, const char *to, const Usp__Msg *msg)
{
	fixture *f = ctx;
	size_t len = protobuf_c_message_get_packed_size(&msg->base);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	protobuf_c_message_pack(&msg->base, buf);
	Usp__Msg *copy = usp__msg__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(copy);
	assert_true(f->n_out < MAX_SENT);
	snprintf(f->out[f->n_out].to, sizeof f->out[f->n_out].to, "%s", to);
	f->out[f->n_out++].msg = copy;
	if (f->reenter) {
		/* an MTP that commits while sending: the feed callback re-enters */
		const char *path = f->reenter;
		dm_txn *t;
		dm_errinfo err = {0};
		f->reenter = NULL;
		const dm_origin o = {DM_ORIGIN_INTERNAL, "wire"};
		/* two transactions: the second finds the index dirty */
		for (int k = 0; k < 2; k++) {
			assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
			assert_int_equal(dm_set(t, path, k ? "renamed" : "renaming", &err), DM_OK);
			assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
		}
	}
	return f->send_rc;
}

static void clear_sent(fixture *f)
{
	for (size_t i = 0; i < f->n_out; i++)
		usp__msg__free_unpacked(f->out[i].msg, NULL);
	f->n_out = 0;
}

static Usp__Notify *notify_at(fixture *f, size_t i)
{
	assert_true(i < f->n_out);
	Usp__Msg *m = f->out[i].msg;
	assert_int_equal(m->header->msg_type, USP__HEADER__MSG_TYPE__NOTIFY);
	assert_int_equal(m->body->msg_body_case, USP__BODY__MSG_BODY_REQUEST);
	assert_int_equal(m->body->request->req_type_case, USP__REQUEST__REQ_TYPE_NOTIFY);
	return m->body->request->notify;
}

/* ---- engine helpers ---------------------------------------------------------------- */

static void set_many(fixture *f, const dm_origin *o, const char *const *pv)
{
	dm_txn *t;
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, o, &t), DM_OK);
	for (; *pv; pv += 2) {
		int rc = dm_set(t, pv[0], pv[1], &err);
		if (rc)
			fail_msg("set %s=%s: %s", pv[0], pv[1], err.msg);
	}
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static void set1(fixture *f, const dm_origin *o, const char *path, const char *value)
{
	const char *pv[] = {path, value, NULL};
	set_many(f, o, pv);
}

static uint32_t add_obj(fixture *f, const dm_origin *o, const char *table)
{
	dm_txn *t;
	dm_errinfo err = {0};
	uint32_t inst = 0;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, o, &t), DM_OK);
	assert_int_equal(dm_add(t, table, NULL, &inst, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return inst;
}

static void del_obj(fixture *f, const dm_origin *o, const char *path)
{
	dm_txn *t;
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, o, &t), DM_OK);
	assert_int_equal(dm_delete(t, path, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static void get(fixture *f, const char *path, char *buf, size_t n)
{
	assert_int_equal(dm_get_value_buf(f->d, NULL, path, buf, n, NULL), DM_OK);
}

static bool exists(fixture *f, const char *path)
{
	char v[8];
	return dm_get_value_buf(f->d, NULL, path, v, sizeof v, NULL) == DM_OK;
}

/* A Controller with a role ("" = none) and fast retries (1 s, x1). */
static uint32_t add_controller(fixture *f, const char *endpoint, const char *role, bool enable)
{
	uint32_t c = add_obj(f, &o_internal, "Device.LocalAgent.Controller.");
	char p1[96], p2[96], p3[96], p4[96], p5[96];
	snprintf(p1, sizeof p1, "Device.LocalAgent.Controller.%u.EndpointID", c);
	snprintf(p2, sizeof p2, "Device.LocalAgent.Controller.%u.AssignedRole", c);
	snprintf(p3, sizeof p3, "Device.LocalAgent.Controller.%u.Enable", c);
	snprintf(p4, sizeof p4, "Device.LocalAgent.Controller.%u.USPNotifRetryMinimumWaitInterval", c);
	snprintf(p5, sizeof p5, "Device.LocalAgent.Controller.%u.USPNotifRetryIntervalMultiplier", c);
	const char *pv[] = {p1, endpoint, p2, role, p3, enable ? "true" : "false", p4, "1", p5, "1000", NULL};
	set_many(f, &o_internal, pv);
	return c;
}

typedef struct sub_def {
	const char *type;
	const char *refs;
	uint32_t ctl;
	const char *id;
	bool retry;
	const char *expiration;
	const char *ttl;
	bool persistent;
	const char *action;
	const char *config;
	bool disabled;
} sub_def;

/* As the Add handler would: the Recipient is read-only, so INTERNAL writes it. */
static uint32_t add_sub(fixture *f, const sub_def *d)
{
	uint32_t i = add_obj(f, &o_internal, "Device.LocalAgent.Subscription.");
	char p[11][96], recip[64], id[32];
	const char *names[] = {"Enable", "Recipient", "ID", "NotifType", "ReferenceList", "NotifRetry",
			       "NotifExpiration", "TimeToLive", "Persistent", "TriggerAction",
			       "TriggerConfigSettings"};
	for (int k = 0; k < 11; k++)
		snprintf(p[k], sizeof p[k], "Device.LocalAgent.Subscription.%u.%s", i, names[k]);
	snprintf(recip, sizeof recip, "Device.LocalAgent.Controller.%u", d->ctl);
	snprintf(id, sizeof id, "sub-%u", i); /* (Recipient, ID) is a unique key */
	const char *pv[] = {
		p[0], d->disabled ? "false" : "true",
		p[1], recip,
		p[2], d->id ? d->id : id,
		p[3], d->type,
		p[4], d->refs,
		p[5], d->retry ? "true" : "false",
		p[6], d->expiration ? d->expiration : "0",
		p[7], d->ttl ? d->ttl : "0",
		p[8], d->persistent ? "true" : "false",
		p[9], d->action ? d->action : "Notify",
		p[10], d->config ? d->config : "",
		NULL,
	};
	set_many(f, &o_internal, pv);
	return i;
}

static void stop_loop(void *ctx)
{
	core_loop_stop(ctx);
}

static void run_for(fixture *f, uint64_t ms)
{
	assert_int_equal(core_timer_start(f->loop, ms, 0, stop_loop, f->loop, NULL), CORE_OK);
	core_loop_run(f->loop);
}

/* ---- fixture ------------------------------------------------------------------------ */

static int start_agent(fixture *f, unsigned poll_ms)
{
	f->agent = (usp_agent){.d = f->d, .loop = f->loop, .opts = {.live_poll_ms = poll_ms}};
	f->a = &f->agent;
	if (usp_subs_start(f->a, &f->agent.subs))
		return -1;
	f->s = f->agent.subs;
	usp_subs_set_sender(f->s, capture, f);
	return 0;
}

static void stop_agent(fixture *f)
{
	usp_subs_stop(f->agent.subs);
	f->agent.subs = f->s = NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-subs-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	dm_errinfo err;
	if (dm_open(schema, &o, &f->d, &err) || core_loop_new(&f->loop) || start_agent(f, 50))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	clear_sent(f);
	stop_agent(f);
	core_loop_free(f->loop);
	dm_close(f->d);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	if (system(cmd))
		return -1;
	free(f);
	return 0;
}

static const char FULL[] = "Device.LocalAgent.ControllerTrust.Role.1";

/* ---- ValueChange ---------------------------------------------------------------------- */

static void test_value_change_any_origin(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
			      .id = "vc-1"});
	clear_sent(f);
	const dm_origin *origins[] = {&o_usp, &o_cwmp, &o_admin, &o_internal};
	const char *values[] = {"by-usp", "by-cwmp", "by-admin", "by-agent"};
	for (size_t i = 0; i < 4; i++) {
		set1(f, origins[i], "Device.DeviceInfo.FriendlyName", values[i]);
		assert_int_equal(f->n_out, i + 1);
		Usp__Notify *n = notify_at(f, i);
		assert_string_equal(f->out[i].to, "ctl-a");
		assert_string_equal(n->subscription_id, "vc-1");
		assert_false(n->send_resp);
		assert_int_equal(n->notification_case, USP__NOTIFY__NOTIFICATION_VALUE_CHANGE);
		assert_string_equal(n->value_change->param_path, "Device.DeviceInfo.FriendlyName");
		assert_string_equal(n->value_change->param_value, values[i]);
	}
	/* a neighbour and an unchanged value stay quiet */
	set1(f, &o_usp, "Device.DeviceInfo.HostName", "other");
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "by-agent");
	assert_int_equal(f->n_out, 4);
	/* msg_ids differ */
	assert_string_not_equal(f->out[0].msg->header->msg_id, f->out[1].msg->header->msg_id);
}

static void test_value_change_partial_and_wildcard(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.WiFi.SSID.*.SSID, Device.Time.",
			      .ctl = c});
	clear_sent(f);
	set1(f, &o_cwmp, "Device.WiFi.SSID.2.SSID", "five");
	set1(f, &o_cwmp, "Device.Time.LocalTimeZone", "UTC0");
	set1(f, &o_cwmp, "Device.Time.Client.1.Servers", "ntp.example");
	set1(f, &o_cwmp, "Device.WiFi.SSID.1.Enable", "false");
	assert_int_equal(f->n_out, 3);
	assert_string_equal(notify_at(f, 0)->value_change->param_path, "Device.WiFi.SSID.2.SSID");
	assert_string_equal(notify_at(f, 1)->value_change->param_path, "Device.Time.LocalTimeZone");
	assert_string_equal(notify_at(f, 2)->value_change->param_path, "Device.Time.Client.1.Servers");
}

static void test_value_change_search_reevaluated(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.WiFi.SSID.[Name==\"wlan1\"].SSID",
			      .ctl = c});
	clear_sent(f);
	set1(f, &o_usp, "Device.WiFi.SSID.2.SSID", "match");
	set1(f, &o_usp, "Device.WiFi.SSID.1.SSID", "no-match");
	assert_int_equal(f->n_out, 1);
	assert_string_equal(notify_at(f, 0)->value_change->param_path, "Device.WiFi.SSID.2.SSID");
	/* the expression follows the current state */
	set1(f, &o_internal, "Device.WiFi.SSID.2.Name", "wlan9");
	set1(f, &o_internal, "Device.WiFi.SSID.1.Name", "wlan1");
	set1(f, &o_usp, "Device.WiFi.SSID.1.SSID", "now-matching");
	set1(f, &o_usp, "Device.WiFi.SSID.2.SSID", "not-any-more");
	assert_int_equal(f->n_out, 2);
	assert_string_equal(notify_at(f, 1)->value_change->param_path, "Device.WiFi.SSID.1.SSID");
}

static void test_disabled_subscription_and_enable(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	uint32_t i = add_sub(f, &(sub_def){.type = "ValueChange",
					   .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
					  .disabled = true});
	clear_sent(f);
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "one");
	assert_int_equal(f->n_out, 0);
	char p[96];
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.Enable", i);
	set1(f, &o_usp, p, "true");
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "two");
	assert_int_equal(f->n_out, 1);
}

static void test_send_that_commits(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	uint32_t i = add_sub(f, &(sub_def){.type = "ValueChange",
					   .refs = "Device.DeviceInfo.,Device.LocalAgent.", .ctl = c});
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c});
	clear_sent(f);
	char p[96];
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.ID", i);
	f->reenter = p;
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "nested");
	/* two for the name, two for the ID changed from inside the send */
	assert_int_equal(f->n_out, 4);
	assert_string_equal(notify_at(f, 1)->value_change->param_path, p);
	assert_string_equal(notify_at(f, 2)->value_change->param_value, "renamed");
	run_for(f, 20); /* the rebuild the nested change asked for; CreationDates too */
	clear_sent(f);
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "after");
	assert_int_equal(f->n_out, 2);
	assert_string_equal(notify_at(f, 0)->subscription_id, "renamed");
}

static void test_recipient_filled_for_usp_add(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	const dm_origin by_ctl = {DM_ORIGIN_USP, "ctl-a"};
	uint32_t i = add_obj(f, &by_ctl, "Device.LocalAgent.Subscription.");
	char p[4][96];
	const char *names[] = {"Enable", "ID", "NotifType", "ReferenceList"};
	for (int k = 0; k < 4; k++)
		snprintf(p[k], sizeof p[k], "Device.LocalAgent.Subscription.%u.%s", i, names[k]);
	const char *pv[] = {p[0], "true", p[1], "mine", p[2], "ValueChange",
			    p[3], "Device.DeviceInfo.HostName", NULL};
	set_many(f, &by_ctl, pv);
	run_for(f, 20);
	char path[96], v[96], want[64];
	snprintf(path, sizeof path, "Device.LocalAgent.Subscription.%u.Recipient", i);
	get(f, path, v, sizeof v);
	snprintf(want, sizeof want, "Device.LocalAgent.Controller.%u", c);
	assert_string_equal(v, want);
	clear_sent(f);
	set1(f, &o_cwmp, "Device.DeviceInfo.HostName", "renamed");
	assert_int_equal(f->n_out, 1);
	assert_string_equal(f->out[0].to, "ctl-a");
	assert_string_equal(notify_at(f, 0)->subscription_id, "mine");
}

/* ---- ObjectCreation / ObjectDeletion ----------------------------------------------------- */

static void test_object_creation_and_deletion(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ObjectCreation", .refs = "Device.IP.Interface.", .ctl = c,
			      .id = "oc"});
	add_sub(f, &(sub_def){.type = "ObjectDeletion", .refs = "Device.IP.Interface.*.", .ctl = c,
			      .id = "od"});
	clear_sent(f);
	uint32_t i = add_obj(f, &o_cwmp, "Device.IP.Interface.");
	assert_int_equal(f->n_out, 1);
	Usp__Notify *n = notify_at(f, 0);
	assert_string_equal(n->subscription_id, "oc");
	assert_int_equal(n->notification_case, USP__NOTIFY__NOTIFICATION_OBJ_CREATION);
	char want[64];
	snprintf(want, sizeof want, "Device.IP.Interface.%u.", i);
	assert_string_equal(n->obj_creation->obj_path, want);
	/* both unique keys: Alias and Name */
	assert_int_equal(n->obj_creation->n_unique_keys, 2);
	assert_string_equal(n->obj_creation->unique_keys[0]->key, "Alias");
	assert_string_equal(n->obj_creation->unique_keys[1]->key, "Name");
	del_obj(f, &o_admin, want);
	assert_int_equal(f->n_out, 2);
	n = notify_at(f, 1);
	assert_string_equal(n->subscription_id, "od");
	assert_int_equal(n->notification_case, USP__NOTIFY__NOTIFICATION_OBJ_DELETION);
	assert_string_equal(n->obj_deletion->obj_path, want);
	/* another table: nothing */
	add_obj(f, &o_cwmp, "Device.WiFi.SSID.");
	assert_int_equal(f->n_out, 2);
}

static void test_object_deletion_search(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ObjectDeletion",
			      .refs = "Device.IP.Interface.[Type==\"Loopback\"].", .ctl = c});
	uint32_t i = add_obj(f, &o_usp, "Device.IP.Interface.");
	run_for(f, 20);
	clear_sent(f);
	char p[64];
	snprintf(p, sizeof p, "Device.IP.Interface.%u.", i);
	del_obj(f, &o_usp, p); /* Type is not Loopback */
	assert_int_equal(f->n_out, 0);
	del_obj(f, &o_usp, "Device.IP.Interface.1.");
	assert_int_equal(f->n_out, 1);
	assert_string_equal(notify_at(f, 0)->obj_deletion->obj_path, "Device.IP.Interface.1.");
}

/* ---- Event and OperationComplete ----------------------------------------------------------- */

static void test_boot_event_with_parameter_map(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	uint32_t bp = add_obj(f, &o_internal, "Device.LocalAgent.Controller.1.BootParameter.");
	char p1[96], p2[96];
	snprintf(p1, sizeof p1, "Device.LocalAgent.Controller.1.BootParameter.%u.Enable", bp);
	snprintf(p2, sizeof p2, "Device.LocalAgent.Controller.1.BootParameter.%u.ParameterName", bp);
	const char *pv[] = {p1, "true", p2, "Device.DeviceInfo.SoftwareVersion", NULL};
	set_many(f, &o_internal, pv);
	add_sub(f, &(sub_def){.type = "Event", .refs = "Device.Boot!", .ctl = c, .id = "boot-1",
			      .retry = true});
	add_sub(f, &(sub_def){.type = "Event", .refs = "Device.", .ctl = c, .id = "all-events"});
	add_sub(f, &(sub_def){.type = "Event", .refs = "Device.LocalAgent.", .ctl = c, .id = "agent-events"});
	clear_sent(f);
	dm_arg args[] = {{"CommandKey", ""}, {"Cause", "LocalReboot"}, {"FirmwareUpdated", "false"},
			 {"ParameterMap", "{}"}};
	assert_int_equal(dm_event_emit(f->d, "Device.Boot!", args, 4, NULL), DM_OK);
	assert_int_equal(f->n_out, 2);
	Usp__Notify *n = notify_at(f, 0);
	assert_string_equal(n->subscription_id, "boot-1");
	assert_true(n->send_resp);
	assert_int_equal(n->notification_case, USP__NOTIFY__NOTIFICATION_EVENT);
	assert_string_equal(n->event->obj_path, "Device.");
	assert_string_equal(n->event->event_name, "Boot!");
	assert_int_equal(n->event->n_params, 4);
	assert_string_equal(n->event->params[1]->key, "Cause");
	assert_string_equal(n->event->params[1]->value, "LocalReboot");
	assert_string_equal(n->event->params[3]->key, "ParameterMap");
	assert_string_equal(n->event->params[3]->value, "{\"Device.DeviceInfo.SoftwareVersion\":\"0.1.0\"}");
	assert_string_equal(notify_at(f, 1)->subscription_id, "all-events");
	assert_int_equal(usp_subs_pending_count(f->s), 1);
}

static void test_operation_complete(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "OperationComplete", .refs = "Device.IP.Diagnostics.", .ctl = c,
			      .id = "oc"});
	add_sub(f, &(sub_def){.type = "OperationComplete", .refs = "Device.SelfTestDiagnostics()",
			      .ctl = c, .id = "st"});
	clear_sent(f);
	dm_arg out[] = {{"Status", "Complete"}, {"Results", "ok"}};
	usp_subs_operation_complete(f->s, "ctl-b", "Device.SelfTestDiagnostics()", "key-1", 0, NULL, out, 2);
	assert_int_equal(f->n_out, 1);
	Usp__Notify *n = notify_at(f, 0);
	assert_string_equal(n->subscription_id, "st");
	assert_int_equal(n->notification_case, USP__NOTIFY__NOTIFICATION_OPER_COMPLETE);
	Usp__Notify__OperationComplete *oc = n->oper_complete;
	assert_string_equal(oc->obj_path, "Device.");
	assert_string_equal(oc->command_name, "SelfTestDiagnostics()");
	assert_string_equal(oc->command_key, "key-1");
	assert_int_equal(oc->operation_resp_case, USP__NOTIFY__OPERATION_COMPLETE__OPERATION_RESP_REQ_OUTPUT_ARGS);
	assert_int_equal(oc->req_output_args->n_output_args, 2);
	assert_string_equal(oc->req_output_args->output_args[0]->key, "Status");
	assert_string_equal(oc->req_output_args->output_args[0]->value, "Complete");
	/* a failure under the partial path */
	usp_subs_operation_complete(f->s, "ctl-a", "Device.IP.Diagnostics.IPPing()", "k2", DM_ERR_CMD_FAILED,
				    "no route", NULL, 0);
	assert_int_equal(f->n_out, 2);
	oc = notify_at(f, 1)->oper_complete;
	assert_string_equal(oc->obj_path, "Device.IP.Diagnostics.");
	assert_int_equal(oc->operation_resp_case, USP__NOTIFY__OPERATION_COMPLETE__OPERATION_RESP_CMD_FAILURE);
	assert_int_equal(oc->cmd_failure->err_code, usp_err_code(DM_ERR_CMD_FAILED, USP_OP_OPERATE));
	assert_string_equal(oc->cmd_failure->err_msg, "no route");
	/* a USP code passes through */
	usp_subs_operation_complete(f->s, NULL, "Device.IP.Diagnostics.TraceRoute()", "", 7023, NULL, NULL, 0);
	assert_int_equal(notify_at(f, 2)->oper_complete->cmd_failure->err_code, 7023);
}

/* ---- permissions and the Recipient ---------------------------------------------------------- */

static void test_recipient_permissions(void **state)
{
	fixture *f = *state;
	/* Role 4: notify on DeviceInfo parameters only */
	assert_int_equal(add_obj(f, &o_internal, "Device.LocalAgent.ControllerTrust.Role."), 4);
	assert_int_equal(add_obj(f, &o_internal, "Device.LocalAgent.ControllerTrust.Role.4.Permission."), 1);
	const char *pv[] = {
		"Device.LocalAgent.ControllerTrust.Role.4.Enable", "true",
		"Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Enable", "true",
		"Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Targets", "Device.DeviceInfo.",
		"Device.LocalAgent.ControllerTrust.Role.4.Permission.1.Param", "r--n",
		NULL,
	};
	set_many(f, &o_internal, pv);
	uint32_t c1 = add_controller(f, "ctl-limited", "Device.LocalAgent.ControllerTrust.Role.4", true);
	uint32_t c2 = add_controller(f, "ctl-untrusted", "", true);
	const char *refs = "Device.DeviceInfo.FriendlyName,Device.WiFi.SSID.1.SSID";
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = refs, .ctl = c1, .id = "lim"});
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = refs, .ctl = c2, .id = "unt"});
	clear_sent(f);
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "x");
	set1(f, &o_usp, "Device.WiFi.SSID.1.SSID", "y");
	assert_int_equal(f->n_out, 1);
	assert_string_equal(f->out[0].to, "ctl-limited");
	assert_string_equal(notify_at(f, 0)->value_change->param_path, "Device.DeviceInfo.FriendlyName");
}

static void test_disabled_recipient(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.LocalAgent.Controller.", .ctl = c});
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c});
	clear_sent(f);
	/* its own Enable going false is the last notification it gets */
	set1(f, &o_usp, "Device.LocalAgent.Controller.1.Enable", "false");
	assert_int_equal(f->n_out, 1);
	assert_string_equal(notify_at(f, 0)->value_change->param_path, "Device.LocalAgent.Controller.1.Enable");
	assert_string_equal(notify_at(f, 0)->value_change->param_value, "false");
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "quiet");
	set1(f, &o_usp, "Device.LocalAgent.Controller.1.ProvisioningCode", "quiet");
	assert_int_equal(f->n_out, 1);
	set1(f, &o_usp, "Device.LocalAgent.Controller.1.Enable", "true");
	assert_int_equal(f->n_out, 2);
}

static void test_recipient_deleted(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	uint32_t i = add_sub(f, &(sub_def){.type = "ObjectDeletion",
					   .refs = "Device.LocalAgent.Controller.", .ctl = c});
	run_for(f, 20);
	clear_sent(f);
	del_obj(f, &o_usp, "Device.LocalAgent.Controller.1.");
	/* the deleted Controller itself hears of it */
	assert_int_equal(f->n_out, 1);
	assert_string_equal(f->out[0].to, "ctl-a");
	assert_string_equal(notify_at(f, 0)->obj_deletion->obj_path, "Device.LocalAgent.Controller.1.");
	/* and its subscription follows it (Recipient: strong reference, delete) */
	run_for(f, 50);
	char p[96];
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.Enable", i);
	assert_false(exists(f, p));
}

/* ---- retry ------------------------------------------------------------------------------------- */

static Usp__Msg *notify_resp(const char *msg_id)
{
	static Usp__Header h;
	static Usp__Msg m;
	usp__header__init(&h);
	usp__msg__init(&m);
	h.msg_id = (char *)msg_id;
	h.msg_type = USP__HEADER__MSG_TYPE__NOTIFY_RESP;
	m.header = &h;
	return &m;
}

static void test_retry_until_notify_resp(void **state)
{
	fixture *f = *state;
	f->send_rc = DM_ERR_NOT_INSTANTIATED; /* no route at first */
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
			      .retry = true});
	clear_sent(f);
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "retry-me");
	assert_int_equal(f->n_out, 1);
	assert_true(notify_at(f, 0)->send_resp);
	char id[64];
	snprintf(id, sizeof id, "%s", f->out[0].msg->header->msg_id);
	/* m = 1 s, k = 1000: every retry 1 s later, same msg_id */
	run_for(f, 1200);
	assert_int_equal(f->n_out, 2);
	for (size_t i = 1; i < f->n_out; i++)
		assert_string_equal(f->out[i].msg->header->msg_id, id);
	/* another Controller cannot settle it; the Recipient can */
	usp_ctl other = {.endpoint_id = "ctl-b"}, ctl = {.endpoint_id = "ctl-a"};
	usp_handle_notify_resp(f->a, &other, notify_resp(id));
	assert_int_equal(usp_subs_pending_count(f->s), 1);
	usp_handle_notify_resp(f->a, &ctl, notify_resp(id));
	assert_int_equal(usp_subs_pending_count(f->s), 0);
	run_for(f, 1100);
	assert_int_equal(f->n_out, 2);
}

static void test_retry_backoff_range(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	/* the defaults: m = 5 s, k = 2000 */
	const char *pv[] = {"Device.LocalAgent.Controller.1.USPNotifRetryMinimumWaitInterval", "5",
			    "Device.LocalAgent.Controller.1.USPNotifRetryIntervalMultiplier", "2000", NULL};
	set_many(f, &o_internal, pv);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
			      .retry = true});
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "x");
	/* no retry before the minimum wait */
	clear_sent(f);
	run_for(f, 1000);
	assert_int_equal(f->n_out, 0);
	assert_int_equal(usp_subs_pending_count(f->s), 1);
}

static void test_notif_expiration(void **state)
{
	fixture *f = *state;
	f->send_rc = DM_ERR_NOT_INSTANTIATED;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
			      .retry = true,
			      .expiration = "2"});
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "expiring");
	assert_int_equal(usp_subs_pending_count(f->s), 1);
	clear_sent(f);
	/* one retry after 1 s; the second would be due at the expiration: never sent */
	run_for(f, 2400);
	assert_int_equal(usp_subs_pending_count(f->s), 0);
	assert_int_equal(f->n_out, 1);
}

static void test_without_retry_nothing_pending(void **state)
{
	fixture *f = *state;
	f->send_rc = DM_ERR_NOT_INSTANTIATED;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c});
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "lost");
	assert_int_equal(usp_subs_pending_count(f->s), 0);
}

static void test_controller_up_kicks_pending(void **state)
{
	fixture *f = *state;
	f->send_rc = DM_ERR_NOT_INSTANTIATED;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
			      .retry = true});
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "waiting");
	clear_sent(f);
	f->send_rc = DM_OK;
	usp_subs_controller_up(f->s, "ctl-a");
	usp_subs_controller_up(f->s, "ctl-z");
	assert_int_equal(f->n_out, 1);
	assert_string_equal(notify_at(f, 0)->value_change->param_value, "waiting");
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

static void test_time_to_live(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	uint32_t i = add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.", .ctl = c,
					   .ttl = "1",
					  .persistent = true});
	uint32_t keep = add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.", .ctl = c,
					     .persistent = true});
	char p[96], v[64];
	run_for(f, 50);
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.CreationDate", i);
	get(f, p, v, sizeof v);
	assert_false(strncmp(v, "0001-", 5) == 0);
	run_for(f, 2200);
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.Enable", i);
	assert_false(exists(f, p));
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.Enable", keep);
	assert_true(exists(f, p));
	clear_sent(f);
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "once");
	assert_int_equal(f->n_out, 1);
}

static void test_non_persistent_removed_at_restart(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	uint32_t gone = add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.", .ctl = c});
	uint32_t kept = add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.", .ctl = c,
					     .persistent = true, .retry = true});
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "before");
	clear_sent(f);
	stop_agent(f);
	assert_int_equal(start_agent(f, 50), 0);
	char p[96];
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.Enable", gone);
	assert_false(exists(f, p));
	snprintf(p, sizeof p, "Device.LocalAgent.Subscription.%u.Enable", kept);
	assert_true(exists(f, p));
	/* pending retries ended with the restart (NotifExpiration) */
	assert_int_equal(usp_subs_pending_count(f->s), 0);
	set1(f, &o_usp, "Device.DeviceInfo.FriendlyName", "after");
	assert_int_equal(f->n_out, 1);
}

/* ---- live values ---------------------------------------------------------------------------------- */

static unsigned uptime_value, uptime_reads, other_reads;

static int live_uptime(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	uptime_reads++;
	snprintf(buf, bufsz, "%u", uptime_value);
	return 0;
}

static int live_other(void *ctx, dm_txn *t, const char *path, char *buf, size_t bufsz)
{
	other_reads++;
	snprintf(buf, bufsz, "7");
	return 0;
}

static void test_live_values_polled(void **state)
{
	fixture *f = *state;
	/* ModelNumber made live for the test; SoftwareVersion live but not referenced */
	dm_provider p1 = {.get = live_uptime}, p2 = {.get = live_other};
	assert_int_equal(dm_provider_register(f->d, "Device.DeviceInfo.ModelNumber", &p1), DM_OK);
	assert_int_equal(dm_provider_register(f->d, "Device.LocalAgent.SoftwareVersion", &p2), DM_OK);
	uptime_value = 10;
	uptime_reads = other_reads = 0;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.ModelNumber", .ctl = c});
	run_for(f, 120);
	clear_sent(f);
	uptime_value = 11;
	run_for(f, 120);
	assert_int_equal(f->n_out, 1);
	assert_string_equal(notify_at(f, 0)->value_change->param_path, "Device.DeviceInfo.ModelNumber");
	assert_string_equal(notify_at(f, 0)->value_change->param_value, "11");
	run_for(f, 120);
	assert_int_equal(f->n_out, 1);
	/* only referenced live values are read */
	assert_true(uptime_reads > 0);
	assert_int_equal(other_reads, 0);
}

/* activeNotify canDeny (uptime, counters): GetSupportedDM says ValueChange
 * ignores them, and it does, whether polled or changed through the feed. */
static void test_value_change_ignored_params(void **state)
{
	fixture *f = *state;
	dm_provider p1 = {.get = live_uptime};
	assert_int_equal(dm_provider_register(f->d, "Device.DeviceInfo.UpTime", &p1), DM_OK);
	uptime_reads = 0;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange",
			      .refs = "Device.DeviceInfo.UpTime,Device.LocalAgent.UpTime", .ctl = c});
	run_for(f, 120);
	clear_sent(f);
	uptime_value++;
	set1(f, &o_internal, "Device.LocalAgent.UpTime", "77");
	run_for(f, 120);
	assert_int_equal(f->n_out, 0);
	assert_int_equal(uptime_reads, 0);
}

static void test_stored_value_not_doubled_by_poll(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	/* read-only but stored: reaches the feed and the poll */
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.ModelName", .ctl = c});
	run_for(f, 120);
	clear_sent(f);
	set1(f, &o_internal, "Device.DeviceInfo.ModelName", "NewModel");
	run_for(f, 200);
	assert_int_equal(f->n_out, 1);
}

/* ---- Periodic!, Config ---------------------------------------------------------------------------- */

static void test_periodic_event(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	set1(f, &o_usp, "Device.LocalAgent.Controller.1.PeriodicNotifInterval", "1");
	add_sub(f, &(sub_def){.type = "Event", .refs = "Device.LocalAgent.Periodic!", .ctl = c, .id = "per"});
	clear_sent(f);
	run_for(f, 1300);
	assert_true(f->n_out >= 1 && f->n_out <= 2);
	Usp__Notify *n = notify_at(f, 0);
	assert_string_equal(n->subscription_id, "per");
	assert_string_equal(n->event->obj_path, "Device.LocalAgent.");
	assert_string_equal(n->event->event_name, "Periodic!");
}

static void test_config_trigger_action(void **state)
{
	fixture *f = *state;
	uint32_t c = add_controller(f, "ctl-a", FULL, true);
	add_sub(f, &(sub_def){.type = "ValueChange", .refs = "Device.DeviceInfo.FriendlyName", .ctl = c,
			      .action = "Config",
			      .config = "Device.DeviceInfo.ProvisioningCode=\"TRIGGERED\",Device.Time.Enable=false"});
	clear_sent(f);
	set1(f, &o_cwmp, "Device.DeviceInfo.FriendlyName", "go");
	run_for(f, 50);
	assert_int_equal(f->n_out, 0);
	char v[64];
	get(f, "Device.DeviceInfo.ProvisioningCode", v, sizeof v);
	assert_string_equal(v, "TRIGGERED");
	get(f, "Device.Time.Enable", v, sizeof v);
	assert_string_equal(v, "false");
}

/* ---- pattern matching, table-driven ------------------------------------------------------------------ */

static void test_patterns(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *pat, *path;
		usp_pat_mode mode;
		bool match;
	} rows[] = {
		{"Device.DeviceInfo.FriendlyName", "Device.DeviceInfo.FriendlyName", USP_PAT_EXACT, true},
		{"Device.DeviceInfo.FriendlyName", "Device.DeviceInfo.FriendlyNam", USP_PAT_EXACT, false},
		{"Device.DeviceInfo.", "Device.DeviceInfo.FriendlyName", USP_PAT_PREFIX, true},
		{"Device.DeviceInfo.", "Device.DeviceInfoX.A", USP_PAT_PREFIX, false},
		{"Device.DeviceInfo", "Device.DeviceInfo.FriendlyName", USP_PAT_PREFIX, true},
		{"Device.DeviceInfo.", "Device.DeviceInfo.FriendlyName", USP_PAT_EXACT, false},
		{"Device.", "Device.Boot!", USP_PAT_PREFIX, true},
		{"Device.WiFi.SSID.*.SSID", "Device.WiFi.SSID.12.SSID", USP_PAT_EXACT, true},
		{"Device.WiFi.SSID.*.SSID", "Device.WiFi.SSID.12.Name", USP_PAT_EXACT, false},
		{"Device.WiFi.SSID.{i}.", "Device.WiFi.SSID.3.Name", USP_PAT_PREFIX, true},
		{"Device.WiFi.SSID.2.", "Device.WiFi.SSID.3.Name", USP_PAT_PREFIX, false},
		{"Device.WiFi.SSID.[Name==\"wlan0\"].SSID", "Device.WiFi.SSID.1.SSID", USP_PAT_EXACT, true},
		{"Device.WiFi.SSID.[Name==\"wlan0\"].SSID", "Device.WiFi.SSID.2.SSID", USP_PAT_EXACT, false},
		{"Device.WiFi.SSID.[Name==\"wlan0\"].", "Device.WiFi.SSID.{i}.", USP_PAT_EXACT, true},
		{"Device.WiFi.SSID.1.LowerLayers+.Name", "Device.WiFi.Radio.1.Name", USP_PAT_EXACT, true},
		{"Device.WiFi.SSID.1.LowerLayers+.Name", "Device.WiFi.Radio.2.Name", USP_PAT_EXACT, false},
		{"Device.LocalAgent.ControllerTrust.RequestChallenge()",
		 "Device.LocalAgent.ControllerTrust.RequestChallenge()", USP_PAT_PREFIX, true},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		usp_pat *p;
		assert_int_equal(usp_pat_compile(rows[i].pat, &p), DM_OK);
		if (usp_pat_match(p, f->d, NULL, rows[i].path, rows[i].mode) != rows[i].match)
			fail_msg("%s vs %s: expected %d", rows[i].pat, rows[i].path, rows[i].match);
		usp_pat_free(p);
	}
	static const struct {
		const char *pat, *node;
	} nodes[] = {
		{"Device.WiFi.SSID.*.SSID", "Device.WiFi.SSID.{i}.SSID"},
		{"Device.WiFi.SSID.[Name==\"a.b\"].", "Device.WiFi.SSID.{i}."},
		{"Device.Boot!", "Device.Boot!"},
		{"Device.WiFi.SSID.1.LowerLayers+.Name", NULL},
		{"Device.NoSuchThing", NULL},
	};
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		usp_pat *p;
		assert_int_equal(usp_pat_compile(nodes[i].pat, &p), DM_OK);
		const dm_node *n = usp_pat_schema_node(p, schema);
		if (nodes[i].node)
			assert_string_equal(n ? dm_node_path(n) : "(none)", nodes[i].node);
		else
			assert_null(n);
		usp_pat_free(p);
	}
	static const char *const bad[] = {"", "Device..X", "Device.X.[a==\"b\".Y"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		usp_pat *p = NULL;
		assert_int_equal(usp_pat_compile(bad[i], &p), DM_ERR_SYNTAX);
		assert_null(p);
	}
	char **items;
	size_t n;
	assert_int_equal(usp_list_split(" A.B , C.[x==\"1,2\"].D,,", &items, &n), DM_OK);
	assert_int_equal(n, 2);
	assert_string_equal(items[0], "A.B");
	assert_string_equal(items[1], "C.[x==\"1,2\"].D");
	usp_list_free(items, n);
}

int main(void)
{
	dm_errinfo err;
	if (dm_schema_load("datamodel/device2.xml", &schema, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	core_log_set_level(CORE_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_value_change_any_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_change_partial_and_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_change_search_reevaluated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_subscription_and_enable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_that_commits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipient_filled_for_usp_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_creation_and_deletion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_object_deletion_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_event_with_parameter_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_operation_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipient_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_recipient, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recipient_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_until_notify_resp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notif_expiration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_retry_nothing_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_controller_up_kicks_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_to_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_persistent_removed_at_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_values_polled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_value_change_ignored_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_value_not_doubled_by_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_trigger_action, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	dm_schema_free(schema);
	return rc;
}
