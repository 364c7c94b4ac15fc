"""The dependency directions of ARCHITECTURE.md, enforced on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"bot", "brokers", "strategies", "risk", "market", "backtest"}
ALLOWED = {
    "market": set(),
    "strategies": {"market"},
    "brokers": {"market"},
    "risk": {"market", "brokers"},
    "bot": {"market", "strategies", "brokers", "risk"},
    "backtest": {"market", "strategies", "brokers", "risk", "bot"},
}
ADAPTERS = {"brokers.alpaca", "brokers.ibkr", "brokers.paper"}
# The command line is the composition root: it may mount the backtester's commands.
EXCEPTIONS = {("bot/cli.py", "backtest")}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_allowed_packages(package: str) -> None:
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        for module in imports_of(path):
            top = module.split(".")[0]
            rel = str(path.relative_to(ROOT))
            if (rel, top) in EXCEPTIONS:
                continue
            if top in OURS and top != package and top not in ALLOWED[package]:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)


def test_risk_never_imports_a_broker_adapter() -> None:
    bad = [f"{p.relative_to(ROOT)} imports {m}" for p in (ROOT / "risk").rglob("*.py")
           for m in imports_of(p) if any(m == a or m.startswith(a + ".") for a in ADAPTERS)]
    assert not bad, "\n".join(bad)


def test_adapters_never_import_strategies_risk_or_bot() -> None:
    bad = []
    for path in (ROOT / "brokers").glob("*.py"):
        for module in imports_of(path):
            if module.split(".")[0] in {"strategies", "risk", "bot"}:
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)
