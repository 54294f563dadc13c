"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's quiz operations
(docs/content-rpc.md)."""
from __future__ import annotations

QUESTION = {"id": "qst-1", "org_id": "org-city", "kind": "single", "stem": "党的最高理想和最终目标是什么？",
            "options": [{"key": "A", "text": "实现共产主义"}, {"key": "B", "text": "全面建成小康社会"}],
            "correct": ["A"], "accepted": [], "category": "党章", "tags": ["总纲"], "difficulty": 2,
            "explanation": "党章总纲明确规定。", "created_by": "acc-admin", "created_at": "2026-12-06T08:00:00.000Z"}
QUIZ = {"id": "quz-1", "org_id": "org-city", "org_name": "西安市", "kind": "contest", "title": "党章知识竞赛",
        "description": "", "open_at": "2026-12-06T08:00:00.000Z", "close_at": "2026-12-06T10:00:00.000Z",
        "time_limit_seconds": 600, "max_attempts": 1, "grading": "highest", "review": "after_close",
        "draw": [{"category": "党章", "count": 10, "points": 2}], "question_count": 10, "max_score": 20,
        "phase": "open", "finished_at": "", "created_by": "acc-admin", "created_at": "2026-12-05T08:00:00.000Z"}
ATTEMPT_QUESTION = {"id": "qst-1", "kind": "single", "stem": "党的最高理想和最终目标是什么？",
                    "options": [{"key": "A", "text": "全面建成小康社会"}, {"key": "B", "text": "实现共产主义"}],
                    "category": "党章", "points": 2, "choices": ["B"], "text": ""}
ATTEMPT = {"id": "atp-1", "quiz_id": "quz-1", "kind": "contest", "title": "党章知识竞赛", "number": 1,
           "state": "in_progress", "started_at": "2026-12-06T08:01:00.000Z", "deadline_at": "2026-12-06T08:11:00.000Z",
           "server_now": "2026-12-06T08:02:00.000Z", "questions": [ATTEMPT_QUESTION], "answered": 1, "max_score": 20,
           "reviewed": False, "review_rule": "after_close"}
FINISHED = {**ATTEMPT, "state": "submitted", "score": 18, "band": "excellent", "seconds": 300,
            "finished_at": "2026-12-06T08:06:00.000Z"}
DAILY = {"date": "2026-12-06", "available": True, "answered": True,
         "question": {**ATTEMPT_QUESTION, "points": 1,
                      "review": {"correct": ["B"], "accepted": [], "explanation": "党章总纲明确规定。", "right": True}},
         "score": 1, "right": True}
XLSX_FILE = b"PK\x03\x04 pretend this is a workbook"

QUIZ_REQUESTS: dict[str, dict] = {
    "CreateBankQuestion": {"org_id": "org-city", "kind": "single", "stem": "党的最高理想和最终目标是什么？",
                           "options": ["实现共产主义", "全面建成小康社会"], "correct": ["A"], "category": "党章",
                           "tags": ["总纲"], "difficulty": 2, "explanation": "党章总纲明确规定。"},
    "ListBankQuestions": {"org_id": "org-city", "category": "党章", "difficulty": 2, "kind": "single",
                          "page_size": 20},
    "RetireBankQuestion": {"question_id": "qst-1"},
    "ImportBankQuestions": {"org_id": "org-city", "format": "xlsx", "content": XLSX_FILE},
    "CreateQuiz": {"org_id": "org-city", "kind": "contest", "title": "党章知识竞赛", "open_at": "2026-12-06T08:00:00Z",
                   "close_at": "2026-12-06T10:00:00Z", "time_limit_seconds": 600, "max_attempts": 1,
                   "grading": "highest", "review": "after_close",
                   "draw": [{"category": "党章", "count": 10, "points": 2}]},
    "ListQuizzes": {"org_id": "org-city", "kind": "contest"},
    "ListMyQuizzes": {},
    "GetQuiz": {"quiz_id": "quz-1"},
    "GetQuizLeaderboard": {"quiz_id": "quz-1", "by": "branch", "limit": 20},
    "StartQuizAttempt": {"quiz_id": "quz-1"},
    "GetQuizAttempt": {"attempt_id": "atp-1"},
    "SaveQuizAnswer": {"attempt_id": "atp-1", "question_id": "qst-1", "choices": ["B"]},
    "SubmitQuizAttempt": {"attempt_id": "atp-1"},
    "GetDailyQuestion": {},
    "AnswerDailyQuestion": {"question_id": "qst-1", "choices": ["B"]},
}
QUIZ_RESULTS: dict[str, dict] = {
    "create_bank_question": QUESTION,
    "list_bank_questions": {"questions": [QUESTION], "next_page_token": ""},
    "retire_bank_question": {},
    "import_bank_questions": {"imported": 12, "import_id": "qim-1"},
    "create_quiz": QUIZ,
    "list_quizzes": {"quizzes": [QUIZ], "next_page_token": ""},
    "list_my_quizzes": {"quizzes": [{**QUIZ, "mine": {"attempts": 1, "score": 18, "finished": True,
                                                     "in_progress_attempt_id": ""}}]},
    "get_quiz": QUIZ,
    "quiz_leaderboard": {"quiz_id": "quz-1", "title": "党章知识竞赛", "by": "branch", "participants": 2,
                         "groups": [{"rank": 1, "id": "org-branch-1", "name": "第一党支部", "participants": 2,
                                     "average_score": 17.5, "average_seconds": 320.5}]},
    "start_quiz_attempt": ATTEMPT,
    "get_quiz_attempt": ATTEMPT,
    "save_quiz_answer": {"attempt_id": "atp-1", "question_id": "qst-1", "choices": ["B"], "text": "",
                         "saved_at": "2026-12-06T08:02:00.000Z", "deadline_at": "2026-12-06T08:11:00.000Z"},
    "submit_quiz_attempt": FINISHED,
    "get_daily_question": DAILY,
    "answer_daily_question": DAILY,
}
