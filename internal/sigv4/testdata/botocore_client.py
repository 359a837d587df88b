import sys, urllib.request, boto3
from botocore.config import Config
ep = sys.argv[1]
kw = dict(endpoint_url=ep, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE",
          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
          config=Config(retries={"max_attempts": 1}))
lam = boto3.client("lambda", **kw)
r = lam.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod", Payload=b'{"a": "b c"}')
print("lambda", r["StatusCode"])
apigw = boto3.client("apigateway", **kw)
apigw.get_rest_apis(limit=5)
print("apigateway ok")
s3 = boto3.client("s3", **dict(kw, config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, signature_version="s3v4")))
s3.put_object(Bucket="bucket", Key="dir/a b+c~(1)=ü.txt", Body=b"hello world")
print("s3 put ok")
url = s3.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "dir/a b+c.txt"}, ExpiresIn=300)
urllib.request.urlopen(url).read()
print("s3 presigned ok")
