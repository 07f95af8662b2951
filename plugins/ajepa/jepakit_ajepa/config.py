"""Config dataclasses of A-JEPA's parts. Torch-free: they are the TOML schemas of `[masker]`, `[data]`.

The encoder's settings are core's `ViTConfig` (its defaults are ViT-B/16, A-JEPA's main model). The log-mel front
end's settings live in the dataset config, because the dataset owns the audio: it computes the normalisation
statistics and the raw log-mel baseline, and hands the settings to the encoder and masker through `meta`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from jepakit.interfaces import range_pair


@dataclass
class CurriculumConfig:
    """A-JEPA's curriculum masks on a (time, frequency) token grid.

    Every batch is masked in one of two modes. "block": I-JEPA's multi-block masks (num_targets blocks of
    target_scale, aspect drawn per batch, at random positions). "tf" (time-frequency aware): num_targets strips
    that span the whole other axis: time strips (a run of frames over every mel band) or frequency strips (a run
    of bands over every frame), their width from target_scale of the axis, chosen with time_prob per batch.
    In both, the context is a block of context_scale (in the grid's aspect) minus the union of the targets.

    The probability of the "tf" mode ramps linearly from 0 to 1 between the training fractions
    curriculum[0] and curriculum[1] (the paper moves from random blocks to time-frequency aware masks as
    training goes on). [1, 1] keeps block masks for the whole run; [0, 0] uses strips only.
    """

    num_targets: int = 4
    target_scale: tuple[float, float] = (0.15, 0.2)  # fraction of the grid per block / of the axis per strip
    aspect: tuple[float, float] = (0.75, 1.5)  # time extent / frequency extent of a block
    context_scale: tuple[float, float] = (0.85, 1.0)
    curriculum: tuple[float, float] = (0.0, 1.0)  # training fractions where P(tf) goes 0 -> 1
    time_prob: float = 0.5  # in "tf" mode: probability that a batch uses time strips (else frequency strips)
    min_keep: int = 4  # fewest context tokens; placements leaving fewer are redrawn (I-JEPA's min_keep)

    def __post_init__(self) -> None:
        if self.num_targets < 1:
            raise ValueError(f"num_targets must be at least 1, got {self.num_targets}")
        if self.min_keep < 1:
            raise ValueError(f"min_keep must be at least 1 (the context may not be empty), got {self.min_keep}")
        self.target_scale = range_pair("target_scale", self.target_scale, 1e-6, 1.0)
        self.context_scale = range_pair("context_scale", self.context_scale, 1e-6, 1.0)
        self.aspect = range_pair("aspect", self.aspect, 1e-6, float("inf"))
        self.curriculum = range_pair("curriculum", self.curriculum, 0.0, 1.0)
        if not 0.0 <= self.time_prob <= 1.0:
            raise ValueError(f"time_prob must lie in [0, 1], got {self.time_prob}")

    def check(self, grid: tuple[int, ...]) -> None:
        """Without tensors (`jepakit validate`, given the encoder's grid): a (time, frequency) grid, and a
        `min_keep` that the largest context block can hold once the smallest target is cut out of it."""
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(f"ajepa/curriculum needs a (time, frequency) token grid, the encoder gives {tuple(grid)}")
        n = grid[0] * grid[1]
        room = math.ceil(self.context_scale[1] * n) - max(1, math.floor(self.target_scale[0] * n))
        if self.min_keep > room:
            raise ValueError(
                f"min_keep = {self.min_keep} cannot be met on the {grid[0]}x{grid[1]} grid: the largest context "
                f"block less the smallest target leaves about {max(room, 0)} tokens"
            )


@dataclass
class LogMelFields:
    """The log-mel front end: torchaudio's Kaldi fbank as AudioMAE / A-JEPA call it (paper: 16 kHz, 128 bins,
    25 ms window, 10 ms shift, 1024 frames = a 10.24 s clip; Kaldi's lowest band edge 20 Hz). Clips are cut or
    zero-padded to (frames - 1) * hop + window samples, so Kaldi's edge-snipped framing gives exactly `frames`
    frames. Log energies are normalised with the train split's mean and std."""

    sample_rate: int = 16000
    n_mels: int = 128
    frames: int = 1024
    win_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 20.0  # Kaldi's low_freq (its default, which AudioMAE keeps)
    f_max: float = 0.0  # Kaldi's high_freq; 0 = Nyquist (sample_rate / 2)

    def _check_frontend(self) -> None:
        if self.sample_rate < 1000:
            raise ValueError(f"sample_rate must be at least 1000 Hz, got {self.sample_rate}")
        if self.n_mels < 2 or self.frames < 2:
            raise ValueError(f"n_mels and frames must be at least 2, got {self.n_mels} and {self.frames}")
        if not 0 < self.hop_ms <= self.win_ms:
            raise ValueError(f"need 0 < hop_ms <= win_ms, got hop {self.hop_ms} and window {self.win_ms}")
        if self.win_ms * self.sample_rate / 1000.0 < 16:
            raise ValueError(f"a {self.win_ms} ms window holds fewer than 16 samples at {self.sample_rate} Hz")
        top = self.f_max or self.sample_rate / 2
        if not 0.0 <= self.f_min < top <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= f_min < f_max <= sample_rate / 2, got f_min {self.f_min}, f_max {top}")

    def frontend(self) -> dict[str, float | int]:
        """The settings the encoder and masker rebuild the front end from (DataSplits.meta["frontend"])."""
        return {
            "sample_rate": self.sample_rate,
            "n_mels": self.n_mels,
            "frames": self.frames,
            "win_ms": self.win_ms,
            "hop_ms": self.hop_ms,
            "f_min": self.f_min,
            "f_max": self.f_max,
        }


#: English eSpeak NG voices (accents); each is combined with every entry of `variants` (timbres).
VOICES = ("en", "en-us", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
VARIANTS = ("", "m3", "f2", "f4")


@dataclass
class SpokenDigitsConfig(LogMelFields):
    """The words "zero".."nine" spoken by eSpeak NG (the `espeakng-loader` wheel), synthesised offline and cached.

    One clip per (digit, voice, variant, rate, pitch): 8 accents x 4 timbres x 3 rates x 3 pitches = 288 per
    digit by default. Then, seeded by `seed`, each clip gets a random onset inside the clip, a random gain and
    pink background noise at a random SNR, like a recording. Label: the digit.
    """

    voices: list[str] = field(default_factory=lambda: list(VOICES))
    variants: list[str] = field(default_factory=lambda: list(VARIANTS))  # "" = the voice's own timbre
    rates: list[int] = field(default_factory=lambda: [130, 165, 200])  # words per minute
    pitches: list[int] = field(default_factory=lambda: [35, 50, 65])  # eSpeak pitch 0-99
    gain_db: tuple[float, float] = (-6.0, 6.0)
    snr_db: tuple[float, float] = (10.0, 30.0)  # pink-noise signal-to-noise ratio
    shift: bool = True  # random onset inside the clip (else the word starts at 0)
    test_fraction: float = 0.2
    limit_per_class: int = 0  # keep only this many clips per digit (0 = all): quick tests
    seed: int = 0  # onsets, gains, noise and the split; independent of the run's seed

    def __post_init__(self) -> None:
        self._check_frontend()
        if not self.voices or not self.rates or not self.pitches or not self.variants:
            raise ValueError("voices, variants, rates and pitches must each list at least one value")
        if not all(80 <= r <= 450 for r in self.rates):
            raise ValueError(f"rates are words per minute in [80, 450], got {self.rates}")
        if not all(0 <= p <= 99 for p in self.pitches):
            raise ValueError(f"pitches lie in [0, 99] (eSpeak's scale), got {self.pitches}")
        self.gain_db = range_pair("gain_db", self.gain_db, -60.0, 60.0)
        self.snr_db = range_pair("snr_db", self.snr_db, -20.0, 120.0)
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.limit_per_class < 0 or 0 < self.limit_per_class < 4:
            raise ValueError(f"limit_per_class must be 0 (all) or at least 4, got {self.limit_per_class}")


@dataclass
class AudioFolderConfig(LogMelFields):
    """Your own recordings laid out as `path/<class name>/*.wav|flac|ogg` (one folder per class), read with
    soundfile, mixed to mono, resampled to sample_rate and cut or padded to the front end's clip length.
    Unreadable files are skipped with one counted warning."""

    path: str = ""
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        self._check_frontend()
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


#: Where Debian's fluid-soundfont-gm (MIT) installs the FluidR3 General MIDI SoundFont.
FLUID_R3 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


@dataclass
class SoundFontConfig(LogMelFields):
    """Instrument recordings from a General MIDI SoundFont (default: Debian's fluid-soundfont-gm), an NSynth-like
    task: every recording a GM preset plays (stereo halves count once; drum kits are left out) is rendered as a
    note at each of `semitones` above its root key, from its onset, looped as the file says, and labelled with the
    GM instrument family (16 classes). The split is by recording: no recording is in both train and test."""

    path: str = FLUID_R3
    semitones: list[float] = field(default_factory=lambda: [-5.0, 0.0, 7.0])  # pitches per recording
    test_fraction: float = 0.2
    seed: int = 0  # the split; independent of the run's seed
    max_recordings: int = 0  # 0 = all; else the first N (quick tests)

    def __post_init__(self) -> None:
        self._check_frontend()
        if not self.semitones or not all(-24.0 <= s <= 24.0 for s in self.semitones):
            raise ValueError(f"semitones must list pitch offsets in [-24, 24], got {self.semitones}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.max_recordings < 0:
            raise ValueError(f"max_recordings must be 0 (all) or positive, got {self.max_recordings}")


#: Where Debian's asterisk-core-sounds-en-wav (CC-BY-SA) installs Allison Smith's recorded digit prompts.
ALLISON_DIGITS = "/usr/share/asterisk/sounds/en_US_f_Allison/digits"


@dataclass
class HumanDigitsConfig(SpokenDigitsConfig):
    """Real speech: the digits "zero".."nine" recorded by one human speaker (Debian's asterisk-core-sounds-en-wav,
    `0.wav`..`9.wav`), one recording per digit, as an evaluation set.

    With one recording per class a probe cannot be fitted and tested on different recordings of this speaker, so
    `probe_train` = "espeak" (default) fits the probes on the synthesised spoken digits (this config's eSpeak
    settings) and tests them on the human recordings: a synthetic-to-real transfer test. "human" fits and tests
    on disjoint draws of the human recordings' variations (the same 10 recordings on both sides: a test of
    invariance to onset, level and noise, not of generalisation to new recordings). Every human clip gets a
    random onset, gain and pink noise as the synthesised ones do (`variations` clips per digit).
    """

    path: str = ALLISON_DIGITS
    probe_train: Literal["espeak", "human"] = "espeak"
    variations: int = 20  # clips per digit recording

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.probe_train not in ("espeak", "human"):
            raise ValueError(f'probe_train must be "espeak" or "human", got {self.probe_train!r}')
        if self.variations < 2:
            raise ValueError(f"variations must be at least 2, got {self.variations}")
