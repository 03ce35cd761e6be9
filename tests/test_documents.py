"""Promises of the documents: every command README.md, INSTALL.txt, mlengine/README.md and the
notebook's text give a user works as written, from the folder they say."""
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT, clean_env, run_in_one_process

DOCUMENTS = ["README.md", "INSTALL.txt", "mlengine/README.md", "tensorflow-mnist-tutorial/codelab.ipynb"]
STARTS = re.compile(r"^(?:python3?|cd|%run) ")
CLONE = "tensorflow-without-a-phd"  # the folder INSTALL.txt clones into
# what only a user's own machine or the cloud can run: installers, servers, the suite itself
NOT_OURS = ("pip", "pytest", "jupyterlab", "venv", "ipykernel", "build")


def document_text(name):
    with open(os.path.join(ROOT, name)) as f:
        text = f.read()
    if name.endswith(".ipynb"):  # its text, and its %run cells as blocks of code
        text = "\n".join("".join(cell["source"]) if cell["cell_type"] == "markdown"
                         else "```\ncd tensorflow-mnist-tutorial\n" + "".join(cell["source"]) + "\n```"
                         for cell in json.loads(text)["cells"])
    return text


def command_lines(name, text):
    """(folder, command) for each command line a user would type: lines of code blocks (fenced in
    Markdown, indented in INSTALL.txt) and inline `python3 ...` in the prose. A `cd` in a block
    moves the rest of that block; mlengine/README.md's blocks start in the top folder."""
    found = []
    blocks = re.findall(r"^ *```[^\n]*\n(.*?)^ *```", text, re.M | re.S) if not name.endswith(".txt") else \
        re.findall(r"((?:^ {4,}\S.*\n)+)", text, re.M)  # runs of indented lines
    for block in blocks:
        folder = ROOT
        for line in block.splitlines():
            line = line.strip()
            if not STARTS.match(line):
                continue
            for segment in re.split(r"\s*&&\s*", re.sub(r"\s+#.*$", "", line)):
                if segment == "cd " + CLONE:  # INSTALL.txt's git clone puts the repository there
                    folder = ROOT
                elif segment.startswith("cd "):
                    folder = os.path.normpath(os.path.join(folder, segment[3:].strip()))
                elif STARTS.match(segment):
                    found.append((folder, segment))
    for span in re.findall(r"`((?:python3?|%run|cd) [^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S)):
        folder = ROOT if name != "mlengine/README.md" else os.path.join(ROOT, "mlengine")
        for segment in re.split(r"\s*&&\s*", span):
            if segment.startswith("cd "):
                folder = os.path.normpath(os.path.join(folder, segment[3:].strip()))
            elif STARTS.match(segment):
                found.append((folder, segment))
    return found


HELPS = {}  # (folder, program): what `python3 PROGRAM --help` gave there


def help_text(folder, program):
    """What `python3 PROGRAM --help` prints (program: a path, or "-m module")."""
    if (folder, program) not in HELPS:
        fetch_helps([(folder, program)])
    return HELPS[folder, program]


def fetch_helps(wanted):
    """The --help of many programs at once: the scripts' in one process, a module's in its own."""
    wanted = sorted(set(wanted) - set(HELPS))
    for folder, program in [(folder, program) for folder, program in wanted if program.startswith("-m ")]:
        done = subprocess.run([sys.executable, *program.split(" ", 1), "--help"], cwd=folder, env=clean_env(),
                              capture_output=True, text=True, timeout=300)
        HELPS[folder, program] = done.returncode, done.stdout + done.stderr
    scripts = [(folder, program) for folder, program in wanted if not program.startswith("-m ")]
    lines = [(os.path.join(folder, program.split()[0]), [*program.split()[1:], "--help"]) for folder, program in scripts]
    for key, done in zip(scripts, run_in_one_process(lines) if lines else []):
        HELPS[key] = done.returncode, done.stdout + done.stderr


def problems_of(folder, command, help_text=help_text):
    """What is wrong with one command: a file it names that is not there, a flag its program does
    not have; an empty list when it would run."""
    if "$" in command or "..." in command or "<" in command:
        return []  # a shell variable or a placeholder: the user fills it in
    words = shlex.split(command)
    if words[0] == "%run":
        words[0] = "python3"
    if words[1] == "-c":
        return []
    if words[1] == "-m":
        module, flags = words[2], words[3:]
        if module.split(".")[0] in NOT_OURS:
            return []
        program = f"-m {module}"
        path = os.path.join(folder, *module.split(".")) + ".py"
        if not os.path.exists(path):
            return [f"{command!r} from {os.path.relpath(folder, ROOT)}: no module {module} there"]
    else:
        program, flags = words[1], words[2:]
        if not os.path.isfile(os.path.join(folder, program)):
            return [f"{command!r} from {os.path.relpath(folder, ROOT)}: no file {program}"]
    if re.fullmatch(r"(.*/)?mnist_\d+\.\d+_\w+\.py", program):  # every lesson has training.setup's flags
        folder, program = ROOT, "tensorflow-mnist-tutorial/mnist_1.0_softmax.py"
    elif re.fullmatch(r"(.*/)?(keras|tf2)_\d+\.\d+_\w+\.py", program):  # every twin keras_training.setup's
        folder, program = ROOT, "tensorflow-mnist-tutorial/keras_1.0_softmax.py"
    with open(path if words[1] == "-m" else os.path.join(folder, program)) as f:
        if "ArgumentParser" not in f.read() and not program.endswith("_1.0_softmax.py"):
            return [f"{command!r}: {program} takes no flags and no --help"] if flags else []
    if program.endswith("experiments.py") and flags and not flags[0].startswith("-"):
        program, flags = f"{program} {flags[0]}", flags[1:]  # an experiment has flags of its own
    status, usage = help_text(folder, program)
    if status != 0:
        return [f"{command!r}: --help fails: {usage.strip().splitlines()[-1:]}"]
    return [f"{command!r}: {program} has no flag {flag}" for flag in flags
            if flag.startswith("--") and flag.split("=")[0] not in usage]


def problems(name, text):
    wanted = []  # first the programs whose --help is read, to read them all at once
    for folder, command in command_lines(name, text):
        problems_of(folder, command, help_text=lambda *key: wanted.append(key) or (0, ""))
        if name == "mlengine/README.md":
            problems_of(ROOT, command, help_text=lambda *key: wanted.append(key) or (0, ""))
    fetch_helps(wanted)
    found = []
    for folder, command in command_lines(name, text):
        wrong = problems_of(folder, command)
        if wrong and name == "mlengine/README.md" and folder == os.path.join(ROOT, "mlengine"):
            wrong = wrong if problems_of(ROOT, command) else []  # its prose names both folders
        found += wrong
    return found


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_command_in_the_documents_names_what_exists_with_flags_it_has(name):
    commands = command_lines(name, document_text(name))
    assert len(commands) >= 3, commands  # the reader finds commands here: so does this test
    assert problems(name, document_text(name)) == []


def test_a_misspelt_flag_in_a_copy_of_the_readme_is_caught():
    text = document_text("README.md").replace("--save-model models/3.1", "--save-modle models/3.1")
    assert any("has no flag --save-modle" in problem for problem in problems("README.md", text))
    text = document_text("README.md").replace("draw.py --model", "drawing.py --model")
    assert any("no file tensorflow-mnist-tutorial/drawing.py" in problem for problem in problems("README.md", text))


def test_the_short_commands_run_as_written(mnist):
    # the checks INSTALL.txt gives, and the first steps of mlengine/README.md, that take seconds
    short = [(ROOT, "python3 tensorflow-mnist-tutorial/mnist_tutorial/mnistdata.py"),
             (os.path.join(ROOT, "mlengine"), "python3 digits.py --output /tmp/test-documents-digits.json")]
    texts = {name: document_text(name) for name in DOCUMENTS}
    assert "python3 tensorflow-mnist-tutorial/mnist_tutorial/mnistdata.py" in texts["INSTALL.txt"]
    assert "python3 digits.py" in texts["mlengine/README.md"]
    for folder, command in short:
        done = subprocess.run(shlex.split(command.replace("python3", sys.executable, 1)), cwd=folder,
                              env=clean_env(), capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (command, done.stderr[-2000:])


def test_the_pictures_are_made_by_one_command_from_the_current_code(mnist, tmp_path):
    # the quickest part, into a folder of the test's own: the committed pictures stay as they are
    done = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "make_pictures.py"), "panels",
                           "--output", str(tmp_path)], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    import matplotlib.image
    panels = matplotlib.image.imread(tmp_path / "mnist_2.1_five_layers_relu_lrdecay.png")
    assert panels.shape[:2] == (720, 1280)
    assert (tmp_path / "mistakes_2.1.png").stat().st_size > 10_000
    readme = document_text("README.md")
    for picture in re.findall(r"\]\((docs/[^)]+\.png)\)", readme):
        assert os.path.exists(os.path.join(ROOT, picture)), picture
        assert os.path.basename(picture) in open(os.path.join(ROOT, "docs", "make_pictures.py")).read(), picture
