"""What the lab bench runs and what it says: an experiment (its variants and the primers'
findings), and the table and the sentence of a run, computed from that run's numbers.

    experiment = Experiment("depth", "...", variants=[Variant("1 x 32 sigmoid, SGD", model, sgd), ...],
                            findings=[Finding("1 x 32 sigmoid, SGD", "4 x 32 sigmoid, SGD", "test")])
"""
import math

PIXELS = {  # how the 0-255 bytes reach the network
    "0-1": "scaled to 0-1 (x / 255)",
    "0-255": "left as they are, 0-255",
    "inverted": "scaled and inverted (1 - x / 255): white background, dark strokes",
}


class Variant:
    """One line of an experiment: a name, the model (a function returning a fresh Keras model),
    the optimizer (a function returning a fresh one), and what it changes of the experiment's
    settings (batch_size, epochs, pixels)."""

    def __init__(self, name, model, optimizer, batch_size=None, epochs=None, pixels=None):
        self.name, self.model, self.optimizer = name, model, optimizer
        self.batch_size, self.epochs, self.pixels = batch_size, epochs, pixels


class Finding:
    """What a primer reports, as a comparison this run can check: `better` beats `worse` on
    measure: "test" (final test accuracy, higher), "gap" (training minus test accuracy, smaller:
    it overfits less) or "reach" (epochs until the test accuracy first reaches the experiment's
    `reach`, fewer; never reaching it is worst)."""

    def __init__(self, better, worse, measure="test"):
        if measure not in ("test", "gap", "reach"):
            raise ValueError(f"unknown measure {measure}")
        self.better, self.worse, self.measure = better, worse, measure


class Experiment:
    """An experiment: its name, one line for --help, the primer it follows and what that reports
    (primer, figures: {variant: the primer's test accuracy}), the settings every variant shares
    unless it says otherwise (epochs, batch_size, pixels, train_images: the first N training images
    only), the primer's own epochs when they differ, the variants and the findings."""

    def __init__(self, name, summary, primer, variants, findings, epochs, batch_size, pixels="0-1",
                 train_images=None, primer_epochs=None, figures=None, reach=None):
        self.name, self.summary, self.primer = name, summary, primer
        self.variants, self.findings = variants, findings
        self.epochs, self.batch_size, self.pixels = epochs, batch_size, pixels
        self.primer_epochs, self.figures, self.reach = primer_epochs, figures or {}, reach
        self.train_images = train_images
        names = [variant.name for variant in variants]
        for finding in findings:
            for name in (finding.better, finding.worse):
                if name not in names:
                    raise ValueError(f"{self.name}: finding about {name!r}, which is not a variant")


def ranked(rows):
    """The rows best first: by final test accuracy, then by best test accuracy; ties keep order."""
    return sorted(rows, key=lambda row: (-row["final_test"], -row["best_test"]))


def score(row, measure):
    """A number where higher is better, for a finding's measure."""
    if measure == "test":
        return row["final_test"]
    if measure == "gap":
        return -row["gap"]
    reached = row.get("reached")
    return -math.inf if reached is None else -reached


def percent(accuracy):
    return f"{100 * accuracy:.2f}%"


def describe(row, measure, reach):
    if measure == "test":
        return percent(row["final_test"])
    if measure == "gap":
        return f"a gap of {100 * row['gap']:.2f} points"
    reached = row.get("reached")
    return (f"{percent(reach)} after {reached:.2f} epochs" if reached is not None
            else f"{percent(reach)} never reached")


WHAT = {"test": "scored higher than", "gap": "overfitted less than", "reach": "learnt faster than"}


def sentence(rows, findings, reach=None):
    """One sentence of what the table shows: the variant it ranks first, then each of the primer's
    findings as this run found it: "as the primer found" where the numbers agree, "unlike the
    primer" where they do not."""
    by_name = {row["variant"]: row for row in rows}
    first = ranked(rows)[0]
    text = f"{first['variant']} ranks first, at {percent(first['final_test'])} on the test images"
    agreed, contradicted = [], []
    for finding in findings:
        better, worse = by_name.get(finding.better), by_name.get(finding.worse)
        if better is None or worse is None:  # stopped before both were trained
            continue
        claim = f"{finding.better} {WHAT[finding.measure]} {finding.worse}"
        numbers = f"{describe(better, finding.measure, reach)} against {describe(worse, finding.measure, reach)}"
        if score(better, finding.measure) > score(worse, finding.measure):
            agreed.append(f"{claim} ({numbers})")
        else:
            contradicted.append(f"the primer found that {claim}, but here it did not ({numbers})")
    if agreed:
        text += "; as the primer found, " + "; ".join(agreed)
    if contradicted:
        text += "; " + "; ".join(contradicted)
    return text + "."


def table(rows, reach=None):
    """The ending table, as lines of text."""
    ranks = {id(row): rank for rank, row in enumerate(ranked(rows), 1)}
    width = max([len("variant")] + [len(row["variant"]) for row in rows])
    header = (f"{'rank':>4}  {'variant':<{width}}  {'final test':>10}  {'best test':>9}  {'final train':>11}  "
              f"{'gap':>6}  {'epochs':>6}  {'steps':>6}  {'seconds':>7}")
    if reach:
        header += f"  {'epochs to ' + percent(reach):>16}"
    lines = [header]
    for row in rows:
        line = (f"{ranks[id(row)]:>4}  {row['variant']:<{width}}  {percent(row['final_test']):>10}  "
                f"{percent(row['best_test']):>9}  {percent(row['final_train']):>11}  "
                f"{100 * row['gap']:>6.2f}  {row['epochs']:>6.2f}  {row['steps']:>6}  {row['seconds']:>7.1f}")
        if reach:
            reached = row.get("reached")
            line += f"  {'never' if reached is None else f'{reached:.2f}':>16}"
        lines.append(line)
    return lines
