"""The Ray engine: the same parts, scored by a pool of Ray actors, one model loaded per actor.

    parts (one item each) -> ray.data.from_items -> map_batches(PartScorer, batch_size=1,
                             compute=ActorPoolStrategy(size=workers), num_gpus=gpus_per_worker)
                          -> one summary row per part

Each actor loads the model once (`Scorer.from_pretrained`, copying it first from `s3://...` or
`gs://...` when the artifact is on object storage) and scores a whole part per call with
`score_part`, the function of the local engine, reading and writing through pyarrow filesystems:
the outputs are the local engine's, file for file, and so is the resume rule (the driver skips
parts whose stamp matches; `Job.pending`). Ray is imported only here, and only when this engine
is asked for: `pip install 'netralitas[ray]'`.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from netralitas.batch.local import RunSummary
from netralitas.batch.parts import Part, is_remote, local_model, resolve
from netralitas.batch.progress import Progress
from netralitas.batch.sink import read_stamp, temporary
from netralitas.batch.stream import Job, ScoreOptions, score_part
from netralitas.data.errors import DataError

__all__ = ["RAY_MISSING", "PartScorer", "import_ray", "run_ray"]

RAY_MISSING = (
    "--engine ray needs Ray, which is not installed here: pip install 'netralitas[ray]' "
    "(Ray Data 2.40 or later); or score on this machine with --engine local"
)


def import_ray():
    """The `ray` module with Ray Data, or a `DataError` that says how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise DataError(f"{RAY_MISSING} ({exc})") from exc
    return ray


class PartScorer:
    """A Ray Data callable class: one model per actor, one whole part per call."""

    def __init__(
        self,
        model_dir: str,
        options: ScoreOptions,
        profiles: Sequence[str] = (),
        inference: str = "auto",
    ) -> None:
        from netralitas.model.scorer import Scorer

        self.scorer = Scorer.from_pretrained(local_model(model_dir), profiles, inference=inference)
        self.options = options

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"name": [], "rows": [], "size": [], "error": []}
        for payload, fp in zip(batch["part"], batch["fingerprint"], strict=True):
            part = Part(**json.loads(str(payload)))
            # A problem with the data comes back as a value: Ray would wrap the exception in its
            # own types and keep only its text in a traceback.
            try:
                rows, error = score_part(self.scorer, part, self.options, str(fp)), ""
            except DataError as exc:
                rows, error = 0, str(exc)
            out["rows"].append(rows)
            out["error"].append(error)
            out["name"].append(part.name)
            out["size"].append(part.size)
        return out


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run_ray(
    model_dir: str,
    job: Job,
    *,
    address: str | None = None,
    workers: int = 1,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float | None = None,
    profiles: Sequence[str] = (),
    inference: str = "auto",
    log: Callable[[str], None] = _stderr,
    progress: bool = True,
) -> RunSummary:
    """Score every pending part of `job` on Ray: the cluster at `address` (`auto`, or
    `ray://HOST:10001`), else the running instance, else a new local one.

    Each actor reserves `cpus_per_worker` CPUs (default: the cluster's CPUs shared evenly among
    the actors); Ray sets the actor's thread count to it (OMP_NUM_THREADS), which a transformer
    computes with: as many threads as the local engine, the same fp32 scores.
    """
    ray = import_ray()
    if workers < 1:
        raise DataError(f"--workers {workers}: expected at least 1 actor")
    todo = job.pending(log)
    meter = Progress(sum(p.size for p, _ in todo), len(todo), enabled=progress)
    if not todo:
        meter.finish()
        return RunSummary(0, len(job.parts), 0, meter.elapsed)
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, logging_level="warning")
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours counts posts, not blocks
    items = [{"part": json.dumps(p.as_dict()), "fingerprint": fp} for p, fp in todo]
    # A fixed pool (ActorPoolStrategy; `concurrency=` is deprecated since Ray 2.51).
    pool = ray.data.ActorPoolStrategy(size=workers)
    options: dict[str, Any] = {"compute": pool, "batch_size": 1}
    if cpus_per_worker is None:
        cpus_per_worker = max(1, int(ray.cluster_resources().get("CPU", 1)) // workers)
    options["num_cpus"] = cpus_per_worker
    if gpus_per_worker > 0:
        options["num_gpus"] = gpus_per_worker
    scored = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        PartScorer,
        fn_constructor_kwargs={
            "model_dir": model_dir if is_remote(model_dir) else str(resolve(model_dir)[1]),
            "options": job.options,
            "profiles": [str(p) for p in profiles],
            "inference": inference,
        },
        **options,
    )
    try:
        for row in scored.iter_rows():
            if row["error"]:
                raise DataError(str(row["error"]))
            meter.part_done(int(row["size"]), int(row["rows"]))
    finally:
        if started:
            ray.shutdown()
        _remove_temporaries(todo)
    meter.finish()
    return RunSummary(len(todo), len(job.parts) - len(todo), meter.posts, meter.elapsed)


def _remove_temporaries(todo: Sequence[tuple[Part, str]]) -> None:
    """After a stop (Ctrl-C, a failed part), the temporary files of unfinished parts: an actor
    killed mid-part cannot remove its own."""
    for part, fp in todo:
        stamp = read_stamp(part.output, part.output_format)
        if stamp is not None and stamp.get("fingerprint") == fp:
            continue
        filesystem, path = resolve(part.output)
        with contextlib.suppress(OSError):
            filesystem.delete_file(temporary(path))
