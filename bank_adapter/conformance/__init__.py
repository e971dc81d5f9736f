"""The conformance kit (contract section 10): a sandbox dedicated to one bank, and a report
per contract rule that the bank attaches to its go-live request.

- `rules`: the rules, the record of outcomes and the verdicts (pure);
- `fixtures`: the one account and two bills each run starts with;
- `observe`: the middleware recording each partner request, the lost-answer fault, and
  the `/sandbox/v1/conformance/*` routes; `hook`: what the pipeline hands it;
- `html`: the report as a self-contained page; `serve` and `cli`: the commands.
"""
