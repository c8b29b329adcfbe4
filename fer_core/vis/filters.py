"""What a conv filter responds to: one import for the filter family of :mod:`fer_core.vis`.

The code lives in one module per part, re-exported here so that
``fer_core.vis.filters.gradient_ascent(...)`` and friends keep working:

* :mod:`fer_core.vis.transforms`: random transforms and penalties (lucid-style closures);
* :mod:`fer_core.vis.parameterization`: the 1/f Fourier and the plain pixel parameterizations;
* :mod:`fer_core.vis.ascent`: batched gradient ascent (Erhan et al. 2009; Olah et al. 2017);
* :mod:`fer_core.vis.stability`: how alike a filter's images are from seed to seed;
* :mod:`fer_core.vis.dossier`: the faces that activate a filter most (Zeiler & Fergus 2014).
"""

from fer_core.vis.ascent import FilterImages, channel_count, filter_indices, gradient_ascent, objective_values
from fer_core.vis.dossier import Dossier, filter_dossier
from fer_core.vis.parameterization import (
    DEFAULT_PARAMETERIZATION,
    Parameterization,
    fourier,
    fourier_scale,
    pixels,
)
from fer_core.vis.stability import seed_similarity, shifted_correlation, stability
from fer_core.vis.transforms import (
    DEFAULT_TRANSFORM,
    RANDOM_COLUMNS,
    Penalty,
    Transform,
    blur,
    compose,
    gaussian_kernel,
    jitter,
    l2,
    rotate,
    scale,
    total_variation,
)

__all__ = [
    "DEFAULT_PARAMETERIZATION", "DEFAULT_TRANSFORM", "RANDOM_COLUMNS", "Dossier", "FilterImages", "Parameterization",
    "Penalty", "Transform", "blur", "channel_count", "compose", "filter_dossier", "filter_indices", "fourier",
    "fourier_scale", "gaussian_kernel", "gradient_ascent", "jitter", "l2", "objective_values", "pixels", "rotate",
    "scale", "seed_similarity", "shifted_correlation", "stability", "total_variation",
]
