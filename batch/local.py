"""The local engine: one process scores the parts one after the other, in bounded memory.

Parts already done (their stamp matches, `Job.pending`) are skipped; each part is scored by
`score_part`, the function every Ray actor runs too. Ctrl-C stops at once: the finished parts are
kept, the part in progress leaves nothing behind, and running the same command again resumes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netralitas.batch.progress import Progress
from netralitas.batch.stream import Job, score_part

if TYPE_CHECKING:
    from netralitas.model.scorer import Scorer

__all__ = ["RunSummary", "run_local"]


@dataclass(frozen=True)
class RunSummary:
    """What a run did: parts written and skipped, posts scored, seconds."""

    written: int
    skipped: int
    posts: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds > 0 else 0.0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_local(
    scorer: Scorer,
    job: Job,
    *,
    log: Callable[[str], None] = _stderr,
    progress: bool = True,
) -> RunSummary:
    """Score every pending part of `job` with `scorer`, one after the other."""
    todo = job.pending(log)
    meter = Progress(sum(p.size for p, _ in todo), len(todo), enabled=progress)
    for index, (part, fp) in enumerate(todo):
        score_part(
            scorer,
            part,
            job.options,
            fp,
            on_batch=lambda n, share, size=part.size: meter.advance(n, share, size),
            log=log if index == 0 else None,
        )
        meter.part_done(part.size)
    meter.finish()
    return RunSummary(len(todo), len(job.parts) - len(todo), meter.posts, meter.elapsed)
