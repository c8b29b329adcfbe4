import keras
import numpy as np
import pytest

from fer_core.errors import FerError
from fer_core.models.builders import build_model, conv_layer_names
from fer_core.vis import probes
from fer_core.vis import feature_maps as FM
from fer_core.vis.feature_maps import feature_maps, mean_activations
from tests.conftest import make_faces


def test_feature_maps_equal_the_layer_output_in_inference_mode(tiny, faces):
    maps = feature_maps(tiny, faces, "act1")
    assert maps.shape == (len(faces), 48, 48, 4) and maps.dtype == np.float32
    reference = keras.Model(tiny.input, tiny.get_layer("act1").output)(
        faces[..., None].astype("float32"), training=False
    )
    np.testing.assert_allclose(maps, keras.ops.convert_to_numpy(reference), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feature_maps(tiny, faces, "act1", batch_size=1), maps, rtol=1e-5, atol=1e-6)
    assert feature_maps(tiny, faces, "c2").shape == (len(faces), 24, 24, 6)
    assert feature_maps(tiny, faces[:0], "c2").shape == (0, 24, 24, 6)


def test_mean_activations_are_spatial_means(tiny, faces):
    seen = []
    means = mean_activations(tiny, faces, "c2", batch_size=2, on_progress=seen.append)
    assert means.shape == (len(faces), 6) and means.dtype == np.float32
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == -(-len(faces) // 2)
    np.testing.assert_allclose(means, feature_maps(tiny, faces, "c2").mean(axis=(1, 2)), rtol=1e-5)
    assert mean_activations(tiny, faces, "logits").shape == (len(faces), 7)  # a dense layer: (N, C) as is


def test_layers_inside_nested_models(nested, faces):
    maps = feature_maps(nested, faces, "b1")
    backbone = nested.layers[0]
    reference = keras.Model(backbone.input, backbone.get_layer("b1").output)(faces[..., None].astype("float32"))
    np.testing.assert_allclose(maps, keras.ops.convert_to_numpy(reference), rtol=1e-5)


def test_seed_model_conv5_output():
    model = build_model("seed", normalization="none")
    assert feature_maps(model, make_faces(2)[0], "conv5").shape == (2, 12, 12, 256)


def test_probe_logits_and_errors(tiny, nested, faces):
    x = faces[..., None].astype("float32")
    for model in (tiny, nested):
        logits = keras.ops.convert_to_numpy(probes.probe(model)(x, training=False))
        probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
        np.testing.assert_allclose(probabilities, keras.ops.convert_to_numpy(model(x)), rtol=1e-4, atol=1e-6)
    assert probes.probe(tiny) is probes.probe(tiny)  # cached
    assert probes.last_conv_layer(nested) == "b2"
    with pytest.raises(FerError, match="no layer named 'conv9'"):
        feature_maps(tiny, faces, "conv9")
    with pytest.raises(FerError, match="expected \\(N, 48, 48\\)"):
        feature_maps(tiny, np.zeros((2, 32, 32), np.uint8), "c1")

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(7)

        def call(self, x):
            return self.dense(keras.ops.reshape(x, (-1, 48 * 48)))

    subclassed = Subclassed()
    subclassed(x)
    with pytest.raises(FerError, match="subclassed"):
        probes.probe(subclassed)


@pytest.mark.parametrize("model_name, layer", [("tiny", "c2"), ("nested", None)])
def test_one_pass_gives_the_layer_means_and_what_predict_gives(request, model_name, layer, faces):
    model = request.getfixturevalue(model_name)
    layer = layer or conv_layer_names(model)[-1]
    seen = []
    means, outputs = FM.mean_activations_and_outputs(model, faces, layer, batch_size=2, on_progress=seen.append)
    np.testing.assert_allclose(means, FM.mean_activations(model, faces, layer), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs, model.predict(faces[..., None].astype("float32"), verbose=0), rtol=1e-5,
                               atol=1e-6)
    assert means.dtype == outputs.dtype == np.float32 and seen[-1] == 1.0 and len(seen) == -(-len(faces) // 2)
    empty_means, empty_outputs = FM.mean_activations_and_outputs(model, faces[:0], layer)
    assert empty_means.shape == (0, means.shape[1]) and empty_outputs.shape == (0, outputs.shape[1])
