"""Sweet Home 3D's furniture catalogues (Debian package `sweethome3d-furniture`) as labelled point clouds.

The package installs five zip catalogues (`*.sh3f`) of 820 OBJ models; each catalogue's
`PluginFurnitureCatalog.properties` names every model (`name#i`), its category and, for some, a 3x3
`modelRotation` that stands the model upright. Models are sampled area-weighted, rotated, normalised to the unit
sphere (y up, as Sweet Home 3D's OBJ files), deduplicated (the same OBJ bytes, or the same name with the same
size, in several catalogues) and cached under jepakit's cache folder, so only the first run parses the meshes.

Labels follow ModelNet's idea of a class: a model is labelled when its name (or, for people, its category)
matches one of 11 classes below; the others (cups, plugs, toys ...) stay unlabelled and are used for pretraining.
"""

from __future__ import annotations

import hashlib
import logging
import re
import zipfile
from pathlib import Path

import numpy as np

from jepakit import JepakitError
from jepakit_pointjepa.meshes import MeshError, normalise, parse_obj, rotation_from_text, sample_surface

log = logging.getLogger("jepakit")

#: where the Debian package puts the catalogues
FURNITURE_DIR = Path("/usr/share/sweethome3d/furniture")
PACKAGE_HINT = (
    "install the Debian package: `sudo apt-get install sweethome3d-furniture` (120 MB, CC0/CC-BY models), "
    "or set data.path to a folder of *.sh3f catalogues; `pointjepa/shapes` needs no package"
)

#: (class, name pattern, category): the first rule that matches labels a model; order matters ("desk lamp" is a
#: lamp, "glass door cabinet" a cabinet, "table fan" nothing)
CLASS_RULES: tuple[tuple[str, str, str], ...] = (
    ("person", "", "Characters"),
    ("lamp", r"lamp|\blight\b|lantern|chandelier|spotlight", ""),
    ("cabinet", r"cabinet|wardrobe|cupboard|\bdrawers\b|dresser|bookcase|shelves", ""),
    ("window", r"\bwindows?\b", ""),
    ("door", r"\bdoors?\b", ""),
    ("bed", r"\bbed\b|\bcrib\b|^futon$", ""),
    ("sofa", r"\bsofa\b|\bcouch\b", ""),
    ("chair", r"chair\b|\bstool\b", ""),
    ("table", r"^(?!.*(fan|tennis|football|pool table)).*(\btable\b|\bdesk\b)", ""),
    ("plant", r"plant|ficus|bamboo|yucca|cactus|orchids|tulips|spathiphyllum|^flowers$|lily|bonsai", ""),
    (
        "vehicle",
        r"\bcar\b|sedan|truck|\bbus\b|\bvan\b|\bsuv\b|chevrolet|peugeot|renault|ford|beetle|seat leon",
        "",
    ),
)
CLASSES = tuple(sorted({c for c, _, _ in CLASS_RULES}))


def label_of(name: str, category: str) -> int:
    """Class index in CLASSES of a model's name/category, -1 when it is none of them."""
    low = name.lower().strip()
    for cls, pattern, cat in CLASS_RULES:
        if (cat and category == cat) or (pattern and re.search(pattern, low)):
            return CLASSES.index(cls)
    return -1


def catalogue_entries(path: Path) -> list[dict[str, str]]:
    """The models of one catalogue: dicts of its properties (name, category, model, modelRotation, ...)."""
    with zipfile.ZipFile(path) as z:
        text = z.read("PluginFurnitureCatalog.properties").decode("latin-1")
    entries: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        m = re.match(r"(\w+)#(\d+)=(.*)", line)
        if m:
            entries.setdefault(int(m.group(2)), {})[m.group(1)] = m.group(3).encode("latin-1").decode("unicode_escape")
    return [e for _, e in sorted(entries.items()) if "model" in e]


def catalogues(root: Path) -> list[Path]:
    """The *.sh3f files under root, or a JepakitError naming the package."""
    found = sorted(root.glob("*.sh3f")) if root.is_dir() else []
    if not found:
        raise JepakitError(f"data.path: no Sweet Home 3D catalogues (*.sh3f) in {root}", PACKAGE_HINT)
    return found


def load_models(root: Path, points: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Every distinct model as a cloud: (clouds [N, points, 3] float32, labels [N] (-1 = unlabelled), names,
    how many entries were dropped as duplicates). Meshes that cannot be read are skipped with one warning."""
    clouds, labels, names, seen, dups, bad = [], [], [], set(), 0, []
    rng = np.random.default_rng(seed)
    for cat in catalogues(root):
        with zipfile.ZipFile(cat) as z:
            for e in catalogue_entries(cat):
                member = e["model"].lstrip("/")
                try:
                    data = z.read(member)
                except KeyError:
                    bad.append(f"{cat.name}:{member}")
                    continue
                size = tuple(round(float(e.get(k, 0) or 0)) for k in ("width", "depth", "height"))
                keys = {hashlib.sha1(data).hexdigest(), (e.get("name", "").lower(), size)}
                if keys & seen:
                    dups += 1
                    continue
                seen |= keys
                try:
                    v, f = parse_obj(data)
                    if "modelRotation" in e:
                        v = v @ rotation_from_text(e["modelRotation"]).T
                    cloud = normalise(sample_surface(v, f, points, rng))
                except (MeshError, ValueError, IndexError) as exc:
                    bad.append(f"{cat.name}:{member} ({exc})")
                    continue
                clouds.append(cloud.astype(np.float32))
                labels.append(label_of(e.get("name", ""), e.get("category", "")))
                names.append(e.get("name", member))
    if bad:
        log.warning("sweethome3d furniture: skipped %d unreadable model(s); first: %s", len(bad), bad[0])
    if not clouds:
        raise JepakitError(f"data.path: no readable model in the catalogues under {root}", PACKAGE_HINT)
    return np.stack(clouds), np.asarray(labels, dtype=np.int64), names, dups
