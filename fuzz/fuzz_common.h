/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the libFuzzer harnesses: the project's own threat library, loaded
 * once per process, so importers and expressions meet the real vocabulary. */
#ifndef TS_FUZZ_COMMON_H
#define TS_FUZZ_COMMON_H

#include "engine/library/library.h"
#include "engine/model/model.h"

/* The library of the source tree (TS_SOURCE_DIR/library), loaded on the first
 * call and kept until the process ends (borrowed; never freed, so it stays
 * reachable and LeakSanitizer does not count it). Aborts when it does not
 * load: a harness without its library would fuzz the wrong code. */
const struct library *fuzz_library(void);

/* Type callbacks answering from fuzz_library() (borrowed, process lifetime). */
const struct model_typeinfo *fuzz_typeinfo(void);

/* Stops the run with a message on stderr: libFuzzer records the input. */
void fuzz_fail(const char *what, const char *detail) __attribute__((noreturn));

#endif
