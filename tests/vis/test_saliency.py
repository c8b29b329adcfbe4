import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.models import build_model
from fer_core.vis import saliency as S
from fer_core.vis.probes import probe
from tests.conftest import make_faces
from tests.vis.conftest import linear_model, tiny_cnn

FAST = {"smoothgrad": {"samples": 6}, "integrated_gradients": {"steps": 16}}
NON_NEGATIVE = ("vanilla", "smoothgrad", "grad_cam", "grad_cam_plus_plus")


def _weights(model, name):
    kernel, bias = model.get_layer(name).get_weights()
    return kernel, bias


@pytest.mark.parametrize("method", list(S.METHODS))
def test_every_method_gives_one_float_map_per_face(tiny, faces, method):
    maps = S.saliency(tiny, faces, method, **FAST.get(method, {}))
    assert maps.shape == (len(faces), 48, 48) and maps.dtype == np.float32
    assert np.all(np.isfinite(maps)) and maps.std() > 0
    if method in NON_NEGATIVE:
        assert maps.min() >= 0
    else:
        assert maps.min() < 0 < maps.max()  # IG attributions are signed


@pytest.mark.parametrize("method", list(S.METHODS))
def test_results_do_not_depend_on_batch_size(tiny, faces, method):
    options = FAST.get(method, {})
    one = S.saliency(tiny, faces, method, batch_size=1, **options)
    many = S.saliency(tiny, faces, method, batch_size=64, **options)
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-6 * np.abs(many).max())
    # ... nor on the other images in the batch, nor on dropout (inference mode)
    np.testing.assert_allclose(
        S.saliency(tiny, faces[2:3], method, **options)[0], many[2], rtol=1e-4, atol=1e-6 * np.abs(many).max()
    )


def test_vanilla_gradient_is_the_weight_column_on_a_linear_model(linear, faces):
    kernel, _ = _weights(linear, "logits")
    predicted = S.logits(linear, faces).argmax(axis=1)
    signed = S.vanilla_gradient(linear, faces, absolute=False)
    np.testing.assert_allclose(signed, kernel[:, predicted].T.reshape(-1, 48, 48), rtol=1e-5, atol=1e-7)
    chosen = np.array([0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(
        S.saliency(linear, faces, "vanilla", chosen), np.abs(kernel[:, chosen].T).reshape(-1, 48, 48), rtol=1e-5
    )
    np.testing.assert_allclose(
        S.saliency(linear, faces, "vanilla", 6),
        np.abs(np.broadcast_to(kernel[:, 6].reshape(48, 48), (6, 48, 48))),
        rtol=1e-5,
    )


def test_dense_softmax_model_is_explained_on_its_logits(faces):
    model = linear_model(softmax_in_dense=True)
    kernel, bias = _weights(model, "dense_softmax")
    scores = faces.reshape(len(faces), -1).astype(np.float64) @ kernel + bias
    np.testing.assert_allclose(S.logits(model, faces), scores, rtol=1e-4)
    signed = S.vanilla_gradient(model, faces, target=2, absolute=False)
    np.testing.assert_allclose(signed, np.broadcast_to(kernel[:, 2].reshape(48, 48), signed.shape), rtol=1e-5)


def test_nested_model_gradient_matches_a_hand_written_tape(nested, faces):
    backbone, head = nested.layers
    x = tf.constant(faces[..., None].astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = tf.matmul(backbone(x, training=False), head.kernel) + head.bias
        picked = tf.gather(scores, [3] * len(faces), batch_dims=1)
    expected = tape.gradient(picked, x).numpy()[..., 0]
    np.testing.assert_allclose(S.vanilla_gradient(nested, faces, 3, absolute=False), expected, rtol=1e-4, atol=1e-9)
    cam = S.grad_cam(nested, faces, layer="b2_act")  # a layer inside the nested backbone
    assert cam.shape == (len(faces), 48, 48) and cam.min() >= 0 and cam.max() > 0


def test_integrated_gradients_are_complete_within_one_percent(tiny, faces):
    scores = S.logits(tiny, faces)
    target = scores.argmax(axis=1)
    for baseline in ("black", "gray"):
        start = S.logits(tiny, np.full_like(faces, 0 if baseline == "black" else 128))
        gap = scores[np.arange(len(faces)), target] - start[np.arange(len(faces)), target]
        total = S.integrated_gradients(tiny, faces, baseline=baseline, steps=128).reshape(len(faces), -1).sum(axis=1)
        np.testing.assert_allclose(total, gap, rtol=0.01)


def test_integrated_gradients_on_a_linear_model_are_input_times_weight(linear, faces):
    kernel, _ = _weights(linear, "logits")
    maps = S.integrated_gradients(linear, faces, target=4, steps=4)
    np.testing.assert_allclose(maps, faces * kernel[:, 4].reshape(48, 48), rtol=1e-4, atol=1e-4)


def test_grad_cam_at_the_last_conv_of_a_gap_net_is_the_class_activation_map(tiny, faces):
    # Selvaraju et al.: with global average pooling, alpha_k = w_kc / (h*w), so Grad-CAM = relu(CAM) / (h*w).
    activations = keras.Model(tiny.input, tiny.get_layer("act2").output)(faces[..., None].astype("float32")).numpy()
    kernel, _ = _weights(tiny, "logits")
    cam = np.maximum(np.einsum("nhwk,k->nhw", activations, kernel[:, 5]) / (24 * 24), 0)
    expected = tf.image.resize(cam[..., None], (48, 48)).numpy()[..., 0]
    got = S.grad_cam(tiny, faces, target=5, layer="act2")
    assert got.shape == (len(faces), 48, 48) and got.min() >= 0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(S.grad_cam(tiny, faces), S.grad_cam(tiny, faces, layer="c2"))  # the last Conv2D


@pytest.mark.parametrize("method", ["grad_cam", "grad_cam_plus_plus"])
def test_cam_methods_work_at_any_conv_layer(tiny, faces, method):
    for layer in ("c1", "act1", "c2"):
        maps = S.saliency(tiny, faces, method, layer=layer)
        assert maps.shape == (len(faces), 48, 48) and maps.dtype == np.float32 and maps.min() >= 0


def test_targets_and_errors(tiny, faces):
    with pytest.raises(FerError, match="unknown saliency method"):
        S.saliency(tiny, faces, "occlusion")
    with pytest.raises(FerError, match="takes no layer"):
        S.saliency(tiny, faces, "vanilla", layer="c1")
    with pytest.raises(FerError, match="not a class index"):
        S.saliency(tiny, faces, "vanilla", target=7)
    with pytest.raises(FerError, match="one per image"):
        S.saliency(tiny, faces, "vanilla", target=[1, 2])
    with pytest.raises(FerError, match="no layer named 'nope'"):
        S.grad_cam(tiny, faces, layer="nope")
    with pytest.raises(FerError, match="expected \\(N, h, w, channels\\)"):
        S.grad_cam(tiny, faces, layer="gap")
    with pytest.raises(FerError, match=r"expected \(N, 48, 48\)"):
        S.saliency(tiny, faces[:, :40], "vanilla")
    assert S.saliency(tiny, faces[:0], "grad_cam").shape == (0, 48, 48)
    assert S.saliency(tiny, faces[..., None], "vanilla").shape == (len(faces), 48, 48)


def test_mixed_precision_model(faces):
    model = tiny_cnn(dtype="mixed_float16")
    assert probe(model).outputs[0].dtype == "float32"
    for method in ("vanilla", "grad_cam"):
        maps = S.saliency(model, faces[:2], method)
        assert maps.dtype == np.float32 and maps.shape == (2, 48, 48) and np.all(np.isfinite(maps))


def test_seed_model_all_methods():
    faces, _ = make_faces(2, seed=1)
    model = build_model("seed", normalization="standardize", train_images=make_faces(20)[0])
    for method in S.METHODS:
        maps = S.saliency(model, faces, method, **{**FAST.get(method, {}), "batch_size": 16})
        assert maps.shape == (2, 48, 48) and np.all(np.isfinite(maps)) and maps.std() > 0
    assert S.grad_cam(model, faces, layer="conv3").shape == (2, 48, 48)


# ----------------------------------------------------------------------------- sanity check


def test_rank_correlation_matches_pandas_spearman_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, (3, 6, 6)).astype(float)  # many ties
    b = a + rng.normal(0, 2, a.shape)
    got = S.rank_correlation(a, b)
    # Spearman = Pearson correlation of the average ranks (pandas' rank ties to the average)
    expected = [pd.Series(x.ravel()).rank().corr(pd.Series(y.ravel()).rank()) for x, y in zip(a, b)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert S.rank_correlation(a, a)[0] == pytest.approx(1.0)
    assert S.rank_correlation(a, -a)[0] == pytest.approx(-1.0)
    assert np.isnan(S.rank_correlation(np.zeros((1, 4, 4)), a[:1, :4, :4])[0])


@pytest.mark.parametrize("method", list(S.METHODS))
def test_randomization_check_is_one_for_a_copy_and_low_for_random_weights(tiny, faces, method):
    options = FAST.get(method, {})
    same = S.randomization_check(tiny, faces, method, against=S.copy_model(tiny), **options)
    np.testing.assert_allclose(same, 1.0, atol=1e-5)
    randomized = S.randomization_check(tiny, faces, method, seed=1, **options)
    assert randomized.shape == (len(faces),) and randomized.dtype == np.float32
    assert np.nanmean(randomized) < 0.6


def test_randomized_copy_changes_only_the_chosen_layers(tiny):
    copy = S.randomized_copy(tiny, layers=["logits"], seed=4)
    assert not np.allclose(copy.get_layer("logits").get_weights()[0], tiny.get_layer("logits").get_weights()[0])
    np.testing.assert_array_equal(copy.get_layer("c1").get_weights()[0], tiny.get_layer("c1").get_weights()[0])
    np.testing.assert_array_equal(copy.get_layer("bn1").get_weights()[2], tiny.get_layer("bn1").get_weights()[2])


def test_cascading_randomization_goes_from_the_output_down(tiny, faces):
    names, correlations = S.cascading_randomization(tiny, faces[:3], "vanilla")
    assert names == ["logits", "c2", "bn1", "c1"]
    assert correlations.shape == (4, 3) and correlations.dtype == np.float32
    assert np.all(correlations[-1] < 0.6)


# ----------------------------------------------------------------------------- faithfulness


def test_deletion_and_insertion_curves(linear, faces):
    attributions = S.integrated_gradients(linear, faces, steps=4)
    probabilities = keras.ops.convert_to_numpy(linear(faces[..., None].astype("float32")))
    target = probabilities.argmax(axis=1)
    deletion = S.deletion_curve(linear, faces, attributions, steps=16)
    assert deletion.fractions.shape == (17,) and deletion.scores.shape == (len(faces), 17)
    assert deletion.fractions[0] == 0 and deletion.fractions[-1] == 1
    assert np.all((deletion.auc >= 0) & (deletion.auc <= 1)) and deletion.auc.dtype == np.float32
    np.testing.assert_allclose(deletion.scores[:, 0], probabilities[np.arange(len(faces)), target], rtol=1e-4)
    # removing the most positive evidence first must hurt more than removing it last
    assert np.all(deletion.auc < S.deletion_curve(linear, faces, -attributions, steps=16).auc)
    insertion = S.insertion_curve(linear, faces, attributions, steps=16)
    np.testing.assert_allclose(insertion.scores[:, -1], probabilities[np.arange(len(faces)), target], rtol=1e-4)
    assert np.all(insertion.auc > S.insertion_curve(linear, faces, -attributions, steps=16).auc)
    with pytest.raises(FerError, match="one 48x48 map per image"):
        S.deletion_curve(linear, faces, attributions[:2])


# ----------------------------------------------------------------------------- aggregates


def test_average_saliency_and_difference(tiny, faces):
    maps = S.saliency(tiny, faces, "grad_cam")
    mean = S.average_saliency(tiny, faces, "grad_cam")
    assert mean.shape == (48, 48) and mean.dtype == np.float32 and 0 <= mean.min() and mean.max() <= 1
    np.testing.assert_allclose(mean, (maps / maps.max(axis=(1, 2), keepdims=True)).mean(axis=0), rtol=1e-5)
    difference = S.saliency_difference(tiny, faces[:3], faces[3:], "grad_cam")
    np.testing.assert_allclose(
        difference,
        S.average_saliency(tiny, faces[:3], "grad_cam") - S.average_saliency(tiny, faces[3:], "grad_cam"),
        atol=1e-6,
    )
    assert -1 <= difference.min() and difference.max() <= 1 and np.abs(difference).max() > 0
    np.testing.assert_allclose(S.saliency_difference(tiny, faces, faces, "vanilla"), 0, atol=1e-7)
    with pytest.raises(FerError, match="empty"):
        S.average_saliency(tiny, faces[:0])
