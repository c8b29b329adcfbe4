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
    # By default: the last conv block's rectified output (c2 -> act2), the feature maps Grad-CAM++ assumes.
    np.testing.assert_array_equal(C.grad_cam(tiny, faces), C.grad_cam(tiny, faces, layer="act2"))


def test_the_default_cam_layer_is_the_last_conv_blocks_activation():
    from fer_core.models import build_model
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
