"""``fer_core.vis.saliency`` re-exports every saliency family under its old path."""

from fer_core.vis import cam, faithfulness, gradients, methods, sanity
from fer_core.vis import saliency as S


def test_the_old_import_path_names_the_same_functions():
    for module in (cam, faithfulness, gradients, methods, sanity):
        for name in S.__all__:
            if hasattr(module, name) and getattr(getattr(module, name), "__module__", None) == module.__name__:
                assert getattr(S, name) is getattr(module, name)
    assert S.saliency is methods.saliency and S.smoothgrad is gradients.smoothgrad
    assert set(S.METHODS) == {"vanilla", "smoothgrad", "integrated_gradients", "grad_cam", "grad_cam_plus_plus"}
