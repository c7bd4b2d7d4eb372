#!/usr/bin/env python3
"""Writes jwks.json and jwks_rotated.json from the public PEMs beside it.

Standard library plus the `openssl` CLI only: RSA n comes from `openssl rsa -modulus`,
the EC point from the last 64 bytes of the DER SubjectPublicKeyInfo (uncompressed point).
"""
import base64
import json
import pathlib
import subprocess

HERE = pathlib.Path(__file__).resolve().parent


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rsa_jwk(pem: str, kid: str) -> dict:
    out = subprocess.run(
        ["openssl", "rsa", "-pubin", "-in", str(HERE / pem), "-noout", "-modulus"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    modulus = bytes.fromhex(out.split("=", 1)[1])
    # Every fixture key is generated with the default public exponent 65537 (AQAB).
    return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64url(modulus), "e": b64url((65537).to_bytes(3, "big"))}


def ec_jwk(pem: str, kid: str) -> dict:
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(HERE / pem), "-outform", "DER"],
        check=True, capture_output=True,
    ).stdout
    point = der[-65:]
    assert point[0] == 4, "expected an uncompressed P-256 point"
    return {"kty": "EC", "use": "sig", "alg": "ES256", "crv": "P-256", "kid": kid,
            "x": b64url(point[1:33]), "y": b64url(point[33:65])}


def write(name: str, keys: list) -> None:
    (HERE / name).write_text(json.dumps({"keys": keys}, indent=2) + "\n")


rsa1 = rsa_jwk("rsa1_public.pem", "rsa-1")
rsa2 = rsa_jwk("rsa2_public.pem", "rsa-2")
ec1 = ec_jwk("ec1_public.pem", "ec-1")
write("jwks.json", [rsa1, ec1])
write("jwks_rotated.json", [rsa2, ec1])
