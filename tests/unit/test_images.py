"""retrain.py's hash split and the image-folder listing."""

import random

import pytest

from harness_jobs import data, images


def test_split_follows_the_percentages_and_ignores_the_folder():
    names = [f"/photos/class_{i % 5}/IMG_{i:05d}.jpg" for i in range(20000)]
    sets = [images.which_set(name, 10, 20) for name in names]
    assert abs(sets.count("validation") / len(sets) - 0.10) < 0.01
    assert abs(sets.count("testing") / len(sets) - 0.20) < 0.01
    assert images.which_set("/a/x/IMG_00001.jpg", 10, 20) == images.which_set("/b/y/IMG_00001.jpg", 10, 20)


def test_nohash_suffix_keeps_near_duplicates_together():
    for stem in (f"photo{random.Random(i).randint(0, 10**9)}" for i in range(200)):
        assert images.which_set(f"{stem}_nohash_1.jpg", 30, 30) == images.which_set(f"{stem}_nohash_7.jpg", 30, 30)


def test_listing_sorts_classes_and_files_and_refuses_a_single_class(tmp_path):
    for name in ("roses", "daisy"):
        (tmp_path / name).mkdir()
        for file in ("b.jpg", "a.JPG", "notes.txt"):
            (tmp_path / name / file).write_bytes(b"")
    classes, items = images.list_images(str(tmp_path))
    assert classes == ["daisy", "roses"]
    assert [p.rsplit("/", 2)[1:] for p, _ in items] == [["daisy", "a.JPG"], ["daisy", "b.jpg"],
                                                        ["roses", "a.JPG"], ["roses", "b.jpg"]]
    assert [label for _, label in items] == [0, 0, 1, 1]
    for file in ("a.JPG", "b.jpg", "notes.txt"):
        (tmp_path / "roses" / file).unlink()
    (tmp_path / "roses").rmdir()
    with pytest.raises(data.DatasetUnavailable, match="at least two class"):
        images.list_images(str(tmp_path))
