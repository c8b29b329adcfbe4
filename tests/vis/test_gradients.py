import functools

import numpy as np
import tensorflow as tf

from fer_core.vis import cam as C
from fer_core.vis import gradients as G
from fer_core.vis import methods as M
from tests.vis.conftest import linear_model


def _weights(model, name):
    kernel, bias = model.get_layer(name).get_weights()
    return kernel, bias


def test_vanilla_gradient_is_the_weight_column_on_a_linear_model(linear, faces):
    kernel, _ = _weights(linear, "logits")
    predicted = G.logits(linear, faces).argmax(axis=1)
    signed = G.vanilla_gradient(linear, faces, absolute=False)
    np.testing.assert_allclose(signed, kernel[:, predicted].T.reshape(-1, 48, 48), rtol=1e-5, atol=1e-7)
    chosen = np.array([0, 1, 2, 3, 4, 5])
    np.testing.assert_allclose(
        M.saliency(linear, faces, "vanilla", chosen), np.abs(kernel[:, chosen].T).reshape(-1, 48, 48), rtol=1e-5
    )
    np.testing.assert_allclose(
        M.saliency(linear, faces, "vanilla", 6),
        np.abs(np.broadcast_to(kernel[:, 6].reshape(48, 48), (6, 48, 48))),
        rtol=1e-5,
    )


def test_dense_softmax_model_is_explained_on_its_logits(faces):
    model = linear_model(softmax_in_dense=True)
    kernel, bias = _weights(model, "dense_softmax")
    scores = faces.reshape(len(faces), -1).astype(np.float64) @ kernel + bias
    np.testing.assert_allclose(G.logits(model, faces), scores, rtol=1e-4)
    signed = G.vanilla_gradient(model, faces, target=2, absolute=False)
    np.testing.assert_allclose(signed, np.broadcast_to(kernel[:, 2].reshape(48, 48), signed.shape), rtol=1e-5)


def test_nested_model_gradient_matches_a_hand_written_tape(nested, faces):
    backbone, head = nested.layers
    x = tf.constant(faces[..., None].astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = tf.matmul(backbone(x, training=False), head.kernel) + head.bias
        picked = tf.gather(scores, [3] * len(faces), batch_dims=1)
    expected = tape.gradient(picked, x).numpy()[..., 0]
    np.testing.assert_allclose(G.vanilla_gradient(nested, faces, 3, absolute=False), expected, rtol=1e-4, atol=1e-9)
    cam = C.grad_cam(nested, faces, layer="b2_act")  # a layer inside the nested backbone
    assert cam.shape == (len(faces), 48, 48) and cam.min() >= 0 and cam.max() > 0


def test_integrated_gradients_are_complete_within_one_percent(tiny, faces):
    scores = G.logits(tiny, faces)
    target = scores.argmax(axis=1)
    for baseline in ("black", "gray"):
        start = G.logits(tiny, np.full_like(faces, 0 if baseline == "black" else 128))
        gap = scores[np.arange(len(faces)), target] - start[np.arange(len(faces)), target]
        total = G.integrated_gradients(tiny, faces, baseline=baseline, steps=128).reshape(len(faces), -1).sum(axis=1)
        np.testing.assert_allclose(total, gap, rtol=0.01)


def test_integrated_gradients_on_a_linear_model_are_input_times_weight(linear, faces):
    kernel, _ = _weights(linear, "logits")
    maps = G.integrated_gradients(linear, faces, target=4, steps=4)
    np.testing.assert_allclose(maps, faces * kernel[:, 4].reshape(48, 48), rtol=1e-4, atol=1e-4)


def test_smoothgrad_wraps_any_method(tiny, faces):
    # without noise every copy is the face itself, so the mean is the wrapped method's own map
    np.testing.assert_allclose(G.smoothgrad(tiny, faces, noise=0.0, samples=2), G.vanilla_gradient(tiny, faces),
                               rtol=1e-5)
    cam = functools.partial(C.grad_cam, layer="c1")
    np.testing.assert_allclose(G.smoothgrad(tiny, faces, attribute=cam, noise=0.0, samples=2), cam(tiny, faces),
                               rtol=1e-5, atol=1e-7)
    smoothed = M.saliency(tiny, faces, "smoothgrad", attribute=cam, samples=4)
    assert smoothed.shape == (len(faces), 48, 48) and smoothed.min() >= 0
    assert not np.allclose(smoothed, cam(tiny, faces))
