"""ODRL 2.2 policies: model, parsing, validation, compiled evaluation and presets."""

__all__: list[str] = []
