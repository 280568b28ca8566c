/*
 * test_mapping_faults.c - mapping/faults.c: every engine error has one CWMP
 * fault and one USP error code in every situation, the codes the notes
 * (cwmp-usp-mapping.md) and the specs prescribe, the CWMP <-> USP code
 * translations both ways with exactly the documented lossy rows, and both
 * front ends answering through the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cwmp_int.h"
#include "faults.h"
#include "usp_int.h"

#include <stdbool.h>

static const dm_value_reason all_reasons[] = {
	DM_REASON_NONE,        DM_REASON_TYPE,    DM_REASON_RANGE,     DM_REASON_LENGTH,
	DM_REASON_ENUMERATION, DM_REASON_PATTERN, DM_REASON_LIST,      DM_REASON_REFERENCE,
};
#define N_REASONS (sizeof all_reasons / sizeof all_reasons[0])

/* ---- every engine error x every situation -------------------------------- */

static void test_every_error_has_both_codes(void **state)
{
	(void)state;
	for (int err = DM_ERR_NOMEM; err >= DM_ERR_NOT_SUPPORTED; err--)
		for (int op = 0; op < MAP_OP_COUNT; op++)
			for (size_t r = 0; r < N_REASONS; r++) {
				unsigned f = map_dm_to_cwmp_fault(err, all_reasons[r], (map_op)op);
				uint32_t u = map_dm_to_usp_err(err, all_reasons[r], (map_op)op);
				if (f < 9000 || f > 9032)
					fail_msg("err %d op %d reason %zu: CWMP %u", err, op, r, f);
				if (u < 7000 || u > 7031)
					fail_msg("err %d op %d reason %zu: USP %u", err, op, r, u);
			}
}

static void test_ok_and_unknown_errors(void **state)
{
	(void)state;
	for (int op = 0; op < MAP_OP_COUNT; op++) {
		assert_int_equal(map_dm_to_cwmp_fault(DM_OK, DM_REASON_NONE, (map_op)op), 0);
		assert_int_equal(map_dm_to_usp_err(DM_OK, DM_REASON_TYPE, (map_op)op), 0);
		/* an engine code newer than the table is our own failure */
		assert_int_equal(map_dm_to_cwmp_fault(-999, DM_REASON_NONE, (map_op)op), 9002);
		assert_int_equal(map_dm_to_usp_err(-999, DM_REASON_NONE, (map_op)op), 7003);
	}
}

/* TR-369 lists the codes appropriate to each message; the read, Delete,
 * Operate and Notify situations must stay inside theirs (Set and Add list
 * 7025 in the code table but not in their own lists, so they are left out). */
static bool in_list(uint32_t code, const uint32_t *list)
{
	for (; *list; list += 2)
		if (code >= list[0] && code <= list[1])
			return true;
	return false;
}

static void test_usp_codes_within_each_message_list(void **state)
{
	(void)state;
	/* pairs of lo, hi; 0 ends */
	static const uint32_t get[] = {7000, 7006, 7008, 7008, 7010, 7010, 7016, 7016, 7026, 7026, 0};
	static const uint32_t instances[] = {7000, 7006, 7008, 7008, 7016, 7016, 7018, 7018, 7026, 7026, 0};
	static const uint32_t schema[] = {7000, 7006, 7008, 7008, 7016, 7016, 7026, 7026, 0};
	static const uint32_t del[] = {7000, 7008, 7015, 7016, 7018, 7018, 7024, 7024, 7026, 7026, 0};
	static const uint32_t operate[] = {7000, 7008, 7016, 7016, 7022, 7022, 7026, 7027, 0};
	static const uint32_t notify[] = {7000, 7006, 0};
	static const struct {
		map_op op;
		const uint32_t *allowed;
	} msgs[] = {
		{MAP_OP_READ, get},       {MAP_OP_READ_INSTANCES, instances}, {MAP_OP_READ_SCHEMA, schema},
		{MAP_OP_DELETE, del},     {MAP_OP_OPERATE, operate},          {MAP_OP_NOTIFY, notify},
	};
	for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++)
		for (int err = DM_ERR_NOMEM; err >= DM_ERR_NOT_SUPPORTED; err--)
			for (size_t r = 0; r < N_REASONS; r++) {
				uint32_t u = map_dm_to_usp_err(err, all_reasons[r], msgs[m].op);
				if (!in_list(u, msgs[m].allowed))
					fail_msg("op %d err %d: %u is not among the message's codes", msgs[m].op, err, u);
			}
}

/* ---- spot checks from the notes ------------------------------------------ */

static void test_spot_checks(void **state)
{
	(void)state;
	static const struct {
		int err;
		dm_value_reason reason;
		map_op op;
		unsigned cwmp;
		uint32_t usp;
	} rows[] = {
		/* unknown path on either side (rule R1) */
		{DM_ERR_NOT_IN_SCHEMA, DM_REASON_NONE, MAP_OP_READ, 9005, 7026},
		/* a missing instance on a plain Get path (4.1, R-GET.0), elsewhere 7016 */
		{DM_ERR_NOT_INSTANTIATED, DM_REASON_NONE, MAP_OP_READ, 9005, 7026},
		{DM_ERR_NOT_INSTANTIATED, DM_REASON_NONE, MAP_OP_DELETE, 9005, 7016},
		{DM_ERR_NOT_INSTANTIATED, DM_REASON_NONE, MAP_OP_READ_INSTANCES, 9005, 7016},
		/* a param_settings name that names nothing (9.1: 7010) */
		{DM_ERR_NOT_IN_SCHEMA, DM_REASON_NONE, MAP_OP_SET_PARAM, 9005, 7010},
		{DM_ERR_SYNTAX, DM_REASON_NONE, MAP_OP_READ, 9005, 7008},
		/* writes of one parameter (5.1, 9.1) */
		{DM_ERR_NOT_WRITABLE, DM_REASON_NONE, MAP_OP_SET_PARAM, 9008, 7013},
		{DM_ERR_INVALID_VALUE, DM_REASON_RANGE, MAP_OP_SET_PARAM, 9007, 7012},
		{DM_ERR_INVALID_VALUE, DM_REASON_ENUMERATION, MAP_OP_ADD_PARAM, 9007, 7012},
		{DM_ERR_INVALID_VALUE, DM_REASON_TYPE, MAP_OP_SET_PARAM, 9006, 7011},
		{DM_ERR_UNIQUE_KEY, DM_REASON_NONE, MAP_OP_SET_PARAM, 9007, 7025},
		/* a whole SPV fails 9003 around its per-parameter faults */
		{DM_ERR_INVALID_VALUE, DM_REASON_TYPE, MAP_OP_SET, 9003, 7020},
		/* tables (5.2, 5.3, 9.2: 7017 is 9004 when a limit, 7024 is 9001 when policy) */
		{DM_ERR_MAX_ENTRIES, DM_REASON_NONE, MAP_OP_ADD, 9004, 7017},
		{DM_ERR_MIN_ENTRIES, DM_REASON_NONE, MAP_OP_DELETE, 9001, 7024},
		{DM_ERR_NOT_TABLE, DM_REASON_NONE, MAP_OP_ADD, 9005, 7018},
		{DM_ERR_NOT_WRITABLE, DM_REASON_NONE, MAP_OP_ADD, 9005, 7019},
		{DM_ERR_NOT_WRITABLE, DM_REASON_NONE, MAP_OP_DELETE, 9005, 7024},
		{DM_ERR_UNIQUE_KEY, DM_REASON_NONE, MAP_OP_ADD, 9003, 7025},
		/* commands (9.1: 7027 for Operate inputs, R-OPR.5) */
		{DM_ERR_REQUIRED_ARG, DM_REASON_NONE, MAP_OP_OPERATE, 9003, 7027},
		{DM_ERR_INVALID_ARG, DM_REASON_NONE, MAP_OP_OTHER, 9003, 7004},
		{DM_ERR_CMD_FAILED, DM_REASON_NONE, MAP_OP_OPERATE, 9002, 7022},
		/* resources and internal failures */
		{DM_ERR_NOMEM, DM_REASON_NONE, MAP_OP_SET_ATTR, 9004, 7005},
		{DM_ERR_DISK_FULL, DM_REASON_NONE, MAP_OP_ADD, 9004, 7005},
		{DM_ERR_STORE, DM_REASON_NONE, MAP_OP_SET, 9002, 7003},
		/* Notify keeps to 7000-7006 */
		{DM_ERR_NOT_IN_SCHEMA, DM_REASON_NONE, MAP_OP_NOTIFY, 9005, 7004},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		unsigned f = map_dm_to_cwmp_fault(rows[i].err, rows[i].reason, rows[i].op);
		uint32_t u = map_dm_to_usp_err(rows[i].err, rows[i].reason, rows[i].op);
		if (f != rows[i].cwmp || u != rows[i].usp)
			fail_msg("row %zu: %u / %u, expected %u / %u", i, f, u, rows[i].cwmp, rows[i].usp);
	}
}

/* ---- a refusal by the device's policy (the write guard) -------------------- */

/* An ownership refusal is 9001 / 7006 in every situation (notes §15 C4),
 * the front ends answer with it, and both codes are of the refusal class. */
static void test_denied_by_policy(void **state)
{
	(void)state;
	dm_errinfo e = {.code = DM_ERR_DENIED};
	for (int op = 0; op < MAP_OP_COUNT; op++)
		for (size_t r = 0; r < N_REASONS; r++) {
			assert_int_equal(map_dm_to_cwmp_fault(DM_ERR_DENIED, all_reasons[r], (map_op)op), 9001);
			assert_int_equal(map_dm_to_usp_err(DM_ERR_DENIED, all_reasons[r], (map_op)op), 7006);
		}
	assert_int_equal(cwmp_fault_from_dm(&e, CWMP_CTX_SET_PARAM), CWMP_FAULT_REQUEST_DENIED);
	assert_int_equal(cwmp_fault_from_dm(&e, CWMP_CTX_DELETE_OBJECT), CWMP_FAULT_REQUEST_DENIED);
	assert_int_equal(usp_err_code_ex(&e, USP_OP_SET, true), 7006);
	assert_int_equal(usp_err_code_ex(&e, USP_OP_ADD, false), 7006);
	assert_int_equal(map_code_class_of(9001), MAP_CLASS_DENIED);
	assert_int_equal(map_code_class_of(7006), MAP_CLASS_DENIED);
	assert_string_equal(dm_strerror(DM_ERR_DENIED), "refused by the device's policy");
}

/* ---- the front ends answer through the table ------------------------------ */

static void test_front_ends_use_the_table(void **state)
{
	(void)state;
	static const struct {
		cwmp_fault_ctx ctx;
		map_op op;
	} cwmp_ctx[] = {
		{CWMP_CTX_READ, MAP_OP_READ},     {CWMP_CTX_SET_PARAM, MAP_OP_SET_PARAM},
		{CWMP_CTX_SET_ATTR, MAP_OP_SET_ATTR}, {CWMP_CTX_ADD_OBJECT, MAP_OP_ADD},
		{CWMP_CTX_DELETE_OBJECT, MAP_OP_DELETE}, {CWMP_CTX_OTHER, MAP_OP_OTHER},
	};
	static const struct {
		usp_op uop;
		bool param;
		map_op op;
	} usp_ctx[] = {
		{USP_OP_GET, false, MAP_OP_READ},           {USP_OP_SET, false, MAP_OP_SET},
		{USP_OP_SET, true, MAP_OP_SET_PARAM},       {USP_OP_ADD, false, MAP_OP_ADD},
		{USP_OP_ADD, true, MAP_OP_ADD_PARAM},       {USP_OP_DELETE, false, MAP_OP_DELETE},
		{USP_OP_OPERATE, false, MAP_OP_OPERATE},    {USP_OP_GET_INSTANCES, false, MAP_OP_READ_INSTANCES},
		{USP_OP_GET_SUPPORTED_DM, false, MAP_OP_READ_SCHEMA}, {USP_OP_NOTIFY, false, MAP_OP_NOTIFY},
	};
	for (int err = DM_OK; err >= DM_ERR_NOT_SUPPORTED; err--)
		for (size_t r = 0; r < N_REASONS; r++) {
			dm_errinfo e = {.code = err, .reason = all_reasons[r]};
			for (size_t i = 0; i < sizeof cwmp_ctx / sizeof cwmp_ctx[0]; i++)
				assert_int_equal(cwmp_fault_from_dm(&e, cwmp_ctx[i].ctx),
						 map_dm_to_cwmp_fault(err, all_reasons[r], cwmp_ctx[i].op));
			for (size_t i = 0; i < sizeof usp_ctx / sizeof usp_ctx[0]; i++)
				assert_int_equal(usp_err_code_ex(&e, usp_ctx[i].uop, usp_ctx[i].param),
						 map_dm_to_usp_err(err, all_reasons[r], usp_ctx[i].op));
		}
	/* the CWMP rule that motivated situations: one error, three faults */
	dm_errinfo ro = {.code = DM_ERR_NOT_WRITABLE};
	assert_int_equal(cwmp_fault_from_dm(&ro, CWMP_CTX_SET_PARAM), CWMP_FAULT_NON_WRITABLE);
	assert_int_equal(cwmp_fault_from_dm(&ro, CWMP_CTX_ADD_OBJECT), CWMP_FAULT_INVALID_PARAMETER_NAME);
	assert_int_equal(cwmp_fault_from_dm(&ro, CWMP_CTX_OTHER), CWMP_FAULT_REQUEST_DENIED);
	assert_int_equal(cwmp_fault_from_dm(NULL, CWMP_CTX_READ), CWMP_FAULT_INTERNAL);
	assert_int_equal(usp_err_code(DM_ERR_NOT_WRITABLE, (usp_op)99), USP_ERR_INTERNAL_ERROR);
}

/* ---- CWMP fault <-> USP error code ---------------------------------------- */

static void test_cwmp_to_usp(void **state)
{
	(void)state;
	/* 9000..9032 in order (notes 9.1; 7032-7037 stay unused, see faults.c) */
	static const uint32_t want[] = {
		7001, 7002, 7003, 7004, 7005, 7026, 7011, 7012, 7013, 7002, /* 9000-9009 */
		7022, 7022, 7022, 7004, 7022, 7022, 7022, 7022, 7022, 7022, /* 9010-9019 */
		7022, 7002, 7004, 7223, 7224, 7225, 7226, 7227, 7228, 7229, /* 9020-9029 */
		7230, 7231, 7232,                                           /* 9030-9032 */
	};
	for (unsigned f = 9000; f <= 9032; f++)
		if (map_cwmp_fault_to_usp_err(f) != want[f - 9000])
			fail_msg("%u: %u, expected %u", f, map_cwmp_fault_to_usp_err(f), want[f - 9000]);
	assert_int_equal(map_cwmp_fault_to_usp_err(9800), 7800);
	assert_int_equal(map_cwmp_fault_to_usp_err(9842), 7842);
	assert_int_equal(map_cwmp_fault_to_usp_err(9899), 7899);
	/* ACS faults have no Controller-side meaning */
	for (unsigned f = 8000; f <= 8006; f++)
		assert_int_equal(map_cwmp_fault_to_usp_err(f), 0);
	/* reserved, unnamed */
	assert_int_equal(map_cwmp_fault_to_usp_err(9033), 7003);
	assert_int_equal(map_cwmp_fault_to_usp_err(9900), 7003);
	assert_int_equal(map_cwmp_fault_to_usp_err(0), 7003);
}

typedef struct usp_row {
	uint32_t usp;
	unsigned cwmp;
} usp_row;

/* notes 9.2, one row per USP code the table names */
static const usp_row usp_rows[] = {
	{7000, 9002}, {7001, 9000}, {7002, 9001}, {7003, 9002}, {7004, 9003}, {7005, 9004},
	{7006, 9001}, {7007, 9001}, {7008, 9005}, {7009, 9002}, {7010, 9005}, {7011, 9006},
	{7012, 9007}, {7013, 9008}, {7014, 9007}, {7015, 9002}, {7016, 9005}, {7017, 9002},
	{7018, 9005}, {7019, 9005}, {7020, 9002}, {7021, 9003}, {7022, 9002}, {7023, 0},
	{7024, 9002}, {7025, 9007}, {7026, 9005}, {7027, 9003}, {7028, 9002}, {7029, 9002},
	{7030, 9002}, {7031, 9002}, {7033, 9015}, {7034, 9012}, {7035, 9018}, {7036, 9019},
	{7100, 9002}, {7106, 9002}, {7199, 9002}, {7200, 9002}, {7222, 9002}, {7223, 9023},
	{7224, 9024}, {7225, 9025}, {7226, 9026}, {7227, 9027}, {7228, 9028}, {7229, 9029},
	{7230, 9030}, {7231, 9031}, {7232, 9032}, {7233, 9002}, {7299, 9002}, {7800, 9800},
	{7850, 9850}, {7899, 9899}, {7900, 9002}, {7999, 9002},
};
#define N_USP_ROWS (sizeof usp_rows / sizeof usp_rows[0])

static void test_usp_to_cwmp(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_USP_ROWS; i++)
		if (map_usp_err_to_cwmp_fault(usp_rows[i].usp) != usp_rows[i].cwmp)
			fail_msg("%u: %u, expected %u", usp_rows[i].usp, map_usp_err_to_cwmp_fault(usp_rows[i].usp),
				 usp_rows[i].cwmp);
	/* codes no row names */
	assert_int_equal(map_usp_err_to_cwmp_fault(7032), 9002);
	assert_int_equal(map_usp_err_to_cwmp_fault(7037), 9002);
	assert_int_equal(map_usp_err_to_cwmp_fault(7500), 9002);
	assert_int_equal(map_usp_err_to_cwmp_fault(0), 9002);
}

/* Exact: the code comes back itself. Lossy: it comes back as another code of
 * its class. The lists are the one-way rows of faults.c's code_pairs. */
static void test_cwmp_round_trip(void **state)
{
	(void)state;
	static const unsigned lossy[] = {9009, 9010, 9011, 9012, 9013, 9014, 9015,
					 9016, 9017, 9018, 9019, 9020, 9021, 9022};
	for (unsigned f = 9000; f <= 9899; f = f == 9032 ? 9800 : f + 1) {
		unsigned back = map_usp_err_to_cwmp_fault(map_cwmp_fault_to_usp_err(f));
		bool want_lossy = false;
		for (size_t i = 0; i < sizeof lossy / sizeof lossy[0]; i++)
			want_lossy |= lossy[i] == f;
		if ((back != f) != want_lossy)
			fail_msg("%u came back as %u", f, back);
		assert_int_not_equal(map_code_class_of(f), MAP_CLASS_NONE);
		if (map_code_class_of(back) != map_code_class_of(f))
			fail_msg("%u (class %d) came back as %u (class %d)", f, map_code_class_of(f), back,
				 map_code_class_of(back));
	}
}

static bool usp_exact(uint32_t code)
{
	return (code >= 7001 && code <= 7005) || (code >= 7011 && code <= 7013) || code == 7026 ||
	       (code >= 7223 && code <= 7232) || (code >= 7800 && code <= 7899);
}

static void test_usp_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_USP_ROWS; i++) {
		uint32_t u = usp_rows[i].usp;
		unsigned f = map_usp_err_to_cwmp_fault(u);
		assert_int_not_equal(map_code_class_of(u), MAP_CLASS_NONE);
		if (f == 0) {
			/* only a cancelled command has nothing to say to the ACS */
			assert_int_equal(u, 7023);
			continue;
		}
		uint32_t back = map_cwmp_fault_to_usp_err(f);
		if ((back == u) != usp_exact(u))
			fail_msg("%u came back as %u", u, back);
		if (map_code_class_of(back) != map_code_class_of(u))
			fail_msg("%u (class %d) came back as %u (class %d)", u, map_code_class_of(u), back,
				 map_code_class_of(back));
	}
}

static void test_classes(void **state)
{
	(void)state;
	static const struct {
		uint32_t code;
		map_code_class cls;
	} rows[] = {
		{9000, MAP_CLASS_UNSUPPORTED}, {7001, MAP_CLASS_UNSUPPORTED}, {9009, MAP_CLASS_DENIED},
		{7006, MAP_CLASS_DENIED},      {9017, MAP_CLASS_FAILED},      {7022, MAP_CLASS_FAILED},
		{9013, MAP_CLASS_ARGUMENTS},   {7027, MAP_CLASS_ARGUMENTS},   {9004, MAP_CLASS_RESOURCES},
		{7016, MAP_CLASS_PATH},        {7008, MAP_CLASS_PATH},        {7025, MAP_CLASS_VALUE},
		{9008, MAP_CLASS_VALUE},       {9029, MAP_CLASS_DU},          {7229, MAP_CLASS_DU},
		{9850, MAP_CLASS_VENDOR},      {7850, MAP_CLASS_VENDOR},      {8005, MAP_CLASS_ACS},
		{0, MAP_CLASS_NONE},           {7500, MAP_CLASS_NONE},        {9500, MAP_CLASS_NONE},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (map_code_class_of(rows[i].code) != rows[i].cls)
			fail_msg("%u: class %d, expected %d", rows[i].code, map_code_class_of(rows[i].code),
				 rows[i].cls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_error_has_both_codes),
		cmocka_unit_test(test_ok_and_unknown_errors),
		cmocka_unit_test(test_usp_codes_within_each_message_list),
		cmocka_unit_test(test_spot_checks),
		cmocka_unit_test(test_denied_by_policy),
		cmocka_unit_test(test_front_ends_use_the_table),
		cmocka_unit_test(test_cwmp_to_usp),
		cmocka_unit_test(test_usp_to_cwmp),
		cmocka_unit_test(test_cwmp_round_trip),
		cmocka_unit_test(test_usp_round_trip),
		cmocka_unit_test(test_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
