"""S-JEPA's spatial block masker (arXiv 2403.11772): hide a scalp region around a random electrode, all time steps.

Per batch: one diameter (fraction of the head size) from the config. Per recording: a centre electrode drawn
from those whose region leaves enough context channels; the target is every electrode within chord distance
`diameter` (head radii; head size = 2 radii) of the centre, over every time step; the context is the rest.
Rows are truncated to the batch minimum by whole channels (a random subset), so a kept channel keeps all its
time steps and every row has equal length. No loop depends on luck: sampling always ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_sjepa.config import SpatialMaskConfig
from jepakit_sjepa.montage import chord_distances, positions_from_meta, scalp_2d


class SpatialBlockMasker:
    """Masks on an (C, T') electrode grid: context [B, Nc_ch * T'], targets [B, 1, Nt_ch * T'], flat c * T' + t.

    Holds only numpy/torch tables (no modules), so it pickles into DataLoader workers.
    """

    layout = "electrodes"

    def __init__(self, cfg: SpatialMaskConfig, grid: tuple[int, ...], meta: dict[str, Any] | None = None) -> None:
        grid = tuple(int(g) for g in grid)
        if len(grid) != 2 or min(grid) < 1:
            raise JepakitError(
                f"masker: sjepa/spatial needs a (channels, time) grid, got {grid}",
                "use it with the EEG encoder sjepa/eeg-transformer",
            )
        self.cfg, self.grid = cfg, grid
        self.pos = positions_from_meta(meta, grid[0], "masker")  # [C, 3]
        self.dist = torch.as_tensor(chord_distances(self.pos))  # [C, C]
        self.centres: list[torch.Tensor] = []  # per diameter: the electrodes allowed as centres
        for d in cfg.diameters:
            sizes = (self.dist <= d).sum(dim=1)  # [C] region size around each centre
            ok = torch.nonzero(sizes <= grid[0] - cfg.min_context_channels).flatten()
            if len(ok) == 0:
                raise JepakitError(
                    f"masker.diameters: a diameter of {d} head sizes hides so many of the "
                    f"{grid[0]} electrodes that fewer than {cfg.min_context_channels} stay visible",
                    "use smaller diameters or lower masker.min_context_channels",
                )
            self.centres.append(ok)

    def region(self, centre: int, diameter: float) -> torch.Tensor:
        """[C] bool: the electrodes hidden when `centre` is drawn at this diameter."""
        return self.dist[centre] <= diameter

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        C, T = self.grid
        k = int(torch.randint(len(self.cfg.diameters), (1,), generator=generator))
        allowed = self.centres[k]
        pick = torch.randint(len(allowed), (batch_size,), generator=generator)
        centre = allowed[pick]  # [B]
        hidden = self.dist[centre] <= self.cfg.diameters[k]  # [B, C]
        tgt_ch = _truncate(hidden, generator)  # [B, Nt_ch]
        ctx_ch = _truncate(~hidden, generator)  # [B, Nc_ch]
        t = torch.arange(T)
        ctx = (ctx_ch[:, :, None] * T + t).flatten(1)  # [B, Nc_ch * T]
        tgt = (tgt_ch[:, :, None] * T + t).flatten(1)  # [B, Nt_ch * T]
        return MaskSet(context=ctx, targets=tgt[:, None, :])

    def draw(self, x: torch.Tensor, path_stem: Path) -> list[Path]:
        """Scalp maps (electrodes projected from above, nose up) of hidden vs context electrodes, 4 recordings."""
        from jepakit_sjepa.plots import plot_scalp_masks

        ms = self(len(x), torch.Generator().manual_seed(0))
        C, T = self.grid
        hidden = np.zeros((len(x), C), dtype=bool)
        for row, idx in enumerate(ms.targets[:, 0].tolist()):
            hidden[row, sorted({i // T for i in idx})] = True
        path = Path(path_stem).with_suffix(".png")
        plot_scalp_masks(scalp_2d(self.pos), hidden, x.numpy(), path)
        return [path]


def _truncate(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """[B, C] bool -> [B, K] sorted channel indices, K = the batch minimum, a random subset of each row."""
    keep = int(mask.sum(dim=1).min())
    noise = torch.rand(mask.shape, generator=generator)  # [B, C]
    score = torch.where(mask, noise, torch.full_like(noise, 2.0))  # chosen channels first, in random order
    return score.argsort(dim=1)[:, :keep].sort(dim=1).values
