"""One warning per problem: monitoring reports a failure once, then goes on quietly (training is
never stopped, and a problem that recurs at every step would flood the log)."""

import logging

logger = logging.getLogger("tb_prune_plugin")


class WarnOnce:
    """Logs the message of its first call as a warning, and nothing after."""

    def __init__(self):
        self.warned = False

    def __call__(self, message, *args):
        if not self.warned:
            self.warned = True
            logger.warning(message, *args)
