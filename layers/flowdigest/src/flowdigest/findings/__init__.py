"""Findings: what the network costs, what is at risk, and what to change (issue 14).

model.py is the record and its ranking; config.py the thresholds and suppressions.
"""
