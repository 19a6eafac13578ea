"""A store's theme settings as CSS custom properties, with colours derived for legibility.

Settings that name a `css_var` become properties on :root. From the main colours the sheet also
derives what keeps text readable whatever a store picks: text on the accent colour (white or
near-black, whichever contrasts more), the accent as link text darkened or lightened until it
reaches 4.5:1 on cards, muted text and hairlines blended from the text colour.
"""

from __future__ import annotations

import hashlib

from app.theming.manifest import Schema

MIN_TEXT_CONTRAST = 4.5  # WCAG 2.x AA for body text


def rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def to_hex(value: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in value)


def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(a: str, b: str, share_of_b: float) -> str:
    ra, rb = rgb(a), rgb(b)
    return to_hex(tuple(x + (y - x) * share_of_b for x, y in zip(ra, rb, strict=True)))


def readable_on(background: str) -> str:
    """White or near-black text, whichever contrasts more with `background`."""
    return max(("#ffffff", "#111827"), key=lambda ink: contrast(ink, background))


def legible(colour: str, against: str, minimum: float = MIN_TEXT_CONTRAST) -> str:
    """`colour`, moved towards black or white just enough to reach `minimum` on `against`."""
    if contrast(colour, against) >= minimum:
        return colour
    target = "#000000" if luminance(against) > 0.18 else "#ffffff"
    for step in range(1, 21):
        candidate = mix(colour, target, step / 20)
        if contrast(candidate, against) >= minimum:
            return candidate
    return target


def css_variables(schema: Schema, values: dict) -> dict[str, str]:
    """CSS custom property → value for every setting with a css_var, plus the derived ones."""
    props: dict[str, str] = {}
    for setting in schema.settings.values():
        if not setting.css_var:
            continue
        value = values.get(setting.id, setting.default)
        if setting.type == "colour":
            props[setting.css_var] = value
        elif setting.type == "range":
            props[setting.css_var] = f"{int(value)}{setting.unit}"
    surface = props.get("--surface", "#ffffff")
    ink = props.get("--ink")
    if "--accent" in props:
        props["--on-accent"] = readable_on(props["--accent"])
        props["--accent-text"] = legible(props["--accent"], surface)
    if ink:
        props["--muted"] = legible(mix(ink, surface, 0.4), surface)
        props["--line"] = mix(ink, surface, 0.85)
    if "--bg" in props and ink:
        props["--muted-on-bg"] = legible(mix(ink, props["--bg"], 0.4), props["--bg"])
    return props


def stylesheet(pack: str, props: dict[str, str]) -> str:
    body = ";".join(f"{name}:{value}" for name, value in props.items())
    return f"/* {pack}: this store's theme settings */\n:root{{{body}}}\n"


def fingerprint(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
