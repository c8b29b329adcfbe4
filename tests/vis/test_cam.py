import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_core.vis import cam as C
from fer_core.vis import methods as M
from tests.vis.conftest import tiny_cnn


def _weights(model, name):
    kernel, bias = model.get_layer(name).get_weights()
    return kernel, bias


def test_grad_cam_at_the_last_conv_of_a_gap_net_is_the_class_activation_map(tiny, faces):
    # Selvaraju et al.: with global average pooling, alpha_k = w_kc / (h*w), so Grad-CAM = relu(CAM) / (h*w).
    activations = keras.Model(tiny.input, tiny.get_layer("act2").output)(faces[..., None].astype("float32")).numpy()
    kernel, _ = _weights(tiny, "logits")
    cam = np.maximum(np.einsum("nhwk,k->nhw", activations, kernel[:, 5]) / (24 * 24), 0)
    expected = tf.image.resize(cam[..., None], (48, 48)).numpy()[..., 0]
    got = C.grad_cam(tiny, faces, target=5, layer="act2")
    assert got.shape == (len(faces), 48, 48) and got.min() >= 0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)
    # By default: the last conv block's rectified output (c2 -> act2), the feature maps Grad-CAM++ assumes.
    np.testing.assert_array_equal(C.grad_cam(tiny, faces), C.grad_cam(tiny, faces, layer="act2"))


def test_the_default_cam_layer_is_the_last_conv_blocks_activation():
    from fer_core.models.builders import build_model
    from fer_core.vis.probes import cam_layer

    images = np.random.default_rng(0).integers(0, 256, (8, 48, 48), np.uint8)
    assert cam_layer(build_model("seed", train_images=images)) == "act6"  # conv6 -> bn6 -> act6 -> pool6
    assert cam_layer(build_model("vgg", input_size=40, train_images=images)) == "act4_2"
    inputs = keras.Input((48, 48, 1))
    plain = keras.Model(inputs, keras.layers.Flatten()(keras.layers.Conv2D(2, 3, name="only")(inputs)))
    assert cam_layer(plain) == "only"  # no activation layer after it: the conv itself


@pytest.mark.parametrize("method", ["grad_cam", "grad_cam_plus_plus"])
def test_cam_methods_work_at_any_conv_layer(tiny, faces, method):
    for layer in ("c1", "act1", "c2"):
        maps = M.saliency(tiny, faces, method, layer=layer)
        assert maps.shape == (len(faces), 48, 48) and maps.dtype == np.float32 and maps.min() >= 0


# ----------------------------------------------------------------------------- Grad-CAM++ against the paper


def linear_head_cnn(activation: str) -> keras.Model:
    """48x48x1 -> conv "c" (4 filters 8x8, stride 8, valid) -> ``activation`` "feat" (6x6x4) -> flatten -> logits.

    The head is linear, so d logit_c / d A = the kernel's column c, exactly, and
    a constant image gives spatially constant feature maps (no padding).
    """
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = keras.layers.Conv2D(4, 8, strides=8, kernel_initializer=keras.initializers.GlorotUniform(11), name="c")(x)
    x = keras.layers.Activation(activation, name="feat")(x)
    x = keras.layers.Dense(7, kernel_initializer=keras.initializers.GlorotUniform(12), name="logits")(
        keras.layers.Flatten()(x))
    return keras.Model(inputs, keras.layers.Activation("softmax")(x), name=f"linear_head_{activation}")


def paper_grad_cam_plus_plus(activations, gradients, scores):
    """Chattopadhyay et al. 2018, eqs. 10 and 19, in float64 with Y = exp(score): ``(N, h, w)`` before upsampling.

    Divided by the constant Y, as the library drops it.
    """
    y = np.exp(scores)[:, None, None, None]
    first, second, third = y * gradients, y * gradients**2, y * gradients**3
    denominator = 2 * second + activations.sum(axis=(1, 2), keepdims=True) * third
    alpha = np.where(second != 0, second / np.where(second != 0, denominator, 1), 0)
    weights = (alpha * np.maximum(first, 0)).sum(axis=(1, 2), keepdims=True)
    return np.maximum((weights * activations).sum(axis=-1), 0) / y[..., 0]


def hand_inputs(model, faces, target):
    """The feature maps, their exact gradients (the dense kernel's column) and the target logits, in float64."""
    x = faces[..., None].astype("float32")
    activations = keras.Model(model.input, model.get_layer("feat").output)(x).numpy().astype(np.float64)
    kernel, bias = model.get_layer("logits").get_weights()
    gradients = np.broadcast_to(kernel[:, target].reshape(activations.shape[1:]), activations.shape)
    scores = activations.reshape(len(x), -1) @ kernel[:, target] + bias[target]
    return activations, gradients.astype(np.float64), scores


def upsampled(cams):
    return tf.image.resize(cams[..., None], (48, 48), method="bilinear").numpy()[..., 0]


def test_grad_cam_plus_plus_on_a_relu_layer_is_the_papers_closed_form(faces):
    model = linear_head_cnn("relu")
    activations, gradients, scores = hand_inputs(model, faces, 3)
    expected = upsampled(paper_grad_cam_plus_plus(activations, gradients, scores))
    assert np.all(expected.reshape(len(faces), -1).std(axis=1) > 0), "the hand computation must not be blank"
    got = C.grad_cam_plus_plus(model, faces, target=3, layer="feat")
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * expected.max())


def test_grad_cam_plus_plus_reads_a_signed_layer_as_its_two_rectified_halves(faces):
    # A = A+ - A-: the paper's method on the 2K non-negative maps [A+, A-], whose gradients are [g, -g].
    model = linear_head_cnn("tanh")
    activations, gradients, scores = hand_inputs(model, faces, 5)
    assert activations.min() < 0 < activations.max()
    halves = np.concatenate([np.maximum(activations, 0), np.maximum(-activations, 0)], axis=-1)
    expected = upsampled(paper_grad_cam_plus_plus(halves, np.concatenate([gradients, -gradients], axis=-1), scores))
    assert np.all(expected.reshape(len(faces), -1).std(axis=1) > 0), "the hand computation must not be blank"
    got = C.grad_cam_plus_plus(model, faces, target=5, layer="feat")
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * expected.max())


@pytest.mark.parametrize("method", ["grad_cam", "grad_cam_plus_plus"])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_a_constant_face_gives_a_constant_finite_map(method, activation):
    model = linear_head_cnn(activation)
    constant = np.stack([np.full((48, 48), value, np.uint8) for value in (0, 127, 128, 255)])
    maps = M.saliency(model, constant, method, layer="feat")
    assert np.all(np.isfinite(maps)) and maps.min() >= 0
    spread = maps.max(axis=(1, 2)) - maps.min(axis=(1, 2))
    assert np.all(spread <= 1e-5 * np.maximum(maps.max(axis=(1, 2)), 1e-30)), spread


@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "mixed_float16"])
def test_grad_cam_plus_plus_has_spread_on_every_face_in_mixed_precision(faces, dtype):
    # The tiny CNN ends in a LeakyReLU like the seed; low-precision activations and gradients must not blank it.
    exact = C.grad_cam_plus_plus(tiny_cnn(), faces)
    maps = C.grad_cam_plus_plus(tiny_cnn(dtype), faces)
    assert maps.dtype == np.float32 and np.all(np.isfinite(maps))
    assert np.all(maps.reshape(len(faces), -1).std(axis=1) > 0)
    for low, high in zip(maps, exact):
        assert np.corrcoef(low.ravel(), high.ravel())[0, 1] > 0.9
