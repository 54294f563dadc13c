"""nx-27017's server as ``EmbeddedMongo`` starts it: its own ``main``, with its INFO and DEBUG lines off.

nx-27017 configures INFO logging and writes a line for every command it answers ("Command response:
response_keys=[...]") and every connection it accepts to its standard error, which ``EmbeddedMongo`` keeps in
the store's log file (``var/log/mongo.log`` under ``bin/run``), never rotated: 10-14 lines a second from each
store of an idle platform (the services' timers), about 100 MB a day each, and a line per batch, read and
write of every service at a themed day (README, session 20). Warnings and errors are still logged.
``EMBEDDED_MONGO_LOG=commands`` starts the plain ``nx-27017`` with every line, to see what the services ask of
the store.

    python -m servicekit.storage.nx_server <nx-27017's arguments>
"""
from __future__ import annotations

import logging
import sys


def main(argv: list[str]) -> int | None:
    from nx_27017.nx_27017 import main as serve

    from servicekit.process.collector import settle_after_start
    from servicekit.process.config import ConfigError
    logging.disable(logging.INFO)               # INFO and DEBUG, whatever level nx-27017 configures
    try:
        settle_after_start("nx-27017")          # its modules, out of the collections while it serves
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.argv = ["nx-27017", *argv]
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
