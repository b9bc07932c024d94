#!/usr/bin/python3
"""bench/webhook_sql.py: the statement the webhook responder runs for one
body, read from fcgi/webhook.c itself (its db_stmt that calls
wa_webhook_ingest), so the pgbench ceiling always runs today's SQL.

  webhook_sql.py FILE                                  prints the SQL
  webhook_sql.py --pgbench FILE PNID DISPLAY WABA PFX  a pgbench script:
      the same SQL with $1 bound to a unique text-message webhook body
      shaped like wa-bench's (bench/bench.c webhook_body)
"""
import re
import sys


def statement(path):
    try:
        src = open(path).read()
    except OSError:
        sys.exit("%s not found" % path)
    for m in re.finditer(r"struct\s+db_stmt\s+\w+\s*=\s*\{(.*?)\}\s*;",
                         src, re.S):
        lits = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
        if len(lits) < 2:
            continue
        sql = "".join(lits[1:]).encode().decode("unicode_escape")
        if "wa_webhook_ingest" in sql:
            return sql
    sys.exit("no wa_webhook_ingest statement in %s" % path)


def main():
    a = sys.argv[1:]
    if a and a[0] == "--pgbench":
        path, pnid, display, waba, pfx = a[1:6]
        sql = statement(path)
        body = ('{"object":"whatsapp_business_account","entry":[{"id":"%s",'
                '"changes":[{"value":{"messaging_product":"whatsapp",'
                '"metadata":{"display_phone_number":"%s","phone_number_id":'
                '"%s"},"contacts":[{"profile":{"name":"Bench :c"},'
                '"wa_id":"1999000:c","user_id":"US.134912086500000:c"}],'
                '"messages":[{"from":"1999000:c",'
                '"id":"wamid.%s:i","timestamp":"1764000000","text":{"body":'
                '"benchmark message :i"},"type":"text"}]},"field":'
                '"messages"}]}]}') % (waba, display, pnid, pfx)
        # pgbench substitutes :c and :i inside the literal (simple protocol).
        print("\\set c random(1000, 1999)")
        print("\\set i random(1, 1000000000000)")
        print(sql.replace("$1", "'" + body + "'") + ";")
    elif len(a) == 1:
        print(statement(a[0]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
