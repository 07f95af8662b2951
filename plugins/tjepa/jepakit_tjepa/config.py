"""Config dataclasses of T-JEPA's parts. Torch-free: they are the TOML schemas of `[encoder]`, `[masker]`, ...

Field defaults are the paper's (arXiv 2410.05016) as its code sets them (jose-melo/t-jepa, `src/configs.py`;
docs/variants/tjepa.md); the tiny preset overrides them in plugin.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from jepakit import JepakitError
from jepakit.interfaces import range_pair

#: Adult's columns (adult.names): 6 numbers, 8 categories, the income class last
ADULT_NUMERICAL = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
ADULT_CATEGORICAL = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
]


def size_weights(n: int, share: tuple[float, float]) -> dict[int, float]:
    """{size: probability} of `lo + round((hi - lo) * u)`, u ~ U(0, 1), lo/hi = round(n * share)."""
    lo, hi = round(n * share[0]), round(n * share[1])
    span = hi - lo
    if span == 0:
        return {lo: 1.0}
    # round() sends u in [0, 1/(2 span)) to lo and u in [1 - 1/(2 span), 1] to hi: half weight at both ends
    return {lo + j: (0.5 if j in (0, span) else 1.0) / span for j in range(span + 1)}


@dataclass
class TabularEncoderConfig:
    """One token per column (a per-feature linear map of a number, an embedding row of a category) plus a
    learned feature-position embedding and a numerical/categorical type embedding, then `reg_tokens` learned
    [REG] tokens appended after the columns; a transformer over all of them.

    Paper: 64 wide, 4 layers, 8 heads, feed-forward 256 (mlp_ratio 4), 1 [REG] token (`--n_cls_tokens`).
    `reg_tokens = 0` is the collapse ablation: the paper's point is that without them training collapses.
    """

    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 8
    mlp_ratio: float = 4.0
    reg_tokens: int = 1
    qkv_bias: bool = True
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if min(self.embed_dim, self.depth, self.num_heads) < 1:
            raise ValueError("embed_dim, depth and num_heads must be positive")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if not 0 <= self.reg_tokens <= 64:
            raise ValueError(f"reg_tokens must lie in [0, 64], got {self.reg_tokens}")

    def check(self, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """Without tensors (`jepakit validate`): a row of F columns gives F + reg_tokens tokens."""
        n = int(input_shape[0])
        return {"grid": (n + self.reg_tokens,), "embed_dim": self.embed_dim, "n_columns": n}


@dataclass
class ColumnMaskConfig:
    """T-JEPA's masks (the code's `MaskCollator`): per batch one context subset and `num_targets` target subsets
    of the columns. Their sizes are drawn once per batch as shares of the column count (the code's
    `round(F * share)` bounds); the context is drawn first and every target from the columns it left, so context
    and targets never overlap (`allow_overlap = False`, the default) while targets may share columns. [REG]
    tokens are always in the context and never a target, unless `draw_reg`: then they are drawn like columns
    (in the context, in a target or hidden), as the released code's index space does (its [REG] token is
    position 0 of the drawn positions), so the [REG] output becomes a prediction target.
    """

    context_share: tuple[float, float] = (0.2, 0.4)
    target_share: tuple[float, float] = (0.2, 0.4)
    num_targets: int = 4
    draw_reg: bool = False

    def __post_init__(self) -> None:
        self.context_share = range_pair("context_share", self.context_share, 0.0, 1.0, open_low=True)
        self.target_share = range_pair("target_share", self.target_share, 0.0, 1.0, open_low=True)
        if self.num_targets < 1:
            raise ValueError(f"num_targets must be at least 1, got {self.num_targets}")

    def size_pairs(self, n: int) -> list[tuple[int, int, float]]:
        """Every allowed (context size, target size, weight) on `n` drawn tokens: the code's rounding law of each
        share, both at least 1 and together at most n (the condition its redraw loop waits for). None allowed is
        a `JepakitError` naming the shares."""
        ctx, tgt = size_weights(n, self.context_share), size_weights(n, self.target_share)
        pairs = [(c, t, pc * pt) for c, pc in ctx.items() for t, pt in tgt.items() if c >= 1 and t >= 1]
        allowed = [(c, t, w) for c, t, w in pairs if c + t <= n]
        if not allowed:
            raise JepakitError(
                f"masker.context_share / target_share: on {n} token(s) no context of "
                f"{sorted(ctx)} columns leaves room for a target of {sorted(tgt)} columns "
                "(each must hold at least one column and together at most all of them)",
                "raise the shares (a share of 0.2 of 3 columns rounds to 0) or lower them so they fit together",
            )
        return allowed

    def check(self, grid: tuple[int, ...], n_columns: int) -> None:
        """Without tensors (`jepakit validate`): the shares must fit the columns (or every token, `draw_reg`)."""
        self.size_pairs(int(grid[0]) if self.draw_reg else int(n_columns))


@dataclass
class TabularPredictorConfig:
    """The paper's transformer predictor: context tokens projected to `embed_dim`, plus fixed sin-cos positions;
    one mask token per target column (position only), run once per target subset; projected back.
    Paper: 2 layers, width 64, 4 heads, feed-forward 256."""

    embed_dim: int = 64
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 4.0

    def __post_init__(self) -> None:
        if min(self.embed_dim, self.depth, self.num_heads) < 1:
            raise ValueError("embed_dim, depth and num_heads must be positive")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")


def _fraction(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value}")


@dataclass
class AdultConfig:
    """UCI Adult (census income > 50K), read from the copy inside the `mglearn` wheel (never downloaded).

    Preprocessing as the paper (FT-Transformer's): numbers through scikit-learn's QuantileTransformer (normal
    output), categories as ordinal codes (0 = missing or unseen), both fitted on the training split only.
    A fixed stratified split (`test_fraction`, `split_seed`); `max_rows` keeps a stratified subset (0 = all).
    """

    test_fraction: float = 0.2
    split_seed: int = 0
    max_rows: int = 0

    def __post_init__(self) -> None:
        _fraction("test_fraction", self.test_fraction)
        if self.max_rows < 0 or 0 < self.max_rows < 40:
            raise ValueError(f"max_rows must be 0 (all rows) or at least 40, got {self.max_rows}")

    def check(self) -> dict[str, Any]:
        """Without reading the file (`jepakit validate`): a row is Adult's 6 numbers and 8 categories."""
        return {"input_shape": (len(ADULT_NUMERICAL) + len(ADULT_CATEGORICAL),)}


@dataclass
class TableConfig:
    """Your own table: a CSV (`,` or `sep`) or Parquet file. `label` names the class column ("" = unlabelled:
    everything pretrains and evaluation needs a labelled `[eval.sets]`). Column types are inferred (text and
    booleans are categorical, numbers numerical) unless listed in `categorical` / `numerical`; `drop` leaves
    columns out. Missing values: numbers get the training median, categories a "missing" code, as do categories
    unseen in training. Malformed lines, rows without a label and rows with nothing readable are skipped and
    counted in one warning.
    """

    path: str = ""
    label: str = ""
    categorical: list[str] = field(default_factory=list)
    numerical: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    sep: str = ","
    test_fraction: float = 0.2
    split_seed: int = 0
    max_rows: int = 0
    max_categories: int = 1000  # a categorical column with more distinct values than this is refused (an id?)

    def __post_init__(self) -> None:
        _fraction("test_fraction", self.test_fraction)
        if self.max_rows < 0:
            raise ValueError(f"max_rows must be 0 (all rows) or positive, got {self.max_rows}")
        if self.max_categories < 2:
            raise ValueError(f"max_categories must be at least 2, got {self.max_categories}")
        overlap = set(self.categorical) & set(self.numerical)
        if overlap:
            raise ValueError(f"columns declared both categorical and numerical: {sorted(overlap)}")


@dataclass
class MLPProbeConfig:
    """The small MLP probe on frozen features: standardise (train statistics), one hidden ReLU layer with
    dropout, AdamW with cosine decay. Small label budgets get at least `min_steps` steps."""

    hidden: int = 256
    epochs: int = 10
    min_steps: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-2
    dropout: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.hidden, self.epochs, self.batch_size) < 1 or self.min_steps < 0 or not self.lr > 0:
            raise ValueError("hidden, epochs and batch_size must be at least 1, min_steps >= 0 and lr positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


@dataclass
class TJEPAMethodConfig:
    """T-JEPA's evaluation: every head of the run on frozen features of the paper's readout (`readout`: the
    [REG] token(s) concatenated with the mean of the column tokens; "reg" or "columns" for either alone), at
    full labels and at each of `label_budgets` labelled training rows (a stratified subset, `budget_draws`
    draws averaged), each for the trained encoder, the same network at random init and the raw preprocessed
    features (one-hot categories + quantile numbers)."""

    wiring: ClassVar[str] = "core/jepa"  # built by core's assemble: `jepakit validate` wires the shapes

    readout: Literal["reg_mean", "reg", "columns"] = "reg_mean"
    label_budgets: list[int] = field(default_factory=lambda: [256, 1024])
    budget_draws: int = 3
    budget_seed: int = 0

    def __post_init__(self) -> None:
        if self.readout not in ("reg_mean", "reg", "columns"):
            raise ValueError(f'readout must be "reg_mean", "reg" or "columns", got {self.readout!r}')
        if any(int(b) < 4 for b in self.label_budgets):
            raise ValueError(f"label_budgets must be at least 4 rows each, got {list(self.label_budgets)}")
        if self.budget_draws < 1:
            raise ValueError(f"budget_draws must be at least 1, got {self.budget_draws}")
