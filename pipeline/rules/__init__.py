"""Risk rules as data: loading, the condition language, compilation to Polars, evaluation."""
