/*
 * The agents a call reaches by agent_id: the built-in ones and the
 * scripted ones of --script. See server_internal.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

int wvs_agents_init(struct wvs_server *srv, char *err, size_t errlen)
{
	static const struct wvs_agent *const builtin[] = {
		&wvs_agent_demo, &wvs_agent_echo, &wvs_agent_silent,
	};
	size_t nb = sizeof builtin / sizeof builtin[0];
	int rc;

	rc = wvs_tts_create(&srv->tts, srv->cfg.voice, 0, err, errlen);
	if (rc == 0)
		rc = wvs_prompts_render(&srv->prompts, srv->tts, err, errlen);
	if (rc < 0)
		return rc;
	srv->scripts = calloc(srv->cfg.n_scripts + 1, sizeof *srv->scripts);
	srv->agents = calloc(nb + srv->cfg.n_scripts, sizeof *srv->agents);
	if (!srv->scripts || !srv->agents)
		return WV_ERR_NOMEM;
	for (size_t i = 0; i < nb; i++)
		srv->agents[srv->n_agents++] = (struct agent_entry){
			builtin[i]->name, builtin[i], &srv->prompts
		};
	for (size_t i = 0; i < srv->cfg.n_scripts; i++) {
		const struct wvs_script_arg *sa = &srv->cfg.scripts[i];
		struct wvs_script *sc = &srv->scripts[i];

		rc = wvs_script_load(sc, sa->name, sa->path, srv->tts, err,
				     errlen);
		if (rc < 0)
			return rc;
		srv->n_scripts++;
		/* A script may take a built-in's name: the user asked for it,
		   but may not know the name is taken. */
		struct agent_entry *e = NULL;
		for (size_t j = 0; j < srv->n_agents; j++)
			if (strcmp(srv->agents[j].id, sa->name) == 0)
				e = &srv->agents[j];
		if (e && e->agent != &wvs_agent_script)
			wvs_logf(srv, "script \"%s\" replaces the built-in "
				 "agent %s", sa->name, sa->name);
		if (!e)
			e = &srv->agents[srv->n_agents++];
		*e = (struct agent_entry){ sc->name, &wvs_agent_script, sc };
	}
	return 0;
}

const struct agent_entry *wvs_agent_find(const struct wvs_server *srv,
					 const char *id)
{
	for (size_t i = 0; i < srv->n_agents; i++)
		if (strcmp(srv->agents[i].id, id) == 0)
			return &srv->agents[i];
	return NULL;
}
