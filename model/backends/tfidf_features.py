"""TF-IDF features of the TF-IDF backend: the analyzers (text -> terms) and a fitted feature block.

The analyzers are the only definition of a block's terms. Fitting hands them to scikit-learn's
`TfidfVectorizer` as callable `analyzer`s, so that scikit-learn only counts terms, prunes them
(`min_df`, `max_features`) and computes idf; scoring runs them here, with numpy only, so loading
and scoring a model need neither scikit-learn nor scipy. Training and scoring cannot drift apart.

`WordNgrams` and `CharWbNgrams` return exactly what scikit-learn's built-in analyzers return for
`TfidfVectorizer(tokenizer=StemTokenizer(stem), token_pattern=None, lowercase=False,
ngram_range=...)` and `TfidfVectorizer(analyzer="char_wb", lowercase=False, ngram_range=...)`
(the code of `_word_ngrams` and `_char_wb_ngrams`, scikit-learn 1.9), term for term and in the
same order; tests/test_tfidf.py compares them on awkward text.

`TfidfBlock.transform` is `TfidfTransformer(norm="l2", sublinear_tf=True).transform` of the term
counts with the stored idf: `(1 + log(count)) * idf`, each row divided by its L2 norm, summed in
column order as scikit-learn does, so the numbers are the same to the last bit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat

import numpy as np

from netralitas.model.text.stemming import StemTokenizer

__all__ = ["CharWbNgrams", "TfidfBlock", "WordNgrams"]

_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's _VectorizerMixin._white_spaces


def _ngram_range(ngram_range: Sequence[int]) -> tuple[int, int]:
    """`(min_n, max_n)`, checked: two integers, 1 <= min_n <= max_n."""
    values = tuple(ngram_range)
    if not (
        len(values) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in values)
        and 1 <= values[0] <= values[1]
    ):
        raise ValueError(
            f"ngram_range {list(values)} is not (min_n, max_n) with integers 1 <= min_n <= max_n"
        )
    return values


class WordNgrams:
    """Stemmed word n-grams: `StemTokenizer(stem)` tokens, n-grams joined by one space."""

    def __init__(self, ngram_range: Sequence[int] = (1, 2), stem: bool = True) -> None:
        self.ngram_range = _ngram_range(ngram_range)
        self.stem = stem
        self._tokenize = StemTokenizer(stem=stem)

    def __call__(self, text: str) -> list[str]:
        tokens = self._tokenize(text)
        min_n, max_n = self.ngram_range
        if max_n == 1:
            return tokens
        if min_n == 1:  # unigrams are the tokens themselves
            terms = list(tokens)
            min_n = 2
        else:
            terms = []
        count = len(tokens)
        join = " ".join
        for n in range(min_n, min(max_n, count) + 1):
            terms += [join(tokens[i : i + n]) for i in range(count - n + 1)]
        return terms

    def __repr__(self) -> str:
        return f"WordNgrams(ngram_range={self.ngram_range}, stem={self.stem})"


class CharWbNgrams:
    """Character n-grams inside word boundaries, each word padded with one space either side.

    A word's n-grams depend on the word alone, and words repeat a lot, so they are kept per word
    (up to `CACHE_WORDS` words, about 1.7 kB each with the default range, then forgotten all at
    once): for a word seen before, its n-grams are one dictionary look-up.
    """

    CACHE_WORDS = 20_000

    def __init__(self, ngram_range: Sequence[int] = (2, 5)) -> None:
        self.ngram_range = _ngram_range(ngram_range)
        self._cache: dict[str, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        cache = self._cache
        terms: list[str] = []
        # The substitution changes nothing `split()` would not; kept to mirror scikit-learn.
        for word in _WHITE_SPACES.sub(" ", text).split():
            grams = cache.get(word)
            if grams is None:
                if len(cache) >= self.CACHE_WORDS:
                    cache.clear()
                grams = cache[word] = self._word(word)
            terms += grams
        return terms

    def _word(self, word: str) -> list[str]:
        min_n, max_n = self.ngram_range
        w = f" {word} "
        length = len(w)
        grams: list[str] = []
        for n in range(min_n, max_n + 1):
            if length <= n:  # the whole padded word, once, and no longer n-grams
                grams.append(w)
                break
            grams += [w[i : i + n] for i in range(length - n + 1)]
        return grams

    def __repr__(self) -> str:
        return f"CharWbNgrams(ngram_range={self.ngram_range})"


class TfidfBlock:
    """One fitted feature block: its analyzer, its terms (in column order) and their idf.

    Raises ValueError for a term given twice (the message scikit-learn gives) or an idf that does
    not have one value per term.
    """

    def __init__(self, analyzer, terms: Sequence[str], idf: np.ndarray) -> None:
        self.analyzer = analyzer
        self.terms = list(terms)
        self.vocabulary: dict[str, int] = {}
        for i, term in enumerate(self.terms):
            if self.vocabulary.setdefault(term, i) != i:
                raise ValueError(f"Duplicate term in vocabulary: {term!r}")
        self.idf = np.array(idf, dtype=np.float64)
        if self.idf.shape != (len(self.terms),):
            raise ValueError(f"{len(self.terms)} terms but idf {self.idf.shape}")

    def __len__(self) -> int:
        return len(self.terms)

    def transform(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TF-IDF matrix of `docs` as its nonzero entries `(rows, columns, values)`, sorted by
        row, then column; terms outside the vocabulary are ignored."""
        get = self.vocabulary.get
        analyze = self.analyzer
        columns: list[int] = []
        lengths = np.empty(len(docs), dtype=np.int64)
        for i, doc in enumerate(docs):
            terms = analyze(doc)
            columns += map(get, terms, repeat(-1))
            lengths[i] = len(terms)
        cols = np.fromiter(columns, dtype=np.int64, count=len(columns))
        rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        known = cols >= 0
        # One key per (row, column): sorting the keys orders the entries as a CSR matrix does.
        keys, counts = np.unique(rows[known] * len(self.terms) + cols[known], return_counts=True)
        rows, cols = np.divmod(keys, len(self.terms))
        values = np.log(counts.astype(np.float64))
        values += 1.0
        values *= self.idf[cols]
        # Row norms summed entry by entry in column order, as scikit-learn's
        # inplace_csr_row_normalize_l2; every row that has an entry has a positive norm.
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(docs)))
        values /= norms[rows]
        return rows, cols, values
