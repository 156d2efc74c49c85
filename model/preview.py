"""What a model reads: the text each part of a backend sees, and the contestants masked in it.

A post reaches a backend through one of two text views (model/text/): the `TextNormalizer`
(lower case, slang replaced, contestants of the election profiles masked to role tokens such as
"[calon]") or, for a pretrained encoder with `text_view = "raw"`, `light_text` (the post as
written, tidied). `netralitas normalize` prints them, so that a user can check what an election
profile does to a post before trusting a score:

>>> from netralitas.model.text.profiles import load_profiles
>>> view = normalizer_view(load_profiles(["data/elections/pilpres-2024.toml"]))
>>> view.read("Gas pol Pak Prabowo, coblos no 2! #PrabowoGibran")
'gas pol [calon], coblos no [nomor]! [tagar]'

`model_views` asks a loaded model for the views of its parts (a cascade has two: the screen and the
model; a frozen encoder with a stacked TF-IDF model has two as well), reading each backend's own
settings (`text_view`, `prefix`, `mask_profiles`) and its own normaliser, so the preview is the
text the backend reads, not a re-implementation of it. `MentionFinder` says which contestants of
which election were masked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from netralitas.model.backend import Classifier
from netralitas.model.text.light import light_text
from netralitas.model.text.normalize import CONTESTANT_TOKENS, NOMOR, TextNormalizer
from netralitas.model.text.profiles import Contestant, ElectionProfile

__all__ = ["Mention", "MentionFinder", "TextView", "model_views", "normalizer_view"]


@dataclass(frozen=True)
class TextView:
    """How one model part reads a post: a name for people, the function that reads a post and
    the one that reads its context (None: this part does not read contexts)."""

    name: str
    read: Callable[[str], str]
    read_context: Callable[[str], str] | None = None


def normalizer_view(profiles: Sequence[ElectionProfile] = (), mask: bool = True) -> TextView:
    """The `TextNormalizer` with `profiles` (what a TF-IDF model trained with them reads)."""
    normalizer = TextNormalizer(profiles, mask=mask)
    return TextView(f"normalised, {_masking(normalizer)}", normalizer, normalizer)


def _masking(normalizer: TextNormalizer) -> str:
    if not normalizer.mask:
        return "masking off"
    return "contestants masked" if normalizer.profiles else "no profiles (ballot numbers masked)"


def model_views(model: Classifier) -> list[TextView]:
    """The text each part of `model` reads, named by part and view.

    Raises TypeError for a backend that does not read through a normaliser (`normalizer`).
    """
    if getattr(model, "kind", None) == "cascade":
        screen, decider = model.screen, model.model  # type: ignore[attr-defined]
        return [
            *(TextView(f"screen {v.name}", v.read, v.read_context) for v in model_views(screen)),
            *(TextView(f"model {v.name}", v.read, v.read_context) for v in model_views(decider)),
        ]
    normalizer = getattr(model, "normalizer", None)
    if normalizer is None:
        raise TypeError(
            f"a {model.kind!r} model does not say how it reads text (no `normalizer`), so it "
            "cannot be shown; preview with --profile and no --model instead"
        )
    raw = getattr(model, "text_view", "normalized") == "raw"
    prefix = getattr(model, "prefix", "")
    name = f"{model.kind}: " + (
        "raw (light_text)" if raw else f"normalised, {_masking(normalizer)}"
    )
    name += f", prefix {prefix!r}" if prefix else ""
    use_context = getattr(model, "use_context", True)
    if hasattr(model, "encoder_inputs"):
        # A transformer: exactly the strings its tokenizer gets (the prefix is on the post only).
        encoder_inputs = model.encoder_inputs  # type: ignore[attr-defined]
        return [
            TextView(
                name,
                lambda text: encoder_inputs([text])[0][0],
                (lambda context: encoder_inputs([""], [context])[1][0]) if use_context else None,
            )
        ]
    body = light_text if raw else normalizer

    def read(text: str) -> str:
        return prefix + body(text)

    if hasattr(model, "blocks_"):  # TF-IDF: contexts only where a context block was fitted
        use_context = any(block == "context" for block, _ in model.blocks_)  # type: ignore[attr-defined]
    views = [TextView(name, read, read if use_context else None)]
    stacked = getattr(model, "tfidf_", None) if getattr(model, "stack_tfidf", False) else None
    if stacked is not None:
        views += [
            TextView(f"stacked {v.name}", v.read, v.read_context) for v in model_views(stacked)
        ]
    return views


@dataclass(frozen=True)
class Mention:
    """Role tokens that one contestant's names, aliases, parties, slogans or hashtags produced."""

    election: str
    contestant: str
    tokens: dict[str, int]


class MentionFinder:
    """Which contestants of `profiles` a post mentions, as masking sees them.

    Each contestant is tried on its own (a normaliser with only its phrases and its parties);
    its mention is the role tokens that normaliser produces beyond those of a normaliser with no
    profile (ballot numbers such as "no urut 2" are masked without any profile and are reported
    by `ballot_numbers`). A party shared by a coalition counts for each of its contestants.
    """

    def __init__(self, profiles: Sequence[ElectionProfile]) -> None:
        self._plain = TextNormalizer()
        self._single = [
            (profile.id, contestant, TextNormalizer([_only(profile, contestant)]))
            for profile in profiles
            for contestant in profile.contestants
        ]

    def ballot_numbers(self, text: str) -> int:
        """How many ballot numbers ("no urut 2", "paslon 02", "salam dua jari") are masked."""
        return self._plain(text).count(NOMOR)

    def mentions(self, text: str) -> list[Mention]:
        """The contestants whose own phrases are masked in `text`, in profile order."""
        base = _contestant_tokens(self._plain(text))
        found = []
        for election, contestant, normalizer in self._single:
            extra = _contestant_tokens(normalizer(text)) - base
            if extra:
                number = contestant.number
                index = "" if number is None else f"{number} "
                found.append(
                    Mention(
                        election, f"{index}({contestant.names[0]})", dict(sorted(extra.items()))
                    )
                )
        return found


def _only(profile: ElectionProfile, contestant: Contestant) -> ElectionProfile:
    parties = tuple(p for p in profile.parties if p.name in contestant.parties)
    return profile.model_copy(update={"contestants": (contestant,), "parties": parties})


def _contestant_tokens(normalized: str) -> Counter[str]:
    return Counter({t: normalized.count(t) for t in CONTESTANT_TOKENS if t in normalized})
