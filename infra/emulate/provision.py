#!/usr/bin/env python3
"""Creates the resources of infra/template.yaml in moto and writes the functions'
environment, resolved the way CloudFormation would resolve it.

Usage: provision.py TEMPLATE_JSON MOTO_URL API_URL ENV_FILE [--stack NAME] [--key-file PEM]...
                    [--mappings-file FILE] [--queue-visibility SECONDS] [--deny FUNCTION:ACTION]...

TEMPLATE_JSON is the template decoded by cfn-lint (intrinsics as {"Ref": ...}).
--stack names the emulated stack (resource names derive from it, so several stacks
can share one moto). --key-file gives the signing keys, oldest first (the last
signs); without it a fresh 2048-bit key is generated.
--mappings-file receives the functions' SQS event-source mappings (function,
queue URL, batch size), which infra/emulate/event_sources.py then runs.
--queue-visibility shortens every queue's visibility timeout (emulation only), so
tests of redelivery do not wait a minute per delivery.
Each function gets an IAM user of its own whose inline policy is the function's
`Policies` from the template, and its access key is written to ENV_FILE.<binary>
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): run moto with IAM enforced and a missing
permission fails the function as it would on AWS. What moto can check is the
actions; resources it checks for SQS only (every other service asks about "*"), so
other statements are granted on "*". TransactWriteItems is authorised by AWS per
contained write and by moto by its own name: a statement granting
ConditionCheckItem (used only inside transactions) also grants it.
--deny FUNCTION:ACTION removes one action from one function's policy (a test shows
that the contract suite then fails). The state machine's `Policies` become a
policy too, added under the stack's name to the one principal moto's Step Functions
acts as (tests/peers/moto_server.py), whose key id goes to the file
SKIFF_MOTO_STATE_MACHINE_KEY names.
The script itself uses the credentials in its environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY; "test" when unset, for a moto without IAM).
Routes, integrations, the stage and invoke permissions are not created: cargo lambda
watch serves the routes (its router is checked against the template by a test).
Queue policies are not either: SNS's delivery to SQS happens inside moto.
Alarms and dashboards are left out (they watch CloudWatch metrics, which nothing
here produces); log groups are created, so what names them resolves.
Step Functions executions are switched on in moto before the state machine is
created (moto only runs executions when told to).
Any other resource type stops provisioning, so the emulation cannot silently lag
behind the template. Conditions are evaluated from the parameters (Fn::Equals,
Fn::Or, Fn::And, Fn::Not and Condition), a resource whose condition is false is
left out, Fn::If picks its branch and AWS::NoValue removes what it stands for; the
Globals section's function environment is merged into each function's, as SAM does.
"""

import argparse
import base64
import os
import hashlib
import json
import re
import sys
import time
import urllib.request

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
    "AWS::SQS::QueuePolicy",
}
# Operations only: alarms and dashboards watch CloudWatch metrics, which the
# emulation does not produce (the functions' EMF goes to their stdout files).
NOT_EMULATED = {
    "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
}
INFRA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key) -> dict:
    """The public JWK of an RSA key, with its RFC 7638 thumbprint as kid."""
    numbers = key.public_key().public_numbers()
    n = b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
    e = b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big"))
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
    kid = b64url(hashlib.sha256(canonical.encode()).digest())
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": n, "e": e}


def signing_keys(key_files):
    """The signing-keys secret's value (one PEM, or {"keys": [...]} oldest first) and
    the public JWKS of the same keys."""
    if key_files:
        pems = [open(path).read() for path in key_files]
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pems = [key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()]
    keys = [serialization.load_pem_private_key(pem.encode(), password=None) for pem in pems]
    secret = pems[0] if len(pems) == 1 else json.dumps({"keys": pems})
    return secret, {"keys": [public_jwk(key) for key in keys]}


# What {"Ref": "AWS::NoValue"} resolves to: removed from the dict or list holding it.
NO_VALUE = object()


class Stack:
    def __init__(self, moto_url: str, name: str):
        session = boto3.Session(aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                                aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
                                region_name=REGION)
        self.client = lambda service: session.client(service, endpoint_url=moto_url)
        self.refs = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                     "AWS::StackName": name, "AWS::URLSuffix": "amazonaws.com"}
        self.attrs = {}
        self.conditions = {}
        self.name = name

    def resolve(self, value):
        if isinstance(value, dict) and len(value) == 1:
            (kind, arg), = value.items()
            if kind == "Ref" and arg == "AWS::NoValue":
                return NO_VALUE
            if kind == "Fn::If":
                condition, then, otherwise = arg
                return self.resolve(then if self.conditions[condition] else otherwise)
            if kind == "Fn::Equals":
                left, right = self.resolve(arg)
                return left == right
            if kind == "Fn::Or":
                return any(self.resolve(arg))
            if kind == "Fn::And":
                return all(self.resolve(arg))
            if kind == "Fn::Not":
                return not self.resolve(arg)[0]
            if kind == "Condition":
                return self.conditions[arg]
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
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        return value

    def table(self, logical, props):
        name = f"{self.name}-{logical}"
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(TableName=name, KeySchema=props["KeySchema"],
                              AttributeDefinitions=props["AttributeDefinitions"],
                              BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"))
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        self.refs[logical] = name
        self.attrs[f"{logical}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"

    def queue(self, logical, props, visibility):
        name = f"{self.name}-{logical}"
        attributes = {}
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(visibility or props["VisibilityTimeout"])
        if "MessageRetentionPeriod" in props:
            attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.refs[logical] = url
        self.attrs[f"{logical}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        self.attrs[f"{logical}.QueueName"] = name
        self.attrs[f"{logical}.QueueUrl"] = url

    def topic(self, logical, props):
        name = f"{self.name}-{logical}"
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self.refs[logical] = arn
        self.attrs[f"{logical}.TopicName"] = name

    def log_group(self, logical, props):
        name = props["LogGroupName"]
        self.client("logs").create_log_group(logGroupName=name)
        self.refs[logical] = name
        self.attrs[f"{logical}.Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"

    def subscription(self, logical, props):
        attributes = {}
        if props.get("RawMessageDelivery"):
            attributes["RawMessageDelivery"] = "true"
        arn = self.client("sns").subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                           Endpoint=props["Endpoint"], Attributes=attributes,
                                           ReturnSubscriptionArn=True)["SubscriptionArn"]
        self.refs[logical] = arn

    def state_machine(self, logical, props, moto_url):
        # moto runs executions only when told so before the state machine exists.
        request = urllib.request.Request(f"{moto_url}/moto-api/config", method="POST",
                                         data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request).read()
        definition = open(os.path.join(INFRA_DIR, props["DefinitionUri"])).read()
        for name, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        unresolved = re.findall(r"\$\{[A-Za-z0-9]+\}", definition)
        if unresolved:
            sys.exit(f"provision.py: {logical} leaves {unresolved} unsubstituted")
        name = f"{self.name}-{logical}"
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}")["stateMachineArn"]
        self.refs[logical] = arn
        self.attrs[f"{logical}.Name"] = name

    def parameter(self, logical, props):
        name = props["Name"]
        self.client("ssm").put_parameter(Name=name, Value=props["Value"], Type=props.get("Type", "String"))
        self.refs[logical] = name


def emulated_policy(statements, denied):
    """The function's policy as moto can enforce it (see the module's docstring)."""
    result = []
    for statement in statements:
        statement = dict(statement)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions = [a for a in actions if a not in denied]
        if "dynamodb:ConditionCheckItem" in actions:
            actions.append("dynamodb:TransactWriteItems")
        if not actions:
            continue
        statement["Action"] = actions
        if not all(a.startswith("sqs:") for a in actions):
            statement["Resource"] = "*"
        result.append(statement)
    return {"Version": "2012-10-17", "Statement": result}


def principal(stack, name, props, denied):
    """An IAM user holding exactly the resource's `Policies`; returns its access key."""
    statements = []
    for policy in stack.resolve(props.get("Policies", [])):
        if not (isinstance(policy, dict) and "Statement" in policy):
            sys.exit(f"provision.py: {name} has a policy the emulation does not understand: {policy}")
        statements.extend(policy["Statement"])
    iam = stack.client("iam")
    user = f"{stack.name}-{name}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="function",
                        PolicyDocument=json.dumps(emulated_policy(statements, denied)))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def state_machines_principal(stack, props, key_file):
    """Adds this stack's state-machine policy to the principal moto's Step Functions
    acts as, creating it (and its key, written to `key_file`) if no stack has yet."""
    statements = []
    for policy in props.get("Policies", []):
        statements.extend(stack.resolve(policy["Statement"]))
    iam = stack.client("iam")
    user = "skiff-emulated-state-machines"
    try:
        iam.create_user(UserName=user)
        created = True
    except iam.exceptions.EntityAlreadyExistsException:
        created = False
    iam.put_user_policy(UserName=user, PolicyName=stack.name,
                        PolicyDocument=json.dumps(emulated_policy(statements, set())))
    if created:
        key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        with open(f"{key_file}.{stack.name}", "w") as out:
            out.write(key_id)
        os.replace(f"{key_file}.{stack.name}", key_file)
    else:
        # Another provisioning made the user a moment ago and is writing its key.
        for _ in range(100):
            if os.path.exists(key_file):
                break
            time.sleep(0.1)
        else:
            sys.exit(f"provision.py: {key_file} did not appear")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template")
    parser.add_argument("moto_url")
    parser.add_argument("api_url")
    parser.add_argument("env_file")
    parser.add_argument("--stack", default=STACK)
    parser.add_argument("--key-file", action="append", default=[])
    parser.add_argument("--mappings-file")
    parser.add_argument("--queue-visibility", type=int)
    parser.add_argument("--deny", action="append", default=[], metavar="FUNCTION:ACTION")
    args = parser.parse_args()
    denied = {}
    for item in args.deny:
        function, _, action = item.partition(":")
        denied.setdefault(function, set()).add(action)
    template = json.load(open(args.template))
    stack = Stack(args.moto_url, args.stack)
    moto_url, api_url, env_path = args.moto_url, args.api_url, args.env_file

    secret_value, jwks = signing_keys(args.key_file)
    secret = stack.client("secretsmanager").create_secret(Name=f"{args.stack}/signing-keys",
                                                          SecretString=secret_value)
    given = {"SigningKeysSecretArn": secret["ARN"], "PublicJwks": json.dumps(jwks, separators=(",", ":"))}
    for name, spec in template.get("Parameters", {}).items():
        if name in given:
            stack.refs[name] = given[name]
        elif "Default" in spec:
            stack.refs[name] = spec["Default"]
        else:
            sys.exit(f"provision.py: template parameter {name} has no default and no emulated value")

    for name, expression in template.get("Conditions", {}).items():
        stack.conditions[name] = stack.resolve(expression)
    template["Resources"] = {logical: resource for logical, resource in template["Resources"].items()
                             if stack.conditions.get(resource.get("Condition"), True)}
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            variables = resource.setdefault("Properties", {}).setdefault("Environment", {}).setdefault("Variables", {})
            resource["Properties"]["Environment"]["Variables"] = {**global_env, **variables}

    # The API's id: the issuer is overridden with the local URL below.
    functions = {}
    for logical, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::ApiGatewayV2::Api":
            stack.refs[logical] = "local"
    # Create in dependency order: a resource whose references are not created yet
    # waits for the next pass.
    created = {"AWS::DynamoDB::Table": lambda logical, props: stack.table(logical, props),
               "AWS::SQS::Queue": lambda logical, props: stack.queue(logical, props, args.queue_visibility),
               "AWS::SNS::Topic": stack.topic,
               "AWS::SNS::Subscription": stack.subscription,
               "AWS::Serverless::StateMachine": lambda logical, props: stack.state_machine(logical, props, moto_url),
               "AWS::SSM::Parameter": stack.parameter,
               "AWS::Logs::LogGroup": stack.log_group}
    pending = {}
    for logical, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in created:
            pending[logical] = (kind, props)
        elif kind == "AWS::Serverless::Function":
            functions[logical] = props
        elif kind in SERVED_BY_WATCH or kind in NOT_EMULATED or kind == "AWS::ApiGatewayV2::Api":
            pass
        else:
            sys.exit(f"provision.py: {logical} has type {kind}, which the emulation does not create yet")
    while pending:
        progress = False
        for logical, (kind, props) in list(pending.items()):
            try:
                resolved = stack.resolve(props)
            except KeyError:
                continue
            created[kind](logical, resolved)
            del pending[logical]
            progress = True
        if not progress:
            sys.exit(f"provision.py: cannot resolve the references of {sorted(pending)}")

    mappings = []
    for logical, props in functions.items():
        binary = template["Resources"][logical].get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        for event in props.get("Events", {}).values():
            if event.get("Type") != "SQS":
                sys.exit(f"provision.py: {logical} has a {event.get('Type')} event, which the emulation does not run")
            event_props = stack.resolve(event["Properties"])
            queue_arn = event_props["Queue"]
            queue = next(k for k, v in stack.attrs.items() if k.endswith(".Arn") and v == queue_arn)
            mappings.append({"function": binary,
                             "queue_url": stack.refs[queue.rsplit(".", 1)[0]],
                             "queue_arn": queue_arn,
                             "batch_size": event_props.get("BatchSize", 10),
                             "report_batch_item_failures":
                                 "ReportBatchItemFailures" in event_props.get("FunctionResponseTypes", [])})
    if args.mappings_file:
        with open(args.mappings_file, "w") as out:
            json.dump(mappings, out, indent=2)

    env = {}
    for logical, props in functions.items():
        for name, value in props.get("Environment", {}).get("Variables", {}).items():
            value = stack.resolve(value)
            if value is NO_VALUE:
                continue
            value = str(value)
            if name in env and env[name] != value and name != "SKIFF_ISSUER":
                sys.exit(f"provision.py: functions disagree on {name}; cargo lambda watch shares one environment")
            env[name] = value
    env.update({
        "SKIFF_ISSUER": api_url,
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    })
    with open(env_path, "w") as out:
        for name, value in sorted(env.items()):
            out.write(f"{name}={value}\n")
    # Each function's own principal, as its execution role would be.
    for logical, props in functions.items():
        binary = template["Resources"][logical].get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        key_id, secret = principal(stack, binary, props, denied.get(binary, set()))
        with open(f"{env_path}.{binary}", "w") as out:
            out.write(f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n")
    # The state machines' role: moto's own Step Functions client acts as one
    # principal for every stack (tests/peers/moto_server.py), so each stack adds its
    # state machine's policy to it, under the stack's name.
    key_file = os.environ.get("SKIFF_MOTO_STATE_MACHINE_KEY")
    for logical, resource in template["Resources"].items():
        if key_file and resource["Type"] == "AWS::Serverless::StateMachine":
            state_machines_principal(stack, resource.get("Properties", {}), key_file)
    unknown = set(denied) - {template["Resources"][l].get("Metadata", {}).get("BuildProperties", {}).get("Binary") for l in functions}
    if unknown:
        sys.exit(f"provision.py: --deny names no function: {sorted(unknown)}")


if __name__ == "__main__":
    main()
