"""The domain, at the bottom of peertrain: what the rules say and what they decide.

Records (:mod:`~peertrain.rules.model`: members, courses, completions, waivers), the course
catalogue, requirements and their windows, verdicts, the engine that evaluates one requirement for
one member (with its helpers ``_credits`` and ``_measure``), compliance over a roster, the
explanations, streaming over any source of member-ordered completions, privacy levels, loading
the rule packs and catalogues (TOML data), and the one cattrs converter of every public type.

Nothing here imports another part of peertrain but the shared root modules (``errors``,
``_types``, ``_files``, ``_version``); every other part may import this. ``docs/architecture.md``
draws the layers.
"""
