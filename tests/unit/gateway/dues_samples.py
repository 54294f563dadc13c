"""Sample requests and service answers of the party dues operations (DuesApi, carried out by identity)."""
from __future__ import annotations

from servicekit.spreadsheets import XLSX_MEDIA_TYPE

STANDARD = {"has_standard": True, "category": "employed", "income_fen": 600000, "amount_fen": 9000,
            "from_month": "2026-01"}
PAYMENT = {"id": "pay_1", "receipt_no": "DF20261206-0A1B2C3D4E", "member_id": "mem-1", "member_name": "张三",
           "branch_id": "org-branch-1", "branch_name": "第一党支部", "months": ["2026-11", "2026-12"],
           "amount_fen": 18000, "paid_on": "2026-12-06", "method": "bank", "source": "bank_import",
           "bank_txn_id": "TX20261206001", "note": "", "recorded_by": "acc-sec",
           "recorded_at": "2026-12-06T02:00:00.000Z"}
RULES = {"brackets": [{"category": "employed", "up_to_fen": 300000, "rate_bp": 50},
                      {"category": "employed", "up_to_fen": 0, "rate_bp": 200},
                      {"category": "retired", "up_to_fen": 0, "rate_bp": 100}],
         "fixed": [{"category": "student", "amount_fen": 20}], "arrears_flag_months": 6}
XLSX_FILE = b"PK\x03\x04 pretend this is a workbook"

DUES_REQUESTS = {
    "GetDuesRules": {},
    "SetDuesRules": RULES,
    "SetDuesStandard": {"member_id": "mem-1", "category": "employed", "income_fen": 600000, "from_month": "2026-01"},
    "ListBranchDues": {"org_id": "org-branch-1", "year": 2026, "arrears_only": True},
    "RecordDuesPayment": {"member_id": "mem-1", "months": ["2026-11", "2026-12"], "amount_fen": 18000,
                          "paid_on": "2026-12-06", "payment_method": "cash", "bank_txn_id": "", "note": "现金"},
    "ImportDuesPayments": {"org_id": "org-branch-1", "format": "xlsx", "content": XLSX_FILE},
    "ListDuesPayments": {"org_id": "org-branch-1", "member_id": "mem-1", "paid_from": "2026-01-01",
                         "paid_to": "2026-12-31", "page_size": 50, "page_token": "p2"},
    "GetDuesReceipt": {"receipt_no": "DF20261206-0A1B2C3D4E"},
    "GetMyDues": {},
    "GetDuesTotals": {"org_id": "org-county", "month": "2026-12"},
    "ExportDuesTotals": {"org_id": "org-county", "month_from": "2026-01", "month_to": "2026-12"},
}
TOTAL = {"org_id": "org-county", "name": "长安区", "kind": "county", "month": "2026-12", "paid_fen": 18000,
         "paid_members": 2, "standard_fen": 9020, "members_with_standard": 2}
DUES_RESULTS = {
    "get_dues_rules": {**RULES, "is_default": False},
    "set_dues_rules": {**RULES, "is_default": False},
    "set_dues_standard": {"member_id": "mem-1", **STANDARD, "history": [STANDARD]},
    "list_branch_dues": {"branch_id": "org-branch-1", "branch_name": "第一党支部", "current_month": "2026-12",
                         "year": 2026, "arrears_flag_months": 6, "owed_fen": 54000, "flagged": 1, "members": [
                             {"member_id": "mem-1", "name": "张三", "status": "full", **STANDARD,
                              "paid_months": ["2026-01"], "owed_months": ["2026-06", "2026-07"], "owed_fen": 18000,
                              "unpaid_streak": 6, "current_paid": False, "flagged": True,
                              "flagged_at": "2026-12-01T00:00:00.000Z"}]},
    "record_dues_payment": PAYMENT,
    "import_dues_payments": {"imported": 12, "skipped": 1, "import_id": "dimp_1", "amount_fen": 108000},
    "list_dues_payments": {"payments": [PAYMENT], "next_page_token": ""},
    "get_dues_receipt": {**PAYMENT, "tenant_name": "西安市", "amount_yuan": "180.00"},
    "get_my_dues": {"member_id": "mem-1", "name": "张三", "current_month": "2026-12", **STANDARD,
                    "paid_months": ["2026-11"], "owed_months": [], "owed_fen": 0, "current_paid": False,
                    "flagged": False, "payments": [PAYMENT]},
    "get_dues_totals": {"org_id": "org-county", "month": "2026-12", "total": TOTAL, "children": [TOTAL]},
    "export_dues_totals": {"filename": "党费收缴统计.xlsx", "content_type": XLSX_MEDIA_TYPE,
                           "content": "UEsDBA=="},
}
