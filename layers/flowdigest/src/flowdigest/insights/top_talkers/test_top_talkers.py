"""top_talkers' query: a pair counts the bytes of the interface that saw the most."""

from __future__ import annotations

from flowdigest.insights.testing import run


def test_pairs_by_the_busiest_interface() -> None:
    flows = {"rollup_set": "flows"}
    rows = run("top_talkers", rollup_rows=[
        {**flows, "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "interface_id": "eni-1", "bytes": 300, "packets": 3},
        {**flows, "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "interface_id": "eni-1", "bytes": 200, "packets": 2},
        {**flows, "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "interface_id": "eni-2", "bytes": 400, "packets": 4},
        {**flows, "srcaddr": "10.0.0.3", "dstaddr": "10.0.0.4", "interface_id": "eni-3", "bytes": 600, "packets": 6,
         "log_status": None},  # no log-status in the format: a data record
        {**flows, "srcaddr": "10.0.0.5", "dstaddr": "10.0.0.6", "interface_id": "eni-4", "log_status": "NODATA"},
        {"rollup_set": "hours", "interface_id": "eni-5", "bytes": 9000},
        # the interface's instance: the ingress set's interface facts (the flows set has none)
        {"rollup_set": "ingress", "interface_id": "eni-1", "instance_id": "i-1"},
        {"rollup_set": "ingress", "interface_id": "eni-1", "instance_id": None},
    ])
    assert rows == [
        {"srcaddr": "10.0.0.3", "dstaddr": "10.0.0.4", "bytes": 600, "packets": 6, "flows": 1,
         "interface_id": "eni-3", "instance_id": None, "interfaces": 1},
        {"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "bytes": 500, "packets": 5, "flows": 2,
         "interface_id": "eni-1", "instance_id": "i-1", "interfaces": 2},
    ]


def test_ties_go_to_the_lowest_interface_id_and_no_id_is_last() -> None:
    flows = {"rollup_set": "flows"}
    pair = {**flows, "srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2"}
    other = {**flows, "srcaddr": "10.0.0.3", "dstaddr": "10.0.0.4"}
    rows = run("top_talkers", rollup_rows=[
        # both ends saw 500: the lower id, with its own packets and instance
        {**pair, "interface_id": "eni-b", "bytes": 500, "packets": 5},
        {**pair, "interface_id": "eni-a", "bytes": 500, "packets": 7},
        {**pair, "interface_id": None, "bytes": 500, "packets": 9},
        # a record without an interface id saw the most: it wins, its id and instance unknown
        {**other, "interface_id": None, "bytes": 90, "packets": 2},
        {**other, "interface_id": "eni-c", "bytes": 80, "packets": 1},
        *({"rollup_set": "ingress", "interface_id": f"eni-{k}", "instance_id": f"i-{k}"} for k in "abc"),
    ])
    assert rows == [
        {"srcaddr": "10.0.0.1", "dstaddr": "10.0.0.2", "bytes": 500, "packets": 7, "flows": 1,
         "interface_id": "eni-a", "instance_id": "i-a", "interfaces": 3},
        {"srcaddr": "10.0.0.3", "dstaddr": "10.0.0.4", "bytes": 90, "packets": 2, "flows": 1,
         "interface_id": None, "instance_id": None, "interfaces": 2},
    ]
