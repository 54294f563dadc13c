"""What an activity keeps besides its scans, each a link of its hash chain: the members' reflections and likes,
the secretary's photos and written record (back-filled after closing, with who and why), and the photos'
bytes for whoever may read the activity."""
from __future__ import annotations

import base64
import binascii

from eventlet import semaphore, tpool

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, InvalidArgument, NotFound
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.timestamps import stamp

from services.attendance import access, events
from services.attendance.arguments import MAX_REASON_CHARS
from services.attendance.domain import lifecycle, meetings, uploads
from services.attendance.scanning import record_id
from services.attendance.store import new_id
from services.attendance.views import reflection_view, upload_view

MAX_REFLECTION_CHARS = 2000
PHOTO_SIZES = ("full", "thumb")
PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# Photos decoding at once (each on a native thread): CPU-bound, and a 40-megapixel one holds up to ~160 MB
PHOTO_DECODES = semaphore.Semaphore(2)


class Records:
    def __init__(self, store, clock, chain):
        self.store, self.clock, self.chain = store, clock, chain

    # --- reflections and likes ------------------------------------------------------
    def post_reflection(self, caller: CallerScope, activity_id, text) -> dict:
        activity = access.as_member(caller, self.store.activity(activity_id))
        text = uploads.check_text(text if isinstance(text, str) else "", "text", MAX_REFLECTION_CHARS)
        roster = activity.get("roster") or {}
        mobile = roster.get(caller.member_id, {}).get("mobile")
        if caller.member_id not in roster:
            raise Conflict("您不在本次活动的参加人员名单中", code="NOT_ON_ROSTER")
        if not mobile and not self.store.records_by_ids([record_id(activity_id, "out", caller.member_id)]):
            raise Conflict("签退后才能发表心得体会", code="CHECKOUT_REQUIRED")
        now = stamp(self.clock.now())
        content = {"kind": "reflection", "activity_id": activity_id, "member_id": caller.member_id, "text": text,
                   "at": now, "backfilled": None}
        document = {"_id": f"{activity_id}:reflection:{caller.member_id}", "activity_id": activity_id,
                    "tenant_id": activity["tenant_id"], "kind": "reflection", "member_id": caller.member_id,
                    "size": len(text), "at": now}

        def write(documents):
            posted = events.REFLECTION_POSTED.build(
                activity["tenant_id"], activity_id=activity_id, branch_id=activity["branch_id"],
                member_id=caller.member_id, reflection_id=documents[0]["_id"], length=len(text), backfilled=False)
            self.store.post_reflection(documents[0], meetings.themed_day_events(activity, [posted]))
        stored = self.chain.append([(document, content)], write)[0]
        return reflection_view(stored, {caller.member_id: roster[caller.member_id].get("name", "")})

    def list_reflections(self, caller: CallerScope, activity_id, page_size, page_token) -> dict:
        activity = access.readable(caller, self.store.activity(activity_id))
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.records_of(activity_id, ("reflection",))[skip:skip + limit + 1], skip, limit)
        names = {m: entry.get("name", "") for m, entry in (activity.get("roster") or {}).items()}
        return {"reflections": [reflection_view(r, names) for r in found], "next_page_token": token}

    def like_activity(self, caller: CallerScope, activity_id) -> dict:
        activity = access.as_member(caller, self.store.activity(activity_id))
        roster = activity.get("roster") or {}
        if caller.member_id not in roster:
            raise Conflict("活动开始后，名单内的党员才能点赞", code="NOT_ON_ROSTER")
        mobile = bool(roster[caller.member_id].get("mobile"))
        liked = set(activity.get("liked") or {})
        repeat = caller.member_id in liked
        if not repeat:
            now = stamp(self.clock.now())
            content = {"kind": "like", "activity_id": activity_id, "member_id": caller.member_id, "mobile": mobile,
                       "at": now}
            document = {"_id": f"{activity_id}:like:{caller.member_id}", "activity_id": activity_id,
                        "tenant_id": activity["tenant_id"], "kind": "like", "member_id": caller.member_id, "at": now}
            event = events.ACTIVITY_LIKED.build(activity["tenant_id"], activity_id=activity_id,
                                                branch_id=activity["branch_id"], member_id=caller.member_id,
                                                mobile=mobile)
            try:
                self.chain.append([(document, content)],
                                  lambda documents: self.store.like_activity(
                                      documents[0], meetings.themed_day_events(activity, [event]), mobile))
            except Conflict:        # liked at the same moment from another request
                repeat = True
        return {"activity_id": activity_id, "likes": len(liked | {caller.member_id}), "repeat": repeat}

    # --- uploads --------------------------------------------------------------------
    def add_photo(self, caller: CallerScope, activity_id, content_type, content, backfill_reason) -> dict:
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        backfilled = self._upload_window(caller, activity, backfill_reason)
        try:
            data = base64.b64decode(content or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument("照片内容无效", code="UPLOAD_INVALID", field="content") from None
        # decoding is CPU work of up to a few hundred ms: on a native thread, the scans' greenlets keep running;
        # the thumbnail is made here too, so that listing an activity's photos only reads
        with PHOTO_DECODES:
            content_hash = tpool.execute(uploads.check_photo, data, content_type)
            thumb = tpool.execute(uploads.thumbnail, data, content_type)
        upload_id = new_id("upl")
        now = stamp(self.clock.now())
        record = {"kind": "photo", "activity_id": activity_id, "upload_id": upload_id, "added_by": caller.account_id,
                  "content_type": content_type, "size": len(data), "content_hash": content_hash, "at": now,
                  "backfilled": backfilled}
        photo = {"_id": upload_id, "activity_id": activity_id, "content": data, "content_type": content_type,
                 "content_hash": content_hash, "thumb": thumb, "thumb_hash": uploads.content_hash(thumb)}
        return self._add_upload(activity, record, photo)

    def add_text_record(self, caller: CallerScope, activity_id, text, backfill_reason) -> dict:
        activity = access.as_secretary(caller, self.store.activity(activity_id))
        backfilled = self._upload_window(caller, activity, backfill_reason)
        text = uploads.check_text(text if isinstance(text, str) else "")
        now = stamp(self.clock.now())
        record = {"kind": "text", "activity_id": activity_id, "upload_id": new_id("upl"),
                  "added_by": caller.account_id, "content_type": "text/plain", "size": len(text),
                  "content_hash": uploads.content_hash_text(text), "text": text, "at": now, "backfilled": backfilled}
        return self._add_upload(activity, record)

    def _add_upload(self, activity: dict, content: dict, photo: dict | None = None) -> dict:
        document = {"_id": f"{activity['_id']}:upload:{content['upload_id']}", "activity_id": activity["_id"],
                    "tenant_id": activity["tenant_id"], "kind": content["kind"], "member_id": None,
                    "size": content["size"], "at": content["at"]}
        event = events.UPLOAD_ADDED.build(
            activity["tenant_id"], activity_id=activity["_id"], branch_id=activity["branch_id"],
            upload_id=content["upload_id"], kind=content["kind"], size=content["size"],
            content_hash=content["content_hash"], backfilled=bool(content["backfilled"]))
        published = meetings.themed_day_events(activity, [event])
        stored = self.chain.append([(document, content)],
                                   lambda documents: self.store.add_upload(documents[0], published, photo))[0]
        return upload_view(stored)

    def _upload_window(self, caller: CallerScope, activity: dict, backfill_reason: str) -> dict | None:
        """Uploads open once the plan is approved; after closing they are back-filled, with who and why."""
        if lifecycle.apply(lifecycle.ADD_UPLOAD, activity) is not lifecycle.CLOSED:
            return None
        reason = text(backfill_reason, "backfill_reason", max_length=MAX_REASON_CHARS)
        return {"by": caller.account_id, "reason": reason, "at": stamp(self.clock.now())}

    def list_uploads(self, caller: CallerScope, activity_id) -> dict:
        access.readable(caller, self.store.activity(activity_id))
        return {"uploads": [upload_view(r) for r in self.store.records_of(activity_id, ("photo", "text"))]}

    def get_upload_photo(self, caller: CallerScope, activity_id, upload_id, size) -> dict:
        """A photo's bytes, as uploaded or as its thumbnail, for whoever may list the activity's uploads."""
        access.readable(caller, self.store.activity(activity_id))
        size = choice(size or "full", "size", PHOTO_SIZES, required=True)
        upload_id = upload_id if isinstance(upload_id, str) else ""
        record = self.store.records_by_ids([f"{activity_id}:upload:{upload_id}"], {"kind": 1}) if upload_id else {}
        kind = next(iter(record.values()), {}).get("kind")
        if kind == events.UPLOAD_TEXT:
            raise InvalidArgument("该资料是文字记录，不是照片", code="UPLOAD_NOT_A_PHOTO", field="upload_id")
        stored = self.store.photo(upload_id, size) if kind == events.UPLOAD_PHOTO else None
        if stored is None or stored.get("activity_id") != activity_id:
            raise NotFound("照片不存在", code="UPLOAD_NOT_FOUND", field="upload_id")
        if size == "full":       # the type as declared at upload, which may have carried parameters or capitals
            content, content_type = stored["content"], uploads.declared_type(stored["content_type"])
            content_hash = stored["content_hash"]
        else:
            content, content_type, content_hash = self._thumbnail(upload_id, stored)
        extension = PHOTO_EXTENSIONS[content_type]
        suffix = "-thumb" if size == "thumb" else ""
        return {"upload_id": upload_id, "size": size, "filename": f"{upload_id}{suffix}.{extension}",
                "content_type": content_type, "content": base64.b64encode(content).decode(),
                "content_hash": content_hash}

    def _thumbnail(self, upload_id: str, stored: dict) -> tuple[bytes, str, str]:
        """The stored thumbnail; for a photo stored without one, one made now (on a native thread, as at
        upload) and kept for the next request."""
        if stored.get("thumb") is not None:
            return stored["thumb"], uploads.THUMB_TYPE, stored["thumb_hash"]
        photo = self.store.photo(upload_id, "full")
        with PHOTO_DECODES:
            thumb = tpool.execute(uploads.thumbnail, photo["content"], photo["content_type"])
        thumb_hash = uploads.content_hash(thumb)
        self.store.keep_thumbnail(upload_id, thumb, thumb_hash)
        return thumb, uploads.THUMB_TYPE, thumb_hash
