"""Keeping spreadsheets from running what outsiders typed (CSV or formula injection).

A cell that starts with = + - @, a tab or a carriage return may be run as a formula when the CSV
is opened in a spreadsheet (OWASP, https://owasp.org/www-community/attacks/CSV_Injection). Every
text cell that came from outside (link parameters, SDK and API payloads, partners' reports),
ids included, gets a leading apostrophe; our own words never start with one of these.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The same characters as code points, for SQL's ascii(): 61, 43, 45, 64, 9, 13.
FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)


def defuse_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text
