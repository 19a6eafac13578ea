"""Theme manifests (`theme.json`): the format, its validation on load, and the settings schema a
pack ends up with once it has inherited from the packs it extends.

A manifest names the pack and lists its settings in groups. A pack inherits the groups and
settings of the pack it extends (`_base` when it says nothing): a group or setting with the same
id replaces the inherited one in place, new ones are appended, and `defaults` changes default
values only. Every problem in every manifest is reported at once, with the file and the place in
it, when the application starts — a broken pack never reaches a storefront.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BASE_THEME = "_base"
MANIFEST = "theme.json"
SETTING_TYPES = (
    "colour", "image", "text", "richtext", "select", "checkbox", "range", "product", "category",
    "sections",
)  # fmt: skip
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PACK_RE = re.compile(r"^(?:_base|[a-z][a-z0-9-]{0,39})$")
OPTION_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
CSS_VAR_RE = re.compile(r"^--[a-z][a-z0-9-]{0,39}$")
STATIC_FILE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")

TOP_LEVEL = {
    "name", "version", "author", "description", "screenshot", "extends", "premium",
    "stylesheets", "settings_schema", "defaults",
}  # fmt: skip
COMMON_KEYS = {"id", "type", "label", "help", "default"}
TYPE_KEYS = {
    "colour": {"css_var"},
    "image": {"max_kb", "max_pixels"},
    "text": {"max_length"},
    "richtext": {"max_length"},
    "select": {"options"},
    "checkbox": set(),
    "range": {"min", "max", "step", "unit", "css_var"},
    "product": {"multiple", "max"},
    "category": set(),
    "sections": {"options"},
}
# Limits on what a manifest may ask for (they bound what a store can upload or type).
IMAGE_KB_RANGE = (16, 4096)
IMAGE_PIXELS_RANGE = (64, 6000)
TEXT_LENGTH_RANGE = (1, 500)
RICHTEXT_LENGTH_RANGE = (1, 20000)
PRODUCTS_RANGE = (1, 48)


class ManifestError(ValueError):
    """One or more manifests are invalid; `problems` lists each, with its file and place."""

    def __init__(self, problems: list[str]):
        super().__init__("invalid theme manifest:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Setting:
    """One typed setting of a pack's schema."""

    id: str
    type: str
    label: str
    help: str = ""
    default: Any = None
    options: tuple[tuple[str, str], ...] = ()  # (value, label) for select and sections
    css_var: str | None = None
    max_length: int = 0  # text, richtext
    max_kb: int = 0  # image
    max_pixels: int = 0  # image
    minimum: int = 0  # range
    maximum: int = 0  # range
    step: int = 1  # range
    unit: str = ""  # range
    multiple: bool = False  # product
    max_items: int = 1  # product

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.options)


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    settings: tuple[Setting, ...]


@dataclass(frozen=True)
class Schema:
    """A pack's settings after inheritance: groups in order, every setting id unique."""

    groups: tuple[Group, ...] = ()

    @property
    def settings(self) -> dict[str, Setting]:
        return {s.id: s for group in self.groups for s in group.settings}

    def defaults(self) -> dict[str, Any]:
        return {s.id: _copy(s.default) for group in self.groups for s in group.settings}


@dataclass(frozen=True)
class Theme:
    """A theme pack: its folder, what its manifest says, and its schema after inheritance."""

    name: str
    path: Path
    title: str
    extends: str | None
    version: str = "1.0.0"
    author: str = ""
    description: str = ""
    screenshot: str | None = None
    is_premium: bool = False
    stylesheets: tuple[str, ...] = ()
    schema: Schema = field(default_factory=Schema, compare=False)
    manifest: dict = field(default_factory=dict, hash=False, compare=False)


def _copy(value):
    return list(value) if isinstance(value, (list, tuple)) else value


# -- loading ---------------------------------------------------------------------------------------


def load_packs(themes_dir: Path) -> dict[str, Theme]:
    """Every pack under `themes_dir` (folders with a theme.json), validated; ManifestError lists
    every problem found."""
    problems: list[str] = []
    raw: dict[str, tuple[dict, str]] = {}
    for folder in sorted(p for p in themes_dir.iterdir() if p.is_dir()):
        manifest_file = folder / MANIFEST
        if not manifest_file.is_file():
            continue
        where = f"themes/{folder.name}/{MANIFEST}"
        if not PACK_RE.match(folder.name):
            problems.append(f"{where}: the folder name must be lower-case letters, digits and -")
            continue
        try:
            data = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{where}: not valid JSON ({error})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{where}: must be a JSON object")
            continue
        problems.extend(_check_top_level(data, where, folder))
        raw[folder.name] = (data, where)
    if BASE_THEME not in raw and not problems:
        problems.append(f"themes/{BASE_THEME}/{MANIFEST}: the base theme is missing")

    packs: dict[str, Theme] = {}

    def build(name: str, trail: tuple[str, ...]) -> Theme | None:
        if name in packs:
            return packs[name]
        data, where = raw[name]
        parent_name = data.get("extends") or (None if name == BASE_THEME else BASE_THEME)
        parent = None
        if parent_name is not None:
            if parent_name in trail:
                problems.append(f"{where}: extends {parent_name!r}, which leads back to {name!r}")
                return None
            if parent_name not in raw:
                problems.append(f"{where}: extends {parent_name!r}, which is not a theme pack")
                return None
            parent = build(parent_name, (*trail, name))
            if parent is None:
                return None
        schema = _merge_schema(
            parent.schema if parent else Schema(),
            data.get("settings_schema") or [],
            where,
            problems,
        )
        schema = _apply_defaults(schema, data.get("defaults") or {}, where, problems)
        # Inherited stylesheets first, each served from the pack that has it (theme_static).
        inherited = parent.stylesheets if parent else ()
        own = tuple(s for s in data.get("stylesheets") or () if s not in inherited)
        packs[name] = Theme(
            name=name,
            path=themes_dir / name,
            title=data.get("name", name) if isinstance(data.get("name"), str) else name,
            extends=parent_name,
            version=str(data.get("version", "1.0.0")),
            author=str(data.get("author", "")),
            description=str(data.get("description", "")),
            screenshot=data.get("screenshot") or None,
            is_premium=bool(data.get("premium", False)),
            stylesheets=inherited + own,
            schema=schema,
            manifest=data,
        )
        return packs[name]

    for name in raw:
        build(name, ())
    if problems:
        raise ManifestError(problems)
    return packs


def _check_top_level(data: dict, where: str, folder: Path) -> list[str]:
    problems = [f"{where}: unknown key {key!r}" for key in sorted(set(data) - TOP_LEVEL)]
    for key in ("name", "version", "author", "description"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: {key!r} must be a non-empty string")
    if isinstance(data.get("version"), str) and not VERSION_RE.match(data["version"]):
        problems.append(f"{where}: 'version' must look like 1.2.3")
    if isinstance(data.get("name"), str) and len(data["name"]) > 60:
        problems.append(f"{where}: 'name' must be at most 60 characters")
    extends = data.get("extends")
    if extends is not None and not (isinstance(extends, str) and PACK_RE.match(extends)):
        problems.append(f"{where}: 'extends' must be a pack name or null")
    if folder.name == BASE_THEME and extends:
        problems.append(f"{where}: the base theme cannot extend another pack")
    if not isinstance(data.get("premium", False), bool):
        problems.append(f"{where}: 'premium' must be true or false")
    screenshot = data.get("screenshot")
    if screenshot is not None:
        if not (isinstance(screenshot, str) and STATIC_FILE_RE.match(screenshot)):
            problems.append(f"{where}: 'screenshot' must be a file name in static/")
        elif not (folder / "static" / screenshot).is_file():
            problems.append(f"{where}: screenshot static/{screenshot} does not exist")
    stylesheets = data.get("stylesheets", [])
    if not isinstance(stylesheets, list):
        problems.append(f"{where}: 'stylesheets' must be a list of file names in static/")
    else:
        for name in stylesheets:
            if not (isinstance(name, str) and STATIC_FILE_RE.match(name) and name.endswith(".css")):
                problems.append(f"{where}: stylesheet {name!r} must be a .css file name")
            elif not (folder / "static" / name).is_file():
                problems.append(f"{where}: stylesheet static/{name} does not exist")
    if not isinstance(data.get("settings_schema", []), list):
        problems.append(f"{where}: 'settings_schema' must be a list of groups")
    if not isinstance(data.get("defaults", {}), dict):
        problems.append(f"{where}: 'defaults' must be an object of setting id → value")
    return problems


# -- the schema ------------------------------------------------------------------------------------


def _merge_schema(parent: Schema, raw_groups: list, where: str, problems: list[str]) -> Schema:
    groups: list[list] = [[g.id, g.label, {s.id: s for s in g.settings}] for g in parent.groups]
    if not isinstance(raw_groups, list):
        return parent
    for gi, raw_group in enumerate(raw_groups):
        place = f"{where}: settings_schema[{gi}]"
        if not isinstance(raw_group, dict):
            problems.append(f"{place} must be an object")
            continue
        unknown = set(raw_group) - {"id", "label", "settings"}
        problems.extend(f"{place}: unknown key {key!r}" for key in sorted(unknown))
        group_id, label = raw_group.get("id"), raw_group.get("label")
        if not (isinstance(group_id, str) and ID_RE.match(group_id)):
            problems.append(f"{place}: 'id' must be lower-case letters, digits and _")
            continue
        place = f"{where}: group {group_id!r}"
        if not (isinstance(label, str) and 0 < len(label) <= 80):
            problems.append(f"{place}: 'label' must be a string of 1 to 80 characters")
            continue
        existing = next((g for g in groups if g[0] == group_id), None)
        if existing is None:
            existing = [group_id, label, {}]
            groups.append(existing)
        existing[1] = label
        raw_settings = raw_group.get("settings", [])
        if not isinstance(raw_settings, list):
            problems.append(f"{place}: 'settings' must be a list")
            continue
        for si, raw_setting in enumerate(raw_settings):
            setting = parse_setting(raw_setting, f"{place}, settings[{si}]", problems)
            if setting is None:
                continue
            elsewhere = next(
                (g[0] for g in groups if g is not existing and setting.id in g[2]), None
            )
            if elsewhere is not None:
                problems.append(
                    f"{place}: setting {setting.id!r} is already in group {elsewhere!r}"
                )
                continue
            existing[2][setting.id] = setting
    return Schema(tuple(Group(gid, label, tuple(s.values())) for gid, label, s in groups))


def _apply_defaults(schema: Schema, defaults: dict, where: str, problems: list[str]) -> Schema:
    if not defaults or not isinstance(defaults, dict):
        return schema
    settings = schema.settings
    changed = {}
    for setting_id, value in defaults.items():
        setting = settings.get(setting_id)
        if setting is None:
            problems.append(f"{where}: defaults: {setting_id!r} is not a setting of this pack")
            continue
        problem = default_problem(setting, value)
        if problem:
            problems.append(f"{where}: defaults: {setting_id!r}: {problem}")
            continue
        changed[setting_id] = dataclasses.replace(setting, default=_frozen(value))
    return Schema(
        tuple(
            Group(g.id, g.label, tuple(changed.get(s.id, s) for s in g.settings))
            for g in schema.groups
        )
    )


def _frozen(value):
    return tuple(value) if isinstance(value, list) else value


def _int_in(raw: dict, key: str, bounds: tuple[int, int], default: int, place, problems) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not bounds[0] <= value <= bounds[1]:
        problems.append(f"{place}: {key!r} must be a whole number from {bounds[0]} to {bounds[1]}")
        return default
    return value


def _options(raw: dict, place: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    options = raw.get("options")
    if not isinstance(options, list) or not options:
        problems.append(f"{place}: 'options' must be a non-empty list of {{value, label}}")
        return ()
    parsed = []
    for oi, option in enumerate(options):
        ok = (
            isinstance(option, dict)
            and set(option) == {"value", "label"}
            and isinstance(option["value"], str)
            and OPTION_RE.match(option["value"])
            and isinstance(option["label"], str)
            and 0 < len(option["label"]) <= 80
        )
        if not ok:
            problems.append(f"{place}: options[{oi}] must be {{value: lower-case id, label: text}}")
            continue
        parsed.append((option["value"], option["label"]))
    values = [value for value, _ in parsed]
    if len(set(values)) != len(values):
        problems.append(f"{place}: option values must be unique")
    return tuple(parsed)


def parse_setting(raw, place: str, problems: list[str]) -> Setting | None:
    """One setting from its manifest form; problems are appended, None when unusable."""
    if not isinstance(raw, dict):
        problems.append(f"{place} must be an object")
        return None
    setting_id, kind = raw.get("id"), raw.get("type")
    if not (isinstance(setting_id, str) and ID_RE.match(setting_id)):
        problems.append(f"{place}: 'id' must be lower-case letters, digits and _ (max 40)")
        return None
    place = f"{place} {setting_id!r}"
    if kind not in SETTING_TYPES:
        problems.append(f"{place}: 'type' must be one of {', '.join(SETTING_TYPES)}")
        return None
    count = len(problems)
    unknown = set(raw) - COMMON_KEYS - TYPE_KEYS[kind]
    problems.extend(f"{place}: unknown key {key!r} for a {kind}" for key in sorted(unknown))
    label, help_text = raw.get("label"), raw.get("help", "")
    if not (isinstance(label, str) and 0 < len(label) <= 80):
        problems.append(f"{place}: 'label' must be a string of 1 to 80 characters")
    if not (isinstance(help_text, str) and len(help_text) <= 300):
        problems.append(f"{place}: 'help' must be a string of at most 300 characters")
    css_var = raw.get("css_var")
    if css_var is not None and not (isinstance(css_var, str) and CSS_VAR_RE.match(css_var)):
        problems.append(f"{place}: 'css_var' must look like --accent")
    values: dict[str, Any] = {}
    if kind == "image":
        values["max_kb"] = _int_in(raw, "max_kb", IMAGE_KB_RANGE, 1024, place, problems)
        values["max_pixels"] = _int_in(raw, "max_pixels", IMAGE_PIXELS_RANGE, 2400, place, problems)
    elif kind in ("text", "richtext"):
        bounds = TEXT_LENGTH_RANGE if kind == "text" else RICHTEXT_LENGTH_RANGE
        values["max_length"] = _int_in(raw, "max_length", bounds, bounds[1] // 2, place, problems)
    elif kind in ("select", "sections"):
        values["options"] = _options(raw, place, problems)
    elif kind == "range":
        for key in ("min", "max"):
            if not isinstance(raw.get(key), int) or isinstance(raw.get(key), bool):
                problems.append(f"{place}: {key!r} must be a whole number")
        step = raw.get("step", 1)
        if not isinstance(step, int) or isinstance(step, bool) or step <= 0:
            problems.append(f"{place}: 'step' must be a positive whole number")
        unit = raw.get("unit", "")
        if unit not in ("", "px", "%", "rem", "em"):
            problems.append(f"{place}: 'unit' must be one of px, %, rem, em or empty")
        if len(problems) == count:
            if raw["min"] >= raw["max"]:
                problems.append(f"{place}: 'min' must be below 'max'")
            values.update(minimum=raw["min"], maximum=raw["max"], step=step, unit=unit)
    elif kind == "product":
        multiple = raw.get("multiple", False)
        if not isinstance(multiple, bool):
            problems.append(f"{place}: 'multiple' must be true or false")
        values["multiple"] = bool(multiple)
        values["max_items"] = (
            _int_in(raw, "max", PRODUCTS_RANGE, 8, place, problems) if multiple else 1
        )
    if len(problems) != count:
        return None
    setting = Setting(
        id=setting_id,
        type=kind,
        label=label,
        help=help_text,
        css_var=css_var,
        **values,
    )
    default = raw["default"] if "default" in raw else implicit_default(setting)
    problem = default_problem(setting, default)
    if problem:
        problems.append(f"{place}: 'default': {problem}")
        return None
    return dataclasses.replace(setting, default=_frozen(default))


def implicit_default(setting: Setting):
    """The default of a setting whose manifest gives none."""
    return {
        "text": "",
        "richtext": "",
        "checkbox": False,
        "select": setting.options[0][0] if setting.options else None,
        "range": setting.minimum,
        "sections": list(setting.option_values),
        "product": [] if setting.multiple else None,
    }.get(setting.type)


def default_problem(setting: Setting, value) -> str | None:
    """Why `value` cannot be this setting's default (None when it can)."""
    kind = setting.type
    if kind == "colour":
        if not (isinstance(value, str) and COLOUR_RE.match(value)):
            return "a colour needs a default like #1a2b3c"
    elif kind in ("image", "category"):
        if value is not None:
            return f"a {kind} setting's default must be null"
    elif kind in ("text", "richtext"):
        if not isinstance(value, str) or len(value) > setting.max_length:
            return f"must be text of at most {setting.max_length} characters"
    elif kind == "select":
        if value not in setting.option_values:
            return "must be one of the option values"
    elif kind == "checkbox":
        if not isinstance(value, bool):
            return "must be true or false"
    elif kind == "range":
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not setting.minimum <= value <= setting.maximum
            or (value - setting.minimum) % setting.step
        ):
            return f"must be a step of the range {setting.minimum}–{setting.maximum}"
    elif kind == "product":
        if setting.multiple and value not in ([], ()):
            return "a product list's default must be empty"
        if not setting.multiple and value is not None:
            return "a product setting's default must be null"
    elif kind == "sections" and (
        not isinstance(value, (list, tuple))
        or len(set(value)) != len(value)
        or any(v not in setting.option_values for v in value)
    ):
        return "must list option values, each at most once"
    return None


# -- translation catalogs --------------------------------------------------------------------------


def extract_messages(fileobj, keywords, comment_tags, options):
    """Babel extractor for theme.json: pack names, descriptions and every label and help text.

    Mapped in babel.cfg, so `make extract-messages` puts them in the catalogs; templates then
    translate them with `_()` at render time."""
    text = fileobj.read().decode("utf-8")
    data = json.loads(text)
    lines = text.splitlines()

    def line_of(message: str) -> int:
        needle = json.dumps(message, ensure_ascii=False)
        return next((i + 1 for i, line in enumerate(lines) if needle in line), 1)

    messages = [data.get("name"), data.get("description")]
    for group in data.get("settings_schema") or []:
        messages.append(group.get("label"))
        for setting in group.get("settings") or []:
            messages.extend((setting.get("label"), setting.get("help")))
            messages.extend(option.get("label") for option in setting.get("options") or [])
    seen = set()
    for message in messages:
        if isinstance(message, str) and message and message not in seen:
            seen.add(message)
            yield line_of(message), None, message, []
