import numpy as np
import pytest

from fer_core.errors import FerError
from fer_core.models.builders import build_model
from fer_core.vis import cam as C
from fer_core.vis import methods as M
from fer_core.vis.probes import probe
from tests.conftest import make_faces
from tests.vis.conftest import tiny_cnn

FAST = {"smoothgrad": {"samples": 6}, "integrated_gradients": {"steps": 16}}
NON_NEGATIVE = ("vanilla", "smoothgrad", "grad_cam", "grad_cam_plus_plus")


@pytest.mark.parametrize("method", list(M.METHODS))
def test_every_method_gives_one_float_map_per_face(tiny, faces, method):
    maps = M.saliency(tiny, faces, method, **FAST.get(method, {}))
    assert maps.shape == (len(faces), 48, 48) and maps.dtype == np.float32
    assert np.all(np.isfinite(maps)) and np.all(maps.std(axis=(1, 2)) > 0), "a blank map for some face"
    if method in NON_NEGATIVE:
        assert maps.min() >= 0
    else:
        assert maps.min() < 0 < maps.max()  # IG attributions are signed


@pytest.mark.parametrize("method", list(M.METHODS))
def test_results_do_not_depend_on_batch_size(tiny, faces, method):
    options = FAST.get(method, {})
    one = M.saliency(tiny, faces, method, batch_size=1, **options)
    many = M.saliency(tiny, faces, method, batch_size=64, **options)
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-6 * np.abs(many).max())
    # ... nor on the other images in the batch, nor on dropout (inference mode)
    np.testing.assert_allclose(
        M.saliency(tiny, faces[2:3], method, **options)[0], many[2], rtol=1e-4, atol=1e-6 * np.abs(many).max()
    )


def test_targets_and_errors(tiny, faces):
    with pytest.raises(FerError, match="unknown saliency method"):
        M.saliency(tiny, faces, "occlusion")
    with pytest.raises(FerError, match="takes no layer"):
        M.saliency(tiny, faces, "vanilla", layer="c1")
    with pytest.raises(FerError, match="not a class index"):
        M.saliency(tiny, faces, "vanilla", target=7)
    with pytest.raises(FerError, match="one per image"):
        M.saliency(tiny, faces, "vanilla", target=[1, 2])
    with pytest.raises(FerError, match="no layer named 'nope'"):
        C.grad_cam(tiny, faces, layer="nope")
    with pytest.raises(FerError, match="expected \\(N, h, w, channels\\)"):
        C.grad_cam(tiny, faces, layer="gap")
    with pytest.raises(FerError, match=r"expected \(N, 48, 48\)"):
        M.saliency(tiny, faces[:, :40], "vanilla")
    assert M.saliency(tiny, faces[:0], "grad_cam").shape == (0, 48, 48)
    assert M.saliency(tiny, faces[..., None], "vanilla").shape == (len(faces), 48, 48)


def test_mixed_precision_model(faces):
    model = tiny_cnn(dtype="mixed_float16")
    assert probe(model).outputs[0].dtype == "float32"
    for method in ("vanilla", "grad_cam"):
        maps = M.saliency(model, faces[:2], method)
        assert maps.dtype == np.float32 and maps.shape == (2, 48, 48) and np.all(np.isfinite(maps))


def test_seed_model_all_methods():
    faces, _ = make_faces(2, seed=1)
    model = build_model("seed", normalization="standardize", train_images=make_faces(20)[0])
    for method in M.METHODS:
        maps = M.saliency(model, faces, method, **{**FAST.get(method, {}), "batch_size": 16})
        assert maps.shape == (2, 48, 48) and np.all(np.isfinite(maps))
        assert np.all(maps.std(axis=(1, 2)) > 0), f"{method}: a blank map for some face"
    assert C.grad_cam(model, faces, layer="conv3").shape == (2, 48, 48)


def test_average_saliency_and_difference(tiny, faces):
    maps = M.saliency(tiny, faces, "grad_cam")
    mean = M.average_saliency(tiny, faces, "grad_cam")
    assert mean.shape == (48, 48) and mean.dtype == np.float32 and 0 <= mean.min() and mean.max() <= 1
    np.testing.assert_allclose(mean, (maps / maps.max(axis=(1, 2), keepdims=True)).mean(axis=0), rtol=1e-5)
    difference = M.saliency_difference(tiny, faces[:3], faces[3:], "grad_cam")
    np.testing.assert_allclose(
        difference,
        M.average_saliency(tiny, faces[:3], "grad_cam") - M.average_saliency(tiny, faces[3:], "grad_cam"),
        atol=1e-6,
    )
    assert -1 <= difference.min() and difference.max() <= 1 and np.abs(difference).max() > 0
    np.testing.assert_allclose(M.saliency_difference(tiny, faces, faces, "vanilla"), 0, atol=1e-7)
    with pytest.raises(FerError, match="empty"):
        M.average_saliency(tiny, faces[:0])
