"""Role models (每周一先、每月一星), development publicity (发展党员公示) and the secretary mailbox (书记信箱).

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.

- ``role_models``: one per (branch, kind, period), ``_id`` ``rm_<branch>_<kind>_<period>`` (a second naming is
  refused by the id); the branch path's ancestor fields for subtree lists.
- ``publicities``: ``_id`` ``pub_<event id>`` of identity's member_status_changed that opened it, so a replayed
  event finds it; ancestor fields of the member's branch path.
- ``objections``: by ``publicity_id``; the objector's account is always kept.
- ``letters``: by author and by the ancestor fields of the author's branch path.
A role model and a publicity commit in one transaction with their generated items (published through
publishing's ``write_published_item``, under ids derived from the record) and their events: a record is never
stored without its published items, nor an item without its record.
"""
from __future__ import annotations

from pymongo import ReturnDocument

from servicekit.errors import Conflict
from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter


class CommunityRecords:
    collections: dict[str, list] = {
        "role_models": [*LEVEL_FIELDS],
        "publicities": ["state", "member_id", *LEVEL_FIELDS],
        "objections": ["publicity_id"],
        "letters": ["author_member_id", *LEVEL_FIELDS],
    }

    # --- role models ----------------------------------------------------------------------
    def role_model(self, role_model_id: str) -> dict | None:
        return self.db.role_models.find_one({"_id": role_model_id})

    def role_models_under(self, path_ids: list[str], kind: str = "") -> list[dict]:
        """The role models named in a subtree, newest period first."""
        found = [doc for doc in self.db.role_models.find(subtree_filter(path_ids)) if not kind or doc["kind"] == kind]
        return sorted(found, key=lambda doc: (doc["period"], doc["named_at"], doc["_id"]), reverse=True)

    def name_role_model(self, record: dict, items: list[dict], events: list) -> dict:
        """The named role model, its generated items published and its events, in one transaction; Conflict when
        the branch's one of that period is named already."""
        self.commit(self._with_items(self.db.role_models, record, items), events,
                    duplicate=("ROLE_MODEL_EXISTS", "该支部本期已确定人选"))
        self.published_items_committed(items)
        return record

    # --- publicities and objections ---------------------------------------------------------
    def publicity(self, publicity_id: str) -> dict | None:
        return self.db.publicities.find_one({"_id": publicity_id}) if publicity_id else None

    def publicities_under(self, path_ids: list[str], state: str = "") -> list[dict]:
        found = [doc for doc in self.db.publicities.find(subtree_filter(path_ids))
                 if not state or doc["state"] == state]
        return sorted(found, key=lambda doc: (doc["opens_on"], doc["_id"]), reverse=True)

    def publicities_of_member(self, tenant_id: str, member_id: str) -> list[dict]:
        """A member's publicities (identity's development record shows them), oldest first."""
        found = [doc for doc in self.db.publicities.find({"member_id": member_id}) if doc["tenant_id"] == tenant_id]
        return sorted(found, key=lambda doc: (doc["opens_on"], doc["_id"]))

    def open_publicities(self) -> list[dict]:
        return list(self.db.publicities.find({"state": "open"}))

    def open_publicity(self, publicity: dict, items: list[dict], events: list) -> bool:
        """A new publicity, its generated notice published and its events, in one transaction; False (nothing
        written) when it exists already (a replayed event)."""
        try:
            self.commit(self._with_items(self.db.publicities, publicity, items), events)
        except Exception as error:      # the event was applied before: its publicity stands
            if is_duplicate(error):
                return False
            raise
        self.published_items_committed(items)
        return True

    def close_publicity(self, publicity: dict, changes: dict, edits: list[dict]) -> bool:
        """Close an open publicity with its notices' new versions (``ending_edits``), in one transaction; False
        (nothing written) when it is no longer open."""
        def writes(session):
            done = self.db.publicities.update_one({"_id": publicity["_id"], "state": "open"}, {"$set": changes},
                                                  session=session)
            if done.modified_count != 1:
                raise Conflict("该公示已结束", code="PUBLICITY_NOT_OPEN")      # aborts: no notice edits, no events
            self._write_ending_edits(edits, session)
        try:
            self.commit(writes, [edit["event"] for edit in edits])
        except Conflict as conflict:
            if conflict.code == "PUBLICITY_NOT_OPEN":
                return False
            raise
        self._forget_edited_feeds(edits)
        return True

    def _write_ending_edits(self, edits: list[dict], session) -> None:
        """A publicity's notices rewritten as it ends: each item's new version, its log row, its search postings
        and its node's feed mark. Conflict when a notice changed since it was read (the next sweep tries again)."""
        for edit in edits:
            item = edit["item"]
            changed = self.db.items.find_one_and_update(
                {"_id": item["_id"], "version": item["version"]}, {"$set": edit["fields"]},
                return_document=ReturnDocument.AFTER, session=session)
            if changed is None:
                raise Conflict("公示公告已变化，请重试", code="ITEM_CHANGED")
            self.db.item_versions.replace_one({"_id": edit["version"]["_id"]}, edit["version"], upsert=True,
                                              session=session)
            self.db.item_log.insert_one(edit["log"], session=session)
            self.replace_postings(changed, session=session)
            self._changed_feed(changed["org_id"], session)

    def _forget_edited_feeds(self, edits: list[dict]) -> None:
        self._feed_refresh(sorted({edit["item"]["org_id"] for edit in edits}))

    def objections_of(self, publicity_id: str) -> list[dict]:
        return sorted(self.db.objections.find({"publicity_id": publicity_id}),
                      key=lambda doc: (doc["submitted_at"], doc["_id"]))

    def objection(self, objection_id: str) -> dict | None:
        return self.db.objections.find_one({"_id": objection_id}) if objection_id else None

    def add_objection(self, objection: dict) -> dict:
        """An objection, counted on its publicity (pending objections hold its closing)."""
        def writes(session):
            self.db.objections.insert_one(objection, session=session)
            self.db.publicities.update_one({"_id": objection["publicity_id"]},
                                           {"$inc": {"objections": 1, "pending_objections": 1}}, session=session)
        self.commit(writes)
        return objection

    def handle_objection(self, objection: dict, changes: dict, publicity_changes: dict | None,
                         edits: list[dict] = ()) -> dict:
        """The handling of a pending objection; a sustained one suspends its publicity in the same transaction,
        with its notices' new versions (``edits``). Conflict when it was handled meanwhile, or the publicity left
        the open state meanwhile."""
        def writes(session):
            handled = self.db.objections.find_one_and_update(
                {"_id": objection["_id"], "state": "pending"}, {"$set": changes},
                return_document=ReturnDocument.AFTER, session=session)
            if handled is None:
                raise Conflict("该异议已处理", code="OBJECTION_HANDLED")
            update = {"$inc": {"pending_objections": -1}}
            if publicity_changes:
                update["$set"] = publicity_changes
            query = {"_id": objection["publicity_id"], **({"state": "open"} if publicity_changes else {})}
            if self.db.publicities.update_one(query, update, session=session).matched_count != 1:
                raise Conflict("该公示已结束", code="PUBLICITY_NOT_OPEN")
            self._write_ending_edits(edits, session)
            return handled
        handled = self.commit(writes, [edit["event"] for edit in edits])
        self._forget_edited_feeds(edits)
        return handled

    def _with_items(self, collection, record: dict, items: list[dict]):
        """The writes of a record and of its generated items (publishing's ``write_published_item``)."""
        def writes(session):
            collection.insert_one(record, session=session)
            for item in items:
                self.write_published_item(item, session)
            return record
        return writes

    # --- letters ----------------------------------------------------------------------------
    def letter(self, letter_id: str) -> dict | None:
        return self.db.letters.find_one({"_id": letter_id}) if letter_id else None

    def letters_of_author(self, member_id: str) -> list[dict]:
        return sorted(self.db.letters.find({"author_member_id": member_id}),
                      key=lambda doc: (doc["asked_at"], doc["_id"]), reverse=True)

    def letters_under(self, path_ids: list[str]) -> list[dict]:
        return list(self.db.letters.find(subtree_filter(path_ids)))

    def write_letter(self, letter: dict, events: list) -> dict:
        self.commit(lambda session: self.db.letters.insert_one(letter, session=session), events,
                    duplicate=("LETTER_EXISTS", "该信件已提交"))
        return letter

    def close_letter(self, letter: dict, changes: dict, events: list) -> dict:
        """Answer or withdraw an open letter, with its events; Conflict when it was closed meanwhile."""
        def writes(session):
            closed = self.db.letters.find_one_and_update({"_id": letter["_id"], "state": "open"}, {"$set": changes},
                                                         return_document=ReturnDocument.AFTER, session=session)
            if closed is None:
                raise Conflict("该信件已答复或已撤回", code="LETTER_CLOSED")
            return closed
        return self.commit(writes, events)
