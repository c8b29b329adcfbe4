"""Saliency maps: one import for the saliency family of :mod:`fer_core.vis`.

The code lives in one module per method family, re-exported here so that
``fer_core.vis.saliency.saliency(model, images, method)`` and friends keep working:

* :mod:`fer_core.vis.methods`: the one call shape :func:`saliency`, :data:`METHODS`,
  and averages over a set of faces (:func:`average_saliency`, :func:`saliency_difference`);
* :mod:`fer_core.vis.gradients`: vanilla gradient (Simonyan et al. 2013),
  SmoothGrad over any method (Smilkov et al. 2017), Integrated Gradients
  (Sundararajan et al. 2017);
* :mod:`fer_core.vis.cam`: Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++ (Chattopadhyay et al. 2018);
* :mod:`fer_core.vis.sanity`: model-randomization checks (Adebayo et al. 2018);
* :mod:`fer_core.vis.faithfulness`: deletion and insertion curves (Petsiuk et al. 2018).
"""

from fer_core.vis.cam import grad_cam, grad_cam_plus_plus
from fer_core.vis.faithfulness import Curve, deletion_curve, insertion_curve
from fer_core.vis.gradients import (
    baseline_images,
    input_gradients,
    integrated_gradients,
    logits,
    probabilities,
    resolve_targets,
    signed_gradient,
    smoothgrad,
    vanilla_gradient,
)
from fer_core.vis.methods import (
    LAYER_METHODS,
    METHODS,
    average_saliency,
    normalize_maps,
    saliency,
    saliency_difference,
)
from fer_core.vis.sanity import (
    cascading_randomization,
    copy_model,
    randomization_check,
    randomized_copy,
    rank_correlation,
    reinitialize,
    weighted_layers,
)

__all__ = [
    "LAYER_METHODS", "METHODS", "Curve", "average_saliency", "baseline_images", "cascading_randomization",
    "copy_model", "deletion_curve", "grad_cam", "grad_cam_plus_plus", "input_gradients", "insertion_curve",
    "integrated_gradients", "logits", "normalize_maps", "probabilities", "randomization_check", "randomized_copy",
    "rank_correlation", "reinitialize", "resolve_targets", "saliency", "saliency_difference", "signed_gradient",
    "smoothgrad", "vanilla_gradient", "weighted_layers",
]
