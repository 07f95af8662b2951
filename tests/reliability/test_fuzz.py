"""Property-based bad input (hypothesis): mutated run files and plugins.toml always end in exit 0 or 2 with
`Error:`, never a traceback; masker settings across grids and scales give valid masks or a config error, never
a hang; random bytes and truncated files in data folders are skipped and counted, or named in a clear error."""

from __future__ import annotations

import logging
import math
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.loader import sample_masks
from jepakit.errors import JepakitError
from jepakit.framework.compose import Part, build_part
from jepakit.framework.config import build_dataclass
from jepakit.testing.contracts import isolated_state

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
VALUES = [
    '"x"',
    "-1",
    "0",
    "1e309",
    "nan",
    '[1, "a"]',
    "{a = 1}",
    "true",
    '""',
    '"core/nope"',
    '"ijepa/multiblock"',
    "99999999999999999999",
    "[]",
    "0.5",
    '"../../etc/passwd"',
    '"$(rm -rf ~)"',
    "[[1]]",
    "-0.0",
]
LINES = [
    "[bogus]",
    "x = 1",
    "[[masker]]",
    "variant = 3",
    "[masker",
    "= 1",
    "a.b.c = 2",
    '[loss.extra]\nuse = "x"',
    "\x00\x01",
    "[optim]\nsteps = -5",
    "[data]\nuse = 1",
    '\ufeffvariant = "ijepa/ijepa-tiny"',
]


@contextmanager
def time_limit(seconds: int):
    def fail(*_):
        raise TimeoutError(f"took more than {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _mutate(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        op = data.draw(st.sampled_from(["delete", "value", "insert", "bytes"]), label="op")
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)), label="line")
        if op == "delete" and lines:
            del lines[i]
        elif op == "value" and lines and "=" in lines[i]:
            lines[i] = lines[i].split("=")[0] + "= " + data.draw(st.sampled_from(VALUES), label="value")
        elif op == "insert":
            lines.insert(i, data.draw(st.sampled_from(LINES), label="line text"))
        else:
            lines.insert(i, data.draw(st.text(max_size=20), label="noise"))
    return "\n".join(lines) + "\n"


def _assert_clean(result, figures, kind: str) -> None:
    out = result.output
    assert result.exit_code in (0, 2), f"exit {result.exit_code}:\n{out[-1500:]}"
    assert "Traceback" not in out and "internal error" not in out, out[-1500:]
    if result.exit_code == 2:
        assert "Error:" in out and "Hint:" in out
    figures[f"bad input: {kind} -> exit 0"] += result.exit_code == 0
    figures[f"bad input: {kind} -> exit 2 with Error/Hint"] += result.exit_code == 2


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("base") / "run.toml"
    result = CliRunner().invoke(app, ["new", "run", "--from", "ijepa/ijepa-tiny", "-o", str(path)])
    assert result.exit_code == 0
    return path.read_text()


@FUZZ
@given(data=st.data())
def test_mutated_run_files_exit_0_or_2(base_run, tmp_path_factory, figures, data):
    path = tmp_path_factory.mktemp("fuzz") / "run.toml"
    path.write_bytes(_mutate(base_run, data).encode("utf-8", "surrogatepass"))
    (path.parent / "plugins.toml").write_text("")
    result = CliRunner().invoke(app, ["--plugins-toml", str(path.parent / "plugins.toml"), "validate", str(path)])
    _assert_clean(result, figures, "mutated run files")


@FUZZ
@given(data=st.data())
def test_mutated_plugins_toml_exit_0_or_2(tmp_path_factory, figures, data):
    path = tmp_path_factory.mktemp("fuzz") / "plugins.toml"
    path.write_bytes(_mutate((ROOT / "plugins.toml").read_text(), data).encode("utf-8", "surrogatepass"))
    result = CliRunner().invoke(app, ["--plugins-toml", str(path), "list", "variants", "--json"])
    _assert_clean(result, figures, "mutated plugins.toml")


B = 4  # rows per fuzzed batch
#: Fewest generated settings (of FUZZ's 60) that must build a masker, so a fuzzer that only ever hits config
#: errors fails instead of passing empty. Runs here built 16-21 (multiblock), 40-42 (tube), 33 (curriculum).
MIN_VALID = 10


def _check_masks(ms, n: int, num_targets: int, min_keep: int, disjoint: bool) -> bool:
    """The MaskSet contract on one batch: shapes (B rows, equal lengths, `num_targets` targets), long indices in
    [0, n), sorted and unique per row, at least `min_keep` context tokens, and, where the masker promises it, no
    context token inside a target. Returns whether every row's context missed every target."""
    c, t = ms.context, ms.targets
    assert c.dtype == t.dtype == torch.long and c.dim() == 2 and t.dim() == 3
    assert c.shape[0] == t.shape[0] == B and t.shape[1] == num_targets and c.shape[1] >= max(min_keep, 1)
    assert t.shape[2] >= 1
    assert int(c.min()) >= 0 and int(c.max()) < n and int(t.min()) >= 0 and int(t.max()) < n
    for idx in (c, t):
        assert bool((idx[..., 1:] > idx[..., :-1]).all()), "indices sorted and unique per row"
    apart = all(not set(row) & set(tgt) for row, tgt in zip(c.tolist(), t.flatten(1).tolist(), strict=True))
    assert apart or not disjoint, "a context token lies inside a target"
    return apart


def _fuzz_masker(name: str, settings_: dict, grid: tuple[int, ...], figures, expect: dict) -> bool:
    """Build `name` from `settings_`: a config error (JepakitError at build) is fine; a masker that builds must
    sample valid masks (`expect`: num_targets, min_keep, disjoint) for three seeds and steps. Returns whether
    it built. SIGALRM only turns a hang into a failure; the maskers' bounded work is tested by counting draws."""
    spec = isolated_state().registry.get("maskers", name)
    try:
        cfg = build_dataclass(spec.config, settings_, "masker")
        with time_limit(60):
            masker = build_part(Part(spec, cfg, "masker"), grid=grid, meta={})
    except JepakitError:
        figures[f"masker settings: {name} -> config error"] += 1
        return False
    with time_limit(60):
        for seed in range(3):
            ms = sample_masks(masker, B, torch.Generator().manual_seed(seed), step=seed * 50, total_steps=100)
            apart = _check_masks(ms, math.prod(grid), **expect)
            figures[f"masker settings: {name} -> disjoint batches"] += apart
    figures[f"masker settings: {name} -> valid masks"] += 1
    return True


unit = st.floats(0.01, 1.0)


def test_multiblock_masker_gives_valid_masks_or_a_config_error(figures):
    built = []

    @FUZZ
    @given(
        h=st.integers(1, 16),
        w=st.integers(1, 16),
        m=st.integers(1, 8),
        ts=st.tuples(unit, unit),
        ta=st.tuples(st.floats(0.2, 4.0), st.floats(0.2, 4.0)),
        cs=st.tuples(unit, unit),
        keep=st.integers(0, 40),
        overlap=st.booleans(),
    )
    def case(h, w, m, ts, ta, cs, keep, overlap):
        # disjoint is not promised even without overlap: like the official collator, a context that keeps too
        # few tokens gives up target cut-outs (plugins/ijepa/tests/test_masks.py tests that order)
        built.append(
            _fuzz_masker(
                "ijepa/multiblock",
                {
                    "num_targets": m,
                    "target_scale": sorted(ts),
                    "target_aspect": sorted(ta),
                    "context_scale": sorted(cs),
                    "min_keep": keep,
                    "allow_overlap": overlap,
                },
                (h, w),
                figures,
                {"num_targets": m, "min_keep": keep, "disjoint": False},
            )
        )

    case()
    assert sum(built) >= MIN_VALID, f"only {sum(built)} of {len(built)} settings built a masker"


def test_tube_masker_gives_valid_masks_or_a_config_error(figures):
    built = []

    @FUZZ
    @given(
        t=st.integers(1, 8),
        h=st.integers(1, 12),
        w=st.integers(1, 12),
        gen=st.sampled_from(["short", "long", "mixed"]),
        blocks=st.integers(1, 10),
        scale=st.tuples(unit, unit),
        tscale=st.tuples(unit, unit),
        keep=st.integers(0, 60),
    )
    def case(t, h, w, gen, blocks, scale, tscale, keep):
        built.append(
            _fuzz_masker(
                "vjepa/tube",
                {
                    "generator": gen,
                    "short_blocks": blocks,
                    "short_scale": sorted(scale),
                    "long_blocks": max(1, blocks // 4),
                    "temporal_scale": sorted(tscale),
                    "min_keep": keep,
                },
                (t, h, w),
                figures,
                {"num_targets": 1, "min_keep": keep, "disjoint": True},
            )
        )  # target = union, context = rest

    case()
    assert sum(built) >= MIN_VALID, f"only {sum(built)} of {len(built)} settings built a masker"


def test_curriculum_masker_gives_valid_masks_or_a_config_error(figures):
    built = []

    @FUZZ
    @given(
        tf=st.integers(1, 16),
        f=st.integers(1, 16),
        m=st.integers(1, 6),
        ts=st.tuples(unit, unit),
        cs=st.tuples(unit, unit),
        cur=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
        tp=st.floats(0.0, 1.0),
        keep=st.integers(1, 40),  # 0 is always a config error (tested in the unit tests): spend the examples elsewhere
    )
    def case(tf, f, m, ts, cs, cur, tp, keep):
        built.append(
            _fuzz_masker(
                "ajepa/curriculum",
                {
                    "num_targets": m,
                    "target_scale": sorted(ts),
                    "context_scale": sorted(cs),
                    "curriculum": sorted(cur),
                    "time_prob": tp,
                    "min_keep": keep,
                },
                (tf, f),
                figures,
                {"num_targets": m, "min_keep": keep, "disjoint": True},
            )
        )

    case()
    assert sum(built) >= MIN_VALID, f"only {sum(built)} of {len(built)} settings built a masker"


def _good_png(path: Path, shade: int) -> None:
    from PIL import Image

    Image.fromarray(np.full((12, 12, 3), shade, dtype=np.uint8)).save(path)


@FUZZ
@given(junk=st.binary(max_size=300), truncate=st.integers(0, 200))
def test_random_bytes_and_truncated_images_are_skipped_and_counted(tmp_path_factory, figures, junk, truncate):
    from jepakit.builtin.config import ImageFolderConfig
    from jepakit.builtin.data import image_folder

    root = tmp_path_factory.mktemp("imgs")
    for k, cls in enumerate(("a", "b")):
        (root / cls).mkdir()
        for i in range(3):
            _good_png(root / cls / f"{i}.png", 40 + 150 * k + i)
    (root / "a" / "junk.png").write_bytes(junk)
    good = (root / "b" / "0.png").read_bytes()
    (root / "b" / "cut.png").write_bytes(good[:truncate])
    caplog = logging.getLogger("jepakit")
    caplog.disabled = True
    try:
        splits = image_folder(ImageFolderConfig(path=str(root), size=8, test_fraction=0.3))
    finally:
        caplog.disabled = False
    skipped = len(splits.train.skipped)
    assert 6 <= len(splits.train) + len(splits.test) + 0 and skipped <= 2
    assert skipped == 8 - len(splits.train) - len(splits.test)
    figures["bad input: random/truncated PNG -> skipped and counted"] += skipped
    figures["bad input: random/truncated PNG -> still a decodable image"] += 2 - skipped


@FUZZ
@given(junk=st.binary(max_size=400))
def test_random_bytes_as_video_are_skipped_and_counted(tmp_path_factory, figures, junk):
    from jepakit_vjepa.config import VideoFolderConfig
    from jepakit_vjepa.video_folder import video_folder

    root = tmp_path_factory.mktemp("vids")
    for k, cls in enumerate(("a", "b")):
        for i in range(2):
            d = root / cls / f"clip{i}"
            d.mkdir(parents=True)
            for f in range(4):
                _good_png(d / f"{f}.png", 30 + 100 * k + 10 * f)
    (root / "a" / "junk.mp4").write_bytes(junk)
    (root / "b" / "junk.gif").write_bytes(junk)
    logging.getLogger("jepakit").disabled = True
    try:
        splits = video_folder(VideoFolderConfig(path=str(root), frames=4, stride=1, size=8, test_fraction=0.5))
    finally:
        logging.getLogger("jepakit").disabled = False
    assert len(splits.train) + len(splits.test) == 4 and len(splits.train.skipped) == 2
    figures["bad input: random bytes as video -> skipped and counted"] += 2


@FUZZ
@given(junk=st.binary(max_size=400), cut=st.integers(0, 300))
def test_random_bytes_and_truncated_wavs_are_skipped_and_counted(tmp_path_factory, figures, junk, cut):
    import soundfile as sf
    from jepakit_ajepa.config import AudioFolderConfig
    from jepakit_ajepa.data import audio_folder

    root = tmp_path_factory.mktemp("wavs")
    t = np.arange(4000) / 8000.0
    for k, cls in enumerate(("low", "high")):
        (root / cls).mkdir()
        for i in range(3):
            sf.write(root / cls / f"{i}.wav", 0.3 * np.sin(2 * np.pi * (300 + 900 * k + 20 * i) * t), 8000)
    (root / "low" / "junk.wav").write_bytes(junk)
    (root / "high" / "cut.wav").write_bytes((root / "high" / "0.wav").read_bytes()[:cut])  # header cut short
    logging.getLogger("jepakit").disabled = True
    try:
        splits = audio_folder(
            AudioFolderConfig(
                path=str(root), sample_rate=8000, n_mels=16, frames=32, win_ms=25.0, hop_ms=16.0, test_fraction=0.3
            )
        )
    finally:
        logging.getLogger("jepakit").disabled = False
    loaded = len(splits.train) + len(splits.test)
    assert 6 <= loaded <= 8
    figures["bad input: random/truncated WAV -> skipped and counted"] += 8 - loaded
    figures["bad input: random/truncated WAV -> still decodable"] += loaded - 6


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(junk=st.binary(max_size=600), header=st.booleans(), cut=st.integers(0, 2000))
def test_random_bytes_and_truncated_edf_are_skipped_and_counted(tmp_path_factory, figures, junk, header, cut):
    import mne
    from jepakit_sjepa.config import EEGFilesConfig
    from jepakit_sjepa.eeg_files import eeg_files

    root = tmp_path_factory.mktemp("eeg")
    chans = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "O2"]
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        raw = mne.io.RawArray(
            20e-6 * rng.standard_normal((len(chans), 128 * 40)),
            mne.create_info(chans, 128.0, ch_types="eeg"),
            verbose="error",
        )
        onsets = np.arange(1.0, 35.0, 3.0)
        raw.set_annotations(mne.Annotations(onsets, 0.1, ["left" if i % 2 else "right" for i in range(len(onsets))]))
        raw.save(root / f"s{seed}_raw.fif", overwrite=True, verbose="error")
    prefix = b"0       " + b" " * 80 if header else b""  # an EDF-looking start, then garbage
    (root / "junk.edf").write_bytes(prefix + junk)
    (root / "cut_raw.fif").write_bytes((root / "s0_raw.fif").read_bytes()[:cut])
    logging.getLogger("jepakit").disabled = True
    try:
        splits = eeg_files(EEGFilesConfig(path=str(root), window_s=2.0, sfreq=64.0))
    finally:
        logging.getLogger("jepakit").disabled = False
    assert len(splits.train) + len(splits.test) == 2 * 12  # exactly the two good recordings
    figures["bad input: random/truncated EDF and FIF -> skipped and counted"] += 2
