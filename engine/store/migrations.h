/* SPDX-License-Identifier: Apache-2.0 */
/* The SQL migrations compiled into the binary (generated from schema/migrations). */
#ifndef TS_ENGINE_MIGRATIONS_H
#define TS_ENGINE_MIGRATIONS_H

struct migration {
	int version;      /* the number the file name starts with; 1, 2, ... */
	const char *name; /* the file name, for messages */
	const char *sql;  /* the whole file */
};

/* Sorted by version; versions are 1..migrations_count without gaps. */
extern const struct migration migrations[];
extern const int migrations_count;

#endif
