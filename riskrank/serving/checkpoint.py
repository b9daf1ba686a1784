"""Signed checkpoints of the audit chain's head, kept by the auditor outside the database.

The hash chain shows edits and deletions, but someone who can rewrite the whole table and its head row
can make a consistent shorter or different chain. A checkpoint is the head (seq, hash) signed with an
Ed25519 key from settings; verifying later proves the current chain still contains that exact entry,
i.e. extends the chain the auditor saw.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from riskrank.errors import UserError


def _signed_part(seq: int, head_hash: str, signed_at: str) -> bytes:
    return json.dumps({"seq": seq, "hash": head_hash, "signed_at": signed_at}, sort_keys=True, separators=(",", ":")).encode()


def new_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(path: Path | None) -> Ed25519PrivateKey:
    if path is None:
        raise UserError("no signing key: set RISKRANK_AUDIT_SIGNING_KEY to an Ed25519 private key file "
                        "(make one with `riskrank audit-log keygen --out FILE`)")
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise UserError(f"cannot read the signing key {path}: {type(exc).__name__}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"the signing key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the public key {path}: {type(exc).__name__}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserError(f"the public key {path} is not an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def make_checkpoint(key: Ed25519PrivateKey, seq: int, head_hash: str) -> dict[str, Any]:
    signed_at = datetime.now(UTC).isoformat(timespec="seconds")
    signature = key.sign(_signed_part(seq, head_hash, signed_at))
    return {"seq": seq, "hash": head_hash, "signed_at": signed_at, "algorithm": "Ed25519",
            "signature": base64.b64encode(signature).decode(), "public_key": public_key_pem(key)}


def read_checkpoint(path: Path, public_key: Ed25519PublicKey) -> tuple[int, str]:
    """The checkpoint's (seq, hash), after checking its signature against the auditor's public key."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        seq, head_hash, signed_at = int(data["seq"]), str(data["hash"]), str(data["signed_at"])
        signature = base64.b64decode(data["signature"], validate=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not a readable checkpoint ({type(exc).__name__})") from None
    try:
        public_key.verify(signature, _signed_part(seq, head_hash, signed_at))
    except InvalidSignature:
        raise UserError(f"the checkpoint {path} is not signed by this key: it was altered or comes from elsewhere") from None
    return seq, head_hash
