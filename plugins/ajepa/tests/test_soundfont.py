"""The SoundFont reader and the instrument dataset, on a small SoundFont this test writes itself; bad files."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pytest
from jepakit_ajepa.config import SoundFontConfig
from jepakit_ajepa.data import soundfont_instruments
from jepakit_ajepa.soundfont import read_soundfont, recordings, render, stereo_pairs
from jepakit_ajepa.synth import resample

from jepakit.errors import JepakitError

FRONT = {"sample_rate": 8000, "n_mels": 16, "frames": 16, "win_ms": 25.0, "hop_ms": 16.0}


def _chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * math.pi * freq * t) * 32767).astype("<i2")


def write_sf2(path: Path, n_piano: int = 3, n_violin: int = 3) -> dict[str, int]:
    """A General MIDI-shaped SoundFont: piano (program 0) and violin (program 40) instruments, each with mono
    samples (one zone per sample, the last looped), the violin's last sample a stereo pair whose halves are
    linked only by name (link = 0, as in FluidR3_GM.sf2); a drum kit in bank 128 that must be left out.
    Every sample is a sine at its root key's frequency, so a rendered note has a known pitch."""
    pcm, headers = [], []
    pos = 0

    def add(name: str, wave: np.ndarray, rate: int, key: int, kind: int = 1, loop: bool = False) -> int:
        nonlocal pos
        pcm.append(wave.tobytes() + b"\0\0" * 46)  # the spec's 46 zero points after each sample
        ls, le = (pos + 8, pos + len(wave) - 8) if loop else (pos, pos)
        headers.append(struct.pack("<20sIIIIIBbHH", name.encode(), pos, pos + len(wave), ls, le, rate, key, 0, 0, kind))
        pos += len(wave) + 46
        return len(headers) - 1

    def hz(key: int) -> float:
        return 440.0 * 2 ** ((key - 69) / 12)

    piano = [
        add(f"Piano {k}", _tone(hz(60 + k), 22050, 0.4), 22050, 60 + k, loop=k == n_piano - 1) for k in range(n_piano)
    ]
    violin = [add(f"Violin {k}", _tone(hz(67 + k), 32000, 0.3), 32000, 67 + k) for k in range(n_violin - 1)]
    violin += [add(f"Violin St({s})", _tone(hz(70), 44100, 0.3), 44100, 70, kind) for s, kind in (("L", 4), ("R", 2))]
    drum = [add("Kick", _tone(60.0, 22050, 0.2), 22050, 36)]
    headers.append(struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0))

    inst, ibag, igen = [], [], []
    for name, samples in (("Piano", piano), ("Violin", violin), ("Kit", drum)):
        inst.append(struct.pack("<20sH", name.encode(), len(ibag)))
        ibag.append(struct.pack("<HH", len(igen), 0))  # global zone: loop mode 1 for every zone of the instrument
        igen.append(struct.pack("<HH", 54, 1 if name == "Piano" else 0))
        for s in samples:
            ibag.append(struct.pack("<HH", len(igen), 0))
            igen.append(struct.pack("<HBB", 43, 0, 127))  # keyRange 0-127
            igen.append(struct.pack("<HH", 53, s))  # sampleID (last, as the spec orders them)
    inst.append(struct.pack("<20sH", b"EOI", len(ibag)))
    ibag.append(struct.pack("<HH", len(igen), 0))
    igen.append(struct.pack("<HH", 0, 0))

    phdr, pbag, pgen = [], [], []
    for name, bank, program, instrument in (("Grand", 0, 0, 0), ("Fiddle", 0, 40, 1), ("Drums", 128, 0, 2)):
        phdr.append(struct.pack("<20sHHHIII", name.encode(), program, bank, len(pbag), 0, 0, 0))
        pbag.append(struct.pack("<HH", len(pgen), 0))
        pgen.append(struct.pack("<HH", 41, instrument))
    phdr.append(struct.pack("<20sHHHIII", b"EOP", 0, 0, len(pbag), 0, 0, 0))
    pbag.append(struct.pack("<HH", len(pgen), 0))
    pgen.append(struct.pack("<HH", 0, 0))
    mods = struct.pack("<HHhHH", 0, 0, 0, 0, 0)

    pdta = _list(
        b"pdta",
        _chunk(b"phdr", b"".join(phdr)),
        _chunk(b"pbag", b"".join(pbag)),
        _chunk(b"pmod", mods),
        _chunk(b"pgen", b"".join(pgen)),
        _chunk(b"inst", b"".join(inst)),
        _chunk(b"ibag", b"".join(ibag)),
        _chunk(b"imod", mods),
        _chunk(b"igen", b"".join(igen)),
        _chunk(b"shdr", b"".join(headers)),
    )
    body = (
        b"sfbk"
        + _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)))
        + _list(b"sdta", _chunk(b"smpl", b"".join(pcm)))
        + pdta
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return {"piano": n_piano, "violin": n_violin}  # recordings per instrument (the pair counts once)


def test_reader_parses_the_tables_pairs_stereo_halves_and_skips_drum_kits(tmp_path):
    path = tmp_path / "gm.sf2"
    write_sf2(path)
    sf = read_soundfont(path)
    assert [s.name for s in sf.samples][:3] == ["Piano 0", "Piano 1", "Piano 2"] and len(sf.samples) == 8
    assert [(p[0], p[1], p[2]) for p in sf.presets] == [("Grand", 0, 0), ("Fiddle", 0, 40), ("Drums", 128, 0)]
    assert [len(z) for _, z in sf.instruments] == [3, 4, 1]
    assert [z.loop for z in sf.instruments[0][1]] == [True] * 3, "the global zone's loop mode applies to each zone"
    np.testing.assert_allclose(sf.read(0), _tone(440.0 * 2 ** (-9 / 12), 22050, 0.4) / 32768.0, atol=1e-4)
    pairs = stereo_pairs(sf)
    assert pairs[5] == pairs[6] == 5 and pairs[0] == 0
    recs = recordings(sf)
    assert [(r.sample, r.family) for r in recs] == [(0, 0), (1, 0), (2, 0), (3, 5), (4, 5), (5, 5)]


def test_a_rendered_note_has_its_pitch_length_and_loop(tmp_path):
    path = tmp_path / "gm.sf2"
    write_sf2(path)
    sf = read_soundfont(path)
    recs = recordings(sf)
    for semitones in (0.0, 7.0):
        y = render(sf, recs[2], semitones, 8000, 8000, resample)  # a looped 0.4 s sample played for 1 s
        assert y.shape == (8000,) and y.dtype == np.float32 and abs(float(np.abs(y).max()) - 0.5) < 1e-6
        peak = float(np.abs(np.fft.rfft(y)).argmax())  # 1 Hz bins
        expected = 440.0 * 2 ** ((62 + semitones - 69) / 12)
        assert abs(1200 * math.log2(peak / expected)) < 10, (peak, expected)
        assert float(np.abs(y[6000:7000]).max()) > 0.4, "a looped note sustains past its recording"
    unlooped = render(sf, recs[3], 0.0, 8000, 8000, resample)  # violin: 0.3 s, no loop -> silence after
    assert float(np.abs(unlooped[3000:]).max()) < 1e-3


def test_the_dataset_labels_families_and_splits_by_recording(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "gm.sf2"
    write_sf2(path, n_piano=6, n_violin=6)
    cfg = SoundFontConfig(path=str(path), semitones=[-5.0, 0.0], test_fraction=0.34, **FRONT)
    s = soundfont_instruments(cfg)
    assert s.num_classes == 16 and s.class_names[0] == "piano" and s.class_names[5] == "strings"
    assert len(s.train) + len(s.test) == 2 * 12 and s.input_shape == (1, 15 * 128 + 200)
    assert set(s.train.y.tolist()) == set(s.test.y.tolist()) == {0, 5}
    train_x = {bytes(x.numpy().tobytes()) for x, _ in (s.train[i] for i in range(len(s.train)))}
    assert not any(bytes(s.test[i][0].numpy().tobytes()) in train_x for i in range(len(s.test)))
    assert len(list((tmp_path / "cache").glob("soundfont-*.npz"))) == 1
    again = soundfont_instruments(cfg)  # from the cache: the same clips
    assert np.array_equal(again.test.x.numpy(), s.test.x.numpy())


def test_each_recording_is_on_one_side_of_the_split(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", "off")
    path = tmp_path / "gm.sf2"
    write_sf2(path, n_piano=6, n_violin=6)
    s = soundfont_instruments(SoundFontConfig(path=str(path), semitones=[0.0, 3.0, 7.0], test_fraction=0.34, **FRONT))
    assert len(s.train) % 3 == 0 and len(s.test) % 3 == 0, "all three pitches of a recording go together"


def test_a_missing_soundfont_names_the_debian_package(tmp_path):
    with pytest.raises(JepakitError, match="does not exist") as err:
        soundfont_instruments(SoundFontConfig(path=str(tmp_path / "nope.sf2"), **FRONT))
    assert "fluid-soundfont-gm" in err.value.hint


@pytest.mark.parametrize(
    "content", [b"", b"RIFF\x04\x00\x00\x00WAVE", b"RIFF" + struct.pack("<I", 16) + b"sfbkLIST\x04\x00\x00\x00INFO"]
)
def test_a_file_that_is_not_a_soundfont_is_an_error_with_a_hint(tmp_path, monkeypatch, content):
    monkeypatch.setenv("JEPAKIT_CACHE", "off")
    path = tmp_path / "bad.sf2"
    path.write_bytes(content)
    with pytest.raises(JepakitError, match="not a SoundFont 2 file") as err:
        soundfont_instruments(SoundFontConfig(path=str(path), **FRONT))
    assert "sf2" in err.value.hint
