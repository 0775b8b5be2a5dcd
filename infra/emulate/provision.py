#!/usr/bin/env python3
"""Creates the resources of infra/template.yaml in moto and writes the functions'
environment, resolved the way CloudFormation would resolve it.

Usage: provision.py TEMPLATE_JSON MOTO_URL API_URL ENV_FILE

TEMPLATE_JSON is the template decoded by cfn-lint (intrinsics as {"Ref": ...}).
Routes, integrations, the stage and invoke permissions are not created: cargo lambda
watch serves the routes (its router is checked against the template by a test).
Any other resource type stops provisioning, so the emulation cannot silently lag
behind the template.
"""

import base64
import hashlib
import json
import re
import sys

import boto3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "skiff-local"
SERVED_BY_WATCH = {
    "AWS::ApiGatewayV2::Stage",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Route",
    "AWS::Lambda::Permission",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_key():
    """A 2048-bit key as PKCS#8 PEM, and its JWKS with the RFC 7638 thumbprint as kid."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    numbers = key.public_key().public_numbers()
    n = b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
    e = b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
    kid = b64url(hashlib.sha256(canonical.encode()).digest())
    return pem, {"keys": [{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e}]}


class Stack:
    def __init__(self, moto_url: str):
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        self.client = lambda service: session.client(service, endpoint_url=moto_url)
        self.refs = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                     "AWS::StackName": STACK, "AWS::URLSuffix": "amazonaws.com"}
        self.attrs = {}

    def resolve(self, value):
        if isinstance(value, dict) and len(value) == 1:
            (kind, arg), = value.items()
            if kind == "Ref":
                return self.refs[arg]
            if kind == "Fn::GetAtt":
                return self.attrs[f"{arg[0]}.{arg[1]}"]
            if kind == "Fn::Sub":
                text, local = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                def name(m):
                    key = m.group(1)
                    if key in local:
                        return str(local[key])
                    return str(self.attrs[key] if "." in key else self.refs[key])
                return re.sub(r"\$\{([^}!]+)\}", name, text)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def table(self, logical, props):
        name = f"{STACK}-{logical}"
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(TableName=name, KeySchema=props["KeySchema"],
                              AttributeDefinitions=props["AttributeDefinitions"],
                              BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"))
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        self.refs[logical] = name
        self.attrs[f"{logical}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    def parameter(self, logical, props):
        name = props["Name"]
        self.client("ssm").put_parameter(Name=name, Value=props["Value"], Type=props.get("Type", "String"))
        self.refs[logical] = name


def main():
    template_path, moto_url, api_url, env_path = sys.argv[1:5]
    template = json.load(open(template_path))
    stack = Stack(moto_url)

    pem, jwks = signing_key()
    secret = stack.client("secretsmanager").create_secret(Name=f"{STACK}/signing-keys", SecretString=pem)
    given = {"SigningKeysSecretArn": secret["ARN"], "PublicJwks": json.dumps(jwks)}
    for name, spec in template.get("Parameters", {}).items():
        if name in given:
            stack.refs[name] = given[name]
        elif "Default" in spec:
            stack.refs[name] = spec["Default"]
        else:
            sys.exit(f"provision.py: template parameter {name} has no default and no emulated value")

    # The API's id: the issuer is overridden with the local URL below.
    functions = {}
    for logical, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::ApiGatewayV2::Api":
            stack.refs[logical] = "local"
    for logical, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            stack.table(logical, stack.resolve(props))
    for logical, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::SSM::Parameter":
            stack.parameter(logical, stack.resolve(props))
        elif kind == "AWS::Serverless::Function":
            functions[logical] = props
        elif kind in SERVED_BY_WATCH or kind in ("AWS::DynamoDB::Table", "AWS::ApiGatewayV2::Api"):
            pass
        else:
            sys.exit(f"provision.py: {logical} has type {kind}, which the emulation does not create yet")

    env = {}
    for logical, props in functions.items():
        for name, value in props.get("Environment", {}).get("Variables", {}).items():
            value = str(stack.resolve(value))
            if name in env and env[name] != value and name != "SKIFF_ISSUER":
                sys.exit(f"provision.py: functions disagree on {name}; cargo lambda watch shares one environment")
            env[name] = value
    env.update({
        "SKIFF_ISSUER": api_url,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    })
    with open(env_path, "w") as out:
        for name, value in sorted(env.items()):
            out.write(f"{name}={value}\n")


if __name__ == "__main__":
    main()
