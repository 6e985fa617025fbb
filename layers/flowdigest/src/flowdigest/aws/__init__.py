"""AWS-only glue for the Lambda handlers: settings, events, observability, Athena, S3.

Nothing here is imported by the local command; the domain code stays free of boto3,
awswrangler and Powertools.
"""
