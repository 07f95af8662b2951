"""Config dataclasses of UI-JEPA's parts. Torch-free: they are the TOML schemas of `[data]` and `[method]`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class UISessionsConfig:
    """Screen recordings of user tasks in four small apps (Alarm, Chat, Settings, Music), drawn with PIL offline.

    Each of the 56 intents ("set an alarm for 7:30", "text Ana thanks", "turn off wifi", "play jazz on the
    car") is a pair of slot values; a Latin-square diagonal of 14 combinations is held out, so the test split
    asks for intents never seen in training, spelled with words that were. Every session has its own theme
    (light/dark, accent colour, offset, clock) and timing, and is labelled with one of its intent's phrasings.
    """

    frames: int = 8  # frames per recording (the longest task shows 7 states)
    size: int = 32  # side of the square frames after area-downsampling from the 64 px drawing
    train_per_intent: int = 36  # sessions of each of the 42 training intents
    test_per_seen_intent: int = 4  # held-out sessions of the training intents (new themes and timings)
    test_per_unseen_intent: int = 12  # sessions of each of the 14 held-out intents
    seed: int = 0  # every session is a function of (seed, index): independent of the run's seed

    def __post_init__(self) -> None:
        if self.frames < 7:
            raise ValueError(f"frames must be at least 7 (the longest task has 7 states), got {self.frames}")
        if not 8 <= self.size <= 64 or 64 % self.size:
            raise ValueError(f"size must divide the 64 px drawing (8, 16, 32 or 64), got {self.size}")
        if self.train_per_intent < 1 or self.test_per_seen_intent < 0 or self.test_per_unseen_intent < 1:
            raise ValueError(
                "train_per_intent and test_per_unseen_intent must be at least 1, test_per_seen_intent at least 0"
            )


@dataclass
class SessionFileConfig:
    """Your own UI sessions: a JSONL file, one session per line:

        {"screens": ["s1/0.png", "s1/1.png", ...], "intent": "set an alarm for 7:30", "actions": [...]}

    Screen paths are relative to the JSONL file's folder (or absolute). `actions` is optional and kept only as
    metadata. A recording with more screens than `frames` is sampled evenly; a shorter one holds its last screen
    (as a recording of an idle screen would). Sessions are split at random into train and test.
    """

    path: str = ""  # the JSONL file
    frames: int = 8
    size: int = 32
    channels: int = 3  # 1 = grayscale, 3 = RGB
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        if self.frames < 2 or self.size < 8:
            raise ValueError("frames must be at least 2 and size at least 8")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class IntentDecoderConfig:
    """`uijepa/intent`: core's masked JEPA for training, and the intent decoder for evaluation.

    The decoder is the paper's recipe at CPU scale: the frozen encoder's tokens, projected, are the prefix of a
    decoder-only language model (the paper fine-tunes Phi-3 on them; no pre-trained LM can be downloaded here, so
    a small causal transformer is trained from scratch on the training intents). The same decoder is trained on
    trained features, random-init features and raw pixel tubelets, with the same seed and schedule.
    """

    width: int = 128  # decoder model width
    depth: int = 2  # decoder blocks
    heads: int = 4
    dropout: float = 0.1  # on the projected prefix
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    max_tokens: int = 16  # longest generated intent
    examples: int = 6  # test sessions printed by `jepakit eval`: reference, trained, random init
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.width, self.depth, self.heads, self.epochs, self.batch_size, self.max_tokens) < 1:
            raise ValueError("width, depth, heads, epochs, batch_size and max_tokens must be at least 1")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads}")
        if not 0.0 <= self.dropout < 1.0 or self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("dropout must lie in [0, 1), lr be positive and weight_decay non-negative")
