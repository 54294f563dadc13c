"""Re-encrypt members' ID numbers under the current field key and recompute their blind indexes.

Identity runs this when it starts (services.identity.bootstrap) whenever the keys it holds differ from those the
last complete pass recorded: the first start after an upgrade from the format without key ids, and the first start
after a key rotation. It finishes before identity answers a call, so every duplicate check sees one index key
only. The same pass on demand, with its counts:

    python -m services.identity.rekey [--tenant TENANT_ID] [--force] [--batch 1000]

Rotation: put a new key at FIELD_ENCRYPTION_KEY_PATH, keep the old one in FIELD_ENCRYPTION_OLD_KEYS_DIR (on one
machine ``servicekit.security.keys.rotate_field_key`` does both), restart identity. Once the pass is done the old
key may be removed from that directory. Safe to re-run and to interrupt: a member already under the current keys
is left as it is, each batch commits on its own, and a write is skipped if the member's ciphertext changed since
it was read.
"""
from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass

from servicekit.security.fieldcrypt import FieldCipher, UndecryptableField

from services.identity.documents import ID_NUMBER
from services.identity.store import IdentityStore

log = logging.getLogger(__name__)
STEP = "field_keys"         # the migrations entry: the key ids of the last complete pass
BATCH = 1000
LOGGED_FAILURES = 20


@dataclass
class Rekeyed:
    scanned: int = 0            # members read
    rewritten: int = 0          # members written under the current keys
    current: int = 0            # members already under them
    undecryptable: int = 0      # members no key of the ring opens (left as they are)
    skipped: bool = False       # nothing read: the last complete pass was under these keys


def keys_of(cipher: FieldCipher) -> dict:
    return {"kid": cipher.current_kid, "index_kid": cipher.index_kid}


def rekey_members(store: IdentityStore, cipher: FieldCipher, tenant_id: str | None = None, force: bool = False,
                  batch: int = BATCH) -> Rekeyed:
    """Every member (or one tenant's) under ``cipher``'s current key and index key. A pass over all members with
    none undecryptable is recorded, and later calls with the same keys skip unless ``force``."""
    done = store.migration(STEP)
    if tenant_id is None and not force and done and all(done.get(k) == v for k, v in keys_of(cipher).items()):
        return Rekeyed(skipped=True)
    counts, pending = Rekeyed(), []
    for member in store.member_id_numbers(tenant_id, batch):
        counts.scanned += 1
        stored = member.get("id_number_enc")
        try:
            number = cipher.decrypt(member["tenant_id"], stored or "", ID_NUMBER, member["_id"])
        except (UndecryptableField, ValueError):
            counts.undecryptable += 1
            if counts.undecryptable <= LOGGED_FAILURES:     # a missing key would otherwise log every member
                log.error("member %s: its ID number opens under no key of the ring", member["_id"])
            continue
        index = cipher.blind_index(member["tenant_id"], number)
        if cipher.is_current(stored) and member.get("id_number_index") == index:
            counts.current += 1
            continue
        fields = {"id_number_index": index}
        if not cipher.is_current(stored):
            fields["id_number_enc"] = cipher.encrypt(member["tenant_id"], number, ID_NUMBER, member["_id"])
        pending.append((member["_id"], stored, fields))
        if len(pending) == batch:
            counts.rewritten += store.rewrite_id_numbers(pending)
            pending = []
    counts.rewritten += store.rewrite_id_numbers(pending)
    if tenant_id is None and not counts.undecryptable:
        store.mark_migration(STEP, {**keys_of(cipher), **asdict(counts)})
    return counts


def main(argv=None) -> int:
    from servicekit.storage.mongo import open_store

    parser = argparse.ArgumentParser(prog="python -m services.identity.rekey", description=__doc__.split("\n")[0])
    parser.add_argument("--tenant", help="only this tenant's members (the pass is then not recorded as complete)")
    parser.add_argument("--force", action="store_true", help="read every member even if the keys are unchanged")
    parser.add_argument("--batch", type=int, default=BATCH, help="members per commit")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    counts = rekey_members(open_store(IdentityStore, "identity"), FieldCipher(), arguments.tenant,
                           arguments.force, max(1, arguments.batch))
    print(json.dumps(asdict(counts)))
    return 1 if counts.undecryptable else 0


if __name__ == "__main__":
    raise SystemExit(main())
