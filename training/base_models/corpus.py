"""The text a trimmed vocabulary must cover, and the posts a conversion is checked on.

Both come from the data bundled with the repository: the starter splits (`text` and `context`),
`data/examples.jsonl` and the election profiles (names, aliases, parties, slogans, hashtags). Each
post is taken as written and as the text normaliser writes it, with and without profile masking,
so that a model reading either form finds its pieces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netralitas.training.base_models.errors import BaseModelError

__all__ = ["BundledText", "bundled_text", "data_root"]

PREFIXES = ("query: ", "passage: ")  # the e5 input convention


@dataclass(frozen=True)
class BundledText:
    posts: tuple[str, ...]  # the bundled posts as written (starter splits, then examples)
    texts: tuple[str, ...]  # everything to cover: posts, contexts, normalised forms, profiles

    def fingerprint(self) -> str:
        """sha256 of everything the build reads from the bundled data (a changed data set means a
        changed vocabulary, so a cached build made from the old one is stale)."""
        import hashlib

        digest = hashlib.sha256()
        for part in (*self.posts, "\x00", *self.texts):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\n")
        return digest.hexdigest()

    def verification_posts(self, n: int) -> list[str]:
        """`n` posts spread evenly over the bundled set (deterministic)."""
        if n <= 0:
            return []
        step = max(1, len(self.posts) // n)
        return list(self.posts[::step][:n])


def data_root() -> Path:
    import netralitas.data

    return Path(netralitas.data.__file__).resolve().parent


def bundled_text(root: Path | None = None) -> BundledText:
    """Read the bundled data under `root` (default: the `netralitas.data` package folder)."""
    from netralitas.data.records import load_records
    from netralitas.model.text.normalize import ROLE_TOKENS, TextNormalizer
    from netralitas.model.text.profiles import load_profiles

    root = root or data_root()
    files = sorted((root / "starter").glob("*.jsonl"))
    if not files:
        raise BaseModelError(
            f"no bundled data under {root / 'starter'}: the vocabulary is trimmed to the pieces "
            "that data needs and checked on its posts. Run from a source checkout of netralitas "
            "(pip install -e .)"
        )
    if (root / "examples.jsonl").is_file():
        files.append(root / "examples.jsonl")
    records = [r for f in files for r in load_records(f, require_label=False)]
    profiles = load_profiles([root / "elections"]) if (root / "elections").is_dir() else ()
    masked, plain = TextNormalizer(profiles), TextNormalizer(profiles, mask=False)
    posts = [r.text for r in records]
    written = posts + [r.context for r in records if r.context]
    texts = list(written)
    for text in written:
        texts += [masked(text), plain(text)]
    for profile in profiles:
        phrases = [profile.title, profile.region]
        for contestant in profile.contestants:
            phrases += [
                *contestant.names,
                *contestant.aliases,
                *contestant.slogans,
                *(f"#{tag}" for tag in contestant.hashtags),
            ]
        for party in profile.parties:
            phrases += [party.name, *party.aliases]
        texts += phrases + [phrase.lower() for phrase in phrases]
    texts += list(ROLE_TOKENS) + [prefix.strip() for prefix in PREFIXES]
    return BundledText(posts=tuple(posts), texts=tuple(texts))
