"""Promises of the project's own files: CI runs the test command that README gives a user."""
import os
import re

from conftest import ROOT


def read(name):
    with open(os.path.join(ROOT, name)) as f:
        return f.read()


def test_ci_and_install_run_the_test_command_readme_gives():
    block = re.search(r"Run the test suite:\n\n```\n(.*?)\n```", read("README.md")).group(1)
    install, command = block.split(" && ")
    assert install == "python3 -m pip install -r requirements-test.txt"
    assert command.startswith("python3 -m pytest tests")
    assert command in read(".ci/run").splitlines()  # as a line of its own: the one CI runs
    assert f"    {command}\n" in read("INSTALL.txt")
    if " -n " in command:  # two tests at a time needs pytest-xdist, which the test requirements install
        assert re.search(r"^pytest-xdist\b", read("requirements-test.txt"), re.M)
