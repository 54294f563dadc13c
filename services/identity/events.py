"""Events the identity service publishes (exchange ``identity.events``): the one definition."""
from servicekit.messaging.events import EventSpec
from servicekit.storage.subtree import path_of

SOURCE = "identity"


def _spec(name: str, *fields: str) -> EventSpec:
    return EventSpec(SOURCE, name, fields)


TENANT_CREATED = _spec("tenant_created", "code", "name", "root_org_id")
ORGANISATION_CREATED = _spec("organisation_created", "org_id", "parent_id", "name", "kind", "category", "field",
                             "path_ids")
ORGANISATION_UPDATED = _spec("organisation_updated", "org_id", "name", "category", "field")
ORGANISATION_MOVED = _spec("organisation_moved", "org_id", "old_parent_id", "new_parent_id", "path_ids")
ORGANISATION_DISSOLVED = _spec("organisation_dissolved", "org_id", "parent_id")
ORGANISATIONS_IMPORTED = _spec("organisations_imported", "import_id", "parent_id", "orgs")
MEMBER_JOINED = _spec("member_joined", "member_id", "branch_id", "path_ids", "status", "mobile")
MEMBERS_IMPORTED = _spec("members_imported", "import_id", "members")
MEMBER_UPDATED = _spec("member_updated", "member_id", "changes")
MEMBER_STATUS_CHANGED = _spec("member_status_changed", "member_id", "branch_id", "old_status", "new_status", "on")
MEMBER_REMOVED = _spec("member_removed", "member_id", "branch_id")
TRANSFER_REQUESTED = _spec("transfer_requested", "transfer_id", "member_id", "from_branch_id", "to_branch_id")
TRANSFER_REJECTED = _spec("transfer_rejected", "transfer_id", "member_id", "reason")
MEMBER_TRANSFERRED = _spec("member_transferred", "transfer_id", "member_id", "from_branch_id", "to_branch_id",
                           "path_ids")
ACCOUNT_CREATED = _spec("account_created", "account_id", "username", "roles", "member_id")
ACCOUNT_PASSWORD_RESET = _spec("account_password_reset", "account_id", "username", "reset_by")
ACCOUNT_PASSWORD_CHANGED = _spec("account_password_changed", "account_id", "changed_by")
ACCOUNT_DISABLED = _spec("account_disabled", "account_id", "disabled_by", "reason")
ACCOUNT_ENABLED = _spec("account_enabled", "account_id", "enabled_by")
ACCOUNT_REMOVED = _spec("account_removed", "account_id", "username", "removed_by")
ACCOUNT_TOTP_DISABLED = _spec("account_totp_disabled", "account_id", "disabled_by", "reason")
TENANT_SETTING_CHANGED = _spec("tenant_setting_changed", "setting", "value", "changed_by")
# party dues (党费, usecases/dues.py): amounts in fen, months "YYYY-MM"
DUES_PAID = _spec("dues_paid", "payment_id", "receipt_no", "member_id", "branch_id", "months", "amount_fen",
                  "source")
ARREARS_FLAGGED = _spec("arrears_flagged", "member_id", "branch_id", "months_owed", "since_month", "owed_fen")
DEVELOPMENT_ENTRY_RECORDED = _spec("development_entry_recorded", "entry_id", "member_id", "branch_id", "kind",
                                   "on", "corrects", "recorded_by")

# the events of a commit that writes organisation nodes (the store moves the tree's revision with them)
TREE_EVENTS = frozenset(spec.name for spec in (TENANT_CREATED, ORGANISATION_CREATED, ORGANISATION_UPDATED,
                                               ORGANISATION_MOVED, ORGANISATION_DISSOLVED, ORGANISATIONS_IMPORTED))


def organisation_created(org: dict, occurred_at: str) -> dict:
    """The event of a new organisation, from its stored document (one created alone or a tenant's root)."""
    return ORGANISATION_CREATED.build(
        org["tenant_id"], occurred_at, org_id=org["_id"], parent_id=org["parent_id"], name=org["name"],
        kind=org["kind"], category=org.get("category", ""), field=org.get("field", ""), path_ids=path_of(org))


ALL = [value for value in dict(globals()).values() if isinstance(value, EventSpec)]
