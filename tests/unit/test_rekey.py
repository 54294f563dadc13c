"""services.identity.rekey over an in-memory store: what it rewrites, what it leaves, when it records a pass."""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekit.security.fieldcrypt import FieldCipher, key_id
from services.identity.rekey import STEP, rekey_members

KEY_A, KEY_B, INDEX_KEY = (secrets.token_bytes(32) for _ in range(3))


class MemoryStore:
    """The four store calls the pass makes, over a dict of members."""

    def __init__(self, members: list[dict]):
        self.members = {member["_id"]: member for member in members}
        self.migrations: dict[str, dict] = {}
        self.commits = 0
        self.reads = 0

    def member_id_numbers(self, tenant_id=None, batch=1000):
        self.reads += 1
        return [copy.deepcopy(m) for m in self.members.values() if tenant_id in (None, m["tenant_id"])]

    def rewrite_id_numbers(self, updates):
        if not updates:
            return 0
        self.commits += 1
        written = 0
        for member_id, as_read, fields in updates:
            if self.members[member_id].get("id_number_enc") == as_read:
                self.members[member_id].update(fields)
                written += 1
        return written

    def migration(self, step):
        return self.migrations.get(step)

    def mark_migration(self, step, fields):
        self.migrations[step] = fields


def legacy_member(member_id: str, tenant_id: str, number: str) -> dict:
    """A member as stored before key ids: bare base64, the field name as associated data, the index from KEY_A."""
    def derived(info):
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(KEY_A)
    nonce = os.urandom(12)
    sealed = AESGCM(derived(f"encrypt:{tenant_id}")).encrypt(nonce, number.encode(), b"id_number")
    return {"_id": member_id, "tenant_id": tenant_id, "id_number_enc": base64.b64encode(nonce + sealed).decode(),
            "id_number_index": hmac.new(derived(f"index:{tenant_id}"), number.encode(), hashlib.sha256).hexdigest()}


NUMBERS = {f"mem_{n}": f"61070219900517{n:03d}X" for n in range(5)}


def legacy_store() -> MemoryStore:
    return MemoryStore([legacy_member(member_id, "ten_1" if n < 3 else "ten_2", number)
                        for n, (member_id, number) in enumerate(NUMBERS.items())])


def opened(store: MemoryStore, cipher: FieldCipher) -> dict[str, str]:
    return {m["_id"]: cipher.decrypt(m["tenant_id"], m["id_number_enc"], "id_number", m["_id"])
            for m in store.members.values()}


def test_members_stored_before_key_ids_are_rewritten_under_the_current_keys_once():
    store, keyring = legacy_store(), FieldCipher(KEY_A, [], INDEX_KEY)

    first = rekey_members(store, keyring, batch=2)

    assert (first.scanned, first.rewritten, first.current, first.undecryptable) == (5, 5, 0, 0)
    assert store.commits == 3                               # batches of 2
    assert opened(store, keyring) == NUMBERS
    assert all(m["id_number_enc"].startswith(f"v2.{key_id(KEY_A)}.") for m in store.members.values())
    assert all(m["id_number_index"] == keyring.blind_index(m["tenant_id"], NUMBERS[m["_id"]])
               for m in store.members.values())
    assert store.migrations[STEP]["kid"] == key_id(KEY_A) and store.migrations[STEP]["index_kid"] == key_id(INDEX_KEY)

    second = rekey_members(store, keyring)
    assert second.skipped and store.reads == 1              # same keys: not even read
    forced = rekey_members(store, keyring, force=True)
    assert (forced.scanned, forced.rewritten, forced.current) == (5, 0, 5)


def test_a_rotation_re_encrypts_everything_and_keeps_the_index():
    store = legacy_store()
    rekey_members(store, FieldCipher(KEY_A, [], INDEX_KEY))
    indexes = {m["_id"]: m["id_number_index"] for m in store.members.values()}
    rotated = FieldCipher(KEY_B, [KEY_A], INDEX_KEY)

    counts = rekey_members(store, rotated)

    assert (counts.scanned, counts.rewritten) == (5, 5)
    assert all(rotated.is_current(m["id_number_enc"]) for m in store.members.values())
    assert {m["_id"]: m["id_number_index"] for m in store.members.values()} == indexes
    assert opened(store, FieldCipher(KEY_B, [], INDEX_KEY)) == NUMBERS       # the old key is no longer needed
    assert store.migrations[STEP]["kid"] == key_id(KEY_B)


def test_one_tenant_only_and_then_the_pass_is_not_recorded_as_complete():
    store = legacy_store()

    counts = rekey_members(store, FieldCipher(KEY_A, [], INDEX_KEY), tenant_id="ten_2")

    assert (counts.scanned, counts.rewritten) == (2, 2) and STEP not in store.migrations
    assert [m["id_number_enc"].startswith("v2.") for m in store.members.values()] == [False] * 3 + [True] * 2


def test_a_member_no_key_opens_is_counted_left_and_keeps_the_pass_open():
    store = legacy_store()
    moved = store.members["mem_0"]["id_number_enc"] = FieldCipher(KEY_A, [], INDEX_KEY).encrypt(
        "ten_1", NUMBERS["mem_1"], "id_number", "mem_1")          # a value copied from another member

    counts = rekey_members(store, FieldCipher(KEY_B, [KEY_A], INDEX_KEY))

    assert (counts.scanned, counts.rewritten, counts.undecryptable) == (5, 4, 1)
    assert store.members["mem_0"]["id_number_enc"] == moved and STEP not in store.migrations


def test_a_write_is_skipped_when_the_member_changed_since_it_was_read():
    store = legacy_store()
    keyring = FieldCipher(KEY_A, [], INDEX_KEY)
    read = store.member_id_numbers

    def read_then_changed(tenant_id=None, batch=1000):
        rows = read(tenant_id, batch)
        store.members["mem_2"]["id_number_enc"] = "changed meanwhile"
        return rows
    store.member_id_numbers = read_then_changed

    counts = rekey_members(store, keyring)

    assert (counts.scanned, counts.rewritten) == (5, 4)
    assert store.members["mem_2"]["id_number_enc"] == "changed meanwhile"
