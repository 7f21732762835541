"""README as a newcomer reads it: every link leads somewhere, and every example command it shows parses."""
import re
import shlex
from pathlib import Path

import pytest

from minigan import models
from minigan.training.cli import train_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def slug(heading):
    """The anchor GitHub and mkdocs give a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path):
    return {slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


LINKS = re.findall(r"\]\((?!https?:)([^)#\s]+)(?:#([^)\s]+))?\)", README)


@pytest.mark.parametrize("target, anchor", LINKS)
def test_every_link_leads_to_a_file_and_heading_that_exist(target, anchor):
    path = ROOT / target
    assert path.exists(), f"README links to {target}, which does not exist"
    if anchor:
        assert anchor in anchors(path), f"README links to {target}#{anchor}: no such heading there"


def test_the_readme_has_links_and_the_slug_is_githubs():
    assert len(LINKS) >= 10
    assert slug("The DCGAN's networks: dense layers around the convolutions") == (
        "the-dcgans-networks-dense-layers-around-the-convolutions")


COMMANDS = re.findall(r"^python examples/(train_\w+)\.py([^\n#]*)", README, re.M)


@pytest.mark.parametrize("script, flags", COMMANDS)
def test_every_training_command_it_shows_parses(script, flags):
    by_file = {models.label(name): name for name in models.names()}         # train_mlp_gan.py: model "mlp"
    train_parser(by_file[script[len("train_"):]]).parse_args(shlex.split(flags))   # argparse exits on a bad flag


def test_it_shows_the_two_commands_and_the_30_second_try():
    assert "pip install -e \".[dev]\" && python examples/train_mlp_gan.py" in README
    assert ". .venv/bin/activate && python -m pytest" in README
    assert ("train_mlp_gan", " --limit 512 --epochs 1 --out runs/try") in COMMANDS
