import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_core.errors import FerError
from fer_core.labels import EMOTIONS
from fer_core.models.builders import build_model
from fer_core.vis import ascent as A
from fer_core.vis import dossier as D
from fer_core.vis import parameterization as P
from fer_core.vis import transforms as T
from fer_core.vis.feature_maps import mean_activations
from tests.conftest import make_faces
from tests.vis.conftest import nested_model, tiny_cnn

FAST = {"steps": 24, "learning_rate": 0.1}


@pytest.mark.parametrize("layer", ["c1", "c2"])
def test_objective_rises_and_beats_the_start_for_every_filter_of_a_layer(tiny, layer):
    result = A.gradient_ascent(tiny, layer, **FAST)
    count = tiny.get_layer(layer).filters
    assert result.images.shape == (count, 48, 48) and result.images.dtype == np.uint8
    assert result.trace.shape == (FAST["steps"], count) and result.trace.dtype == np.float32
    np.testing.assert_array_equal(result.filters, np.arange(count))
    assert np.all(result.final > result.start)
    assert np.all(result.trace[-3:].mean(axis=0) > result.trace[:3].mean(axis=0))
    # ``final`` is measured on the returned uint8 images
    np.testing.assert_allclose(
        result.final, mean_activations(tiny, result.images, layer)[np.arange(count), result.filters], rtol=1e-5
    )


def _strided_and_dilated() -> keras.Model:
    """Conv ``first`` reads the input itself; ``strided`` and ``dilated`` carry their own activation."""
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(3, 3, name="first")(inputs)
    x = keras.layers.Conv2D(5, 3, strides=2, padding="valid", activation="relu", name="strided")(x / 255.0)
    x = keras.layers.Conv2D(4, 3, dilation_rate=2, padding="same", activation="tanh", name="dilated")(x)
    return keras.Model(inputs, keras.layers.Dense(7)(keras.layers.Flatten()(x)))


def _softmax_conv() -> keras.Model:
    """A conv whose activation mixes channels: it cannot be computed one channel at a time."""
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(6, 3, activation="softmax", name="mixing")(inputs / 255.0)
    return keras.Model(inputs, keras.layers.Dense(7)(keras.layers.Flatten()(x)))


MODELS = {"tiny": tiny_cnn, "nested": nested_model, "odd": _strided_and_dilated, "softmax": _softmax_conv,
          "float16": lambda: tiny_cnn("mixed_float16"), "bfloat16": lambda: tiny_cnn("mixed_bfloat16")}


CASES = [("tiny", "c1"), ("tiny", "c2"), ("nested", "b1"), ("odd", "first"), ("odd", "strided"), ("odd", "dilated"),
         ("softmax", "mixing"), ("float16", "c2"), ("bfloat16", "c2")]


@pytest.mark.parametrize("which, layer", CASES)
def test_conv_objective_computes_only_the_chosen_channels_and_equals_the_layer(faces, which, layer):
    model = MODELS[which]()
    count = A.channel_count(model, layer)
    images = tf.constant(faces[:, :, :, None].astype(np.float32))
    for chosen in (np.array([count - 1, 0]), np.r_[np.arange(count), 0]):  # fewer rows than channels, then more
        rows = len(chosen)
        one_hot = tf.constant(np.eye(count, dtype=np.float32)[chosen])
        select, value = A._channel_objective(model, layer, sliced=rows < count)
        kernel = select(one_hot)[0]
        sliced = rows < count and which != "softmax"  # softmax mixes channels: the whole layer runs
        assert (len(kernel.shape) == 4 and kernel.shape[-1] == rows) == sliced
        expected = mean_activations(model, np.repeat(faces[:1], rows, axis=0), layer)[np.arange(rows), chosen]
        got = value(tf.repeat(images[:1], rows, axis=0), select(one_hot))  # mixed precision too: same dtype as the layer
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_one_batch_gives_each_filter_what_it_gets_alone(tiny):
    together = A.gradient_ascent(tiny, "c2", [0, 3, 5], seed=7, **FAST)
    alone = A.gradient_ascent(tiny, "c2", 3, seed=7, **FAST)
    assert np.abs(together.images[1].astype(int) - alone.images[0]).max() <= 1
    np.testing.assert_allclose(together.trace[:, 1], alone.trace[:, 0], rtol=1e-3, atol=1e-5)
    chunked = A.gradient_ascent(tiny, "c2", [0, 3, 5], seed=7, batch_size=2, **FAST)
    assert np.abs(chunked.images.astype(int) - together.images).max() <= 1


def test_seeds_reproduce_and_differ(tiny):
    a = A.gradient_ascent(tiny, "c1", [1], seed=0, **FAST).images
    np.testing.assert_array_equal(a, A.gradient_ascent(tiny, "c1", [1], seed=0, **FAST).images)
    assert np.abs(a.astype(int) - A.gradient_ascent(tiny, "c1", [1], seed=1, **FAST).images).mean() > 1


def test_pixel_parameterization_penalties_and_no_transform(tiny):
    plain = A.gradient_ascent(tiny, "c2", [0, 1], parameterization=P.pixels(), transform=None, **FAST)
    assert np.all(plain.final > plain.start)
    smooth = A.gradient_ascent(
        tiny, "c2", [0, 1], parameterization=P.pixels(), transform=None, penalty=T.total_variation(50.0), **FAST
    )
    assert _roughness(smooth.images) < _roughness(plain.images)


def _roughness(images):
    x = images.astype(float)
    return np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean()


def test_dense_layer_objective_visualizes_a_class(tiny):
    result = A.gradient_ascent(tiny, "logits", [EMOTIONS.index("happy")], **FAST)
    assert result.images.shape == (1, 48, 48) and result.final[0] > result.start[0]


def test_errors(tiny):
    with pytest.raises(FerError, match="not in layer 'c1'"):
        A.gradient_ascent(tiny, "c1", [4])
    with pytest.raises(FerError, match="no layer named"):
        A.gradient_ascent(tiny, "conv9")
    with pytest.raises(FerError, match="one label per image"):
        D.filter_dossier(tiny, make_faces(3)[0], [0, 1], "c1")


def test_seed_model_conv1_all_filters():
    model = build_model("seed", normalization="standardize", train_images=make_faces(20)[0])
    result = A.gradient_ascent(model, "conv1", steps=16)
    assert result.images.shape == (16, 48, 48) and np.all(result.final > result.start)
