/*
 * test_sim.c — the simulator (src/sim/): CSV reading and its error
 * messages, trace loading, the FGD experiment on a tiny hand-made trace
 * with a known result, determinism, seed lists and the SVG writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "sim/sim_int.h"

static void test_csv_fields_and_quotes(void **state)
{
	sim_csv_t csv;
	char err[SIM_ERR_MAX];

	(void)state;
	assert_int_equal(sim_csv_open_text(&csv, "t.csv",
					   "a,b,c\r\n1,\"x,y\",3\n\n\"q\"\"uote\",,z\n", err,
					   sizeof err), 0);
	assert_int_equal(csv.ncols, 3);
	assert_int_equal(sim_csv_col(&csv, "b"), 1);
	assert_int_equal(sim_csv_col(&csv, "d"), -1);
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), 1);
	assert_int_equal(csv.line, 2);
	assert_string_equal(csv.fields[1], "x,y");
	assert_string_equal(csv.fields[2], "3");
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), 1);
	assert_int_equal(csv.line, 4); /* the blank line 3 is skipped */
	assert_string_equal(csv.fields[0], "q\"uote");
	assert_string_equal(csv.fields[1], "");
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), 0);
	sim_csv_close(&csv);
}

static void test_csv_errors_have_line_numbers(void **state)
{
	sim_csv_t csv;
	char err[SIM_ERR_MAX];
	sim_trace_t t;
	int64_t v;

	(void)state;
	assert_int_equal(sim_csv_open_text(&csv, "p.csv", "a,b\n1,2\n3\n", err, sizeof err), 0);
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), 1);
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), GH_EINVAL);
	assert_string_equal(err, "p.csv:3: 1 fields, the header has 2");
	sim_csv_close(&csv);

	assert_int_equal(sim_csv_open_text(&csv, "q.csv", "a\n\"open\n", err, sizeof err), 0);
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), GH_EINVAL);
	assert_string_equal(err, "q.csv:2: unterminated quoted field");
	sim_csv_close(&csv);

	assert_int_equal(sim_csv_open_text(&csv, "r.csv", "n\n12x\n", err, sizeof err), 0);
	assert_int_equal(sim_csv_next(&csv, err, sizeof err), 1);
	assert_int_equal(sim_csv_int(&csv, 0, &v, err, sizeof err), GH_EINVAL);
	assert_string_equal(err, "r.csv:2: column n: \"12x\" is not a number >= 0");
	sim_csv_close(&csv);

	assert_int_equal(sim_csv_open_text(&csv, "e.csv", "", err, sizeof err), GH_EINVAL);
	assert_string_equal(err, "e.csv:1: empty file (no header)");

	/* A pod list: a bad request on line 4, a missing column. */
	assert_int_equal(sim_csv_open_text(&csv, "pods.csv",
					   "cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
					   "1000,10,1,500,\n"
					   "1000,10,0,0,\n"
					   "1000,10,1,1500,\n",
					   err, sizeof err), 0);
	assert_int_equal(sim_load_pods_csv(&csv, &t, err, sizeof err), GH_EINVAL);
	assert_non_null(strstr(err, "pods.csv:4: not a valid request"));
	assert_null(t.pods);
	sim_csv_close(&csv);
	assert_int_equal(sim_csv_open_text(&csv, "nodes.csv", "sn,cpu_milli,gpu,model\nx,1,1,T4\n",
					   err, sizeof err), 0);
	{
		place_cluster_t c;

		assert_int_equal(place_cluster_init(&c), 0);
		assert_int_equal(sim_load_nodes_csv(&csv, &c, err, sizeof err), GH_EINVAL);
		assert_string_equal(err, "nodes.csv:1: no column \"memory_mib\" in the header");
		place_cluster_destroy(&c);
	}
	sim_csv_close(&csv);
	/* A file that is not there. */
	assert_int_equal(sim_load_pods("/nonexistent/pods.csv", &t, err, sizeof err), GH_EIO);
	assert_non_null(strstr(err, "/nonexistent/pods.csv: "));
}

/* One node with two GPUs; pods 0.6, 0.6, 0.6, 0.2 (2.0 GPUs = 100%). */
static const char *nodes_txt = "sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,T4\n";
static const char *pods_txt = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n"
			      "p0,1000,1024,1,600,\n"
			      "p1,1000,1024,1,600,\n"
			      "p2,1000,1024,1,600,\n"
			      "p3,1000,1024,1,200,\n";

static void load_tiny(place_cluster_t *c, sim_trace_t *t, const char *nodes, const char *pods)
{
	sim_csv_t csv;
	char err[SIM_ERR_MAX];

	assert_int_equal(place_cluster_init(c), 0);
	assert_int_equal(sim_csv_open_text(&csv, "nodes", nodes, err, sizeof err), 0);
	assert_int_equal(sim_load_nodes_csv(&csv, c, err, sizeof err), 0);
	sim_csv_close(&csv);
	assert_int_equal(sim_csv_open_text(&csv, "pods", pods, err, sizeof err), 0);
	assert_int_equal(sim_load_pods_csv(&csv, t, err, sizeof err), 0);
	sim_csv_close(&csv);
}

static void test_trace_load(void **state)
{
	place_cluster_t c;
	sim_trace_t t;

	(void)state;
	load_tiny(&c, &t, nodes_txt, pods_txt);
	assert_int_equal(c.nnodes, 1);
	assert_int_equal(c.nodes[0].ngpus, 2);
	assert_int_equal(c.nodes[0].gpus[1].memory_mib, 15109);
	assert_int_equal(t.npods, 4);
	assert_int_equal(t.pods[3].req.gpu_milli, 200);
	assert_int_equal(t.pods[3].gpu_milli_total, 200);
	assert_int_equal(t.pods[3].line, 5);
	sim_trace_free(&t);
	place_cluster_destroy(&c);
}

static void test_harness_known_result(void **state)
{
	place_cluster_t c;
	sim_trace_t t;
	place_workload_t w;
	sim_fgd_opts_t o = {.ratio = 1.0, .keep = 1.0};
	sim_run_t r;

	(void)state;
	load_tiny(&c, &t, nodes_txt, pods_txt);
	assert_int_equal(sim_fgd_workload(&c, &t, &o, &w), 0);
	/* Whatever the order: two of the 0.6 get a GPU each, the 0.2 joins
	 * one of them, and the third 0.6 finds at most 0.4 free and fails.
	 * Used 1.4 of 2 GPUs at 100% arrived → 30% unallocated. */
	for (int seed = 1; seed <= 5; seed++) {
		assert_int_equal(sim_fgd_run(&c, &t, &w, &o, PLACE_BESTFIT, seed, &r), 0);
		assert_int_equal(r.placed, 3);
		assert_int_equal(r.failed, 1);
		assert_true(fabs(r.unalloc_at_100 - 30.0) < 1e-9);
		assert_true(fabs(r.curve[100] - 30.0) < 1e-9);
		assert_true(isnan(r.curve[120]));
	}
	/* Top-up to 2x: pods are appended until the next would pass 4 GPUs. */
	o.ratio = 2.0;
	assert_int_equal(sim_fgd_run(&c, &t, &w, &o, PLACE_FIRSTFIT, 7, &r), 0);
	assert_true(r.placed + r.failed > 4);
	place_workload_destroy(&w);
	sim_trace_free(&t);
	place_cluster_destroy(&c);
}

static void test_determinism(void **state)
{
	static const char *nodes = "sn,cpu_milli,memory_mib,gpu,model\n"
				   "a,32000,131072,4,T4\nb,16000,65536,2,T4\n"
				   "c,64000,262144,8,G2\nd,8000,65536,1,P100\n";
	char pods[8192];
	size_t len;
	place_cluster_t c;
	sim_trace_t t;
	place_workload_t w;
	sim_fgd_opts_t o = {.ratio = 1.3, .keep = 0.95};
	uint64_t rng = 77;

	(void)state;
	len = (size_t)snprintf(pods, sizeof pods, "cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\n");
	for (int i = 0; i < 60; i++) {
		int k = (int)place_rng_below(&rng, 6);
		static const char *const shapes[] = {"1,1000,", "1,500,", "1,300,", "2,1000,",
						     "0,0,", "1,810,P100|T4"};

		len += (size_t)snprintf(pods + len, sizeof pods - len, "%d,2048,%s\n",
					1000 * (1 + (int)place_rng_below(&rng, 6)), shapes[k]);
	}
	load_tiny(&c, &t, nodes, pods);
	assert_int_equal(sim_fgd_workload(&c, &t, &o, &w), 0);
	for (int p = 0; p < PLACE__COUNT; p++) {
		sim_run_t a, b, d;

		assert_int_equal(sim_fgd_run(&c, &t, &w, &o, (place_policy_t)p, 42, &a), 0);
		assert_int_equal(sim_fgd_run(&c, &t, &w, &o, (place_policy_t)p, 42, &b), 0);
		/* Same seed, same everything (the run time aside). */
		assert_memory_equal(a.curve, b.curve, sizeof(a.curve));
		assert_int_equal(a.placed, b.placed);
		assert_int_equal(a.failed, b.failed);
		assert_int_equal(sim_fgd_run(&c, &t, &w, &o, (place_policy_t)p, 43, &d), 0);
		assert_true(a.placed + a.failed >= 60 && a.placed > 10 && a.failed > 0);
	}
	place_workload_destroy(&w);
	sim_trace_free(&t);
	place_cluster_destroy(&c);
}

static void test_seeds(void **state)
{
	int s[16];

	(void)state;
	assert_int_equal(sim_parse_seeds("42-51", s, 16), 10);
	assert_int_equal(s[0], 42);
	assert_int_equal(s[9], 51);
	assert_int_equal(sim_parse_seeds("1,5,7-8", s, 16), 4);
	assert_int_equal(s[3], 8);
	assert_int_equal(sim_parse_seeds("5-3", s, 16), GH_EINVAL);
	assert_int_equal(sim_parse_seeds("x", s, 16), GH_EINVAL);
	assert_int_equal(sim_parse_seeds("", s, 16), GH_EINVAL);
	assert_int_equal(sim_parse_seeds("1-100", s, 16), GH_ETOOBIG);
}

static void test_svg(void **state)
{
	double y1[5] = {0, 10, NAN, 20, 23.4}, y2[5] = {5, 5, 5, 5, 5};
	sim_plot_t p = {.title = "T <&>", .xlabel = "x", .ylabel = "y", .nseries = 2,
			.names = {"fgd", "gpuhub"}, .y = {y1, y2}, .npoints = 5};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(sim_plot_svg(&p, f), 0);
	fclose(f);
	assert_memory_equal(buf, "<svg ", 5);
	assert_non_null(strstr(buf, "T &lt;&amp;&gt;"));
	assert_non_null(strstr(buf, ">gpuhub</text>"));
	/* The NAN breaks the first series in two lines; 25 tops the axis. */
	{
		int lines = 0;

		for (const char *q = buf; (q = strstr(q, "<polyline")); q++)
			lines++;
		assert_int_equal(lines, 3);
	}
	assert_non_null(strstr(buf, ">25</text>"));
	assert_non_null(strstr(buf, "</svg>"));
	free(buf);
}

/* Writes text to a new temporary file whose name goes to path (>= 21 bytes). */
static void write_tmp(char *path, const char *text)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/test_sim_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *replay_hdr =
	"id,user,group,submit_s,duration_s,num_gpu,gpu_milli,cpu_milli,memory_mib,gpu_spec,"
	"class,kind,activity\n";

static void test_replay_known_result(void **state)
{
	char path[64], text[1024], err[SIM_ERR_MAX];
	place_cluster_t c;
	sim_trace_t none;
	sim_replay_result_t fifo, hub, again;

	(void)state;
	/* One GPU. Alice works 100 s, idles 1000 s, works 100 s; Bob comes at
	 * 200 s for 100 s of work. */
	load_tiny(&c, &none, "sn,cpu_milli,memory_mib,gpu,model\nn,8000,65536,1,T4\n",
		  "cpu_milli,memory_mib,num_gpu,gpu_milli\n");
	snprintf(text, sizeof text, "%s%s%s", replay_hdr,
		 "1,alice,g,0,1200,1,1000,1000,1024,,normal,interactive,\"100b,1000i,100b\"\n",
		 "2,bob,g,200,100,1,1000,1000,1024,,normal,interactive,\n");
	write_tmp(path, text);
	/* FIFO: Bob waits for Alice's whole session, idle GPU included. */
	assert_int_equal(sim_replay_run(&c, path, 0, PLACE_GPUHUB, 10, 1, &fifo, err, sizeof err), 0);
	assert_int_equal(fifo.nwaits, 2);
	assert_true(fabs(fifo.wait_p99 - 1000) < 1e-9);
	assert_true(fabs(fifo.idle_gpu_h - 1000.0 / 3600) < 1e-9);
	assert_int_equal(fifo.suspended + fifo.preempted, 0);
	assert_true(fabs(fifo.span_h - 1300.0 / 3600) < 1e-9);
	/* gpuhub: Alice is suspended while idle, Bob starts within a tick,
	 * Alice comes back when her idle period ends and finds the GPU free. */
	assert_int_equal(sim_replay_run(&c, path, 1, PLACE_GPUHUB, 10, 1, &hub, err, sizeof err), 0);
	assert_int_equal(hub.suspended, 1);
	assert_int_equal(hub.preempted, 0);
	assert_int_equal(hub.nwaits, 3);
	assert_true(hub.wait_p99 <= 10);
	assert_true(fabs(hub.idle_gpu_h - 100.0 / 3600) < 1e-9);
	assert_true(fabs(hub.span_h - 1200.0 / 3600) < 1e-9);
	assert_true(hub.jain >= fifo.jain);
	/* Deterministic. */
	assert_int_equal(sim_replay_run(&c, path, 1, PLACE_GPUHUB, 10, 1, &again, err, sizeof err), 0);
	assert_memory_equal(&hub, &again, sizeof(hub));
	unlink(path);

	/* Errors name the line. */
	snprintf(text, sizeof text, "%s%s%s", replay_hdr,
		 "1,alice,g,0,100,1,1000,1000,1024,,normal,interactive,\n",
		 "2,bob,g,5,100,1,1000,1000,1024,,normal,interactive,\"10x\"\n");
	write_tmp(path, text);
	assert_int_equal(sim_replay_run(&c, path, 0, PLACE_BESTFIT, 10, 1, &fifo, err, sizeof err),
			 GH_EINVAL);
	assert_non_null(strstr(err, ":3: bad request or activity"));
	unlink(path);
	snprintf(text, sizeof text, "%s%s", replay_hdr,
		 "1,alice,g,0,100,1,1000,1000,1024,,urgent,interactive,\n");
	write_tmp(path, text);
	assert_int_equal(sim_replay_run(&c, path, 1, PLACE_BESTFIT, 10, 1, &fifo, err, sizeof err),
			 GH_EINVAL);
	assert_non_null(strstr(err, ":2: unknown class \"urgent\""));
	unlink(path);
	sim_trace_free(&none);
	place_cluster_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_fields_and_quotes),
		cmocka_unit_test(test_csv_errors_have_line_numbers),
		cmocka_unit_test(test_trace_load),
		cmocka_unit_test(test_harness_known_result),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_replay_known_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
