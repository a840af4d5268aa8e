"""The text helpers of the benchmark report: templates filled in, table rows, numbers, verdicts.

Shared by report.py (docs/performance.md) and report_issue10.py (issue 10's figures).
"""

import os
import string

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


def num(value, digits=1):
    """`value` with thousands separators and `digits` decimals; "n/a" for None."""
    if value is None:
        return "n/a"
    return "{:,.{d}f}".format(value, d=digits)


def verdict(ok):
    """**met**, **missed**, or n/a when the figure could not be judged (None)."""
    if ok is None:
        return "n/a"
    return "**met**" if ok else "**missed**"


def fill(name, **values):
    """benchmarks/templates/<name>.md with `values` put in for its `$placeholders` (the file's
    final newline left off: a template is the text of its lines, joined by newlines)."""
    with open(os.path.join(TEMPLATES, name + ".md"), encoding="utf-8") as f:
        text = f.read()
    if text.endswith("\n"):
        text = text[:-1]
    return string.Template(text).substitute(values)


def table_rows(rows):
    """Markdown table rows, one per tuple of cells (the header is in the template)."""
    return "\n".join("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)


def paragraph(text):
    """A paragraph put after another one (a blank line before it); nothing for no text."""
    return "\n\n" + text if text else ""
