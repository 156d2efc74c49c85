"""Seconds per fine-tuning step of a model folder, measured inside `transformers.Trainer`.

Each step is what `netralitas train` does per optimizer step: forward, the class-weighted loss,
backward, gradient clipping, AdamW and the learning-rate schedule, on a batch of `--batch-size`
inputs of exactly `--length` tokens. The first `--warmup` steps are not timed.

    python benchmarks/make_indobert_shaped.py --vocab VOCAB --output /tmp/indobert-shaped
    python benchmarks/finetune_step_time.py /tmp/indobert-shaped --batch-size 16 --length 128
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path


def _batches(vocab_size: int, n: int, length: int, low: int, seed: int) -> list[dict]:
    """`n` inputs of `length` ids: [CLS] random word pieces [SEP], all attended."""
    import torch

    g = torch.Generator().manual_seed(seed)
    body = torch.randint(low, vocab_size, (n, length - 2), generator=g)
    rows = []
    for i in range(n):
        ids = [2, *body[i].tolist(), 3]  # ids 2 and 3 are only placeholders for [CLS]/[SEP]
        rows.append({"input_ids": ids, "attention_mask": [1] * length, "labels": int(i % 2)})
    return rows


def measure(folder: Path, batch_size: int, length: int, warmup: int, steps: int) -> dict:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        default_data_collator,
    )

    from netralitas.training.finetune import WeightedLoss

    network = AutoModelForSequenceClassification.from_pretrained(folder)
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.start)

    total = warmup + steps
    rows = _batches(network.config.vocab_size, batch_size * total, length, 10, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            max_steps=total,
            per_device_train_batch_size=batch_size,
            learning_rate=3e-5,
            warmup_steps=0.1,
            weight_decay=0.01,
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_pin_memory=torch.cuda.is_available(),
            bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        )
        trainer = Trainer(
            model=network,
            args=args,
            train_dataset=rows,
            data_collator=default_data_collator,
            compute_loss_func=WeightedLoss([1.0, 1.0]),
            callbacks=[Clock()],
        )
        trainer.train()
    timed = times[warmup:]
    return {
        "model": str(folder),
        "parameters_millions": round(sum(p.numel() for p in network.parameters()) / 1e6, 1),
        "batch_size": batch_size,
        "length": length,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "warmup_steps": warmup,
        "seconds_per_step": [round(t, 3) for t in timed],
        "median_seconds_per_step": round(statistics.median(timed), 3),
        "mean_seconds_per_step": round(statistics.fmean(timed), 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a sequence-classification folder")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(args.model, args.batch_size, args.length, args.warmup, args.steps)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
