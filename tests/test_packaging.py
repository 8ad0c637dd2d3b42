"""The wheel holds every subpackage, installs `environments/` and `verifiers/` under `agentrl.`, and imports
from a clean venv outside the repo."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"agentrl": "agentrl", "environments": "agentrl.environments", "verifiers": "agentrl.verifiers"}


def source_packages() -> set[str]:
    found = set()
    for folder, dotted in ROOTS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([dotted, *rel.parts]) if rel.parts else dotted)
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(REPO)], check=True, capture_output=True)
    (whl,) = out.glob("agentrl_suite-*.whl")
    return whl


def test_wheel_contains_every_subpackage_and_nothing_at_top_level(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    in_wheel = {os.path.dirname(n).replace("/", ".") for n in names if n.endswith("/__init__.py")}
    missing = source_packages() - in_wheel
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"agentrl"}
    shipped_data = [str(p.relative_to(REPO / "environments")) for p in (REPO / "environments").rglob("data/*")]
    for rel in shipped_data:
        assert f"agentrl/environments/{rel}" in names, f"add {rel} to [tool.setuptools.package-data]"


def test_wheel_imports_in_a_clean_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # Third-party dependencies come from the dev venv (a .pth line adds its site-packages, but .pth files
    # inside it, such as the editable install of agentrl, are not processed).
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    code = ("import importlib, importlib.util, agentrl\n"
            f"for name in {sorted(source_packages())!r}:\n"
            "    importlib.import_module(name)\n"
            "assert importlib.util.find_spec('verifiers') is None, 'top-level verifiers installed'\n"
            "assert importlib.util.find_spec('environments') is None, 'top-level environments installed'\n"
            "print(agentrl.__file__)\n")
    r = subprocess.run([py, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(site)
