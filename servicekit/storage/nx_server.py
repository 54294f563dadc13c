"""nx-27017's server as ``EmbeddedMongo`` starts it: its own ``main``, with its INFO and DEBUG lines off.

nx-27017 logs a line at INFO for every command and connection to its standard error, which ``EmbeddedMongo``
keeps, never rotated, in the store's log file: about 100 MB a day per idle store, and a line per write at a themed
day (docs/performance.md#embedded-store-limits-and-the-separate-scoring-store). Warnings and errors are still
logged.
``EMBEDDED_MONGO_LOG=commands`` keeps every line, to see what the services ask of the store.

SQLite's ``synchronous`` is ``EMBEDDED_MONGO_SYNCHRONOUS`` (``FULL`` by default, or ``NORMAL``) on every database
file it opens: nx-27017 sets ``NORMAL`` at each connection's open (WAL mode) and has no option for it, so the
setting is applied here after its own. In WAL mode ``NORMAL`` does not sync the log at a commit: a process crash
loses nothing, a power loss or kernel crash can lose the last commits; ``FULL`` syncs at every commit
(docs/performance.md#durability-of-the-embedded-store). A client's write concern ``w: 1`` would lower it to
``NORMAL`` again, so under ``FULL`` a write concern only ever raises it.

    python -m servicekit.storage.nx_server <nx-27017's arguments>
"""
from __future__ import annotations

import logging
import sys


def apply_synchronous(setting: str) -> None:
    """Every SQLite connection nx-27017 opens from now on runs with ``PRAGMA synchronous=<setting>``."""
    from neosqlite.connection import Connection

    configure, apply_write_concern = Connection._configure_connection, Connection._apply_write_concern

    def _configure_connection(self) -> None:
        configure(self)
        self.db.execute(f"PRAGMA synchronous = {setting}")

    def _apply_write_concern(self, write_concern) -> None:
        apply_write_concern(self, write_concern)
        if setting == "FULL":           # w: 1 means NORMAL to nx-27017: never below the store's setting
            self.db.execute("PRAGMA synchronous = FULL")

    Connection._configure_connection = _configure_connection
    Connection._apply_write_concern = _apply_write_concern


def main(argv: list[str]) -> int | None:
    from nx_27017.nx_27017 import main as serve

    from servicekit.process.collector import settle_after_start
    from servicekit.process.config import ConfigError
    from servicekit.storage.embedded_mongo import EmbeddedMongoError, log_setting, synchronous_setting
    try:
        logged, synchronous = log_setting(), synchronous_setting()
    except EmbeddedMongoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    apply_synchronous(synchronous)
    if logged == "warnings":
        logging.disable(logging.INFO)           # INFO and DEBUG, whatever level nx-27017 configures
    try:
        settle_after_start("nx-27017")          # its modules, out of the collections while it serves
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.argv = ["nx-27017", *argv]
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
