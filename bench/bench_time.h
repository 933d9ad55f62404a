/* SPDX-License-Identifier: GPL-2.0 */
/* The benchmarks' clock and medians (bench/ntvm_bench.c, ntvm_query_path.c). */
#ifndef NTVM_BENCH_TIME_H
#define NTVM_BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the @n values at @v, which it sorts. */
static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

#endif
