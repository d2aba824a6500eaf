/* SPDX-License-Identifier: Apache-2.0 */
/* The risk score of a threat, see docs/risk-score.md. */
#ifndef TS_ENGINE_GENERATE_SCORE_H
#define TS_ENGINE_GENERATE_SCORE_H

/* The risk score of a threat (0..100, one decimal):
 * 100 * severity_rank * likelihood_rank / 12 * class factor * exposure factor.
 * severity_rank: critical 4 .. low 1; likelihood_rank: high 3 .. low 1;
 * class_rank: the project's class, critical 4 .. low 1; exposure: 2 internet
 * facing, 1 crossing a trust boundary, 0 internal. Out-of-range values are
 * clamped (an unknown class counts as low). */
double gen_score(int severity_rank, int likelihood_rank, int class_rank, int exposure);

/* gen_score from the names of a threat's severity ("critical" .. "low") and
 * likelihood ("high" .. "low"; NULL or unknown counts as medium). */
double gen_score_threat(const char *severity, const char *likelihood, int class_rank, int exposure);

/* The most urgent task priority (1..4) a threat of this severity and
 * likelihood justifies (docs/risk-score.md, "Priority"): a task is never more
 * urgent than the most serious threat it answers.
 *                 likelihood high  medium  low
 *   critical                   1       1    2
 *   high                       1       2    3
 *   medium                     2       3    4
 *   low                        3       4    4
 * NULL or unknown names count as medium. */
int gen_priority_floor(const char *severity, const char *likelihood);

#endif
