"""Sets up moto's S3 server for the lake tests: two IAM users with their keys, and the bucket.

The writer may do anything; the public reader may only list the bucket and read objects under
region/public/ (the public catalogue's data files). Prints both key pairs as JSON. moto checks
every request against these policies once its first unchecked calls (these six) are spent.
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
root = dict(endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **root)


def user(name, statements):
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-lake", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


writer = user("lake-writer", [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])
public = user("lake-public", [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [
        "arn:aws:s3:::lake/region/public/*", "arn:aws:s3:::lake/region/releases/*"]},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::lake"]},
])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=writer["key_id"], aws_secret_access_key=writer["secret"])
s3.create_bucket(Bucket="lake")
print(json.dumps({"writer": writer, "public": public}))
