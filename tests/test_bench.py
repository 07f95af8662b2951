"""`jepakit bench`: the result's schema and arithmetic, the FLOP count against a hand count, clean bad input.

Timings are never asserted (they depend on the machine and its neighbours); only that they are positive,
finite and consistent with each other.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.jepa import build
from jepakit.engine.loader import make_loader
from jepakit.experiments.bench import RESULT_KEYS, flop_counter, matmul_peak_gflops, run_bench
from jepakit.framework.compose import resolve_run

TINY = "ijepa/ijepa-tiny"
SPEC_KEYS = {
    "variant",
    "precision",
    "batch",
    "steps",
    "ms_per_step",
    "samples_per_s",
    "gflops_per_step",
    "achieved_gflops_per_s",
    "peak_gflops_per_s",
    "mfu",
    "peak_rss_mb",
    "data_wait_fraction",
    "device",
    "threads",
    "torch_version",
}
POSITIVE = (
    "ms_per_step",
    "samples_per_s",
    "gflops_per_step",
    "achieved_gflops_per_s",
    "peak_gflops_per_s",
    "mfu",
    "peak_rss_mb",
)
runner = CliRunner()


def check_result(r: dict, variant: str, precision: str, steps: int) -> None:
    """Schema, positive finite numbers, and the identities that tie the numbers together."""
    assert SPEC_KEYS <= set(r) and set(RESULT_KEYS) == set(r)
    assert (r["variant"], r["precision"], r["steps"]) == (variant, precision, steps)
    assert r["torch_version"] == torch.__version__ and r["threads"] >= 1
    for key in POSITIVE:
        assert isinstance(r[key], float) and math.isfinite(r[key]) and r[key] > 0, (key, r[key])
    assert 0.0 <= r["data_wait_fraction"] < 1.0
    seconds = r["ms_per_step"] / 1e3
    assert r["samples_per_s"] == pytest.approx(r["batch"] / seconds, rel=1e-9)
    assert r["achieved_gflops_per_s"] == pytest.approx(r["gflops_per_step"] / seconds, rel=1e-9)
    assert r["mfu"] == pytest.approx(r["achieved_gflops_per_s"] / r["peak_gflops_per_s"], rel=1e-9)
    assert (r["cuda_max_allocated_mb"] is None) == (not r["device"].startswith("cuda"))


# Hand formulas (not jepakit's, not torch's): attention is two batched matmuls forward (Q K^T and P V, each
# 2*B*H*Nq*Nk*d) and five backward (the flash kernel recomputes Q K^T, then dV, dP, dQ, dK), the convention of
# torch's own formulas for the CUDA kernels.
def _attn_fwd(q, k, v, *args, out_shape=None, **kwargs) -> int:
    b, h, nq, d = q
    return 2 * 2 * b * h * nq * k[2] * d


def _attn_bwd(grad, q, k, v, *args, out_shape=None, **kwargs) -> int:
    b, h, nq, d = q
    return 5 * 2 * b * h * nq * k[2] * d


def independent_flops(resolved) -> int:
    """The first step's forward + backward, counted by a separately written FlopCounterMode."""
    built = build(resolved)
    batch = next(
        iter(
            make_loader(
                built.splits.train,
                built.masker,
                batch_size=resolved.optim.batch_size,
                seed=resolved.run.seed,
                start=0,
                total=1,
                workers=0,
            )
        )
    )
    aten = torch.ops.aten
    mapping = {
        aten._scaled_dot_product_flash_attention_for_cpu: _attn_fwd,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: _attn_bwd,
    }
    built.model.train()
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        built.model.step(batch).loss.backward()
    return counter.get_total_flops()


def _counted(fn) -> int:
    """FLOPs of `fn` under the bench's own counter (the one `run_bench` wraps the first step's forward and
    backward in)."""
    with flop_counter() as counter:
        fn()
    return int(counter.get_total_flops())


def test_flop_counter_matches_hand_counts():
    """Linear: forward 2*B*I*O, backward 2*B*I*O for each of dX and dW. Attention on CPU is counted too (2 + 5
    batched matmuls, as in the hand formulas above)."""
    lin = torch.nn.Linear(64, 32, bias=False)
    x = torch.randn(8, 64, requires_grad=True)  # [B, I]
    assert _counted(lambda: lin(x).sum().backward()) == 3 * 2 * 8 * 64 * 32
    q = torch.randn(1, 2, 16, 8, requires_grad=True)  # [B, H, N, d]
    attn = _counted(lambda: F.scaled_dot_product_attention(q, q, q).sum().backward())
    assert attn == (2 + 5) * 2 * 1 * 2 * 16 * 16 * 8


def test_matmul_peak_is_positive_and_finite():
    peak = matmul_peak_gflops("bf16", torch.device("cpu"), size=128, reps=2, warmup=1)
    assert math.isfinite(peak) and peak > 0


def test_run_bench_schema_arithmetic_and_flops(plugin_state):
    resolved = resolve_run({"variant": TINY}, plugin_state, ["run.workers=0", "run.precision=bf16"])
    r = run_bench(resolved, steps=2, warmup=1)
    check_result(r, TINY, "bf16", 2)
    assert r["batch"] == resolved.optim.batch_size and r["workers"] == 0 and r["device"] == "cpu"
    expected = independent_flops(resolve_run({"variant": TINY}, plugin_state, []))
    assert r["gflops_per_step"] == pytest.approx(expected / 1e9, rel=1e-12)


def test_bench_preset_builds_as_specified(plugin_state):
    """ijepa/bench: 64x64 RGB digits, patch 4 -> 16x16 grid, ViT-Tiny, predictor 96 x 6 x 3, batch 32."""
    resolved = resolve_run({"variant": "ijepa/bench"}, plugin_state, [])
    built = build(resolved)
    enc = built.model.encoder
    assert tuple(built.splits.input_shape) == (3, 64, 64) and tuple(enc.grid) == (16, 16)
    assert enc.embed_dim == 192 and len(enc.blocks) == 12
    assert resolved.parts["predictor"].cfg.embed_dim == 96 and resolved.parts["predictor"].cfg.depth == 6
    assert resolved.optim.batch_size == 32 and list(resolved.parts["target"].cfg.momentum) == [0.996, 1.0]
    x, _ = built.splits.train[0]
    assert torch.equal(x[0], x[1]) and torch.equal(x[0], x[2])  # gray replicated to RGB


def test_cli_json():
    result = runner.invoke(app, ["bench", TINY, "--steps", "2", "--warmup", "1", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    check_result(r, TINY, "fp32", 2)
    assert r["workers"] == 1 and r["warmup"] == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--precision", "fp16"], "--precision"),
        (["ijepa/nope"], "unknown variant"),
        (["--set", "run.nope=1"], "run.nope"),
    ],
)
def test_cli_bad_input_exits_2(args, needle):
    result = runner.invoke(app, ["bench", *args, "--json"])
    assert result.exit_code == 2, result.output
    assert "Error:" in result.stderr and "Hint:" in result.stderr and needle in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_bench_help_does_not_import_torch(tmp_path):
    code = (
        "import sys\nfrom jepakit.cli.app import main\nsys.argv = ['jepakit', 'bench', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint('TORCH', 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("JEPAKIT_PLUGINS_TOML", "JEPAKIT_DEBUG")}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "--precision" in proc.stdout and "TORCH False" in proc.stdout


SMALL = [
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "optim.batch_size=16",
    "run.workers=0",
]


def test_compile_is_in_place_same_loss_and_benched(plugin_state):
    """run.compile: same parameter names (checkpoints, resume), the same loss as eager, and bench reports it."""
    from jepakit.engine.steps import compile_model

    resolved = resolve_run({"variant": TINY}, plugin_state, SMALL)
    torch.manual_seed(0)
    eager = build(resolved).model
    compiled = build(resolved).model
    compiled.load_state_dict(eager.state_dict())
    batch = next(
        iter(
            make_loader(
                build(resolved).splits.train, build(resolved).masker, batch_size=16, seed=0, start=0, total=1, workers=0
            )
        )
    )
    keys = list(compiled.state_dict())
    assert compile_model(compiled) == ["encoder", "predictor", "teacher"]
    assert list(compiled.state_dict()) == keys
    torch.manual_seed(1)
    want = eager.step(batch).loss
    torch.manual_seed(1)
    got = compiled.step(batch).loss
    got.backward()
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-5)
    assert all(p.grad is not None for p in compiled.trainable_parameters())

    r = run_bench(resolve_run({"variant": TINY}, plugin_state, [*SMALL, "run.compile=true"]), steps=1, warmup=0)
    check_result(r, TINY, "fp32", 1)
    assert r["compile"] is True and r["compile_s"] > 0


def test_bench_times_the_step_training_runs():
    """One definition of the step: `jepakit bench` and `jepakit train` call the same function."""
    from jepakit.engine import steps, train
    from jepakit.experiments import bench

    assert bench.train_step is steps.train_step and train.train_step is steps.train_step
