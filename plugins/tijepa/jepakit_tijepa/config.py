"""Config dataclasses of TI-JEPA's parts. Torch-free: they are the TOML schemas of `[data]` and `[method]`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CaptionedShapesConfig:
    """Image-caption pairs drawn offline: a coloured geometric shape beside a handwritten digit (scikit-learn's
    digits, tinted), captioned from the scene's attributes ("a small red circle left of a blue 7").

    The attributes are shape (circle, square, triangle, cross), its colour (6) and size (small, large), the
    digit (0-9) and its colour, and the relation of shape to digit (left of, right of, above, below); captions
    use one of three phrasings. One colour per shape (a Latin-square diagonal, 4 of the 24 shape-colour pairs)
    never appears in training: the test split asks about combinations of words that were each seen.
    """

    size: int = 32  # side of the square RGB images
    n_train: int = 4000
    n_test: int = 512
    context_length: int = 24  # BPE tokens per caption, start and end tokens included
    seed: int = 0  # every pair is a function of (seed, index): independent of the run's seed

    def __post_init__(self) -> None:
        if self.size < 24 or self.size % 8:
            raise ValueError(f"size must be a multiple of 8 of at least 24 (two objects side by side), got {self.size}")
        if self.n_train < 8 or self.n_test < 8:
            raise ValueError(f"n_train and n_test must be at least 8, got {self.n_train} and {self.n_test}")
        if self.context_length < 8:
            raise ValueError(f"context_length must be at least 8, got {self.context_length}")


@dataclass
class PairFileConfig:
    """Your own image-caption pairs: a CSV (columns `image,caption`) or a JSONL ({"image": ..., "caption": ...}).

    Image paths are relative to the file's folder (or absolute). Unreadable or missing images and captions
    that tokenize to nothing are skipped and counted (an error if nothing is left). Pairs are split at random.
    """

    path: str = ""  # the .csv or .jsonl file
    size: int = 32
    context_length: int = 32
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"size must be at least 8, got {self.size}")
        if self.context_length < 3:
            raise ValueError(f"context_length must be at least 3 (start, a word, end), got {self.context_length}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class TIJEPAConfig:
    """The text tower, the fusion stacks and the evaluation of `tijepa/tijepa` (the image tower is `[encoder]`).

    The text tower is open_clip's `TextTransformer` built from these fields and randomly initialised (nothing is
    downloaded); its tokenizer is open_clip's bundled BPE. The fusion is `fusion_depth` cross-attention blocks
    (image patches attend to themselves, then to the caption's tokens); the EMA target is a copy of the whole
    context path, so with frozen towers it is the paper's EMA target-fusion module.
    """

    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_causal: bool = True  # CLIP's text transformer is causal; false = bidirectional with a padding mask
    fusion_width: int = 96
    fusion_depth: int = 2
    fusion_heads: int = 4
    freeze_image: bool = False  # the paper freezes its pretrained towers ("selective freezing")
    freeze_text: bool = False
    # evaluation
    retrieval_pool: int = 100  # test pairs ranked against each other (every caption x every image: P^2 energies)
    energy_masks: int = 2  # fixed mask draws the pairwise energy is averaged over
    probe_pairs: int = 2000  # training pairs (half matched, half with one attribute swapped) for the match probe

    def __post_init__(self) -> None:
        for name in (
            "text_width",
            "text_layers",
            "text_heads",
            "fusion_width",
            "fusion_depth",
            "fusion_heads",
            "energy_masks",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.text_width % self.text_heads or self.fusion_width % self.fusion_heads:
            raise ValueError("text_width and fusion_width must be divisible by their heads")
        if self.retrieval_pool < 5:
            raise ValueError(f"retrieval_pool must be at least 5 (recall@5), got {self.retrieval_pool}")
