"""The storage layer under the jobs: a directory (``file://``) or S3 (``s3://``)."""
