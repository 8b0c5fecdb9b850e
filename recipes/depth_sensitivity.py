"""Does the discriminator see depth? The signal that would grow the relief, measured.

    python recipes/depth_sensitivity.py --runs "[runs/depth-budget/kimg 50-seed0]" --out docs/data/depth-sensitivity.json

For each run folder of a ``data='synthetic'`` run, loads the newest checkpoint's D and G and
scores with D the same objects stretched along their own depth axis (object-space z, about the
middle of the object's z extent) by each factor in ``scales`` (1: as they are; 0.5: half as deep;
-1: depth inverted, the hollow-mask illusion):

- ``real``: ``num`` unseen scenes of the run's synthetic dataset (the indices after its last),
  rendered by the data's own renderer with the stretched object and everything else unchanged
  (texture, light, background, viewpoint), rounded to 8 bits as the training images are;
- ``fake``: ``num`` samples of G (the trained weights: what D was trained against), re-rendered by
  the scene's renderer with the stretched shape and their own texture, background and viewpoint.

The same objects are scored at every factor, so the differences are paired. Reported per run and
factor, as a share of D's real-versus-fake margin ``D(real, 1) - D(fake, 1)``: ``real_gain``,
``(D(real, a) - D(real, 1)) / margin``, and ``fake_gain``, the same for the fakes, each with its
standard error. A D that sees depth scores real faces highest as they are: ``real_gain`` < 0 when
flattened, deepened or hollow. The fakes' curve is what G's gradient follows along depth: rising
towards smaller factors means D pushes G's objects flatter, towards larger ones deeper.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from gan3dlib.config import parse_overrides
from gan3dlib.data.synthetic import SyntheticScenes
from gan3dlib.errors import report_errors
from gan3dlib.ops.mesh import stretch_depth
from gan3dlib.train.run_folder import load_run_networks
from gan3dlib.utils.json_files import write_json


@dataclasses.dataclass(frozen=True)
class Probe:
    """The run folders to probe, the depth factors, how many objects of each kind, and the JSON to write."""

    runs: tuple[str, ...] = ("runs/depth-budget/kimg 50-seed0",)
    scales: tuple[float, ...] = (-1.0, 0.5, 0.75, 1.0, 1.25, 1.5)
    num: int = 256
    batch: int = 64
    seed: int = 123
    out: str | None = None

    def __post_init__(self) -> None:
        """Validates the fields (a docstring here also keeps draccus's field-docstring scanner in bounds)."""
        if self.num < 2 or self.batch < 1:
            raise ValueError(f"num, batch: expected num >= 2 and batch >= 1, got num={self.num}, batch={self.batch}")
        if 1.0 not in self.scales or any(s == 0 for s in self.scales):
            raise ValueError(f"scales: expected non-zero factors including 1 (the objects as they are), got {self.scales}")


def real_images(scenes: SyntheticScenes, indices: list[int], scale: float) -> torch.Tensor:
    """(B, 3, R, R) in [-1, 1]: the scenes rendered by the data's renderer with each object stretched in depth,
    rounded to 8 bits as the training images are."""
    return (scenes.render(indices, depth_scale=scale).images * 255).round() / 127.5 - 1


def _logits(D, images: torch.Tensor, batch: int) -> torch.Tensor:
    return torch.cat([D(images[k:k + batch]).reshape(-1) for k in range(0, len(images), batch)])


def _paired_gain(logits: torch.Tensor, reference: torch.Tensor, margin: float) -> tuple[float, float]:
    diff = logits - reference
    return float(diff.mean()) / margin, float(diff.std() / len(diff) ** 0.5) / abs(margin)


@torch.no_grad()
def probe_run(folder: Path, scales: tuple[float, ...], num: int, batch: int, seed: int) -> dict:
    """D's logits on real and generated objects stretched in depth by each of ``scales`` (see the module)."""
    config, G, D, kimg = load_run_networks(folder, argument="runs", synthetic_for="it re-renders the data's objects")
    synthetic = config.synthetic_config()
    size = synthetic.num_images
    scenes = SyntheticScenes(dataclasses.replace(synthetic, num_images=size + num))
    indices = list(range(size, size + num))
    g = torch.Generator().manual_seed(seed)
    z_dim = config.model.z_dim
    fakes = [G(torch.randn(len(part), z_dim, generator=g), torch.randn(len(part), z_dim, generator=g), generator=g)
             for part in torch.arange(num).split(batch)]
    used = G.grid.vertex_mask.flatten()

    def fake_images(scale: float) -> torch.Tensor:
        return torch.cat([G.render(stretch_depth(out.vertices, scale, used), out.rotation, texture=out.texture,
                                   background=out.background_crop, light=out.light).image for out in fakes])

    real = {s: _logits(D, real_images(scenes, indices, s), batch) for s in scales}
    fake = {s: _logits(D, fake_images(s), batch) for s in scales}
    margin = float(real[1.0].mean() - fake[1.0].mean())
    if abs(margin) < 1e-12:
        raise ValueError(f"runs: the D of {str(folder)!r} scores real and fake images alike; nothing to compare")
    rows = []
    for s in scales:
        real_gain, real_se = _paired_gain(real[s], real[1.0], margin)
        fake_gain, fake_se = _paired_gain(fake[s], fake[1.0], margin)
        rows.append({"scale": s, "real_logit": float(real[s].mean()), "fake_logit": float(fake[s].mean()),
                     "real_gain": real_gain, "real_gain_se": real_se, "fake_gain": fake_gain, "fake_gain_se": fake_se})
    return {"run": str(folder), "kimg": kimg, "num": num, "margin": margin, "scales": rows}


def main() -> None:
    probe = parse_overrides(Probe)
    results = [probe_run(Path(folder), probe.scales, probe.num, probe.batch, probe.seed) for folder in probe.runs]
    print("| run | kimg | margin | " + " | ".join(f"real {s:g} | fake {s:g}" for s in probe.scales) + " |")
    print("|---|---|---|" + "---|---|" * len(probe.scales))
    for r in results:
        cells = " | ".join(f"{x['real_gain']:+.2f} ± {x['real_gain_se']:.2f} | {x['fake_gain']:+.2f} ± {x['fake_gain_se']:.2f}"
                           for x in r["scales"])
        print(f"| {r['run']} | {r['kimg']:g} | {r['margin']:.2f} | {cells} |")
    if probe.out:
        write_json(Path(probe.out), {"num": probe.num, "seed": probe.seed, "runs": results})


if __name__ == "__main__":
    report_errors(main, "depth_sensitivity.py")
