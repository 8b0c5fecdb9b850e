"""The paper's ablation ladder (CRISP, SOFT, SIZE, FULL, VIEW) on the ground-truth benchmark.

    python recipes/ablations.py                                   # 5 ablations x 3 seeds x 8 kimg
    python recipes/ablations.py --train.kimg 2 --seeds "[0]"      # a quick look
    python recipes/ablations.py --inception_weights /path/to/weights-inception-2015-12-05-6726825d.pth

Every run trains the tiny CPU model on the synthetic ground-truth dataset with the same budget and
is scored against the ground-truth shapes and images (`gan3dlib.eval.synthetic_eval.score_run`:
depth and normal error, mask IoU, hollow fraction, Chamfer COV/MMD, FID/KID); the table of
mean ± std over seeds goes to `<out>/results.md` and `<out>/results.json`, rewritten after every
run. Runs are seed-major and resumable: stopping and starting again continues where it stopped,
and finished runs are only scored again.

FID/KID use a small fixed random-projection feature extractor unless `--inception_weights` names
the standard FID Inception file (needs `pip install "gan3dlib[eval]"`); the default numbers are
comparable within one table only.
"""

import dataclasses

from gan3dlib.config import parse_overrides
from gan3dlib.eval.ablation import LADDER, run_ablation_ladder
from gan3dlib.presets import PRESET_SPECS
from gan3dlib.train.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class AblationRun:
    """What to run: the shared training settings, the ablations, the seeds and the scoring sizes."""

    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        model=dataclasses.replace(PRESET_SPECS["tiny_cpu"], shape_scale=0.01), data="synthetic",
        synthetic_images=500, out="runs/ablations", kimg=8.0, batch_size=16,
        checkpoint_kimg=4.0, sample_kimg=8.0, log_kimg=0.5,
    ))
    ablations: tuple[str, ...] = LADDER
    seeds: tuple[int, ...] = (0, 1, 2)
    num_generated: int = 64  # generated objects for the shape metrics
    num_truth: int = 256  # ground-truth objects they are matched against
    num_fid: int = 500  # renders and training images for FID/KID
    inception_weights: str | None = None  # the FID Inception-v3 weights file (default: random projection)


if __name__ == "__main__":
    run = parse_overrides(AblationRun)
    extractor = None
    if run.inception_weights is not None:
        from gan3dlib.eval import InceptionFeatures

        extractor = InceptionFeatures(run.inception_weights)
    run_ablation_ladder(run.train, run.ablations, run.seeds, run.train.out, run.num_generated, run.num_truth,
                        extractor=extractor, num_fid=run.num_fid)
    print(open(f"{run.train.out}/results.md").read())
