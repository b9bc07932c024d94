"""A strict reader of Prometheus's text exposition format (version 0.0.4),
for the metrics tests: Debian's `prometheus` package (promtool) weighs
~100 MB, so the rules promtool's `check metrics` enforces are checked here:
the grammar, one TYPE and one HELP per family before its samples, a
family's samples in one group, no series twice, counters not negative,
histograms with cumulative buckets ending at +Inf == _count.
"""
import math
import re

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(r"^(%s)(\{(.*)\})? ([^ ]+)( -?[0-9]+)?$" % NAME)
LABEL_PAIR = re.compile(r'\s*(%s)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)' % LABEL)
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Invalid(Exception):
    pass


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []       # (sample name, labels dict, value)


def _value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    try:
        return float(s)
    except ValueError:
        raise Invalid("not a number: %r" % s) from None


def _labels(text, line):
    out = {}
    pos = 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        if not m or m.end() == pos:
            raise Invalid("bad labels: %r" % line)
        name, val = m.group(1), m.group(2)
        if name.startswith("__"):
            raise Invalid("reserved label name %s: %r" % (name, line))
        if name in out:
            raise Invalid("label %s twice: %r" % (name, line))
        out[name] = val.replace("\\n", "\n").replace('\\"', '"') \
            .replace("\\\\", "\\")
        pos = m.end()
    return out


def _family_of(name, families):
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and families.get(base) and \
                families[base].type in ("histogram", "summary"):
            return base
    return name


def _check_histogram(f):
    series = {}
    for name, labels, value in f.samples:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        s = series.setdefault(key, {"buckets": [], "sum": None,
                                    "count": None})
        if name == f.name + "_bucket":
            if "le" not in labels:
                raise Invalid("%s: a bucket without le" % f.name)
            s["buckets"].append((_value(labels["le"]), value))
        elif name == f.name + "_sum":
            s["sum"] = value
        elif name == f.name + "_count":
            s["count"] = value
        else:
            raise Invalid("%s: %s in a histogram" % (f.name, name))
    for key, s in series.items():
        b = s["buckets"]
        if not b or b[-1][0] != math.inf:
            raise Invalid("%s%s: no +Inf bucket last" % (f.name, key))
        if [le for le, _ in b] != sorted(le for le, _ in b):
            raise Invalid("%s%s: buckets out of order" % (f.name, key))
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            raise Invalid("%s%s: buckets not cumulative" % (f.name, key))
        if s["count"] is None or s["sum"] is None:
            raise Invalid("%s%s: _sum or _count missing" % (f.name, key))
        if s["count"] != b[-1][1]:
            raise Invalid("%s%s: _count != +Inf bucket" % (f.name, key))


def parse(text):
    """{family name: Family}; raises Invalid on any breach."""
    families = {}
    seen_series = set()
    done = set()            # families whose group of samples has ended
    current = None
    if not text.endswith("\n"):
        raise Invalid("the last line has no newline")
    for line in text.split("\n")[:-1]:
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.fullmatch(NAME, name):
                    raise Invalid("bad name: %r" % line)
                f = families.setdefault(name, Family(name))
                if f.samples:
                    raise Invalid("%s after samples: %r" % (parts[1], line))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "TYPE":
                    if f.type is not None or rest not in TYPES:
                        raise Invalid("bad or second TYPE: %r" % line)
                    f.type = rest
                else:
                    if f.help is not None:
                        raise Invalid("second HELP: %r" % line)
                    f.help = rest
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Invalid("not a sample: %r" % line)
        name, labels = m.group(1), _labels(m.group(3) or "", line)
        fam = _family_of(name, families)
        if fam != current:
            if fam in done:
                raise Invalid("%s: samples not in one group" % fam)
            if current is not None:
                done.add(current)
            current = fam
        f = families.setdefault(fam, Family(fam))
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            raise Invalid("series twice: %r" % line)
        seen_series.add(key)
        value = _value(m.group(4))
        if f.type == "counter" and not value >= 0:
            raise Invalid("a counter below zero: %r" % line)
        f.samples.append((name, labels, value))
    for f in families.values():
        if f.type is None or f.help is None:
            raise Invalid("%s: no TYPE or no HELP" % f.name)
        if f.type == "counter" and not f.name.endswith("_total"):
            raise Invalid("%s: a counter's name ends in _total" % f.name)
        if f.type == "histogram":
            _check_histogram(f)
    return families


def value(families, name, **labels):
    """The sample `name` whose labels include `labels`, summed over the
    others (0 when there is none)."""
    fam = families.get(_family_of(name, families))
    if fam is None:
        return 0
    return sum(v for n, lab, v in fam.samples if n == name and
               all(lab.get(k) == str(want) for k, want in labels.items()))
