"""Test-time augmentation and ensembles as one plain Keras model."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fer_core import cli
from fer_core.errors import FerError
from fer_core.models.builders import build_model, conv_layer_names, load_model, with_center_crop
from fer_core.models.ensemble import build_ensemble, ensemble_members, member_names, view_boxes
from fer_core.runs.folder import Run
from tests.conftest import files_under, make_faces, one_error_line, snapshot
from tests.vis.conftest import tiny_cnn

CORNERS = [(4, 4), (0, 0), (0, 8), (8, 0), (8, 8)]


@pytest.fixture(scope="module")
def members():
    keras.utils.set_random_seed(0)
    images, _ = make_faces(30)
    vgg = with_center_crop(build_model("vgg", input_size=40, train_images=images))
    return vgg, tiny_cnn()


def _logits(model, x):
    return keras.Model(model.inputs, model.get_layer("logits").output).predict(x, verbose=0)


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_views_are_the_center_first_then_corners_and_mirrors():
    assert view_boxes(40, "none") == [(4, 4, False)]
    assert view_boxes(40, "flip") == [(4, 4, False), (4, 4, True)]
    ten = view_boxes(40, "ten")
    assert len(set(ten)) == 10 and ten[0] == (4, 4, False)
    assert {(t, s) for t, s, _ in ten} == set(CORNERS)
    assert view_boxes(48, "ten") == [(0, 0, False), (0, 0, True)]
    with pytest.raises(FerError, match="unknown test-time augmentation 'twelve'"):
        view_boxes(40, "twelve")


def test_ensemble_is_the_softmax_of_the_members_mean_of_their_mean_logits_over_views(members, tmp_path):
    vgg, tiny = members
    faces = make_faces(4, seed=1)[0][..., None].astype(np.float32)
    model = build_ensemble([vgg, tiny], ["vgg1", "tiny"], "ten")
    core = vgg.layers[-1]
    vgg_views = [_logits(core, img[:, t:t + 40, s:s + 40]) for img in (faces, faces[:, :, ::-1]) for t, s in CORNERS]
    tiny_views = [_logits(tiny, faces), _logits(tiny, faces[:, :, ::-1])]
    expected = _softmax((np.mean(vgg_views, axis=0) + np.mean(tiny_views, axis=0)) / 2)  # each member weighs the same
    got = model.predict(faces, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    model.save(tmp_path / "ensemble.keras")
    np.testing.assert_array_equal(load_model(tmp_path / "ensemble.keras").predict(faces, verbose=0), got)


def test_mirror_is_exact_and_members_keep_their_weights(members):
    tiny = members[1]
    faces = make_faces(3, seed=2)[0][..., None].astype(np.float32)
    ensemble = build_ensemble([tiny], ["t"])
    mirrored = keras.Model(ensemble.inputs, ensemble.get_layer("mirrored").output)
    np.testing.assert_array_equal(mirrored.predict(faces, verbose=0), faces[:, :, ::-1])
    single = build_ensemble([tiny], ["t"], "none")
    np.testing.assert_allclose(single.predict(faces, verbose=0), tiny.predict(faces, verbose=0), atol=1e-6)


def test_member_layers_get_readable_unique_names_and_vis_sees_the_center_view(members):
    from fer_core.vis.feature_maps import feature_maps

    vgg, tiny = members
    assert member_names([vgg, vgg, tiny]) == ["vgg1", "vgg2", "tiny"]
    model = build_ensemble([vgg, vgg, tiny], member_names([vgg, vgg, tiny]), "ten")
    names = conv_layer_names(model)
    assert names[:2] == ["vgg1_conv1_1", "vgg1_conv1_2"] and "vgg2_conv4_2" in names and names[-1] == "tiny_c2"
    assert len(set(names)) == len(names)
    faces = make_faces(2, seed=3)[0]
    core = vgg.layers[-1]
    center = keras.Model(core.inputs, core.get_layer("conv2_1").output).predict(
        faces[:, 4:44, 4:44, None].astype(np.float32), verbose=0)
    np.testing.assert_allclose(feature_maps(model, faces, "vgg1_conv2_1"), center, atol=1e-5)


def _scaled_tiny(scale: float = 1.5, name: str = "other") -> keras.Model:
    """A tiny CNN unlike the fixture's: its weights times ``scale``."""
    tiny = tiny_cnn()
    tiny.set_weights([w * scale for w in tiny.get_weights()])
    return keras.Model(tiny.inputs[0], tiny.outputs[0], name=name)


def test_an_ensembles_members_come_back_whole_and_extend_it_as_if_built_from_their_files(members):
    vgg, tiny = members
    pair = build_ensemble([vgg, tiny], ["vgg1", "tiny"], "flip")
    restored = ensemble_members(pair)
    assert [m.name for m in restored] == ["vgg1", "tiny"]
    faces = make_faces(4, seed=4)[0][..., None].astype(np.float32)
    np.testing.assert_allclose(restored[1].predict(faces, verbose=0), tiny.predict(faces, verbose=0), atol=1e-6)
    center = faces[:, 4:44, 4:44]  # the crop member's core takes the 40x40 center
    np.testing.assert_allclose(restored[0].predict(center, verbose=0), vgg.layers[-1].predict(center, verbose=0),
                               atol=1e-6)
    other = _scaled_tiny()
    extended = build_ensemble([*restored, other], ["vgg1", "tiny", "other"], "flip")
    direct = build_ensemble([vgg, tiny, other], ["vgg1", "tiny", "other"], "flip")
    assert conv_layer_names(extended) == conv_layer_names(direct)
    np.testing.assert_allclose(extended.predict(faces, verbose=0), direct.predict(faces, verbose=0), atol=1e-6)
    assert ensemble_members(vgg) == [] and ensemble_members(tiny) == []  # a crop model and a plain one


def test_bad_member_lists_are_one_line_errors(members):
    vgg, tiny = members
    with pytest.raises(FerError, match="one name per member"):
        build_ensemble([vgg, tiny], ["a"])
    with pytest.raises(FerError, match="member names must differ"):
        build_ensemble([vgg, tiny], ["a", "a"])
    headless = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    with pytest.raises(FerError, match="no layer named 'logits'"):
        build_ensemble([headless], ["h"])


def test_ensemble_command_writes_a_scored_run(members, tmp_path, kaggle_folder, capsys, monkeypatch):
    monkeypatch.delenv("FER_DATA", raising=False)  # scored only where --data says
    folder, _, _ = kaggle_folder
    vgg, tiny = members
    vgg.save(tmp_path / "vgg.keras")
    tiny.save(tmp_path / "tiny.keras")
    out = tmp_path / "best"
    args = ["ensemble", str(tmp_path / "vgg.keras"), str(tmp_path / "tiny.keras"), "--out", str(out), "--tta", "flip"]
    assert cli.main(args + ["--data", str(folder)]) == 0
    run = Run(out)
    assert run.config()["names"] == ["vgg", "tiny"] and run.config()["tta"] == "flip"
    assert run.metrics()["samples"] == 14 and "public accuracy" in capsys.readouterr().out
    assert cli.main(["ensemble", str(tmp_path / "missing.keras"), "--out", str(out)]) == 2
    assert cli.main(args) == 0 and not run.metrics_file.exists()  # no data this time: no stale score left
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "config.json").write_text('{"model": "seed", "epochs": 3}')
    assert cli.main(args[:-4] + ["--out", str(trained)]) == 2
    assert "holds a training run" in capsys.readouterr().err
    (trained / "config.json").write_text('["a list"]')
    assert cli.main(args[:-4] + ["--out", str(trained)]) == 2
    assert one_error_line(capsys.readouterr().err) == \
        f"{trained}: holds a training run or another config.json; write the ensemble to another --out"


def test_ensemble_command_given_an_ensemble_adds_its_members_with_their_sources_and_histories(members, tmp_path,
                                                                                             capsys):
    made = {"tiny": members[1], "other": _scaled_tiny(), "third": _scaled_tiny(0.5, "third")}
    for name, model in made.items():
        run = Run(tmp_path / name)
        run.root.mkdir()
        model.save(run.model_file)
        run.write_history([{"epoch": e, "seconds": 2.0 * len(name)} for e in (1, 2)])
    assert cli.main(["ensemble", str(tmp_path / "tiny"), str(tmp_path / "other"), "--tta", "flip",
                     "--out", str(tmp_path / "pair")]) == 0
    out = Run(tmp_path / "three")
    assert cli.main(["ensemble", str(tmp_path / "pair"), str(tmp_path / "third"), "--tta", "flip",
                     "--out", str(out.root)]) == 0
    config = out.config()
    assert config["names"] == ["tiny", "other", "third"]
    assert config["members"] == [str(tmp_path / name) for name in made]
    assert config["training_seconds"] == {"tiny": 16.0, "other": 20.0, "third": 20.0}
    assert [out.history()[0][f"{n}/seconds"] for n in made] == [8.0, 10.0, 10.0]
    direct = build_ensemble(list(made.values()), list(made), "flip")
    faces = make_faces(3, seed=5)[0][..., None].astype(np.float32)
    np.testing.assert_allclose(load_model(out.root).predict(faces, verbose=0), direct.predict(faces, verbose=0),
                               atol=1e-6)
    pair_config = tmp_path / "pair" / "config.json"
    for broken in ('["not", "an", "object"]', '{"names": ["tiny"], "training_seconds": {"tiny": "long"}}'):
        pair_config.write_text(broken)
        before = snapshot(out.root)
        assert cli.main(["ensemble", str(tmp_path / "pair"), "--tta", "flip", "--out", str(out.root)]) == 2
        assert one_error_line(capsys.readouterr().err) == \
            f"{pair_config}: not the config.json of an ensemble (expected the lists names and members, " \
            "and training_seconds in seconds by name)"
        assert snapshot(out.root) == before


def test_a_member_that_cannot_be_read_whole_is_one_line_and_nothing_is_written(members, tmp_path, capsys,
                                                                              kaggle_folder):
    """Every member's files and the data are read before the ensemble's folder is touched."""
    vgg, tiny = members
    for name, model in (("vgg", vgg), ("tiny", tiny)):
        (tmp_path / name).mkdir()
        model.save(tmp_path / name / "model.keras")
    headless = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(7, activation="softmax", name="probabilities")])
    headless.save(tmp_path / "headless.keras")
    (tmp_path / "tiny" / "history.csv").write_bytes(b"epoch,seconds\n1,\xff\n")
    bad_data = tmp_path / "bad"
    bad_data.mkdir()
    (bad_data / "fer2013.csv").write_text("emotion,pixels,Usage\n9,1 2 3,Training\n")
    out = tmp_path / "best"
    cases = [
        ([tmp_path / "vgg", tmp_path / "tiny"], [], f"{tmp_path / 'tiny' / 'history.csv'}: not a UTF-8 CSV"),
        ([tmp_path / "vgg", tmp_path / "headless.keras"], [],
         f"{tmp_path / 'headless.keras'}: has no layer named 'logits'"),
        ([tmp_path / "vgg"], ["--data", str(bad_data)], "fer2013.csv"),
    ]
    for paths, extra, message in cases:
        capsys.readouterr()
        assert cli.main(["ensemble", *map(str, paths), "--out", str(out), *extra]) == 2
        assert message in one_error_line(capsys.readouterr().err)
        assert not out.exists(), f"{message}: nothing is written"


def test_a_member_name_with_a_slash_is_one_short_line_not_the_members_config(members, tmp_path, monkeypatch, capsys):
    vgg, tiny = members  # vgg standardizes its input: Keras's own error quoted its Normalization arrays (95 KB)
    monkeypatch.chdir(tmp_path)
    vgg.save("vgg.keras")
    tiny.save("tiny.keras")
    before = files_under(tmp_path)
    assert cli.main(["ensemble", "vgg.keras", "tiny.keras", "--names", "a/b", "c", "--out", "best"]) == 2
    message = one_error_line(capsys.readouterr().err)
    assert message == ("member name 'a/b': expected a name without '/' (it prefixes the member's layer names, "
                       "and Keras layer names hold no '/')")
    assert files_under(tmp_path) == before
