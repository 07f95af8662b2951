"""Screens of four small phone apps drawn with PIL, and the scripted sessions that turn an intent into frames.

A session is what a screen recording of one user task shows: a few idle frames, then taps (a touch marker on
the widget for one frame), each followed by the app's response (a highlighted cell, a flipped toggle, the next
screen). Apps: Alarm (hour and minute lists, Save), Chat (contacts, then a chat with quick replies above a
keyboard, text field, Send), Settings (four toggles), Music (playlists, then a now-playing screen with speakers).
The intent is only readable from *what changed where*: which cell the finger touched, which toggle flipped.

Every draw comes from the session's numpy Generator, so a session is a pure function of its seed. Frames are
drawn at RENDER pixels (real text in PIL's bundled font) and area-downsampled to the dataset's size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RENDER = 64  # side of the drawn screen, before downsampling

HOURS = ("6", "7", "8", "9")
MINUTES = ("00", "15", "30", "45")
CONTACTS = ("Ana", "Ben", "Cal", "Dee")
REPLIES = ("hi", "ok", "thanks", "on my way")
SETTINGS = ("wifi", "bluetooth", "airplane mode", "dark mode")
PLAYLISTS = ("jazz", "rock", "pop", "lofi")
SPEAKERS = ("phone", "kitchen", "car", "tv")

#: app -> the intent's phrasings; {a} and {b} are the two slots. The first phrasing is the canonical one.
PHRASINGS: dict[str, tuple[str, ...]] = {
    "alarm": ("set an alarm for {a}:{b}", "wake me up at {a}:{b}"),
    "chat": ("send {b} to {a}", "text {a} {b}"),
    "settings": ("turn {b} {a}", "switch {a} {b}"),
    "music": ("play {a} on the {b}", "put on {a} in the {b}"),
}
SLOTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "alarm": (HOURS, MINUTES),
    "chat": (CONTACTS, REPLIES),
    "settings": (SETTINGS, ("off", "on")),
    "music": (PLAYLISTS, SPEAKERS),
}
APPS = tuple(PHRASINGS)


@dataclass(frozen=True)
class Intent:
    """One user goal: an app and its two slot values (indices into SLOTS[app])."""

    app: str
    a: int
    b: int

    def texts(self) -> list[str]:
        """Every accepted phrasing, canonical first."""
        sa, sb = SLOTS[self.app]
        return [p.format(a=sa[self.a], b=sb[self.b]) for p in PHRASINGS[self.app]]


def all_intents() -> list[Intent]:
    return [Intent(app, a, b) for app in APPS for a in range(len(SLOTS[app][0])) for b in range(len(SLOTS[app][1]))]


def held_out(intent: Intent) -> bool:
    """Slot combinations kept for testing only: a Latin-square diagonal, so every slot value is still seen in
    training, only never in this combination (4 of 16 per list app, 2 of 8 settings)."""
    return (intent.a + intent.b) % 4 == 0


# ------------------------------------------------------------------------------------------------ drawing


@dataclass
class Theme:
    """Per-session look: nuisance the encoder must see through (colours, offset, status-bar clock)."""

    bg: tuple[int, int, int]
    fg: tuple[int, int, int]
    accent: tuple[int, int, int]
    dx: int
    dy: int
    clock: int


def random_theme(app: str, rng: np.random.Generator) -> Theme:
    base = {"alarm": (230, 120, 40), "chat": (40, 160, 90), "settings": (110, 110, 130), "music": (150, 60, 200)}[app]
    accent = tuple(int(np.clip(c + rng.integers(-40, 41), 0, 255)) for c in base)
    dark = bool(rng.random() < 0.5)
    shade = int(rng.integers(15, 50)) if dark else int(rng.integers(205, 245))
    fg = (225, 225, 225) if dark else (30, 30, 30)
    return Theme(
        (shade,) * 3,
        fg,
        accent,
        int(rng.integers(-2, 3)),
        int(rng.integers(-2, 3)),
        int(rng.integers(0, 24 * 60)),
    )


@functools.lru_cache(maxsize=1)
def _font():
    from PIL import ImageFont

    return ImageFont.load_default()  # bundled with Pillow: nothing to find or download


class Canvas:
    """One frame: PIL drawing with the session's offset applied, status bar and app header already drawn."""

    def __init__(self, theme: Theme, title: str) -> None:
        from PIL import Image, ImageDraw

        self.theme = theme
        self.image = Image.new("RGB", (RENDER, RENDER), theme.bg)
        self.draw = ImageDraw.Draw(self.image)
        self.font = _font()
        self.draw.rectangle((0, 0, RENDER, 5), fill=(0, 0, 0))
        self.text(2, -2, f"{theme.clock // 60:02d}:{theme.clock % 60:02d}", (200, 200, 200), offset=False)
        self.rect(0, 6, RENDER, 15, theme.accent, offset=False)
        self.text(3, 5, title, (255, 255, 255), offset=False)

    def _xy(self, x: float, y: float, offset: bool = True) -> tuple[float, float]:
        return (x + self.theme.dx, y + self.theme.dy) if offset else (x, y)

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: tuple[int, int, int],
        offset: bool = True,
        outline: tuple[int, int, int] | None = None,
    ) -> None:
        (a, b), (c, d) = self._xy(x0, y0, offset), self._xy(x1, y1, offset)
        self.draw.rectangle((a, b, c, d), fill=fill, outline=outline)

    def text(self, x: float, y: float, s: str, fill: tuple[int, int, int] | None = None, offset: bool = True) -> None:
        self.draw.text(self._xy(x, y, offset), s, fill=fill or self.theme.fg, font=self.font)

    def touch(self, x: float, y: float) -> None:
        """The touch marker of a screen recording: a filled white disc with a dark ring."""
        cx, cy = self._xy(x, y)
        self.draw.ellipse((cx - 5, cy - 5, cx + 5, cy + 5), fill=(255, 255, 255), outline=(0, 0, 0), width=2)

    def array(self) -> np.ndarray:
        return np.asarray(self.image, dtype=np.uint8)  # [RENDER, RENDER, 3]


Frame = Callable[[], Canvas]  # a deferred drawing; sessions are lists of these


def _list_rows(
    c: Canvas, labels: tuple[str, ...], x0: int, x1: int, chosen: int | None, y0: int = 18, h: int = 10
) -> None:
    for i, label in enumerate(labels):
        y = y0 + i * (h + 1)
        on = i == chosen
        c.rect(
            x0,
            y,
            x1,
            y + h - 1,
            c.theme.accent if on else tuple(min(255, v + 25) for v in c.theme.bg),
            outline=c.theme.fg if on else None,
        )
        c.text(x0 + 2, y - 1, label, (255, 255, 255) if on else None)


def _row_centre(i: int, x0: int, x1: int, y0: int = 18, h: int = 10) -> tuple[float, float]:
    return (x0 + x1) / 2, y0 + i * (h + 1) + h / 2


def alarm_frames(it: Intent, th: Theme) -> list[tuple[Frame, tuple[float, float] | None]]:
    """(drawing, touch point or None) per step: tap hour, tap minute, tap Save."""

    def screen(hour: int | None, minute: int | None, saved: bool) -> Canvas:
        c = Canvas(th, "Alarm")
        _list_rows(c, HOURS, 4, 28, hour)
        _list_rows(c, MINUTES, 34, 60, minute)
        c.rect(14, 54, 50, 62, (60, 180, 60) if saved else c.theme.accent)
        c.text(20, 52, "Saved" if saved else "Save", (255, 255, 255))
        return c

    return [
        (lambda: screen(None, None, False), None),
        (lambda: screen(None, None, False), _row_centre(it.a, 4, 28)),
        (lambda: screen(it.a, None, False), None),
        (lambda: screen(it.a, None, False), _row_centre(it.b, 34, 60)),
        (lambda: screen(it.a, it.b, False), None),
        (lambda: screen(it.a, it.b, False), (32, 58)),
        (lambda: screen(it.a, it.b, True), None),
    ]


def chat_frames(it: Intent, th: Theme) -> list[tuple[Frame, tuple[float, float] | None]]:
    """Tap a contact, tap a quick reply (it fills the text field), tap Send (the bubble appears)."""

    def contacts() -> Canvas:
        c = Canvas(th, "Chats")
        for i, name in enumerate(CONTACTS):
            y = 18 + i * 11
            c.draw.ellipse((*c._xy(4, y), *c._xy(12, y + 8)), fill=((60 * i + 80) % 256, 90, (200 - 40 * i) % 256))
            c.text(16, y - 1, name)
        return c

    def chat(reply: int | None, sent: bool) -> Canvas:
        c = Canvas(th, CONTACTS[it.a])
        if sent:
            c.rect(24, 18, 62, 26, c.theme.accent)
            c.text(26, 16, REPLIES[it.b], (255, 255, 255))
        for k in range(4):  # quick replies, 2 x 2 chips
            x, y = 2 + (k % 2) * 31, 31 + (k // 2) * 8
            c.rect(x, y, x + 28, y + 6, c.theme.accent if k == reply and not sent else (150, 150, 150))
        c.rect(2, 48, 50, 54, (255, 255, 255), outline=c.theme.fg)  # text field
        if reply is not None and not sent:
            c.text(3, 45, REPLIES[reply], (0, 0, 0))
        c.rect(52, 48, 62, 54, c.theme.accent)  # send
        for k in range(10):  # keyboard
            c.rect(1 + k * 6, 57, 5 + k * 6, 62, (120, 120, 120))
        return c

    chip = (2 + (it.b % 2) * 31 + 14, 31 + (it.b // 2) * 8 + 3)
    return [
        (contacts, None),
        (contacts, (30, 18 + it.a * 11 + 4)),
        (lambda: chat(None, False), None),
        (lambda: chat(None, False), chip),
        (lambda: chat(it.b, False), None),
        (lambda: chat(it.b, False), (57, 51)),
        (lambda: chat(None, True), None),
    ]


def settings_frames(it: Intent, th: Theme, rng: np.random.Generator) -> list[tuple[Frame, tuple[float, float] | None]]:
    """Four toggles in random initial states; the user flips one of them to the intent's state."""
    states = [bool(s) for s in rng.integers(0, 2, size=4)]
    states[it.a] = not bool(it.b)  # it starts opposite to where the user leaves it
    after = list(states)
    after[it.a] = bool(it.b)

    def screen(st: list[bool]) -> Canvas:
        c = Canvas(th, "Settings")
        for i, label in enumerate(SETTINGS):
            y = 18 + i * 11
            c.text(2, y - 1, label.split()[0][:8])
            c.rect(44, y + 1, 60, y + 8, c.theme.accent if st[i] else (120, 120, 120))
            kx = 53 if st[i] else 45
            c.rect(kx, y + 2, kx + 6, y + 7, (255, 255, 255))
        return c

    return [
        (lambda: screen(states), None),
        (lambda: screen(states), (52, 18 + it.a * 11 + 4)),
        (lambda: screen(after), None),
    ]


def music_frames(it: Intent, th: Theme) -> list[tuple[Frame, tuple[float, float] | None]]:
    """Tap a playlist (the now-playing screen opens), tap a speaker, tap Play."""

    def library() -> Canvas:
        c = Canvas(th, "Music")
        _list_rows(c, PLAYLISTS, 4, 60, None)
        return c

    def playing(speaker: int | None, play: bool) -> Canvas:
        c = Canvas(th, PLAYLISTS[it.a])
        c.rect(20, 18, 44, 36, tuple((v * 3 // 4) for v in c.theme.accent))  # cover art
        for k, name in enumerate(SPEAKERS):
            x = 2 + k * 15
            c.rect(x, 40, x + 13, 47, c.theme.accent if k == speaker else (130, 130, 130))
            c.text(x + 1, 38, name[:2], (255, 255, 255))
        c.rect(26, 51, 38, 61, (60, 180, 60) if play else c.theme.accent)
        if play:
            c.rect(2, 62, 40, 63, (255, 255, 255))
        return c

    return [
        (library, None),
        (library, _row_centre(it.a, 4, 60)),
        (lambda: playing(None, False), None),
        (lambda: playing(None, False), (2 + it.b * 15 + 7, 44)),
        (lambda: playing(it.b, False), None),
        (lambda: playing(it.b, False), (32, 56)),
        (lambda: playing(it.b, True), None),
    ]


def render_session(it: Intent, frames: int, rng: np.random.Generator) -> np.ndarray:
    """A screen recording of one session: uint8 [frames, RENDER, RENDER, 3].

    The first step (the app's opening screen) is held for a random number of frames; the last is held until
    the clip ends. A step with a touch point shows the touch marker on that frame only.
    """
    th = random_theme(it.app, rng)
    steps = {
        "alarm": lambda: alarm_frames(it, th),
        "chat": lambda: chat_frames(it, th),
        "settings": lambda: settings_frames(it, th, rng),
        "music": lambda: music_frames(it, th),
    }[it.app]()
    if len(steps) > frames:
        raise ValueError(f"a {it.app} session needs at least {len(steps)} frames, got {frames}")
    lead = int(rng.integers(0, frames - len(steps) + 1))
    steps = [steps[0]] * lead + steps + [steps[-1]] * (frames - len(steps) - lead)
    out = np.empty((frames, RENDER, RENDER, 3), dtype=np.uint8)
    for t, step in enumerate(steps):
        if t and step is steps[t - 1]:  # a held screen: same pixels
            out[t] = out[t - 1]
            continue
        draw, touch = step
        canvas = draw()
        if touch is not None:
            canvas.touch(*touch)
        out[t] = canvas.array()
    return out
