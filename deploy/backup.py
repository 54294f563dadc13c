"""Backups of the services' databases and their restore.

    python -m deploy.backup create  --out DIR  [--data-dir var/mongo ... | --uri MONGO_URI]
    python -m deploy.backup verify  --from DIR
    python -m deploy.backup restore --from DIR [--data-dir var/mongo ... | --uri MONGO_URI] [--replace]

Each database is copied as one point in time (consistent per database):
- the embedded store (nx-27017 keeps each database in a SQLite file in WAL mode): each file is copied with SQLite's
  online backup API, which copies one committed state while writers go on; the copies are then read through a
  temporary nx-27017 of their own;
- a real MongoDB: every collection of a database is read in one snapshot session (read concern ``snapshot``: one
  point in time; a replica set, MongoDB 5.0 or later).

A backup is a directory laid out as mongodump lays out its own: ``<database>/<collection>.bson`` (the documents,
BSON one after another), ``<database>/<collection>.indexes.json``, and ``manifest.json`` naming every file with its
document count and SHA-256, and the store each database came from (``mongo``, ``mongo-scoring``). ``verify``
checks the hashes. ``restore`` checks them first, refuses a target whose databases hold documents (``--replace``
drops them first), then inserts the documents and creates the indexes; a backup of either kind restores into
either kind. The databases are those whose name starts with ``DB_PREFIX`` (``pb``) and ``_``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import bson
import pymongo
from pymongo.errors import OperationFailure

from servicekit.storage.embedded_mongo import EmbeddedMongo

FORMAT = "partybuilding-backup/1"
VAR = Path(__file__).resolve().parents[1] / "var"
INSERT_BATCH = 1000


class BackupError(RuntimeError):
    """A backup or restore that cannot be done as asked; nothing was written to the target."""


def prefix() -> str:
    return os.environ.get("DB_PREFIX", "pb") + "_"


def default_data_dirs(var: Path = VAR) -> list[Path]:
    """The embedded stores ``bin/run`` keeps: ``var/mongo`` and each service's own (``var/mongo-scoring``)."""
    return sorted(path for path in var.glob("mongo*") if path.is_dir())


@dataclass
class Source:
    """Where a database is read from: ``store`` names it in the manifest (a data dir's folder, or ``mongodb``)."""
    store: str
    client: pymongo.MongoClient
    snapshot: bool            # read the collections in one snapshot session (a real MongoDB)


# --- create ---------------------------------------------------------------------------
def copy_sqlite(source: Path, target: Path) -> None:
    """One committed state of a live SQLite database (SQLite's online backup: writers are not held up in WAL mode)."""
    live = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        with copy:
            live.backup(copy)
    finally:
        copy.close()
        live.close()


def dump_database(client: pymongo.MongoClient, name: str, out: Path, snapshot: bool) -> dict:
    """Write every collection of ``name`` under ``out/name``; the manifest's entry for it."""
    db, folder = client[name], out / name
    folder.mkdir(parents=True)
    collections = {}
    session = client.start_session(snapshot=True) if snapshot else None
    try:
        for collection in sorted(db.list_collection_names()):
            path, count, digest = folder / f"{collection}.bson", 0, hashlib.sha256()
            with path.open("wb") as file:
                for document in db[collection].find({}, session=session).sort("_id", 1):
                    data = bson.encode(document)
                    file.write(data)
                    digest.update(data)
                    count += 1
            indexes = [{"name": index_name, **{k: v for k, v in spec.items() if k not in ("v", "ns")}}
                       for index_name, spec in sorted(db[collection].index_information().items())
                       if index_name != "_id_"]
            index_path = folder / f"{collection}.indexes.json"
            index_path.write_text(json.dumps(indexes, ensure_ascii=False, indent=1, default=list))
            collections[collection] = {"documents": count, "sha256": digest.hexdigest(),
                                       "indexes_sha256": sha256_of(index_path)}
    finally:
        if session is not None:
            session.end_session()
    return collections


def create(out: Path, data_dirs: list[Path] | None = None, uri: str | None = None) -> dict:
    """Back up every service database of the embedded stores in ``data_dirs`` or of the MongoDB at ``uri``."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} exists and is not empty: a backup goes into a new directory")
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    databases: dict[str, dict] = {}
    if uri:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
            names = [name for name in client.list_database_names() if name.startswith(prefix())]
            for name in names:
                try:
                    collections = dump_database(client, name, out, snapshot=True)
                except OperationFailure as error:
                    raise BackupError(f"{name}: a snapshot read was refused ({error}); a consistent backup of a "
                                      "real MongoDB needs a replica set, MongoDB 5.0 or later") from error
                databases[name] = {"store": "mongodb", "collections": collections}
    else:
        for data_dir in data_dirs or default_data_dirs():
            data_dir = Path(data_dir)
            files = sorted(data_dir.glob(f"{prefix()}*.db"))
            if not files:
                continue
            with tempfile.TemporaryDirectory(prefix="backup-copy-") as temp:
                copies = Path(temp) / "data"
                copies.mkdir()
                for file in files:
                    copy_sqlite(file, copies / file.name)
                with EmbeddedMongo(copies) as mongo, pymongo.MongoClient(mongo.uri) as client:
                    for file in files:
                        databases[file.stem] = {"store": data_dir.name,
                                                "collections": dump_database(client, file.stem, out, snapshot=False)}
    if not databases:
        raise BackupError("no service database found to back up "
                          f"(databases named {prefix()}*; {'at ' + uri if uri else 'in ' + str(data_dirs or VAR)})")
    manifest = {"format": FORMAT, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                "source": "mongodb" if uri else "embedded", "databases": databases}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- verify and restore --------------------------------------------------------------------
def verify(backup: Path) -> dict:
    """The manifest, once every file matches its hash and count; BackupError naming the first that does not."""
    backup = Path(backup)
    try:
        manifest = json.loads((backup / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{backup}: no readable manifest.json ({error})") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup}: not a backup of this platform (format {manifest.get('format')!r})")
    for name, database in manifest["databases"].items():
        for collection, entry in database["collections"].items():
            path = backup / name / f"{collection}.bson"
            if not path.exists() or sha256_of(path) != entry["sha256"]:
                raise BackupError(f"{path}: missing or changed since the backup (SHA-256 differs)")
            if sum(1 for _ in read_documents(path)) != entry["documents"]:
                raise BackupError(f"{path}: holds another number of documents than the manifest says")
            indexes = backup / name / f"{collection}.indexes.json"
            if not indexes.exists() or sha256_of(indexes) != entry["indexes_sha256"]:
                raise BackupError(f"{indexes}: missing or changed since the backup (SHA-256 differs)")
    return manifest


def read_documents(path: Path):
    with path.open("rb") as file:
        yield from bson.decode_file_iter(file)


def restore_into(client: pymongo.MongoClient, backup: Path, names: list[str], manifest: dict,
                 replace: bool) -> None:
    occupied = [name for name in names if any(client[name][c].find_one({}, {"_id": 1}) is not None
                                              for c in client[name].list_collection_names())]
    if occupied and not replace:
        raise BackupError(f"the target already holds data in {', '.join(occupied)}: restore goes into an empty "
                          "store (--replace drops those databases first)")
    for name in names:
        if replace:
            client.drop_database(name)
        db = client[name]
        for collection, entry in manifest["databases"][name]["collections"].items():
            db.create_collection(collection)
            batch = []
            for document in read_documents(backup / name / f"{collection}.bson"):
                batch.append(document)
                if len(batch) >= INSERT_BATCH:
                    db[collection].insert_many(batch, ordered=True)
                    batch = []
            if batch:
                db[collection].insert_many(batch, ordered=True)
            for index in json.loads((backup / name / f"{collection}.indexes.json").read_text()):
                options = {k: v for k, v in index.items() if k not in ("key", "name")}
                db[collection].create_index([tuple(part) for part in index["key"]], name=index["name"], **options)


def restore(backup: Path, data_dirs: list[Path] | None = None, uri: str | None = None,
            replace: bool = False) -> dict:
    """Restore every database of ``backup`` into the MongoDB at ``uri``, or into embedded stores: each database into
    the data dir named as the store it came from (``mongo``, ``mongo-scoring``) under the parent of ``data_dirs``'
    first entry (default ``var/``). The stores must not be running (nx-27017 refuses a served data dir)."""
    backup = Path(backup)
    manifest = verify(backup)
    names = sorted(manifest["databases"])
    if uri:
        with pymongo.MongoClient(uri, serverSelectionTimeoutMS=10_000) as client:
            restore_into(client, backup, names, manifest, replace)
        return manifest
    var = Path(data_dirs[0]).parent if data_dirs else VAR
    by_store: dict[str, list[str]] = {}
    for name in names:
        store = manifest["databases"][name]["store"]
        by_store.setdefault("mongo" if store == "mongodb" else store, []).append(name)
    for store, store_names in sorted(by_store.items()):
        with EmbeddedMongo(var / store) as mongo, pymongo.MongoClient(mongo.uri) as client:
            restore_into(client, backup, store_names, manifest, replace)
    return manifest


def summary(manifest: dict) -> str:
    lines = []
    for name, database in sorted(manifest["databases"].items()):
        documents = sum(entry["documents"] for entry in database["collections"].values())
        lines.append(f"  {name:24} {database['store']:14} {len(database['collections']):3} collections "
                     f"{documents:9} documents")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for command in ("create", "restore"):
        sub = commands.add_parser(command)
        sub.add_argument("--data-dir", action="append", type=Path,
                         help="an embedded store's data dir (repeatable; default: var/mongo*)")
        sub.add_argument("--uri", help="a real MongoDB instead of the embedded stores (default: MONGO_URI if set)")
        if command == "create":
            sub.add_argument("--out", type=Path, required=True, help="a new directory for the backup")
        else:
            sub.add_argument("--from", dest="source", type=Path, required=True)
            sub.add_argument("--replace", action="store_true", help="drop the target's databases first")
    verify_parser = commands.add_parser("verify")
    verify_parser.add_argument("--from", dest="source", type=Path, required=True)
    args = parser.parse_args(argv)
    uri = getattr(args, "uri", None) or (os.environ.get("MONGO_URI") if not getattr(args, "data_dir", None) else None)
    try:
        if args.command == "create":
            started = time.perf_counter()
            manifest = create(args.out, args.data_dir, uri)
            print(f"backup written to {args.out} in {time.perf_counter() - started:.1f}s\n{summary(manifest)}")
        elif args.command == "verify":
            print(f"{args.source}: every file matches its hash\n{summary(verify(args.source))}")
        else:
            manifest = restore(args.source, args.data_dir, uri, args.replace)
            print(f"restored {args.source} (taken {manifest['created_at']})\n{summary(manifest)}")
    except BackupError as error:
        print(f"deploy.backup: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
