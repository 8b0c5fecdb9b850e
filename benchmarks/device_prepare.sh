#!/usr/bin/env bash
# Prepares, on a machine with a package registry and PyTorch3D, what benchmarks/device_check.py needs
# on a GPU machine that has neither (Python 3.12, torch preinstalled; see docs/benchmarks.md):
#   .whl/            wheels of the pure-Python packages it lacks (draccus and its dependencies)
#   .devdata/face64/ the face benchmark at 64² as an image folder (images + dataset.json), rendered
#                    here by PyTorch3D; the 3D ground truth is regenerated there from dataset.json
# Both folders are ignored by git; name them in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
    "draccus==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("draccus"))')" \
    "mergedeep==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("mergedeep"))')" \
    "toml==$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("toml"))')"

"$PYTHON" - <<'PY'
from gan3dlib.data.synthetic import SyntheticScenes, synthetic_preset
from gan3dlib.data.synthetic_files import write_dataset

result = write_dataset(SyntheticScenes(synthetic_preset("face", 2000, 64, 0)), ".devdata/face64", ground_truth=False)
print(f"{result.folder}: {result.written} images written, {result.skipped} already there")
PY
du -sh .whl .devdata
