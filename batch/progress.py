"""Progress of a batch run on standard error: posts, posts/s, parts, ETA.

The total number of posts is not known before every part is read (JSON Lines and CSV have no row
count), so the ETA comes from the bytes of input still to score: the sizes of the parts left, and
the share of the current part done. A terminal gets one line rewritten in place; a log file
gets a line at most every `every` seconds.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Counts posts and input bytes as parts are scored; `line()` says where the run is."""

    def __init__(
        self,
        total_bytes: int,
        parts: int,
        *,
        stream: TextIO | None = None,
        every: float = 10.0,
        enabled: bool = True,
    ) -> None:
        self.total_bytes = max(total_bytes, 1)
        self.parts = parts
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.every = 0.5 if self.tty else every
        self.enabled = enabled
        self.start = time.monotonic()
        self.posts = 0
        self.parts_done = 0
        self.bytes_done = 0
        self._current = 0.0  # bytes of the part in progress, estimated
        self._shown = 0.0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    @property
    def rate(self) -> float:
        return self.posts / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        done = self.bytes_done + self._current
        eta = f"ETA {_clock(self.elapsed * (self.total_bytes - done) / done)}" if done else "ETA ?"
        return (
            f"{self.posts:,} posts, {self.rate:,.0f} posts/s, "
            f"parts {self.parts_done}/{self.parts}, {eta}"
        )

    def advance(self, posts: int, share: float | None, size: int = 0) -> None:
        """`posts` more scored in a part of `size` bytes, `share` of it done (None: unknown)."""
        self.posts += posts
        if share is not None:
            self._current = size * min(share, 1.0)
        self._show()

    def part_done(self, size: int, posts: int = 0) -> None:
        """A part of `size` bytes finished (`posts`: rows not yet counted by `advance`)."""
        self.posts += posts
        self.parts_done += 1
        self.bytes_done += size
        self._current = 0.0
        self._show(force=not self.tty)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._shown < self.every):
            return
        self._shown = now
        end = "\r" if self.tty else "\n"
        print(self.line(), end=end, file=self.stream, flush=True)

    def finish(self) -> str:
        """The closing line (also printed)."""
        text = (
            f"scored {self.posts:,} posts in {self.elapsed:.1f} s "
            f"({self.rate:,.0f} posts/s), {self.parts_done} part(s) written"
        )
        if self.enabled:
            print(("\n" if self.tty else "") + text, file=self.stream, flush=True)
        return text
