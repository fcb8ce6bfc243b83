"""Reads one JSON request per line: {"format": "text"|"openmetrics", "body": "..."}.
Parses the body with the official prometheus_client parsers and answers one JSON
line per request: {"ok": true, "samples": [[name, {labels}, value_repr], ...]}
or {"ok": false, "error": "..."}. Values are repr()s so NaN/Inf survive JSON."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse

for line in sys.stdin:
    req = json.loads(line)
    try:
        parse = om_parse if req["format"] == "openmetrics" else text_parse
        samples = []
        exemplars = []
        for family in parse(req["body"]):
            for s in family.samples:
                samples.append([s.name, s.labels, repr(float(s.value))])
                if getattr(s, "exemplar", None) is not None:
                    exemplars.append([s.name, s.labels, s.exemplar.labels, repr(float(s.exemplar.value))])
        out = {"ok": True, "samples": samples, "exemplars": exemplars}
    except Exception as e:  # the parser's rejection is the answer
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
