/*
 * An allocator for failure injection (nghttp2's failmalloc): it fails the
 * n-th allocation made on the thread that armed it, and counts what that
 * thread allocated and has not freed, wherever it is freed. Installed as
 * wvoice's allocator (wv_set_allocator()) and jansson's
 * (json_set_alloc_funcs()), so both libraries' allocations count.
 * Other threads' allocations (an in-process server's) pass through.
 */
#ifndef WV_TESTS_FAILALLOC_H
#define WV_TESTS_FAILALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* Installs it for wvoice and jansson, disarmed, for the rest of the
   process (blocks it made cannot go to free()): first thing in main(). */
void failalloc_install(void);

/* From now on, on this thread, allocation number n (1 is the next) fails,
   and every one after it succeeds. n 0: none fails. Resets the counts. */
void failalloc_arm(size_t n);
/* Stops counting and failing. */
void failalloc_disarm(void);

/* Allocations asked for on the armed thread since failalloc_arm(). */
size_t failalloc_count(void);
/* Whether the n-th one was asked for (and so failed). */
bool failalloc_failed(void);
/* Blocks allocated on the armed thread and not freed yet. */
long failalloc_live(void);

/*
 * The failmalloc loop: runs run(arg) once with nothing failing (it must
 * return 0), then once with each of the allocations it made failing in
 * turn, until a run reaches past the last one. After each, what run()
 * allocated must all be freed, and judge(rc, arg) says what was wrong with
 * a failing run, or NULL. Fails the test at the first fault; returns the
 * number of allocations of the clean run.
 */
size_t failalloc_each(int (*run)(void *arg), void *arg,
		      const char *(*judge)(int rc, void *arg));

#endif
