"""The one text normalisation used by training, scoring and the API.

It first reads through obfuscation (`deobfuscate`: "cob\u200blos", "cоblos" with a Cyrillic о,
"ｃｏｂｌｏｓ", "c o b l o s", "c0bl0s", "coblos ✌️"), the first step of every text view. Then:
social-media Indonesian is noisy: mojibake, emoji, "mantaaap", "gk", "#PilihOrangBaik", "no urut 2".
`TextNormalizer` turns a post into a canonical lower-case form and, given election profiles, replaces
every mention of a contestant with a role token so that models learn stance language, not names:

>>> TextNormalizer()("Mantaaap 👍 gk sabar coblos no urut 2!! #PilihOrangBaik https://t.co/x")
'mantap jempol ke atas tidak sabar coblos no urut [nomor]! pilih orang baik [url]'

It is idempotent (normalising twice changes nothing) and needs no torch.

`TextNormalizer.mentions_contestant` is the one definition of "this post mentions a contestant"
(masking would put a contestant role token in it); evaluation slices and robustness checks use it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from importlib import resources

from netralitas.model.text.deobfuscate import deobfuscate
from netralitas.model.text.profiles import ElectionProfile, split_words

__all__ = ["CONTESTANT_TOKENS", "ROLE_TOKENS", "TextNormalizer", "load_lexicon", "normalize_text"]

# Role tokens. Lower case and bracketed so that lower-casing and the slang lexicon never touch them.
URL, USER = "[url]", "[user]"
CALON, NOMOR, PARTAI, TAGAR, SLOGAN = "[calon]", "[nomor]", "[partai]", "[tagar]", "[slogan]"
ROLE_TOKENS = (URL, USER, CALON, NOMOR, PARTAI, TAGAR, SLOGAN)
# The role tokens that stand for a contestant: its name or alias, ballot number, party, slogan or
# campaign hashtag (every role token except [url] and [user]). See `TextNormalizer.mentions_contestant`.
CONTESTANT_TOKENS = (CALON, NOMOR, PARTAI, TAGAR, SLOGAN)

_MOJIBAKE = re.compile(
    "[\u00c2-\u00f0][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)
_MASKS = re.compile(
    r"\[\s*(username|user|mention|url|link)\s*\]|<\s*(username|user|url|link)\s*>", re.I
)
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|id|co|net|org|ly|me|io)/\S*", re.I
)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_RETWEET = re.compile(r"(?:^|(?<=\s))rt\s*(?:\[user\]|@\w+)?\s*:", re.I)
_SKIN_TONE = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
# Code points where emoji live (plus keycap and regional-indicator pieces); runs are looked up whole.
_EMOJI_RUN = re.compile(
    "[0-9#*]?[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u27bf\u2934\u2935"
    "\u2b05-\u2b55\u3030\u303d\u3297\u3299\u20e3\U0001f000-\U0001faff\ufe0f\u200d]+"
)
_LONGEST_EMOJI = 8
_HASHTAG = re.compile(r"#(\w+)")
_REDUP = re.compile(r"\b([a-z]{2,})2\b")
_ELONGATED = re.compile(r"([a-z])\1{2,}")
_PUNCT_RUN = re.compile(r"([!?.,])\1+")
_PHRASE_WORD = re.compile(r"(?<!\[)[a-z0-9']+")
_JOINER_CHARS = " \t\n-/&.'"
_WORD = re.compile(r"\[[a-z]+\]|[a-z0-9]+")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" ([!?.,;:])(?=\s|$)")

_NUMBER_WORDS = "satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh"
_BALLOT_CUES = (
    r"no|nomor|nomer|nmr|nomor urut|no urut|nourut|urut|paslon|pasangan calon|coblos|nyoblos|"
    r"dicoblos|pilih|capres|cagub|cabup|cawalkot|caleg|calon|kandidat|salam|angka"
)
# "coblos no 2", "paslon 3", "nomor urut 01", "salam dua jari", "3 jari".
_BALLOT = re.compile(
    rf"\b((?:{_BALLOT_CUES})\s?)(0?\d{{1,2}}|{_NUMBER_WORDS})\b(?!\s?(?:%|persen|juta|ribu|rb|jt|tahun|thn|hari|jam|menit|kali|orang|x\b))"
)
_FINGERS = re.compile(rf"\b(0?\d|{_NUMBER_WORDS})(\s?jari)\b")
# A bare "01".."09" is a ballot number unless it numbers a place: "RT 01", "TPS 02", "jam 01".
_PADDED = re.compile(r"(?:\b(\w+)\s)?(?<![\w.,:/-])(0[1-9])(?![\w]|[.,:/-]\d)")
_NOT_BALLOT_BEFORE = frozenset(
    "rt rw tps kelas lantai blok gang gg jam pukul tanggal tgl bulan kamar ruang pos kode no.telp".split()
)
# Short or ambiguous aliases ("AMIN" vs "amin", "PAN" vs "pan") count only when written in capitals.
_AMBIGUOUS = frozenset(
    "amin aamiin amiin pan ummat umat as ok pas bang mas pak bu ibu kak adik".split()
)


def _mask_token(match: re.Match[str]) -> str:
    """An existing mask such as "[USERNAME]" or "<url>" becomes our own token."""
    name = (match.group(1) or match.group(2)).lower()
    return f" {URL if name in ('url', 'link') else USER} "


@functools.cache
def load_lexicon() -> dict[str, str]:
    """The informal -> formal lexicon shipped in `resources/slang.tsv` (loaded once, on first use)."""
    text = resources.files(__package__).joinpath("resources/slang.tsv").read_text(encoding="utf-8")
    lexicon: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            informal, formal = line.split("\t")
            lexicon[informal.strip()] = formal.strip()
    return lexicon


@functools.cache
def _segmentation_vocab() -> frozenset[str]:
    text = resources.files(__package__).joinpath("resources/words.txt").read_text(encoding="utf-8")
    words = {w for w in text.split() if not w.startswith("#")}
    lexicon = load_lexicon()
    words.update(lexicon)
    words.update(w for formal in lexicon.values() for w in formal.split())
    return frozenset(words)


def _segment(word: str, vocab: frozenset[str]) -> list[str] | None:
    """Split a run-together lower-case hashtag into known words ('pilihorangbaik' -> 3 words).

    Dynamic programming that prefers the fewest pieces; returns None when the word cannot be
    covered by known words (it is then kept whole rather than cut into nonsense).
    """
    n = len(word)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            piece = word[start:end]
            prev = best[start]
            known = prev is not None and (piece in vocab or piece.isdigit())
            if known and (best[end] is None or len(prev) + 1 < len(best[end])):
                best[end] = [*prev, piece]
    return best[n]


class TextNormalizer:
    """Normalise Indonesian social-media text; optionally mask contestants of given elections.

    Parameters
    ----------
    profiles:
        Election profiles whose contestants, parties, slogans and hashtags become role tokens.
    mask:
        When False, no role tokens for contestants or ballot numbers are produced (URLs and
        @mentions are still masked): the "without profile masking" ablation.
        `mentions_contestant` answers the same either way.
    """

    def __init__(self, profiles: Sequence[ElectionProfile] = (), mask: bool = True) -> None:
        self.profiles = tuple(profiles)
        self.mask = mask
        self._lexicon = load_lexicon()
        self._hashtags: dict[str, str] = {}
        self._caps: re.Pattern[str] | None = None
        self._caps_role: dict[str, str] = {}
        self._phrase_role: dict[str, str] = {}
        self._phrase_starts: frozenset[str] = frozenset()
        self._phrase_prefixes: frozenset[str] = frozenset()
        self._max_words = 0
        self._segment_vocab: frozenset[str] = frozenset()
        self._masked_twin: TextNormalizer | None = None  # built on first use when mask=False
        if mask:
            self._compile(self.profiles)

    # -- the one definition of a mention ---------------------------------------------------------
    def mentions_contestant(self, text: str) -> bool:
        """Whether `text` mentions a contestant of this normaliser's profiles.

        THE rule, used by masking, evaluation slices and the robustness checks alike: a post
        mentions a contestant when normalising it with profile masking yields a contestant role
        token (`CONTESTANT_TOKENS`): a name or alias (with the capitals-only rule for short or
        ambiguous aliases), a party, a slogan, a campaign hashtag or a ballot number ("no urut 2",
        "paslon 02", "salam dua jari"; these count even without profiles). Role tokens already in
        the text count too, so a text and its masked normalised form get the same answer (the
        unmasked form may not: "SL" lower-cased is no longer the capitals-only alias).

        The answer does not depend on `mask`: a normaliser built with `mask=False` asks a masking
        twin with the same profiles (built once, on first use).
        """
        masker = self if self.mask else self._masking_twin()
        normalized = masker(text)
        return any(token in normalized for token in CONTESTANT_TOKENS)

    def _masking_twin(self) -> TextNormalizer:
        if self._masked_twin is None:
            self._masked_twin = TextNormalizer(self.profiles, mask=True)
        return self._masked_twin

    # -- compilation -----------------------------------------------------------------------------
    def _canonical(self, phrase: str) -> str:
        """A profile phrase in the form it has inside normalised text (same steps as `__call__`)."""
        phrase = deobfuscate(phrase)[0].replace("’", "'")
        return " ".join(self._basic(" ".join(split_words(phrase))).split())

    def _compile(self, profiles: Iterable[ElectionProfile]) -> None:
        role_of: dict[str, str] = {}  # canonical phrase -> role token; the first role wins
        for profile in profiles:
            entries = [(n, CALON) for c in profile.contestants for n in (*c.names, *c.aliases)]
            entries += [(s, SLOGAN) for c in profile.contestants for s in c.slogans]
            entries += [(n, PARTAI) for p in profile.parties for n in (p.name, *p.aliases)]
            for phrase, role in entries:
                canon = self._canonical(phrase)
                if not canon:
                    continue
                if canon in _AMBIGUOUS or len(canon.replace(" ", "")) <= 2:
                    # Ambiguous on its own ("amin", "pan"): only the capitals form is a mention.
                    self._caps_role.setdefault(phrase.strip().upper(), role)
                else:
                    role_of.setdefault(canon, role)
                # Names written as one word inside hashtags: #PrabowoSandi, #PartaiMaju.
                self._hashtags.setdefault(canon.replace(" ", ""), role)
            for contestant in profile.contestants:
                for tag in contestant.hashtags:
                    self._hashtags[tag.lower()] = TAGAR
        # Phrases are matched word by word on their compact form ("prabowo sandi", "prabowo-sandi"
        # and "prabowosandi" are one key), which is far faster than one regex alternation of
        # hundreds of names.
        self._phrase_role = {
            canon.replace(" ", "").replace("'", ""): r for canon, r in role_of.items()
        }
        self._phrase_starts = frozenset(
            w for canon in role_of for w in (canon.split()[0].replace("'", ""),)
        ) | frozenset(self._phrase_role)
        self._max_words = max((len(canon.split()) for canon in role_of), default=0)
        self._phrase_prefixes = frozenset(
            key[:n] for key in self._phrase_role for n in range(1, len(key) + 1)
        )
        self._segment_vocab = frozenset(w for phrase in role_of for w in phrase.split())
        if self._caps_role:
            body = "|".join(re.escape(c) for c in sorted(self._caps_role, key=len, reverse=True))
            self._caps = re.compile(rf"(?<![\w\[])(?:{body})(?![\w\]])")

    # -- the steps -------------------------------------------------------------------------------
    def _basic(self, text: str) -> str:
        """Lower-case, reduplication ("hati2"), elongation ("mantaaap") and the slang lexicon."""
        text = text.lower()
        if "2" in text:
            text = _REDUP.sub(r"\1-\1", text)
        text = _ELONGATED.sub(r"\1", text)
        text = _PUNCT_RUN.sub(r"\1", text)
        lexicon = self._lexicon
        return _WORD.sub(lambda m: lexicon.get(m.group(), m.group()), text)

    def _hashtag(self, match: re.Match[str]) -> str:
        body = match.group(1)
        key = body.lower()
        if self.mask and key in self._hashtags:
            return f" {self._hashtags[key]} "
        words = split_words(body)
        if len(words) == 1 and len(key) > 6 and not key.isdigit():
            words = _segment(key, _segmentation_vocab() | self._segment_vocab) or words
        return " " + " ".join(words) + " "

    def _mask_phrases(self, text: str) -> str:
        """Replace the longest profile phrase starting at each word with its role token."""
        if self._phrase_starts.isdisjoint(_PHRASE_WORD.findall(text.replace("'", ""))):
            return text
        tokens = [
            (m.start(), m.end(), m.group().replace("'", "")) for m in _PHRASE_WORD.finditer(text)
        ]
        out: list[str] = []
        pos = i = 0
        while i < len(tokens):
            if tokens[i][2] not in self._phrase_starts:
                i += 1
                continue
            # Grow the span word by word while the words are joined ("prabowo sandi",
            # "prabowo-sandi") and still spell the start of some phrase; keep the longest phrase.
            key, found = "", None
            for j in range(i, min(i + self._max_words, len(tokens))):
                if j > i and text[tokens[j - 1][1] : tokens[j][0]].strip(_JOINER_CHARS):
                    break
                key += tokens[j][2]
                if key not in self._phrase_prefixes:
                    break
                found = (j, self._phrase_role[key]) if key in self._phrase_role else found
            if found is None:
                i += 1
                continue
            last, role = found
            out.append(f"{text[pos : tokens[i][0]]} {role} ")
            pos, i = tokens[last][1], last + 1
        return "".join(out) + text[pos:] if out else text

    @staticmethod
    def _padded(match: re.Match[str]) -> str:
        before = match.group(1)
        if before and before in _NOT_BALLOT_BEFORE:
            return match.group()
        return f"{before} {NOMOR}" if before else NOMOR

    def __call__(self, text: str) -> str:
        """Return the normalised form of one post."""
        if not text.isascii() and _MOJIBAKE.search(text):
            import ftfy  # local: only mojibake needs it, and it is slowish to import

            # Mojibake is an encoding accident, not obfuscation: repaired before anything is read.
            text = ftfy.fix_text(text)
        text = deobfuscate(text)[0]  # NFC included
        if not text.isascii():
            text = self._emoji(text.replace("’", "'").replace("‘", "'"))
        # Cheap substring guards skip patterns that cannot match (most posts have no URL, etc.).
        if "[" in text or "<" in text:
            text = _MASKS.sub(_mask_token, text)
        if "/" in text or "www." in text:
            text = _URL.sub(f" {URL} ", text)
        if "@" in text:
            text = _MENTION.sub(f" {USER} ", text)
        if ":" in text:
            text = _RETWEET.sub(" ", text)
        if self._caps is not None:
            text = self._caps.sub(lambda m: f" {self._caps_role[m.group()]} ", text)
        if "#" in text:
            text = _HASHTAG.sub(self._hashtag, text)
        text = self._basic(text)
        if self.mask:
            if self._max_words:
                text = self._mask_phrases(text)
            text = _BALLOT.sub(rf"\1{NOMOR}", text)
            if "jari" in text:
                text = _FINGERS.sub(rf"{NOMOR}\2", text)
            if "0" in text:
                text = _PADDED.sub(self._padded, text)
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text).strip())
        return _PUNCT_RUN.sub(r"\1", text)

    @staticmethod
    def _emoji(text: str) -> str:
        if not _EMOJI_RUN.search(text):
            return text
        names = _emoji_names()
        return _EMOJI_RUN.sub(lambda m: _name_run(m.group(), names), _SKIN_TONE.sub("", text))


@functools.cache
def _emoji_names() -> dict[str, str]:
    """Every emoji (skin tones, variation selectors and joiners removed) -> Indonesian words.

    Built once from the `emoji` package's Indonesian names; looking runs up in a dict is many
    times faster than `emoji.demojize`, which walks every character of every post.
    """
    import emoji

    names = {}
    for char in emoji.EMOJI_DATA:
        key = _SKIN_TONE.sub("", char)
        name = emoji.demojize(char, language="id", delimiters=("", ""))
        if key and name != char:
            names.setdefault(key, name.replace("_", " ").strip())
    return names


def _name_run(run: str, names: dict[str, str]) -> str:
    """Greedy longest match of a run of emoji characters; unknown characters are kept."""
    out, i = [], 0
    while i < len(run):
        for size in range(min(_LONGEST_EMOJI, len(run) - i), 0, -1):
            name = names.get(run[i : i + size])
            if name:
                out.append(f" {name} ")
                i += size
                break
        else:
            out.append(run[i])
            i += 1
    return "".join(out)


_DEFAULT: TextNormalizer | None = None


def normalize_text(text: str) -> str:
    """Normalise one post without any election profile (a shared, lazily built normaliser)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = TextNormalizer()
    return _DEFAULT(text)
