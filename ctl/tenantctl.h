/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What tenantctl.c (verb table, offline verbs) and tenantctl-bus.c (verbs
 * over the daemon's API) share. */
#pragma once

#include "client.h"
#include "util.h"

extern bool arg_json;
extern const char *arg_root;

int apply_via_daemon(const char *dir);
int adopt_via_daemon(const char *id, char *const *pid_args, int n);
int verb_list(int argc, char **argv);
int verb_status(int argc, char **argv);
int verb_top(int argc, char **argv);
int verb_events(int argc, char **argv);
int verb_reassign(int argc, char **argv);
int verb_start(int argc, char **argv);
int verb_stop(int argc, char **argv);
