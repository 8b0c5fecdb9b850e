"""Train the paper's FFHQ face model (128², sphere s0, size constraint, K = 4 pyramid, ±45° yaw / ±15° pitch).

    accelerate launch recipes/ffhq.py --data /data/ffhq128 [--a.b value ...]

Settings: ``gan3dlib.train.recipe.paper_preset("ffhq")``; see docs/training.md.
"""

from gan3dlib.train.recipe import paper_preset, run_recipe

if __name__ == "__main__":
    run_recipe(paper_preset("ffhq"))
