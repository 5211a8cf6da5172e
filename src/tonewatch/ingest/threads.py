"""Thread ids for email fragments, computed while streaming.

Every message becomes its own ``Conversation`` fragment; fragments of one thread share an id so
that a later stage can merge them. The id is derived from the thread's root Message-ID: the
first of a reply's References (or its In-Reply-To), a root's own Message-ID. Two small bounded
maps link messages read at different times:

* ``message-id -> thread``: a reply finds the thread of the message it answers, and a root read
  after one of its replies finds the thread that reply opened under the root's id, so threads
  linked by References get the same id in any reading order;
* ``subject key -> thread``: a message without References or In-Reply-To (a client that drops
  them, or a new message "Re: …" to the same people) joins the thread with the same normalised
  subject and the same set of participants.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable

# Reply/forward prefixes of common mail clients, per language: Re, Fwd/Fw, AW/WG (de), TR (fr),
# RV/Reenv (es), Odp/PD/Prz (pl), رد / إعادة توجيه (ar), 답장/회신/전달 (ko),
# პასუხი/გადაგზავნა (ka), SV/VS/Antw/Doorst/R/I/Rif/Enc/Res/YNT and CJK forms; "Re[2]:" and
# "Re(2):" counters; the fullwidth colon.
_PREFIX_WORDS = (
    r"re|fwd?|aw|wg|tr|rv|reenv|odp|pd|prz|sv|vs|antw|doorst|r|i|rif|enc|res|ynt|"
    r"رد|إعادة توجيه|اعادة توجيه|답장|회신|전달|პასუხი|გადაგზავნა|答复|回复|转发|回覆|轉寄"
)
_PREFIX = re.compile(
    rf"^\s*(?:(?:{_PREFIX_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[(?:external|ext)\]\s*)+",
    re.IGNORECASE,
)


def normalize_subject(subject: str | None) -> str:
    """``"RE: AW:  Invoice   #42"`` -> ``"invoice #42"`` (prefixes, case and spacing removed)."""
    if not subject:
        return ""
    prefix = _PREFIX.match(subject)
    if prefix:
        subject = subject[prefix.end() :]
    return " ".join(subject.split()).casefold()


def _hashed(key: str) -> str:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8)
    return "email-" + digest.hexdigest()


class ThreadIndex:
    """Assigns thread ids to messages in reading order (one per run, shared by the readers).

    ``max_ids`` bounds memory on huge archives: the oldest entries are forgotten first, which
    only matters for a message that arrives more than ``max_ids`` messages after its thread's
    last one.
    """

    def __init__(self, max_ids: int = 200_000) -> None:
        self.max_ids = max_ids
        # Ordered, so the oldest entry goes in O(1) (a plain dict must skip the holes its
        # deletions leave at its start: quadratic once the index is full).
        self._thread_of: OrderedDict[str, str] = OrderedDict()
        self._thread_by_subject: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._thread_of)

    def assign(
        self,
        message_id: str | None,
        references: tuple[str, ...],
        in_reply_to: str | None,
        subject: str | None,
        addresses: Iterable[str],
        fallback: str,
    ) -> tuple[str, str]:
        """The thread id of one message and how it was found: ``references`` (linked by
        References / In-Reply-To), ``subject`` (by subject and participants) or ``root`` (it
        starts a thread). ``fallback`` names a message without a Message-ID (file and index)."""
        related = [*references, in_reply_to] if in_reply_to else list(references)
        thread = None
        for known in (message_id, *related):
            if known and known in self._thread_of:
                thread, how = self._thread_of[known], "references"
                break
        normalized = normalize_subject(subject)
        key = f"{normalized}|{','.join(sorted(set(addresses)))}" if normalized else ""
        if thread is None:
            if related:
                thread, how = _hashed("root:" + related[0]), "references"
            elif key and key in self._thread_by_subject:
                thread, how = self._thread_by_subject[key], "subject"
            else:
                thread, how = _hashed("root:" + (message_id or fallback)), "root"
        for known in (message_id, *related):
            if known:
                _remember(self._thread_of, known, thread, self.max_ids)
        if key:
            _remember(self._thread_by_subject, key, thread, self.max_ids)
        return thread, how


def _remember(index: OrderedDict[str, str], key: str, thread: str, limit: int) -> None:
    if key in index:
        return
    if len(index) >= limit:
        index.popitem(last=False)
    index[key] = thread
