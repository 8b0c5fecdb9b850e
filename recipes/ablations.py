"""The paper's ablation ladder (CRISP, SOFT, SIZE, FULL, VIEW) on the ground-truth benchmark.

    python recipes/ablations.py                                   # 5 ablations x 2 seeds x 2 kimg
    python recipes/ablations.py --train.kimg 12 --seeds "[0, 1, 2]"

Every run trains the tiny CPU model on the synthetic ground-truth dataset with the same budget and
is scored against the ground-truth shapes (`gan3dlib.eval.synthetic_eval`); the table of mean ±
std over seeds goes to `<out>/results.md` and `<out>/results.json`.
"""

import dataclasses

from gan3dlib.config import parse_overrides
from gan3dlib.eval.ablation import LADDER, run_ablation_ladder
from gan3dlib.presets import PRESET_SPECS
from gan3dlib.train.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class AblationRun:
    """What to run: the shared training settings, the ablations and the seeds."""

    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(
        model=dataclasses.replace(PRESET_SPECS["tiny_cpu"], shape_scale=0.01), data="synthetic",
        synthetic_images=500, out="runs/ablations", kimg=2.0, batch_size=16,
        checkpoint_kimg=2.0, sample_kimg=2.0, log_kimg=0.5,
    ))
    ablations: tuple[str, ...] = LADDER
    seeds: tuple[int, ...] = (0, 1)
    num_generated: int = 64
    num_truth: int = 256


if __name__ == "__main__":
    run = parse_overrides(AblationRun)
    run_ablation_ladder(run.train, run.ablations, run.seeds, run.train.out, run.num_generated, run.num_truth)
    print(open(f"{run.train.out}/results.md").read())
