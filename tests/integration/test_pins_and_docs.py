"""One source for each fact: the Chromium package's version (charts/browser.py), the AWS SDK
for pandas release the template's managed layer stands for (requirements-dev.txt), and the
template's parameters (docs/deploy.md lists every one)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from flowdigest.charts import browser

REPO = Path(__file__).resolve().parents[2]


def _requirement(name: str) -> str:
    for line in (REPO / "requirements-dev.txt").read_text().splitlines():
        m = re.match(rf"{name}(\[[^]]*\])?==(\S+)$", line.strip(), re.IGNORECASE)
        if m:
            return m.group(2)
    raise AssertionError(f"requirements-dev.txt pins no {name}")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("makefile", ["mk/chromium.mk", "layers/charts/Makefile"])
def test_the_makefiles_take_chromiums_version_from_browser_py(makefile: str) -> None:
    text = (REPO / makefile).read_text()
    assert not re.search(r"^CHROMIUM_VERSION\s*:?=\s*\d", text, re.MULTILINE), "a second copy of the pin"
    out = subprocess.run(["make", "-s", "--no-print-directory", "-f", makefile,
                          "--eval", "print-version: ; @echo $(CHROMIUM_VERSION)", "print-version"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    assert out == browser.NPM_VERSION


class _AnyTagLoader(yaml.SafeLoader):
    """Reads past CloudFormation's short tags (!Ref ...): only names and Metadata matter here."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
TEMPLATE = yaml.load((REPO / "template.yaml").read_text(), Loader=_AnyTagLoader)


def test_the_template_names_the_pinned_aws_sdk_for_pandas() -> None:
    assert TEMPLATE["Metadata"]["flowdigest"]["AwsSdkPandasVersion"] == _requirement("awswrangler")


def test_deploy_docs_list_every_template_parameter() -> None:
    declared = set(TEMPLATE["Parameters"])
    rows = [line for line in (REPO / "docs" / "deploy.md").read_text().splitlines() if line.startswith("| `")]
    # A table row's first cell names one or more parameters: | `A`, `B` | default | what |
    documented = {name for row in rows for name in re.findall(r"`([A-Za-z0-9]+)`", row.split("|")[1])}
    assert declared - documented == set(), "parameters missing from docs/deploy.md's tables"
    assert documented - declared == set(), "docs/deploy.md lists parameters the template does not have"
