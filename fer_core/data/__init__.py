"""FER2013 in: its file formats and image folders, the parsed-data cache, FER+ votes, photos and faces, split checks."""

from fer_core.data.dataset import find_data, load_fer2013, load_optional_dataset
from fer_core.data.formats import HOW_TO_GET
from fer_core.data.splits import Dataset, Split

__all__ = ["HOW_TO_GET", "Dataset", "Split", "find_data", "load_fer2013", "load_optional_dataset"]
