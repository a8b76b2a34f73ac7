"""The baseline a user would otherwise write: Python's csv module, the email-validator package
(syntax only, no DNS) and a set for deduplication. Prints counts as JSON.

usage: python import_baseline.py FILE.csv
"""

import csv
import json
import sys

from email_validator import EmailNotValidError, validate_email


def main(path):
    rows = valid = invalid = duplicates = 0
    seen = set()
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        email_column = next(i for i, h in enumerate(header) if "mail" in h.lower())
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            rows += 1
            try:
                address = validate_email(record[email_column].strip(), check_deliverability=False)
            except (EmailNotValidError, IndexError):
                invalid += 1
                continue
            valid += 1
            key = address.normalized.lower()
            if key in seen:
                duplicates += 1
            else:
                seen.add(key)
    print(json.dumps({"rows": rows, "valid": valid, "invalid": invalid, "duplicates": duplicates}))


if __name__ == "__main__":
    main(sys.argv[1])
