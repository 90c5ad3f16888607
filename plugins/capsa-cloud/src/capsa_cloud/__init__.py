"""capsa-cloud: object-store backends (S3, GCS, Azure) for capsa."""
