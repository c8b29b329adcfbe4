"""Visualizations of a FER Lens model, one module per method (pure functions -> numpy).

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
