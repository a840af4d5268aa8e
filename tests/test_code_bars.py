"""Issue 14's bar on the shipped code: no module in tb_prune_plugin/ or callbacks/ over 500 lines,
no function over 60 lines without a stated reason.

A reason is stated in the function's docstring or in the comment right above its `def` (or its
decorators), starting with "Over 60 lines:", for example

    # Over 60 lines: one graph that TensorFlow traces once; split, it would trace twice.
    def _build(...):

Lines are counted as the file has them (blank lines, comments and docstrings included), from the
first decorator to the function's last line.
"""

import ast
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = ("tb_prune_plugin", "callbacks")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
REASON = "Over 60 lines:"


def _shipped_modules():
    """Paths (relative to the checkout) of every Python module of the shipped packages."""
    paths = []
    for top in SHIPPED:
        for root, _dirs, files in os.walk(os.path.join(REPO_ROOT, top)):
            paths += [os.path.join(root, f) for f in files if f.endswith(".py")]
    return sorted(os.path.relpath(p, REPO_ROOT) for p in paths)


def _states_reason(node, lines):
    """Whether the function's docstring, or the comment block right above it, says why it is
    long."""
    if REASON in (ast.get_docstring(node) or ""):
        return True
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    above = first - 2  # 0-based index of the line before the first decorator or `def`
    comment = []
    while above >= 0 and lines[above].strip().startswith("#"):
        comment.append(lines[above])
        above -= 1
    return REASON in " ".join(line.strip().lstrip("#").strip() for line in reversed(comment))


def long_functions(source, name="<source>"):
    """`name:line function (N lines)` for every function over the bar without a stated reason."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        length = node.end_lineno - first + 1
        if length > MAX_FUNCTION_LINES and not _states_reason(node, lines):
            found.append("%s:%d %s (%d lines)" % (name, node.lineno, node.name, length))
    return found


def _read(path):
    with open(os.path.join(REPO_ROOT, path), encoding="utf-8") as f:
        return f.read()


def test_no_shipped_module_is_over_500_lines():
    modules = _shipped_modules()
    assert "tb_prune_plugin/plugin.py" in modules and "callbacks/monitor.py" in modules
    over = [
        "%s (%d lines)" % (path, len(_read(path).splitlines()))
        for path in modules
        if len(_read(path).splitlines()) > MAX_MODULE_LINES
    ]
    assert over == [], "split these modules (issue 14's bar is %d lines): %s" % (
        MAX_MODULE_LINES,
        ", ".join(over),
    )


def test_no_shipped_function_is_over_60_lines_without_a_reason():
    over = []
    for path in _shipped_modules():
        over += long_functions(_read(path), path)
    assert over == [], (
        "split these functions, or say why they are long in their docstring or in a comment "
        "right above them starting with %r: %s" % (REASON, "; ".join(over))
    )


def _function(lines_in_body, docstring=None, comment=None):
    text = ""
    if comment:
        text += "# %s\n" % comment
    text += "@decorator\ndef long_one():\n"
    if docstring:
        text += '    """%s"""\n' % docstring
    text += "    x = 0\n" * lines_in_body
    return text


def test_long_functions_finds_a_long_function_and_accepts_a_stated_reason():
    """The checker itself: it counts from the decorator, and only the marked reason excuses."""
    # 2 lines of decorator and def + 58 = 60 lines: at the bar, not over it.
    assert long_functions(_function(58), "m.py") == []
    assert long_functions(_function(59), "m.py") == ["m.py:2 long_one (61 lines)"]
    assert long_functions(_function(58, docstring="Long."), "m.py") == [
        "m.py:2 long_one (61 lines)"
    ]
    assert long_functions(_function(58, docstring=REASON + " one graph."), "m.py") == []
    assert long_functions(_function(59, comment=REASON + " one graph."), "m.py") == []
    assert long_functions(_function(59, comment="a comment without the reason"), "m.py") == [
        "m.py:3 long_one (61 lines)"
    ]
    # A comment that is not right above (a blank line between) does not count.
    spaced = "# %s why\n\n%s" % (REASON, _function(59))
    assert long_functions(spaced, "m.py") == ["m.py:4 long_one (61 lines)"]
    nested = "class C:\n    def method(self):\n" + "        y = 1\n" * 60
    assert long_functions(nested, "m.py") == ["m.py:2 method (61 lines)"]
