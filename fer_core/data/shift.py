"""How the splits of a copy of FER2013 differ: brightness, contrast and sharpness.

A CNN learns the contrast and the sharpness of its training faces along with
their expressions. When the faces it is scored on differ in those (another
camera, another JPEG pipeline, a resampled copy of the data), accuracy drops
for reasons that have nothing to do with expressions. ``fer data`` and
``fer report`` use this module to check a copy of FER2013 for that:

* :func:`split_profile` / :func:`summarize`: brightness, contrast (per-image
  standard deviation) and sharpness (share of the power spectrum above 0.125
  cycles/pixel) of a set of faces, and its mean power spectrum by frequency band;
* :func:`estimate_blur`: the Gaussian blur sigma that best turns one set's
  mean power spectrum into another's (fitted in the band where both have signal);
* :func:`compare_splits`: every split's profile, and how Training differs from
  PublicTest in words (:attr:`SplitComparison.warning`).

Spectra are of per-image standardized faces under a Hann window, so contrast
and the image border do not enter them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_core.labels import IMAGE_SIZE

SHARP_BAND = 0.125  # cycles/pixel: "fine detail" starts here (4 pixels per cycle would be 0.25)
BANDS = np.linspace(0.0, 0.5, 21)  # radial frequency bands of the mean power spectrum


@dataclass(frozen=True)
class Profile:
    """Summary of a set of faces: medians over images."""

    brightness: float  # mean pixel value, 0..255
    contrast: float  # per-image standard deviation of pixel values
    sharpness: float  # share of spectral power above SHARP_BAND cycles/pixel, 0..1


def _radius() -> np.ndarray:
    f = np.fft.fftfreq(IMAGE_SIZE)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    return np.sqrt(fx**2 + fy**2)


def _standardized(x: np.ndarray) -> np.ndarray:
    """Each of ``float64 (n, 48, 48)`` faces to mean 0, std 1; near-constant faces (std below 1) are dropped."""
    x = x - x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2))
    return x[std > 1.0] / std[std > 1.0, None, None]  # blank faces carry no spectrum


def summarize(images: np.ndarray, batch: int = 2048) -> tuple[Profile, np.ndarray]:
    """One pass over ``(N, 48, 48)`` faces (values 0..255), ``batch`` at a time.

    Returns:
        ``(profile, band_power)``: the :class:`Profile` (medians per face) and
        ``float64 (len(BANDS) - 1,)``, the mean power spectrum of the
        standardized, Hann-windowed faces per radial frequency band.
    """
    window, radius = np.outer(np.hanning(IMAGE_SIZE), np.hanning(IMAGE_SIZE)), _radius()
    brightness, contrast, sharpness = [], [], []
    spectrum_sum, counted = np.zeros((IMAGE_SIZE, IMAGE_SIZE)), 0
    for i in range(0, len(images), batch):
        x = np.asarray(images[i:i + batch], np.float64).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
        brightness.append(x.mean(axis=(1, 2)))
        contrast.append(x.std(axis=(1, 2)))
        spectra = np.abs(np.fft.fft2(_standardized(x) * window)) ** 2
        sharpness.append(spectra[:, radius >= SHARP_BAND].sum(axis=1) / spectra.sum(axis=(1, 2)))
        spectrum_sum += spectra.sum(axis=0)
        counted += len(spectra)
    spectrum = spectrum_sum / max(counted, 1)
    bands = np.array([spectrum[(radius >= lo) & (radius < hi)].mean() for lo, hi in zip(BANDS[:-1], BANDS[1:])])
    median = lambda parts: float(np.median(np.concatenate(parts))) if parts else float("nan")  # noqa: E731
    return Profile(median(brightness), median(contrast), median(sharpness)), bands


def split_profile(images: np.ndarray) -> Profile:
    """Median brightness, contrast and sharpness of ``(N, 48, 48)`` faces (values 0..255)."""
    return summarize(images)[0]


def band_power(images: np.ndarray) -> np.ndarray:
    """``float64 (len(BANDS) - 1,)``: mean spectral power of the faces per radial frequency band."""
    return summarize(images)[1]


def fit_blur(sharp_bands: np.ndarray, blurred_bands: np.ndarray, sigmas: np.ndarray | None = None) -> float:
    """The Gaussian sigma (pixels) that best turns band powers ``sharp_bands`` into ``blurred_bands``.

    A Gaussian of sigma ``s`` multiplies power at frequency ``f`` by
    ``exp(-4 pi^2 s^2 f^2)``. The fit compares log band powers, normalized at
    the lowest band, over the bands where the blurred set keeps at least 1e-4 of
    its low-frequency power (beyond that, 8-bit rounding is all that is left).

    Returns:
        The best sigma on the grid ``sigmas`` (default 0..5 px in steps of 0.1);
        0.0 when the blurred set is not blurrier than the sharp one.
    """
    sigmas = np.arange(0.0, 5.01, 0.1) if sigmas is None else sigmas
    a, b = sharp_bands, blurred_bands
    centers = (BANDS[:-1] + BANDS[1:]) / 2
    use = b / b[0] > 1e-4
    target = np.log(b[use] / b[0]) - np.log(a[use] / a[0])
    errors = [np.mean((target + 4 * np.pi**2 * s**2 * (centers[use] ** 2 - centers[0] ** 2)) ** 2) for s in sigmas]
    return float(sigmas[int(np.argmin(errors))])


def estimate_blur(sharp: np.ndarray, blurred: np.ndarray, sigmas: np.ndarray | None = None) -> float:
    """The sigma (pixels) of the Gaussian blur that best maps ``sharp`` faces onto ``blurred`` ones (:func:`fit_blur`)."""
    return fit_blur(band_power(sharp), band_power(blurred), sigmas)


@dataclass(frozen=True)
class SplitComparison:
    """Profiles of a dataset's splits and how Training differs from PublicTest."""

    profiles: dict[str, Profile]
    blur: float | None  # sigma (px) that blurs PublicTest into Training; None without both splits
    contrast_ratio: float | None  # Training contrast / PublicTest contrast

    @property
    def compared(self) -> bool:
        """Whether Training and PublicTest were both there to compare."""
        return self.blur is not None

    @property
    def blurred(self) -> bool:
        """Training looks blurred relative to PublicTest (sigma >= 1 px)."""
        return self.compared and self.blur >= 1.0

    @property
    def flat(self) -> bool:
        """Training's contrast is off PublicTest's by more than 15%."""
        return self.compared and not 0.85 <= self.contrast_ratio <= 1.15

    @property
    def warning(self) -> str | None:
        """How Training differs from PublicTest, in one line, or ``None`` when it does not (or was not compared)."""
        found = [f"look blurred by a Gaussian of sigma {self.blur:.1f} px"] if self.blurred else []
        found += [f"have {self.contrast_ratio:.2f}x the contrast"] if self.flat else []
        if not found:
            return None
        return (f"Compared with PublicTest faces, Training faces {' and '.join(found)}; a model trained on them "
                "learns that difference, so check how this copy of FER2013 was made.")


def compare_splits(dataset, min_faces: int = 100) -> SplitComparison:
    """Profile every split of a :class:`fer_core.data.Dataset` with at least ``min_faces`` faces."""
    found = {name: summarize(split.images) for name, split in dataset.splits.items() if len(split) >= min_faces}
    profiles = {name: profile for name, (profile, _) in found.items()}
    if "train" not in found or "public" not in found:
        return SplitComparison(profiles, None, None)
    sigma = fit_blur(found["public"][1], found["train"][1])
    return SplitComparison(profiles, sigma, profiles["train"].contrast / profiles["public"].contrast)
