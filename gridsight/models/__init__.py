"""Models shipped with gridsight as package data.

``gridsight-synth.onnx`` is the bundled detector, trained only on the synthetic world
(``gridsight world train``); see ``MODEL_CARD.md`` next to it for what it can and
cannot see. ``gridsight-synth-int8.onnx`` is its int8 variant (``gridsight world quantize``;
its accuracy and latency against fp32 are in the card's int8 section).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from gridsight.core.errors import ModelError

BUNDLED_MODEL_FILE = "gridsight-synth.onnx"
BUNDLED_INT8_MODEL_FILE = "gridsight-synth-int8.onnx"
MODEL_CARD_FILE = "MODEL_CARD.md"


def bundled_model_path() -> Path:
    """Path of the bundled ONNX detector inside the installed package.

    Raises:
        ModelError: the file is missing (a broken install, or a checkout where the model
            has not been trained yet: run ``gridsight world train``).
    """
    resource = resources.files(__name__).joinpath(BUNDLED_MODEL_FILE)
    # The package is installed as files (editable or wheel, never zipped), so the
    # traversable is a real path that onnxruntime can open.
    path = Path(str(resource))
    if not path.is_file():
        raise ModelError(
            f"the bundled model {path} is missing; reinstall gridsight, or train it with "
            "'gridsight world train --install'"
        )
    return path


def model_card_path() -> Path:
    """Path of the bundled model's card (Markdown)."""
    return Path(str(resources.files(__name__).joinpath(MODEL_CARD_FILE)))
