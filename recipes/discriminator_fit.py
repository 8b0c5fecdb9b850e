"""Does the discriminator memorise its training images? The question ADA-style augmentation answers.

    python recipes/discriminator_fit.py --runs "[runs/depth-budget/kimg 50-seed0]" --out docs/data/discriminator-fit.json

For each run folder of a ``data='synthetic'`` run, loads the newest checkpoint's D and G and scores
``num`` images of each kind with D:

- ``train``: real images D was trained on (drawn from the run's synthetic dataset);
- ``held_out``: real images of the same distribution D never saw (the scenes after the dataset's
  last index: the same generator, unseen objects, viewpoints and backgrounds), and a second such set
  ``held_out_b`` for the null comparison;
- ``fake``: renders of G (the trained weights, not the EMA: what D was trained against), with the
  run's own viewpoint sampling.

Reported per run: the mean logit of each kind; ADA's overfitting heuristic ``r_t = E[sign(D(train))]``
(Karras et al. 2020 adjust the augmentation towards r_t = 0.6); the area under the ROC curve of real
against fake for training and held-out reals; and ``memorised``, the share of D's real-versus-fake
margin that held-out reals do not get: ``(D(train) - D(held_out)) / (D(train) - D(fake))``. A
discriminator that overfits its small dataset scores training images far above unseen ones
(``memorised`` towards 1, held-out AUC falling towards 0.5) and is what augmentation treats; one
with ``memorised`` near 0 judges unseen reals like its training set, and augmentation has nothing
to correct. ``null`` is the same ratio between the two unseen sets: what ``memorised`` reads when
there is nothing to find (its spread is the measurement's noise); ``memorised_se`` is the standard
error of ``memorised`` from the logits' spread.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from gan3dlib.config import parse_overrides
from gan3dlib.data.synthetic import SyntheticImageDataset
from gan3dlib.errors import report_errors
from gan3dlib.train.run_folder import load_run_networks
from gan3dlib.utils.json_files import write_json


@dataclasses.dataclass(frozen=True)
class Probe:
    """The run folders to probe, how many images of each kind, and the JSON to write."""

    runs: tuple[str, ...] = ("runs/depth-budget/kimg 50-seed0",)
    num: int = 256
    batch: int = 64
    seed: int = 123
    out: str | None = None


def roc_auc(positive: torch.Tensor, negative: torch.Tensor) -> float:
    """P(a positive scores above a negative), ties counting half: the area under the ROC curve."""
    diff = positive[:, None] - negative[None, :]
    return float(((diff > 0).double() + 0.5 * (diff == 0).double()).mean())


def _logits(D, images: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([D(images[k:k + batch]).reshape(-1) for k in range(0, len(images), batch)])


@torch.no_grad()
def probe_run(folder: Path, num: int, batch: int, seed: int) -> dict:
    """Scores ``num`` training, held-out and fake images with the newest checkpoint's D (see the module)."""
    config, G, D, kimg = load_run_networks(folder, argument="runs", synthetic_for="its unseen scenes are the held-out reals")
    synthetic = config.synthetic_config()
    size = synthetic.num_images
    g = torch.Generator().manual_seed(seed)
    train_indices = torch.randperm(size, generator=g)[:num].tolist()
    extended = SyntheticImageDataset(dataclasses.replace(synthetic, num_images=size + 2 * num))
    train = torch.stack(extended.__getitems__(train_indices))
    held_out = torch.stack(extended.__getitems__(list(range(size, size + num))))
    held_out_b = torch.stack(extended.__getitems__(list(range(size + num, size + 2 * num))))
    z_dim = config.model.z_dim
    fakes = [G(torch.randn(len(part), z_dim, generator=g), torch.randn(len(part), z_dim, generator=g), generator=g).image
             for part in torch.arange(num).split(batch)]
    logits = {"train": _logits(D, train, batch), "held_out": _logits(D, held_out, batch),
              "held_out_b": _logits(D, held_out_b, batch), "fake": _logits(D, torch.cat(fakes), batch)}
    mean = {k: float(v.mean()) for k, v in logits.items()}
    margin = mean["train"] - mean["fake"]
    if abs(margin) < 1e-12:
        raise ValueError(f"runs: the D of {str(folder)!r} scores real and fake images alike; nothing to compare")
    se = float((logits["train"].var() / num + logits["held_out"].var() / num).sqrt()) / abs(margin)
    return {
        "run": str(folder), "kimg": kimg, "num": num,
        "logit": mean,
        "r_t": float(logits["train"].sign().mean()),
        "auc_train": roc_auc(logits["train"], logits["fake"]),
        "auc_held_out": roc_auc(logits["held_out"], logits["fake"]),
        "memorised": (mean["train"] - mean["held_out"]) / margin,
        "memorised_se": se,
        "null": (mean["held_out_b"] - mean["held_out"]) / margin,
    }


def main() -> None:
    probe = parse_overrides(Probe)
    if probe.num < 2 or probe.batch < 1:
        raise ValueError(f"num, batch: expected num >= 2 and batch >= 1, got num={probe.num}, batch={probe.batch}")
    rows = [probe_run(Path(folder), probe.num, probe.batch, probe.seed) for folder in probe.runs]
    print("| run | kimg | D(train) | D(held-out) | D(fake) | r_t | AUC train | AUC held-out | memorised | null |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        lg = r["logit"]
        print(f"| {r['run']} | {r['kimg']:g} | {lg['train']:.2f} | {lg['held_out']:.2f} | {lg['fake']:.2f} | "
              f"{r['r_t']:.2f} | {r['auc_train']:.2f} | {r['auc_held_out']:.2f} | "
              f"{r['memorised']:.2f} ± {r['memorised_se']:.2f} | {r['null']:.2f} |")
    if probe.out:
        write_json(Path(probe.out), {"num": probe.num, "seed": probe.seed, "runs": rows})


if __name__ == "__main__":
    report_errors(main, "discriminator_fit.py")
