"""The environment a child process (node, server script, helper) gets.

The harness's own environment may name the developer's servers or keys
(REDIS_ADDR, MYSQL_DSN, an API key file) or a fake clock: a child that
inherited them could reach, or wipe, someone else's cluster. They are dropped;
what the child must use is passed in explicitly."""

import os

# Never inherited: each names another cluster's servers, keys or clock.
FOREIGN = ("REDIS_ADDR", "MYSQL_DSN", "BATON_API_KEYS_FILE", "LD_PRELOAD", "FAKETIME")


def child_env(**extra):
    """os.environ without FOREIGN, plus `extra`."""
    env = dict(os.environ)
    for name in FOREIGN:
        env.pop(name, None)
    env.update(extra)
    return env
