"""Datasets for LatentLab: spec strings, decoding with a disk cache, and shared preprocessing.

    >>> from latentlab.data import load_dataset
    >>> ds = load_dataset("celeba:~/data/celeba", split="train", limit=1000)
    >>> ds.images.shape          # uint8 [N, C, H, W]
    >>> x = ds.batch([0, 1, 2])  # float32 tensor in [0, 1]
"""

from latentlab.data.dataset import ImageDataset, load_dataset
from latentlab.data.preprocess import load_image_file, preprocess_image, preprocessing_for
from latentlab.data.spec import KINDS, SPLITS, DatasetSpec, parse_spec

__all__ = [
    "KINDS",
    "SPLITS",
    "DatasetSpec",
    "ImageDataset",
    "load_dataset",
    "load_image_file",
    "parse_spec",
    "preprocess_image",
    "preprocessing_for",
]
