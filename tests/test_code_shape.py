"""House rules of the code base that a reviewer would otherwise check by eye."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sk_reg"
MAX_CODE_LINES = 60


def _docstring_lines(node):
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return set(range(first.lineno, first.end_lineno + 1))
    return set()


def _code_lines(source_lines, node):
    """Lines of a function that hold code: no blanks, comments or docstring."""
    skip = _docstring_lines(node)
    count = 0
    for number in range(node.lineno, node.end_lineno + 1):
        text = source_lines[number - 1].strip()
        if text and not text.startswith("#") and number not in skip:
            count += 1
    return count


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            # An estimator's __init__ is exempt: scikit-learn's convention is
            # an explicit signature that assigns every parameter, one per line.
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name != "__init__"
            ):
                name = f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name}"
                yield name, _code_lines(lines, node)


def test_code_line_counter_skips_docstrings_and_comments():
    source = 'def f():\n    """Doc\n\n    more."""\n    # note\n\n    return 1\n'
    (node,) = ast.parse(source).body
    assert _code_lines(source.splitlines(), node) == 2  # def + return


def test_functions_are_short():
    long = [f"{name} ({n} lines)" for name, n in _functions() if n > MAX_CODE_LINES]
    assert not long, (
        f"split these functions (at most {MAX_CODE_LINES} code lines): {long}"
    )
