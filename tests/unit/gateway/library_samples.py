"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's library operations
(docs/content-rpc.md)."""
from __future__ import annotations

import base64

PDF_FILE = b"%PDF-1.4\n%%EOF\n"
ATTACHMENT = {"attachment_id": "att_" + "0" * 32, "org_id": "org-branch-1", "filename": "学习材料.pdf",
              "media_type": "application/pdf", "size": len(PDF_FILE), "sha256": "ab" * 32, "downloads": 0,
              "uploaded_by": "acc-secretary", "uploaded_at": "2026-12-06T08:00:00.000Z"}
RESULT = {"item_id": "itm_1", "title": "学习党章心得", "kind": "article", "org_id": "org-branch-1",
          "column_id": "col_1", "snippet": "认真学习党章，……", "published_at": "2026-12-06T08:00:00.000Z",
          "title_hit": True}

LIBRARY_REQUESTS: dict[str, dict] = {
    "UploadAttachment": {"org_id": "org-branch-1", "media_type": "application/pdf", "filename": "学习材料.pdf",
                         "content": PDF_FILE},
    "ListAttachments": {"org_id": "org-branch-1", "page_size": 20},
    "DownloadAttachment": {"attachment_id": ATTACHMENT["attachment_id"]},
    "SearchItems": {"query": "党章", "page_size": 20},
    "RecentSearches": {},
}
LIBRARY_RESULTS: dict[str, dict] = {
    "upload_attachment": {**ATTACHMENT, "duplicate": False},
    "list_attachments": {"attachments": [ATTACHMENT], "next_page_token": ""},
    "download_attachment": {**ATTACHMENT, "downloads": 1, "content": base64.b64encode(PDF_FILE).decode()},
    "search_items": {"results": [RESULT], "words": ["党章"], "next_page_token": ""},
    "recent_searches": {"queries": ["党章", "学习"]},
}
