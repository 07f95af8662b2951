"""A table (pandas DataFrame) -> T-JEPA's inputs: one float per column, numbers first, then categories.

Preprocessing as the paper (FT-Transformer's, which T-JEPA's code reuses), fitted on the training split only:
- numbers: scikit-learn's QuantileTransformer (normal output, n_quantiles = clip(n_train // 30, 10, 1000));
  a missing or unreadable number becomes 0.0, the training median in that output space;
- categories: ordinal codes 1..k in sorted order of the training values; 0 = missing or unseen in training,
  so a category never seen while fitting still has an embedding row (the "missing" one).

A row is then float32 [F]: quantile numbers, then the codes as floats (the encoder reads them back as ints).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from jepakit import JepakitError
from jepakit.api import ImageSplit, stratified_split
from jepakit.interfaces import DataSplits

log = logging.getLogger("jepakit")

#: text that means "no value" in a categorical column (Adult writes "?")
MISSING_TEXT = frozenset({"", "?", "nan", "none", "null", "na", "n/a"})


@dataclass
class Preprocessor:
    """What was fitted on the training rows: the quantile map of the numbers, each category's code table."""

    numerical: list[str]
    categorical: list[str]
    quantiles: Any = None  # sklearn QuantileTransformer, None without numerical columns
    codes: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [*self.numerical, *self.categorical]

    @property
    def cardinalities(self) -> list[int]:
        """Per column: 0 for a number, k + 1 for a category with k training values (code 0 = missing)."""
        return [0] * len(self.numerical) + [len(self.codes[c]) + 1 for c in self.categorical]

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Rows -> float32 [N, F] (numbers, then category codes)."""
        parts = []
        if self.numerical:
            num = numbers(df, self.numerical)  # [N, n_num] with NaN for missing
            out = self.quantiles.transform(num) if self.quantiles is not None else num
            parts.append(np.nan_to_num(out, nan=0.0))
        for c in self.categorical:
            table = self.codes[c]
            parts.append(np.array([table.get(v, 0) for v in categories(df[c])], dtype=np.float64)[:, None])
        return np.concatenate(parts, axis=1).astype(np.float32) if parts else np.zeros((len(df), 0), np.float32)


def numbers(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """[N, len(cols)] float64; text that is not a number becomes NaN (missing)."""
    return np.stack([pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64) for c in cols], axis=1)


def categories(col: pd.Series) -> list[str]:
    """A column as stripped text; missing values become "" (code 0)."""
    out = []
    for v in col.tolist():
        s = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        out.append("" if s.lower() in MISSING_TEXT else s)
    return out


def fit(df: pd.DataFrame, numerical: list[str], categorical: list[str], seed: int) -> Preprocessor:
    """Fit the quantile map and the code tables on the training rows `df`."""
    from sklearn.preprocessing import QuantileTransformer

    prep = Preprocessor(list(numerical), list(categorical))
    if numerical:
        n_q = int(np.clip(len(df) // 30, 10, 1000))
        prep.quantiles = QuantileTransformer(
            n_quantiles=n_q, output_distribution="normal", subsample=10**9, random_state=seed
        ).fit(numbers(df, numerical))
    for c in categorical:
        seen = sorted({v for v in categories(df[c]) if v})
        prep.codes[c] = {v: i + 1 for i, v in enumerate(seen)}
    return prep


class OneHotRaw:
    """Picklable `DataSplits.raw_features`: the raw baseline of the issue's reference (quantile numbers as they
    are, each category one-hot with its missing slot), so the logistic-regression row is the classic one."""

    def __init__(self, n_numerical: int, cardinalities: list[int]) -> None:
        self.n_numerical = int(n_numerical)
        self.cards = [int(k) for k in cardinalities[n_numerical:]]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        cols = [x[:, : self.n_numerical].float()]  # [B, n_num]
        for j, k in enumerate(self.cards):
            code = x[:, self.n_numerical + j].long().clamp(0, k - 1)
            cols.append(torch.nn.functional.one_hot(code, k).float())  # [B, k]
        return torch.cat(cols, dim=1)  # [B, n_num + sum(k)]


def infer_types(
    df: pd.DataFrame, label: str, categorical: list[str], numerical: list[str], drop: list[str]
) -> tuple[list[str], list[str]]:
    """(numerical, categorical) columns in file order: declared ones as declared, the rest by dtype."""
    num, cat = [], []
    for c in df.columns:
        if c == label or c in drop:
            continue
        if c in categorical:
            cat.append(c)
        elif c in numerical:
            num.append(c)
        elif pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]):
            num.append(c)
        else:
            cat.append(c)
    return num, cat


def check_columns(df: pd.DataFrame, source: str, wanted: dict[str, list[str]]) -> None:
    """Every column a setting names must exist: else an error naming the setting, the column and the file."""
    have = [str(c) for c in df.columns]
    for key, cols in wanted.items():
        for c in cols:
            if c not in have:
                raise JepakitError(
                    f"data.{key}: column {c!r} is not in {source}",
                    f"the file's columns are: {', '.join(have[:30])}{' ...' if len(have) > 30 else ''}",
                )


def drop_bad_rows(df: pd.DataFrame, label: str, features: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Rows without a label (when there is a label column) or without any readable feature are left out."""
    skipped: dict[str, int] = {}
    if label:
        no_label = np.array([v == "" for v in categories(df[label])], dtype=bool)
        if no_label.any():
            skipped["no label"] = int(no_label.sum())
        df = df[~no_label]
    empty = np.ones(len(df), dtype=bool)
    for c in features:
        empty &= np.array([v == "" for v in categories(df[c])], dtype=bool)
    if features and empty.any():
        skipped["no readable value"] = int(empty.sum())
        df = df[~empty]
    return df.reset_index(drop=True), skipped


def split_table(
    df: pd.DataFrame,
    *,
    name: str,
    source: str,
    label: str,
    numerical: list[str],
    categorical: list[str],
    test_fraction: float,
    split_seed: int,
    max_rows: int = 0,
    skipped: dict[str, int] | None = None,
) -> DataSplits:
    """Clean rows -> fixed splits: stratified by label (or all pretraining when unlabelled), preprocessing fitted
    on the training split, `meta` describing the columns for the encoder and masker."""
    skipped = dict(skipped or {})
    df, dropped = drop_bad_rows(df, label, [*numerical, *categorical])
    skipped.update(dropped)
    if skipped:
        log.warning(
            "%s: skipped %d row(s) of %s (%s)",
            name,
            sum(skipped.values()),
            source,
            ", ".join(f"{n} {why}" for why, n in skipped.items()),
        )
    if len(df) < 8:
        raise JepakitError(
            f"data.path: {source} has {len(df)} usable row(s); at least 8 are needed",
            "check the separator (data.sep), the label column (data.label) and the file's content",
        )
    meta: dict[str, Any] = {"source": source, "label": label, "skipped": skipped}
    if not label:  # unlabelled: everything pretrains, nothing to probe
        prep = fit(df, numerical, categorical, split_seed)
        x = torch.as_tensor(prep.transform(df))
        return _splits(name, prep, meta, None, None, ImageSplit(x, torch.full((len(x),), -1)), [])
    text = np.array(categories(df[label]))
    class_names = sorted(set(text.tolist()))
    y = np.searchsorted(np.array(class_names), text)
    counts = np.bincount(y, minlength=len(class_names))
    if len(class_names) < 2 or counts.min() < 2:
        rare = class_names[int(counts.argmin())]
        raise JepakitError(
            f"data.label: column {label!r} of {source} needs at least 2 classes with 2 rows each "
            f"(found {len(class_names)} class(es); {rare!r} has {int(counts.min())} row(s))",
            "name a class column as data.label, or leave it empty to pretrain without labels",
        )
    if max_rows and max_rows < len(df):
        keep, _ = stratified_split(y, len(df) - max_rows, split_seed)
        df, y = df.iloc[keep].reset_index(drop=True), y[keep]
    tr, te = stratified_split(y, test_fraction, split_seed)
    prep = fit(df.iloc[tr], numerical, categorical, split_seed)  # the training split only
    xtr = torch.as_tensor(prep.transform(df.iloc[tr]))
    xte = torch.as_tensor(prep.transform(df.iloc[te]))
    train = ImageSplit(xtr, torch.as_tensor(y[tr]))
    test = ImageSplit(xte, torch.as_tensor(y[te]))
    return _splits(name, prep, meta, train, test, None, class_names)


def _splits(
    name: str,
    prep: Preprocessor,
    meta: dict[str, Any],
    train: ImageSplit | None,
    test: ImageSplit | None,
    pretrain: ImageSplit | None,
    class_names: list[str],
) -> DataSplits:
    n_num = len(prep.numerical)
    meta = {
        **meta,
        "columns": prep.columns,
        "kinds": ["num"] * n_num + ["cat"] * len(prep.categorical),
        "cardinalities": prep.cardinalities,
    }
    return DataSplits(
        name=name,
        train=train,
        test=test,
        input_shape=(len(prep.columns),),
        num_classes=len(class_names),
        modality="tabular",
        class_names=class_names,
        meta=meta,
        raw_features=OneHotRaw(n_num, prep.cardinalities),
        pretrain=pretrain,
    )
