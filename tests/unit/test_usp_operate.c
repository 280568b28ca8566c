/*
 * test_usp_operate.c - Operate on a real engine (bundled datamodel/device2.xml)
 * with test command handlers: sync outputs, failures and their error codes,
 * ignored unknown input arguments (R-OPR.6), wildcards and search paths,
 * async operations and their Device.LocalAgent.Request rows (created,
 * Active, Success/Error, removed; R-OPR.0) whether the handler completes
 * later or at once, duplicates, send_resp=false (R-OPR.4), and what a
 * restart does to operations that never completed. Most run on the engine
 * alone; the last ones start a real agent on a core loop, with the Notify
 * sender replaced by a capture, for OperationComplete and for permissions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "usp_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONTROLLER "proto::controller-1"
#define MAX_FEED 64
#define MAX_SENT 8

typedef Usp__OperateResp__OperationResult op_result;
#define RESP_OUTPUTS USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_REQ_OUTPUT_ARGS
#define RESP_OBJ_PATH USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_REQ_OBJ_PATH
#define RESP_FAILURE USP__OPERATE_RESP__OPERATION_RESULT__OPERATION_RESP_CMD_FAILURE

typedef struct fixture {
	char dir[64];
	dm *d;
	dm_sub *sub;
	usp_mem *mem;
	usp_ctl ctl;
	Usp__Response resp;
	Usp__Error err;
	/* what the handlers saw */
	char seen_ref[128];
	char reset_paths[4][128];
	int n_resets;
	dm_request *pending[4];
	int n_pending;
	/* changes of the Request table, as "ADD 1", "Status=Active", "DELETE 1" */
	char feed[MAX_FEED][96];
	int n_feed;
	/* with an agent */
	core_loop *loop;
	usp_agent *a;
	Usp__Msg *sent[MAX_SENT];
	char sent_to[MAX_SENT][64];
	int n_sent;
} fixture;

static dm_schema *bundled;

/* ---------------------------------------------------------------------------
 * Test command handlers
 * ------------------------------------------------------------------------- */

static int h_challenge(void *ctx, dm_request *r)
{
	fixture *f = ctx;
	const char *ref = dm_request_input(r, "ChallengeRef");
	snprintf(f->seen_ref, sizeof f->seen_ref, "%s", ref ? ref : "(none)");
	const dm_arg out[] = {
		{"Instruction", "TG9vayBhdCB0aGUgTEVE"},
		{"InstructionType", "text/plain"},
		{"ChallengeID", "ch-7"},
	};
	return dm_request_complete(r, DM_OK, out, 3, NULL);
}

static int h_reset(void *ctx, dm_request *r)
{
	fixture *f = ctx;
	if (f->n_resets < 4)
		snprintf(f->reset_paths[f->n_resets++], sizeof f->reset_paths[0], "%s", dm_request_command(r));
	return dm_request_complete(r, DM_OK, NULL, 0, NULL);
}

static int h_fail(void *ctx, dm_request *r)
{
	return dm_request_complete(r, DM_ERR_CMD_FAILED, NULL, 0, "radio busy");
}

/* Async, completed later by the test. */
static int h_later(void *ctx, dm_request *r)
{
	fixture *f = ctx;
	f->pending[f->n_pending++] = r;
	return 0;
}

/* Async, completed before dm_operate returns. */
static int h_at_once(void *ctx, dm_request *r)
{
	const dm_arg out[] = {{"Status", "Complete"}, {"Results", "all good"}};
	return dm_request_complete(r, DM_OK, out, 2, NULL);
}

/* Async that cannot start. */
static int h_cannot_start(void *ctx, dm_request *r)
{
	return DM_ERR_CMD_FAILED;
}

static const struct {
	const char *path;
	dm_command_fn fn;
} handlers[] = {
	{"Device.LocalAgent.ControllerTrust.RequestChallenge()", h_challenge},
	{"Device.IP.Interface.{i}.Reset()", h_reset},
	{"Device.WiFi.Reset()", h_fail},
	{"Device.IP.Diagnostics.IPPing()", h_later},
	{"Device.SelfTestDiagnostics()", h_at_once},
	{"Device.IP.Diagnostics.TraceRoute()", h_cannot_start},
};

/* ---------------------------------------------------------------------------
 * Fixture
 * ------------------------------------------------------------------------- */

static void on_change(void *ctx, const dm_change *c)
{
	fixture *f = ctx;
	const char *table = "Device.LocalAgent.Request.";
	size_t tl = strlen(table);
	if (strncmp(c->path, table, tl) || f->n_feed >= MAX_FEED)
		return;
	char *line = f->feed[f->n_feed];
	const char *rest = c->path + tl;
	if (c->kind == DM_CHANGE_ADD)
		snprintf(line, sizeof f->feed[0], "ADD %.*s", (int)strcspn(rest, "."), rest);
	else if (c->kind == DM_CHANGE_DELETE)
		snprintf(line, sizeof f->feed[0], "DELETE %.*s", (int)strcspn(rest, "."), rest);
	else if (c->kind == DM_CHANGE_VALUE && strstr(rest, ".Status"))
		snprintf(line, sizeof f->feed[0], "Status=%s", c->new_value);
	else
		return;
	f->n_feed++;
}

static void start_engine(fixture *f)
{
	dm_open_opts o = {.state_dir = f->dir, .defaults_file = "datamodel/factory-defaults.txt"};
	dm_errinfo err = {0};
	if (dm_open(bundled, &o, &f->d, &err))
		fail_msg("dm_open: %s", err.msg);
	for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
		assert_int_equal(dm_command_register(f->d, handlers[i].path, handlers[i].fn, f), DM_OK);
	assert_int_equal(dm_subscribe(f->d, on_change, f, &f->sub), DM_OK);
}

static void stop_engine(fixture *f)
{
	dm_unsubscribe(f->d, f->sub);
	usp_operate_release(f->d);
	dm_close(f->d);
	f->d = NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-operate-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ctl.endpoint_id, sizeof f->ctl.endpoint_id, CONTROLLER);
	start_engine(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	usp_mem_free(f->mem);
	if (f->d)
		stop_engine(f);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Run one Operate; args are name, value pairs ending with NULL. The
 * response stays in f until the next call. */
static int operate(fixture *f, const char *cmd, const char *key, bool send_resp, const char *const *args)
{
	Usp__Operate__InputArgsEntry entries[8], *ptrs[8];
	Usp__Operate q = USP__OPERATE__INIT;
	q.command = (char *)cmd;
	q.command_key = (char *)key;
	q.send_resp = send_resp;
	for (size_t i = 0; args && args[2 * i]; i++) {
		entries[i] = (Usp__Operate__InputArgsEntry)USP__OPERATE__INPUT_ARGS_ENTRY__INIT;
		entries[i].key = (char *)args[2 * i];
		entries[i].value = (char *)args[2 * i + 1];
		ptrs[i] = &entries[i];
		q.n_input_args++;
	}
	q.input_args = ptrs;
	Usp__Request rq = USP__REQUEST__INIT;
	rq.req_type_case = USP__REQUEST__REQ_TYPE_OPERATE;
	rq.operate = &q;
	Usp__Body body = USP__BODY__INIT;
	body.msg_body_case = USP__BODY__MSG_BODY_REQUEST;
	body.request = &rq;
	Usp__Msg msg = USP__MSG__INIT;
	msg.body = &body;

	usp_mem_free(f->mem);
	f->mem = usp_mem_new();
	assert_non_null(f->mem);
	f->resp = (Usp__Response)USP__RESPONSE__INIT;
	f->err = (Usp__Error)USP__ERROR__INIT;
	usp_req_ctx c = {.agent = f->a, .d = f->d, .ctl = &f->ctl, .req = &msg, .mem = f->mem};
	int rc = usp_handle_operate(&c, &f->resp, &f->err);
	if (!rc) {
		assert_int_equal(f->resp.resp_type_case, USP__RESPONSE__RESP_TYPE_OPERATE_RESP);
		assert_true(usp__response__get_packed_size(&f->resp) > 0);
	}
	return rc;
}

/* The single result of an Operate that must succeed as a message. */
static op_result *operate_one(fixture *f, const char *cmd, const char *key, const char *const *args)
{
	assert_int_equal(operate(f, cmd, key, true, args), 0);
	assert_int_equal(f->resp.operate_resp->n_operation_results, 1);
	op_result *r = f->resp.operate_resp->operation_results[0];
	return r;
}

static const char *output(const op_result *r, const char *name)
{
	assert_int_equal(r->operation_resp_case, RESP_OUTPUTS);
	for (size_t i = 0; i < r->req_output_args->n_output_args; i++)
		if (!strcmp(r->req_output_args->output_args[i]->key, name))
			return r->req_output_args->output_args[i]->value;
	return NULL;
}

static void assert_failure(const op_result *r, uint32_t code, const char *msg_part)
{
	if (r->operation_resp_case != RESP_FAILURE)
		fail_msg("%s: no cmd_failure (case %d)", r->executed_command, r->operation_resp_case);
	if (r->cmd_failure->err_code != code)
		fail_msg("%s: err_code %u (%s), want %u", r->executed_command, r->cmd_failure->err_code,
			 r->cmd_failure->err_msg, code);
	assert_true(r->cmd_failure->err_msg[0] != '\0');
	if (msg_part && !strstr(r->cmd_failure->err_msg, msg_part))
		fail_msg("err_msg \"%s\" lacks \"%s\"", r->cmd_failure->err_msg, msg_part);
}

static void assert_value(fixture *f, const char *path, const char *want)
{
	char buf[512];
	dm_errinfo err = {0};
	if (dm_get_value_buf(f->d, NULL, path, buf, sizeof buf, &err))
		fail_msg("%s: %s", path, err.msg);
	assert_string_equal(buf, want);
}

static size_t request_rows(fixture *f)
{
	dm_txn *t;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_READ, NULL, &t), DM_OK);
	uint32_t *insts = NULL;
	size_t n = 0;
	dm_errinfo err = {0};
	assert_int_equal(dm_list_instances(t, "Device.LocalAgent.Request.", &insts, &n, &err), DM_OK);
	free(insts);
	dm_txn_abort(t);
	return n;
}

static void assert_feed(fixture *f, const char *const *want)
{
	int n = 0;
	for (; want[n]; n++) {
		if (n >= f->n_feed)
			fail_msg("feed ended before \"%s\"", want[n]);
		if (strcmp(f->feed[n], want[n]))
			fail_msg("feed[%d] is \"%s\", want \"%s\"", n, f->feed[n], want[n]);
	}
	if (f->n_feed != n)
		fail_msg("feed has %d more entries, first \"%s\"", f->n_feed - n, f->feed[n]);
	f->n_feed = 0;
}

/* ---------------------------------------------------------------------------
 * Sync commands
 * ------------------------------------------------------------------------- */

static void test_sync_outputs(void **state)
{
	fixture *f = *state;
	/* "Bogus" is not an input of the command: ignored (R-OPR.6) */
	const char *args[] = {"ChallengeRef", "Device.LocalAgent.ControllerTrust.Challenge.1", "Bogus", "x", NULL};
	op_result *r = operate_one(f, "Device.LocalAgent.ControllerTrust.RequestChallenge()", "k1", args);
	assert_string_equal(r->executed_command, "Device.LocalAgent.ControllerTrust.RequestChallenge()");
	assert_int_equal(r->req_output_args->n_output_args, 3);
	assert_string_equal(output(r, "Instruction"), "TG9vayBhdCB0aGUgTEVE");
	assert_string_equal(output(r, "InstructionType"), "text/plain");
	assert_string_equal(output(r, "ChallengeID"), "ch-7");
	assert_string_equal(f->seen_ref, "Device.LocalAgent.ControllerTrust.Challenge.1");
	/* sync commands leave no Request row */
	assert_int_equal(request_rows(f), 0);
	assert_int_equal(f->n_feed, 0);
}

static void test_sync_without_outputs(void **state)
{
	fixture *f = *state;
	op_result *r = operate_one(f, "Device.IP.Interface.1.Reset()", "", NULL);
	assert_int_equal(r->operation_resp_case, RESP_OUTPUTS);
	assert_int_equal(r->req_output_args->n_output_args, 0);
	assert_int_equal(f->n_resets, 1);
}

static void test_command_failures(void **state)
{
	fixture *f = *state;
	const char *no_ref[] = {"RequestExpiration", "10", NULL};
	const char *bad_value[] = {"ChallengeRef", "Device.LocalAgent.ControllerTrust.Challenge.1",
				   "RequestExpiration", "-5", NULL};
	const char *bad_enum[] = {"ProtocolVersion", "IPv9", "Host", "example.com", NULL};
	static const char *challenge = "Device.LocalAgent.ControllerTrust.RequestChallenge()";

	/* R-OPR.5: a missing mandatory argument is 7027 */
	assert_failure(operate_one(f, challenge, "k", no_ref), USP_ERR_INVALID_COMMAND_ARGS, "ChallengeRef");
	assert_failure(operate_one(f, challenge, "k", bad_value), USP_ERR_INVALID_COMMAND_ARGS, "RequestExpiration");
	assert_failure(operate_one(f, "Device.IP.Diagnostics.IPPing()", "k", bad_enum), USP_ERR_INVALID_COMMAND_ARGS,
		       "ProtocolVersion");
	/* the handler's failure and message */
	assert_failure(operate_one(f, "Device.WiFi.Reset()", "k", NULL), USP_ERR_COMMAND_FAILURE, "radio busy");
	/* known to the schema, implemented by nobody */
	assert_failure(operate_one(f, "Device.PacketCaptureDiagnostics()", "k", NULL),
		       usp_err_code(DM_ERR_NO_HANDLER, USP_OP_OPERATE), NULL);
	/* none of these left a Request row behind */
	assert_int_equal(request_rows(f), 0);
}

/* A path that cannot be resolved fails the message: there is no command
 * to report on. */
static void test_path_errors(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *path;
		int dm_code;
	} cases[] = {
		{"Device.Nope()", DM_ERR_NOT_IN_SCHEMA},
		{"Device.IP.Interface.*.Nope()", DM_ERR_NOT_IN_SCHEMA},
		{"Device.IP.Interface.9.Reset()", DM_ERR_NOT_INSTANTIATED},
		{"Device.IP.Interface.1.Reset(", DM_ERR_NOT_COMMAND},
		{"Device.DeviceInfo.UpTime", DM_ERR_NOT_COMMAND},
		{"Device.IP.Interface.{i}.Reset()", DM_ERR_SYNTAX},
		{"", DM_ERR_NOT_COMMAND},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		uint32_t want = usp_err_code(cases[i].dm_code, USP_OP_OPERATE);
		int rc = operate(f, cases[i].path, "k", true, NULL);
		if (rc != (int)want)
			fail_msg("%s: got %d, want %u", cases[i].path, rc, want);
		assert_non_null(f->err.err_msg);
		assert_true(f->err.err_msg[0] != '\0');
	}
	assert_int_equal(usp_err_code(DM_ERR_NOT_IN_SCHEMA, USP_OP_OPERATE), USP_ERR_INVALID_PATH);
	assert_int_equal(f->n_resets, 0);
}

static void add_interface(fixture *f)
{
	dm_origin o = {DM_ORIGIN_INTERNAL, "test"};
	dm_txn *t;
	uint32_t inst;
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o, &t), DM_OK);
	assert_int_equal(dm_add(t, "Device.IP.Interface.", NULL, &inst, &err), DM_OK);
	assert_int_equal(dm_set(t, "Device.IP.Interface.2.Name", "eth0", &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	assert_int_equal(inst, 2);
}

static void test_wildcards_and_search(void **state)
{
	fixture *f = *state;
	add_interface(f);
	assert_int_equal(operate(f, "Device.IP.Interface.*.Reset()", "w", true, NULL), 0);
	Usp__OperateResp *r = f->resp.operate_resp;
	assert_int_equal(r->n_operation_results, 2);
	assert_string_equal(r->operation_results[0]->executed_command, "Device.IP.Interface.1.Reset()");
	assert_string_equal(r->operation_results[1]->executed_command, "Device.IP.Interface.2.Reset()");
	for (int i = 0; i < 2; i++)
		assert_int_equal(r->operation_results[i]->operation_resp_case, RESP_OUTPUTS);
	assert_int_equal(f->n_resets, 2);
	assert_string_equal(f->reset_paths[1], "Device.IP.Interface.2.Reset()");

	op_result *one = operate_one(f, "Device.IP.Interface.[Name==\"eth0\"].Reset()", "s", NULL);
	assert_string_equal(one->executed_command, "Device.IP.Interface.2.Reset()");

	/* nothing matched is an empty response, not an error */
	assert_int_equal(operate(f, "Device.IP.Interface.[Name==\"none\"].Reset()", "n", true, NULL), 0);
	assert_int_equal(f->resp.operate_resp->n_operation_results, 0);
	assert_int_equal(f->n_resets, 3);
}

/* ---------------------------------------------------------------------------
 * Async commands
 * ------------------------------------------------------------------------- */

static const char *ping_args[] = {
	"ProtocolVersion", "IPv4", "Host", "example.com", "NumberOfRepetitions", "3",
	"Timeout", "1000", "DataBlockSize", "64", NULL,
};

static void test_async_completed_later(void **state)
{
	fixture *f = *state;
	op_result *r = operate_one(f, "Device.IP.Diagnostics.IPPing()", "ping-1", ping_args);
	assert_string_equal(r->executed_command, "Device.IP.Diagnostics.IPPing()");
	assert_int_equal(r->operation_resp_case, RESP_OBJ_PATH);
	assert_string_equal(r->req_obj_path, "Device.LocalAgent.Request.1.");
	/* the row while the command runs */
	assert_value(f, "Device.LocalAgent.Request.1.Originator", CONTROLLER);
	assert_value(f, "Device.LocalAgent.Request.1.Command", "Device.IP.Diagnostics.IPPing()");
	assert_value(f, "Device.LocalAgent.Request.1.CommandKey", "ping-1");
	assert_value(f, "Device.LocalAgent.Request.1.Status", "Active");
	assert_int_equal(f->n_pending, 1);
	assert_string_equal(dm_request_command_key(f->pending[0]), "ping-1");
	assert_int_equal(dm_request_origin(f->pending[0])->kind, DM_ORIGIN_USP);
	assert_string_equal(dm_request_origin(f->pending[0])->who, CONTROLLER);

	const dm_arg out[] = {{"Status", "Complete"}, {"SuccessCount", "3"}};
	assert_int_equal(dm_request_complete(f->pending[0], DM_OK, out, 2, NULL), DM_OK);
	/* R-OPR.0: removed once complete, after its final Status */
	assert_int_equal(request_rows(f), 0);
	assert_feed(f, (const char *[]){"ADD 1", "Status=Requested", "Status=Active", "Status=Success", "DELETE 1",
					NULL});
}

static void test_async_failure_later(void **state)
{
	fixture *f = *state;
	op_result *r = operate_one(f, "Device.IP.Diagnostics.IPPing()", "ping-2", ping_args);
	assert_string_equal(r->req_obj_path, "Device.LocalAgent.Request.1.");
	assert_int_equal(dm_request_complete(f->pending[0], DM_ERR_CMD_FAILED, NULL, 0, "host unreachable"), DM_OK);
	assert_int_equal(request_rows(f), 0);
	assert_feed(f, (const char *[]){"ADD 1", "Status=Requested", "Status=Active", "Status=Error", "DELETE 1",
					NULL});
}

/* The handler completes before dm_operate returns: the response still names
 * the row, which is already gone. */
static void test_async_completed_at_once(void **state)
{
	fixture *f = *state;
	op_result *r = operate_one(f, "Device.SelfTestDiagnostics()", "self", NULL);
	assert_int_equal(r->operation_resp_case, RESP_OBJ_PATH);
	assert_string_equal(r->req_obj_path, "Device.LocalAgent.Request.1.");
	assert_int_equal(request_rows(f), 0);
	assert_feed(f, (const char *[]){"ADD 1", "Status=Requested", "Status=Success", "DELETE 1", NULL});
	/* instance numbers are not reused */
	r = operate_one(f, "Device.SelfTestDiagnostics()", "self", NULL);
	assert_string_equal(r->req_obj_path, "Device.LocalAgent.Request.2.");
}

static void test_async_cannot_start(void **state)
{
	fixture *f = *state;
	const char *args[] = {"ProtocolVersion", "Any", "Host", "example.com", NULL};
	op_result *r = operate_one(f, "Device.IP.Diagnostics.TraceRoute()", "tr", args);
	assert_failure(r, USP_ERR_COMMAND_FAILURE, NULL);
	assert_int_equal(request_rows(f), 0);
	assert_feed(f, (const char *[]){"ADD 1", "Status=Requested", "Status=Error", "DELETE 1", NULL});
	/* bad arguments are found before the command starts */
	const char *bad[] = {"ProtocolVersion", "Any", NULL};
	assert_failure(operate_one(f, "Device.IP.Diagnostics.IPPing()", "k", bad), USP_ERR_INVALID_COMMAND_ARGS,
		       "Host");
	assert_int_equal(request_rows(f), 0);
	assert_int_equal(f->n_pending, 0);
}

/* R-OPR.2: one row per operation; the same command_key from the same
 * Controller for the same command is refused while the first runs. */
static void test_async_concurrent(void **state)
{
	fixture *f = *state;
	assert_string_equal(operate_one(f, "Device.IP.Diagnostics.IPPing()", "a", ping_args)->req_obj_path,
			    "Device.LocalAgent.Request.1.");
	assert_string_equal(operate_one(f, "Device.IP.Diagnostics.IPPing()", "b", ping_args)->req_obj_path,
			    "Device.LocalAgent.Request.2.");
	assert_failure(operate_one(f, "Device.IP.Diagnostics.IPPing()", "a", ping_args), USP_ERR_RESOURCES_EXCEEDED,
		       NULL);
	assert_int_equal(f->n_pending, 2);
	assert_int_equal(request_rows(f), 2);
	/* completion order need not follow start order */
	assert_int_equal(dm_request_complete(f->pending[1], DM_OK, NULL, 0, NULL), DM_OK);
	assert_int_equal(request_rows(f), 1);
	assert_value(f, "Device.LocalAgent.Request.1.CommandKey", "a");
	assert_int_equal(dm_request_complete(f->pending[0], DM_OK, NULL, 0, NULL), DM_OK);
	assert_int_equal(request_rows(f), 0);
	/* once it is done the key may be used again */
	assert_string_equal(operate_one(f, "Device.IP.Diagnostics.IPPing()", "a", ping_args)->req_obj_path,
			    "Device.LocalAgent.Request.3.");
	assert_int_equal(dm_request_complete(f->pending[2], DM_OK, NULL, 0, NULL), DM_OK);
}

/* ---------------------------------------------------------------------------
 * send_resp=false (R-OPR.4)
 * ------------------------------------------------------------------------- */

static void test_no_response_wanted(void **state)
{
	fixture *f = *state;
	assert_int_equal(operate(f, "Device.IP.Interface.1.Reset()", "q", false, NULL), USP_NO_RESPONSE);
	assert_int_equal(f->resp.resp_type_case, USP__RESPONSE__RESP_TYPE__NOT_SET);
	assert_int_equal(f->n_resets, 1);

	/* async: the operation still runs and has its row */
	assert_int_equal(operate(f, "Device.IP.Diagnostics.IPPing()", "q", false, ping_args), USP_NO_RESPONSE);
	assert_int_equal(request_rows(f), 1);
	assert_int_equal(dm_request_complete(f->pending[0], DM_OK, NULL, 0, NULL), DM_OK);
	assert_int_equal(request_rows(f), 0);

	/* failures are still told, and only they */
	add_interface(f);
	assert_int_equal(operate(f, "Device.WiFi.Reset()", "q", false, NULL), 0);
	assert_int_equal(f->resp.operate_resp->n_operation_results, 1);
	assert_failure(f->resp.operate_resp->operation_results[0], USP_ERR_COMMAND_FAILURE, "radio busy");

	/* message errors too */
	assert_int_equal(operate(f, "Device.Nope()", "q", false, NULL), USP_ERR_INVALID_PATH);
}

/* ---------------------------------------------------------------------------
 * Restart (TR-369 "Persistence of Asynchronous Operations")
 * ------------------------------------------------------------------------- */

typedef struct interrupted {
	int n;
	dm_origin_kind kind[4];
	char cmd[4][96];
} interrupted;

static void count_interrupted(void *ctx, uint64_t id, const char *cmd, const char *key, const dm_origin *o)
{
	interrupted *it = ctx;
	if (it->n < 4) {
		it->kind[it->n] = o->kind;
		snprintf(it->cmd[it->n], sizeof it->cmd[0], "%s", cmd);
	}
	it->n++;
}

static void test_restart_fails_interrupted(void **state)
{
	fixture *f = *state;
	operate_one(f, "Device.IP.Diagnostics.IPPing()", "lost", ping_args);
	assert_value(f, "Device.LocalAgent.Request.1.Status", "Active");
	assert_feed(f, (const char *[]){"ADD 1", "Status=Requested", "Status=Active", NULL});
	/* an operation the ACS started is not ours to finish */
	dm_origin acs = {DM_ORIGIN_CWMP, "https://acs.example.com"};
	const dm_arg in[] = {{"ProtocolVersion", "IPv4"}, {"Host", "example.org"}, {"NumberOfRepetitions", "1"},
			     {"Timeout", "1000"}, {"DataBlockSize", "64"}};
	dm_errinfo err = {0};
	assert_int_equal(dm_operate(f->d, "Device.IP.Diagnostics.IPPing()", in, 5, "acs-key", &acs, NULL, NULL, NULL,
				    &err),
			 DM_OK);

	/* the agent stops with both running */
	stop_engine(f);
	start_engine(f);
	assert_int_equal(request_rows(f), 1);
	assert_int_equal(usp_operate_recover_dm(f->d, NULL), DM_OK);
	assert_int_equal(request_rows(f), 0);
	assert_feed(f, (const char *[]){"Status=Error", "DELETE 1", NULL});
	interrupted it = {0};
	assert_int_equal(dm_requests_interrupted(f->d, count_interrupted, &it), DM_OK);
	assert_int_equal(it.n, 1);
	assert_int_equal(it.kind[0], DM_ORIGIN_CWMP);

	/* recovering again finds nothing of ours */
	assert_int_equal(usp_operate_recover_dm(f->d, NULL), DM_OK);
	assert_int_equal(f->n_feed, 0);
	/* and new operations get new rows */
	assert_string_equal(operate_one(f, "Device.IP.Diagnostics.IPPing()", "again", ping_args)->req_obj_path,
			    "Device.LocalAgent.Request.2.");
	assert_int_equal(dm_request_complete(f->pending[f->n_pending - 1], DM_OK, NULL, 0, NULL), DM_OK);
}


/* ---------------------------------------------------------------------------
 * With an agent: OperationComplete and permissions
 * ------------------------------------------------------------------------- */

static const dm_origin o_internal = {DM_ORIGIN_INTERNAL, "test"};

/* Notify messages as they would go on the wire (packed, then decoded). */
static int capture(void *ctx, const char *to, const Usp__Msg *msg)
{
	fixture *f = ctx;
	size_t len = usp__msg__get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);
	assert_non_null(buf);
	usp__msg__pack(msg, buf);
	assert_true(f->n_sent < MAX_SENT);
	snprintf(f->sent_to[f->n_sent], sizeof f->sent_to[0], "%s", to);
	f->sent[f->n_sent] = usp__msg__unpack(NULL, len, buf);
	assert_non_null(f->sent[f->n_sent++]);
	free(buf);
	return 0;
}

static void clear_sent(fixture *f)
{
	while (f->n_sent > 0)
		usp__msg__free_unpacked(f->sent[--f->n_sent], NULL);
}

static Usp__Notify__OperationComplete *sent_oper_complete(fixture *f, int i, const char *sub_id)
{
	assert_true(i < f->n_sent);
	Usp__Msg *m = f->sent[i];
	assert_int_equal(m->header->msg_type, USP__HEADER__MSG_TYPE__NOTIFY);
	Usp__Notify *n = m->body->request->notify;
	assert_string_equal(n->subscription_id, sub_id);
	assert_int_equal(n->notification_case, USP__NOTIFY__NOTIFICATION_OPER_COMPLETE);
	return n->oper_complete;
}

static void write_values(fixture *f, const char *const *pv)
{
	dm_txn *t;
	dm_errinfo err = {0};
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o_internal, &t), DM_OK);
	for (; *pv; pv += 2)
		if (dm_set(t, pv[0], pv[1], &err))
			fail_msg("%s: %s", pv[0], err.msg);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
}

static uint32_t add_row(fixture *f, const char *table)
{
	dm_txn *t;
	dm_errinfo err = {0};
	uint32_t inst = 0;
	assert_int_equal(dm_txn_begin(f->d, DM_TXN_WRITE, &o_internal, &t), DM_OK);
	assert_int_equal(dm_add(t, table, NULL, &inst, &err), DM_OK);
	assert_int_equal(dm_txn_commit(t, NULL, &err), DM_OK);
	return inst;
}

/* Our Controller with full access, subscribed to OperationComplete of refs. */
static void subscribe_controller(fixture *f, const char *refs)
{
	char p[7][96];
	uint32_t c = add_row(f, "Device.LocalAgent.Controller.");
	snprintf(p[0], sizeof p[0], "Device.LocalAgent.Controller.%u.EndpointID", c);
	snprintf(p[1], sizeof p[1], "Device.LocalAgent.Controller.%u.AssignedRole", c);
	snprintf(p[2], sizeof p[2], "Device.LocalAgent.Controller.%u.Enable", c);
	const char *ctl_pv[] = {p[0], CONTROLLER, p[1], "Device.LocalAgent.ControllerTrust.Role.1", p[2], "true",
				NULL};
	write_values(f, ctl_pv);
	uint32_t s = add_row(f, "Device.LocalAgent.Subscription.");
	const char *names[] = {"Enable", "Recipient", "ID", "NotifType", "ReferenceList"};
	for (int i = 0; i < 5; i++)
		snprintf(p[i], sizeof p[i], "Device.LocalAgent.Subscription.%u.%s", s, names[i]);
	char recipient[64];
	snprintf(recipient, sizeof recipient, "Device.LocalAgent.Controller.%u", c);
	const char *sub_pv[] = {p[0], "true", p[1], recipient, p[2], "oc-1", p[3], "OperationComplete", p[4], refs,
				NULL};
	write_values(f, sub_pv);
}

static int setup_agent(void **state)
{
	setup(state);
	fixture *f = *state;
	assert_int_equal(core_loop_new(&f->loop), CORE_OK);
	usp_options o = {.live_poll_ms = 1000};
	assert_int_equal(usp_agent_start(f->d, f->loop, &o, &f->a), DM_OK);
	usp_subs_set_sender(usp_agent_subs(f->a), capture, f);
	return 0;
}

static int teardown_agent(void **state)
{
	fixture *f = *state;
	clear_sent(f);
	usp_agent_stop(f->a);
	core_loop_free(f->loop);
	return teardown(state);
}

static void stop_loop(void *ctx)
{
	core_loop_stop(ctx);
}

static void run_loop(fixture *f)
{
	assert_int_equal(core_timer_start(f->loop, 20, 0, stop_loop, f->loop, NULL), CORE_OK);
	core_loop_run(f->loop);
}

static void test_agent_operation_complete(void **state)
{
	fixture *f = *state;
	subscribe_controller(f, "Device.IP.Diagnostics.IPPing(),Device.SelfTestDiagnostics()");
	clear_sent(f);

	/* completed later: told at completion, with the outputs */
	op_result *r = operate_one(f, "Device.IP.Diagnostics.IPPing()", "ping-7", ping_args);
	assert_string_equal(r->req_obj_path, "Device.LocalAgent.Request.1.");
	assert_int_equal(f->n_sent, 0);
	const dm_arg out[] = {{"Status", "Complete"}, {"SuccessCount", "3"}};
	assert_int_equal(dm_request_complete(f->pending[0], DM_OK, out, 2, NULL), DM_OK);
	assert_int_equal(f->n_sent, 1);
	assert_string_equal(f->sent_to[0], CONTROLLER);
	Usp__Notify__OperationComplete *oc = sent_oper_complete(f, 0, "oc-1");
	assert_string_equal(oc->obj_path, "Device.IP.Diagnostics.");
	assert_string_equal(oc->command_name, "IPPing()");
	assert_string_equal(oc->command_key, "ping-7");
	assert_int_equal(oc->operation_resp_case, USP__NOTIFY__OPERATION_COMPLETE__OPERATION_RESP_REQ_OUTPUT_ARGS);
	assert_int_equal(oc->req_output_args->n_output_args, 2);
	assert_string_equal(oc->req_output_args->output_args[1]->key, "SuccessCount");
	assert_string_equal(oc->req_output_args->output_args[1]->value, "3");
	assert_int_equal(request_rows(f), 0);
	clear_sent(f);

	/* completed within the request: told from the loop, after the
	 * response has gone */
	r = operate_one(f, "Device.SelfTestDiagnostics()", "self-1", NULL);
	assert_string_equal(r->req_obj_path, "Device.LocalAgent.Request.2.");
	assert_int_equal(f->n_sent, 0);
	run_loop(f);
	assert_int_equal(f->n_sent, 1);
	oc = sent_oper_complete(f, 0, "oc-1");
	assert_string_equal(oc->command_name, "SelfTestDiagnostics()");
	assert_string_equal(oc->command_key, "self-1");
	assert_int_equal(oc->req_output_args->n_output_args, 2);
	assert_int_equal(request_rows(f), 0);
	clear_sent(f);

	/* a failure is reported as such */
	operate_one(f, "Device.IP.Diagnostics.IPPing()", "ping-8", ping_args);
	assert_int_equal(dm_request_complete(f->pending[1], DM_ERR_CMD_FAILED, NULL, 0, "host unreachable"), DM_OK);
	oc = sent_oper_complete(f, 0, "oc-1");
	assert_int_equal(oc->operation_resp_case, USP__NOTIFY__OPERATION_COMPLETE__OPERATION_RESP_CMD_FAILURE);
	assert_int_equal(oc->cmd_failure->err_code, USP_ERR_COMMAND_FAILURE);
	assert_string_equal(oc->cmd_failure->err_msg, "host unreachable");
}

/* A Controller the agent does not know has the Untrusted role of the
 * factory defaults: it may execute RequestChallenge() and nothing else. */
static void test_agent_permissions(void **state)
{
	fixture *f = *state;
	snprintf(f->ctl.endpoint_id, sizeof f->ctl.endpoint_id, "proto::stranger");
	assert_int_equal(usp_trust_identify(f->a, &f->ctl), DM_OK);
	assert_non_null(f->ctl.role);
	assert_failure(operate_one(f, "Device.IP.Interface.1.Reset()", "k", NULL), USP_ERR_PERMISSION_DENIED, NULL);
	assert_failure(operate_one(f, "Device.SelfTestDiagnostics()", "k", NULL), USP_ERR_PERMISSION_DENIED, NULL);
	assert_int_equal(f->n_resets, 0);
	assert_int_equal(request_rows(f), 0);
	const char *args[] = {"ChallengeRef", "Device.LocalAgent.ControllerTrust.Challenge.1", NULL};
	op_result *r = operate_one(f, "Device.LocalAgent.ControllerTrust.RequestChallenge()", "k", args);
	assert_string_equal(output(r, "ChallengeID"), "ch-7");
}

static int group_setup(void **state)
{
	core_log_set_level(CORE_LOG_WARN);
	dm_errinfo err = {0};
	if (dm_schema_load("datamodel/device2.xml", &bundled, &err))
		fail_msg("%s", err.msg);
	return 0;
}

static int group_teardown(void **state)
{
	dm_schema_free(bundled);
	return 0;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as duetd does: a vanished peer is a write error */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sync_outputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_without_outputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcards_and_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_completed_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_failure_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_completed_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_cannot_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_response_wanted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_fails_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_operation_complete, setup_agent, teardown_agent),
		cmocka_unit_test_setup_teardown(test_agent_permissions, setup_agent, teardown_agent),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
