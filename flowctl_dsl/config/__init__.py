"""Configuration users already have: layered defaults, secrets, V1 YAML migration, JSON Schema.

- :mod:`~flowctl_dsl.config.layers`: built-in < system < user < project < ``FLOWCTL_*`` defaults.
- :mod:`~flowctl_dsl.config.secrets`: ``secret("env:NAME")`` / ``secret("file:/path")`` values.
- :mod:`~flowctl_dsl.config.migrate`: cdp-pipeline-workflow V1 YAML → ``.flow``.
- :mod:`~flowctl_dsl.config.schema`: a JSON Schema of the key form for editors.

Error codes ``FC5xx``: ``FC50x`` config files, ``FC51x`` migration, ``FC52x`` secrets, ``FC53x``
output paths.
"""
