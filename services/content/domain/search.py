"""Chinese full-text search: the tokenizer and the query rules (pure).

The index is of character n-grams, not of words: every pair of adjacent Chinese characters (a bigram) and
every single Chinese character is a term, and a run of ASCII letters or digits is one term. No dictionary is
kept, and a query finds the characters wherever they stand: 党章 is found inside 学习党章心得, where a word
segmenter would cut 学习/党章/心得 (or 学习党/章心得) and miss whatever it cut differently. A query's
bigrams only say the characters occur in pairs somewhere; the phrase itself is checked on the text
(``matches``), so 党章程 is not found by a text holding 党章 and 章程 apart.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from servicekit.errors import InvalidArgument

MAX_QUERY_CHARS = 50
MAX_QUERY_TERMS = 12       # the bigrams of a long phrase narrow little after the rarest few; more cost a probe each
MAX_TERM_CHARS = 40        # an ASCII run longer than this (a hash, a URL) is not a word anyone searches for
SNIPPET_CHARS = 80

# Chinese characters: the CJK unified ideographs with extension A and the compatibility block
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"[{_CJK}]+|[0-9a-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalized(text: str) -> str:
    """Text as the index sees it: NFKC (full-width letters and digits become ASCII) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def runs(text: str) -> list[str]:
    """The runs of Chinese characters and of ASCII letters and digits of normalized text, in order."""
    return _RUN.findall(normalized(text))


def _is_cjk(run: str) -> bool:
    return not run[0].isascii()


def run_terms(run: str) -> list[str]:
    """A run's terms as a query needs them: a Chinese run's bigrams (its one character when it is alone), an
    ASCII run itself."""
    if not _is_cjk(run):
        return [run] if len(run) <= MAX_TERM_CHARS else []
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def text_terms(text: str) -> set[str]:
    """Every term of a text as the index stores it: each Chinese character and each bigram of adjacent ones
    (so a one-character query is answered from the index too), each ASCII word."""
    terms: set[str] = set()
    for run in runs(text):
        if _is_cjk(run):
            terms.update(run)
            terms.update(run[i:i + 2] for i in range(len(run) - 1))
        elif len(run) <= MAX_TERM_CHARS:
            terms.add(run)
    return terms


def item_postings(title: str, body: str) -> dict[str, bool]:
    """``{term: in_title}`` of an item: every term of its title and body, and whether the title has it."""
    in_title = text_terms(title)
    return {term: term in in_title for term in in_title | text_terms(body)}


@dataclass(frozen=True)
class Query:
    text: str                  # as the caller typed it, trimmed
    phrases: tuple[str, ...]   # the normalized runs: each must occur in the text (what the page highlights)
    terms: tuple[str, ...]     # the index terms to intersect, distinct


def parse_query(query) -> Query:
    """A search's text -> its phrases and terms; InvalidArgument when nothing searchable is left."""
    if not isinstance(query, str):
        raise InvalidArgument("搜索内容必须是文字", code="INVALID_TYPE", field="query")
    text = query.strip()
    if not text:
        raise InvalidArgument("请输入要搜索的内容", code="QUERY_EMPTY", field="query")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidArgument(f"搜索内容不能超过 {MAX_QUERY_CHARS} 个字", code="QUERY_TOO_LONG", field="query")
    if _CONTROL.search(text):
        raise InvalidArgument("内容含有不可见的控制字符，请删除后重试", code="CONTROL_CHARACTERS", field="query")
    phrases, terms = [], []
    for run in runs(text):
        run_term_list = run_terms(run)
        if run_term_list and run not in phrases:
            phrases.append(run)
            terms.extend(term for term in run_term_list if term not in terms)
    if not terms:
        raise InvalidArgument("搜索内容需要包含汉字、字母或数字", code="QUERY_NO_TERMS", field="query")
    return Query(text, tuple(phrases), tuple(terms[:MAX_QUERY_TERMS]))


def matches(query: Query, text: str) -> bool:
    """Whether every phrase of the query occurs in the text (the check behind the index's candidates)."""
    haystack = normalized(text)
    return all(phrase in haystack for phrase in query.phrases)


def snippet(query: Query, body: str, width: int = SNIPPET_CHARS) -> str:
    """A piece of the body around the first phrase found (its beginning when none is), at most ``width``
    characters, with an ellipsis where it was cut."""
    body = " ".join((body or "").split())
    haystack = normalized(body)
    # NFKC may change a text's length (ligatures, some compatibility forms): then fall back to the beginning
    positions = [haystack.find(phrase) for phrase in query.phrases] if len(haystack) == len(body) else []
    found = [position for position in positions if position >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    piece = body[start:start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(body) else "")


def rank_key(title_hit: bool, published_at: str | None, item_id: str) -> tuple:
    """Title matches before body matches, then the newest first (the id breaks ties, for stable pages)."""
    return (0 if title_hit else 1, _descending(published_at or ""), item_id)


def _descending(stamp_text: str) -> tuple:
    return tuple(-ord(char) for char in stamp_text)
