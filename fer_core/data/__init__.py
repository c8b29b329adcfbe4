"""FER2013 in: its file formats and image folders, the parsed-data cache, FER+ votes, photos and faces, split checks."""

from fer_core.data.dataset import HOW_TO_GET, Dataset, Split, find_data, load_fer2013, load_optional_dataset

__all__ = ["HOW_TO_GET", "Dataset", "Split", "find_data", "load_fer2013", "load_optional_dataset"]
