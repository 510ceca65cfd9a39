"""Data: the example generator, the schema, validation and the train/test split."""
