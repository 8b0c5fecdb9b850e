"""The training config: one dataclass that says exactly what ran (written to the run folder).

Every precision and parallelism choice lives here, not in accelerate's environment or YAML, so a
run folder's ``train_config.json`` describes the run completely. Recipes start from a preset and
take ``--a.b value`` overrides ([`gan3dlib.config.parse_overrides`][gan3dlib.config.parse_overrides]).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass, field
from typing import Literal

from gan3dlib.config import from_dict, to_dict
from gan3dlib.data.synthetic import SyntheticConfig, synthetic_preset
from gan3dlib.data.synthetic_shapes import CATEGORIES
from gan3dlib.nets.discriminator import DiscriminatorConfig
from gan3dlib.presets import scene_config
from gan3dlib.scene.generator import SceneConfig
from gan3dlib.utils.checks import check_positive

__all__ = ["TrainConfig", "train_config_from_dict"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (StyleGAN2-ADA defaults where the paper is silent).

    Attributes:
        model: the scene generator ([`SceneConfig`][gan3dlib.scene.SceneConfig]: networks, shape, renderer,
            camera, viewpoints, background crop, shading); ``--model.resolution 64`` resizes all of it.
        discriminator: D ([`DiscriminatorConfig`][gan3dlib.nets.discriminator.DiscriminatorConfig]); its
            ``resolution`` is None (the model's), its minibatch-stddev group is capped at the
            per-process batch.
        data: an image folder or StyleGAN dataset ``.zip``, or ``"synthetic"`` for the built-in
            procedural dataset.
        synthetic_images: size of the synthetic dataset.
        synthetic_category: its object category, ``'blob'`` (near-spheres), ``'face'`` or ``'car'``
            ([`gan3dlib.data.synthetic_shapes`][gan3dlib.data.synthetic_shapes]).
        synthetic_texture: its texture style: ``'mixed'`` (default), or one of ``'smooth'`` (wide soft
            colour fields, the closest to skin), ``'stripes'``, ``'blobs'``; the objects' shapes do not
            depend on it.
        synthetic_lighting: its lighting: ``'directional'`` (default: ambient + one directional light,
            so shading shows the shape) or ``'ambient'`` (flat colours: the silhouette and the
            texture are all an image shows of the shape).
        hflip: random horizontal flips of the real images.
        out: the run folder (config, checkpoints, samples, the exported model).
        kimg: training length in thousands of real images shown to D.
        batch_size: global batch size (split evenly over processes).
        g_lr: generator learning rate (ADA: 0.0025).
        d_lr: discriminator learning rate (ADA: 0.0025).
        adam_beta1: Adam beta1 (StyleGAN: 0).
        adam_beta2: Adam beta2 (StyleGAN: 0.99).
        r1_gamma: R1 weight; None uses ADA's heuristic ``0.0002 * N² / batch_size``.
        r1_interval: lazy regularisation interval (ADA: 16; D's Adam is rescaled accordingly).
        ema_kimg: G_ema half-life in k-images; None uses ``batch_size * 10 / 32`` (ADA).
        ema_rampup: EMA ramp-up ratio (ADA: 0.05).
        mixed_precision: ``'no'``, ``'fp16'`` or ``'bf16'`` for the networks; the renderer always
            runs in float32.
        cpu: force the CPU even when a GPU is present (also makes gloo the process group).
        seed: global seed; the data, latents, viewpoints and noise of step k are a function of
            (seed, k, process index), so resuming reproduces the next steps exactly.
        checkpoint_kimg: checkpoint interval in k-images.
        keep_checkpoints: number of checkpoints kept.
        sample_kimg: sample-sheet interval in k-images.
        log_kimg: progress/log interval in k-images.
        eval_kimg: interval in k-images of the shape metrics of G_ema during a ``data='synthetic'``
            run (``<out>/shape_curve.json`` and TensorBoard; [`ShapeCurve`][gan3dlib.eval.curves.ShapeCurve]);
            None: off.
        tensorboard: also log to TensorBoard (needs the ``tensorboard`` package).
        resume: what to do with an existing run folder: ``"auto"`` (continue from its newest
            checkpoint, start when there is none; a finished run trains nothing), ``"latest"``
            (continue, refuse without a checkpoint), ``"never"`` (start, refuse a folder with
            checkpoints) or a checkpoint folder ([`gan3dlib.train.run_folder`][gan3dlib.train.run_folder]).
            None (in older config files) means ``"auto"``.
        num_workers: data loader worker processes.
    """

    model: SceneConfig = field(default_factory=SceneConfig)
    discriminator: DiscriminatorConfig = field(default_factory=lambda: DiscriminatorConfig(resolution=None))
    data: str = "synthetic"
    synthetic_images: int = 2000
    synthetic_category: Literal["blob", "face", "car"] = "blob"
    synthetic_texture: Literal["mixed", "smooth", "stripes", "blobs"] = "mixed"
    synthetic_lighting: Literal["directional", "ambient"] = "directional"
    hflip: bool = False
    out: str = "runs/default"
    kimg: float = 25000.0
    batch_size: int = 32
    g_lr: float = 0.0025
    d_lr: float = 0.0025
    adam_beta1: float = 0.0
    adam_beta2: float = 0.99
    r1_gamma: float | None = None
    r1_interval: int = 16
    ema_kimg: float | None = None
    ema_rampup: float = 0.05
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    cpu: bool = False
    seed: int = 0
    checkpoint_kimg: float = 50.0
    keep_checkpoints: int = 3
    sample_kimg: float = 50.0
    log_kimg: float = 1.0
    eval_kimg: float | None = None
    tensorboard: bool = False
    resume: str | None = "auto"
    num_workers: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.data, str) or not self.data:
            raise ValueError(f"data: expected an image folder, a .zip or 'synthetic', got {self.data!r}")
        for name in ("kimg", "g_lr", "d_lr", "checkpoint_kimg", "sample_kimg", "log_kimg", "ema_rampup"):
            value = getattr(self, name)
            check_positive(value, name)
            if not math.isfinite(value):
                raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
        for name in ("batch_size", "r1_interval", "keep_checkpoints", "synthetic_images"):
            check_positive(getattr(self, name), name, integer=True)
        check_positive(self.num_workers, "num_workers", integer=True, allow_zero=True)
        if not (0.0 <= self.adam_beta1 < 1.0 and 0.0 <= self.adam_beta2 < 1.0):
            raise ValueError(f"adam_beta1, adam_beta2: expected values in [0, 1), got {self.adam_beta1}, {self.adam_beta2}")
        if self.r1_gamma is not None:
            check_positive(self.r1_gamma, "r1_gamma", allow_zero=True)
        if self.ema_kimg is not None:
            check_positive(self.ema_kimg, "ema_kimg")
        if self.eval_kimg is not None:
            check_positive(self.eval_kimg, "eval_kimg")
            if not math.isfinite(self.eval_kimg):
                raise ValueError(f"eval_kimg: expected a finite number > 0 or None, got {self.eval_kimg!r}")
        if self.synthetic_category not in CATEGORIES:
            raise ValueError(f"synthetic_category: expected one of {CATEGORIES}, got {self.synthetic_category!r}")
        if self.synthetic_texture not in ("mixed", "smooth", "stripes", "blobs"):
            raise ValueError(f"synthetic_texture: expected 'mixed', 'smooth', 'stripes' or 'blobs', "
                             f"got {self.synthetic_texture!r}")
        if self.synthetic_lighting not in ("directional", "ambient"):
            raise ValueError(f"synthetic_lighting: expected 'directional' or 'ambient', got {self.synthetic_lighting!r}")
        if self.resume is not None and (not isinstance(self.resume, str) or not self.resume):
            raise ValueError(f"resume: expected 'auto', 'latest', 'never' or a checkpoint folder, got {self.resume!r}")
        if self.mixed_precision not in ("no", "fp16", "bf16"):
            raise ValueError(f"mixed_precision: expected 'no', 'fp16' or 'bf16', got {self.mixed_precision!r}")
        if self.discriminator.resolution not in (None, self.model.resolution):
            raise ValueError(f"discriminator.resolution: expected None or model.resolution "
                             f"({self.model.resolution}), got {self.discriminator.resolution}")
        try:  # D's own checks at the model's resolution (e.g. channel_base >= resolution)
            dataclasses.replace(self.discriminator, resolution=self.model.resolution)
        except ValueError as err:
            raise ValueError(f"discriminator.{err}") from None

    def discriminator_config(self, local_batch: int) -> DiscriminatorConfig:
        """D's config as built: the model's resolution, the stddev group capped at ``local_batch``."""
        return dataclasses.replace(self.discriminator, resolution=self.model.resolution,
                                   mbstd_group_size=min(self.discriminator.mbstd_group_size, local_batch))

    def synthetic_config(self) -> SyntheticConfig:
        """The [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig] of a ``data='synthetic'`` run."""
        return synthetic_preset(self.synthetic_category, self.synthetic_images, self.model.resolution, self.seed,
                                texture_style=self.synthetic_texture, lighting=self.synthetic_lighting)

    @property
    def resolved_r1_gamma(self) -> float:
        """R1 weight in effect (ADA's heuristic when ``r1_gamma`` is None)."""
        if self.r1_gamma is not None:
            return self.r1_gamma
        return 0.0002 * self.model.resolution**2 / self.batch_size

    @property
    def resolved_ema_kimg(self) -> float:
        """G_ema half-life in effect (ADA: ``batch_size * 10 / 32``)."""
        return self.ema_kimg if self.ema_kimg is not None else self.batch_size * 10 / 32


# The generator settings a TrainConfig's ``model`` held before it was a SceneConfig: the arguments of
# ``gan3dlib.presets.scene_config``; D then took its channels from the object generator.
_FLAT_MODEL_KEYS = frozenset(inspect.signature(scene_config).parameters)


def train_config_from_dict(data: dict) -> TrainConfig:
    """Decodes a [`TrainConfig`][gan3dlib.train.config.TrainConfig] dict, also one written before ``model`` was
    a full [`SceneConfig`][gan3dlib.scene.SceneConfig] (its few generator settings then are expanded as
    [`scene_config`][gan3dlib.presets.scene_config] does, and D gets the object generator's channels, as it did).
    """
    model = data.get("model") if isinstance(data, dict) else None
    if isinstance(model, dict) and "object_generator" not in model and "discriminator" not in data:
        unknown = sorted(set(model) - _FLAT_MODEL_KEYS)
        if unknown:
            raise ValueError(f"data: unknown keys {['model.' + k for k in unknown]} for TrainConfig")
        settings = {k: tuple(v) if isinstance(v, list) else v for k, v in model.items()}
        expanded = scene_config(**settings)
        synthesis = expanded.object_generator.synthesis
        data = {**data, "model": to_dict(expanded), "discriminator": to_dict(DiscriminatorConfig(
            resolution=None, channel_base=synthesis.channel_base, channel_max=synthesis.channel_max))}
    return from_dict(TrainConfig, data)
