"""Robustness: does the decision survive edits that should not change it?

Each perturbation rewrites the text (and the context, the same way) of every post it applies to, and
the flip rate is the share of those posts whose decided label changes:

- `swap_contestants`: every name, alias and campaign hashtag of a contestant becomes the matching
  form of another contestant of the same election (from the election profiles; pair 1 -> 2 -> ... ->
  1). Stance-preserving: "coblos Prabowo" and "coblos Jokowi" both take a side, so the label should
  not change. With profile masking both read "[calon]"; without it, flips show a model that learned
  names. Only texts (and contexts) that mention a contestant by `TextNormalizer.mentions_contestant`,
  the rule of the "contestant" slice, are rewritten, and only forms that rule sees as mentions.
- `remove_hashtags`: every `#hashtag` is deleted. Not strictly stance-preserving (a campaign hashtag
  can be the only partisan signal), so read it as the model's reliance on hashtags.
- `slang_raw`: the same post written formally versus in slang. `TextNormalizer` always applies the
  slang lexicon, so "the model without slang normalisation" does not exist; instead the *input* is
  varied: the reference is the post with every known slang word expanded to its formal form
  (`load_lexicon`), the perturbed text has every formal word that has a slang form in the lexicon
  contracted to one of them (the inverted lexicon, variant picked with a seeded generator). A perfect
  normaliser maps both to the same text, so flips show where the normalisation is not consistent.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from netralitas.evaluation.metrics import wilson_interval
from netralitas.model.backend import Classifier
from netralitas.model.decision import decide, side_scores
from netralitas.model.records import Record
from netralitas.model.text.normalize import TextNormalizer, load_lexicon
from netralitas.model.text.profiles import ElectionProfile

__all__ = [
    "ContestantSwapper",
    "Perturbation",
    "contract_slang",
    "default_perturbations",
    "expand_slang",
    "remove_hashtags",
    "robustness",
]

Rewrite = Callable[[str, str | None], str]  # (text, election id or None) -> text


@dataclass(frozen=True)
class Perturbation:
    """A named rewrite; `reference` (None: the original text) is what it is compared with."""

    name: str
    description: str
    perturb: Rewrite
    reference: Rewrite | None = None


class ContestantSwapper:
    """Replace each mention of a contestant by the matching form of the next contestant.

    What counts as a mention is the normaliser's rule (`TextNormalizer.mentions_contestant`, the
    rule the evaluation slices use too), not this class's: a text that the normaliser says mentions
    no contestant is returned unchanged, and each name, alias or campaign hashtag found in the
    profile's table is rewritten only when the normaliser sees a contestant in that form as written
    (so "SL", "PAN" or "AMIN" versus "sl", "pan" or "amin" follow the normaliser's capitals rule). The
    table only supplies the surface forms and what to write instead. Ballot numbers, parties and
    slogans are mentions too but are not rewritten, so a post mentioning only those is unchanged.

    The election is the record's `election` when a profile has that id, else the profile whose
    mentions cover most of the text.

    >>> swap = ContestantSwapper([profile])  # doctest: +SKIP
    >>> swap("Coblos Pak Hendro! #HendroJuara", None)  # doctest: +SKIP
    'Coblos Kang Sukma! #SukmaLestari'
    """

    def __init__(self, profiles: Sequence[ElectionProfile]) -> None:
        profiles = tuple(profiles)
        # All profiles, as in the slices: a mention of any of them is a mention.
        self.normalizer = TextNormalizer(profiles)
        self._tables = {p.id: self._compile(p) for p in profiles if len(p.contestants) > 1}
        self._form_is_mention: dict[str, bool] = {}

    @staticmethod
    def _compile(
        profile: ElectionProfile,
    ) -> tuple[re.Pattern[str], tuple[dict[str, str], ...]]:
        contestants = profile.contestants
        # Replacement of a form found in the text: looked up as written among short or all-capital
        # forms ("AHY"), then lower-cased among the others, then lower-cased among all (a short
        # form the normaliser also accepts in another case).
        exact: dict[str, str] = {}
        plain: dict[str, str] = {}
        folded: dict[str, str] = {}
        for i, contestant in enumerate(contestants):
            target = contestants[(i + 1) % len(contestants)]
            pairs = [
                (n, target.names[min(k, len(target.names) - 1)])
                for k, n in enumerate(contestant.names)
            ]
            fallback = target.aliases or target.names
            pairs += [(a, fallback[k % len(fallback)]) for k, a in enumerate(contestant.aliases)]
            tags = target.hashtags or tuple(n.replace(" ", "") for n in target.names)
            pairs += [
                (f"#{h}", f"#{tags[k % len(tags)]}") for k, h in enumerate(contestant.hashtags)
            ]
            for form, replacement in pairs:
                word = form.lstrip("#")
                if len(word) <= 3 or word.isupper():
                    exact.setdefault(form, replacement)
                else:
                    plain.setdefault(form.lower(), replacement)
                folded.setdefault(form.lower(), replacement)
        body = "|".join(re.escape(f) for f in sorted(folded, key=len, reverse=True))
        # Any case here; whether a form as written is a mention is the normaliser's decision.
        return re.compile(rf"(?<![\w#@])(?:{body})(?!\w)", re.I), (exact, plain, folded)

    def _is_mention(self, form: str) -> bool:
        """Whether the normaliser sees a contestant in `form` as written (cached per form)."""
        known = self._form_is_mention.get(form)
        if known is None:
            known = self._form_is_mention[form] = self.normalizer.mentions_contestant(form)
        return known

    def _replace(self, match: re.Match[str], tables: tuple[dict[str, str], ...]) -> str:
        found = match.group()
        exact, plain, folded = tables
        replacement = exact.get(found) or plain.get(found.lower()) or folded.get(found.lower())
        if replacement is None or not self._is_mention(found):
            return found
        if found.isupper() and len(found) > 3:
            return replacement.upper()
        return replacement.lower() if found.islower() else replacement

    def _pick(self, text: str, election: str | None) -> str | None:
        if election in self._tables:
            return election
        # The election whose mentions cover most of the text ("Prabowo Sandi" beats "Sandi").
        covered = {
            pid: sum(len(m.group()) for m in pattern.finditer(text) if self._is_mention(m.group()))
            for pid, (pattern, _) in self._tables.items()
        }
        best = max(covered, key=covered.__getitem__, default=None)
        return best if best is not None and covered[best] else None

    def __call__(self, text: str, election: str | None = None) -> str:
        if not self._tables or not self.normalizer.mentions_contestant(text):
            return text
        pid = self._pick(text, election)
        if pid is None:
            return text
        pattern, tables = self._tables[pid]
        return pattern.sub(lambda m: self._replace(m, tables), text)


_HASHTAG = re.compile(r"(?<!\w)#\w+")
_TOKEN = re.compile(r"https?://\S+|[#@]\w+|\[[A-Za-z]+\]|([A-Za-z0-9]+)")


def remove_hashtags(text: str, election: str | None = None) -> str:
    """The text without any `#hashtag` (whitespace tidied)."""
    return re.sub(r"\s{2,}", " ", _HASHTAG.sub(" ", text)).strip()


def _rewrite_words(text: str, table: Callable[[str], str | None]) -> str:
    """Apply `table` to plain words only (never inside URLs, hashtags, mentions or role tokens)."""

    def one(match: re.Match[str]) -> str:
        word = match.group(1)
        if word is None:
            return match.group()
        new = table(word.lower())
        if new is None:
            return word
        return new.upper() if word.isupper() and len(word) > 1 else new

    return _TOKEN.sub(one, text)


def expand_slang(text: str, election: str | None = None) -> str:
    """Every slang word of the lexicon replaced by its formal form ("gk" -> "tidak")."""
    return _rewrite_words(text, load_lexicon().get)


def contract_slang(seed: int = 0) -> Rewrite:
    """A rewrite turning formal words into one of their slang forms ("tidak" -> "gk").

    Only one-word formal forms that are not themselves slang keys are contracted, so expanding the
    result gives the original formal text back.
    """
    lexicon = load_lexicon()
    inverse: dict[str, list[str]] = defaultdict(list)
    for informal, formal in sorted(lexicon.items()):
        if " " not in formal and formal not in lexicon and informal.isalpha():
            inverse[formal].append(informal)
    rng = np.random.default_rng(seed)

    def pick(word: str) -> str | None:
        forms = inverse.get(word)
        return forms[int(rng.integers(len(forms)))] if forms else None

    return lambda text, election=None: _rewrite_words(text, pick)


def default_perturbations(profiles: Sequence[ElectionProfile], seed: int = 0) -> list[Perturbation]:
    """The three perturbations described in the module docstring (the swap needs profiles)."""
    out = []
    if any(len(p.contestants) > 1 for p in profiles):
        out.append(
            Perturbation(
                "swap_contestants",
                "contestant names and hashtags swapped for another contestant's (should not flip)",
                ContestantSwapper(profiles),
            )
        )
    out.append(
        Perturbation(
            "remove_hashtags", "every #hashtag deleted (reliance on hashtags)", remove_hashtags
        )
    )
    contract = contract_slang(seed)
    out.append(
        Perturbation(
            "slang_raw",
            "slang-normalised text vs the same text in slang (should not flip)",
            lambda text, election=None: contract(expand_slang(text), election),
            reference=expand_slang,
        )
    )
    return out


def _predict(model: Classifier, texts: list[str], contexts: list[str | None]) -> np.ndarray:
    return model.predict_proba(texts, contexts) if texts else np.zeros((0, len(model.labels)))


def _run_one(
    model: Classifier,
    records: Sequence[Record],
    proba: np.ndarray,
    perturbation: Perturbation,
    max_examples: int,
) -> dict[str, Any]:
    """Flip statistics of one perturbation over the records it changes."""
    meta = model.metadata_
    base = perturbation.reference or (lambda text, election=None: text)
    rows: list[int] = []
    ref_texts: list[str] = []
    ref_contexts: list[str | None] = []
    new_texts: list[str] = []
    new_contexts: list[str | None] = []
    for i, r in enumerate(records):
        text = perturbation.perturb(r.text, r.election)
        context = perturbation.perturb(r.context, r.election) if r.context else r.context
        ref_text = base(r.text, r.election)
        ref_context = base(r.context, r.election) if r.context else r.context
        if (text, context) == (ref_text, ref_context) or not text.strip():
            continue
        rows.append(i)
        ref_texts.append(ref_text)
        ref_contexts.append(ref_context)
        new_texts.append(text)
        new_contexts.append(context)
    if perturbation.reference is None:
        before = proba[rows]
    else:
        before = _predict(model, ref_texts, ref_contexts)
    after = _predict(model, new_texts, new_contexts)
    label_before, _ = decide(before, meta) if rows else ([], [])
    label_after, _ = decide(after, meta) if rows else ([], [])
    s_before = side_scores(before, meta.labels, meta.neutral_label)
    s_after = side_scores(after, meta.labels, meta.neutral_label)
    flipped = np.asarray(label_before, dtype=object) != np.asarray(label_after, dtype=object)
    shift = np.abs(s_after - s_before)
    order = np.lexsort((-shift, ~flipped))[:max_examples]  # flipped first, then largest shift
    return {
        "description": perturbation.description,
        "n_changed": len(rows),
        "flips": int(flipped.sum()),
        "flip_rate": float(flipped.mean()) if rows else None,
        "flip_rate_ci95": wilson_interval(int(flipped.sum()), len(rows)) if rows else None,
        "mean_abs_score_shift": float(shift.mean()) if rows else None,
        "examples": [
            {
                "id": records[rows[k]].id,
                "label": records[rows[k]].label,
                "reference": ref_texts[k],
                "perturbed": new_texts[k],
                "score_before": float(s_before[k]),
                "score_after": float(s_after[k]),
                "label_before": label_before[k],
                "label_after": label_after[k],
            }
            for k in order
        ],
    }


def robustness(
    model: Classifier,
    records: Sequence[Record],
    proba: np.ndarray,
    perturbations: Sequence[Perturbation],
    max_examples: int = 5,
) -> dict[str, dict[str, Any]]:
    """`{perturbation name: stats}`; `proba` are the model's probabilities on the unchanged records.

    Stats: `n_changed` (posts the perturbation changed), `flips`, `flip_rate` with a Wilson 95%
    interval, `mean_abs_score_shift`, and up to `max_examples` examples (flips first).
    """
    return {p.name: _run_one(model, records, proba, p, max_examples) for p in perturbations}
