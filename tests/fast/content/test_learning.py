"""Learning packages and study sessions through the service's entry points (worker_factory), with the learning
records in memory (``learning_fakes``) and a fixed clock moved by hand."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.content.fakes import (BRANCH, BRANCH2, BRANCH_B, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, COUNTY_B,
                                      FOREIGN_ADMIN, MEMBER, OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY, TENANT,
                                      scope)
from tests.fast.content.learning_fakes import LearningIdentity, MemoryLearning, learning_store

ITEMS = [{"key": "v1", "title": "党章视频", "kind": "video", "url": "https://example.org/v1.mp4", "min_seconds": 30,
          "cap_seconds": 60},
         {"key": "a1", "title": "学习文章", "kind": "article", "url": "https://example.org/a1", "min_seconds": 20}]
MEMBER_2 = scope("member", None, member_id="m_2", branch_id=BRANCH)
MEMBER_3 = scope("member", None, member_id="m_3", branch_id=BRANCH2)


@pytest.fixture
def memory() -> MemoryLearning:
    return MemoryLearning()


@pytest.fixture
def store(memory):
    return learning_store(memory)


@pytest.fixture
def identity() -> LearningIdentity:
    return LearningIdentity()


def create(service, caller=CITY_ADMIN, org_id=CITY, **overrides):
    fields = {"org_id": org_id, "month": "2026-12", "title": "十二月学习套餐", "due_on": "2026-12-31",
              "items": ITEMS, **overrides}
    return service.create_package(caller, **fields)


def published(service, caller=CITY_ADMIN, org_id=CITY, **overrides):
    package = create(service, caller, org_id, **overrides)
    return service.publish_package(caller, package["id"])


def refusal(error, call):
    with pytest.raises(error) as refused:
        call()
    return refused.value


# --- packages ----------------------------------------------------------------------------------------------
def test_an_admin_creates_a_draft_and_publishes_it(service, memory):
    package = create(service)
    assert (package["status"], package["org_id"], package["item_count"], package["month"]) == (
        "draft", CITY, 2, "2026-12")
    assert package["items"][1] == {"key": "a1", "title": "学习文章", "kind": "article", "item_id": "",
                                   "url": "https://example.org/a1", "min_seconds": 20, "cap_seconds": 40, "tags": []}
    assert memory.packages[package["id"]]["a0"] == CITY
    changed = service.update_package(CITY_ADMIN, package["id"], title="新标题")
    assert changed["title"] == "新标题" and changed["items"] == package["items"]
    done = service.publish_package(CITY_ADMIN, package["id"])
    assert done["status"] == "published" and done["published_at"]
    assert refusal(Conflict, lambda: service.update_package(CITY_ADMIN, package["id"], title="x")).code == \
        "PACKAGE_NOT_DRAFT"
    assert refusal(Conflict, lambda: service.publish_package(CITY_ADMIN, package["id"])).code == "PACKAGE_NOT_DRAFT"
    assert service.close_package(CITY_ADMIN, package["id"])["status"] == "closed"
    assert refusal(Conflict, lambda: service.close_package(CITY_ADMIN, package["id"])).code == \
        "PACKAGE_NOT_PUBLISHED"


def test_a_secretary_creates_for_its_branch_only(service, store):
    assert create(service, SECRETARY, BRANCH)["org_id"] == BRANCH
    assert refusal(NotFound, lambda: create(service, SECRETARY, COUNTY)).code == "ORG_NOT_FOUND"


@pytest.mark.parametrize("caller, org_id, error, code", [
    (MEMBER, BRANCH, PermissionDenied, "NOT_ORG_MANAGER"),
    (OTHER_COUNTY_ADMIN, COUNTY, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_ADMIN, CITY, NotFound, "ORG_NOT_FOUND"),
    (COUNTY_ADMIN, CITY, NotFound, "ORG_NOT_FOUND"),
])
def test_others_cannot_create(service, store, caller, org_id, error, code):
    assert refusal(error, lambda: create(service, caller, org_id)).code == code
    store.insert_package.assert_not_called()


@pytest.mark.parametrize("overrides, code, field", [
    ({"month": "2026-1"}, "INVALID_MONTH", "month"),
    ({"title": ""}, "REQUIRED", "title"),
    ({"due_on": "2026-11-30"}, "DUE_BEFORE_MONTH", "due_on"),
    ({"items": [{**ITEMS[0], "url": "javascript:alert(1)"}]}, "INVALID_URL", "items[0].url"),
    ({"items": [{**ITEMS[0], "min_seconds": 0.5}]}, "INVALID_TYPE", "items[0].min_seconds"),
    ({"items": [{**ITEMS[0], "item_id": "itm_x", "url": ""}]}, "CONTENT_ITEM_NOT_FOUND", "items[0].item_id"),
])
def test_bad_input_is_refused_and_nothing_stored(service, store, overrides, code, field):
    refused = refusal(InvalidArgument, lambda: create(service, **overrides))
    assert (refused.code, refused.field) == (code, field)
    store.insert_package.assert_not_called()


def test_an_item_may_reference_a_published_content_item_in_reach(service, store):
    store.published_items_by_ids.return_value = [
        {"_id": "itm_1", "tenant_id": TENANT, "org_path": [CITY], "status": "published", "tags": ["党章"]},
        {"_id": "itm_b", "tenant_id": TENANT, "org_path": [CITY, COUNTY_B], "status": "published", "tags": []}]
    item = {"key": "c1", "title": "党章学习", "item_id": "itm_1", "min_seconds": 30}
    package = create(service, COUNTY_ADMIN, COUNTY, items=[item])
    assert package["items"][0]["item_id"] == "itm_1" and package["items"][0]["tags"] == ["党章"]
    refused = refusal(InvalidArgument, lambda: create(service, COUNTY_ADMIN, COUNTY, items=[{**item,
                                                                                             "item_id": "itm_b"}]))
    assert refused.code == "CONTENT_ITEM_NOT_FOUND"


def test_a_package_outside_the_callers_reach_is_not_found_like_a_missing_one(service):
    county_package = published(service, COUNTY_ADMIN, COUNTY)
    draft = create(service)
    for caller, package_id in [(OTHER_COUNTY_ADMIN, county_package["id"]), (OTHER_MEMBER, county_package["id"]),
                               (FOREIGN_ADMIN, county_package["id"]), (MEMBER, draft["id"]),
                               (COUNTY_ADMIN, draft["id"]), (MEMBER, "pkg_missing")]:
        refused = refusal(NotFound, lambda: service.get_package(caller, package_id))
        assert (refused.code, refused.field) == ("PACKAGE_NOT_FOUND", "package_id")
    refused = refusal(NotFound, lambda: service.publish_package(OTHER_COUNTY_ADMIN, draft["id"]))
    assert refused.code == "PACKAGE_NOT_FOUND"
    # a county admin reads the city's published package but does not manage it
    city_package = published(service)
    assert service.get_package(COUNTY_ADMIN, city_package["id"])["id"] == city_package["id"]
    assert refusal(PermissionDenied, lambda: service.close_package(COUNTY_ADMIN, city_package["id"])).code == \
        "NOT_ORG_MANAGER"
    assert refusal(PermissionDenied, lambda: service.close_package(MEMBER, city_package["id"])).code == \
        "NOT_ORG_MANAGER"


def test_lists_for_managers_and_members(service, clock):
    city = published(service)
    county = published(service, COUNTY_ADMIN, COUNTY, title="区县套餐")
    other = published(service, OTHER_COUNTY_ADMIN, COUNTY_B, title="二区套餐")
    create(service, COUNTY_ADMIN, COUNTY, title="草稿")
    listed = service.list_packages(COUNTY_ADMIN, COUNTY)
    assert {p["title"] for p in listed["packages"]} == {"十二月学习套餐", "区县套餐", "草稿"}
    assert [p["id"] for p in service.list_packages(COUNTY_ADMIN, COUNTY, status="published")["packages"]] != []
    assert refusal(NotFound, lambda: service.list_packages(OTHER_COUNTY_ADMIN, COUNTY)).code == "ORG_NOT_FOUND"
    assert refusal(PermissionDenied, lambda: service.list_packages(MEMBER, BRANCH)).code == "NOT_ORG_MANAGER"
    assert refusal(InvalidArgument, lambda: service.list_packages(COUNTY_ADMIN, COUNTY, status="open")).field == \
        "status"
    mine = service.list_my_packages(MEMBER)
    assert mine["month"] == "2026-12"
    assert {p["id"] for p in mine["packages"]} == {city["id"], county["id"]}
    assert {p["id"] for p in service.list_my_packages(OTHER_MEMBER)["packages"]} == {city["id"], other["id"]}
    assert service.list_my_packages(MEMBER, month="2027-01")["packages"] == []
    assert refusal(PermissionDenied, lambda: service.list_my_packages(COUNTY_ADMIN)).code == "MEMBER_ONLY"
    first = mine["packages"][0]
    assert first["studied_count"] == 0 and first["items"][0]["studied"] is False


# --- study sessions ------------------------------------------------------------------------------------------------
def test_server_observed_time_counts_and_studied_is_committed_once(service, clock, memory):
    package = published(service)
    started = service.start_study(MEMBER, package["id"], "v1")
    session_id = started["session_id"]
    assert (started["state"], started["seconds"], started["heartbeat_seconds"]) == ("open", 0, 15)
    for _ in range(2):
        clock.advance(seconds=15)
        beat = service.study_heartbeat(MEMBER, session_id)
    assert (beat["seconds"], beat["studied"]) == (30, True)
    studied = [e for e in memory.committed if e["event_type"] == "item_studied"]
    assert len(studied) == 1
    assert {k: studied[0][k] for k in ("package_id", "item_id", "item_key", "member_id", "branch_id", "seconds")} == {
        "package_id": package["id"], "item_id": "", "item_key": "v1", "member_id": "m_1", "branch_id": BRANCH,
        "seconds": 30}
    for _ in range(4):                      # up to the cap (60 s), no second event
        clock.advance(seconds=15)
        beat = service.study_heartbeat(MEMBER, session_id)
    assert beat["seconds"] == 60 and beat["session_seconds"] == 60
    ended = service.end_study(MEMBER, session_id)
    assert ended["state"] == "ended" and len([e for e in memory.committed if e["event_type"] == "item_studied"]) == 1
    again = service.end_study(MEMBER, session_id)
    assert again["repeat"] is True and again["state"] == "ended"
    assert refusal(Conflict, lambda: service.study_heartbeat(MEMBER, session_id)).code == "SESSION_CLOSED"
    item = service.list_my_packages(MEMBER)["packages"][0]["items"][0]
    assert (item["seconds"], item["studied"]) == (60, True)


def test_a_silence_longer_than_the_gap_expires_the_session_and_counts_nothing(service, clock):
    package = published(service)
    session_id = service.start_study(MEMBER, package["id"], "v1")["session_id"]
    clock.advance(seconds=10)
    service.study_heartbeat(MEMBER, session_id)
    clock.advance(seconds=61)
    assert refusal(Conflict, lambda: service.study_heartbeat(MEMBER, session_id)).code == "SESSION_EXPIRED"
    assert refusal(Conflict, lambda: service.study_heartbeat(MEMBER, session_id)).code == "SESSION_EXPIRED"
    ended = service.end_study(MEMBER, session_id)
    assert (ended["state"], ended["seconds"]) == ("expired", 10)


def test_two_tabs_on_the_same_item_count_the_shared_time_once(service, clock):
    package = published(service)
    first = service.start_study(MEMBER, package["id"], "v1")["session_id"]
    clock.advance(seconds=5)
    second = service.start_study(MEMBER, package["id"], "v1")["session_id"]
    for _ in range(3):
        clock.advance(seconds=5)
        service.study_heartbeat(MEMBER, first)
        service.study_heartbeat(MEMBER, second)
    # both tabs open from 0 (first) and 5 (second) to 20: the member studied 20 seconds, not 35
    assert service.end_study(MEMBER, second)["seconds"] == 20


def test_a_concurrent_write_is_retried_from_what_it_wrote(service, clock, memory):
    package = published(service)
    first = service.start_study(MEMBER, package["id"], "v1")["session_id"]
    second = service.start_study(MEMBER, package["id"], "v1")["session_id"]
    clock.advance(seconds=10)
    memory.before_write = lambda: service.study_heartbeat(MEMBER, second)   # lands between read and write
    assert service.study_heartbeat(MEMBER, first)["seconds"] == 10


def test_a_member_studies_only_published_packages_of_its_branch_path(service, clock):
    city = published(service)
    county_b = published(service, OTHER_COUNTY_ADMIN, COUNTY_B)
    draft = create(service)
    for caller, package_id, key in [(MEMBER, county_b["id"], "v1"), (MEMBER, draft["id"], "v1"),
                                    (MEMBER, "pkg_none", "v1"),
                                    (scope("member", None, tenant_id="ten_2", member_id="m_x",
                                           branch_id="org_branch_x"), city["id"], "v1")]:
        refused = refusal(NotFound, lambda: service.start_study(caller, package_id, key))
        assert refused.code == "PACKAGE_NOT_FOUND"
    assert refusal(NotFound, lambda: service.start_study(MEMBER, city["id"], "zz")).code == "PACKAGE_ITEM_NOT_FOUND"
    assert refusal(InvalidArgument, lambda: service.start_study(MEMBER, city["id"], "")).field == "item_key"
    assert refusal(PermissionDenied, lambda: service.start_study(CITY_ADMIN, city["id"], "v1")).code == "MEMBER_ONLY"
    service.close_package(CITY_ADMIN, city["id"])
    assert refusal(Conflict, lambda: service.start_study(MEMBER, city["id"], "v1")).code == "PACKAGE_NOT_OPEN"


def test_a_session_is_its_members_only_and_stops_with_the_package(service, clock):
    package = published(service)
    session_id = service.start_study(MEMBER, package["id"], "v1")["session_id"]
    for caller in (MEMBER_2, OTHER_MEMBER):
        assert refusal(NotFound, lambda: service.study_heartbeat(caller, session_id)).code == "SESSION_NOT_FOUND"
    assert refusal(NotFound, lambda: service.study_heartbeat(MEMBER, "ses_none")).code == "SESSION_NOT_FOUND"
    assert refusal(PermissionDenied, lambda: service.study_heartbeat(CITY_ADMIN, session_id)).code == "MEMBER_ONLY"
    service.close_package(CITY_ADMIN, package["id"])
    clock.advance(seconds=10)
    assert refusal(Conflict, lambda: service.study_heartbeat(MEMBER, session_id)).code == "PACKAGE_NOT_OPEN"


# --- progress --------------------------------------------------------------------------------------------------------
def study_all(service, clock, caller, package_id, keys=("v1", "a1")):
    for key in keys:
        session_id = service.start_study(caller, package_id, key)["session_id"]
        for _ in range(2):
            clock.advance(seconds=15)
            service.study_heartbeat(caller, session_id)
        service.end_study(caller, session_id)


def test_progress_per_branch_and_county_ranked(service, clock, identity):
    package = published(service)
    study_all(service, clock, MEMBER, package["id"])
    study_all(service, clock, MEMBER_2, package["id"], keys=("a1",))
    study_all(service, clock, MEMBER_3, package["id"])
    identity.asked.clear()
    by_branch = service.package_progress(CITY_ADMIN, package["id"])
    # the roster sizes only, in one call for the subtree's branches: no member's name crosses for a rate
    [(asked, branches)] = [entry for entry in identity.asked if entry[0].startswith("branch_roster")]
    assert asked == "branch_roster_sizes" and sorted(branches.split(",")) == sorted((BRANCH, BRANCH2, BRANCH_B))
    rows = {row["group_id"]: row for row in by_branch["rows"]}
    assert (rows[BRANCH]["members"], rows[BRANCH]["completed"], rows[BRANCH]["items_studied"]) == (3, 1, 3)
    assert rows[BRANCH]["completion_rate"] == 33.3 and rows[BRANCH]["items_rate"] == 50.0
    assert (rows[BRANCH2]["completion_rate"], rows[BRANCH2]["rank"]) == (100.0, 1)
    assert (rows[BRANCH_B]["completion_rate"], rows[BRANCH_B]["rank"]) == (0.0, 3)
    assert by_branch["totals"]["members"] == 5 and by_branch["totals"]["completed"] == 2
    by_county = service.package_progress(CITY_ADMIN, package["id"], by="county")
    assert [(r["group_id"], r["members"], r["completed"]) for r in by_county["rows"]] == [
        (COUNTY, 4, 2), (COUNTY_B, 1, 0)]
    # the other county's admin sees its own part only; a member and another tenant see nothing
    own = service.package_progress(OTHER_COUNTY_ADMIN, package["id"])
    assert [r["group_id"] for r in own["rows"]] == [BRANCH_B] and own["org_id"] == COUNTY_B
    assert refusal(NotFound, lambda: service.package_progress(OTHER_COUNTY_ADMIN, package["id"],
                                                              org_id=COUNTY)).code == "ORG_NOT_FOUND"
    assert refusal(PermissionDenied, lambda: service.package_progress(MEMBER, package["id"])).code == \
        "NOT_ORG_MANAGER"
    assert refusal(NotFound, lambda: service.package_progress(FOREIGN_ADMIN, package["id"])).code == \
        "PACKAGE_NOT_FOUND"
    assert refusal(InvalidArgument, lambda: service.package_progress(CITY_ADMIN, package["id"], by="x")).field == "by"


def test_branch_members_and_members_behind(service, clock):
    package = published(service)
    study_all(service, clock, MEMBER, package["id"])
    study_all(service, clock, MEMBER_2, package["id"], keys=("v1",))
    members = service.package_branch_members(SECRETARY, package["id"], BRANCH)
    assert [(m["member_id"], m["studied_count"], m["completed"]) for m in members["members"]] == [
        ("m_1", 2, True), ("m_2", 1, False), ("m_secretary", 0, False)]
    assert members["completed"] == 1
    behind = service.learning.members_behind(package["id"], BRANCH)
    assert [m["member_id"] for m in behind] == ["m_2", "m_secretary"]
    assert refusal(NotFound, lambda: service.package_branch_members(SECRETARY, package["id"], BRANCH2)).code == \
        "ORG_NOT_FOUND"
    assert refusal(NotFound, lambda: service.package_branch_members(OTHER_COUNTY_ADMIN, package["id"],
                                                                    BRANCH)).code == "ORG_NOT_FOUND"
    assert service.store.studied_item_keys("m_2") == {f"{package['id']}:v1"}


# --- the branch's study ranking (本支部学习榜) --------------------------------------------------------------------
def test_the_secretary_sees_the_branchs_study_ranking_of_the_months_packages(service, clock):
    package = published(service)
    study_all(service, clock, MEMBER, package["id"])                       # both items
    study_all(service, clock, MEMBER_2, package["id"], keys=("a1",))        # one
    study_all(service, clock, MEMBER_3, package["id"])                      # another branch: not in this ranking
    ranking = service.study_ranking(SECRETARY, branch_id=BRANCH, month="2026-12")
    assert (ranking["branch_id"], ranking["month"], ranking["public"], ranking["members"], ranking["package_count"],
            ranking["item_count"]) == (BRANCH, "2026-12", False, 3, 1, 2)
    assert [(e["rank"], e["member_id"], e["items_studied"], e["seconds"], e["me"]) for e in ranking["entries"]] == [
        (1, "m_1", 2, 60, False), (2, "m_2", 1, 30, False)]
    # this month by default; another month has no package, so no one is ranked
    assert service.study_ranking(COUNTY_ADMIN, branch_id=BRANCH)["entries"] == ranking["entries"]
    assert service.study_ranking(CITY_ADMIN, branch_id=BRANCH, month="2026-11")["entries"] == []


def test_members_see_their_branchs_ranking_only_when_the_tenant_made_it_public(service, clock, store):
    package = published(service)
    study_all(service, clock, MEMBER, package["id"])
    off = refusal(PermissionDenied, lambda: service.study_ranking(MEMBER_2, branch_id=BRANCH))
    assert (off.code, off.field) == ("STUDY_RANKING_OFF", "branch_id")
    store.settings_of.return_value = {"study_points_public": True}
    ranking = service.study_ranking(MEMBER, branch_id=BRANCH)
    assert ranking["public"] is True
    assert [(e["member_id"], e["me"]) for e in ranking["entries"]] == [("m_1", True)]
    # public or not, another branch's ranking is not a member's business
    assert refusal(NotFound, lambda: service.study_ranking(MEMBER_3, branch_id=BRANCH)).code == "ORG_NOT_FOUND"


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, OTHER_MEMBER, MEMBER_3])
def test_outsiders_get_the_same_not_found_as_for_no_such_branch(service, caller):
    outside = refusal(NotFound, lambda: service.study_ranking(caller, branch_id=BRANCH))
    missing = refusal(NotFound, lambda: service.study_ranking(CITY_ADMIN, branch_id="org_nowhere"))
    assert (outside.code, outside.field) == (missing.code, missing.field) == ("ORG_NOT_FOUND", "branch_id")


@pytest.mark.parametrize("caller, arguments, code, field", [
    (SECRETARY, {"branch_id": ""}, "REQUIRED", "branch_id"),
    (SECRETARY, {"branch_id": 5}, "INVALID_TYPE", "branch_id"),
    (SECRETARY, {"branch_id": BRANCH, "month": "2026-13"}, "INVALID_MONTH", "month"),
    (SECRETARY, {"branch_id": BRANCH, "month": "十二月"}, "INVALID_MONTH", "month"),
    (COUNTY_ADMIN, {"branch_id": COUNTY}, "NOT_A_BRANCH", "branch_id"),
])
def test_bad_ranking_requests_are_refused(service, caller, arguments, code, field):
    refused = refusal(InvalidArgument, lambda: service.study_ranking(caller, **arguments))
    assert (refused.code, refused.field) == (code, field)
