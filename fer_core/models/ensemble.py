"""Test-time augmentation and ensembles, built into ONE plain Keras model.

The result keeps the saved-model contract: raw pixels ``float32 (N, 48, 48, 1)``
in, 7 softmax probabilities out, only built-in layers, so ``keras.models.load_model``
alone scores it. Inside, every member sees several views of the face and the
ensemble's logits are the mean of every member's logits over its views (a
geometric mean of the probabilities), followed by one softmax. Each member's
views are averaged first (layer ``<member>_tta``), then the members, so every
member weighs the same whatever its number of views:

* ``none``: one view (a crop model sees the center crop);
* ``flip``: that view and its mirror image;
* ``ten``: the four corner crops and the center crop, each also mirrored
  (Krizhevsky et al. 2012); a member taking whole 48x48 faces gets ``flip``.

Members' layers are renamed ``<member>_<layer>`` so every conv layer has a
readable unique name (``vgg1_conv3_2``, ``seed_conv5``). An ensemble can be
taken apart again (:func:`ensemble_members`), so a new one can add a member to
it. The mirror is a fixed ``Dense`` permutation of the width axis (exact in
float32), so no custom layer is needed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import keras
import numpy as np
from keras import layers

from fer_core.errors import FerError, shorten
from fer_core.labels import IMAGE_SIZE, INPUT_SHAPE, center_start

TTA_MODES = ("none", "flip", "ten")
MEMBER_NAME = re.compile(r"[^/]+")  # a member name prefixes Keras layer names, which may not hold "/"


def crop_core(model: keras.Model) -> tuple[keras.Model, int]:
    """``(core, side)``: the model that does the work and the side of the square it takes.

    A model saved by a ``--crop`` run is a center crop in front of a nested
    crop model; that nested model is the core. Any other model is its own core.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if any(isinstance(layer, layers.CenterCrop) for layer in model.layers) and len(nested) == 1:
        model = nested[0]
    return model, int(model.inputs[0].shape[1])


def view_boxes(side: int, tta: str) -> list[tuple[int, int, bool]]:
    """The views as ``(top, left, mirrored)`` windows of side ``side`` in the 48x48 face, center first."""
    if tta not in TTA_MODES:
        raise FerError(f"unknown test-time augmentation '{tta}' (expected one of {', '.join(TTA_MODES)})")
    margin = IMAGE_SIZE - side
    corners = [(center_start(side), center_start(side))]
    if tta == "ten" and margin > 0:
        corners += [(0, 0), (0, margin), (margin, 0), (margin, margin)]
    mirrors = (False, True) if tta != "none" else (False,)
    return [(top, left, mirror) for mirror in mirrors for top, left in corners]


def logits_output(model: keras.Model, source: str | None = None):
    """The output of the ``logits`` layer of ``model``'s core (:func:`crop_core`).

    Raises:
        FerError: the model has none; the line names ``source`` (a file) or the model.
    """
    core = crop_core(model)[0]
    try:
        return core.get_layer("logits").output
    except ValueError:
        raise FerError(f"{source or f'model {core.name!r}'}: has no layer named 'logits' "
                       "(needed to average scores)") from None


def _renamed_copy(model: keras.Model, rename: Callable[[str], str], name: str) -> keras.Model:
    """A copy of ``model`` (same weights) whose layers are named ``rename(layer.name)``, called ``name``."""
    def renamed(layer: layers.Layer) -> layers.Layer:
        return layer.__class__.from_config({**layer.get_config(), "name": rename(layer.name)})

    clone = keras.models.clone_model(model, clone_function=renamed)
    clone.set_weights(model.get_weights())
    return keras.Model(clone.inputs[0], clone.outputs[0], name=name)


def _renamed_logits_model(core: keras.Model, prefix: str) -> keras.Model:
    """A copy of ``core`` up to its ``logits`` layer, every layer named ``<prefix>_<name>``, same weights."""
    return _renamed_copy(keras.Model(core.inputs, logits_output(core)), lambda name: f"{prefix}_{name}", prefix)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The members of a model built by :func:`build_ensemble`, each restored as a model of its own: its core
    (what it sees of one view, up to its ``logits`` layer) with its ``<member>_`` layer prefix removed and a
    softmax after it, named as the member was. An empty list for any other model (one network, a crop model).

    ``fer ensemble`` passes these to :func:`build_ensemble` for an ensemble among its runs, so each of its
    members weighs as much as any other member rather than the ensemble counting as one.
    """
    averaged = {layer.name.removesuffix("_tta") for layer in model.layers if layer.name.endswith("_tta")}
    cores = [layer for layer in model.layers if isinstance(layer, keras.Model) and layer.name in averaged]
    return [_restored_member(core) for core in cores]


def _restored_member(core: keras.Model) -> keras.Model:
    """A member's nested logits model ``core`` as a model of its own: prefix removed, softmax added."""
    copy = _renamed_copy(core, lambda name: name.removeprefix(f"{core.name}_"), core.name)
    probabilities = layers.Activation("softmax", dtype="float32", name="softmax")(copy.outputs[0])
    return keras.Model(copy.inputs[0], probabilities, name=core.name)


def _mirror_layer() -> layers.Layer:
    """A frozen ``Dense`` on the width axis whose kernel reverses it: ``out[..., j] = in[..., 47 - j]``."""
    mirror = layers.Dense(IMAGE_SIZE, use_bias=False, trainable=False, name="mirror")
    mirror.build((None, IMAGE_SIZE, IMAGE_SIZE))
    mirror.set_weights([np.eye(IMAGE_SIZE, dtype=np.float32)[::-1]])
    return mirror


def _mean(tensors: list, name: str):
    """The elementwise mean of ``tensors`` as a layer called ``name`` (an identity for one tensor)."""
    return layers.Average(name=name)(tensors) if len(tensors) > 1 else layers.Identity(name=name)(tensors[0])


def build_ensemble(members: Sequence[keras.Model], names: Sequence[str], tta: str = "ten") -> keras.Model:
    """One model averaging the logits of ``members`` over their test-time views.

    Args:
        members: saved-contract models (48x48 faces in, 7 probabilities out,
            a layer named ``logits``), e.g. loaded from runs.
        names: one short unique name per member (layer-name prefixes).
        tta: ``none``, ``flip`` or ``ten`` (see the module docstring).

    Returns:
        An uncompiled model named ``ensemble``: ``float32 (N, 48, 48, 1)`` raw
        pixels -> ``float32 (N, 7)`` probabilities; its layer ``logits`` holds
        the members' mean of their mean logits over their views.
    """
    if len(members) != len(names) or not members:
        raise FerError(f"{len(members)} members and {len(names)} names (expected one name per member, at least one)")
    if len(set(names)) != len(names):
        raise FerError(f"member names must differ: {', '.join(names)}")
    for name in names:
        if not MEMBER_NAME.fullmatch(name):
            raise FerError(f"member name {shorten(name)!r}: expected a name without '/' "
                           "(it prefixes the member's layer names, and Keras layer names hold no '/')")
    inputs = keras.Input(INPUT_SHAPE, name="pixels")
    plane = layers.Reshape((IMAGE_SIZE, IMAGE_SIZE), name="plane")(inputs)
    mirrored = layers.Reshape(INPUT_SHAPE, name="mirrored")(_mirror_layer()(plane))
    scores = []
    for member, name in zip(members, names):
        core, side = crop_core(member)
        logits = _renamed_logits_model(core, name)
        views = []
        for top, left, mirror in view_boxes(side, tta):
            source = mirrored if mirror else inputs
            crop = ((top, IMAGE_SIZE - side - top), (left, IMAGE_SIZE - side - left))
            view = layers.Cropping2D(crop, name=f"{name}_view_{top}_{left}{'_m' if mirror else ''}")(source)
            views.append(logits(view))
        scores.append(_mean(views, f"{name}_tta"))
    averaged = _mean(scores, "logits")
    outputs = layers.Activation("softmax", dtype="float32", name="softmax")(averaged)
    return keras.Model(inputs, outputs, name="ensemble")


def member_names(members: Sequence[keras.Model]) -> list[str]:
    """Default layer-name prefixes: each core model's name, numbered when several share one (``vgg1``, ``vgg2``)."""
    bases = [crop_core(m)[0].name for m in members]
    return [f"{b}{bases[:i + 1].count(b)}" if bases.count(b) > 1 else b for i, b in enumerate(bases)]
