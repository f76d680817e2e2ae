/* intent.c: see intent.h. */
#include "intent.h"

#include <string.h>
#include <strings.h>

#include "sshopts.h"

static bool is_auto(const char *value)
{
    return strcasecmp(value, "auto") == 0 || strcasecmp(value, "autoask") == 0;
}

bool intent_will_become_master(void)
{
    const struct sshopts_cmdline *c = sshopts_cmdline();
    if (c == NULL || c->control_command || c->master_only)
        return false; /* not ssh; -O: a control command; -M: never a client */
    if (c->controlmaster[0] != '\0')
        return is_auto(c->controlmaster);
    const struct sshopts_effective *e = sshopts_effective();
    /* ssh -G prints "auto", "autoask", "true", "ask" or "false". */
    return e != NULL && is_auto(e->controlmaster);
}
