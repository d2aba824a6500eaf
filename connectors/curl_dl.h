/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl, loaded by the first HTTP client (curl_dl_load) instead of at
 * process start: libcurl and the TLS, LDAP, SSH and Kerberos libraries it
 * brings cost every command a few milliseconds of dynamic linking, and most
 * commands never send a request. Only connectors/http.c calls libcurl, all
 * through curl_dl. */
#ifndef TS_CONNECTORS_CURL_DL_H
#define TS_CONNECTORS_CURL_DL_H

/* The functions are called through pointers: curl's type-checking macros
 * would shadow the names. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include <stddef.h>

/* The soname threatsync is built against (Debian's libcurl4). */
#define CURL_DL_SONAME "libcurl.so.4"

struct curl_dl {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
	CURLMcode (*multi_add_handle)(CURLM *multi, CURL *curl);
	CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *curl);
	CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t s, int ev_bitmask,
	                                 int *running_handles);
	CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t sockfd, void *sockp);
	CURLMsg *(*multi_info_read)(CURLM *multi, int *msgs_in_queue);
	CURLMcode (*multi_cleanup)(CURLM *multi);
	const char *(*multi_strerror)(CURLMcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *data);
	void (*slist_free_all)(struct curl_slist *list);
};

/* Filled by curl_dl_load. */
extern struct curl_dl curl_dl;

/* Loads libcurl and its functions once per process (thread-safe; the
 * library stays loaded). 0, or -ELIBACC when it cannot be loaded, with the
 * reason in curl_dl_error(). */
int curl_dl_load(void);
const char *curl_dl_error(void);

#endif
