"""Why depth does (not) emerge: one change at a time against the CPU demo, on the face benchmark.

    python recipes/depth_diagnosis.py                                        # every variant, seed 0
    python recipes/depth_diagnosis.py --names "[FULL, lambertian]" --seeds "[0, 1, 2]"
    python recipes/depth_diagnosis.py --names "[lambertian+symmetric]" --train.kimg 50 --train.out runs/depth-50k

Each variant is the CPU demo as the paper would run it (`gan3dlib.train.recipe.cpu_preset("face",
paper_s0=True)`: FULL from the round sphere, 32², 12 k-images) with one setting changed
(``VARIANTS``), trained and scored like the ablation ladder
(`gan3dlib.experiments.ablation`): against held-out ground truth, the floor (the clean sphere) and
the supervised oracle, with the fraction of each gap closed, the frontal relief (``front``,
``back``: how far the surface reaches towards and away from the camera, in half-widths) and the
shape learning curve of every run (`<run>/shape_curve.json`). The table goes to
`<out>/results.md`; runs resume.

The paper's own settings are the rows FULL (the baseline) and the budget, resolution, learning
rate, regularisation and extension-band rows; ``lambertian`` (shaded albedo instead of an unlit
texture, `gan3dlib.render.shading`) and ``symmetric`` (a left-right mirror prior on the shape) and
``centered`` (the shape's offsets have zero mean: the object cannot slide towards the camera) and
``deep s0`` (s0 a sphere stretched 1.3 times along the viewing axis, about the faces' depth over
width: does the GAN keep a depth it is given? the CPU face demo starts from it) go beyond the
paper and are off in its presets; a stretched s0's gaps are measured from its own floor, a row
beside the sphere's.
``smooth textures`` changes the data, not the model: the same faces with low-contrast albedo
(closer to skin), where shading carries more of the relief; ``20k images`` renders ten times the
scenes, so that the discriminator cannot memorise them (`recipes/discriminator_fit.py` measures
whether it does).
"""

import dataclasses

from gan3dlib.config import parse_overrides
from gan3dlib.errors import report_errors
from gan3dlib.experiments.ablation import LadderScoring, run_ablation_ladder
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.recipe import cpu_preset

VARIANTS = {
    "FULL": {},
    "kimg 36": {"kimg": 36.0},
    "shape_scale 0.03": {"model.shape.shape_scale": 0.03},
    "shape_scale 0.03 kimg 50": {"model.shape.shape_scale": 0.03, "kimg": 50.0},
    "R1 0.2": {"r1_gamma": 0.2},
    "B 2 px": {"model.renderer.blur_px": 2.0},
    "pyramid 2": {"model.shape.pyramid.levels": 2},
    "lambertian": {"model.shading.mode": "lambertian"},
    "symmetric": {"model.shape.symmetric": True},
    "lambertian+symmetric": {"model.shading.mode": "lambertian", "model.shape.symmetric": True},
    "64²": {"model.resolution": 64},
    "smooth textures": {"synthetic_texture": "smooth"},
    "smooth textures+lambertian": {"synthetic_texture": "smooth", "model.shading.mode": "lambertian"},
    "flat data": {"synthetic_texture": "smooth", "synthetic_lighting": "ambient"},
    "kimg 50": {"kimg": 50.0},
    "kimg 150": {"kimg": 150.0},
    "20k images kimg 50": {"synthetic_images": 20000, "kimg": 50.0},
    "20k images kimg 150": {"synthetic_images": 20000, "kimg": 150.0},
    "D 4x channels": {"discriminator.channel_base": 2048, "discriminator.channel_max": 128},
    "centered": {"model.shape.centered": True},
    "centered+lambertian": {"model.shape.centered": True, "model.shading.mode": "lambertian"},
    "centered kimg 50": {"model.shape.centered": True, "kimg": 50.0},
    "deep s0": {"model.shape.sphere_axes": (1.0, 1.0, 1.3)},
    "deep s0 kimg 50": {"model.shape.sphere_axes": (1.0, 1.0, 1.3), "kimg": 50.0},
    "deep s0 kimg 150": {"model.shape.sphere_axes": (1.0, 1.0, 1.3), "kimg": 150.0},
    "deep s0+centered kimg 50": {"model.shape.sphere_axes": (1.0, 1.0, 1.3), "model.shape.centered": True,
                                 "kimg": 50.0},
    "deep s0+D 4x channels kimg 50": {"model.shape.sphere_axes": (1.0, 1.0, 1.3), "discriminator.channel_base": 2048,
                                      "discriminator.channel_max": 128, "kimg": 50.0},
    "lambertian+symmetric kimg 50": {"model.shading.mode": "lambertian", "model.shape.symmetric": True, "kimg": 50.0},
}


@dataclasses.dataclass(frozen=True)
class DiagnosisRun:
    """What to run: the shared settings (the CPU demo on faces), the variants, the seeds and the scoring."""

    train: TrainConfig = dataclasses.field(default_factory=lambda: dataclasses.replace(
        cpu_preset("face", paper_s0=True), out="runs/depth-diagnosis", sample_kimg=4.0))
    names: tuple[str, ...] = tuple(VARIANTS)
    seeds: tuple[int, ...] = (0,)
    scoring: LadderScoring = dataclasses.field(default_factory=LadderScoring)


def main() -> None:
    run = parse_overrides(DiagnosisRun)
    run_ablation_ladder(run.train, run.names, run.seeds, run.train.out, run.scoring, variants=VARIANTS)
    print(open(f"{run.train.out}/results.md").read())


if __name__ == "__main__":
    report_errors(main, "depth_diagnosis.py")
