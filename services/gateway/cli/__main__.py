"""``python -m services.gateway.cli``: the same as the ``ilm`` command."""
from services.gateway.cli import app

app(prog_name="ilm")
