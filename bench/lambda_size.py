"""Each Lambda's unzipped size with its layers, read from `sam build`'s output.

What Lambda counts against its 250 MB quota is the function's code plus every layer,
extracted: the sum of the build folders' file sizes. Layers referenced by ARN (AWS's
managed AWS SDK for pandas layer) are not in the build; they are counted at a stated size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

QUOTA = 262_144_000  # "Layers consume more than the available size of 262144000 bytes"
MIB = 2**20
# Managed layers by ARN name -> unzipped bytes (mk/sam_size.py's check uses this too).
# AWSSDKPandas-Python312 (pandas, numpy, pyarrow, awswrangler): 204 MiB as measured with
# `du -h` by aws/aws-sdk-pandas#3331 for the 3.16.1 layer (up from 167 MiB in 3.16.0;
# #3334 then removed ~37 MiB of ICU). The larger figure is counted so the budget holds.
MANAGED_LAYERS = {"AWSSDKPandas-Python312": 204 * MIB}
# How the template may name each: by ARN, or by the public SSM parameter holding its ARN.
MANAGED_LAYER_REFS = {"AWSSDKPandas-Python312": (":layer:AWSSDKPandas-Python312:", "/aws/service/aws-sdk-pandas/")}


class _Loader(yaml.SafeLoader):
    """Accepts CloudFormation's short tags (!Ref, !Sub, …) as plain {Fn::X: value} maps."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    key = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {key: value}


_Loader.add_multi_constructor("!", _tag)


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            p = Path(root, name)
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def _layer(ref: Any, resources: dict[str, Any], build: Path) -> tuple[str, int | None]:
    while isinstance(ref, dict) and "Fn::If" in ref:  # a conditional layer: counted (worst case)
        ref = ref["Fn::If"][1]
    if isinstance(ref, dict) and "Ref" in ref:
        name = ref["Ref"]
        return name, tree_bytes(build / resources[name]["Properties"]["ContentUri"])
    text = ref.get("Fn::Sub") if isinstance(ref, dict) else ref
    text = text[0] if isinstance(text, list) else text
    for name, size in MANAGED_LAYERS.items():
        if isinstance(text, str) and any(r in text for r in MANAGED_LAYER_REFS[name]):
            return f"{name} (managed, stated)", size
    return str(text), None


def sizes(build: Path) -> list[dict[str, Any]] | None:
    """Per function: total bytes and its parts; None when there is no build."""
    template_file = build / "template.yaml"
    if not template_file.is_file():
        return None
    template = yaml.load(template_file.read_text(), Loader=_Loader)  # _Loader is a SafeLoader
    resources = template["Resources"]
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    out = []
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        parts: list[tuple[str, int | None]] = [("code", tree_bytes(build / props["CodeUri"]))]
        parts += [_layer(ref, resources, build) for ref in [*global_layers, *props.get("Layers", [])]]
        known = sum(size or 0 for _, size in parts)
        out.append({"function": name, "bytes": known, "complete": all(s is not None for _, s in parts),
                    "quota": QUOTA, "parts": [{"name": n, "bytes": s} for n, s in parts]})
    return out
