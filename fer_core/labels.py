"""Constants shared by every part of FER Lens; defined here once.

FER2013 (Goodfellow et al., "Challenges in Representation Learning", ICML 2013
workshop) labels faces with seven emotions in this fixed order.
"""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES: int = len(EMOTIONS)
IMAGE_SIZE: int = 48
NUM_PIXELS: int = IMAGE_SIZE * IMAGE_SIZE
INPUT_SHAPE: tuple[int, int, int] = (IMAGE_SIZE, IMAGE_SIZE, 1)


def center_start(side: int) -> int:
    """Row (and column) where a centered ``side`` x ``side`` window of a face starts (as ``keras.layers.CenterCrop``)."""
    return (IMAGE_SIZE - side) // 2

# Split names used throughout the project, with the FER2013 ``Usage`` value of each.
SPLITS: dict[str, str] = {"train": "Training", "public": "PublicTest", "private": "PrivateTest"}
