"""Load generator of bench.content_morning: members' feeds, notice openings and contest attempts over HTTP/JSON
(keep-alive connections, one request at a time on each, as phones send them).

    python -m bench.content_morning_load <work.pickle> <answers.pickle>

The work file holds ``{"http", "concurrency", "feeds", "contests", "notice_id", "quiz_id"}``:
- ``feeds``: ``(member_id, at, token, opens_notice)``: at ``at`` seconds the member reads its feed, then (when
  ``opens_notice``) opens the notice;
- ``contests``: ``(member_id, at, token, answer_times, right_share)``: at ``at`` the member starts the contest,
  saves its answers at the offsets ``answer_times`` (seconds after the start, one per question, the last one
  also submitting), answering right with probability ``right_share`` (by the option texts of ``key``).
Every call is kept: ``(kind, member_id, sent_at, latency_s, status, error_code)``; contests also keep what was
answered and what the server graded.
"""
from __future__ import annotations

import asyncio
import os
import random
import time

from bench.http_load import Http, error_code
from bench.themed_day_load import serve


LEAD_SECONDS = 0.5       # a member's task is made this long before its first call


async def run(work: dict) -> dict:
    http = Http(work["http"], work["concurrency"])
    calls: list[tuple] = []
    attempts: list[dict] = []
    started = time.perf_counter()
    key: dict[str, dict] = work["key"]           # stem -> {"kind", "right": [texts] or accepted text}

    async def timed(kind: str, member_id: str, method: str, path: str, token: str, body=None, read=True):
        sent = time.perf_counter()
        status, answer, _, _ = await http.call(method, path, token, body, read)
        calls.append((kind, member_id, sent - started, time.perf_counter() - sent, status, error_code(answer)))
        return status, answer

    async def at(offset: float) -> None:
        delay = offset - (time.perf_counter() - started)
        if delay > 0:
            await asyncio.sleep(delay)

    async def feed(member_id, offset, token, opens_notice) -> None:
        await at(offset)
        status, _ = await timed("feed", member_id, "GET", "/v1/feed?page_size=20", token, read=False)
        if status == 200 and opens_notice:
            await timed("open", member_id, "GET", f"/v1/items/{work['notice_id']}", token, read=False)

    def answer_for(question: dict, right: bool, rng: random.Random) -> tuple[dict, bool]:
        truth = key[question["stem"]]
        if question["kind"] == "fill":
            return {"text": truth["right"][0] if right else "不知道"}, right
        options = question.get("options") or []
        labels_right = sorted(o["key"] for o in options if o["text"] in truth["right"])
        if right:
            return {"choices": labels_right}, True
        wrong = [o["key"] for o in options if o["key"] not in labels_right] or [options[0]["key"]]
        picked = [rng.choice(wrong)]
        return {"choices": picked}, sorted(picked) == labels_right

    async def contest(member_id, offset, token, answer_times, right_share) -> None:
        rng = random.Random(member_id)
        await at(offset)
        status, attempt = await timed("start", member_id, "POST", f"/v1/quizzes/{work['quiz_id']}/attempts", token,
                                      {})
        if status != 200:
            attempts.append({"member_id": member_id, "attempt_id": "", "started": False})
            return
        record = {"member_id": member_id, "attempt_id": attempt["id"], "started": True, "saved": 0,
                  "expected": 0, "score": None, "state": "", "questions": len(attempt["questions"])}
        attempts.append(record)
        for question, when in zip(attempt["questions"], answer_times):
            await at(offset + when)
            body, right = answer_for(question, rng.random() < right_share, rng)
            status, _ = await timed("save", member_id, "PUT",
                                    f"/v1/quiz-attempts/{attempt['id']}/answers/{question['id']}", token, body,
                                    read=False)
            if status == 200:
                record["saved"] += 1
                record["expected"] += question["points"] if right else 0
        status, finished = await timed("submit", member_id, "POST", f"/v1/quiz-attempts/{attempt['id']}:submit",
                                       token, {})
        if status == 200:
            record["score"], record["state"] = finished["score"], finished["state"]

    # each member's task is made shortly before its time, not all at the start: making 100,000 tasks at once held
    # the process for its first seconds, and the calls planned then went out together after
    planned = sorted([(entry[1], feed, entry) for entry in work["feeds"]] +
                     [(entry[1], contest, entry) for entry in work["contests"]], key=lambda plan: plan[0])
    tasks = []
    for offset, member, entry in planned:
        ahead = offset - LEAD_SECONDS - (time.perf_counter() - started)
        if ahead > 0:
            await asyncio.sleep(ahead)
        tasks.append(asyncio.create_task(member(*entry)))
    await asyncio.gather(*tasks)
    await http.close()
    return {"calls": calls, "attempts": attempts, "elapsed": time.perf_counter() - started, "pid": os.getpid()}


def main() -> None:
    serve(run)


if __name__ == "__main__":
    main()
