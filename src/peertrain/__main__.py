"""``python -m peertrain``: the same as the ``peertrain`` command."""

from peertrain.cli import run

run()
