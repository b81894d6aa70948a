"""Identity check of signup decisions (issue 11): ``PYTHONHASHSEED=0 python -m bench.signup_identity OUT.json``.

A change meant to make signups cheaper must give the same decisions and store the same data. This
runs, in process as ``bench.signup`` sets up (real lists where present, Iran prohibited, the service
wired as the API wires it), bench.signup's mixed applications (``--mixed``, with the OTP confirmations
of the U.S. residents) and ``applications(--plain, seed=99)``, then writes every answer and every row
of every table, sealed values opened with their customer's key, to OUT.json and prints its sha256.

What differs between two runs of one checkout is canonicalised: random ids and tokens (UUIDs, hex
and base64 keys and HMACs) become labels in order of first appearance (the answers first, then each
table's rows sorted), times become ``<ts>``, KEK ids, OTP codes and the tree heads' timestamps are
dropped. ``PYTHONHASHSEED=0`` is needed: the synthetic customers' Italian cities depend on the hash
seed. Compare the hash printed by the old and the new checkout; ``diff`` the two files when they differ.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, text

from bench.signup import SIGNUP, _delivered_code, applications, deployment, mixed_applications
from cloudcip.api.warmup import warm_up
from cloudcip.crypto.envelope import SEALED_VERSION, FieldSealer
from cloudcip.runtime import screening_service

RANDOM = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32,}|[A-Za-z0-9_\-]{43}=?")
TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")
OTP = re.compile(r'"code": ?"\d{6}"')
KEK = re.compile(r"kek-[0-9a-f]{8}")


def _opened(value: bytes, table: str, column: str, row: dict[str, Any], sealers: dict[str, FieldSealer]) -> str:
    """A sealed value opened with the key of a customer the row names, bound to one of the row's values
    (its id), or its length when it is not sealed or does not open."""
    strings = [v for v in row.values() if isinstance(v, str)]
    if value[:1] == SEALED_VERSION:
        for sealer in (sealers[s] for s in strings if s in sealers):
            for row_id in strings:
                for name in (column, column.removesuffix("_sealed")):
                    with contextlib.suppress(Exception):
                        opened = sealer.open_bytes(value, table=table, column=name, row_id=row_id)
                        try:
                            return "OPENED:" + opened.decode()
                        except UnicodeDecodeError:
                            return "OPENEDB:" + opened.hex()
    return f"SEALED:{len(value)}"


def run(out: Path, mixed: int = 200, plain: int = 120) -> str:
    answers: list[dict[str, Any]] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    with deployment("cloudcip-signup-identity-") as (services, service, adapter):
        answers.append(service.submit(adapter.validate_python(applications(1, seed=7)[0]), SIGNUP))
        warm_up(screening_service(services))
        for kind, body in mixed_applications(services, mixed):
            answer = service.submit(adapter.validate_python(body), SIGNUP)
            answers.append(answer)
            if kind == "us_resident_confirms" and answer["decision"] == "pending_evidence":
                service.issue_otp(answer["id"], "email", SIGNUP)
                code = _delivered_code(services, answer["id"])
                answers.append(service.confirm_otp(answer["id"], "email", code, SIGNUP))
        for body in applications(plain, seed=99):
            answers.append(service.submit(adapter.validate_python(body), SIGNUP))
        with services.database.engine.connect() as conn:
            metadata = MetaData()
            metadata.reflect(conn)
            customer_ids = [row[0] for row in conn.execute(text("SELECT id FROM customer"))]
            sealers = services.customers.sealers_in(conn, customer_ids)
            for name in sorted(metadata.tables):
                rows = [dict(row._mapping) for row in conn.execute(metadata.tables[name].select())]
                for row in rows:
                    for column, value in list(row.items()):
                        if isinstance(value, bytes | bytearray | memoryview):
                            row[column] = _opened(bytes(value), name, column, row, sealers)
                    if name == "ledger_tree_head":
                        row.pop("timestamp_ms", None)
                tables[name] = rows
    labels: dict[str, str] = {}

    def canon(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: canon(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [canon(item) for item in value]
        if isinstance(value, datetime):
            return "<ts>"
        if isinstance(value, str):
            value = KEK.sub("kek-<k>", OTP.sub('"code":"<otp>"', TIME.sub("<ts>", value)))
            return RANDOM.sub(lambda m: labels.setdefault(m.group(0), f"<r{len(labels)}>"), value)
        return value

    document: dict[str, Any] = {"answers": canon(answers)}

    def sort_key(row: dict[str, Any]) -> str:
        return RANDOM.sub(lambda m: labels.get(m.group(0), "<r>"),
                          TIME.sub("<ts>", json.dumps(row, default=str, sort_keys=True)))

    for name, rows in tables.items():
        document[name] = [canon(row) for row in sorted(rows, key=sort_key)]
    blob = json.dumps(document, default=str, sort_keys=True, indent=0)
    out.write_text(blob)
    return hashlib.sha256(blob.encode()).hexdigest()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mixed", type=int, default=200)
    parser.add_argument("--plain", type=int, default=120)
    arguments = parser.parse_args()
    print(run(arguments.out, arguments.mixed, arguments.plain))
