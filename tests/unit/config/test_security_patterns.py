"""The source tree has none of the patterns SECURITY.md forbids (a grep, kept honest by a self-test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCANNED = ("flowctl_dsl", "scripts", "benchmarks", "deploy")

#: pattern → why it is forbidden (SECURITY.md lists each with its test).
FORBIDDEN: dict[str, str] = {
    r"shell\s*=\s*True": "a shell parses the command line (injection)",
    r"(?<![\w.])(eval|exec)\s*\(": "eval/exec run text as code",
    r"\bos\.(system|popen)\s*\(": "os.system/os.popen go through a shell",
    r"\bsubprocess\.(getoutput|getstatusoutput)\s*\(": "these helpers use a shell",
    r"\byaml\.(unsafe_load|full_load|load_all)\s*\(": "YAML that can build Python objects",
    r"Loader\s*=\s*yaml\.(Loader|FullLoader|UnsafeLoader)\b": "a YAML loader that is not safe",
    r"\byaml\.load\s*\((?![^)\n]*Loader\s*=)": "yaml.load without an explicit (safe) loader",
    r"\b(pickle|marshal|shelve)\.loads?\s*\(": "unpickling runs code from the data",
    r"\btempfile\.mktemp\s*\(": "a race between naming and creating a temp file",
    r"verify\s*=\s*False": "TLS certificate checks turned off",
    r"\.(execute|executemany|query)\s*\(\s*f[\"']": "SQL text built with an f-string",
    r"\.(execute|executemany|query)\s*\(\s*[\"'][^\"'\n]*[\"']\s*(%|\.format\b|\+)": (
        "SQL text built with % / .format / +"
    ),
}


def python_files() -> list[Path]:
    files: list[Path] = []
    for top in SCANNED:
        files.extend(p for p in (REPO / top).rglob("*.py") if ".venv" not in p.parts)
    return sorted(files)


def hits(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
        for pattern, why in FORBIDDEN.items():
            if re.search(pattern, code):
                found.append((number, why))
    return found


def test_the_source_tree_has_no_forbidden_patterns() -> None:
    files = python_files()
    assert len(files) > 50
    problems = [
        f"{path.relative_to(REPO)}:{line}: {why}"
        for path in files
        for line, why in hits(path.read_text(encoding="utf-8"))
    ]
    assert problems == []


@pytest.mark.parametrize(
    "bad",
    [
        "subprocess.run(cmd, shell=True)",
        "value = eval(text)",
        "exec(code)",
        "os.system('ls ' + name)",
        "yaml.load(text)",
        "yaml.load(text, Loader=yaml.FullLoader)",
        "yaml.full_load(text)",
        "pickle.loads(blob)",
        'cur.execute(f"SELECT * FROM {table}")',
        'cur.execute("SELECT * FROM %s" % table)',
        'con.execute("DELETE FROM " + table)',
        "requests.get(url, verify=False)",
    ],
)
def test_the_grep_catches_each_pattern(bad: str) -> None:
    assert hits(bad), bad


@pytest.mark.parametrize(
    "fine",
    [
        "cur.execute(sql.SQL('SELECT 1 FROM {}').format(sql.Identifier(t)))",
        'cur.execute("SELECT 1 FROM t WHERE a = %s", (a,))',
        "yaml.load(text, Loader=Loader)  # a SafeLoader subclass",
        "yaml.safe_load(text)",
        "subprocess.Popen(cmd, env=env)",
        "con.executemany(statement, rows)",
    ],
)
def test_the_grep_leaves_safe_code_alone(fine: str) -> None:
    assert hits(fine) == []


def test_yaml_loaders_passed_explicitly_are_safe_loaders() -> None:
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        for loader in re.findall(r"yaml\.load\s*\([^)\n]*Loader\s*=\s*(\w+)", text):
            assert re.search(rf"class {loader}\(yaml\.SafeLoader\)", text), (path, loader)


def test_postgres_sink_composes_sql_with_psycopg_sql() -> None:
    text = (REPO / "flowctl_dsl" / "transforms" / "sinks" / "postgres.py").read_text()
    assert "from psycopg import sql" in text
    assert "sql.Identifier(" in text
