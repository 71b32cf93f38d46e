"""The layer order of README.md's "Architecture", held by reading every module's imports.

    rules  →  storage (db/)  →  use cases  →  interfaces (command line, pages/)  →  app.py

A module may import its own layer or the ones before it, never a later one, and no
two modules may import each other, directly or around a circle. Importing
``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too, so those count as imports.
An import inside a function needs a comment saying why, on its line or the line above.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("leaderboard", "db", "pages")

# Pure rules and settings in leaderboard/: no database, no Streamlit, no SQL.
RULES = frozenset({
    "leaderboard",
    "leaderboard.settings",
    "leaderboard.ranking",
    "leaderboard.periods",
    "leaderboard.text",
    "leaderboard.auth",
    "leaderboard.recovery",
    "leaderboard.names",
    "leaderboard.badge_rules",
    "leaderboard.ratio_rules",
    "leaderboard.coaching.rules",
    "leaderboard.coaching.texts",
    "leaderboard.survey_tokens",
    "leaderboard.hooks",
    "leaderboard.mail_rules",
    "leaderboard.notify_rules",
    "leaderboard.notify_messages",
    "leaderboard.casemix",
})
LAYER_NAMES = ("rules", "storage", "use cases", "interfaces", "app")


def layer_of(module: str, rules: frozenset[str] = RULES) -> int:
    if module == "app":
        return 4
    if module.startswith("pages") or module in ("leaderboard.cli", "leaderboard.__main__") \
            or module.startswith("leaderboard.commands") or module.startswith("leaderboard.http"):
        return 3
    if module.startswith("db"):
        return 1
    if module in rules:
        return 0
    return 2


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    in_function: bool
    commented: bool


def module_files(root: Path) -> dict[str, Path]:
    files = {"app": root / "app.py"} if (root / "app.py").exists() else {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def _targets(node: ast.AST, source: str, known: set[str]) -> list[str]:
    """Project modules an import statement loads (parent packages included)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative import
            pkg = source.split(".")
            pkg = pkg[: len(pkg) - node.level + (1 if _is_package(source, known) else 0)]
            base = ".".join([*pkg, base] if base else pkg)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    found = []
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            candidate = ".".join(parts[:i])
            if candidate in known and candidate not in found:
                found.append(candidate)
    return found


def _is_package(module: str, known: set[str]) -> bool:
    return any(other.startswith(module + ".") for other in known)


def imports_of(root: Path) -> list[Import]:
    files = module_files(root)
    known = set(files)
    result = []
    for module, path in files.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text, filename=str(path))
        for node, in_function in _walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            line = lines[node.lineno - 1]
            # The comment may stand on the line, or above a block of imports that starts there.
            above_at = node.lineno - 2
            while above_at >= 0 and lines[above_at].strip().startswith(("import ", "from ")):
                above_at -= 1
            above = lines[above_at].strip() if above_at >= 0 else ""
            commented = "#" in line or above.startswith("#")
            targets = _targets(node, module, known)
            external = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for target in targets or [f"<external:{external[0]}>"]:
                if target != module:
                    result.append(Import(module, target, node.lineno, in_function, commented))
    return result


def _walk(tree: ast.AST, in_function: bool = False):
    for child in ast.iter_child_nodes(tree):
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield child, in_function
        yield from _walk(child, inner)


def upward_imports(root: Path, rules: frozenset[str] = RULES) -> list[str]:
    problems = []
    for imp in imports_of(root):
        # A module's own package is already running when the module is imported.
        if imp.target.startswith("<external:") or imp.source.startswith(imp.target + "."):
            continue
        if layer_of(imp.target, rules) > layer_of(imp.source, rules):
            problems.append(
                f"{imp.source}:{imp.line} imports {imp.target}: {LAYER_NAMES[layer_of(imp.source, rules)]} "
                f"may not import {LAYER_NAMES[layer_of(imp.target, rules)]}"
            )
    return problems


def streamlit_outside_ui(root: Path) -> list[str]:
    return [
        f"{imp.source}:{imp.line} imports Streamlit"
        for imp in imports_of(root)
        if imp.target.startswith("<external:streamlit") and layer_of(imp.source) < 3
    ]


def cycles(root: Path) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports_of(root):
        # A package's __init__ re-exporting its own modules is no circle: Python runs the
        # package first, then each module, so an edge to one's own package is left out.
        if not imp.target.startswith("<external:") and not imp.source.startswith(imp.target + "."):
            graph.setdefault(imp.source, set()).add(imp.target)
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def uncommented_function_imports(root: Path) -> list[str]:
    seen = set()
    for imp in imports_of(root):
        if imp.in_function and not imp.commented:
            seen.add(f"{imp.source}:{imp.line}")
    return sorted(seen)


# --------------------------------------------------------------------------- the project


def test_no_import_goes_up_a_layer():
    assert upward_imports(ROOT) == []


def test_no_import_cycles():
    assert cycles(ROOT) == []


def test_streamlit_only_in_pages_and_app():
    assert streamlit_outside_ui(ROOT) == []


def test_imports_inside_functions_say_why():
    assert uncommented_function_imports(ROOT) == []


def test_readme_lists_the_same_rules_modules():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    for module in sorted(RULES - {"leaderboard"}):
        assert f"`{module.replace('.', '/')}.py`" in section or f"`{module.replace('.', '/')}/`" in section, module


# --------------------------------------------------------------------------- the checker itself


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize(
    "files, expected",
    [
        pytest.param({"db/store.py": "from leaderboard.ranking import x\n"}, [], id="storage may import rules"),
        pytest.param({"db/store.py": "from leaderboard import board\n"},
                     ["db.store:1 imports leaderboard.board: storage may not import use cases"],
                     id="a deliberate upward import: storage -> use case"),
        pytest.param({"leaderboard/ranking.py": "import db.queries\n"},
                     ["leaderboard.ranking:1 imports db: rules may not import storage",
                      "leaderboard.ranking:1 imports db.queries: rules may not import storage"],
                     id="rules -> storage"),
        pytest.param({"leaderboard/board.py": "from pages import common\n"},
                     ["leaderboard.board:1 imports pages: use cases may not import interfaces",
                      "leaderboard.board:1 imports pages.common: use cases may not import interfaces"],
                     id="use case -> page"),
        pytest.param({"db/store.py": "from leaderboard.coaching.rules import r\n",
                      "leaderboard/coaching/__init__.py": "", "leaderboard/coaching/rules.py": ""},
                     ["db.store:1 imports leaderboard.coaching: storage may not import use cases"],
                     id="a package __init__ runs too"),
        pytest.param({"pages/x.py": "import db.queries\nfrom leaderboard import board\n"}, [], id="pages may import below"),
    ],
)
def test_checker_finds_upward_imports(tmp_path, files, expected):
    root = _tree(tmp_path, {"leaderboard/ranking.py": "", "leaderboard/board.py": "", "db/queries.py": "",
                            "pages/common.py": "", **files})
    assert upward_imports(root, RULES | {"leaderboard.coaching.rules"}) == expected


def test_checker_finds_cycles_and_bare_function_imports(tmp_path):
    root = _tree(tmp_path, {
        "db/a.py": "import db.b\n",
        "db/b.py": "def f():\n    import db.c\n",
        "db/c.py": "def g():\n    # lazy: only for xlsx files\n    import db.a\n",
    })
    assert cycles(root) == [["db.a", "db.b", "db.c"]]
    assert uncommented_function_imports(root) == ["db.b:2"]
