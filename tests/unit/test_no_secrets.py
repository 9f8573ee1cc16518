"""No secret in the repository: detect-secrets scans every tracked file (as CI runs this test);
a value that only looks like one is marked on its line with `# pragma: allowlist secret`."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNER = Path(sys.executable).parent / "detect-secrets"


def scan(files: list[str], cwd: Path) -> dict[str, list[dict[str, object]]]:
    out = subprocess.run(
        [str(SCANNER), "scan", *files], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)["results"]  # type: ignore[no-any-return]


def test_no_tracked_file_holds_a_secret() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    files = [f for f in tracked if f and (ROOT / f).is_file()]
    assert len(files) > 100
    findings = {
        path: [f"line {r['line_number']}: {r['type']}" for r in results]
        for path, results in scan(files, ROOT).items()
    }
    assert findings == {}, "secrets in tracked files (move them to the environment)"


def test_the_scanner_finds_a_planted_secret(tmp_path: Path) -> None:
    planted = tmp_path / "settings.py"
    planted.write_text(
        'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'  # pragma: allowlist secret
        'MINIO_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n'  # pragma: allowlist secret
    )
    found = scan([planted.name], tmp_path)
    assert {r["type"] for r in found["settings.py"]} >= {"AWS Access Key"}
