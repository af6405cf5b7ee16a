"""Loading video-caption datasets into hf_vidcap's schema: a video column and a list-of-captions column."""

from __future__ import annotations

import os

from .shapes import ShapesWorldConfig, generate_shapes_dataset, load_shapes_dataset


def _resolve_videos(dataset, video_column: str, video_dir: str):
    def resolve(row):
        video = row[video_column]
        path = video.get("path") if isinstance(video, dict) else video
        if path is not None and not os.path.isabs(path):
            path = os.path.join(video_dir, path)
        row[video_column] = {"path": path, "bytes": video.get("bytes") if isinstance(video, dict) else None}
        return row

    return dataset.map(resolve, desc="resolving video paths")


def load_video_caption_dataset(
    name: str,
    config: str | None = None,
    video_dir: str | None = None,
    video_column: str = "video",
    shapes_dir: str = "data/shapes",
    shapes_config: ShapesWorldConfig | None = None,
    splits: list[str] | None = None,
    data_dir: str | None = None,
    download_videos: bool = False,
):
    """Load a video-caption `DatasetDict`.

    Args:
        name (`str`): ``"shapes"`` (the synthetic world, generated into ``shapes_dir`` on first use), one of
            `CAPTION_DATASETS` (``"msrvtt"``, ``"msvd"``, ... read by `load_caption_dataset`: its Hub repository, or
            its official release in ``data_dir``, videos in ``video_dir``; pass ``splits``), or any
            name `datasets.load_dataset` accepts (Hub repository, local directory, builder) whose rows have a video
            column (a path or `Video(decode=False)`) and a list-of-captions column.
        config (`str`, *optional*): the dataset configuration.
        video_dir (`str`, *optional*): relative video paths are resolved against it. Annotation-only Hub
            repositories (e.g. MSR-VTT's) need it: download the videos yourself and point here.
        video_column (`str`, *optional*, defaults to `"video"`): the column holding videos.
        shapes_dir, shapes_config: where and how to generate the shapes world.
        splits (`list[str]`, *optional*): for `CAPTION_DATASETS`, the splits to load (e.g. ``["train_9k",
            "test_1k"]``).
        data_dir, download_videos: for `CAPTION_DATASETS`, see `load_caption_dataset`.
    """
    if name == "shapes":
        return load_shapes_dataset(generate_shapes_dataset(shapes_dir, shapes_config or ShapesWorldConfig()))
    import datasets

    from .caption_datasets import CAPTION_DATASETS, load_caption_dataset

    if name in CAPTION_DATASETS:
        if not splits:
            raise ValueError(f"pass splits (e.g. the train / eval / test split names) to load {name}.")
        return datasets.DatasetDict(
            {
                split: load_caption_dataset(name, split, data_dir=data_dir, video_dir=video_dir, download_videos=download_videos, source=config)
                for split in dict.fromkeys(splits)
            }
        )

    dataset = datasets.load_dataset(name, config)
    if video_dir is not None:
        dataset = datasets.DatasetDict(
            {split: _resolve_videos(ds, video_column, video_dir) for split, ds in dataset.items()}
        )
    return dataset
