"""Visualizations of a FER Lens model, one module per method family (pure functions -> numpy).

Saliency (``saliency.py`` re-exports them all):

* ``methods``: the one call shape ``saliency(model, images, method)`` and averages;
* ``gradients``: vanilla gradient, SmoothGrad over any method, Integrated Gradients;
* ``cam``: Grad-CAM and Grad-CAM++;
* ``sanity``: model-randomization checks; ``faithfulness``: deletion/insertion curves.

Filters (``filters.py`` re-exports them all): ``transforms`` (and penalties),
``parameterization``, ``ascent`` (gradient ascent), ``stability``, ``dossier``.
Also ``feature_maps`` (a layer's outputs), ``render`` (colormaps, overlays,
grids) and ``probes`` (logits and inner layers of any model).

The saliency method names and their display titles are defined here once, without
importing TensorFlow, so the dashboard and the report can list them cheaply.
"""

SALIENCY_METHODS: tuple[str, ...] = ("vanilla", "smoothgrad", "integrated_gradients", "grad_cam", "grad_cam_plus_plus")
METHOD_TITLES: dict[str, str] = {
    "vanilla": "Gradient",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
    "grad_cam": "Grad-CAM",
    "grad_cam_plus_plus": "Grad-CAM++",
}
