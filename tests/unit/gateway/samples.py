"""Contract-shaped requests and answers (docs/identity-rpc.md) for every operation."""
from __future__ import annotations

import copy

CALLER = {"account_id": "acc-admin", "tenant_id": "tenant-xa",
          "roles": [{"role": "org_admin", "org_id": "org-city"}], "member_id": None, "branch_id": None}

ORG = {"id": "org-branch-1", "tenant_id": "tenant-xa", "parent_id": "org-county", "name": "第一党支部",
       "kind": "branch", "category": "", "field": "rural", "level": 3,
       "path_ids": ["org-city", "org-county", "org-committee", "org-branch-1"],
       "path_names": ["西安市", "长安区", "某街道党工委", "第一党支部"],
       "created_at": "2026-11-22T08:00:00Z", "updated_at": "2026-11-22T08:00:00Z"}
MEMBER = {"id": "mem-1", "tenant_id": "tenant-xa", "branch_id": "org-branch-1", "name": "张三",
          "gender": "male", "birth_date": "1990-05-01", "id_number_masked": "610702********1234",
          "phone": "13800000000", "education": "本科", "status": "probationary",
          "status_history": [{"status": "applicant", "on": "2024-01-02"},
                             {"status": "probationary", "on": "2026-07-01"}],
          "enrolment": "none", "mobile": False,
          "created_at": "2026-11-22T08:00:00Z", "updated_at": "2026-11-22T08:00:00Z"}
ACCOUNT = {"id": "acc-admin", "tenant_id": "tenant-xa", "username": "admin",
           "roles": [{"role": "org_admin", "org_id": "org-city"}], "member_id": None}
TRANSFER = {"id": "tr-1", "tenant_id": "tenant-xa", "member_id": "mem-1", "member_name": "张三",
            "from_branch_id": "org-branch-1", "from_branch_name": "第一党支部",
            "to_branch_id": "org-branch-2", "to_branch_name": "第二党支部", "state": "pending",
            "reason": "工作调动", "reject_reason": "", "requested_at": "2026-11-22T08:00:00Z",
            "decided_at": None, "due_at": "2026-12-22T08:00:00Z", "overdue": False}
IMPORT_RESULT = {"imported": 3, "import_id": "imp-1"}
CSV_FILE = "ref,parent_ref,name,kind\nb1,,第一党支部,branch\n".encode()
XLSX_FILE = b"PK\x03\x04 pretend this is a workbook"

REQUESTS = {
    "Login": {"tenant_code": "xa", "username": "admin", "password": "s3cret!"},
    "CreateTenant": {"code": "xa", "name": "西安市", "admin_username": "admin", "admin_password": "s3cret!"},
    "GetMe": {},
    "GetOrg": {"org_id": "org-branch-1"},
    "ListSubtree": {"org_id": "org-city", "max_depth": 2, "kind": "branch", "page_size": 20},
    "CreateOrg": {"parent_id": "org-county", "name": "第一党支部", "kind": "branch", "field": "rural"},
    "UpdateOrg": {"org_id": "org-branch-1", "name": "第一党支部（新）"},
    "MoveOrg": {"org_id": "org-branch-1", "new_parent_id": "org-committee-2"},
    "DissolveOrg": {"org_id": "org-branch-1"},
    "CreateMember": {"branch_id": "org-branch-1", "name": "张三", "gender": "male", "birth_date": "1990-05-01",
                     "id_number": "610702199005011234", "phone": "13800000000",
                     "status": "probationary", "status_dates": {"applicant": "2024-01-02"}},
    "GetMember": {"member_id": "mem-1"},
    "UpdateMember": {"member_id": "mem-1", "phone": "13900000000", "mobile": True},
    "RemoveMember": {"member_id": "mem-1"},
    "ListMembers": {"org_id": "org-city", "status": "full", "mobile": False, "page_token": "p2"},
    "ChangeMemberStatus": {"member_id": "mem-1", "status": "full", "on": "2027-07-01"},
    "CreateAccount": {"username": "sec1", "password": "s3cret!", "role": "branch_secretary",
                      "org_id": "org-branch-1"},
    "RequestTransfer": {"member_id": "mem-1", "to_branch_id": "org-branch-2", "reason": "工作调动"},
    "AcceptTransfer": {"transfer_id": "tr-1"},
    "RejectTransfer": {"transfer_id": "tr-1", "reason": "材料不全"},
    "ListTransfers": {"org_id": "org-city", "side": "incoming", "state": "pending"},
    "ImportOrgs": {"parent_id": "org-committee", "format": "csv", "content": CSV_FILE},
    "ImportMembers": {"org_id": "org-committee", "format": "xlsx", "content": XLSX_FILE},
}

RESULTS = {
    "login": {"access_token": "header.claims.signature", "token_type": "Bearer", "expires_in": 3600,
              "account": ACCOUNT},
    "create_tenant": {"tenant": {"id": "tenant-xa", "code": "xa", "name": "西安市"},
                      "root_org": {**ORG, "id": "org-city", "kind": "city", "level": 0, "parent_id": None},
                      "admin_account": ACCOUNT},
    "get_me": {"account": ACCOUNT, "member": None, "orgs": [ORG]},
    "get_org": ORG,
    "list_subtree": {"orgs": [ORG], "next_page_token": "next"},
    "create_org": ORG,
    "update_org": ORG,
    "move_org": ORG,
    "dissolve_org": {},
    "create_member": MEMBER,
    "get_member": MEMBER,
    "update_member": MEMBER,
    "remove_member": {},
    "list_members": {"members": [MEMBER], "next_page_token": ""},
    "change_member_status": MEMBER,
    "create_account": ACCOUNT,
    "request_transfer": TRANSFER,
    "accept_transfer": {**TRANSFER, "state": "accepted", "decided_at": "2026-11-23T08:00:00Z"},
    "reject_transfer": {**TRANSFER, "state": "rejected", "reject_reason": "材料不全"},
    "list_transfers": {"transfers": [TRANSFER], "next_page_token": ""},
    "import_orgs": IMPORT_RESULT,
    "import_members": IMPORT_RESULT,
}


def request_for(rpc: str) -> dict:
    return copy.deepcopy(REQUESTS[rpc])
