"""Who is staff, who is the client, and one stable key per client across channels.

``RoleAssigner(conversation) -> conversation`` gives every participant and turn a role:

1. staff by configuration (``[ingest] staff_addresses / staff_domains / staff_names``) -> agent;
2. a speaker labelled by role ("Agent", "Customer", "Kunde", "상담원", ...) -> that role;
3. a role the export itself states (a chat export's ``is_agent`` column) -> kept;
4. anyone else identified by an address, an account or a real name -> client;
5. placeholders ("Speaker 1", "SPEAKER_00", "spk_0") -> unknown, except that when staff is
   known in the conversation and exactly one other speaker is left, that speaker is the client.

The conversation's ``client_key`` is the first client's normalised e-mail address
(lower-cased, plus-tag removed, Gmail dots dropped), else their account id, else their
normalised name (case-folded, accents stripped, spaces collapsed). A ``ClientIndex`` fed with
every participant of the run (``observe``) lets a name resolve to the one address seen with
it, so a client who writes from ``jane.doe+shop@gmail.com`` and is "Jane Doe" in a call
transcript is one client. A conversation without any client gets ``unknown:<id>``.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from tonewatch.config import IngestConfig
from tonewatch.errors import ConfigError
from tonewatch.ingest._copy import replace
from tonewatch.schema import Conversation, Participant, Role

STAFF_KEYS = ("staff_addresses", "staff_domains", "staff_names")
# The roles as plain globals: an enum member read as ``Role.agent`` goes through a Python-level
# descriptor, several times per conversation.
_AGENT, _CLIENT, _UNKNOWN = Role.agent, Role.client, Role.unknown
UNKNOWN_CLIENT = "unknown:"
# Participants with roles, each turn's role, the client key (None: ``unknown:<id>``).
_Assigned = tuple[tuple[Participant, ...], tuple[Role, ...], str | None]

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_PLAIN_ADDRESS = re.compile(r"[\w%+-]+(?:\.[\w%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.ASCII)
_PHONE = re.compile(r"^\+?[\d\s().\-]{7,}$")
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = "\"'`<>()[]{}.,;:!?*_-"
_NUMBERED = re.compile(r"(?:[\s_#\-]+(?:\d+|[a-z])|\d+)$")  # "Agent 2", "agent_b", "agent2"
# Titles dropped from names, so "Mme Lefèvre" on a call is "Lefèvre" in her e-mail signature.
_HONORIFIC = re.compile(
    r"^(?:mr|mrs|ms|miss|dr|prof|mme|mlle|m|herr|frau|pan|pani|sr|sra|srta|don|dona|doña)\.?\s+"
)
# Diarisation placeholders: "Speaker 1", "SPEAKER_00", "spk_0", "Speaker A", "ch_1".
_PLACEHOLDER = re.compile(
    r"^(?:speaker|spk|participant|person|voice|channel|ch|unknown|unidentified|guest|"
    r"sprecher|locuteur|intervenant|hablante|mówca|rozmówca|화자|참석자|المتحدث|მოსაუბრე)"
    r"(?:[\s_#\-]*(?:\d+|[a-z]))?$|^(?:unknown speaker|\?+|-+)?$"
)
# Role words used as speaker labels by transcripts and chat exports, per language.
# fmt: off
_AGENT_WORDS = (
    "agent", "support", "operator", "staff", "advisor", "adviser", "representative", "rep",
    "helpdesk", "bot", "assistant", "customer service", "customer support",
    "mitarbeiter", "mitarbeiterin", "berater", "beraterin", "kundenservice",
    "conseiller", "conseillère", "service client", "agente", "asesor", "asesora",
    "atención al cliente", "konsultant", "konsultantka", "doradca", "상담원", "상담사",
    "موظف", "الموظف", "ოპერატორი",
)
_CLIENT_WORDS = (
    "customer", "client", "caller", "user", "kunde", "kundin", "anrufer", "anruferin",
    "cliente", "klient", "klientka", "고객", "عميل", "العميل", "კლიენტი", "მომხმარებელი",
)
# fmt: on


def normalize_name(name: str) -> str:
    """``" Sr. José  DE la Cruz "`` -> ``"jose de la cruz"`` (titles, accents, case, spacing
    removed)."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = unicodedata.normalize("NFC", stripped).casefold()
    name = _SPACES.sub(" ", folded).strip(_EDGE_PUNCTUATION + " ")
    return _HONORIFIC.sub("", name) if " " in name else name


def normalize_address(address: str) -> str | None:
    """An e-mail address as one client key: ``"<Jane.Doe+shop@GoogleMail.com>"`` ->
    ``"janedoe@gmail.com"``; None when ``address`` is not an e-mail address."""
    value = address.strip().strip("<>").removeprefix("mailto:").strip().lower()
    if not _EMAIL.match(value):
        return None
    local, domain = value.rsplit("@", 1)
    local = local.split("+", 1)[0] or local
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def normalize_account(account: str) -> str | None:
    """A chat handle, user id or phone number as a key (``"+48 601-234-567"`` ->
    ``"+48601234567"``, ``"@JaneD"`` -> ``"@janed"``)."""
    value = account.strip()
    if not value:
        return None
    if _PHONE.match(value):
        digits = re.sub(r"\D", "", value)
        return ("+" if value.startswith("+") else "") + digits
    return value.casefold()


@dataclass(frozen=True)
class Identity:
    """What identifies one speaker: a display name, e-mail addresses, account ids."""

    name: str = ""
    emails: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str | None, addresses: Iterable[str]) -> Identity:
        return _identity(name, tuple(addresses))

    @classmethod
    def _parse(cls, name: str | None, addresses: tuple[str, ...]) -> Identity:
        emails, accounts = [], []
        for address in addresses:
            if email := normalize_address(address):
                emails.append(email)
            elif account := normalize_account(address):
                accounts.append(account)
        display = (name or "").strip()
        if "@" in display:
            # A speaker given as "Jane Doe <jane@x.com>" or a bare address (most often, read
            # here as email.utils.parseaddr reads it, at a hundredth of its cost).
            if _PLAIN_ADDRESS.fullmatch(display):
                parsed_name, parsed_address = "", display
            else:
                parsed_name, parsed_address = parseaddr(display)
            if email := normalize_address(parsed_address):
                emails.append(email)
                display = parsed_name.strip()
        if not emails and display and _PHONE.match(display):
            accounts.append(normalize_account(display) or display)
        return cls(display, tuple(dict.fromkeys(emails)), tuple(dict.fromkeys(accounts)))

    @functools.cached_property
    def normalized_name(self) -> str:
        return normalize_name(self.name) if self.name else ""

    @functools.cached_property
    def is_placeholder(self) -> bool:
        """Nothing names them but a diarisation label ("Speaker 2", "spk_0", "")."""
        return not self.emails and not self.accounts and is_placeholder(self.name)

    @property
    def is_anonymous(self) -> bool:
        """Nothing but a placeholder or a role word ("Speaker 2", "Customer") names them."""
        return (
            not self.emails
            and not self.accounts
            and (is_placeholder(self.name) or role_label(self.name) is not None)
        )


@functools.lru_cache(maxsize=1 << 16)  # a thread names the same people in every message
def _identity(name: str | None, addresses: tuple[str, ...]) -> Identity:
    return Identity._parse(name, addresses)


def is_placeholder(name: str) -> bool:
    """Whether a speaker label names nobody ("Speaker 1", "SPEAKER_00", "")."""
    return bool(_PLACEHOLDER.match(normalize_name(name)))


_AGENT_LABELS = frozenset(map(normalize_name, _AGENT_WORDS))
_CLIENT_LABELS = frozenset(map(normalize_name, _CLIENT_WORDS))


def role_label(name: str) -> Role | None:
    """The role a label such as "Agent", "Customer 2" or "상담원" states, if any."""
    label = _NUMBERED.sub("", normalize_name(name)) if name else ""
    if label in _AGENT_LABELS:
        return Role.agent
    if label in _CLIENT_LABELS:
        return Role.client
    return None


@dataclass(frozen=True)
class StaffDirectory:
    """The staff named by configuration, normalised for matching."""

    addresses: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: IngestConfig) -> StaffDirectory:
        addresses = {normalize_address(a) or a.strip().lower() for a in config.staff_addresses}
        domains = {d.strip().lower().lstrip("@").lstrip(".") for d in config.staff_domains}
        return cls(
            frozenset(addresses),
            frozenset(d for d in domains if d),
            frozenset(normalize_name(n) for n in config.staff_names if n.strip()),
        )

    def __bool__(self) -> bool:
        return bool(self.addresses or self.domains or self.names)

    def is_staff(self, identity: Identity) -> bool:
        for email in identity.emails:
            domain = email.rsplit("@", 1)[1]
            if email in self.addresses or any(
                domain == d or domain.endswith("." + d) for d in self.domains
            ):
                return True
        if any(account in self.addresses for account in identity.accounts):
            return True
        return bool(identity.name) and identity.normalized_name in self.names


@dataclass
class ClientIndex:
    """Links between a client's name, accounts and address, learnt over a whole run.

    A name (or account) resolves to an address only when exactly one address was seen with it,
    so two different "John Smith"s are never merged. Memory grows with distinct clients, not
    with messages.
    """

    _linked: dict[str, str | None] = field(default_factory=dict)

    def observe(self, identity: Identity) -> None:
        best = identity.emails[0] if identity.emails else None
        if best is None and identity.accounts:
            best = identity.accounts[0]
        if best is None:
            return
        for alias in (*identity.accounts, identity.normalized_name):
            if alias and alias != best:
                known = self._linked.setdefault(alias, best)
                if known not in (best, None):
                    self._linked[alias] = None  # seen with two addresses: ambiguous

    def key(self, identity: Identity) -> str:
        if identity.emails:
            return identity.emails[0]
        for alias in (*identity.accounts, identity.normalized_name):
            if alias and (linked := self._linked.get(alias)):
                return linked
        return identity.accounts[0] if identity.accounts else identity.normalized_name


class RoleAssigner:
    """Callable ``conversation -> conversation`` setting roles and ``client_key``."""

    def __init__(self, staff: StaffDirectory, index: ClientIndex | None = None) -> None:
        self.staff = staff
        self.index = index if index is not None else ClientIndex()
        self._staff_of: dict[Identity, bool] = {}  # the same people, message after message
        # Participants with their role set, built once: the same people, thread after thread.
        self._with_role: dict[tuple[Participant, Role], Participant] = {}
        self._observed: set[Participant] = set()  # already in the index
        # What ``assign`` found for the same people with the same speakers: a client writes
        # to the same support address again and again. Forgotten when the index learns.
        self._assigned: dict[tuple[object, ...], _Assigned] = {}

    def is_staff(self, identity: Identity) -> bool:
        known = self._staff_of.get(identity)
        if known is None:
            if len(self._staff_of) >= 1 << 16:
                self._staff_of.clear()
            known = self._staff_of[identity] = self.staff.is_staff(identity)
        return known

    @classmethod
    def from_config(cls, config: IngestConfig, index: ClientIndex | None = None) -> RoleAssigner:
        return cls(StaffDirectory.from_config(config), index)

    def observe(self, conversation: Conversation) -> None:
        """Learn the name-address links of the conversation's non-staff participants."""
        self.observe_people(conversation.participants)

    def observe_people(self, participants: Iterable[Participant]) -> None:
        seen = self._observed
        for participant in participants:
            # Observing someone again changes nothing (``ClientIndex.observe``); the same
            # people write message after message.
            if participant in seen:
                continue
            if len(seen) >= 1 << 16:
                seen.clear()
            seen.add(participant)
            identity = Identity.of(participant.name, participant.addresses)
            if not self.is_staff(identity):
                self.index.observe(identity)
                self._assigned.clear()  # a client key may resolve otherwise now

    def __call__(self, conversation: Conversation) -> Conversation:
        turns = conversation.turns
        participants, roles, client_key = self.assign(
            conversation.id,
            conversation.participants,
            [turn.speaker for turn in turns],
            [turn.role for turn in turns],
        )
        return replace(
            conversation,
            participants=participants,
            turns=tuple(
                turn if turn.role is role else replace(turn, role=role)
                for turn, role in zip(turns, roles, strict=True)
            ),
            client_key=client_key,
        )

    def assign(
        self,
        conversation_id: str,
        participants: Sequence[Participant],
        speakers: list[str],
        stated: list[Role],
    ) -> tuple[tuple[Participant, ...], list[Role], str]:
        """What ``__call__`` sets, from a conversation's parts (its turns' speakers and the
        roles the turns state): the participants with their roles, each turn's role and the
        client key. The e-mail finishing step (``email_finish``) builds no models."""
        key = (*participants, None, *speakers, None, *stated)
        known = self._assigned.get(key)
        if known is None:
            if len(self._assigned) >= 1 << 14:
                self._assigned.clear()
            known = self._assigned[key] = self._assign(participants, speakers, stated)
        with_roles, turn_roles, client_key = known
        if client_key is None:
            client_key = UNKNOWN_CLIENT + conversation_id  # nobody to group with other files
        return with_roles, list(turn_roles), client_key

    def _assign(
        self, participants: Sequence[Participant], speakers: list[str], stated: list[Role]
    ) -> _Assigned:
        people, speaker_of = _people(participants, speakers)
        roles = [self._role(participant, identity) for participant, identity in people]
        if _AGENT in roles and roles.count(_UNKNOWN) == 1:
            roles[roles.index(_UNKNOWN)] = _CLIENT  # the one speaker left is the client
        with_roles = tuple(
            participant if participant.role is role else self._with(participant, role)
            for (participant, _), role in zip(people, roles, strict=True)
        )
        turn_roles = []
        for speaker, own in zip(speakers, stated, strict=True):
            role = roles[speaker_of[speaker]]
            if role is _UNKNOWN and own is not _UNKNOWN:
                role = own  # the export labelled this message itself
            turn_roles.append(role)
        first_client = next(
            (speaker_of[s] for s, r in zip(speakers, turn_roles, strict=True) if r is _CLIENT),
            roles.index(_CLIENT) if _CLIENT in roles else None,
        )
        identity = people[first_client][1] if first_client is not None else None
        if identity is None or identity.is_anonymous:
            return with_roles, tuple(turn_roles), None  # the key names the conversation
        return with_roles, tuple(turn_roles), self.index.key(identity)

    def _with(self, participant: Participant, role: Role) -> Participant:
        key = (participant, role)
        known = self._with_role.get(key)
        if known is None:
            if len(self._with_role) >= 1 << 16:
                self._with_role.clear()
            known = self._with_role[key] = replace(participant, role=role)
        return known

    def _role(self, participant: Participant, identity: Identity) -> Role:
        if self.is_staff(identity):
            return _AGENT
        if labelled := role_label(identity.name):
            return labelled
        if participant.role is not _UNKNOWN:
            return participant.role
        return _UNKNOWN if identity.is_placeholder else _CLIENT


def _people(
    participants: Iterable[Participant], speakers: list[str]
) -> tuple[list[tuple[Participant, Identity]], dict[str, int]]:
    """The participants with their identities, plus one for each speaker no participant
    names; and the index of each turn's speaker among them."""
    people: list[tuple[Participant, Identity]] = []
    by_key: dict[str, int] = {}
    for participant in participants:
        identity = Identity.of(participant.name, participant.addresses)
        index = len(people)
        people.append((participant, identity))
        for key in (*identity.emails, *identity.accounts, identity.normalized_name):
            if key:
                by_key.setdefault(key, index)
    speaker_of: dict[str, int] = {}
    for speaker in speakers:
        if speaker in speaker_of:
            continue
        identity = Identity.of(speaker, ())
        keys = (*identity.emails, *identity.accounts, identity.normalized_name)
        index = next((by_key[key] for key in keys if key in by_key), None)
        if index is None:
            index = len(people)
            participant = Participant(name=identity.name or None, addresses=identity.emails)
            people.append((participant, identity))
            for key in keys:
                if key:
                    by_key.setdefault(key, index)
        speaker_of[speaker] = index
    return people, speaker_of


def load_staff(path: str | Path) -> dict[str, list[str]]:
    """The ``[ingest]`` staff lists of a staff TOML file (the same keys as tonewatch.toml)."""
    try:
        with Path(path).open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the staff file ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    section = data.get("ingest", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: expected an [ingest] table with {', '.join(STAFF_KEYS)}")
    unknown = sorted(set(section) - set(STAFF_KEYS))
    if unknown or (set(data) - {"ingest"} and "ingest" in data):
        extra = unknown or sorted(set(data) - {"ingest"})
        raise ConfigError(
            f"{path}: a staff file holds only [ingest] {', '.join(STAFF_KEYS)}; found {extra}"
        )
    staff: dict[str, list[str]] = {}
    for key in STAFF_KEYS:
        values = section.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ConfigError(f"{path}: [ingest] {key} must be a list of strings")
        staff[key] = values
    return staff


def with_staff(config: IngestConfig, path: str | Path) -> IngestConfig:
    """``config`` with the staff of a staff file added to its own."""
    staff = load_staff(path)
    update = {key: list(dict.fromkeys([*getattr(config, key), *staff[key]])) for key in STAFF_KEYS}
    return config.model_copy(update=update)
