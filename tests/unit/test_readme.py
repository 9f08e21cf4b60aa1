"""The README is part of the product: its configuration table is the code's."""
from pathlib import Path

from shared.config import markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_config_table_matches_shared_config():
    assert markdown_table() in README.read_text(), "regenerate with: python -m shared.config"


def test_readme_starts_with_the_two_commands():
    text = README.read_text()
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    assert "scripts/run-local.sh" in first_block and "scripts/test.sh" in first_block
    assert "scripts/test.sh" in (README.parent / ".ci" / "run").read_text()
