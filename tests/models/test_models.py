import pickle
import zipfile

import keras
import numpy as np
import pytest
from PIL import Image

from fer_core import cli
from fer_core.config import ARCHITECTURES, TrainConfig
from fer_core.errors import FerError
from fer_core.models.builders import MODELS, build_model, conv_layer_names, load_model, pixel_statistics
from tests.conftest import files_under, make_faces, one_error_line

# The seed report's table: (layer type, output shape without the batch axis).
SEED_TABLE = [
    ("Conv2D", (48, 48, 16)), ("BatchNormalization", (48, 48, 16)), ("LeakyReLU", (48, 48, 16)),
    ("Conv2D", (48, 48, 32)), ("GaussianNoise", (48, 48, 32)), ("BatchNormalization", (48, 48, 32)),
    ("LeakyReLU", (48, 48, 32)),
    ("Conv2D", (48, 48, 64)), ("BatchNormalization", (48, 48, 64)), ("LeakyReLU", (48, 48, 64)),
    ("MaxPooling2D", (24, 24, 64)), ("Dropout", (24, 24, 64)),
    ("Conv2D", (24, 24, 128)), ("BatchNormalization", (24, 24, 128)), ("LeakyReLU", (24, 24, 128)),
    ("MaxPooling2D", (12, 12, 128)), ("Dropout", (12, 12, 128)),
    ("Conv2D", (12, 12, 256)), ("BatchNormalization", (12, 12, 256)), ("LeakyReLU", (12, 12, 256)),
    ("MaxPooling2D", (6, 6, 256)), ("Dropout", (6, 6, 256)),
    ("Conv2D", (6, 6, 512)), ("BatchNormalization", (6, 6, 512)), ("LeakyReLU", (6, 6, 512)),
    ("MaxPooling2D", (3, 3, 512)), ("Dropout", (3, 3, 512)),
    ("Flatten", (4608,)), ("Dense", (512,)), ("BatchNormalization", (512,)), ("LeakyReLU", (512,)),
    ("Dropout", (512,)), ("Dense", (256,)), ("LeakyReLU", (256,)), ("Dense", (7,)), ("Activation", (7,)),
]


def _table(model):
    return [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in model.layers[1:]]


def test_seed_layers_and_shapes_match_the_report():
    model = build_model("seed", normalization="none")
    assert _table(model) == SEED_TABLE
    assert conv_layer_names(model) == [f"conv{i}" for i in range(1, 7)]
    assert all(model.get_layer(f"conv{i}").kernel_size == (3, 3) for i in range(1, 7))
    assert model.get_layer("bn1").momentum == 0.5
    assert model.get_layer("act1").negative_slope == pytest.approx(0.3)
    assert model.get_layer("noise2").stddev == pytest.approx(0.1)
    assert [model.get_layer(f"drop{i}").rate for i in (3, 4, 5, 6)] == [0.1, 0.2, 0.2, 0.2]
    assert model.get_layer("drop_dense1").rate == 0.5


def test_standardize_is_inside_the_model_and_fitted_on_train():
    images, _ = make_faces(50)
    model = build_model("seed", normalization="standardize", train_images=images)
    assert _table(model)[0] == ("Normalization", (48, 48, 1))
    assert _table(model)[1:] == SEED_TABLE
    standardized = model.get_layer("standardize")(images[..., None].astype("float32"))
    z = keras.ops.convert_to_numpy(standardized)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-2)


def test_per_image_is_one_layer_between_the_raw_pixels_and_the_report_table():
    model = build_model("seed", normalization="per_image")
    assert [layer.name for layer in model.layers[:3]] == ["pixels", "per_image", "conv1"]
    assert _table(model)[0] == ("LayerNormalization", (48, 48, 1))
    assert _table(model)[1:] == SEED_TABLE


@pytest.mark.parametrize("normalization", [None, "standardize"])
def test_a_model_file_with_the_former_fixed_input_blur_still_loads_and_scores(tmp_path, normalization):
    # Models saved before the input blur was removed have two frozen EinsumDense layers after the normalization.
    inputs = keras.Input((48, 48, 1), name="pixels")
    x = inputs
    if normalization:
        x = keras.layers.Normalization(axis=None, mean=128.0, variance=64.0**2, name=normalization)(x)
    for axis, equation in (("h", "nhwc,hk->nkwc"), ("w", "nhwc,wk->nhkc")):
        x = keras.layers.EinsumDense(equation, output_shape=(48, 48, 1), trainable=False, name=f"input_blur_{axis}")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv1")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    old = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x), name="seed")
    smooth = ((np.eye(48) + np.eye(48, k=1) + np.eye(48, k=-1)) / 3).astype(np.float32)
    for axis in "hw":
        old.get_layer(f"input_blur_{axis}").set_weights([smooth])
    old.save(tmp_path / "old.keras")
    faces = make_faces(3)[0][..., None].astype(np.float32)
    model = load_model(tmp_path / "old.keras")
    p = model.predict(faces, verbose=0)
    assert p.shape == (3, 7) and conv_layer_names(model) == ["conv1"]
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(p, old.predict(faces, verbose=0), rtol=1e-6, atol=1e-7)


def test_pixel_statistics_shapes():
    mean, var = pixel_statistics(np.full((3, 48, 48), 7, np.uint8))
    assert mean.shape == var.shape == (48, 48, 1) and mean.dtype == np.float32
    assert np.all(mean == 7) and np.all(var == 0)


def test_softmax_output_and_inference_is_deterministic():
    model = build_model("seed", normalization="none")
    x = make_faces(4)[0][..., None].astype("float32")
    p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert p1.shape == (4, 7) and p1.dtype == np.float32
    np.testing.assert_allclose(p1.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(p1, p2)  # noise and dropout are off at inference


def test_saved_model_reloads_with_plain_keras_and_predicts_the_same(tmp_path):
    images, _ = make_faces(20)
    model = build_model("seed", normalization="standardize", train_images=images)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    x = images[:5, ..., None].astype("float32")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    assert load_model(tmp_path).name == "seed"  # a run folder works too


def test_unknown_model_and_normalization():
    with pytest.raises(FerError, match="unknown model 'vgg99' \\(expected one of seed"):
        build_model("vgg99")
    with pytest.raises(FerError, match="unknown normalization 'minmax'"):
        build_model("seed", normalization="minmax")
    with pytest.raises(FerError, match="needs the training images"):
        build_model("seed", normalization="standardize")


def test_every_architecture_fer_train_offers_is_registered_and_builds_a_fer_model():
    assert set(MODELS) == set(ARCHITECTURES)  # config.py lists what fer train --model takes without TensorFlow
    for name in ARCHITECTURES:
        model = build_model(name, normalization="none")
        assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    with pytest.raises(FerError, match="--model 'vgg99': expected one of seed, vgg, vgg-wide"):
        TrainConfig(model="vgg99").check()


def test_load_model_errors_are_one_line(tmp_path):
    with pytest.raises(FerError, match="missing.keras: no such model file"):
        load_model(tmp_path / "missing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(FerError, match="bad.keras: not a Keras model: not a zip archive") as error:
        load_model(bad)
    assert "\n" not in str(error.value)
    pickle = tmp_path / "model.h5"
    pickle.write_bytes(b"x")
    with pytest.raises(FerError, match="not a .keras model file"):
        load_model(pickle)


def tiny_model(input_shape=(48, 48, 1), outputs: int = 7, softmax: bool = True) -> keras.Model:
    """Conv -> global pooling -> Dense(outputs) [-> softmax]: any input and output size in a few layers."""
    inputs = keras.Input(input_shape)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(inputs))
    x = keras.layers.Dense(outputs, name="logits")(x)
    return keras.Model(inputs, keras.layers.Activation("softmax")(x) if softmax else x)


NOT_FER_MODELS = {  # what the file is -> what the one line says it takes and returns
    "3 outputs": ({"outputs": 3}, "takes 48x48x1 inputs and returns 3 values per face"),
    "no softmax": ({"softmax": False}, "returns 7 values per face that are not probabilities"),
    "64x64 input": ({"input_shape": (64, 64, 1)}, "takes 64x64x1 inputs and returns 7 values per face"),
    "colour input": ({"input_shape": (48, 48, 3)}, "takes 48x48x3 inputs"),
}
NEEDS = ("FER Lens needs a model that takes 48x48x1 grayscale faces (raw pixels 0..255) and returns 7 emotion "
         "probabilities")


@pytest.mark.parametrize("case", list(NOT_FER_MODELS))
def test_a_model_outside_the_contract_is_refused_in_one_line_by_every_command(tmp_path, monkeypatch, capsys,
                                                                               kaggle_folder, case):
    options, says = NOT_FER_MODELS[case]
    monkeypatch.chdir(tmp_path)
    tiny_model(**options).save("m.keras")
    Image.fromarray(make_faces(1)[0][0]).save("face.png")
    before = files_under(tmp_path)
    for command in (["predict", "m.keras", "face.png"], ["evaluate", "m.keras", "--data", str(kaggle_folder[0])]):
        assert cli.main(command) == 2
        message = one_error_line(capsys.readouterr().err)
        assert message.startswith(f"m.keras: {says}") and NEEDS in message
    assert files_under(tmp_path) == before, "no metrics.json, no predictions: nothing written"
    tiny_model().save("good.keras")
    assert cli.main(["predict", "good.keras", "face.png"]) == 0  # the same tiny model inside the contract passes


BROKEN_FILES = {  # bytes in a .keras file -> what the one line says
    "0 bytes": (b"", "the file is empty (0 bytes)"),
    "random bytes": (np.random.default_rng(0).bytes(2000), "not a zip archive (2,000 bytes)"),
    "a pickle": (pickle.dumps({"weights": np.zeros(3)}), "not a zip archive"),
}


@pytest.mark.parametrize("case", list(BROKEN_FILES))
def test_a_keras_file_that_is_not_a_keras_archive_is_named_as_such_not_as_missing(tmp_path, monkeypatch, capsys, case):
    content, says = BROKEN_FILES[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.keras").write_bytes(content)
    before = files_under(tmp_path)
    assert cli.main(["filters", "m.keras"]) == 2
    message = one_error_line(capsys.readouterr().err)
    assert message.startswith(f"m.keras: not a Keras model: {says}") and "not found" not in message.lower()
    assert files_under(tmp_path) == before


def test_a_zip_without_a_model_config_is_not_a_keras_model(tmp_path):
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(FerError, match="m.keras: not a Keras model: the zip holds no config.json"):
        load_model(tmp_path / "m.keras")


def test_a_model_with_an_unregistered_layer_names_the_layers_class(tmp_path, monkeypatch):
    @keras.saving.register_keras_serializable(package="fer_test")
    class Doubling(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.GlobalAveragePooling2D()(Doubling(name="double")(inputs))
    keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x)).save(tmp_path / "m.keras")
    monkeypatch.delitem(keras.saving.get_custom_objects(), "fer_test>Doubling")  # as in a process that never defined it
    with pytest.raises(FerError, match=r"m.keras: cannot load model: it uses the class 'Doubling' "
                                       r"\(registered as 'fer_test>Doubling', layer 'double'\)") as error:
        load_model(tmp_path / "m.keras")
    assert len(str(error.value)) < 400


def test_a_model_with_nan_weights_is_refused(tmp_path):
    model = tiny_model()
    model.get_layer("logits").set_weights([np.full((2, 7), np.nan, np.float32), np.zeros(7, np.float32)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(FerError, match="returns NaN or infinite values"):
        load_model(tmp_path / "m.keras")


def test_layer_summary_rows_sum_to_the_parameter_count_and_inline_nested_models():
    from fer_core.models.builders import layer_summary

    model = build_model("seed", normalization="none")
    rows = layer_summary(model)
    assert [r["layer"] for r in rows if r["type"] == "Conv2D"] == [f"conv{i}" for i in range(1, 7)]
    assert sum(r["parameters"] for r in rows) == model.count_params()
    assert rows[0] == {"layer": "conv1", "type": "Conv2D", "output": "(48, 48, 16)", "parameters": 160}
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")], name="inner")
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2, name="head")])
    assert [r["layer"] for r in layer_summary(outer)] == ["inner/d", "head"]


def test_vgg_takes_crops_and_standardizes_with_one_scalar_mean():
    from fer_core.models.builders import with_center_crop

    images, _ = make_faces(20)
    model = build_model("vgg", input_size=40, train_images=images)
    assert model.inputs[0].shape[1:] == (40, 40, 1) and model.outputs[0].shape[1:] == (7,)
    assert conv_layer_names(model) == [f"conv{s}_{c}" for s in (1, 2, 3, 4) for c in (1, 2)]
    assert [model.get_layer(f"conv{s}_1").filters for s in (1, 2, 3, 4)] == [32, 64, 128, 256]
    norm = model.get_layer("standardize")
    pixels = images.astype(np.float64)
    np.testing.assert_allclose(float(np.squeeze(norm.mean)), pixels.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(np.squeeze(norm.variance)), pixels.var(), rtol=1e-4)

    whole = with_center_crop(model)
    faces = images[:3, :, :, None].astype(np.float32)
    assert whole.inputs[0].shape[1:] == (48, 48, 1)
    np.testing.assert_allclose(whole.predict(faces, verbose=0), model.predict(faces[:, 4:44, 4:44], verbose=0),
                               atol=1e-6)
    assert with_center_crop(build_model("seed", normalization="none")).name == "seed"


def test_the_seed_refuses_crops():
    with pytest.raises(FerError, match="seed CNN takes whole 48x48 faces"):
        build_model("seed", input_size=40, normalization="none")
