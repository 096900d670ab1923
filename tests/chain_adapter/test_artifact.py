"""The committed ABI and bytecode are what the committed Solidity source compiles to (npm solc, offline)."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chain_adapter.contract import ARTIFACT_PATH, SOURCE_PATH, load_artifact

ROOT = Path(__file__).resolve().parents[2]
COMPILE = ROOT / "chain_adapter" / "contracts" / "compile.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is needed to run solc")


def compile_js(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(COMPILE), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_committed_artifact_matches_a_fresh_compile_of_the_source():
    result = compile_js("--check")
    assert result.returncode == 0, result.stderr


def test_the_check_fails_when_the_source_differs_from_the_artifact(tmp_path):
    edited = tmp_path / "BillAnchor.sol"
    edited.write_text(SOURCE_PATH.read_text().replace("if (n == 0) revert EmptyBatch();", ""))
    result = compile_js("--check", "--source", str(edited))
    assert result.returncode == 1
    assert "does not match" in result.stderr


def test_a_fresh_compile_writes_the_same_bytes(tmp_path):
    out = tmp_path / "out.json"
    result = compile_js("--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == ARTIFACT_PATH.read_bytes()


def test_the_artifact_names_its_source_compiler_and_settings():
    data = json.loads(ARTIFACT_PATH.read_text())
    assert data["sourceSha256"] == hashlib.sha256(SOURCE_PATH.read_bytes()).hexdigest()
    assert data["compiler"]["version"].startswith("0.8.30+")
    assert data["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert data["settings"]["evmVersion"] == "paris"
    names = {item.get("name") for item in data["abi"]}
    assert {"anchor", "head", "Anchored", "addAnchorer", "removeAnchorer", "HeadMismatch"} <= names
    artifact = load_artifact()
    assert artifact.bytecode.startswith("0x60") and len(artifact.deployed_bytecode) > 100
