"""schema/functions/errors.sql: the SQLSTATE classes a retry may cure are
one list, the same in SQL (wa_sqlstate_retryable, which the ingest
functions re-raise) and in the responder (retryable() in shared/db.c,
answered 503): the two may not drift apart."""
import os
import re

from conftest import ROOT


def c_classes():
    src = open(os.path.join(ROOT, "shared", "db.c")).read()
    body = re.search(r"retryable\(const char \*state\)\n\{(.*?)\n\}", src,
                     re.S).group(1)
    return set(re.findall(r'"([0-9A-Z]{2})"', body))


def test_sql_and_the_responder_retry_the_same_classes(stack):
    classes = c_classes()
    assert {"08", "40", "53", "57"} <= classes
    # Every class PostgreSQL defines that matters here, and a few that
    # must not be retried (data, constraint and syntax errors).
    probe = sorted(classes | {"22", "23", "42", "54", "P0", "2B", "0A"})
    got = {r["c"] for r in stack.query(
        "SELECT c FROM unnest(%s::text[]) c"
        " WHERE wa_sqlstate_retryable(c || '000')", probe)}
    assert got == classes
    assert stack.query("SELECT wa_sqlstate_retryable('40P01') AS d,"
                       " wa_sqlstate_retryable('23505') AS u")[0] == \
        {"d": True, "u": False}
