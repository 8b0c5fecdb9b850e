"""Train the paper's LSUN car model (as FFHQ but a flat-sheet s0 and no size constraint).

    accelerate launch recipes/lsun_car.py --data /data/lsun_car [--a.b value ...]

Settings: ``gan3dlib.train.recipe.paper_preset("lsun_car")``; see docs/training.md.
"""

from gan3dlib.train.recipe import paper_preset, run_recipe

if __name__ == "__main__":
    run_recipe(paper_preset("lsun_car"))
