"""Election profiles: who the contestants of one election are, read from `data/elections/*.toml`.

A profile lists every way people refer to a contestant (names, nicknames, ballot numbers, parties,
slogans, campaign hashtags). Normalisation replaces those mentions with role tokens so that a model
learns *stance language* ("coblos", "lanjutkan", "jangan pilih") instead of names, and keeps working
on an election it was not trained on once that election's profile is supplied.

Validation goes beyond the types:

- a hashtag is stored as it appears after the "#": a leading "#" and surrounding spaces are
  stripped ("#AMIN2024" -> "AMIN2024"), and one that could never match a hashtag in a post (a
  space, "-", "." inside) is an error;
- a phrase (name, alias, slogan) or hashtag that belongs to two contestants is an error naming
  both places: masking could not tell them apart, and the contestant-swap robustness check would
  swap a name for itself. Phrases are compared folded as the normaliser matches them (case, word
  breaks, "-", "'" and letters repeated three times or more ignored; `fold_phrase`), so "Kang
  Sukma" and "kang-sukma" are the same phrase.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "Contestant",
    "ElectionProfile",
    "Party",
    "ProfileError",
    "fold_phrase",
    "load_profile",
    "load_profiles",
    "profile_from_toml",
]

PROFILE_FORMAT_VERSION = 1
_HASHTAG_BODY = re.compile(r"\w+")  # what follows "#" in a post (model/text/normalize.py)
_NOT_WORD = re.compile(r"\W")
_ELONGATED = re.compile(r"([a-z])\1{2,}")  # "mantaaap" -> "mantap", as the normaliser does
ElectionType = Literal["pilpres", "pileg", "pilgub", "pilbup", "pilwalkot", "dpd"]


class ProfileError(ValueError):
    """An election profile file is missing or does not follow the profile schema."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Frozen):
    """A party taking part in the election, with the forms people write it in."""

    name: str = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    number: int | None = Field(default=None, ge=0, le=99)


class Contestant(_Frozen):
    """A candidate or candidate pair (or a legislative candidate) on the ballot."""

    number: int | None = Field(default=None, ge=0, le=999)
    names: tuple[str, ...] = Field(min_length=1)
    aliases: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    slogans: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = Field(
        default=(), description='as written after the "#" ("AMIN2024"); a leading "#" is stripped'
    )

    @field_validator("hashtags")
    @classmethod
    def _bare_hashtags(cls, hashtags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_bare_hashtag(tag) for tag in hashtags)

    def label(self) -> str:
        """How messages name this contestant: "number 2, 'Hendro Wibisono'"."""
        number = f"number {self.number}, " if self.number is not None else ""
        return f"{number}{self.names[0]!r}"


class ElectionProfile(_Frozen):
    """One election: its contestants and parties (schema: data/elections/template-regional.toml)."""

    format_version: int = PROFILE_FORMAT_VERSION
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    election_type: ElectionType
    region: str
    year: int = Field(ge=1945, le=2100)
    fictional: bool = False
    contestants: tuple[Contestant, ...] = Field(min_length=1)
    parties: tuple[Party, ...] = ()

    @model_validator(mode="after")
    def _check_references(self) -> ElectionProfile:
        if self.format_version > PROFILE_FORMAT_VERSION:
            raise ValueError(
                f"format_version {self.format_version} is newer than this netralitas supports "
                f"({PROFILE_FORMAT_VERSION}); upgrade netralitas"
            )
        known = {p.name for p in self.parties}
        for contestant in self.contestants:
            missing = [p for p in contestant.parties if p not in known]
            if missing:
                raise ValueError(
                    f"contestant {contestant.names[0]!r} names parties {missing} that are not "
                    f"defined in [[parties]]; add a [[parties]] entry with name = {missing[0]!r}"
                )
        _check_unambiguous(self.contestants)
        return self

    def hashtags(self) -> Iterable[str]:
        for contestant in self.contestants:
            yield from contestant.hashtags


def _bare_hashtag(tag: str) -> str:
    """A hashtag as it appears after the "#", or a ValueError saying how to write it."""
    bare = tag.strip().lstrip("#").strip()
    if not bare:
        raise ValueError(f"hashtag {tag!r} is empty; write the tag without '#', e.g. 'AMIN2024'")
    if not _HASHTAG_BODY.fullmatch(bare):
        others = "".join(sorted(set(_NOT_WORD.findall(bare))))
        raise ValueError(
            f"hashtag {tag!r} can never match a post: a hashtag is letters, digits and '_' after "
            f"the '#' (found {others!r} in it); write it as people type it, e.g. "
            f"{_NOT_WORD.sub('', bare)!r}"
        )
    return bare


def fold_phrase(phrase: str) -> str:
    """A name, alias, slogan or hashtag folded the way the normaliser matches it (its slang
    lexicon aside): lower case, word breaks, "-" and "'" ignored, letters repeated three times or
    more made single.

    >>> fold_phrase("Kang-Sukma"), fold_phrase("KANG SUKMA"), fold_phrase("#KangSukma")
    ('kangsukma', 'kangsukma', 'kangsukma')
    """
    words = split_words(phrase.replace("’", "'"))
    return _ELONGATED.sub(r"\1", "".join(words).replace("'", ""))


def _check_unambiguous(contestants: Sequence[Contestant]) -> None:
    """No phrase or hashtag may belong to two contestants (see the module docstring)."""
    owner: dict[str, tuple[int, str, str]] = {}  # folded -> (contestant index, field, as written)
    clashes: list[str] = []
    for i, contestant in enumerate(contestants):
        seen_here: set[str] = set()
        for field in ("names", "aliases", "slogans", "hashtags"):
            for written in getattr(contestant, field):
                key = fold_phrase(written)
                if not key or key in seen_here:
                    continue
                seen_here.add(key)
                first = owner.setdefault(key, (i, field, written))
                if first[0] != i:
                    j, first_field, first_written = first
                    clashes.append(
                        f"{first_written!r} in {first_field} of contestant {j + 1} "
                        f"({contestants[j].label()}) and {written!r} in {field} of contestant "
                        f"{i + 1} ({contestant.label()})"
                    )
    if clashes:
        raise ValueError(
            "a name, alias, slogan or hashtag must belong to one contestant only (masking and the "
            "contestant swap could not tell them apart); found the same phrase (compared ignoring "
            f"case, spaces, '-' and \"'\") under two contestants: {'; '.join(clashes)}. Keep it "
            "under the contestant it refers to and remove it from the other"
        )


def profile_from_toml(text: str, source: str = "<string>") -> ElectionProfile:
    """Parse and validate a profile from TOML text; errors name `source` and the field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: not valid TOML ({exc}); fix the syntax") from exc
    try:
        return ElectionProfile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field {'.'.join(str(p) for p in err['loc']) or '<root>'}: "
            + err["msg"].removeprefix("Value error, ")
            # Our own checks (value_error) say what they found; the whole file is no help.
            + (
                ""
                if err["type"] in ("missing", "value_error")
                else f" (found {err.get('input')!r})"
            )
            for err in exc.errors()
        )
        raise ProfileError(
            f"{source}: not a valid election profile: {problems}. "
            "See data/elections/template-regional.toml for the expected fields."
        ) from exc


def load_profile(path: str | Path) -> ElectionProfile:
    """Load one profile file."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError(
            f"election profile {path} does not exist; expected a TOML file such as "
            "data/elections/pilpres-2024.toml"
        )
    return profile_from_toml(path.read_text(encoding="utf-8"), source=str(path))


def load_profiles(paths: Sequence[str | Path]) -> tuple[ElectionProfile, ...]:
    """Load several profiles (a directory stands for every `*.toml` in it, templates excluded)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(f for f in sorted(p.glob("*.toml")) if not f.name.startswith("template"))
        else:
            files.append(p)
    profiles = tuple(load_profile(f) for f in files)
    ids = [p.id for p in profiles]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ProfileError(f"profile ids must be unique; found {dup} more than once in {files}")
    return profiles


def split_words(phrase: str) -> list[str]:
    """Split a name or hashtag into lower-case words: 'JokowiLagi' -> ['jokowi', 'lagi']."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", phrase)
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", spaced)
    return [w for w in re.split(r"[^\w']+|_", spaced.lower()) if w]
