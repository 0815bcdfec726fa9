/*
 * Built as test_playout*_pinned (CMake defines WV_TEST_ADAPTIVE), the
 * playout's tests run again under the adaptive policy with its target
 * pinned to each test's pre-buffer: every promise holds in both.
 */
#ifndef WV_TESTS_PLAYOUT_PIN_H
#define WV_TESTS_PLAYOUT_PIN_H

#include <wvoice/playout.h>

static inline void pin_policy(struct wv_playout_config *cfg)
{
#ifdef WV_TEST_ADAPTIVE
	cfg->policy = WV_PLAYOUT_ADAPTIVE;
	cfg->min_delay_ms = cfg->prebuffer_ms;
	cfg->max_delay_ms = cfg->prebuffer_ms;
#else
	(void)cfg;
#endif
}

#endif
