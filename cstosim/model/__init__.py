"""The model: engagement levels, pure equations (``rules``), keyed random draws (``draws``),
metrics, the member-state arrays, event handlers and the Mesa ``AllianceModel`` (``alliance``).

Kept import-light on purpose: ``cstosim.model.rules`` must not pull in Mesa or pandas, so that
the vectorised engine's workers start quickly. Imports only ``cstosim.language``."""
