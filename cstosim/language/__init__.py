"""What users write: the scenario language (pydantic), model-wide parameters with their ranges,
located YAML loading, ``extends`` and overrides. Imports nothing else from cstosim."""
