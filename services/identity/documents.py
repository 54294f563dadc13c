"""The documents the use cases store, made from checked fields (views.py turns them back into answers)."""
from __future__ import annotations

import uuid

from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.scope import ROLE_CITIZEN

from services.identity import passwords
from services.identity.domain import idcard, search as member_search
from services.identity.store import account_place, ancestor_fields, path_of


ID_NUMBER = "id_number"       # the protected field's name, part of its ciphertext's associated data


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def root_org(tenant_id: str, name: str, now: str) -> dict:
    org_id = new_id("org")
    return {"_id": org_id, "tenant_id": tenant_id, "name": name, "kind": "city", "category": "", "field": "",
            "parent_id": None, "level": 0, **ancestor_fields([org_id]), "created_at": now, "updated_at": now}


def child_org(tenant_id: str, parent: dict, fields: dict, now: str) -> dict:
    org_id = new_id("org")
    return {"_id": org_id, "tenant_id": tenant_id, "name": fields["name"], "kind": fields["kind"],
            "category": fields.get("category", ""), "field": fields.get("field", ""),
            "parent_id": parent["_id"], "level": parent["level"] + 1,
            **ancestor_fields(path_of(parent) + [org_id]), "created_at": now, "updated_at": now}


def account(tenant_id: str, username: str, password: str, roles: list[dict], now: str, member_id: str | None = None,
            grant_path=()) -> dict:
    """``grant_path``: the path of the organisation of the account's one grant (``roles[0]``), where
    list_accounts finds it."""
    return {"_id": new_id("acc"), "tenant_id": tenant_id, "username": username,
            "login_key": f"{tenant_id or ''}:{username}", "password_hash": passwords.hash_password(password),
            "roles": roles, "member_id": member_id, "created_at": now, **account_place(roles[0]["role"], grant_path)}


def citizen_account(tenant_id: str, phone: str, name: str, password_hash: str, now: str) -> dict:
    """A citizen's account: its phone is its login name; the citizen role alone, over no organisation, so it is
    placed nowhere in the tree and no subtree's account list shows it."""
    roles = [{"role": ROLE_CITIZEN, "org_id": None}]
    return {"_id": new_id("acc"), "tenant_id": tenant_id, "username": phone, "login_key": f"{tenant_id}:{phone}",
            "password_hash": password_hash, "roles": roles, "member_id": None, "name": name, "created_at": now,
            **account_place(ROLE_CITIZEN, ())}


def member(cipher: FieldCipher, tenant_id: str, branch: dict, normalized: dict, now: str,
           import_id: str | None = None) -> dict:
    """A member from fields ``domain.members`` has checked and normalised; the ID number stored encrypted (bound
    to the tenant and the member), with a blind index (uniqueness) and a masked copy (display)."""
    number = normalized["id_number"]
    member_id = new_id("mem")
    document = {"_id": member_id, "tenant_id": tenant_id, "branch_id": branch["_id"],
                **ancestor_fields(path_of(branch)), "name": normalized["name"], "gender": normalized["gender"],
                "birth_date": normalized["birth_date"].isoformat(),
                "id_number_enc": cipher.encrypt(tenant_id, number, ID_NUMBER, member_id),
                "id_number_index": cipher.blind_index(tenant_id, number),
                "id_number_masked": idcard.mask_id_number(number), "phone": normalized.get("phone", ""),
                "education": normalized.get("education", ""), "status": normalized["status"],
                "status_dates": {status: value.isoformat()
                                 for status, value in normalized.get("status_dates", {}).items() if value},
                "enrolment": normalized.get("enrolment", "none"), "mobile": bool(normalized.get("mobile")),
                "search": member_search.member_keys(normalized["name"], normalized.get("phone", "")),
                "created_at": now, "updated_at": now}
    if import_id:
        document["import_id"] = import_id
    return document


def member_id_number(cipher: FieldCipher, member: dict) -> str:
    """The stored member's full ID number (for the few reads that may show it)."""
    return cipher.decrypt(member["tenant_id"], member["id_number_enc"], ID_NUMBER, member["_id"])
