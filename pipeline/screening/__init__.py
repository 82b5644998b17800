"""The screening data path, in pure functions: decode, evaluate, assess."""
