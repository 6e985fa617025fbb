"""Transform template.yaml to plain CloudFormation JSON, offline, for cfn-lint and checkov.

Runs with the SAM CLI's interpreter (.tools/sam), which has samtranslator. `sam package`
would upload the local CodeUri/ContentUri/DefinitionUri; here they are replaced the same
way without any AWS call: code locations by a dummy S3 URI (only their shape is checked)
and the state machine's DefinitionUri by the ASL file itself, so the linters see the real
definition with its DefinitionSubstitutions.

usage: python mk/sam_transform.py template.yaml out.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# Values for parameters without a default, so the transform can resolve what it needs.
PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "flowdigest",
    "SlackChannelId": "C0123456789",
}
LOCAL_URIS = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


class NoManagedPolicies:
    """The template attaches no AWS managed policy by name, so there is nothing to look up."""

    def load(self) -> dict[str, str]:
        return {}


def localise(template: dict[str, Any], root: Path) -> None:
    for name, resource in template.get("Resources", {}).items():
        props = resource.setdefault("Properties", {})
        key = LOCAL_URIS.get(resource.get("Type", ""))
        if key and isinstance(props.get(key), str) and not props[key].startswith("s3://"):
            props[key] = f"s3://flowdigest-artifacts/{name}.zip"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
            uri = props.pop("DefinitionUri")
            props["Definition"] = json.loads((root / uri).read_text())


def main(argv: list[str]) -> int:
    src, out = Path(argv[1]), Path(argv[2])
    template = yaml_parse(src.read_text())
    localise(template, src.parent)
    cfn = transform(template, PARAMETERS, NoManagedPolicies(), passthrough_metadata=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(cfn, indent=1, sort_keys=False) + "\n")
    print(f"{src} -> {out} ({len(cfn.get('Resources', {}))} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
