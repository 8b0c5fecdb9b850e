"""Running a recipe: a preset [`TrainConfig`][gan3dlib.train.config.TrainConfig] plus command-line overrides, then [`train`][gan3dlib.train.loop.train].

``accelerate launch recipes/ffhq.py --data /data/ffhq128 --batch_size 64 --model.renderer.blur_px 1.5``
and plain ``python recipes/ffhq.py ...`` both end here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from gan3dlib.config import parse_overrides, replace_nested
from gan3dlib.errors import report_errors
from gan3dlib.nets.discriminator import DiscriminatorConfig
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.loop import TrainResult, build_dataset, train

__all__ = ["MISSING_DATA", "TRAIN_PRESETS", "train_preset", "paper_preset", "cpu_preset", "run_recipe", "check_can_start",
           "accelerator_available"]

# Placeholder for recipes whose data the user must give; `run_recipe` refuses to start with it.
MISSING_DATA = "<required: --data PATH>"


def paper_preset(name: str) -> TrainConfig:
    """The training settings of one of the paper's models (``'ffhq'``, ``'lsun_car'``, ``'lsun_bus'``).

    128², batch 32, 5,000 k-images (the paper's 5M images), checkpoints and sample sheets every
    50 k-images, run folder ``runs/<name>``; the data path must be given (``--data``).
    """
    from gan3dlib.presets import PRESETS

    if name not in ("ffhq", "lsun_car", "lsun_bus"):
        raise ValueError(f"name: expected 'ffhq', 'lsun_car' or 'lsun_bus', got {name!r}")
    return TrainConfig(
        model=PRESETS[name](), data=MISSING_DATA, out=f"runs/{name}", kimg=5000.0, batch_size=32,
        checkpoint_kimg=50.0, sample_kimg=50.0,
    )


# The CPU face demo's initial shape: the sphere stretched along the viewing axis (x, y, z).
FACE_SPHERE_AXES = (1.0, 1.0, 1.3)


def cpu_preset(category: str = "face", paper_s0: bool = False) -> TrainConfig:
    """The CPU demo's settings: the ``tiny_cpu`` model learning one synthetic category on 2 cores.

    32², small networks (D too: channel base 512, at most 64 channels), 2,000 scenes of ``category`` (``'face'``, ``'car'`` or ``'blob'``), 12 k-images at batch 16
    (about 4½ minutes of training, 7 in all, on 2 CPU cores), R1 γ = 0.05, ``shape_scale = 0.01`` (5x the paper's 0.002, so that
    shapes move within 12 k-images), checkpoints and sample sheets every 2 k-images, shape metrics
    every 2 k-images (``shape_curve.json``). ``car`` starts from the sheet without the size
    constraint (the paper's CAR setting), the others from the sphere (FULL). ``face`` starts from
    the sphere stretched 1.3 times along the viewing axis (``model.shape.sphere_axes = (1, 1, 1.3)``,
    about a face's depth over width; beyond the paper): over three seeds it gives better depth maps,
    normals and silhouettes at 12 k-images than the round sphere (docs/results.md, "A deeper start
    for the demo").

    Args:
        category: the synthetic category.
        paper_s0: start ``face`` from the paper's round sphere instead (the baseline of the ablation
            ladder and of the depth diagnosis, whose tables compare against the paper's FULL).
    """
    from gan3dlib.presets import ablation, tiny_cpu

    deep = category == "face" and not paper_s0
    model = replace_nested(tiny_cpu(), {"shape.shape_scale": 0.01,
                                        "shape.sphere_axes": FACE_SPHERE_AXES if deep else (1.0, 1.0, 1.0)})
    return TrainConfig(
        model=ablation(model, "CAR" if category == "car" else "FULL"),
        discriminator=DiscriminatorConfig(resolution=None, channel_base=512, channel_max=64),
        data="synthetic", synthetic_images=2000,
        synthetic_category=category, out="runs/synthetic", kimg=12.0, batch_size=16, r1_gamma=0.05,
        checkpoint_kimg=2.0, sample_kimg=2.0, log_kimg=0.16, eval_kimg=2.0,
    )


# The presets ``gan3d train NAME`` knows: the paper's models and the CPU demo on each synthetic category.
TRAIN_PRESETS = ("ffhq", "lsun_car", "lsun_bus", "cpu_face", "cpu_car", "cpu_blob")


def train_preset(name: str) -> TrainConfig:
    """The preset ``name`` of ``TRAIN_PRESETS``: ``paper_preset`` for the paper's three models,
    ``cpu_preset(category)`` for ``cpu_<category>``."""
    if name not in TRAIN_PRESETS:
        raise ValueError(f"preset: expected one of {', '.join(TRAIN_PRESETS)}, got {name!r}")
    return cpu_preset(name.removeprefix("cpu_")) if name.startswith("cpu_") else paper_preset(name)


def run_recipe(preset: TrainConfig, argv: Sequence[str] | None = None, max_steps: int | None = None,
               prog: str | None = None) -> TrainResult:
    """Parses ``--a.b value`` overrides on top of ``preset`` and trains.

    Args:
        preset: the recipe's settings.
        argv: command-line arguments (``sys.argv[1:]`` if None).
        max_steps: optional cap on the steps of this invocation.
        prog: the name error messages start with (default: the script's name, or ``'recipe'``
            when ``argv`` is given).

    Returns:
        The finished run's [`TrainResult`][gan3dlib.train.loop.TrainResult].
    """
    args = list(sys.argv[1:] if argv is None else argv)
    prog = prog or (Path(sys.argv[0]).name if argv is None else "recipe")
    return report_errors(lambda: _run(preset, args, max_steps), prog)


def _run(preset: TrainConfig, args: list[str], max_steps: int | None) -> TrainResult:
    config = parse_overrides(TrainConfig, args, default=preset)
    if config.data == MISSING_DATA:
        raise ValueError(
            "--data: required: an image folder (searched recursively for .png/.jpg/.jpeg/.webp) "
            "or a StyleGAN dataset .zip; or --data synthetic for the built-in procedural dataset"
        )
    check_can_start(config)
    result = train(config, max_steps=max_steps)
    print(
        f"done: {result.kimg:.3f} kimg in {result.steps} steps ({result.seconds:.0f} s, {result.skipped_steps} skipped); "
        f"run folder {result.run_folder}, model {result.run_folder / 'model'}"
    )
    return result


def accelerator_available() -> bool:
    """True when torch sees a GPU that accelerate would train on (CUDA/ROCm, Apple MPS or Intel XPU)."""
    mps = getattr(torch.backends, "mps", None)
    xpu = getattr(torch, "xpu", None)
    return bool(torch.cuda.is_available() or (mps is not None and mps.is_available())
                or (xpu is not None and xpu.is_available()))


def check_can_start(config: TrainConfig) -> None:
    """Stops early, saying what to do next, on the mistakes a newcomer makes before training starts.

    - ``--data`` is a path that does not exist, is empty or is not an image folder or zip;
    - no GPU is visible and the model is larger than the CPU demo's (32²): training would take
      years, so it only starts on the CPU when asked for with ``--cpu true``.

    Raises:
        ValueError: with the message (the recipe prints it as one error line).
    """
    if config.data != "synthetic":
        try:
            build_dataset(config)
        except ValueError as err:
            raise ValueError(f"--data: {err}") from None
    if not config.cpu and config.model.resolution > 32 and not accelerator_available():
        raise ValueError(
            f"no GPU found (torch {torch.__version__}, torch.cuda.is_available() is False). The "
            f"{config.model.resolution}² model trains at well under one image per second on a CPU, so "
            f"{config.kimg:g} k-images would take months. What to do next:\n"
            "  - on a machine with an NVIDIA GPU, check that torch is a CUDA build: "
            "python -c 'import torch; print(torch.cuda.is_available())';\n"
            "  - to try gan3dlib on this machine, run the CPU demo: python recipes/synthetic.py;\n"
            "  - to train this model on the CPU anyway, add --cpu true."
        )
