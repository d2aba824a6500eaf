/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl loaded on first use (curl_dl.h). */
#include "connectors/curl_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct curl_dl curl_dl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_rc;
static char load_error[512];

/* One entry per function: its name in libcurl and where it goes. dlsym's
 * void * is copied into the function pointer bytewise, the form POSIX
 * documents for it. */
#define CURL_DL_FN(field, name) {name, (void *)&curl_dl.field, sizeof(curl_dl.field)}

static const struct {
	const char *name;
	void *slot;
	size_t size;
} fns[] = {
    CURL_DL_FN(global_init, "curl_global_init"),
    CURL_DL_FN(global_cleanup, "curl_global_cleanup"),
    CURL_DL_FN(easy_init, "curl_easy_init"),
    CURL_DL_FN(easy_setopt, "curl_easy_setopt"),
    CURL_DL_FN(easy_getinfo, "curl_easy_getinfo"),
    CURL_DL_FN(easy_cleanup, "curl_easy_cleanup"),
    CURL_DL_FN(easy_strerror, "curl_easy_strerror"),
    CURL_DL_FN(multi_init, "curl_multi_init"),
    CURL_DL_FN(multi_setopt, "curl_multi_setopt"),
    CURL_DL_FN(multi_add_handle, "curl_multi_add_handle"),
    CURL_DL_FN(multi_remove_handle, "curl_multi_remove_handle"),
    CURL_DL_FN(multi_socket_action, "curl_multi_socket_action"),
    CURL_DL_FN(multi_assign, "curl_multi_assign"),
    CURL_DL_FN(multi_info_read, "curl_multi_info_read"),
    CURL_DL_FN(multi_cleanup, "curl_multi_cleanup"),
    CURL_DL_FN(multi_strerror, "curl_multi_strerror"),
    CURL_DL_FN(slist_append, "curl_slist_append"),
    CURL_DL_FN(slist_free_all, "curl_slist_free_all"),
};

_Static_assert(sizeof(void (*)(void)) == sizeof(void *),
               "function pointers are copied from dlsym's void *");

static void load(void)
{
	void *h = dlopen(CURL_DL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error),
		         "%s cannot be loaded (%s): tracker connectors need libcurl (Debian package "
		         "libcurl4)",
		         CURL_DL_SONAME, why ? why : "no reason given");
		load_rc = -ELIBACC;
		return;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		void *sym = dlsym(h, fns[i].name);
		if (!sym) {
			snprintf(load_error, sizeof(load_error), "%s has no function %s: it is not the "
			         "libcurl threatsync was built for",
			         CURL_DL_SONAME, fns[i].name);
			load_rc = -ELIBACC;
			return;
		}
		memcpy(fns[i].slot, &sym, fns[i].size);
	}
}

int curl_dl_load(void)
{
	pthread_once(&load_once, load);
	return load_rc;
}

const char *curl_dl_error(void)
{
	return load_error;
}
