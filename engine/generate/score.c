/* SPDX-License-Identifier: Apache-2.0 */
/* The risk score of a threat (docs/risk-score.md): severity, likelihood, the
 * project's risk class and the exposure of what the threat applies to. */
#include "engine/generate/score.h"

#include <math.h>
#include <string.h>

#include "engine/generate/classify.h"

double gen_score(int severity_rank, int likelihood_rank, int class_rank, int exposure)
{
	static const double class_factor[] = {0.55, 0.55, 0.70, 0.85, 1.0};
	static const double exposure_factor[] = {0.75, 0.90, 1.0};
	if (severity_rank < 1)
		severity_rank = 1;
	if (severity_rank > 4)
		severity_rank = 4;
	if (likelihood_rank < 1)
		likelihood_rank = 1;
	if (likelihood_rank > 3)
		likelihood_rank = 3;
	if (class_rank < 0 || class_rank > 4)
		class_rank = 0;
	if (exposure < 0)
		exposure = 0;
	if (exposure > 2)
		exposure = 2;
	double base = (double)(severity_rank * likelihood_rank) / 12.0;
	double s = 100.0 * base * class_factor[class_rank] * exposure_factor[exposure];
	/* Round half up on one decimal; the epsilon keeps 0.05 steps that binary
	 * floating point lands just below from rounding down. */
	return floor(s * 10.0 + 0.5 + 1e-9) / 10.0;
}

static int likelihood_rank(const char *s)
{
	if (!s)
		return 2;
	if (strcmp(s, "high") == 0)
		return 3;
	if (strcmp(s, "low") == 0)
		return 1;
	return 2;
}

double gen_score_threat(const char *severity, const char *likelihood, int class_rank, int exposure)
{
	return gen_score(classify_rank(severity), likelihood_rank(likelihood), class_rank,
	                 exposure);
}

int gen_priority_floor(const char *severity, const char *likelihood)
{
	/* [severity rank - 1][likelihood rank - 1] */
	static const int floor_of[4][3] = {
	    {4, 4, 3}, /* low */
	    {4, 3, 2}, /* medium */
	    {3, 1, 1}, /* high */
	    {2, 1, 1}, /* critical */
	};
	int sev = severity ? classify_rank(severity) : 2;
	if (sev < 1 || sev > 4)
		sev = 2;
	return floor_of[sev - 1][likelihood_rank(likelihood) - 1];
}
