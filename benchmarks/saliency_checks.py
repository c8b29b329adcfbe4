"""Sanity and faithfulness of every saliency method on a trained model, one table.

Run by hand (not a test)::

    FER_DATA=../shared/fer2013 python benchmarks/saliency_checks.py assets/models/seed --images 32

For the first ``--images`` PublicTest faces and each method of
``fer_core.vis.saliency.METHODS`` it prints:

- ``same``: the randomization check against an unrandomized copy (must be 1.0);
- ``random``: the model-parameter randomization check (Adebayo et al. 2018),
  the median Spearman correlation between the method's absolute maps on the
  model and on a copy with all weights re-initialized (low = the maps depend on
  what the model learned);
- ``deletion`` / ``insertion``: mean area under the deletion curve (lower is
  better) and the insertion curve (higher is better) of Petsiuk et al. 2018,
  ranking pixels by the absolute map, beside the same areas for a random map.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from fer_core.data.dataset import load_fer2013
from fer_core.models.builders import load_model
from fer_core.vis import saliency


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a run directory or .keras file")
    parser.add_argument("--images", type=int, default=32, help="PublicTest faces to explain")
    parser.add_argument("--data", help="FER2013 file or folder (default: $FER_DATA)")
    args = parser.parse_args()
    model = load_model(args.model)
    faces = load_fer2013(args.data)["public"].images[: args.images]
    targets = saliency.resolve_targets(model, faces, None)
    same = saliency.copy_model(model)
    randomized = saliency.randomized_copy(model, seed=0)
    noise = np.random.default_rng(0).random(faces.shape).astype(np.float32)
    chance_del = saliency.deletion_curve(model, faces, noise, targets).auc.mean()
    chance_ins = saliency.insertion_curve(model, faces, noise, targets).auc.mean()
    print(f"{len(faces)} PublicTest faces, model {args.model}; random map: deletion {chance_del:.3f}, "
          f"insertion {chance_ins:.3f}")
    print(f"{'method':22s} {'same':>6s} {'random':>7s} {'deletion':>9s} {'insertion':>10s}")
    for method in saliency.METHODS:
        maps = np.abs(saliency.saliency(model, faces, method, targets))  # once, for all four figures
        same_r = saliency.rank_correlation(maps, np.abs(saliency.saliency(same, faces, method, targets)))
        random_r = saliency.rank_correlation(maps, np.abs(saliency.saliency(randomized, faces, method, targets)))
        deletion = saliency.deletion_curve(model, faces, maps, targets).auc.mean()
        insertion = saliency.insertion_curve(model, faces, maps, targets).auc.mean()
        print(f"{method:22s} {np.nanmin(same_r):6.3f} {np.nanmedian(random_r):7.3f} {deletion:9.3f} {insertion:10.3f}")


if __name__ == "__main__":
    main()
