"""A small SoundFont 2 reader and note renderer: enough of the format to play each recorded sample as a note.

A .sf2 file is a RIFF form `sfbk` with three lists: INFO (names), sdta (the `smpl` chunk: every recording as
16-bit PCM) and pdta (the "hydra": nine tables of fixed-size records). Presets (bank, program) own zones that
point at instruments; instruments own zones that point at samples, with generators (key range, root key, loop
mode) that may be set once in a global zone. Each table ends with a terminal record (EOP / EOI / EOS), dropped.
Only what labelling and rendering need is read: no modulators, envelopes or filters (a rendered note is the raw
recording at a pitch, looped as the file says). The spec: SoundFont 2.04, sections 5-8.

General MIDI numbers its 128 programs in 16 families of 8 (program // 8): the label of a recording is the family
of the bank-0 presets that play it (drum kits live in bank 128 and are left out).
"""

from __future__ import annotations

import math
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: General MIDI's 16 instrument families, programs 8k .. 8k + 7.
GM_FAMILIES = (
    "piano",
    "chromatic percussion",
    "organ",
    "guitar",
    "bass",
    "strings",
    "ensemble",
    "brass",
    "reed",
    "pipe",
    "synth lead",
    "synth pad",
    "synth effects",
    "ethnic",
    "percussive",
    "sound effects",
)

# generator operators (SoundFont 2.04, 8.1.2)
GEN_INSTRUMENT, GEN_KEY_RANGE, GEN_SAMPLE_ID, GEN_SAMPLE_MODES, GEN_ROOT_KEY = 41, 43, 53, 54, 58
LINKED_TYPES = (2, 4, 8)  # right, left, linked: one half of a stereo (or linked) recording

_RECORD = {  # pdta sub-chunk -> (struct format, record size)
    "phdr": ("<20sHHHIII", 38),
    "pbag": ("<HH", 4),
    "pgen": ("<HH", 4),
    "inst": ("<20sH", 22),
    "ibag": ("<HH", 4),
    "igen": ("<HH", 4),
    "shdr": ("<20sIIIIIBbHH", 46),
}


class SoundFontError(ValueError):
    """The file is not a SoundFont 2 this reader understands (the dataset turns it into Error: + Hint:)."""


@dataclass(frozen=True)
class Sample:
    """One recording's header: positions are sample points in the smpl chunk, end exclusive."""

    name: str
    start: int
    end: int
    loop_start: int
    loop_end: int
    rate: int
    pitch: int  # MIDI key recorded (originalPitch)
    correction: int  # cents
    link: int
    kind: int


@dataclass(frozen=True)
class Zone:
    """Where an instrument plays a sample: key range, root key (-1 = the sample's own), looped or not."""

    sample: int
    key_lo: int = 0
    key_hi: int = 127
    root_key: int = -1
    loop: bool = False


@dataclass
class SoundFont:
    """The parsed tables of one .sf2 file; `read(i)` gives sample i as float32 in [-1, 1]."""

    path: Path
    samples: list[Sample]
    presets: list[tuple[str, int, int, list[int]]]  # (name, bank, program, instrument indices)
    instruments: list[tuple[str, list[Zone]]]
    smpl_offset: int  # byte offset of the smpl chunk's data in the file
    smpl_points: int
    _pcm: np.ndarray | None = field(default=None, repr=False)

    def read(self, i: int) -> np.ndarray:
        """Sample i's PCM [end - start] as float32 (memory-mapped file, so only that sample is read)."""
        if self._pcm is None:
            self._pcm = np.memmap(self.path, dtype="<i2", mode="r", offset=self.smpl_offset, shape=(self.smpl_points,))
        s = self.samples[i]
        return np.asarray(self._pcm[s.start : s.end], dtype=np.float32) / 32768.0


def _chunks(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    """{chunk id (or LIST type): (data offset, size)} of the RIFF chunks in data[start:end]."""
    out: dict[str, tuple[int, int]] = {}
    pos = start
    while pos + 8 <= end:
        cid, size = data[pos : pos + 4].decode("latin-1"), struct.unpack_from("<I", data, pos + 4)[0]
        if cid == "LIST":
            out[data[pos + 8 : pos + 12].decode("latin-1")] = (pos + 12, size - 4)
        else:
            out[cid] = (pos + 8, size)
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    return out


def _table(data: bytes, where: tuple[int, int], name: str) -> list[tuple]:
    fmt, size = _RECORD[name]
    off, length = where
    if length % size or length < 2 * size:
        raise SoundFontError(f"the {name} table is {length} bytes, not a whole number (>= 2) of {size}-byte records")
    return [struct.unpack_from(fmt, data, off + k * size) for k in range(length // size)]


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def _zone(gens: dict[int, int], defaults: dict[int, int]) -> Zone | None:
    """An instrument zone from its generators over the instrument's global zone; None without a sample."""
    g = {**defaults, **gens}
    if GEN_SAMPLE_ID not in g:
        return None
    kr = g.get(GEN_KEY_RANGE, 127 << 8)
    root = g.get(GEN_ROOT_KEY, 0xFFFF)
    return Zone(g[GEN_SAMPLE_ID], kr & 0xFF, kr >> 8, -1 if root > 127 else root, g.get(GEN_SAMPLE_MODES, 0) & 1 == 1)


def _bag_gens(bags: list[tuple], gens: list[tuple], lo: int, hi: int) -> list[dict[int, int]]:
    """The generator dicts of bags lo .. hi - 1 (each bag's generators run to the next bag's first)."""
    return [{op: amount for op, amount in gens[bags[b][0] : bags[b + 1][0]]} for b in range(lo, hi)]


def read_soundfont(path: str | Path) -> SoundFont:
    """Parse a .sf2 file's headers (the PCM stays on disk). Raises SoundFontError on anything malformed."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise SoundFontError("not a RIFF 'sfbk' file")
        riff_end = 8 + struct.unpack_from("<I", head, 4)[0]
        top: dict[str, tuple[int, int]] = {}
        pos = 12
        while pos + 12 <= riff_end:  # read list headers only: the sdta list is most of the file
            fh.seek(pos)
            h = fh.read(12)
            if len(h) < 8:
                break
            size = struct.unpack_from("<I", h, 4)[0]
            top[h[8:12].decode("latin-1") if h[:4] == b"LIST" else h[:4].decode("latin-1")] = (pos + 12, size - 4)
            pos += 8 + size + (size & 1)
        if "sdta" not in top or "pdta" not in top:
            raise SoundFontError("no sdta or pdta list")
        fh.seek(top["sdta"][0])
        sdta = _chunks(fh.read(min(top["sdta"][1], 64)), 0, min(top["sdta"][1], 64))  # smpl's header comes first
        fh.seek(top["pdta"][0])
        pdta = fh.read(top["pdta"][1])
    if "smpl" not in sdta:
        raise SoundFontError("no smpl chunk in the sdta list")
    smpl_offset, smpl_bytes = top["sdta"][0] + sdta["smpl"][0], sdta["smpl"][1]
    if smpl_offset + smpl_bytes > path.stat().st_size:
        raise SoundFontError("the smpl chunk runs past the end of the file (truncated?)")
    where = _chunks(pdta, 0, len(pdta))
    missing = sorted(set(_RECORD) - set(where))
    if missing:
        raise SoundFontError(f"pdta lacks {', '.join(missing)}")
    t = {name: _table(pdta, where[name], name) for name in _RECORD}
    points = smpl_bytes // 2
    samples = []
    for rec in t["shdr"][:-1]:  # the last is the terminal EOS record
        name, start, end, ls, le, rate, pitch, corr, link, kind = rec
        if not 0 <= start < end <= points or rate <= 0:
            raise SoundFontError(f"sample {_name(name)!r}: points {start}..{end} or rate {rate} out of range")
        samples.append(Sample(_name(name), start, end, ls, le, rate, pitch, corr, link, kind))
    instruments = []
    for k in range(len(t["inst"]) - 1):
        gens = _bag_gens(t["ibag"], t["igen"], t["inst"][k][1], t["inst"][k + 1][1])
        defaults = gens[0] if gens and GEN_SAMPLE_ID not in gens[0] else {}
        zones = [z for z in (_zone(g, defaults) for g in gens) if z is not None and z.sample < len(samples)]
        instruments.append((_name(t["inst"][k][0]), zones))
    presets = []
    for k in range(len(t["phdr"]) - 1):
        name, program, bank, bag = t["phdr"][k][:4]
        gens = _bag_gens(t["pbag"], t["pgen"], bag, t["phdr"][k + 1][3])
        insts = [g[GEN_INSTRUMENT] for g in gens if g.get(GEN_INSTRUMENT, len(instruments)) < len(instruments)]
        presets.append((_name(name), bank, program, insts))
    return SoundFont(path, samples, presets, instruments, smpl_offset, points)


@dataclass(frozen=True)
class Recording:
    """One recording to render: its sample, how a GM preset plays it, its family label."""

    sample: int
    zone: Zone
    family: int
    program: int


def recordings(sf: SoundFont) -> list[Recording]:
    """Each recording played by a bank-0 preset, once, labelled with the most common GM family among its presets.

    A stereo pair (left + right halves, linked by `link`) is one recording, represented by its first half: the
    two halves must never fall on different sides of a train/test split.
    """
    uses: dict[int, list[tuple[int, Zone]]] = {}
    pair = stereo_pairs(sf)
    for _, bank, program, insts in sf.presets:
        if bank >= 128 or program > 127:  # bank 128: drum kits; 1-127: GM variation banks
            continue
        for inst in insts:
            for zone in sf.instruments[inst][1]:
                s = zone.sample
                s = pair[s]  # the pair's first half stands for it
                uses.setdefault(s, []).append((program, zone if zone.sample == s else _relink(zone, s)))
    out = []
    for s in sorted(uses):
        families = Counter(program // 8 for program, _ in uses[s])
        family = min(families, key=lambda f: (-families[f], f))
        program, zone = next((p, z) for p, z in uses[s] if p // 8 == family)
        out.append(Recording(s, zone, family, program))
    return out


def stereo_pairs(sf: SoundFont) -> dict[int, int]:
    """{sample: the first sample of its stereo pair} for every left/right half (mono samples map to themselves).

    The spec links the halves by `link`; files in the wild leave it 0 (FluidR3_GM.sf2 does for all 970 halves),
    so halves are also paired by name without the L/R mark, length and rate ("Alto D4(L)" + "Alto D4(R)").
    """
    first: dict[int, int] = {i: i for i in range(len(sf.samples))}
    by_key: dict[tuple[str, int, int], list[int]] = {}
    for i, smp in enumerate(sf.samples):
        if smp.kind not in LINKED_TYPES:
            continue
        link = smp.link
        if 0 <= link < len(sf.samples) and link != i and sf.samples[link].link == i:
            first[i] = min(i, link)
        else:
            by_key.setdefault(
                (re.sub(r"[\s_-]*\(?[LRlr]\)?$", "", smp.name), smp.end - smp.start, smp.rate), []
            ).append(i)
    for members in by_key.values():
        for i in members:
            first[i] = min(members)
    return first


def _relink(zone: Zone, sample: int) -> Zone:
    return Zone(sample, zone.key_lo, zone.key_hi, zone.root_key, zone.loop)


def render(sf: SoundFont, rec: Recording, semitones: float, sample_rate: int, length: int, resample_fn) -> np.ndarray:
    """The recording played `semitones` above its root key: float32 [length] at sample_rate, peak 0.5.

    Pitch: playing back at ratio r = 2^((semitones*100 + correction)/1200) is resampling from rate * r to
    sample_rate; r * rate is rounded to 100 Hz so the polyphase filter stays short (pitch error < 4 cents at
    22 kHz). A looped zone repeats its loop to fill the clip; an unlooped note ends with the recording (then
    silence). 5 ms fades at both ends.
    """
    s = sf.samples[rec.sample]
    x = sf.read(rec.sample)
    ratio = 2.0 ** ((semitones * 100.0 + s.correction) / 1200.0)
    src_rate = max(100, int(round(s.rate * ratio / 100.0)) * 100)
    need = int(math.ceil(length * src_rate / sample_rate)) + 64
    ls, le = s.loop_start - s.start, s.loop_end - s.start
    if rec.zone.loop and 0 <= ls < le <= len(x) and le - ls >= 8 and len(x) < need:
        reps = int(math.ceil((need - ls) / (le - ls)))
        x = np.concatenate([x[:ls], np.tile(x[ls:le], reps)])
    y = np.asarray(resample_fn(x[:need], src_rate, sample_rate), dtype=np.float32)[:length]
    y = np.pad(y, (0, length - len(y)))
    fade = min(len(y) // 2, int(0.005 * sample_rate))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        y[:fade] *= ramp
        y[len(y) - fade :] *= ramp[::-1]
    peak = float(np.abs(y).max())
    return y * (0.5 / peak) if peak > 1e-6 else y
