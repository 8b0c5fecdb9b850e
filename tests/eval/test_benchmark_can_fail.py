"""The shape benchmark can fail: every metric ranks deliberately wrong shapes below the truth.

Held-out ground-truth objects are scored against a reference set of the same category, beside
wrong answers built from them: the best-fit sphere, the copy flattened along the viewing axis, the
hollow (depth-inverted) copy, and the generator's clean initial shape (the benchmark's floor).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

pytest.importorskip("pytorch3d.renderer")

from gan3dlib.data.synthetic import synthetic_preset  # noqa: E402
from gan3dlib.eval.baselines import OracleConfig, baseline_scores, fit_oracle, floor_vertices  # noqa: E402
from gan3dlib.eval.synthetic_eval import LOWER_IS_BETTER, ShapeReference, grid_shapes, gap_closed  # noqa: E402
from gan3dlib.presets import scene_config  # noqa: E402

ERRORS = ("depth_error", "normal_error", "chamfer", "aspect_error", "depth_extent_error", "relief_error", "front_error")
NUM = 12


def tiny_scene(init: str = "sphere"):
    torch.manual_seed(0)
    spec = scene_config(32, z_dim=16, mapping_layers=1, channel_base=64, channel_max=16, pyramid_levels=2, init=init,
                     use_size_constraint=init == "sphere", shape_scale=0.01)
    return spec.build()


@pytest.fixture(scope="module")
def face_reference() -> ShapeReference:
    return ShapeReference(synthetic_preset("face", 100, 32, 0), num_truth=32, num_points=256)


def wrong_copies(reference: ShapeReference, vertices: torch.Tensor, indices: range) -> dict[str, torch.Tensor]:
    """Deliberately wrong answers on the truth's own topology (so only the shape differs)."""
    from gan3dlib.data.synthetic import _generator
    from gan3dlib.data.synthetic_shapes import sample_shape

    config = reference.scenes.config
    directions = reference.scenes.topology.directions
    mirror = torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    # The mirror image z -> -z of each object, drawn from its own shape stream at mirrored directions:
    # the nose goes to the back (the hollow-mask illusion), every other proportion stays.
    hollow = torch.stack([sample_shape(_generator(config.seed, i, "shape"), directions * mirror, config)
                          for i in indices]) * mirror.float()
    radius = vertices.norm(dim=-1)
    return {
        "sphere": (directions.float() * radius.mean()).expand_as(vertices).contiguous(),
        "flattened": vertices * torch.tensor([1.0, 1.0, 0.5]),
        "hollow": hollow,
    }


def test_every_metric_ranks_wrong_faces_below_the_truth(face_reference):
    truth = face_reference.held_out(NUM)
    scores = {"truth": face_reference.score(truth)}
    held_out = range(face_reference.num_truth, face_reference.num_truth + NUM)
    for name, vertices in wrong_copies(face_reference, truth.vertices, held_out).items():
        scores[name] = face_reference.score(face_reference.held_out(NUM, vertices))
    scene = tiny_scene()
    floor, scale = floor_vertices(scene, face_reference)
    assert 0.4 < scale < 1.8
    scores["floor"] = face_reference.score(grid_shapes(scene, floor))
    best = scores["truth"]
    for wrong in ("sphere", "flattened", "hollow", "floor"):
        for metric in ERRORS:
            assert getattr(scores[wrong], metric) > getattr(best, metric), (wrong, metric)
        assert scores[wrong].mask_iou < best.mask_iou, wrong
    # The hollow copy has its relief behind the object; the truth in front (every held-out object).
    assert best.front > best.back + 0.2 and scores["hollow"].back > scores["hollow"].front + 0.2
    assert best.front_relief > 0.15 and scores["hollow"].front_relief < -0.15 and abs(scores["sphere"].front_relief) < 0.02
    # (the same surface, tessellated by the front-back asymmetric sphere grid: equal up to that)
    assert scores["hollow"].front_relief == pytest.approx(-best.front_relief, abs=0.05)
    assert best.relief_side > 0.8 and scores["hollow"].relief_side == 0.0 and scores["sphere"].relief_side == 0.0
    # (a sphere has no side; the surface sampling puts one of its 12 copies just past the threshold)
    assert best.relief_behind == 0.0 and scores["hollow"].relief_behind > 0.8 and scores["sphere"].relief_behind <= 0.1
    # The statistics of held-out truth match the reference's, those of the floor do not.
    truth_means = face_reference.truth_statistics()
    assert abs(best.front - truth_means["front"]) < 0.05
    assert abs(scores["floor"].front - truth_means["front"]) > 0.3


def test_car_metrics_and_the_sheet_floor():
    reference = ShapeReference(synthetic_preset("car", 100, 32, 0), num_truth=24, num_points=256)
    truth = reference.held_out(8)
    scores = {"truth": reference.score(truth)}
    wrong = wrong_copies(reference, truth.vertices, range(reference.num_truth, reference.num_truth + 8))
    for name in ("sphere", "flattened"):
        scores[name] = reference.score(reference.held_out(8, wrong[name]))
    scene = tiny_scene("sheet")
    scores["floor"] = reference.score(grid_shapes(scene, floor_vertices(scene, reference)[0]))
    for name in ("sphere", "flattened", "floor"):
        for metric in ERRORS:
            assert getattr(scores[name], metric) > getattr(scores["truth"], metric), (name, metric)
    assert scores["truth"].depth_ratio < 0.5 < scores["sphere"].depth_ratio


def test_the_oracle_beats_the_floor_and_gap_fractions(face_reference):
    scene = tiny_scene()
    truth = face_reference.held_out(2)
    floor = face_reference.score(grid_shapes(scene, floor_vertices(scene, face_reference)[0]))
    fitted = fit_oracle(scene, face_reference, truth.vertices, OracleConfig(steps=40, lr=0.02))
    oracle = face_reference.score(grid_shapes(scene, fitted))
    for metric in ("depth_error", "normal_error", "chamfer", "front_error"):
        assert getattr(oracle, metric) < getattr(floor, metric), metric
    assert gap_closed(oracle.depth_error, floor.depth_error, face_reference.score(truth).depth_error) > 0.5
    assert gap_closed(0.5, 1.0, 0.0) == 0.5 and gap_closed(0.9, 0.8, 1.0) == pytest.approx(0.5)
    assert gap_closed(0.3, 0.5, 0.5) != gap_closed(0.3, 0.5, 0.5)  # NaN: the floor already scores like the target
    assert set(LOWER_IS_BETTER) >= set(ERRORS)


def test_baseline_scores_rows(face_reference):
    scores = baseline_scores(tiny_scene(), face_reference, num=4, num_oracle=1, oracle=OracleConfig(steps=2))
    assert set(scores) == {"floor", "oracle", "truth"}
    assert scores["truth"].num_generated == 4 and scores["oracle"].num_generated == 1
    assert scores["oracle"].cov != scores["oracle"].cov  # NaN: COV depends on the set size
    assert dataclasses.asdict(scores["floor"])["num_truth"] == 32


def test_shapes_render_at_the_references_resolution():
    from gan3dlib.render import PerspectiveCamera, RendererConfig

    spec = scene_config(16, z_dim=16, mapping_layers=1, channel_base=64, channel_max=16, pyramid_levels=2)
    scene = spec.build()
    vertices = scene.grid.shape_image_to_vertices(scene.object_shape.initial_shape)
    same = grid_shapes(scene, vertices, (0.0,), resolution=16)
    torch.testing.assert_close(same.depth, grid_shapes(scene, vertices, (0.0,)).depth)
    larger = grid_shapes(scene, vertices, (0.0,), resolution=32)
    camera = PerspectiveCamera((32, 32), scene.config.camera.fov_degrees)
    renderer = RendererConfig(image_size=(32, 32), blur_px=scene.config.renderer.blur_px).build("cpu")
    torch.testing.assert_close(larger.depth[:, None], renderer(camera.project(vertices), scene.faces).depth)
