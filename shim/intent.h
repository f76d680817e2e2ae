/* intent.h: will this process become a ControlMaster?
 *
 * Only an ssh with ControlMaster=auto (or autoask) that finds no master goes
 * on to become one; with ControlMaster=no, or in git, rsync and the like, no
 * master will ever appear. Rather than guess with a timeout, ask the process
 * (sshopts.h): its own command line (-O control commands, -M,
 * -o ControlMaster=, which win over ssh_config) and, only when that does not
 * say, `ssh -G` with the same arguments, which prints the effective
 * ControlMaster. The answer is computed once per process. */
#ifndef MUXFIX_INTENT_H
#define MUXFIX_INTENT_H

#include <stdbool.h>

bool intent_will_become_master(void);

#endif
