"""The trusted core: everything in PXL's Python that decides whether a verdict stands.

The search, the rendering of certificates, the cache, the service and the HTTP layer
are untrusted: a bug there can cost an answer, never produce a wrong one, because every
`proved` or `refuted` passes through this package (and Coq's kernel) first:

  * `gate`       — the only Coq text handed to Coq: three sentences of a fixed shape,
                   terms built from kernel constructors alone (so a certificate cannot
                   define, import or assume anything);
  * `acceptance` — Coq's answer read strictly: accepted only if Coq positively defined
                   the theorem with the claim sent, resting on declared axioms alone;
  * `identity`   — the kernel hash, the declared axioms, and whether a compiled build
                   still matches its manifest;
  * `evaluator`  — the independent countermodel check (frame conditions, and the
                   original goal false at the named world), sharing no code with the search.

About 450 lines in all, readable in an hour. The package imports only the formula,
logic and countermodel values (`pxl_prover.formula`, `logics`, `countermodel`) and
never the search, service, cache or HTTP layer; `tests/test_import_graph.py` pins it.
"""
