"""Mesh and point readers, area-weighted sampling, the datasets, and bad input (skipped, counted, or refused)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from jepakit_pointjepa.config import FurnitureConfig, PointFolderConfig, ShapesConfig
from jepakit_pointjepa.data import augment_cloud, d2_features, furniture, point_folder, shapes
from jepakit_pointjepa.furniture import CLASSES, FURNITURE_DIR, label_of
from jepakit_pointjepa.meshes import MeshError, parse_obj, parse_ply, read_cloud, sample_surface

from jepakit import JepakitError

QUAD_OBJ = b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1 4/1\nf -4 -3 -1\n"


def test_obj_polygons_are_fan_triangulated_and_negative_indices_resolved():
    v, f = parse_obj(QUAD_OBJ)
    assert v.shape == (4, 3) and f.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 3]]


def test_ply_ascii_and_binary_give_the_same_mesh():
    head = "ply\nformat {}\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
    head += "element face 1\nproperty list uchar int vertex_indices\nend_header\n"
    ascii_ = (head.format("ascii 1.0") + "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n").encode()
    binary = head.format("binary_little_endian 1.0").encode()
    binary += struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0) + struct.pack("<B3i", 3, 0, 1, 2)
    for data in (ascii_, binary):
        v, f = parse_ply(data)
        assert v.tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0]] and f.tolist() == [[0, 1, 2]]


def test_sampling_is_area_weighted():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [10, 0, 0], [13, 0, 0], [10, 3, 0]], dtype=float)
    f = np.array([[0, 1, 2], [3, 4, 5]])  # areas 0.5 and 4.5
    pts = sample_surface(v, f, 20_000, np.random.default_rng(0))
    share = float((pts[:, 0] >= 10).mean())
    assert abs(share - 0.9) < 0.01 and abs(float(pts[:, 2].max())) < 1e-12


@pytest.mark.parametrize(
    ("verts", "why"),
    [(np.zeros((0, 3)), "no vertices"), (np.array([[0, 0, 0], [np.nan, 0, 0], [0, 1, 0]]), "NaN")],
)
def test_empty_meshes_and_nan_coordinates_are_refused(verts, why):
    with pytest.raises(MeshError, match=why):
        sample_surface(
            verts, np.array([[0, 1, 2]]) if len(verts) else np.zeros((0, 3), int), 10, np.random.default_rng(0)
        )


def test_labels_follow_model_names_like_modelnet():
    assert CLASSES[label_of("Desk lamp", "Office")] == "lamp"
    assert CLASSES[label_of("Glass door cabinet", "Kitchen")] == "cabinet"
    assert CLASSES[label_of("Coffee table", "Living room")] == "table"
    assert CLASSES[label_of("Sitting girl", "Characters")] == "person"
    assert label_of("Table fan", "Office") == -1 and label_of("Teapot", "Kitchen") == -1


def test_shapes_are_unit_sphere_clouds_with_balanced_labels():
    s = shapes(ShapesConfig(classes=4, train_per_class=3, test_per_class=2, points=64, stored=64))
    assert s.input_shape == (64, 3) and s.num_classes == 4 and len(s.train) == 12 and len(s.test) == 8
    x, y = s.train[0]
    assert x.shape == (64, 3) and y == 0 and float(x.norm(dim=-1).max()) == pytest.approx(1.0, abs=1e-5)
    assert d2_features(s.train.x).shape == (12, 64 + 3)


def test_augmentation_is_a_function_of_the_key_and_keeps_the_up_axis():
    s = shapes(ShapesConfig(classes=2, train_per_class=2, test_per_class=1, points=64, stored=128))
    a, _ = s.pretrain.sample(0, 7)
    b, _ = s.pretrain.sample(0, 7)
    c, _ = s.pretrain.sample(0, 8)
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == (64, 3)
    cfg = ShapesConfig(scale=[1.0, 1.0], translate=0.0)
    base = torch.from_numpy(np.random.default_rng(0).normal(size=(64, 3))).float()
    out = augment_cloud(base, 64, cfg, 3)  # a rotation about y keeps every point's height and radius
    ref = base - base.mean(0)
    ref = ref / ref.norm(dim=-1).max()
    torch.testing.assert_close(out[:, 1].sort().values, ref[:, 1].sort().values, atol=1e-5, rtol=0)


def write_folder(root: Path) -> None:
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            np.save(root / cls / f"{i}.npy", np.random.default_rng(i).normal(size=(100, 3)))
    (root / "a" / "tri.obj").write_bytes(QUAD_OBJ)
    (root / "b" / "pts.xyz").write_text("\n".join("0.1 0.2 0.3" if i == 0 else f"{i} {i % 3} 1" for i in range(50)))
    (root / "a" / "empty.obj").write_text("# nothing\n")
    (root / "b" / "nan.npy").write_bytes(b"")
    np.save(root / "b" / "nan2.npy", np.full((10, 3), np.nan))
    (root / "b" / "notes.md").write_text("not a cloud")


def test_point_folder_reads_every_format_and_counts_bad_files(tmp_path, caplog):
    write_folder(tmp_path)
    s = point_folder(PointFolderConfig(path=str(tmp_path), points=32, stored=64))
    assert s.class_names == ["a", "b"] and len(s.train) + len(s.test) == 8
    assert len(s.meta["skipped"]) == 4 and "skipped 4 unreadable file(s)" in caplog.text
    assert read_cloud(tmp_path / "a" / "tri.obj", 16, np.random.default_rng(0)).shape == (16, 3)


def test_an_unlabelled_folder_is_pretraining_data_only(tmp_path):
    for i in range(3):
        np.save(tmp_path / f"{i}.npy", np.random.default_rng(i).normal(size=(40, 3)))
    s = point_folder(PointFolderConfig(path=str(tmp_path), points=32, stored=40))
    assert s.train is None and s.test is None and len(s.pretrain) == 3 and int(s.pretrain.y.max()) == -1


def test_a_folder_of_only_bad_files_is_an_error(tmp_path):
    (tmp_path / "empty.obj").write_text("")
    with pytest.raises(JepakitError, match="no readable cloud"):
        point_folder(PointFolderConfig(path=str(tmp_path)))


def test_missing_catalogues_name_the_package(tmp_path):
    with pytest.raises(JepakitError) as err:
        furniture(FurnitureConfig(path=str(tmp_path)))
    assert "sweethome3d-furniture" in err.value.hint


NO_PACKAGE = "Debian package sweethome3d-furniture is not installed"


@pytest.mark.skipif(not (FURNITURE_DIR / "KatorLegaz.sh3f").is_file(), reason=NO_PACKAGE)
def test_one_catalogue_is_read_cached_and_labelled(tmp_path, monkeypatch):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "KatorLegaz.sh3f").symlink_to(FURNITURE_DIR / "KatorLegaz.sh3f")
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))
    s = furniture(FurnitureConfig(path=str(tmp_path / "cat"), points=32, stored=32))
    assert len(s.pretrain) >= 80 and len(s.train) + len(s.test) >= 10 and s.input_shape == (32, 3)
    assert s.meta["models"] == len(s.pretrain) and float(s.train.x.norm(dim=-1).max()) <= 1.0 + 1e-5
    cached = list((tmp_path / "cache" / "pointjepa").glob("furniture-32-*.npz"))
    assert len(cached) == 1
    again = furniture(FurnitureConfig(path=str(tmp_path / "cat"), points=32, stored=32))  # from the cache
    assert torch.equal(again.pretrain.store, s.pretrain.store)


@pytest.mark.skipif(not FURNITURE_DIR.is_dir(), reason=NO_PACKAGE)
def test_the_catalogues_name_about_330_models_of_11_classes():
    """The label rules over every catalogue entry (names only: no mesh is parsed); duplicates are dropped later."""
    from jepakit_pointjepa.furniture import catalogue_entries, catalogues

    entries = [e for cat in catalogues(FURNITURE_DIR) for e in catalogue_entries(cat)]
    labels = np.array([label_of(e.get("name", ""), e.get("category", "")) for e in entries])
    counts = np.bincount(labels[labels >= 0], minlength=len(CLASSES))
    assert len(entries) == 820 and 320 <= int((labels >= 0).sum()) <= 345
    assert counts.min() >= 15 and CLASSES[int(counts.argmax())] == "chair"
