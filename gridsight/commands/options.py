"""Click options shared by several commands, declared once.

Each function returns a decorator, so a command reads as its list of options::

    @click.command()
    @options.detector()                      # --model and --backend
    @options.duration(default=None, help="Seconds of stream time (--fast).")
    @options.threads()
    @options.quiet()
    @options.as_json(help="Print the report as JSON.")
    def report(model, backend, duration, threads, quiet, as_json): ...

The parameter names they give the command are fixed (``model``, ``backend``,
``duration``, ``seed``, ``threads``, ``quiet``, ``as_json``, ``split``, ``out``), so a
new command that uses them gets the same names, flags, types, defaults and help as the
others. ``--notify`` lives in :mod:`gridsight.commands.notify_option`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: The inference backends a command line may name (a plugin's backend: through a config).
BACKENDS: tuple[str, ...] = ("auto", "onnxruntime", "opencv", "tensorrt")

MODEL_HELP = "ONNX file or registered detector name (default: the bundled detector)."


def _stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(f: F) -> F:
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


def model(help: str = MODEL_HELP) -> Callable[[F], F]:
    """``--model NAME|PATH`` (``model: str | None``), resolved by ``resolve_model``."""
    return click.option("--model", default=None, help=help)


def backend() -> Callable[[F], F]:
    """``--backend`` (``backend: str``), one of :data:`BACKENDS`, default ``auto``."""
    return click.option(
        "--backend",
        type=click.Choice(list(BACKENDS)),
        default="auto",
        show_default=True,
        help="Inference backend; auto picks the best validated one installed.",
    )


def detector(model_help: str = MODEL_HELP) -> Callable[[F], F]:
    """``--backend`` and ``--model``: which detector runs, on what."""
    return _stack(backend(), model(model_help))


def parse_names(text: str) -> tuple[str, ...]:
    """Class names from ``--names``: comma-separated, or a file (a name per line, or a
    YOLO ``data.yaml`` whose ``names`` is a list or an ``{id: name}`` mapping).

    Raises:
        click.BadParameter: an empty list, or a file that holds no names.
    """
    path = Path(text)
    if path.is_file():
        raw = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            doc = yaml.safe_load(raw) or {}
            found = doc.get("names") if isinstance(doc, dict) else None
            if isinstance(found, dict):
                found = [found[k] for k in sorted(found)]
            names = tuple(str(n).strip() for n in found or ())
        else:
            names = tuple(line.strip() for line in raw.splitlines() if line.strip())
    else:
        names = tuple(n.strip() for n in text.split(","))
    if not names or not all(names):
        raise click.BadParameter(
            f"{text!r}: expected comma-separated class names (person,car,...) or a file of them"
        )
    return names


def names() -> Callable[[F], F]:
    """``--names LIST|FILE`` (``names: tuple[str, ...] | None``): the model's class names,
    in class order, checked against the model's output when it loads."""
    return click.option(
        "--names",
        callback=lambda ctx, param, value: None if value is None else parse_names(value),
        metavar="LIST|FILE",
        help="The model's class names in class order: comma-separated, or a file (one per "
        "line, or a YOLO data.yaml). Checked against the model's class count at load. "
        "Default: the config's detector.names, else the model's metadata.",
    )


def _option_value(text: str) -> Any:
    """``true``/``false``, an int, a float, else the text itself."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _parse_backend_options(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"{item!r} is not KEY=VALUE (e.g. intra_op_threads=2 or allow_spinning=false)",
                ctx=ctx,
                param=param,
            )
        parsed[key.strip()] = _option_value(value)
    return parsed


def backend_options() -> Callable[[F], F]:
    """``--backend-option KEY=VALUE`` (repeatable; ``backend_options: dict``), passed to
    the backend's ``load``, which refuses an unknown key and lists the known ones."""
    return click.option(
        "--backend-option",
        "backend_options",
        multiple=True,
        callback=_parse_backend_options,
        metavar="KEY=VALUE",
        help="Backend setting, repeatable; onnxruntime: intra_op_threads=N, "
        "inter_op_threads=N, allow_spinning=true|false, graph_optimization=all|extended|"
        "basic|disable.",
    )


def duration(*, default: float | None, help: str, short: bool = False) -> Callable[[F], F]:
    """``--duration SECONDS`` (``duration: float | None``), positive; ``-d`` with ``short``."""
    return click.option(
        "--duration",
        *(["-d"] if short else []),
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=default is not None,
        help=help,
    )


def seed(*, default: int, help: str | None = None) -> Callable[[F], F]:
    """``--seed N`` (``seed: int``), non-negative."""
    return click.option(
        "--seed", type=click.IntRange(min=0), default=default, show_default=True, help=help
    )


def threads(help: str | None = None) -> Callable[[F], F]:
    """``--threads N`` (``threads: int``): CPU threads for inference/evaluation (default 2)."""
    return click.option(
        "--threads", type=click.IntRange(min=1), default=2, show_default=True, help=help
    )


def quiet() -> Callable[[F], F]:
    """``--quiet`` (``quiet: bool``): no progress bars."""
    return click.option("--quiet", is_flag=True, help="No progress bars.")


def as_json(help: str = "Print JSON instead of a table.") -> Callable[[F], F]:
    """``--json`` (``as_json: bool``)."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def split(default: str = "test") -> Callable[[F], F]:
    """``--split NAME`` (``split: str``): the dataset split to evaluate on."""
    return click.option("--split", default=default, show_default=True, help="Dataset split.")


def out_dir(*, default: Path | None, help: str) -> Callable[[F], F]:
    """``--out DIR`` (``out: Path``): a folder for a command's outputs."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        show_default=default is not None,
        required=default is None,
        help=help,
    )
