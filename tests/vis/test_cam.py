import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_core.vis import cam as C
from fer_core.vis import methods as M


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
    np.testing.assert_array_equal(C.grad_cam(tiny, faces), C.grad_cam(tiny, faces, layer="c2"))  # the last Conv2D


@pytest.mark.parametrize("method", ["grad_cam", "grad_cam_plus_plus"])
def test_cam_methods_work_at_any_conv_layer(tiny, faces, method):
    for layer in ("c1", "act1", "c2"):
        maps = M.saliency(tiny, faces, method, layer=layer)
        assert maps.shape == (len(faces), 48, 48) and maps.dtype == np.float32 and maps.min() >= 0
