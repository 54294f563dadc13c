"""nx-27017's server as ``EmbeddedMongo`` starts it: its own ``main``, with its INFO and DEBUG lines off.

nx-27017 logs a line at INFO for every command and connection to its standard error, which ``EmbeddedMongo``
keeps, never rotated, in the store's log file: about 100 MB a day per idle store, and a line per write at a themed
day (docs/performance.md#embedded-store-limits-and-the-separate-scoring-store). Warnings and errors are still
logged.
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
