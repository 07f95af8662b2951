"""`jepakit export | embed | import`: a trained (or published) encoder as a file others can load and use.

Torch-free at import, like every command module: torch and core's engine load inside the commands. Bad input (a
missing run, an occupied --out, a checkpoint that is not what --kind/--arch say, a pickle holding code) is a
JepakitError: exit 2 with `Error:` and `Hint:`, no traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jepakit.cli import output
from jepakit.cli.context import load_state
from jepakit.cli.run_cmd import JsonOpt, SetOpt

Force = Annotated[bool, typer.Option("--force", help="Replace an existing export directory at --out.")]


def export_cmd(
    ctx: typer.Context,
    run_dir: Annotated[Path, typer.Argument(metavar="RUN_DIR", help="A directory written by `jepakit train`.")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Export directory to write.")],
    with_predictor: Annotated[
        bool, typer.Option("--with-predictor", help="Also write the predictor (predictor.safetensors).")
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="jepakit|timm",
            help="Key layout of model.safetensors: jepakit's, or timm's VisionTransformer (core/vit only).",
        ),
    ] = "jepakit",
    licence: Annotated[
        str, typer.Option("--license", metavar="ID", help="Licence id for the model card (e.g. mit, cc-by-4.0).")
    ] = "other",
    force: Force = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the encoder a run evaluates as model.safetensors + config.json + README.md.

    The encoder is the one `[eval] encoder` names (the EMA target, or the context encoder). README.md is a model
    card in Hugging Face Hub layout with the run's evaluation table; nothing needs a network. Load the folder
    with jepakit.api.load_encoder, or (--format timm) with timm.create_model and load_state_dict.

    Example:

    \b
      jepakit export runs/ijepa-tiny --out exports/ijepa-tiny
      jepakit export runs/ijepa-tiny --out exports/ijepa-tiny-timm --format timm
    """
    from jepakit.engine.export import export_run

    summary = export_run(
        run_dir, out, state=load_state(ctx), fmt=fmt, with_predictor=with_predictor, licence=licence, force=force
    )
    if as_json:
        output.print_json(summary)
        return
    which = "EMA target" if summary["encoder"] == "target" else "context"
    output.out().print(
        f"exported the {which} encoder of {run_dir} ({summary['part']}, {summary['parameters']:,} "
        f"parameters, {summary['format']} layout) to {summary['out']}: {', '.join(summary['files'])}",
        markup=False,
        highlight=False,
    )


def _bar(total_hint: str) -> Any:
    """A rich progress bar on a terminal's stderr, else None (a bar in a log file is noise)."""
    if not output.err().is_terminal:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn(total_hint),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=output.err(),
        transient=True,
    )


def embed_cmd(
    ctx: typer.Context,
    source: Annotated[
        Path, typer.Argument(metavar="RUN_DIR|EXPORT_DIR", help="A run directory or an export directory.")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", metavar="FILE", help="features.npy (+ features.meta.json) or features.parquet (pyarrow)."
        ),
    ],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            metavar="run|PART|PATH",
            help="`run` (the run's dataset), a dataset part such as core/glyphs, or a folder / file of images.",
        ),
    ] = "run",
    overrides: SetOpt = None,
    split: Annotated[
        str, typer.Option("--split", metavar="all|train|test", help="Which split of a dataset to embed.")
    ] = "all",
    readout: Annotated[
        str | None,
        typer.Option(
            "--readout", metavar="mean|last4_mean|rows_mean", help="Pooling (default: the run's eval.readout)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, metavar="N", help="Inputs per batch.")] = 256,
    as_json: JsonOpt = False,
) -> None:
    """Compute an encoder's features for a dataset, batch by batch, into a file.

    Beside features.npy, features.meta.json holds each row's id (file path, or split/index), split and label
    and the class names. --set applies to the dataset part (e.g. --set size=16).

    Example:

    \b
      jepakit embed runs/ijepa-tiny --data run --split test --out feats.npy
      jepakit embed exports/ijepa-tiny --data ~/photos --out photos.npy
      jepakit embed exports/ijepa-tiny --data core/glyphs --set size=16 --out glyphs.npy
    """
    from jepakit.engine.embed import embed

    bar = _bar("embedding")
    task: list[Any] = []

    def progress(done: int, total: int) -> None:
        if bar is None:
            return
        if not task:
            task.append(bar.add_task("embedding", total=total))
        bar.update(task[0], completed=done, total=total)

    if bar is not None:
        bar.start()
    try:
        summary = embed(
            source,
            data,
            out,
            overrides=overrides or [],
            split=split,
            readout=readout,
            batch_size=batch_size,
            state=load_state(ctx),
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.stop()
    if as_json:
        output.print_json(summary)
        return
    beside = f" (+ {summary['meta']})" if summary.get("meta") else ""
    output.out().print(
        f"wrote {' x '.join(str(s) for s in summary['shape'])} features of {summary['data']} "
        f"({summary['readout']} readout) to {summary['out']}{beside}",
        markup=False,
        highlight=False,
    )
    if summary["skipped"]:
        output.warn(f"{summary['skipped']} unreadable file(s) skipped; their paths are in the meta file")


def import_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A published checkpoint (*.pth.tar, *.pth, *.safetensors).")
    ],
    kind: Annotated[str, typer.Option("--kind", metavar="ijepa|vjepa", help="Whose checkpoint it is.")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Export directory to write.")],
    arch: Annotated[
        str | None,
        typer.Option(
            "--arch",
            metavar="NAME",
            help="vit_tiny|vit_small|vit_base|vit_large|vit_huge|vit_giant: every shape is checked against it.",
        ),
    ] = None,
    num_heads: Annotated[
        int | None,
        typer.Option("--num-heads", metavar="N", help="Attention heads of a custom size (instead of --arch)."),
    ] = None,
    img_size: Annotated[
        int | None,
        typer.Option("--img-size", metavar="PX", help="Expected image side (read from the checkpoint; checked)."),
    ] = None,
    frames: Annotated[
        int | None, typer.Option("--frames", metavar="N", help="Frames per clip of a V-JEPA model (default 16).")
    ] = None,
    encoder: Annotated[
        str,
        typer.Option(
            "--encoder", metavar="target|context", help="target_encoder (what the papers evaluate) or encoder."
        ),
    ] = "target",
    force: Force = False,
    as_json: JsonOpt = False,
) -> None:
    """Turn a published I-JEPA or V-JEPA checkpoint into a jepakit export directory.

    The file is read with torch's tensors-only loader (a pickle holding code is refused before any of it runs);
    its keys are mapped onto core/vit (I-JEPA) or vjepa/video-vit (V-JEPA) and every shape is checked. The
    export then works with load_encoder, `jepakit embed` and probes. Published models: I-JEPA ViT-H/14 224,
    ViT-H/16 448 (--arch vit_huge), ViT-g/16 (--arch vit_giant); V-JEPA ViT-L/16 (--arch vit_large), ViT-H/16
    and ViT-H/16-384 (--arch vit_huge).

    Example:

    \b
      jepakit import IN1K-vit.h.14-300e.pth.tar --kind ijepa --arch vit_huge --out exports/ijepa-vith14
      jepakit import vitl16.pth.tar --kind vjepa --arch vit_large --out exports/vjepa-vitl16
    """
    from jepakit.errors import JepakitError

    if encoder not in ("target", "context"):
        raise JepakitError(f"--encoder: expected target or context, got {encoder!r}", "e.g. --encoder target")
    from jepakit.engine.published import import_checkpoint

    summary = import_checkpoint(
        file,
        out,
        kind,
        arch=arch,
        num_heads=num_heads,
        img_size=img_size,
        frames=frames,
        encoder=encoder,
        state=load_state(ctx),
        force=force,
    )
    if as_json:
        output.print_json(summary)
        return
    output.out().print(
        f"imported {file.name} as {summary['part']} ({summary['parameters']:,} parameters, input "
        f"{' x '.join(str(s) for s in summary['input_shape'])}) into {summary['out']}",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export_cmd)
    app.command("embed")(embed_cmd)
    app.command("import")(import_cmd)
