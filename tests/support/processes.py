"""Starting `o11y` commands as separate processes, with only the configuration a test gives them."""

from __future__ import annotations

import os


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any O11Y_ variable, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("O11Y_")}
    env.update(values)
    return env
