"""Start-up duties of the identity service: the installation operator, interrupted imports and the ID numbers
stored under other field keys than the current ones (services.identity.rekey)."""
from __future__ import annotations

import logging
import uuid

from nameko.extensions import DependencyProvider

from servicekit.process.config import database_name, env
from servicekit.timestamps import stamp
from servicekit.storage.mongo import open_store
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.scope import ROLE_OPERATOR

from services.identity import passwords, rekey
from services.identity.store import IdentityStore

log = logging.getLogger(__name__)
OPERATOR_USERNAME = "operator"


def ensure_operator(store: IdentityStore, password: str | None) -> bool:
    """Create the installation operator account once, from OPERATOR_PASSWORD; True if created."""
    if not password or store.account_by_login(f":{OPERATOR_USERNAME}"):
        return False
    return store.create_operator({
        "_id": f"acc_{uuid.uuid4().hex}", "tenant_id": None, "username": OPERATOR_USERNAME,
        "login_key": f":{OPERATOR_USERNAME}", "password_hash": passwords.hash_password(password),
        "roles": [{"role": ROLE_OPERATOR, "org_id": None}], "member_id": None, "created_at": stamp()})


class Bootstrap(DependencyProvider):
    def setup(self):
        store = open_store(IdentityStore, self.container.service_name)
        if ensure_operator(store, env("OPERATOR_PASSWORD")):
            log.info("created the installation operator account %r", OPERATOR_USERNAME)
        rolled_back = store.roll_back_unfinished_imports()
        if rolled_back:
            log.warning("rolled back %d import(s) interrupted before they finished", rolled_back)
        rekeyed = rekey.rekey_members(store, FieldCipher())
        if not rekeyed.skipped:
            log.log(logging.ERROR if rekeyed.undecryptable else logging.INFO,
                    "ID numbers under the current field keys: %s", rekeyed)
        log.info("identity store ready in database %s", database_name(self.container.service_name))
