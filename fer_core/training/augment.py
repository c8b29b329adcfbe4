"""Random flip, rotation, shift and zoom of training faces as ONE affine resampling.

Keras's ``RandomRotation``, ``RandomTranslation`` and ``RandomZoom`` in a row
interpolate the face three times; each bilinear pass at a random sub-pixel
offset blurs it (a Gaussian of about 0.4 px), so the chain trained on faces
about 0.6 px blurrier than the sharp PublicTest ones (measured with
:func:`fer_core.data.shift.estimate_blur` on 1,000 PublicTest faces: sharpness
0.199 raw, 0.106 after the chain). This layer draws the same random transforms
(the ranges of those layers: a uniform angle in ``[-rotation, rotation]``
degrees, shifts in ``[-shift, shift]`` of the side, zoom factors ``1 + u`` with
``u`` in ``[-zoom, zoom]`` per axis, a mirror with chance 1/2), composes them
into one matrix and resamples once (``keras.ops.image.affine_transform``,
bilinear, edges repeated), as Keras's old ``ImageDataGenerator`` did.
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fer_lens")
class RandomAffine(keras.layers.Layer):
    """Random mirror, rotation, shift and zoom about the image center, one bilinear resampling.

    Input: ``(N, H, W, C)`` (channels last), any value range; output: the same
    shape in ``float32`` (the layer computes in float32 whatever the global
    precision policy, so interpolated pixels are not rounded to bfloat16).
    Inactive (identity) unless called with ``training=True``.

    Args:
        flip: mirror left-right with chance 1/2.
        rotation: largest angle in degrees.
        shift: largest shift per axis as a fraction of the side.
        zoom: largest zoom per axis as a fraction (``1 + u`` times the sampled region, ``|u| <= zoom``).
        seed: seed of the layer's random generator.
    """

    def __init__(self, flip: bool = True, rotation: float = 10.0, shift: float = 0.1, zoom: float = 0.1,
                 seed: int | None = None, **kwargs):
        super().__init__(**{"dtype": "float32", **kwargs})
        self.flip, self.rotation, self.shift, self.zoom, self.seed = flip, rotation, shift, zoom, seed
        self.generator = keras.random.SeedGenerator(seed)

    def transforms(self, batch: int, height: int, width: int):
        """``float32 (batch, 8)`` projective transforms (output pixel -> input pixel), as affine_transform takes."""

        def uniform(limit: float):
            return keras.random.uniform((batch,), -limit, limit, seed=self.generator) if limit else ops.zeros((batch,))

        angle = uniform(math.radians(self.rotation))
        zoom_x, zoom_y = 1.0 + uniform(self.zoom), 1.0 + uniform(self.zoom)
        shift_x, shift_y = uniform(self.shift) * width, uniform(self.shift) * height
        mirror = ops.where(keras.random.uniform((batch,), seed=self.generator) < 0.5, -1.0, 1.0) if self.flip \
            else ops.ones((batch,))
        cos, sin = ops.cos(angle), ops.sin(angle)
        # input = center + R(angle) @ diag(zoom_x * mirror, zoom_y) @ (output - center) - shift
        a0, a1 = cos * zoom_x * mirror, -sin * zoom_y
        b0, b1 = sin * zoom_x * mirror, cos * zoom_y
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        a2 = cx - a0 * cx - a1 * cy - shift_x
        b2 = cy - b0 * cx - b1 * cy - shift_y
        zeros = ops.zeros((batch,))
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def call(self, images, training=None):
        if not training:
            return images
        shape = ops.shape(images)
        matrix = self.transforms(shape[0], images.shape[1], images.shape[2])
        return ops.image.affine_transform(ops.cast(images, "float32"), matrix, interpolation="bilinear",
                                          fill_mode="nearest")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "flip": self.flip, "rotation": self.rotation, "shift": self.shift,
                "zoom": self.zoom, "seed": self.seed}
