/* SPDX-License-Identifier: Apache-2.0 */
/* The memory Graphviz 2.43 loses inside its own dot layout (the crossing
 * minimisation's work arrays, cluster ranks, the HTML-label parser; see
 * tests/valgrind/graphviz.supp for the valgrind runs) is let through
 * LeakSanitizer by the function every such allocation is made under:
 * gvLayoutJobs, inside gvLayout. Everything else still fails the run.
 * Graphviz is built without frame pointers: the stacks of allocations are
 * unwound the slow way, or they would stop in Graphviz's gmalloc.
 * Included by exactly one file of each program that lays out a diagram. */
#ifndef TS_TESTS_GRAPHVIZ_LSAN_H
#define TS_TESTS_GRAPHVIZ_LSAN_H

const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void)
{
	return "leak:gvLayoutJobs\n";
}

#endif
