/*
 * test_cwmp_events.c - the Inform event queue on a real store (bundled
 * datamodel/device2.xml): what survives a restart (TR-069 3.7.1.5 as read
 * in the notes, 9.2), single codes kept once and multiple codes once per
 * raise with their CommandKeys, the mark that removes exactly what an
 * Inform carried, what a failed session drops, the 64-per-Inform cap and
 * clearing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dm_schema *bundled;

typedef struct fixture {
	char dir[64];
	dm *d;
	cwmp_events *e;
} fixture;

static void open_engine(fixture *f)
{
	dm_open_opts o = { .state_dir = f->dir };
	dm_errinfo err = { 0 };
	assert_int_equal(dm_open(bundled, &o, &f->d, &err), DM_OK);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/duet-test-events-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_engine(f);
	assert_int_equal(cwmp_events_open(f->d, true, &f->e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];
	cwmp_events_close(f->e);
	if (f->d)
		dm_close(f->d);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Close the queue and the store and open both again, as a restart does. */
static void restart(fixture *f, bool after_boot)
{
	cwmp_events_close(f->e);
	f->e = NULL;
	dm_close(f->d);
	open_engine(f);
	assert_int_equal(cwmp_events_open(f->d, after_boot, &f->e), 0);
}

static void add(fixture *f, const char *code, const char *key)
{
	assert_int_equal(cwmp_events_add(f->e, code, key), 0);
}

/* The next Inform's events as "code/key" joined by ", ". */
static const char *inform_list(fixture *f, uint64_t *mark)
{
	static char out[4096];
	size_t n = 0, used = 0;
	uint64_t m;
	const cwmp_event *ev = cwmp_events_for_inform(f->e, &n, mark ? mark : &m);

	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, sizeof out - used, "%s%s/%s", i ? ", " : "", ev[i].code,
					 ev[i].command_key);
	return out;
}

static void t_retention_across_reboot(void **state)
{
	fixture *f = *state;
	static const char *const raised[] = {
		"0 BOOTSTRAP", "1 BOOT", "2 PERIODIC", "3 SCHEDULED", "4 VALUE CHANGE", "5 KICKED",
		"6 CONNECTION REQUEST", "7 TRANSFER COMPLETE", "8 DIAGNOSTICS COMPLETE",
		"9 REQUEST DOWNLOAD", "10 AUTONOMOUS TRANSFER COMPLETE", "11 DU STATE CHANGE COMPLETE",
		"12 AUTONOMOUS DU STATE CHANGE COMPLETE", "13 WAKEUP", "14 HEARTBEAT",
	};
	for (size_t i = 0; i < sizeof raised / sizeof raised[0]; i++)
		add(f, raised[i], "");
	add(f, "M Reboot", "rk");
	assert_int_equal(cwmp_events_count(f->e), 16);

	restart(f, true);
	assert_string_equal(inform_list(f, NULL),
			    "0 BOOTSTRAP/, 3 SCHEDULED/, 5 KICKED/, 7 TRANSFER COMPLETE/, "
			    "9 REQUEST DOWNLOAD/, 10 AUTONOMOUS TRANSFER COMPLETE/, "
			    "11 DU STATE CHANGE COMPLETE/, 12 AUTONOMOUS DU STATE CHANGE COMPLETE/, "
			    "13 WAKEUP/, M Reboot/rk");
	assert_false(cwmp_events_has(f->e, "1 BOOT"));
	assert_false(cwmp_events_has(f->e, "6 CONNECTION REQUEST"));
	assert_false(cwmp_events_has(f->e, "14 HEARTBEAT"));
}

static void t_kept_records_reload_without_boot(void **state)
{
	fixture *f = *state;
	add(f, "0 BOOTSTRAP", "");
	add(f, "M Download", "dl-1");
	restart(f, false);
	assert_int_equal(cwmp_events_count(f->e), 2);
	assert_string_equal(inform_list(f, NULL), "0 BOOTSTRAP/, M Download/dl-1");
}

static void t_single_codes_once(void **state)
{
	fixture *f = *state;
	add(f, "1 BOOT", "");
	add(f, "4 VALUE CHANGE", "");
	add(f, "1 BOOT", "");
	add(f, "4 VALUE CHANGE", "");
	add(f, "0 BOOTSTRAP", "");
	add(f, "0 BOOTSTRAP", "");
	assert_int_equal(cwmp_events_count(f->e), 3);
	assert_string_equal(inform_list(f, NULL), "1 BOOT/, 4 VALUE CHANGE/, 0 BOOTSTRAP/");
	restart(f, true);
	assert_int_equal(cwmp_events_count(f->e), 1); /* one BOOTSTRAP record */
}

static void t_multiple_codes_with_keys(void **state)
{
	fixture *f = *state;
	add(f, "M ScheduleInform", "first");
	add(f, "3 SCHEDULED", "");
	add(f, "M ScheduleInform", "second");
	add(f, "M ScheduleInform", "second");
	add(f, "M Reboot", "");
	assert_int_equal(cwmp_events_count(f->e), 5);
	restart(f, true);
	assert_string_equal(inform_list(f, NULL), "M ScheduleInform/first, 3 SCHEDULED/, "
						  "M ScheduleInform/second, M ScheduleInform/second, "
						  "M Reboot/");
}

/* A report raised again is the same occurrence while it still waits; once
 * an Inform took it, raising it again queues it for the next Inform. */
static void t_add_once_same_occurrence(void **state)
{
	fixture *f = *state;
	uint64_t mark = 0;
	assert_int_equal(cwmp_events_add_once(f->e, "M Download", "k"), 0);
	assert_int_equal(cwmp_events_add_once(f->e, "M Download", "k"), 0);
	assert_int_equal(cwmp_events_add_once(f->e, "M Download", "other"), 0);
	assert_string_equal(inform_list(f, &mark), "M Download/k, M Download/other");
	assert_int_equal(cwmp_events_add_once(f->e, "M Download", "k"), 0);
	assert_int_equal(cwmp_events_count(f->e), 3);
	assert_int_equal(cwmp_events_delivered(f->e, mark), 0);
	assert_string_equal(inform_list(f, NULL), "M Download/k");
}

static void t_delivered_keeps_later_events(void **state)
{
	fixture *f = *state;
	uint64_t mark = 0;
	add(f, "1 BOOT", "");
	add(f, "M Reboot", "a");
	assert_string_equal(inform_list(f, &mark), "1 BOOT/, M Reboot/a");
	/* raised while that Inform is out */
	add(f, "M Download", "b");
	add(f, "1 BOOT", ""); /* a new occurrence, not the one in flight */
	assert_int_equal(cwmp_events_delivered(f->e, mark), 0);
	assert_string_equal(inform_list(f, NULL), "M Download/b, 1 BOOT/");
	restart(f, false);
	assert_string_equal(inform_list(f, NULL), "M Download/b");
}

static void t_failed_session_drops_connection_request(void **state)
{
	fixture *f = *state;
	uint64_t mark;
	add(f, "6 CONNECTION REQUEST", "");
	add(f, "1 BOOT", "");
	add(f, "14 HEARTBEAT", "");
	add(f, "M Upload", "u");
	inform_list(f, &mark);
	assert_int_equal(cwmp_events_session_failed(f->e), 0);
	/* the failed Inform no longer counts as in flight: BOOT stays single */
	add(f, "1 BOOT", "");
	assert_int_equal(cwmp_events_count(f->e), 2);
	assert_string_equal(inform_list(f, NULL), "1 BOOT/, M Upload/u");
}

static void t_at_most_64_per_inform(void **state)
{
	fixture *f = *state;
	char key[16];
	size_t n;
	uint64_t mark;
	for (int i = 0; i < 70; i++) {
		snprintf(key, sizeof key, "k%d", i);
		add(f, "M Download", key);
	}
	const cwmp_event *ev = cwmp_events_for_inform(f->e, &n, &mark);
	assert_int_equal(n, 64);
	assert_string_equal(ev[0].command_key, "k0");
	assert_string_equal(ev[63].command_key, "k63");
	assert_int_equal(cwmp_events_delivered(f->e, mark), 0);
	assert_int_equal(cwmp_events_count(f->e), 6);
	restart(f, true);
	ev = cwmp_events_for_inform(f->e, &n, &mark);
	assert_int_equal(n, 6);
	assert_string_equal(ev[0].command_key, "k64");
}

static void t_clear(void **state)
{
	fixture *f = *state;
	add(f, "0 BOOTSTRAP", "");
	add(f, "M Reboot", "x");
	add(f, "2 PERIODIC", "");
	assert_int_equal(cwmp_events_clear(f->e), 0);
	assert_int_equal(cwmp_events_count(f->e), 0);
	restart(f, false);
	assert_int_equal(cwmp_events_count(f->e), 0);
}

static void t_bad_arguments(void **state)
{
	fixture *f = *state;
	assert_int_equal(cwmp_events_add(f->e, "", ""), DM_ERR_INVALID_ARG);
	assert_int_equal(cwmp_events_add(f->e, NULL, ""), DM_ERR_INVALID_ARG);
	add(f, "M Reboot", NULL); /* a NULL key is the empty key */
	assert_string_equal(inform_list(f, NULL), "M Reboot/");
}

static int group_setup(void **state)
{
	dm_errinfo err = { 0 };
	(void)state;
	return dm_schema_load("datamodel/device2.xml", &bundled, &err);
}

static int group_teardown(void **state)
{
	(void)state;
	dm_schema_free(bundled);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_retention_across_reboot, setup, teardown),
		cmocka_unit_test_setup_teardown(t_kept_records_reload_without_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(t_single_codes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(t_multiple_codes_with_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(t_add_once_same_occurrence, setup, teardown),
		cmocka_unit_test_setup_teardown(t_delivered_keeps_later_events, setup, teardown),
		cmocka_unit_test_setup_teardown(t_failed_session_drops_connection_request, setup, teardown),
		cmocka_unit_test_setup_teardown(t_at_most_64_per_inform, setup, teardown),
		cmocka_unit_test_setup_teardown(t_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bad_arguments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
