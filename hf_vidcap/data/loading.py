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
):
    """Load a video-caption `DatasetDict`.

    Args:
        name (`str`): ``"shapes"`` (the synthetic world, generated into ``shapes_dir`` on first use), or any
            name `datasets.load_dataset` accepts (Hub repository, local directory, builder) whose rows have a video
            column (a path or `Video(decode=False)`) and a list-of-captions column.
        config (`str`, *optional*): the dataset configuration.
        video_dir (`str`, *optional*): relative video paths are resolved against it. Annotation-only Hub
            repositories (e.g. MSR-VTT's) need it: download the videos yourself and point here.
        video_column (`str`, *optional*, defaults to `"video"`): the column holding videos.
        shapes_dir, shapes_config: where and how to generate the shapes world.
    """
    if name == "shapes":
        return load_shapes_dataset(generate_shapes_dataset(shapes_dir, shapes_config or ShapesWorldConfig()))
    import datasets

    dataset = datasets.load_dataset(name, config)
    if video_dir is not None:
        dataset = datasets.DatasetDict(
            {split: _resolve_videos(ds, video_column, video_dir) for split, ds in dataset.items()}
        )
    return dataset
