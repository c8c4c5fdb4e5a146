"""Model families: one subpackage per family, each owning its configuration and its whole pipeline.

``FAMILIES`` maps the ``"model"`` name a run folder's ``run.json`` records to the module that knows that
family (its configuration presets, data -> model -> training -> generation -> run folder, and
``generate_from_run``).
"""

FAMILIES = {"hierarchical_transformer": "musickit.families.hierarchical_transformer"}
