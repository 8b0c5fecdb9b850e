"""The training loop, readable top to bottom (StyleGAN2-ADA's recipe around the 3D scene generator).

Each step:

1. **D phase.** Generate fakes with the (unwrapped) scene generator without gradients; D learns
   ``softplus(D(fake)) + softplus(-D(real))``; every ``r1_interval`` steps the lazy R1 penalty
   ``gamma / 2 * ||∇D(real)||² * r1_interval`` is added.
2. **G phase.** D is frozen; the scene generator (with style mixing) renders fakes, scored by the
   unwrapped D: ``softplus(-D(fake))``.
3. **EMA.** G_ema follows G with a half-life in k-images.

Two models and two optimizers go through ``accelerate`` without ``accelerator.accumulate()``
(one forward/backward per phase). Gradients are ``nan_to_num``'d; a non-finite loss on any
process skips that phase's update on every process and is counted. Everything random in step k
(real batch, latents, viewpoints, crops, noise, style mixing) is drawn from generators seeded by
(seed, k, process index), so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import time
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs

from gan3dlib.config import save_config, to_json
from gan3dlib.train.artifacts import (
    sample_latents,
    write_checkpoint,
    write_interpolation,
    write_missing_end_artifacts,
    write_sample_sheet,
)
from gan3dlib.train.checkpoint import load_checkpoint
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.ema import EMAConfig, ModelEMA
from gan3dlib.train.run_folder import RunLock, RunStart, plan_run, remove_staging
from gan3dlib.train.run_log import RunLog
from gan3dlib.train.steps import discriminator_step, generator_step, rms_gradients
from gan3dlib.utils.checks import data_checks

__all__ = ["train", "TrainResult", "build_dataset", "step_seed"]


def step_seed(seed: int, step: int, rank: int, stream: int) -> int:
    """A 63-bit seed for one random stream of one step on one process."""
    value = (seed * 1_000_003 + step) * 1_009 + rank
    value = (value * 31 + stream) * 0x9E3779B97F4A7C15
    return value % (2**63 - 1)


@dataclasses.dataclass
class TrainResult:
    """What a run reports when this invocation ends.

    Attributes:
        kimg: k-images trained in all (this and earlier invocations).
        steps: training steps in all.
        skipped_steps: steps skipped for a non-finite loss, in all.
        seconds: wall time of this invocation's training (0 for a run that was already finished).
        last_losses: the last logged losses (empty when nothing was trained).
        run_folder: the run folder.
        config: the config the run trained with.
    """

    kimg: float
    steps: int
    skipped_steps: int
    seconds: float
    last_losses: dict[str, float]
    run_folder: Path
    config: TrainConfig | None = None


def build_dataset(config: TrainConfig):
    """The real-image dataset of the run: items (3, N, N) float32 in [-1, 1]."""
    if config.data == "synthetic":
        return _synthetic_dataset(config.synthetic_config())
    from gan3dlib.data.images import ImageDatasetConfig

    return ImageDatasetConfig(path=config.data, resolution=config.model.resolution, hflip=config.hflip,
                              seed=config.seed).build()


@functools.lru_cache(maxsize=4)
def _synthetic_dataset(synthetic):
    """The synthetic dataset, every scene rendered once (kept for later runs in this process)."""
    from gan3dlib.data.synthetic import SyntheticImageDataset

    dataset = SyntheticImageDataset(synthetic, cache=True)
    dataset.__getitems__(list(range(len(dataset))))  # render every scene once, in large batches
    return dataset


class _StepBatches(torch.utils.data.IterableDataset):
    """Yields this process's real batch of step ``start, start + 1, ...`` (workers interleave)."""

    def __init__(self, dataset, batch: int, seed: int, rank: int, start: int) -> None:
        self.dataset, self.batch, self.seed, self.rank, self.start = dataset, batch, seed, rank, start

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        step = self.start + worker
        while True:
            g = torch.Generator().manual_seed(step_seed(self.seed, step, self.rank, 0))
            indices = torch.randint(len(self.dataset), (self.batch,), generator=g).tolist()
            fetch = getattr(self.dataset, "__getitems__", None)  # batched rendering (synthetic data)
            yield torch.stack(fetch(indices) if fetch is not None else [self.dataset[i] for i in indices])
            step += workers


def train(config: TrainConfig, accelerator: Accelerator | None = None, max_steps: int | None = None) -> TrainResult:
    """Trains a scene generator against a discriminator on ``config.data``, or continues the run in ``out``.

    What happens with an existing run folder is ``config.resume``'s choice
    ([`gan3dlib.train.run_folder`][gan3dlib.train.run_folder]): by default the same command continues
    from the newest checkpoint, and a finished run trains nothing and overwrites nothing.

    Args:
        config: the run's settings; written to ``<out>/train_config.json``.
        accelerator: an existing Accelerator (e.g. from a test); built from ``config`` if None.
        max_steps: stop after this many steps of this invocation (tests, benchmarks).

    Returns:
        [`TrainResult`][gan3dlib.train.loop.TrainResult].
    """
    accelerator = accelerator or Accelerator(
        mixed_precision=config.mixed_precision,
        cpu=config.cpu,
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],
    )
    if config.batch_size % accelerator.num_processes:
        raise ValueError(f"batch_size: expected a multiple of the {accelerator.num_processes} processes, "
                         f"got {config.batch_size}")
    start = plan_run(config)
    run = Path(config.out)
    with RunLock(run) if accelerator.is_main_process else contextlib.nullcontext():
        if accelerator.is_main_process:
            remove_staging(run)
            if not start.finished:
                _record_config(config, run / "train_config.json")
        accelerator.wait_for_everyone()
        if start.finished:
            return _finished_run(config, start, accelerator)
        return _train(config, accelerator, start, max_steps)


def _record_config(config: TrainConfig, path: Path) -> None:
    """Writes the run's config unless the file already holds exactly this config."""
    if not path.is_file() or path.read_text(encoding="utf-8") != to_json(config):
        save_config(config, path)


def _finished_run(config: TrainConfig, start: RunStart, accelerator: Accelerator) -> TrainResult:
    """A run that already reached its k-images: trains nothing, writes only missing end-of-run artifacts."""
    run = Path(config.out)
    state = json.loads((start.checkpoint / "state.json").read_text(encoding="utf-8"))["state"]
    accelerator.print(f"{run} is finished: {start.kimg:g} of {config.kimg:g} kimg trained; nothing to do "
                      "(pass a larger --kimg to train longer)")
    if accelerator.is_main_process:
        write_missing_end_artifacts(config, start.checkpoint, round(start.kimg * 1000))
    accelerator.wait_for_everyone()
    return TrainResult(start.kimg, int(state["step"]), int(state["skipped_steps"]), 0.0, {}, run, config)


def _models(config: TrainConfig, local_batch: int):
    """G, D, G_ema and the two Adam optimizers (D's rescaled for lazy R1, as in StyleGAN2-ADA)."""
    torch.manual_seed(config.seed)  # identical initial weights on every process
    G = config.model.build()
    D = config.discriminator_config(local_batch).build()
    G_ema = ModelEMA(G, EMAConfig(half_life_kimg=config.resolved_ema_kimg, rampup=config.ema_rampup))
    betas = (config.adam_beta1, config.adam_beta2)
    ratio = config.r1_interval / (config.r1_interval + 1)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.g_lr, betas=betas, eps=1e-8)
    opt_D = torch.optim.Adam(D.parameters(), lr=config.d_lr * ratio, betas=(betas[0] ** ratio, betas[1] ** ratio), eps=1e-8)
    return G, D, G_ema, opt_G, opt_D


def _train(config: TrainConfig, accelerator: Accelerator, start: RunStart, max_steps: int | None) -> TrainResult:
    """The training loop proper (see the module docstring).

    One function on purpose, read top to bottom as StyleGAN2-ADA's ``training_loop``: set-up and
    resume, then per step the D phase, the G phase, EMA and the reports.
    """
    rank, world = accelerator.process_index, accelerator.num_processes
    local_batch = config.batch_size // world
    device = accelerator.device
    run = Path(config.out)
    G, D, G_ema, opt_G, opt_D = _models(config, local_batch)

    # Resume before wrapping (checkpoints hold unwrapped state).
    step, skipped, start_kimg = 0, 0, 0.0
    if start.checkpoint is not None:
        state, _, start_kimg = load_checkpoint(start.checkpoint, {"G": G, "D": D, "G_ema": G_ema.module},
                                               {"G": opt_G, "D": opt_D})
        step, skipped = int(state["step"]), int(state["skipped_steps"])
        accelerator.print(f"resumed from {start.checkpoint} at {start_kimg:.3f} kimg (step {step})")
    G_ema.module.to(device)
    G, D, opt_G, opt_D = accelerator.prepare(G, D, opt_G, opt_D)
    G_plain, D_plain = accelerator.unwrap_model(G), accelerator.unwrap_model(D)

    dataset = build_dataset(config)
    batches = iter(torch.utils.data.DataLoader(
        _StepBatches(dataset, local_batch, config.seed, rank, step), batch_size=None, num_workers=config.num_workers
    ))
    z_dim = config.model.z_dim
    gamma = config.resolved_r1_gamma
    nimg = round(start_kimg * 1000)
    target_nimg = round(config.kimg * 1000)
    next_checkpoint = nimg + config.checkpoint_kimg * 1000
    next_log = nimg + config.log_kimg * 1000
    losses: dict[str, float] = {}
    last_r1 = torch.zeros(())  # the R1 penalty of the newest lazy-R1 step
    started = time.time()
    steps_run = 0
    next_sample = nimg + config.sample_kimg * 1000
    latents_for_samples = sample_latents(config)
    log = RunLog(config, G_plain, start_kimg, accelerator.is_main_process)
    next_eval = nimg + (config.eval_kimg or 0) * 1000
    if nimg == 0:
        log.shape_point(G_ema.module, nimg)

    while nimg < target_nimg and (max_steps is None or steps_run < max_steps):
        real = next(batches).to(device)
        g = torch.Generator(device=device).manual_seed(step_seed(config.seed, step, rank, 1))
        latents = torch.randn(4, local_batch, z_dim, generator=g, device=device)

        # Inputs are value-checked (NaN, index ranges) at the first step only: later checks would sync the GPU.
        with data_checks(steps_run == 0):
            do_r1 = gamma > 0 and step % config.r1_interval == 0
            finite_d, d_losses = discriminator_step(accelerator, config, G_plain, D, opt_D, real, latents[:2], g,
                                                     gamma if do_r1 else 0.0)
            finite_g, loss_g, watched = generator_step(accelerator, G, D, D_plain, opt_G, latents[2:], g)
        if do_r1:
            last_r1 = d_losses[2]  # reported at the next log line, which need not be an R1 step
        if not (finite_d and finite_g):
            skipped += 1
            if skipped == 1:  # said once; the count goes to the progress bar and stats.jsonl
                accelerator.print(f"step {step}: the {'D' if not finite_d else 'G'} loss is not finite; "
                                  "its update is skipped on every process")

        # --- EMA, counters and reports.
        G_ema.update(G_plain, config.batch_size, nimg)
        nimg += config.batch_size
        step += 1
        steps_run += 1
        log.advance(config.batch_size)
        stopping = nimg >= target_nimg or (max_steps is not None and steps_run >= max_steps)
        if nimg >= next_log or stopping:
            next_log += config.log_kimg * 1000
            losses = {"loss_D": float(d_losses[0] + d_losses[1]), "loss_G": float(loss_g.detach()),
                      "loss_R1": float(last_r1)}
            rate = steps_run * config.batch_size / max(time.time() - started, 1e-9)
            log.log(nimg, {**losses, **rms_gradients(watched), "images_per_second": rate, "skipped_steps": skipped})
        if accelerator.is_main_process and (nimg >= next_sample or nimg >= target_nimg):
            next_sample += config.sample_kimg * 1000
            write_sample_sheet(G_ema.module, latents_for_samples, run / "samples" / f"sheet-{nimg / 1000:010.3f}kimg.png", config.seed)
        if config.eval_kimg is not None and (nimg >= next_eval or nimg >= target_nimg):
            next_eval += config.eval_kimg * 1000
            log.shape_point(G_ema.module, nimg)
        if nimg >= next_checkpoint or stopping:
            next_checkpoint += config.checkpoint_kimg * 1000
            write_checkpoint(accelerator, config, run, nimg, step, skipped, G_plain, D_plain, G_ema, opt_G, opt_D)

    log.close()
    if accelerator.is_main_process and steps_run:
        write_interpolation(G_ema.module, latents_for_samples, run / "samples" / "interpolation.gif")
    accelerator.wait_for_everyone()
    return TrainResult(nimg / 1000, step, skipped, time.time() - started, losses, run, config)


