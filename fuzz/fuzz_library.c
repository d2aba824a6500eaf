/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness of the threat library loader: the input becomes one file
 * of a library directory in a per-process temporary tree, overlaying a small
 * base directory, and is loaded with library_load and checked with library_lint. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/library/library.h"
#include "fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte of an input picks the file it becomes, so one corpus reaches
 * every kind of library file; the letters keep seed files readable. */
static const struct {
	char letter;
	const char *name;
} fuzz_targets[] = {
    {'c', "component_types.json"},      {'m', "mappings.json"},        {'t', "threats/fuzz.json"},
    {'k', "countermeasures/fuzz.json"}, {'b', "blueprints/fuzz.json"},
};

/* The temporary tree: ROOT/base (component types and one countermeasure file
 * of the project's library, so references can resolve) and ROOT/overlay. */
static char fuzz_root[64];
static char *fuzz_base, *fuzz_overlay;

static char *read_source_file(const char *rel, size_t *ret_len)
{
	char *path = ts_asprintf("%s/%s", TS_SOURCE_DIR, rel);
	char *data = NULL;
	if (ts_read_file(path, LIBRARY_FILE_MAX, &data, ret_len) < 0)
		fuzz_fail("cannot read", path);
	free(path);
	return data;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fuzz_fail("cannot create", path);
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fuzz_fail("cannot write", path);
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0)
		fuzz_fail("cannot create directory", path);
}

static void copy_into_base(const char *rel_src, const char *rel_dst)
{
	size_t len = 0;
	char *data = read_source_file(rel_src, &len);
	char *dst = ts_asprintf("%s/%s", fuzz_base, rel_dst);
	write_file(dst, data, len);
	free(dst);
	free(data);
}

static void remove_tree(void)
{
	static const char *const files[] = {
	    "base/component_types.json",    "base/countermeasures/ops-logging.json",
	    "overlay/component_types.json", "overlay/mappings.json",
	    "overlay/threats/fuzz.json",    "overlay/countermeasures/fuzz.json",
	    "overlay/blueprints/fuzz.json"};
	static const char *const dirs[] = {"base/countermeasures",
	                                   "base",
	                                   "overlay/threats",
	                                   "overlay/countermeasures",
	                                   "overlay/blueprints",
	                                   "overlay",
	                                   ""};
	for (size_t i = 0; i < TS_ARRAY_SIZE(files); i++) {
		char *p = ts_asprintf("%s/%s", fuzz_root, files[i]);
		unlink(p);
		free(p);
	}
	for (size_t i = 0; i < TS_ARRAY_SIZE(dirs); i++) {
		char *p = ts_asprintf("%s/%s", fuzz_root, dirs[i]);
		rmdir(p);
		free(p);
	}
	free(fuzz_base);
	free(fuzz_overlay);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(fuzz_root, sizeof(fuzz_root), "%s/tsfuzz-library-XXXXXX",
	         tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(fuzz_root))
		fuzz_fail("cannot create a temporary directory", fuzz_root);
	fuzz_base = ts_asprintf("%s/base", fuzz_root);
	fuzz_overlay = ts_asprintf("%s/overlay", fuzz_root);
	atexit(remove_tree);
	make_dir(fuzz_base);
	make_dir(fuzz_overlay);
	char *sub = ts_asprintf("%s/countermeasures", fuzz_base);
	make_dir(sub);
	free(sub);
	static const char *const subs[] = {"threats", "countermeasures", "blueprints"};
	for (size_t i = 0; i < TS_ARRAY_SIZE(subs); i++) {
		char *p = ts_asprintf("%s/%s", fuzz_overlay, subs[i]);
		make_dir(p);
		free(p);
	}
	copy_into_base("library/component_types.json", "component_types.json");
	copy_into_base("library/countermeasures/ops-logging.json",
	               "countermeasures/ops-logging.json");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the selector byte, then at most what the loader reads of one file */
	if (size < 1 || size - 1 > LIBRARY_FILE_MAX)
		return -1;
	size_t t = data[0] % TS_ARRAY_SIZE(fuzz_targets);
	for (size_t i = 0; i < TS_ARRAY_SIZE(fuzz_targets); i++)
		if (fuzz_targets[i].letter == (char)data[0])
			t = i;
	char *path = ts_asprintf("%s/%s", fuzz_overlay, fuzz_targets[t].name);
	write_file(path, data + 1, size - 1);

	const char *dirs[] = {fuzz_base, fuzz_overlay};
	struct library *lib = NULL;
	struct ts_err err = {0};
	int r = library_load(dirs, 2, &lib, &err);
	if (r < 0 && (r != -EINVAL || err.code != TS_E_INVALID || !err.msg[0]))
		fuzz_fail("library_load failed without its documented error", err.msg);
	if (r == 0) {
		/* walk what was loaded, as the generator does */
		for (size_t i = 0; i < library_n_threats(lib); i++) {
			const struct lib_threat *th = library_threat_at(lib, i);
			if (library_threat(lib, th->id) != th)
				fuzz_fail("a loaded threat is not found by its id", th->id);
		}
		(void)library_map_type(lib, "otm", "web-service");
		(void)library_map_type(lib, "threatdragon", "tm.Store");
	}

	/* the lint reads the same files and must agree on whether they are valid */
	json_t *report = NULL;
	int lr = library_lint(dirs, 2, NULL, &report, &err);
	if (lr < 0)
		fuzz_fail("library_lint could not report", err.msg);
	bool ok = json_is_true(json_object_get(report, "ok"));
	if (ok != (r == 0))
		fuzz_fail(ok ? "library_lint accepts what library_load refuses"
		             : "library_lint refuses what library_load accepts",
		          NULL);
	json_decref(report);
	library_free(lib);
	unlink(path);
	free(path);
	return 0;
}
