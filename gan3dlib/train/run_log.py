"""What a training run reports while it trains, in one place.

- the progress bar (losses, images per second, skipped steps);
- ``<run>/stats.jsonl``: one JSON line per log interval (k-images, losses, the RMS gradient that
  reaches the generator's shape image, texture and background, images per second), so the balance
  between what the discriminator teaches the shape and the texture can be read after the run;
- TensorBoard scalars (``tensorboard=True``);
- the shape learning curve ([`ShapeCurve`][gan3dlib.eval.curves.ShapeCurve]) of a synthetic run with
  ``eval_kimg`` set.

Only the main process writes. On resume, lines and curve points beyond the resumed k-image (from
the lost part of an interrupted run) are dropped first, so every file describes the weights that exist.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tqdm.auto import tqdm

from gan3dlib.utils.atomic import atomic_write_bytes
from gan3dlib.utils.json_files import json_safe

__all__ = ["RunLog"]

STATS = "stats.jsonl"


class RunLog:
    """The reports of one run (see the module docstring).

    Args:
        config: the run's [`TrainConfig`][gan3dlib.train.config.TrainConfig].
        scene: the generator being trained (the shape curve's floor is its initial shape).
        start_kimg: where this invocation starts (0 for a new run).
        main_process: False on the other processes of a multi-process run (they report nothing).
    """

    def __init__(self, config, scene, start_kimg: float, main_process: bool = True) -> None:
        self.config, self.main = config, main_process
        self.run = Path(config.out)
        self.progress = tqdm(total=round(config.kimg * 1000), initial=round(start_kimg * 1000), unit="img",
                             unit_scale=True, disable=not main_process)
        self.writer = _tensorboard(self.run / "tensorboard") if config.tensorboard and main_process else None
        self.curve = None
        if main_process:
            self._truncate_stats(start_kimg)
            if config.eval_kimg is not None and config.data == "synthetic":
                from gan3dlib.eval.curves import ShapeCurve

                self.curve = ShapeCurve(config.synthetic_config(), scene, self.run)
                self.curve.resume(start_kimg)

    def _truncate_stats(self, kimg: float) -> None:
        path = self.run / STATS
        if not path.is_file():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                if json.loads(line)["kimg"] <= kimg + 1e-9:
                    kept.append(line)
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash
        _write_lines(path, kept)

    def advance(self, images: int) -> None:
        """Moves the progress bar by ``images``."""
        self.progress.update(images)

    def log(self, nimg: int, stats: dict[str, float]) -> None:
        """Reports ``stats`` (losses, gradients, rate, skipped steps) at ``nimg`` images."""
        if not self.main:
            return
        self.progress.set_postfix_str(
            f"D {stats['loss_D']:.3f} G {stats['loss_G']:.3f} R1 {stats['loss_R1']:.3f} "
            f"{stats['images_per_second']:.1f} img/s skipped {stats['skipped_steps']}"
        )
        with (self.run / STATS).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(json_safe({"kimg": nimg / 1000, **stats})) + "\n")
        self._scalars(stats, nimg)

    def shape_point(self, scene, nimg: int) -> None:
        """One point of the shape curve (when the run records one), also to TensorBoard."""
        if self.curve is None:
            return
        point = self.curve.record(scene, nimg / 1000)
        values = {f"shape/{name}": point[name] for name in point["gap"]}
        values.update({f"shape_gap/{name}": value for name, value in point["gap"].items()})
        self._scalars(values, nimg)

    def _scalars(self, values: dict[str, float], nimg: int) -> None:
        if self.writer is not None:
            for name, value in values.items():
                if isinstance(value, int | float) and math.isfinite(value):
                    self.writer.add_scalar(name, value, global_step=nimg // 1000)

    def close(self) -> None:
        """Closes the progress bar and the TensorBoard writer."""
        self.progress.close()
        if self.writer is not None:
            self.writer.close()


def _write_lines(path: Path, lines: list[str]) -> None:
    """Rewrites ``path`` atomically with ``lines`` (each already JSON)."""
    atomic_write_bytes(path, "".join(line + "\n" for line in lines).encode())


def _tensorboard(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ValueError("tensorboard: logging needs the tensorboard package (pip install tensorboard)") from err
    return SummaryWriter(str(folder))

