"""ID numbers at rest, through the real identity service and store: no plain number in the stored bytes, a
ciphertext bound to its tenant and member, members stored before key ids re-encrypted, a key rotation."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import uuid
from datetime import date
from pathlib import Path

import bson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekit.errors import Conflict, InvalidArgument
from servicekit.security.fieldcrypt import FieldCipher, UndecryptableField, key_id
from services.identity.documents import member_id_number
from services.identity.rekey import STEP, rekey_members
from services.identity.store import IdentityStore
from tests.support.identity import member_fields, new_unique_id_number

pytestmark = pytest.mark.integration

IMPORT_HEADER = ("branch_ref,name,gender,birth_date,id_number,phone,education,status,applied_on,activist_on,"
                 "development_target_on,probationary_on,full_on,enrolment,mobile\n")


def session_keys() -> tuple[bytes, bytes]:
    """The current encryption key and the index key the identity process holds (tests/conftest.py)."""
    return (Path(os.environ["FIELD_ENCRYPTION_KEY_PATH"]).read_bytes(),
            Path(os.environ["FIELD_INDEX_KEY_PATH"]).read_bytes())


def add_members(rpc, city, count: int) -> dict[str, str]:
    """``count`` members through create_member and ``count`` through an import; {name: ID number}."""
    numbers = {}
    for index in range(count):
        fields = member_fields(city.branches[0][0]["id"], f"加密{index}")
        rpc.identity.create_member(scope=city.admin, **fields)
        numbers[fields["name"]] = fields["id_number"]
    rows = []
    for index in range(count):
        number = new_unique_id_number(date(1988, 3, 1 + index))
        born = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        rows.append(f"第1县/第1镇党委/第1镇第2支部,导入{index},男,{born},{number},1390013900{index},本科,full,"
                    f"2010-01-01,2010-06-01,2011-07-01,2012-07-01,2013-07-01,none,false\n")
        numbers[f"导入{index}"] = number
    answer = rpc.identity.import_members(scope=city.admin, org_id=city.root["id"], format="csv",
                                         content=base64.b64encode((IMPORT_HEADER + "".join(rows)).encode()).decode())
    assert answer["imported"] == count
    return numbers


def stored(store: IdentityStore, tenant_id: str) -> dict[str, dict]:
    return {doc["name"]: doc for doc in store.db.members.find({"tenant_id": tenant_id})}


def assert_no_plain_number(documents: dict[str, dict], numbers: dict[str, str]) -> None:
    """Neither a whole number, nor it without its check digit, nor the 8 digits its masked copy hides (the birth
    date, contiguous) is anywhere in any document's stored bytes."""
    for document in documents.values():
        raw = bson.encode(document)
        for number in numbers.values():
            for part in (number, number[:17], number[6:14]):
                assert part.encode() not in raw, (document["name"], part)


def try_create(rpc, city, number: str, name: str = "重复"):
    born = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    return rpc.identity.create_member(scope=city.admin, **{**member_fields(city.branches[1][0]["id"], name),
                                                           "id_number": number, "birth_date": born})


def test_identity_stores_no_plain_id_number_only_its_bound_ciphertext_and_index(rpc, city, identity_store):
    numbers = add_members(rpc, city, 2)
    cipher = FieldCipher()

    documents = stored(identity_store, city.tenant_id)

    assert set(documents) == set(numbers)
    assert_no_plain_number(documents, numbers)
    for name, document in documents.items():
        assert document["id_number_enc"].startswith(f"v2.{cipher.current_kid}.")
        assert member_id_number(cipher, document) == numbers[name]
        assert document["id_number_index"] == cipher.blind_index(city.tenant_id, numbers[name])
        assert document["id_number_masked"] == numbers[name][:6] + "*" * 8 + numbers[name][-4:]
    marker = identity_store.migration(STEP)         # identity's start-up pass ran under the same keys
    assert (marker["kid"], marker["index_kid"]) == (cipher.current_kid, cipher.index_kid)


def test_a_ciphertext_moved_to_another_member_or_tenant_does_not_open(rpc, city, other_city, identity_store):
    numbers = add_members(rpc, city, 1)
    add_members(rpc, other_city, 1)
    cipher = FieldCipher()
    ours, theirs = stored(identity_store, city.tenant_id), stored(identity_store, other_city.tenant_id)
    source, neighbour, foreign = ours["加密0"], ours["导入0"], theirs["加密0"]
    originals = {doc["_id"]: doc["id_number_enc"] for doc in (neighbour, foreign)}
    try:
        for target in (neighbour, foreign):
            identity_store.db.members.update_one({"_id": target["_id"]},
                                                 {"$set": {"id_number_enc": source["id_number_enc"]}})
            moved = identity_store.member(target["_id"])
            with pytest.raises(UndecryptableField):
                member_id_number(cipher, moved)
            with pytest.raises(UndecryptableField):          # not even as a member of the source's tenant
                cipher.decrypt(source["tenant_id"], moved["id_number_enc"], "id_number", moved["_id"])
        counts = rekey_members(identity_store, cipher, tenant_id=city.tenant_id)
        assert (counts.undecryptable, counts.rewritten) == (1, 0)
        assert identity_store.member(neighbour["_id"])["id_number_enc"] == source["id_number_enc"]   # left alone
    finally:
        for member_id, original in originals.items():
            identity_store.db.members.update_one({"_id": member_id}, {"$set": {"id_number_enc": original}})
    assert member_id_number(cipher, identity_store.member(source["_id"])) == numbers["加密0"]


def legacy_fields(master: bytes, tenant_id: str, number: str) -> dict:
    """The encrypted number and its index as identity stored them before key ids (both from one master key)."""
    def derived(info: str) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(master)
    nonce = os.urandom(12)
    sealed = AESGCM(derived(f"encrypt:{tenant_id}")).encrypt(nonce, number.encode(), b"id_number")
    return {"id_number_enc": base64.b64encode(nonce + sealed).decode(),
            "id_number_index": hmac.new(derived(f"index:{tenant_id}"), number.encode(), hashlib.sha256).hexdigest()}


def test_members_stored_before_key_ids_are_re_encrypted_and_found_again(rpc, city, identity_store):
    numbers = add_members(rpc, city, 1)
    current_key, _ = session_keys()
    cipher = FieldCipher()
    old = stored(identity_store, city.tenant_id)["加密0"]
    identity_store.db.members.update_one({"_id": old["_id"]}, {"$set": legacy_fields(
        current_key, city.tenant_id, numbers["加密0"])})
    assert member_id_number(cipher, identity_store.member(old["_id"])) == numbers["加密0"]     # legacy opens
    assert identity_store.existing_id_indexes([cipher.blind_index(city.tenant_id, numbers["加密0"])]) == set()

    counts = rekey_members(identity_store, cipher, tenant_id=city.tenant_id)

    assert (counts.scanned, counts.rewritten, counts.current, counts.undecryptable) == (2, 1, 1, 0)
    again = identity_store.member(old["_id"])
    assert again["id_number_enc"].startswith(f"v2.{cipher.current_kid}.")
    assert member_id_number(cipher, again) == numbers["加密0"]
    with pytest.raises(Conflict) as refused:            # identity finds it again under the index key
        try_create(rpc, city, numbers["加密0"])
    assert refused.value.code == "MEMBER_EXISTS"
    assert rekey_members(identity_store, cipher, tenant_id=city.tenant_id).rewritten == 0


def test_after_a_rotation_every_number_is_under_the_new_key_and_still_found(rpc, city, identity_store):
    numbers = add_members(rpc, city, 2)
    current_key, index_key = session_keys()
    new_key = secrets.token_bytes(32)
    rotated = FieldCipher(new_key, [current_key], index_key)

    counts = rekey_members(identity_store, rotated, tenant_id=city.tenant_id)

    assert (counts.scanned, counts.rewritten, counts.undecryptable) == (4, 4, 0)
    documents = stored(identity_store, city.tenant_id)
    assert_no_plain_number(documents, numbers)
    new_only = FieldCipher(new_key, [], index_key)          # the retired key is no longer needed
    for name, document in documents.items():
        assert document["id_number_enc"].startswith(f"v2.{key_id(new_key)}.")
        assert member_id_number(new_only, document) == numbers[name]
    again = rekey_members(identity_store, rotated, tenant_id=city.tenant_id)
    assert (again.rewritten, again.current) == (0, 4)
    # the index key did not change: identity (still holding the old keyring) finds every number
    with pytest.raises(Conflict) as refused:
        try_create(rpc, city, numbers["加密1"])
    assert refused.value.code == "MEMBER_EXISTS"
    number = numbers["导入1"]
    row = (f"第1县/第1镇党委/第1镇第1支部,再导入,男,{number[6:10]}-{number[10:12]}-{number[12:14]},{number},"
           f"13700137000,本科,full,2010-01-01,2010-06-01,2011-07-01,2012-07-01,2013-07-01,none,false\n")
    with pytest.raises(InvalidArgument) as rejected:
        rpc.identity.import_members(scope=city.admin, org_id=city.root["id"], format="csv",
                                    content=base64.b64encode((IMPORT_HEADER + row).encode()).decode())
    assert rejected.value.details[0]["reason"] == "MEMBER_EXISTS"
    listed = rpc.identity.list_members(scope=city.admin, org_id=city.root["id"])["members"]
    assert sorted(m["name"] for m in listed) == sorted(numbers)


def test_a_whole_store_pass_is_recorded_and_not_repeated_under_the_same_keys(scratch_store):
    current_key, index_key = session_keys()
    keyring = FieldCipher(current_key, [], index_key)
    numbers = {f"mem_{uuid.uuid4().hex}": new_unique_id_number(date(1970, 1, 1 + n)) for n in range(5)}
    scratch_store.db.members.insert_many([{"_id": member_id, "tenant_id": "ten_x", "name": member_id,
                                           **legacy_fields(current_key, "ten_x", number)}
                                          for member_id, number in numbers.items()])

    counts = rekey_members(scratch_store, keyring, batch=2)

    assert (counts.scanned, counts.rewritten, counts.undecryptable, counts.skipped) == (5, 5, 0, False)
    marker = scratch_store.migration(STEP)
    assert (marker["kid"], marker["index_kid"], marker["rewritten"]) == (keyring.current_kid, keyring.index_kid, 5)
    assert {doc["_id"]: member_id_number(keyring, doc) for doc in scratch_store.db.members.find()} == numbers
    assert rekey_members(scratch_store, keyring).skipped
    rotated = FieldCipher(secrets.token_bytes(32), [current_key], index_key)
    assert rekey_members(scratch_store, rotated).rewritten == 5             # new keys: a new pass
    assert scratch_store.migration(STEP)["kid"] == rotated.current_kid
