"""Thread ids for email fragments, computed while streaming.

Every message becomes its own ``Conversation`` fragment; fragments of one thread share an id so
that a later stage can merge them. The id comes from the thread's root Message-ID (References,
In-Reply-To) when the message has one; a message without them (a thread root, or a reply from a
client that drops the headers) falls back to its normalised subject plus its participants.

A small bounded map ``message-id -> thread id`` links the two: a root read first hands its
subject key to the replies that reference it, and a reply read first hands the root-id key to the
root when it arrives (its own Message-ID is already known). Order therefore only matters for a
reply without References whose root was reached through another reply first.
"""

from __future__ import annotations

import hashlib
import re
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
    """Assigns thread ids to messages in reading order (one instance per reader).

    ``max_ids`` bounds memory on huge archives: the oldest ids are forgotten first, which only
    matters for a reply that arrives more than ``max_ids`` messages after its thread's last one.
    """

    def __init__(self, max_ids: int = 200_000) -> None:
        self.max_ids = max_ids
        self._thread_of: dict[str, str] = {}

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
        """The thread id of one message, and how it was found (``references`` | ``subject`` |
        ``message``); remembers the message's ids for the messages that follow. ``fallback``
        names the message when it has neither ids nor a subject (e.g. file and index)."""
        related = [*references, in_reply_to] if in_reply_to else list(references)
        thread = None
        for known in (message_id, *related):
            if known and known in self._thread_of:
                thread = self._thread_of[known]
                break
        how = "references"
        if thread is None:
            if related:
                thread = _hashed("root:" + related[0])
            elif normalized := normalize_subject(subject):
                people = ",".join(sorted(set(addresses)))
                thread, how = _hashed(f"subject:{normalized}|{people}"), "subject"
            else:
                # Nothing to thread by and no subject to group by: a thread of its own.
                thread, how = _hashed("root:" + (message_id or fallback)), "message"
        for known in (message_id, *related):
            if known:
                self._remember(known, thread)
        return thread, how

    def _remember(self, message_id: str, thread: str) -> None:
        if message_id in self._thread_of:
            return
        if len(self._thread_of) >= self.max_ids:
            del self._thread_of[next(iter(self._thread_of))]
        self._thread_of[message_id] = thread
