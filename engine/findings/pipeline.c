/* SPDX-License-Identifier: Apache-2.0 */
/* A report's parser on a thread of its own, its findings handed to the
 * calling thread through a bounded queue: parsing (and what ops->prepare
 * computes per finding) overlaps with the storing. */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/findings/ingest_internal.h"

#define QUEUE_SLOTS 256
#define QUEUE_BYTES (4 * 1024 * 1024) /* texts queued before the parser waits */
#define SLOT_KEEP (64 * 1024)         /* a slot's text buffer kept up to this */
/* A waiting side is woken when the other has done this much, not at every
 * finding: a thread switch per finding costs more than the finding. */
#define WAKE_SLOTS 32

/* The text fields of struct finding, copied into a slot. */
static const size_t text_fields[] = {
    offsetof(struct finding, tool),
    offsetof(struct finding, tool_version),
    offsetof(struct finding, category),
    offsetof(struct finding, rule_id),
    offsetof(struct finding, rule_name),
    offsetof(struct finding, message),
    offsetof(struct finding, severity),
    offsetof(struct finding, confidence),
    offsetof(struct finding, kind),
    offsetof(struct finding, baseline_state),
    offsetof(struct finding, path),
    offsetof(struct finding, snippet),
    offsetof(struct finding, url),
    offsetof(struct finding, method),
    offsetof(struct finding, param),
    offsetof(struct finding, package),
    offsetof(struct finding, image),
    offsetof(struct finding, fingerprint),
    offsetof(struct finding, fingerprint_kind),
    offsetof(struct finding, suppression_reason),
    offsetof(struct finding, doc_path),
};
#define N_TEXT (sizeof(text_fields) / sizeof(text_fields[0]))

struct slot {
	struct finding f;   /* its texts point into text */
	struct ts_buf text; /* the texts, each NUL-terminated */
	enum findings_format format;
	void *extra; /* ops->extra_size bytes */
};

struct pipe {
	const struct pipeline_ops *ops;
	void *ud;
	ingest_producer produce;
	void *produce_ud;
	struct findings_report rep; /* the parser's; read after the join */
	struct ts_err err;          /* the parser's error */
	int rc;                     /* what produce returned */

	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	struct slot slots[QUEUE_SLOTS];
	size_t head, tail; /* slots filled and consumed, counting from 0 */
	size_t bytes;      /* texts in the queue */
	bool done;         /* the parser has returned */
	bool parser_waits, storer_waits;
	int stop;          /* the consumer failed with this: the parser stops */
};

static const char **text_at(struct finding *f, size_t i)
{
	return (const char **)(void *)((char *)f + text_fields[i]);
}

/* Copies f into s: the texts at offsets into one buffer, then pointers. */
static void slot_fill(struct slot *s, const struct finding *f)
{
	size_t off[N_TEXT];
	s->text.len = 0;
	s->f = *f;
	for (size_t i = 0; i < N_TEXT; i++) {
		const char *v = *text_at(&s->f, i);
		off[i] = SIZE_MAX;
		if (v) {
			off[i] = s->text.len;
			ts_buf_append(&s->text, v, strlen(v) + 1);
		}
	}
	for (size_t i = 0; i < N_TEXT; i++)
		*text_at(&s->f, i) = off[i] == SIZE_MAX ? NULL : s->text.data + off[i];
}

/* The parser's callback, on its thread. */
static int enqueue_cb(void *ud, const struct finding *f, struct ts_err *err)
{
	struct pipe *p = ud;
	pthread_mutex_lock(&p->mu);
	while (!p->stop &&
	       (p->head - p->tail == QUEUE_SLOTS || (p->bytes > QUEUE_BYTES && p->head != p->tail))) {
		/* the storer may wait for more: what is queued is all there is */
		if (p->storer_waits)
			pthread_cond_signal(&p->not_empty);
		p->parser_waits = true;
		pthread_cond_wait(&p->not_full, &p->mu);
		p->parser_waits = false;
	}
	int stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	if (stop)
		return stop;
	/* the slot at head is the parser's alone until head moves */
	struct slot *s = &p->slots[p->head % QUEUE_SLOTS];
	slot_fill(s, f);
	s->format = p->rep.format;
	int rc = p->ops->prepare ? p->ops->prepare(p->ud, &s->f, s->extra, err) : 0;
	if (rc)
		return rc;
	pthread_mutex_lock(&p->mu);
	p->head++;
	p->bytes += s->text.len;
	if (p->storer_waits && p->head - p->tail >= WAKE_SLOTS)
		pthread_cond_signal(&p->not_empty);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static void *parser_main(void *arg)
{
	struct pipe *p = arg;
	int rc = p->produce(p->produce_ud, enqueue_cb, p, &p->rep, &p->err);
	pthread_mutex_lock(&p->mu);
	p->rc = rc;
	p->done = true;
	pthread_cond_signal(&p->not_empty);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Without a thread: prepare and consume in turn. */
struct inline_ctx {
	const struct pipeline_ops *ops;
	void *ud;
	void *extra;
	struct findings_report *rep;
};

static int inline_cb(void *ud, const struct finding *f, struct ts_err *err)
{
	struct inline_ctx *c = ud;
	int rc = c->ops->prepare ? c->ops->prepare(c->ud, f, c->extra, err) : 0;
	if (rc == 0)
		rc = c->ops->consume(c->ud, f, c->extra, c->rep->format, err);
	return rc;
}

static int run_inline(const struct pipeline_ops *ops, void *ud, ingest_producer produce,
                      void *produce_ud, struct findings_report *rep, struct ts_err *err)
{
	struct inline_ctx c = {ops, ud, ts_calloc(1, ops->extra_size ? ops->extra_size : 1), rep};
	int rc = produce(produce_ud, inline_cb, &c, rep, err);
	free(c.extra);
	return rc;
}

int pipeline_run(const struct pipeline_ops *ops, void *ud, ingest_producer produce,
                 void *produce_ud, bool threaded, struct findings_report *rep, struct ts_err *err)
{
	if (!threaded)
		return run_inline(ops, ud, produce, produce_ud, rep, err);
	struct pipe *p = ts_calloc(1, sizeof(*p));
	p->ops = ops;
	p->ud = ud;
	p->produce = produce;
	p->produce_ud = produce_ud;
	for (size_t i = 0; i < QUEUE_SLOTS; i++)
		p->slots[i].extra = ts_calloc(1, ops->extra_size ? ops->extra_size : 1);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->not_full, NULL);
	pthread_cond_init(&p->not_empty, NULL);
	/* The parser's thread takes no signals: they stay with the threads
	 * that handle them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	int started = pthread_create(&th, NULL, parser_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	int rc = 0;
	if (started != 0) {
		rc = run_inline(ops, ud, produce, produce_ud, rep, err);
		goto out;
	}
	/* Every finding queued before a parse error is stored first, as the
	 * parser on this thread would have: the first error in document order
	 * is the one reported. */
	int crc = 0;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == p->tail && !p->done) {
			p->storer_waits = true;
			pthread_cond_wait(&p->not_empty, &p->mu);
			p->storer_waits = false;
		}
		bool empty = p->head == p->tail;
		pthread_mutex_unlock(&p->mu);
		if (empty)
			break; /* done, all consumed */
		struct slot *s = &p->slots[p->tail % QUEUE_SLOTS];
		crc = ops->consume(ud, &s->f, s->extra, s->format, err);
		size_t len = s->text.len;
		if (s->text.cap > SLOT_KEEP)
			ts_buf_free(&s->text);
		pthread_mutex_lock(&p->mu);
		p->tail++;
		p->bytes -= len;
		if (crc)
			p->stop = crc;
		if (p->parser_waits && (crc || p->head - p->tail <= QUEUE_SLOTS - WAKE_SLOTS))
			pthread_cond_signal(&p->not_full);
		pthread_mutex_unlock(&p->mu);
		if (crc)
			break;
	}
	pthread_join(th, NULL);
	*rep = p->rep;
	if (crc) {
		rc = crc; /* err is the consumer's */
	} else if (p->rc) {
		rc = p->rc;
		*err = p->err;
	}
out:
	pthread_cond_destroy(&p->not_empty);
	pthread_cond_destroy(&p->not_full);
	pthread_mutex_destroy(&p->mu);
	for (size_t i = 0; i < QUEUE_SLOTS; i++) {
		ts_buf_free(&p->slots[i].text);
		free(p->slots[i].extra);
	}
	free(p);
	return rc;
}
