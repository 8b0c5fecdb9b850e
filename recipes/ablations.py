"""The paper's ablation ladder (CRISP, SOFT, SIZE, FULL, VIEW; CAR) on the ground-truth benchmark.

    python recipes/ablations.py                                              # faces: 5 ablations x 3 seeds
    python recipes/ablations.py --train.synthetic_category car --ablations "[CRISP, SOFT, SIZE, FULL, VIEW, CAR]" \\
        --train.out runs/ablations-car
    python recipes/ablations.py --train.kimg 2 --seeds "[0]"                 # a quick look

Every run trains the CPU demo's model (`gan3dlib.train.recipe.cpu_preset`: tiny 32² networks,
12 k-images; faces from the paper's round sphere, ``paper_s0=True``) on one synthetic category
with the same budget, and is scored against the ground truth between a floor (the clean initial shape) and a ceiling (held-out ground truth, and a
supervised oracle through the same parametrization): depth and normal error, mask IoU, Chamfer,
aspect, depth-extent and frontal-relief errors, COV/MMD, FID/KID, and the fraction of the
floor-to-truth gap each closes (`gan3dlib.experiments.ablation`). The tables go to
`<out>/results.md` and `<out>/results.json`, rewritten after every run; every run also records its
shape learning curve (`<run>/shape_curve.json`). Runs are seed-major and resumable.

FID/KID use a small fixed random-projection feature extractor unless `--inception_weights` names
the standard FID Inception file (needs `pip install "gan3dlib[eval]"`).
"""

import dataclasses

from gan3dlib.config import parse_overrides
from gan3dlib.errors import report_errors
from gan3dlib.experiments.ablation import LADDER, LadderScoring, run_ablation_ladder
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.recipe import cpu_preset


@dataclasses.dataclass(frozen=True)
class AblationRun:
    """What to run: the shared training settings, the ablations, the seeds and the scoring."""

    train: TrainConfig = dataclasses.field(default_factory=lambda: dataclasses.replace(
        cpu_preset("face", paper_s0=True), out="runs/ablations", sample_kimg=4.0))
    ablations: tuple[str, ...] = LADDER
    seeds: tuple[int, ...] = (0, 1, 2)
    scoring: LadderScoring = dataclasses.field(default_factory=LadderScoring)
    inception_weights: str | None = None  # the FID Inception-v3 weights file (default: random projection)


def main() -> None:
    run = parse_overrides(AblationRun)
    extractor = None
    if run.inception_weights is not None:
        from gan3dlib.eval import InceptionFeatures

        extractor = InceptionFeatures(run.inception_weights)
    run_ablation_ladder(run.train, run.ablations, run.seeds, run.train.out, run.scoring, extractor=extractor)
    print(open(f"{run.train.out}/results.md").read())


if __name__ == "__main__":
    report_errors(main, "ablations.py")
