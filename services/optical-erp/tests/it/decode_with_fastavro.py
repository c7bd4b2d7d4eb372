"""An independent Avro reader: decodes messages with fastavro, given only the .avsc files.

stdin: JSON list of {"schema": path-to-avsc, "format": "single-object"|"confluent",
"hex": message bytes, "schema_id": int (confluent only)}.
stdout: JSON list of decoded records, in the same order. Exits non-zero on any mismatch.
"""
import io
import json
import sys

from fastavro import parse_schema, schemaless_reader
from fastavro.schema import fingerprint, to_parsing_canonical_form


def decode(item):
    with open(item["schema"]) as f:
        raw = json.load(f)
    schema = parse_schema(raw)
    data = bytes.fromhex(item["hex"])
    if item["format"] == "single-object":
        if data[:2] != b"\xc3\x01":
            raise SystemExit(f"not single-object encoded: {data[:2].hex()}")
        expected = fingerprint(to_parsing_canonical_form(raw), "CRC-64-AVRO")
        if data[2:10].hex() != expected:
            raise SystemExit(f"fingerprint {data[2:10].hex()} is not {expected} of {item['schema']}")
        body = data[10:]
    elif item["format"] == "confluent":
        if data[0] != 0:
            raise SystemExit("not Confluent encoded")
        if int.from_bytes(data[1:5], "big") != item["schema_id"]:
            raise SystemExit("wrong schema id")
        body = data[5:]
    else:
        raise SystemExit(f"unknown format {item['format']}")
    stream = io.BytesIO(body)
    record = schemaless_reader(stream, schema)
    if stream.read():
        raise SystemExit("trailing bytes after the record")
    return record


json.dump([decode(item) for item in json.load(sys.stdin)], sys.stdout, default=str)
