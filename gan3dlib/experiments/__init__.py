"""Experiments built on the library: the paper's ablation ladder on the ground-truth benchmark.

This layer orchestrates training and evaluation (it imports both); the library layers below it
(``train``, ``eval``) do not import it.
"""

from gan3dlib.experiments.ablation import LADDER, LadderScoring, ladder_configs, run_ablation_ladder

__all__ = ["LADDER", "LadderScoring", "ladder_configs", "run_ablation_ladder"]
