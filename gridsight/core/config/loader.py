"""Loading YAML into config models with errors that name the file, the line and the field.

PyYAML's node tree keeps the line and column of every key and value. The loader composes
that tree, builds plain Python data from it, validates the data with a pydantic model,
and maps each validation error's location (``("cameras", 3, "zones", 0, "points")``)
back to the node it came from::

    configs/jingqiao.yaml:212:9: cameras[3].zones[0].points: the polygon is
    self-intersecting: edge 0 (point 0 -> 1) crosses edge 2 (point 2 -> 3); ...

A misspelt key is an error naming it and the closest allowed key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gridsight.core.config.base import Loc, StrictModel, format_loc
from gridsight.core.config.validation import validation_problems
from gridsight.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

# Errors beyond this many are summarised: a badly broken file would otherwise print
# hundreds of lines, and the first few are what the user fixes first anyway.
MAX_ERRORS = 20


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a value sits in a file: 1-based line and column, and its readable path."""

    line: int
    column: int
    path: str


class SourceMap:
    """The YAML node tree of a loaded file, to find the line of any value by its path."""

    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source = source
        self.root = root

    def locate(self, loc: Loc) -> tuple[Mark, Loc]:
        """The position of the value at ``loc`` (or of its deepest existing parent).

        Returns the mark and the cleaned path: the parts of ``loc`` that exist in the
        document, plus a final missing key (the name of a missing field). Parts that
        pydantic inserts for unions (the tag ``polygon``, ``list[...]``) are dropped.
        """
        node = self.root
        kept: list[str | int] = []
        key_node: yaml.Node | None = None
        found_last = True
        for k, part in enumerate(loc):
            child, child_key = _child(node, part)
            if child is not None:
                node, key_node = child, child_key
                kept.append(part)
            elif k == len(loc) - 1:
                kept.append(part)
                found_last = False
        # An existing key: point at the key (where a reader looks for a typo, and where a
        # nested block starts). A list item: at the item. A missing key: at its parent.
        target = key_node if (found_last and key_node is not None) else node
        path = format_loc(tuple(kept))
        if target is None:
            return Mark(1, 1, path), tuple(kept)
        mark = target.start_mark
        return Mark(mark.line + 1, mark.column + 1, path), tuple(kept)

    def where(self, loc: Loc) -> str:
        """``file:line:col: path`` for a location."""
        mark, _ = self.locate(loc)
        return f"{self.source}:{mark.line}:{mark.column}: {mark.path}"


def _mapping_items(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    """Key/value node pairs of a mapping, following ``<<`` merge keys (own keys first)."""
    merged: list[yaml.Node] = []
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            merged.append(value)
        else:
            yield key, value
    for value in merged:
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for src in sources:
            if isinstance(src, yaml.MappingNode):
                yield from _mapping_items(src)


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    """The value node (and key node) under ``part``, or (None, None)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in _mapping_items(node):
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value, key
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part], None
    return None, None


def _duplicate_keys(node: yaml.Node, source: str) -> list[str]:
    """``file:line`` messages for keys written twice in one mapping (YAML keeps the last)."""
    out: list[str] = []
    seen_nodes: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen_nodes:  # an alias points at a node already checked
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key, value in n.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in first:
                        m = key.start_mark
                        before = first[key.value].start_mark.line + 1
                        out.append(
                            f"{source}:{m.line + 1}:{m.column + 1}: key {key.value!r} is written "
                            f"twice in one mapping (first on line {before}); "
                            "YAML would silently keep only the last one"
                        )
                    else:
                        first[key.value] = key
                stack.append(value)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return out


def format_validation_error(
    exc: ValidationError, model: type[BaseModel], smap: SourceMap, *, what: str = "config"
) -> str:
    """The multi-line message of a :class:`ConfigError` for a failed validation."""
    lines = []
    for loc, message in validation_problems(exc, model):
        mark, _ = smap.locate(loc)
        lines.append(f"{smap.source}:{mark.line}:{mark.column}: {mark.path}: {message}")
    total = len(lines)
    if total > MAX_ERRORS:
        lines = [*lines[:MAX_ERRORS], f"... and {total - MAX_ERRORS} more"]
    head = f"invalid {what} {smap.source} ({total} problem{'s' if total != 1 else ''}):"
    return head + "\n  " + "\n  ".join(lines) if total > 1 else lines[0]


def source_map(model: BaseModel) -> SourceMap | None:
    """The source map of a model loaded from YAML by this module (it travels with the
    model, copies included), else None."""
    smap = getattr(model, "_source_map", None)
    return smap if isinstance(smap, SourceMap) else None


def parse_yaml_model(text: str, model: type[M], *, source: str = "<string>") -> M:
    """Validate YAML text against ``model``.

    Args:
        text: the YAML document.
        model: the pydantic model class of the whole document.
        source: the name used in messages (normally the file path).

    Raises:
        ConfigError: the YAML is malformed or does not fit the model; the message names
            ``source:line:column``, the field path and what was expected.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{source}: the file is empty; expected a YAML mapping")
        duplicate = _duplicate_keys(root, source)
        if duplicate:
            raise ConfigError("\n".join(duplicate))
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML error: {exc}") from exc
    finally:
        loader.dispose()
    smap = SourceMap(source, root)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}:1:1: expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, smap)) from None
    if isinstance(obj, StrictModel):
        obj._source_map = smap
    return obj


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Load a YAML file into ``model`` (any pydantic model, e.g. a simulation scenario).

    Raises:
        ConfigError: the file is missing, malformed, or does not fit the model; the
            message names the file, line, field path and what was expected.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the config file: {exc}") from exc
    return parse_yaml_model(text, model, source=str(p))
