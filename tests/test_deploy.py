"""The deploy files, checked with the tools this machine has (no docker engine runs here):
systemd-analyze for the unit, a Dockerfile parser and a YAML parser for the rest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is part of the machine image (Debian systemd)"
    unit = (ROOT / "deploy" / "tradefly.service").read_text()
    assert "Type=notify" in unit and "WatchdogSec=" in unit and "Restart=on-failure" in unit
    # Point the unit at this checkout and an existing user so verify checks the syntax.
    local = (unit.replace("/opt/tradefly/.venv/bin/tradefly", str(Path(sys.executable).parent
                                                                   / "tradefly"))
             .replace("User=tradefly", "User=root").replace("Group=tradefly", "Group=root"))
    path = tmp_path / "tradefly.service"
    path.write_text(local)
    out = subprocess.run([tool, "verify", str(path)], capture_output=True, text=True,
                         timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if "tradefly.service" in line and "ReadWritePaths" not in line
                and "Documentation" not in line]
    assert out.returncode == 0 and not problems, out.stdout + out.stderr


def test_dockerfile_is_slim_non_root_locked_and_health_checked() -> None:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    instructions = [(i["instruction"], i["value"]) for i in parser.structure]
    froms = [v for k, v in instructions if k == "FROM"]
    assert froms and all("slim" in f and ":" in f for f in froms)
    users = [v for k, v in instructions if k == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(k == "HEALTHCHECK" and "/healthz" in v for k, v in instructions)
    assert any(k == "RUN" and "--frozen" in v for k, v in instructions), "installs the lock"
    # The compiled IV kernel is baked in (a fresh compile is ~45 s at every container start),
    # written before the switch to the daemon's user.
    kinds = [k for k, _ in instructions]
    warm = [i for i, (k, v) in enumerate(instructions) if k == "RUN" and "warm_up()" in v]
    assert warm and warm[-1] < len(kinds) - 1 - kinds[::-1].index("USER")


def test_compose_runs_the_bot_with_postgres_and_no_inline_secrets() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"bot", "db"}
    assert services["bot"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "postgresql+psycopg://" in services["bot"]["environment"]["TRADEFLY__STORE__URL"]
    text = (ROOT / "deploy" / "docker-compose.yml").read_text()
    assert "API_KEY=" not in text.replace("TRADEFLY__ALPACA__API_KEY=…", "")
    assert services["bot"]["ports"][0].startswith("127.0.0.1:"), "not exposed beyond localhost"
