import pytest

from servicekit.errors import InvalidArgument
from services.identity.domain.tree import check_child_kind, check_depth, check_move, validate_org_fields


@pytest.mark.parametrize("parent, child", [
    (None, "city"), ("city", "county"), ("city", "committee"), ("county", "committee"),
    ("committee", "general_branch"), ("county", "branch"), ("committee", "branch"),
    ("general_branch", "branch"), ("branch", "group"),
])
def test_allowed_parent_and_child_kinds_pass(parent, child):
    check_child_kind(parent, child)


@pytest.mark.parametrize("parent, child", [
    ("city", "city"), (None, "county"), ("city", "general_branch"), ("county", "general_branch"),
    ("city", "branch"), ("committee", "group"), ("group", "group"), ("branch", "committee"),
])
def test_kinds_outside_the_allowed_parents_are_refused(parent, child):
    with pytest.raises(InvalidArgument) as caught:
        check_child_kind(parent, child)
    assert (caught.value.code, caught.value.field) == ("KIND_NOT_ALLOWED_HERE", "kind")


def test_an_unknown_kind_is_reported_as_unknown():
    with pytest.raises(InvalidArgument) as caught:
        check_child_kind("city", "department")
    assert caught.value.code == "KIND_UNKNOWN"


def test_org_fields_are_stripped_and_returned():
    assert validate_org_fields("  汉台区委 ", "county", "", "government") == {
        "name": "汉台区委", "kind": "county", "category": "", "field": "government"}
    assert validate_org_fields("某镇党委", "committee", "township", "")["category"] == "township"


@pytest.mark.parametrize("name", ["", "   ", "名" * 61, "一/二"])
def test_an_empty_too_long_or_slashed_name_is_refused(name):
    with pytest.raises(InvalidArgument) as caught:
        validate_org_fields(name, "branch")
    assert (caught.value.code, caught.value.field) == ("NAME_INVALID", "name")


def test_a_sixty_character_name_is_accepted():
    assert validate_org_fields("名" * 60, "branch")["name"] == "名" * 60


def test_a_committee_needs_a_known_category_and_other_kinds_take_none():
    for kind, category in (("committee", ""), ("committee", "school"), ("branch", "township")):
        with pytest.raises(InvalidArgument) as caught:
            validate_org_fields("某组织", kind, category)
        assert caught.value.code == "CATEGORY_INVALID"


def test_a_field_outside_the_list_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        validate_org_fields("某支部", "branch", "", "farming")
    assert (caught.value.code, caught.value.field) == ("FIELD_INVALID", "field")


def test_moving_a_branch_to_another_committee_is_allowed():
    check_move(["c", "k", "p", "b"], ["c", "k", "q"], "branch", "committee", subtree_height=1)


def test_moving_a_node_under_itself_or_its_descendant_is_refused():
    for new_parent_path in (["c", "k", "p"], ["c", "k", "p", "g"]):
        with pytest.raises(InvalidArgument) as caught:
            check_move(["c", "k", "p"], new_parent_path, "committee", "general_branch", 2)
        assert caught.value.code == "MOVE_INTO_OWN_SUBTREE"


def test_the_root_cannot_be_moved():
    with pytest.raises(InvalidArgument) as caught:
        check_move(["c"], ["x"], "city", "city", 3)
    assert caught.value.code == "ROOT_IMMUTABLE"


def test_a_move_under_a_kind_that_may_not_hold_the_node_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        check_move(["c", "k", "p", "b"], ["c", "k", "p", "b2", "grp"], "branch", "group", 1)
    assert caught.value.code == "KIND_NOT_ALLOWED_HERE"


def test_a_tree_deeper_than_six_levels_is_refused():
    check_depth(5)
    check_depth(3, subtree_height=2)
    with pytest.raises(InvalidArgument) as caught:
        check_depth(4, subtree_height=2)
    assert caught.value.code == "TREE_TOO_DEEP"
