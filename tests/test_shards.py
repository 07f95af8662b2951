"""Sharded data read by index: core/webdataset and core/hf-dataset (reading, labels, bad data, errors), the
shard-major epoch order, coverage across ranks x workers, and exact mid-epoch resume."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from shard_fixtures import png_bytes, write_parquet, write_shards

from jepakit.builtin.shard_config import HFDatasetConfig, WebDatasetConfig
from jepakit.builtin.shards import ShardSamples, shard_major_order
from jepakit.builtin.wds_data import webdataset
from jepakit.engine.loader import StepBatchSampler, make_loader
from jepakit.errors import JepakitError

pytest.importorskip("webdataset")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))


def _wds(urls: str, **kw) -> object:
    return webdataset(WebDatasetConfig(urls=urls, size=16, **kw))


# ------------------------------------------------------------------------------------------------ webdataset


def test_webdataset_reads_labelled_shards_and_caches_the_index(tmp_path, monkeypatch):
    urls = write_shards(tmp_path / "shards")
    s = _wds(urls, label_key="cls")
    assert s.input_shape == (3, 16, 16) and s.num_classes == 2 and s.class_names == ["0", "1"]
    assert len(s.train) + len(s.test) == 36 and len(s.test) == 8  # 20 % of 36, stratified
    assert s.pretrain is None  # training reads the probes' train split (every sample not tested on)
    x, y = s.train[0]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and -1.0 <= x.min() and x.max() <= 1.0
    assert y in (0, 1) and sorted(np.bincount(s.test.labels)) == [4, 4]
    assert len(list((tmp_path / "cache" / "shard-index").glob("*.npz"))) == 3

    import jepakit.builtin.wds_data as wds

    monkeypatch.setattr(wds, "scan_tar", lambda path: pytest.fail(f"{path} was scanned again"))
    again = _wds(urls, label_key="cls")  # unchanged shards: the cached index
    assert torch.equal(again.test[3][0], s.test[3][0])


def test_webdataset_matches_the_image_folders_pixels(tmp_path):
    from PIL import Image

    from jepakit.library.data import fit_image

    s = _wds(write_shards(tmp_path / "shards", shards=1, per_shard=4, labels=False), channels=1)
    (tmp_path / "one.png").write_bytes(png_bytes(2))
    with Image.open(tmp_path / "one.png") as im:
        want = torch.from_numpy(fit_image(im, 16, 1)) * 2 - 1
    assert torch.equal(s.pretrain[2][0], want)


def test_unlabelled_shards_pretrain_everything_and_have_no_probe_splits(tmp_path):
    s = _wds(write_shards(tmp_path / "shards", labels=False))
    assert s.train is None and s.test is None and s.num_classes == 0
    assert len(s.pretrain) == 36 and set(s.pretrain.labels.tolist()) == {-1}
    assert len(_wds(write_shards(tmp_path / "more", labels=False), max_samples=20).pretrain) == 20


def test_augmented_training_samples_are_a_function_of_the_key(tmp_path):
    s = _wds(write_shards(tmp_path / "shards"), label_key="cls", augment="ijepa", probe_samples=20)
    data = s.pretrain
    assert len(data) == 36 - len(s.test) and len(s.train) == 20 - len(s.test)
    assert torch.equal(data.sample(0, 7)[0], data.sample(0, 7)[0])
    assert not torch.equal(data.sample(0, 7)[0], data.sample(0, 8)[0])
    clean = data.decoder(data.reader.read(int(data.rows[0])), None)
    assert torch.equal(data[0][0], clean) and not torch.equal(data.sample(0, 7)[0], clean)  # dataset[i]: clean


def test_damaged_shards_and_samples_are_skipped_and_counted(tmp_path, caplog):
    from webdataset import TarWriter

    root = tmp_path / "shards"
    urls = write_shards(root, shards=2)
    whole = (root / "train-000001.tar").read_bytes()
    (root / "train-000001.tar").write_bytes(whole[: len(whole) // 2])  # truncated mid-shard
    with TarWriter(str(root / "train-000002.tar")) as w:  # a sample without an image, one with a broken image
        w.write({"__key__": "nopic", "cls": b"0"})
        w.write({"__key__": "broken", "png": b"\x89PNG garbage", "cls": b"1"})
        w.write({"__key__": "fine", "png": png_bytes(99), "cls": b"1"})
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        s = _wds(urls.replace("000001}", "000002}"), label_key="cls", test_fraction=0.25)
    assert "1 damaged shard(s)" in caplog.text and "train-000001.tar" in caplog.text
    assert "skipped 1 sample(s) without a png" in caplog.text
    n = len(s.train) + len(s.test)
    assert 12 + 2 < n < 12 + 12 + 2  # shard 0 whole, part of shard 1, two samples of shard 2
    view = next(v for v in (s.train, s.test) if any(v.reader.name(int(r)).endswith(":broken") for r in v.rows))
    broken = next(i for i, r in enumerate(view.rows) if view.reader.name(int(r)).endswith(":broken"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        x, _ = view[broken]  # replaced by the next sample of its split, and counted
    assert x.shape == (3, 16, 16) and "could not decode" in caplog.text and ":broken" in caplog.text


@pytest.mark.parametrize("case", ["empty", "missing", "gap", "compressed"])
def test_missing_or_unusable_shards_are_errors_naming_the_path(tmp_path, case):
    import gzip

    root = tmp_path / "shards"
    urls = write_shards(root, shards=2)
    if case == "empty":
        urls = ""
    elif case == "missing":
        urls = str(tmp_path / "nowhere" / "train-{000000..000003}.tar")
    elif case == "gap":
        (root / "train-000001.tar").unlink()
    else:
        (root / "train-000001.tar").write_bytes(gzip.compress((root / "train-000000.tar").read_bytes()))
    with pytest.raises(JepakitError) as err:
        _wds(urls)
    assert err.value.hint
    if case in ("gap", "compressed"):
        assert "train-000001.tar" in str(err.value)
    if case == "missing":
        assert "nowhere" in str(err.value)


def _wav(seconds: float, rate: int, freq: float = 440.0) -> bytes:
    import io

    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, np.stack([np.sin(2 * np.pi * freq * t)] * 2, axis=1).astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def test_audio_members_and_columns_become_mono_clips(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from webdataset import TarWriter

    with TarWriter(str(tmp_path / "audio-000000.tar")) as w:
        for i in range(8):
            w.write({"__key__": f"clip{i}", "wav": _wav(0.25 + 0.1 * i, 8000), "cls": str(i % 2).encode()})
    s = _wds(str(tmp_path / "audio-000000.tar"), audio_key="wav", label_key="cls", sample_rate=16000, clip_samples=6000)
    assert s.modality == "audio" and s.input_shape == (1, 6000) and s.meta["sample_rate"] == 16000
    x, _ = s.train[0]
    assert x.shape == (1, 6000) and x.abs().max() <= 1.0 + 1e-6
    short = [s.test[i][0] for i in range(len(s.test))] + [s.train[i][0] for i in range(len(s.train))]
    assert any(float(c[0, 5000:].abs().max()) == 0.0 for c in short)  # 0.25 s at 16 kHz = 4000 samples, padded
    pq.write_table(
        pa.Table.from_pylist([{"audio": {"bytes": _wav(0.5, 16000), "path": None}}] * 4), tmp_path / "clips.parquet"
    )
    hf = _hf(tmp_path / "clips.parquet", tmp_path, audio_column="audio", clip_samples=4000, streaming=True)
    assert hf.pretrain[0][0].shape == (1, 4000)


# ------------------------------------------------------------------------------------------- order and resume


def test_epoch_order_is_shard_major_and_a_function_of_seed_and_epoch():
    shard = np.repeat(np.arange(10), 7)  # 10 shards x 7 samples
    order = shard_major_order(shard, seed=3, epoch=0, window=2)
    assert sorted(order.tolist()) == list(range(70))
    for w in range(0, 70, 14):  # each window of 2 shards holds 14 consecutive positions
        assert len(set(shard[order[w : w + 14].numpy()])) == 2
    assert torch.equal(order, shard_major_order(shard, seed=3, epoch=0, window=2))
    assert not torch.equal(order, shard_major_order(shard, seed=3, epoch=1, window=2))
    assert not torch.equal(order, shard_major_order(shard, seed=4, epoch=0, window=2))
    uniform = shard_major_order(shard, seed=3, epoch=0, window=0)
    assert sorted(uniform.tolist()) == list(range(70))


class _Ids:
    """A reader whose value is the row id; the decoder returns the DataLoader worker that decoded it."""

    def read(self, row: int) -> int:
        return row

    def name(self, row: int) -> str:
        return f"row {row}"


def _worker(value: int, key: int | None) -> torch.Tensor:
    info = torch.utils.data.get_worker_info()
    return torch.tensor([-1 if info is None else info.id])


def test_ranks_and_workers_read_every_sample_of_an_epoch_exactly_once():
    n, batch, world = 60, 8, 2
    ds = ShardSamples(_Ids(), np.arange(n), np.repeat(np.arange(6), 10), np.arange(n), _worker, window=2, source="test")
    per_epoch = n // batch
    seen: dict[int, tuple[int, int]] = {}
    for rank in range(world):
        loader = make_loader(
            ds, None, batch_size=batch, seed=5, start=0, total=per_epoch, workers=2, rank=rank, world=world
        )
        for b in loader:
            for sample, worker in zip(b["y"].tolist(), b["x"][:, 0].tolist(), strict=True):
                assert sample not in seen, f"sample {sample} read twice"
                seen[sample] = (rank, worker)
    order = ds.epoch_order(5, 0)
    assert sorted(seen) == sorted(order[: per_epoch * batch].tolist())  # complete (drop-last)
    assert {r for r, _ in seen.values()} == {0, 1} and {w for _, w in seen.values()} == {0, 1}


def test_resume_mid_epoch_continues_the_uninterrupted_order(tmp_path):
    s = _wds(write_shards(tmp_path / "shards", shards=4, per_shard=9), label_key="cls", window=2)
    data = s.pretrain_set
    full = list(StepBatchSampler(len(data), 5, 11, 0, 12, order=data.epoch_order))
    for k in (3, 5, 8):  # mid-epoch, at the epoch boundary (5 steps of 5 from 28), in epoch 1
        assert list(StepBatchSampler(len(data), 5, 11, k, 12, order=data.epoch_order)) == full[k:]
    epoch0 = [j for batch in full[:5] for _, j in batch]
    assert len(set(epoch0)) == 25  # no sample twice within the epoch


# ------------------------------------------------------------------------------------------------ hf-dataset


@pytest.fixture
def parquet_root(tmp_path):
    return write_parquet(tmp_path / "pq", bad_rows=(5,))


def _hf(path, tmp_path, **kw):
    from jepakit.builtin.hf_data import hf_dataset

    return hf_dataset(HFDatasetConfig(path=str(path), size=16, cache_dir=str(tmp_path / "hf-cache"), **kw))


def test_hf_parquet_streaming_and_cached_read_the_same_samples(parquet_root, tmp_path, caplog):
    streamed = _hf(parquet_root, tmp_path, label_column="label", streaming=True)
    cached = _hf(parquet_root, tmp_path, label_column="label")
    assert streamed.num_classes == cached.num_classes == 2 and streamed.input_shape == (3, 16, 16)
    assert np.array_equal(streamed.test.rows, cached.test.rows)
    assert len(set(streamed.train.shard.tolist())) == 6  # 2 files x 3 row groups of 6 rows are the shards
    for i in range(len(streamed.test)):
        assert torch.equal(streamed.test[i][0], cached.test[i][0])
    pool = streamed.pretrain_set
    bad = int(np.flatnonzero(pool.rows == 5)[0]) if 5 in pool.rows else None
    if bad is not None:
        with caplog.at_level(logging.WARNING, logger="jepakit"):
            x, _ = pool[bad]
        assert x.shape == (3, 16, 16) and "could not decode" in caplog.text and "row 5 of row group 0" in caplog.text


@pytest.mark.parametrize("store", ["webdataset", "parquet"])
def test_forked_workers_read_the_same_batches_as_the_main_process(parquet_root, tmp_path, store):
    if store == "webdataset":
        data = _wds(write_shards(tmp_path / "shards"), augment="ijepa").pretrain
    else:
        data = _hf(parquet_root, tmp_path, streaming=True, augment="ijepa").pretrain
    data[0]  # the main process opens its files first: the workers must not share them

    def batches(workers: int) -> list[torch.Tensor]:
        return [b["x"] for b in make_loader(data, None, batch_size=6, seed=2, start=0, total=8, workers=workers)]

    for a, b in zip(batches(0), batches(2), strict=True):
        assert torch.equal(a, b)


def test_hf_unlabelled_arrow_and_imagefolder(parquet_root, tmp_path):
    import datasets
    from shard_fixtures import write_image_folder

    unlabelled = _hf(parquet_root, tmp_path, streaming=True, max_samples=10)
    assert unlabelled.train is None and len(unlabelled.pretrain) == 10
    ds = datasets.load_dataset(
        "parquet",
        data_files=str(parquet_root / "data" / "*.parquet"),
        split="train",
        cache_dir=str(tmp_path / "hf-cache"),
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    arrow = _hf(tmp_path / "saved", tmp_path, label_column="label")
    assert arrow.meta["format"] == "arrow" and len(arrow.train) + len(arrow.test) == 36
    folder = _hf(write_image_folder(tmp_path / "images", n=12), tmp_path, label_column="label")
    assert folder.meta["format"] == "imagefolder" and folder.class_names == ["horizontal", "vertical"]
    assert folder.train[0][0].shape == (3, 16, 16)


@pytest.mark.parametrize("case", ["hub", "missing", "empty", "split", "column"])
def test_hf_dataset_errors_say_what_to_do(parquet_root, tmp_path, case):
    kw = {
        "hub": {"path": "someone/imagenet-1k"},
        "missing": {"path": str(tmp_path / "nope")},
        "empty": {"path": ""},
        "split": {"path": str(parquet_root), "split": "validation"},
        "column": {"path": str(parquet_root), "label_column": "class"},
    }[case]
    path = kw.pop("path")
    with pytest.raises(JepakitError) as err:
        _hf(path, tmp_path, **kw)
    assert err.value.hint
    if case == "hub":
        assert "never downloads" in str(err.value) and "huggingface-cli download" in err.value.hint


# ------------------------------------------------------------------------------------------------ end to end


TINY = [
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "optim.batch_size=8",
    "optim.steps=3",
]


@pytest.mark.slow
@pytest.mark.parametrize("store", ["webdataset", "parquet"])
def test_three_training_steps_on_a_store(tmp_path, store):
    from jepakit.testing.runs import train_tiny

    if store == "webdataset":
        data = [
            'data.use="core/webdataset"',
            f'data.urls="{write_shards(tmp_path / "shards")}"',
            'data.label_key="cls"',
        ]
    else:
        data = [
            'data.use="core/hf-dataset"',
            f'data.path="{write_parquet(tmp_path / "pq")}"',
            'data.label_column="label"',
            "data.streaming=true",
        ]
    summary = train_tiny("ijepa/ijepa-tiny", [*data, "data.size=16", "data.channels=1", *TINY], tmp_path / "run")
    assert summary["eval"]["dataset"] and (tmp_path / "run" / "eval.json").is_file()


@pytest.mark.slow
def test_an_interrupted_run_on_shards_resumes_with_the_same_losses(tmp_path):
    import os
    import signal

    from jepakit.engine.runs import RunDir
    from jepakit.engine.train import train
    from jepakit.errors import Interrupted
    from jepakit.framework.compose import resolve_run
    from jepakit.testing.contracts import isolated_state

    urls = write_shards(tmp_path / "shards", shards=4, per_shard=10, labels=False)
    sets = [
        'data.use="core/webdataset"',
        f'data.urls="{urls}"',
        "data.size=16",
        "data.channels=1",
        "data.window=2",
        *TINY,
        "optim.steps=8",
        "run.workers=2",
        "run.threads=1",
        "run.ckpt_every=2",
        "run.log_every=1",
        "run.monitor_every=4",
    ]

    def run(out: Path, **kw) -> None:
        train(
            resolve_run({"variant": "ijepa/ijepa-tiny"}, isolated_state(), [*sets, f'run.out="{out}"']),
            do_eval=False,
            **kw,
        )

    def stop_at_3(done, total, metrics):
        if done == 3:
            os.kill(os.getpid(), signal.SIGINT)

    run(tmp_path / "full")
    with pytest.raises(Interrupted):
        run(tmp_path / "cut", progress=stop_at_3)
    run(tmp_path / "cut", resume=True)
    losses = [[(r["step"], r["loss"]) for r in RunDir(tmp_path / d).read_metrics()] for d in ("full", "cut")]
    assert losses[0] == losses[1] and len(losses[0]) == 8
