"""Run by tests/train/test_distributed.py as 2 processes (torchrun, gloo on CPU)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

import gan3dlib.train.loop as loop  # noqa: E402
from train_helpers import tiny_config  # noqa: E402

data, out = Path(sys.argv[1]), Path(sys.argv[2])
seen: list[int] = []
original = loop.build_dataset


def recording_dataset(config):
    dataset = original(config)

    class Recording(torch.utils.data.Dataset):
        def __len__(self):
            return len(dataset)

        def __getitem__(self, index):
            seen.append(int(index))
            return dataset[index]

    return Recording()


loop.build_dataset = recording_dataset
captured = {}
original_checkpoint = loop.write_checkpoint


def capture(accelerator, config, run, nimg, step, skipped, G, D, G_ema, opt_G, opt_D):
    digest = hashlib.sha256()
    for _, value in sorted(G.named_parameters()):  # buffers (w_avg) follow each rank's own latents
        digest.update(value.detach().cpu().numpy().tobytes())
    captured["G"] = digest.hexdigest()
    original_checkpoint(accelerator, config, run, nimg, step, skipped, G, D, G_ema, opt_G, opt_D)


loop.write_checkpoint = capture
config = tiny_config(data, out / "run", kimg=0.016, batch_size=4, checkpoint_kimg=1.0)
result = loop.train(config)
rank = int(__import__("os").environ.get("RANK", "0"))
(out / f"rank{rank}.json").write_text(json.dumps({"G": captured["G"], "seen": seen, "steps": result.steps}))
