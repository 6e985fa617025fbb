"""Check every function's unzipped size (code plus layers) against Lambda's 250 MB quota.

Reads the template `sam build` wrote (.aws-sam/build/template.yaml), measures each
function's and each local layer's build folder (the sum of file sizes: what Lambda counts
once the zips are extracted), and adds managed layers referenced by ARN at a stated size,
since they cannot be downloaded here. Fails when a function reaches the quota.

usage: python mk/sam_size.py .aws-sam/build
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

# Lambda: "Layers consume more than the available size of 262144000 bytes".
QUOTA = 262_144_000
MIB = 2**20

# Managed layers by ARN name -> unzipped bytes. AWSSDKPandas-Python312 (pandas, numpy,
# pyarrow, awswrangler): 204 MiB as measured with `du -h` by aws/aws-sdk-pandas#3331 for
# the 3.16.1 layer (up from 167 MiB in 3.16.0; #3334 then removed ~37 MiB of ICU). The
# larger figure is counted so the budget holds for either build.
MANAGED_LAYERS = {
    "AWSSDKPandas-Python312": 204 * MIB,
}


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = Path(root, name)
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def layer_size(ref: Any, resources: dict[str, Any], build: Path) -> tuple[str, int]:
    if isinstance(ref, dict) and "Fn::If" in ref:  # a conditional layer: count it (worst case)
        ref = ref["Fn::If"][1]
    if isinstance(ref, dict) and "Ref" in ref:
        name = ref["Ref"]
        layer = resources[name]
        return name, tree_bytes(build / layer["Properties"]["ContentUri"])
    text = ref.get("Fn::Sub") if isinstance(ref, dict) else ref
    text = text[0] if isinstance(text, list) else text
    for layer_name, size in MANAGED_LAYERS.items():
        if isinstance(text, str) and f":layer:{layer_name}:" in text:
            return f"{layer_name} (managed, stated size)", size
    raise SystemExit(f"cannot size layer {ref!r}: add it to MANAGED_LAYERS with its unzipped size")


def main(argv: list[str]) -> int:
    build = Path(argv[1])
    template = yaml_parse((build / "template.yaml").read_text())
    resources = template["Resources"]
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    worst = 0
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        parts = [("code", tree_bytes(build / props["CodeUri"]))]
        parts += [layer_size(ref, resources, build) for ref in global_layers + props.get("Layers", [])]
        total = sum(size for _, size in parts)
        worst = max(worst, total)
        flag = "OVER" if total >= QUOTA else "ok"
        detail = ", ".join(f"{label} {size / MIB:.1f}" for label, size in parts)
        print(f"{name}: {total / MIB:.1f} MiB of {QUOTA / MIB:.0f} MiB [{flag}] ({detail})")
    if worst >= QUOTA:
        print("a function with its layers reaches Lambda's 250 MB unzipped quota", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
