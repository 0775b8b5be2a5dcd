#!/usr/bin/env python3
"""Prints, as PKCS#8 PEM, the RSA key moto's Cognito user pools sign their tokens with.

Usage: cognito_signing_key.py > key.pem

The federated-login tests forge tokens that only the issuer could sign (an expired
one, one with a stale `auth_time`) to show each is refused for that reason and not
for its signature. moto ships the key as a JWK inside its package; nothing is
downloaded.
"""
import base64
import gzip
import json
import os
import sys

import moto.cognitoidp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

path = os.path.join(os.path.dirname(moto.cognitoidp.__file__), "resources", "jwks-private.json.gz")
with gzip.open(path, "rt") as f:
    jwk = json.load(f)


def number(name):
    raw = jwk[name]
    return int.from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), "big")


# The JWK holds only n, e and d; the CRT parameters are recovered from them.
n, e, d = number("n"), number("e"), number("d")
p, q = rsa.rsa_recover_prime_factors(n, e, d)
private = rsa.RSAPrivateNumbers(
    p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
    rsa.RSAPublicNumbers(e, n),
).private_key()
sys.stdout.write(
    private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
)
